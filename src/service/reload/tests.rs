use super::restart_needed;
use crate::config::{Config, parse};

fn config(toml: &str) -> Config {
    parse(toml, Vec::new()).unwrap()
}

/// A reload names the settings it could not apply, and only those.
#[test]
fn a_reload_names_each_setting_only_a_restart_applies() {
    let base = config("");
    let cases = [
        (
            "[server]\nlisten = \"127.0.0.1:9443\"\n",
            vec!["server.listen"],
        ),
        ("[server]\nworkers = 3\n", vec!["server.workers"]),
        (
            "[server]\nshutdown_timeout_seconds = 30\n",
            vec!["server.shutdown_timeout_seconds"],
        ),
        ("[storage]\ncache_mb = 256\n", vec!["storage.cache_mb"]),
        ("[vault]\npin_threads = 1\n", vec!["vault.pin_threads"]),
        (
            "[server]\nkeep_alive_seconds = 30\n",
            vec!["server.keep_alive_seconds"],
        ),
        (
            "[storage]\nstate_dir = \"/srv/cv\"\n",
            vec!["storage.state_dir"],
        ),
        (
            "[vault]\nkey_file = \"/srv/cv.key\"\n",
            vec!["vault.key_file"],
        ),
        ("[audit]\nmax_batch = 64\n", vec!["audit.max_batch"]),
        // applied by the reload (service::logging)
        ("[log]\nlevel = \"debug\"\n", vec![]),
        ("[log]\nformat = \"json\"\n", vec!["log.format"]),
        (
            "[log]\nlevel = \"warn\"\nformat = \"json\"\n",
            vec!["log.format"],
        ),
        // applied by the reload itself
        ("[lockout]\nmax_wrong_pins = 3\n", vec![]),
        ("[calls]\nidle_minutes = 5\n", vec![]),
        // read per request (api::cors)
        (
            "[server]\ncors_origins = [\"https://desk.cu.example\"]\n",
            vec![],
        ),
        // the core adapter is rebuilt by the reload (core::LiveCore)
        ("[core]\ntimeout_ms = 900\n", vec![]),
        ("[vault]\nbcrypt_cost = 11\n", vec![]),
        ("", vec![]),
    ];
    for (toml, want) in cases {
        assert_eq!(restart_needed(&base, &config(toml)), want, "{toml}");
    }
}
