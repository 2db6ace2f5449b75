//! `callvault demo`: a throwaway callvault on localhost, with keys made and the curl lines
//! to try it printed. The newcomer's first five minutes.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::Path;

use anyhow::Context;

mod phone;

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
    let phone = phone::start(&root).context("starting the demo phone")?;
    let text = format!(
        "# written by `callvault demo`\n\
         [server]\nlisten = \"{listen}\"\n\n\
         [storage]\nstate_dir = \"{state}\"\n\n\
         [vault]\nkey_file = \"{key}\"\nbcrypt_cost = 10\n\n\
         [log]\nlevel = \"info\"\n\n\
         [enroll]\nkeep_days = 90\n\n\
         # texts go to the demo's stand-in phone, which prints them\n\
         [notify.sms]\ntype = \"http\"\nurl = \"{sms}\"\n\n\
         # pushes go to a stand-in for the member's app (on the same phone), which prints them\n\
         [notify.push]\ntype = \"webhook\"\nurl = \"{push}\"\n\n{profiles}",
        profiles = DEMO_PROFILES,
        sms = phone.url,
        push = phone.push_url,
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
    let (ivr, agent, app) = {
        let store = std::sync::Arc::new(Store::open(&config.storage.state_dir)?);
        let now = chrono::Utc::now();
        enroll_members(&store, &root, &config)?;
        seed_pins(&store, &config, now)?;
        (
            keys::create(&store, "ivr1", Role::Ivr, "cli:demo", now)?.plaintext,
            keys::create(&store, "agent1", Role::Agent, "cli:demo", now)?.plaintext,
            keys::create(&store, "app1", Role::App, "cli:demo", now)?.plaintext,
        )
    };
    let keys = Keys {
        ivr: &ivr,
        agent: &agent,
        app: &app,
    };
    {
        // A reader gone (`callvault demo | head`) ends the demo here, its directory removed,
        // quietly (crate::cli::out); the lock is let go before the phone prints its texts.
        use std::io::Write as _;
        let mut out = crate::cli::out::stdout();
        write!(
            out,
            "{}",
            banner(&listen, &report.tls.cert, &config_path, &admin, &keys)
        )?;
        write!(
            out,
            "{}",
            scripted_calls(&listen, &report.tls.cert, &keys, &phone)
        )?;
        writeln!(out, "# serving until Ctrl-C ...")?;
        out.flush()?;
    }
    let served = crate::service::serve(&config_path, config);
    if keep {
        let kept = dir.keep();
        crate::cli::out::tell!("demo directory kept: {}", kept.display());
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
    let run = crate::enroll::Options::from_config(config, crate::enroll::Mode::Incremental, false);
    crate::enroll::run(
        store,
        &file,
        &config.enroll_dirs().outbox,
        &run,
        "cli:demo",
        &crate::enroll::progress::Silent,
    )?;
    let story = root.join("demo-story.csv");
    std::fs::write(&story, STORY_MEMBERS)?;
    crate::enroll::run(
        store,
        &story,
        &config.enroll_dirs().outbox,
        &run,
        "cli:demo",
        &crate::enroll::progress::Silent,
    )?;
    Ok(())
}

/// The members the scripted calls use: each seed scenario has its caller.
const STORY_MEMBERS: &str = "member_id,first_name,last_name,mobile_phone,phone_type,other_phones,dob,zip,ssn_last4,place_of_birth,savings_balance,last_txn_amount,last_txn_date,account_numbers\n\
1001,Ada,Lovelace,+16122030101,mobile,+16122030199,1984-03-12,55401,6789,Zagreb,1234.56,-45.00,2026-11-20,90001\n\
1002,Grace,Hopper,+16122030102,mobile,,1970-12-09,55402,4321,New York,200.00,12.50,2026-11-19,90002\n\
1003,Alan,Turing,+16122030103,mobile,,1990-06-23,55403,1357,London,10.00,3.00,2026-11-18,90003\n\
1004,Katherine,Johnson,+16122030104,mobile,,1918-08-26,55404,2468,White Sulphur Springs,5000.00,75.25,2026-11-17,90004\n";

/// Dialed numbers: the main line asks questions (seed 004); the PIN line asks for a PIN.
const DEMO_PROFILES: &str = "[[routing]]\ndnis = \"+18005550100\"\nprofile = \"members\"\n\
[[routing]]\ndnis = \"+18005550123\"\nprofile = \"pin_line\"\n\n\
[profiles.members]\ndefault = true\n\n\
[profiles.pin_line]\n\
[profiles.pin_line.ivr.known_number]\nmethods = [\"pin\"]\nmin_correct = 1\nattempts = 3\n\
[profiles.pin_line.ivr.unknown_number]\nmethods = [\"pin\", \"dob\", \"zip\"]\nmin_correct = 2\nattempts = 3\n";

/// Grace's PIN is a placeholder from a core migration equal to her SSN's last 4 (activation);
/// Katherine chose hers (the lockout story).
fn seed_pins(
    store: &std::sync::Arc<Store>,
    config: &config::Config,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let vault = crate::vault::Vault::open(store.clone(), &config.vault.key_file, 1)?;
    let settings = crate::vault::Settings::from_config(config);
    vault.store_pin_now("1002", "4321", false, &settings, now)?;
    vault.store_pin_now("1004", "2749", true, &settings, now)?;
    Ok(())
}

/// The API keys the scripted calls use.
struct Keys<'a> {
    ivr: &'a str,
    agent: &'a str,
    app: &'a str,
}

