//! `callvault demo`: a throwaway callvault on localhost, with keys made and the curl lines
//! to try it printed. The newcomer's first five minutes.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::Path;

use anyhow::Context;

use crate::config;
use crate::keys::{self, Role};
use crate::store::Store;

const DEFAULT_LISTEN: &str = "127.0.0.1:8443";

pub fn run(listen: Option<String>, keep: bool) -> anyhow::Result<()> {
    let listen = match listen {
        Some(l) => l,
        None if TcpListener::bind(DEFAULT_LISTEN).is_ok() => DEFAULT_LISTEN.to_string(),
        None => TcpListener::bind("127.0.0.1:0")?.local_addr()?.to_string(),
    };
    // Find out now, before printing instructions, whether the address can be served.
    TcpListener::bind(&listen).with_context(|| format!("cannot listen on {listen}"))?;
    let dir = tempfile::Builder::new()
        .prefix("callvault-demo-")
        .tempdir()
        .context("creating the demo directory")?;
    let root = dir.path().to_path_buf();
    let config_path = root.join("callvault.toml");
    let text = format!(
        "# written by `callvault demo`\n\
         [server]\nlisten = \"{listen}\"\n\n\
         [storage]\nstate_dir = \"{state}\"\n\n\
         [vault]\nkey_file = \"{key}\"\nbcrypt_cost = 10\n\n\
         [log]\nlevel = \"info\"\n",
        state = root.join("state").display(),
        key = root.join("etc/vault.key").display(),
    );
    std::fs::write(&config_path, text)?;
    let config = config::load(&config_path)?;
    let report = crate::cli::init::initialize(&config)?;
    let admin = report
        .admin_key
        .as_ref()
        .map(|k| k.to_string())
        .context("the demo store already had an admin key")?;
    let (ivr, agent) = {
        let store = Store::open(&config.storage.state_dir)?;
        let now = chrono::Utc::now();
        enroll_members(&store, &root, &config)?;
        (
            keys::create(&store, "ivr1", Role::Ivr, "cli:demo", now)?.plaintext,
            keys::create(&store, "agent1", Role::Agent, "cli:demo", now)?.plaintext,
        )
    };
    print!(
        "{}",
        banner(
            &listen,
            &report.tls.cert,
            &config_path,
            &admin,
            &ivr,
            &agent
        )
    );
    println!("# serving until Ctrl-C ...");
    let served = crate::service::serve(&config_path, config);
    if keep {
        let kept = dir.keep();
        eprintln!("demo directory kept: {}", kept.display());
    }
    served?;
    Ok(())
}

/// Synthetic members, enrolled the way a credit union's file would be.
const DEMO_MEMBERS: u64 = 50;

fn enroll_members(store: &Store, root: &Path, config: &config::Config) -> anyhow::Result<()> {
    let file = root.join("demo-members.csv");
    let options = crate::enroll::generate::GenOptions {
        rows: DEMO_MEMBERS,
        variety: false,
        ..Default::default()
    };
    crate::enroll::generate::write_members(&mut std::fs::File::create(&file)?, &options)?;
    let run = crate::enroll::Options {
        mode: crate::enroll::Mode::Incremental,
        dry_run: false,
        region_code: config.enroll.default_region.clone(),
        recent_change_days: config.enroll.recent_change_days,
    };
    crate::enroll::run(
        store,
        &file,
        &config.enroll_dirs().outbox,
        &run,
        "cli:demo",
        &crate::enroll::progress::Silent,
    )?;
    Ok(())
}

fn banner(
    listen: &str,
    ca: &Path,
    config_path: &Path,
    admin: &str,
    ivr: &str,
    agent: &str,
) -> String {
    let url = format!("https://{listen}");
    let ca = ca.display();
    let mut s = String::new();
    let _ = writeln!(s, "callvault demo on {url}");
    let _ = writeln!(s, "  config: {}", config_path.display());
    let _ = writeln!(
        s,
        "  members: {DEMO_MEMBERS} synthetic members, 100000 to {}",
        100_000 + DEMO_MEMBERS - 1
    );
    let _ = writeln!(s, "  keys:   admin={admin}");
    let _ = writeln!(s, "          ivr1={ivr}");
    let _ = writeln!(s, "          agent1={agent}");
    let _ = writeln!(
        s,
        "\n# Try it from another terminal (each line works when pasted):"
    );
    let lines = [
        format!("curl -sS --cacert {ca} {url}/readyz"),
        format!("curl -sS --cacert {ca} -H 'Authorization: Bearer {ivr}' {url}/v1/whoami"),
        format!("curl -sS --cacert {ca} -H 'X-Api-Key: {agent}' {url}/v1/whoami"),
        format!("curl -sS --cacert {ca} -u 'ivr:{ivr}' {url}/v1/whoami"),
        format!("curl -sS --cacert {ca} {url}/v1/whoami"),
        format!(
            "curl -sS --cacert {ca} -X POST -H 'Authorization: Bearer {ivr}' {url}/v1/admin/reload"
        ),
        format!(
            "curl -sS --cacert {ca} -H 'Authorization: Bearer {admin}' -H 'Content-Type: application/json' -d '{{\"name\":\"ivr2\",\"role\":\"ivr\"}}' {url}/v1/admin/keys"
        ),
        format!("curl -sS --cacert {ca} -H 'Authorization: Bearer {admin}' {url}/v1/admin/keys"),
        format!(
            "curl -sS --cacert {ca} -H 'Authorization: Bearer {admin}' {url}/v1/members/100000"
        ),
        format!("curl -sS --cacert {ca} {url}/metrics"),
        format!("curl -sS --cacert {ca} {url}/openapi.json"),
    ];
    for line in lines {
        let _ = writeln!(s, "{line}");
    }
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "callvault".into());
    let _ = writeln!(s, "{exe} --config {} audit verify", config_path.display());
    let _ = writeln!(s, "{exe} --config {} audit export", config_path.display());
    s
}