/// One curl line per step of each seed scenario, ready to paste. Lines of one story run in
/// one shell: the one-time-code story keeps the challenge id and code in shell variables.
fn scripted_calls(listen: &str, ca: &Path, keys: &Keys<'_>, phone: &phone::Phone) -> String {
    let Keys { ivr, agent, app } = *keys;
    let url = format!("https://{listen}");
    let ca = ca.display();
    let post = |key: &str, path: &str, body: &str| {
        format!(
            "curl -sS --cacert {ca} -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' -d '{body}' {url}{path}"
        )
    };
    let start = |id: &str, ani: &str, dnis: &str| {
        post(
            ivr,
            "/v1/calls",
            &format!(r#"{{"call_id":"{id}","ani":"{ani}","dnis":"{dnis}"}}"#),
        )
    };
    let key_in = |id: &str, digits: &str| {
        post(
            ivr,
            &format!("/v1/calls/{id}/input"),
            &format!(r#"{{"digits":"{digits}"}}"#),
        )
    };
    let main = "+18005550100";
    let pin_line = "+18005550123";
    let mut s = String::new();
    let mut story = |title: &str, lines: Vec<String>| {
        let _ = writeln!(s, "\n# {title}");
        for l in lines {
            let _ = writeln!(s, "{l}");
        }
    };
    story(
        "Seed 004 [1], app intent: Alan's app announces the call; his call is authenticated at once",
        vec![
            post(
                app,
                "/v1/intents",
                r#"{"member_id":"1003","phone":"+16122030103","ttl_seconds":300}"#,
            ),
            start("demo-app", "+16122030103", main),
        ],
    );
    story(
        "Seed 004 [2], known number: Ada calls from her verified mobile; 2 of 3 questions (dob, zip)",
        vec![
            start("demo-known", "+16122030101", main),
            key_in("demo-known", "03121984"),
            key_in("demo-known", "55401"),
            format!(
                "curl -sS --cacert {ca} -H 'Authorization: Bearer {agent}' {url}/v1/calls/demo-known"
            ),
        ],
    );
    story(
        "Seed 004 [3], unknown number: Ada calls from another phone on file; 3 of 5 (one wrong)",
        vec![
            start("demo-unknown", "+16122030199", main),
            key_in("demo-unknown", "03121984"),
            key_in("demo-unknown", "99999"),
            key_in("demo-unknown", "6789"),
            key_in("demo-unknown", "45"),
        ],
    );
    // the desk names the person acting, as a desktop back end with one key would
    let desk = |path: &str, body: &str| {
        post(agent, path, body).replacen("curl -sS", "curl -sS -H 'X-Agent-Id: j.doe'", 1)
    };
    story(
        "Seed 004, agent checklist: an anonymous caller keys member number 1001; agent j.doe asks (answers shown to agents only; the audit log names j.doe)",
        vec![
            start("demo-agent", "anonymous", main),
            key_in("demo-agent", "1001"),
            desk("/v1/calls/demo-agent/checklist", "{}"),
            desk(
                "/v1/calls/demo-agent/checklist/last_txn_date",
                r#"{"correct":true}"#,
            ),
            desk(
                "/v1/calls/demo-agent/checklist/place_of_birth",
                r#"{"correct":true}"#,
            ),
            desk(
                "/v1/calls/demo-agent/checklist/savings_balance",
                r#"{"correct":true}"#,
            ),
            format!(
                "curl -sS --cacert {ca} -H 'Authorization: Bearer {agent}' {url}/v1/calls/demo-agent"
            ),
        ],
    );
    story(
        "Seed 003, activation: Grace's imported PIN is her SSN's last 4; checks, then a new PIN",
        vec![
            start("demo-activate", "+16122030102", pin_line),
            key_in("demo-activate", "4321"),
            key_in("demo-activate", "12091970"),
            key_in("demo-activate", "4321"),
            key_in("demo-activate", "5807"),
            key_in("demo-activate", "5807"),
        ],
    );
    story(
        "Lockout: Katherine keys 5 wrong PINs over two calls (her PIN is 2749); an agent unlocks",
        vec![
            start("demo-lock-1", "+16122030104", pin_line),
            key_in("demo-lock-1", "1111"),
            key_in("demo-lock-1", "2222"),
            key_in("demo-lock-1", "3333"),
            start("demo-lock-2", "+16122030104", pin_line),
            key_in("demo-lock-2", "4444"),
            key_in("demo-lock-2", "5555"),
            start("demo-lock-3", "+16122030104", pin_line),
            key_in("demo-lock-3", "2749"),
            post(agent, "/v1/members/1004/unlock", "{}"),
            start("demo-lock-4", "+16122030104", pin_line),
            key_in("demo-lock-4", "2749"),
        ],
    );
    story(
        "One-time code: the agent texts Ada a code; the demo phone prints it here; she reads it out",
        vec![
            start("demo-code", "+16122030101", main),
            format!(
                "CH=$({} | sed -n 's/.*\"challenge_id\":\"\\([^\"]*\\)\".*/\\1/p'); echo \"challenge $CH\"",
                post(
                    agent,
                    "/v1/calls/demo-code/challenges",
                    r#"{"channel":"sms"}"#
                )
            ),
            format!(
                "CODE=$(sed -n 's/.*code is \\([0-9]\\{{6\\}}\\).*/\\1/p' {} | tail -n 1); echo \"Ada reads out $CODE\"",
                phone.texts.display()
            ),
            format!(
                "curl -sS --cacert {ca} -H 'Authorization: Bearer {agent}' -H 'Content-Type: application/json' -d \"{{\\\"code\\\":\\\"$CODE\\\"}}\" {url}/v1/challenges/$CH/check"
            ),
            format!(
                "curl -sS --cacert {ca} -H 'Authorization: Bearer {agent}' {url}/v1/calls/demo-code"
            ),
        ],
    );
    story(
        "Seed 001, push: the agent sends Ada's app an approval with a code; she approves in the app, then reads out the code it shows",
        vec![
            start("demo-push", "+16122030101", main),
            format!(
                "CH=$({} | sed -n 's/.*\"challenge_id\":\"\\([^\"]*\\)\".*/\\1/p'); echo \"challenge $CH\"",
                post(
                    agent,
                    "/v1/calls/demo-push/challenges",
                    r#"{"channel":"push","with_code":true}"#
                )
            ),
            // the app back end relays her answer with its own key
            format!(
                "curl -sS --cacert {ca} -H 'Authorization: Bearer {app}' -H 'Content-Type: application/json' -d '{{\"approve\":true}}' {url}/v1/challenges/$CH/push-response"
            ),
            format!(
                "CODE=$(awk -v ch=\"$CH\" '$1 == ch {{ print $3 }}' {}); echo \"Ada reads out $CODE\"",
                phone.pushes.display()
            ),
            format!(
                "curl -sS --cacert {ca} -H 'Authorization: Bearer {agent}' -H 'Content-Type: application/json' -d \"{{\\\"code\\\":\\\"$CODE\\\"}}\" {url}/v1/challenges/$CH/check"
            ),
            format!(
                "curl -sS --cacert {ca} -H 'Authorization: Bearer {agent}' {url}/v1/calls/demo-push"
            ),
        ],
    );
    story(
        "Seed 002, no caller ID: identify by member number, or opt out",
        vec![
            start("demo-anon", "restricted", main),
            key_in("demo-anon", "1001"),
            post(ivr, "/v1/calls/demo-anon/input", r#"{"event":"opt_out"}"#),
        ],
    );
    story(
        "An agent identifies a caller the IVR could not: no caller ID, no member number; the agent names Ada, then asks the checklist",
        vec![
            start("demo-named", "anonymous", main),
            post(ivr, "/v1/calls/demo-named/input", r#"{"event":"opt_out"}"#),
            post(
                agent,
                "/v1/calls/demo-named/member",
                r#"{"member_id":"1001"}"#,
            ),
            post(agent, "/v1/calls/demo-named/checklist", "{}"),
            post(
                agent,
                "/v1/calls/demo-named/checklist/dob",
                r#"{"correct":true}"#,
            ),
            post(
                agent,
                "/v1/calls/demo-named/checklist/place_of_birth",
                r#"{"correct":true}"#,
            ),
            post(
                agent,
                "/v1/calls/demo-named/checklist/savings_balance",
                r#"{"correct":true}"#,
            ),
        ],
    );
    let step_in = |id: &str, digits: &str, step: u32| {
        post(
            ivr,
            &format!("/v1/calls/{id}/input"),
            &format!(r#"{{"digits":"{digits}","step":{step}}}"#),
        )
    };
    story(
        "A lost answer: inputs carry the STEP's `step`, so one sent again is taken once (not checked as the zip)",
        vec![
            start("demo-retry", "+16122030101", main),
            step_in("demo-retry", "03121984", 1),
            step_in("demo-retry", "03121984", 1),
            format!(
                "curl -sS --cacert {ca} -H 'Authorization: Bearer {ivr}' {url}/v1/calls/demo-retry/step"
            ),
            step_in("demo-retry", "55401", 2),
        ],
    );
    // curl's -d posts a form, as Asterisk's CURL() does; the answer as k=v for HASH()
    let pbx = |path: &str, form: &str| {
        format!(
            "curl -sS --cacert {ca} -H 'Authorization: Bearer {ivr}' -H 'Accept: application/x-www-form-urlencoded' -d '{form}' {url}{path}; echo"
        )
    };
    story(
        "As a PBX sends it: the caller ID as Genesys's tel: URI, fields as a form (Asterisk CURL()), the STEP as k=v",
        vec![
            pbx(
                "/v1/calls",
                "call_id=demo-pbx&ani=tel:%2B16122030101&dnis=tel:%2B18005550100",
            ),
            pbx("/v1/calls/demo-pbx/input", "digits=03121984"),
            pbx("/v1/calls/demo-pbx/input", "digits=55401%23"),
        ],
    );
    story(
        "A spoofed caller ID: the carrier's STIR/SHAKEN check failed the call from Ada's number (verstat, in the SIP From URI); she is found, and asked what an unknown number is (3 of 5)",
        vec![
            start(
                "demo-spoofed",
                "sip:+16122030101;verstat=TN-Validation-Failed@10.0.0.9;user=phone",
                main,
            ),
            key_in("demo-spoofed", "03121984"),
            key_in("demo-spoofed", "55401"),
            key_in("demo-spoofed", "6789"),
            format!(
                "curl -sS --cacert {ca} -H 'Authorization: Bearer {agent}' {url}/v1/calls/demo-spoofed"
            ),
        ],
    );
    story(
        "What the calls above came to, for a dashboard: started, finished (and how), timed, agents' verdicts, members locked out",
        vec![format!(
            "curl -sS --cacert {ca} {url}/metrics | grep -E '^callvault_((calls_started|calls_finished|member_verdicts|members_locked)_total|call_dialog_seconds_count)'"
        )],
    );
    s
}

fn banner(listen: &str, ca: &Path, config_path: &Path, admin: &str, keys: &Keys<'_>) -> String {
    let Keys { ivr, agent, app } = keys;
    let url = format!("https://{listen}");
    let ca = ca.display();
    let mut s = String::new();
    let _ = writeln!(s, "callvault demo on {url}");
    let _ = writeln!(s, "  config: {}", config_path.display());
    let _ = writeln!(
        s,
        "  members: {DEMO_MEMBERS} synthetic members, 100000 to {}, and 1001 to 1004 for the scripted calls",
        100_000 + DEMO_MEMBERS - 1
    );
    let _ = writeln!(s, "  keys:   admin={admin}");
    let _ = writeln!(s, "          ivr1={ivr}");
    let _ = writeln!(s, "          agent1={agent}");
    let _ = writeln!(s, "          app1={app}");
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
