use super::*;
use std::path::Path;

fn no_env() -> Vec<(String, String)> {
    Vec::new()
}

fn paths(err: ConfigError) -> Vec<String> {
    err.issues().into_iter().map(|i| i.path).collect()
}

#[test]
fn example_config_is_valid_and_matches_defaults_where_it_should() {
    let text = include_str!("../../config.example.toml");
    let config = parse(text, no_env()).unwrap();
    assert_eq!(config.server.listen, "127.0.0.1:8443");
    assert_eq!(config.vault.mode, VaultMode::Hashed);
    assert_eq!(config.lockout.max_wrong_pins, 5);

    // its commented agent_texts, taken in, are valid and say what the defaults say
    let header = "# [profiles.members.agent_texts]";
    let mut lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| *l == header).unwrap();
    for line in &mut lines[at..at + 4] {
        *line = line.strip_prefix("# ").unwrap();
    }
    let opened = lines.join("\n");
    let config = parse(&opened, no_env()).unwrap();
    let (_, p) = config.profile_for(None);
    assert_eq!(p.agent_texts.len(), 3, "{:?}", p.agent_texts);
    for (key, text) in &p.agent_texts {
        assert_eq!(
            text,
            &crate::profile::Profile::default().agent_text(key, "Where were you born?")
        );
    }
}

#[test]
fn empty_file_is_the_defaults() {
    assert_eq!(parse("", no_env()).unwrap(), Config::default());
}

#[test]
fn every_problem_is_reported_with_its_key_path() {
    let text = r#"
        [server]
        listen = "not-an-address"
        tls_cert = "/x.crt"
        listn = "typo"
        keep_alive_seconds = 4000
        [vault]
        bcrypt_cost = 40
        [pin_policy]
        min_length = 8
        max_length = 6
        [otp]
        ttl_seconds = 900
        [enroll]
        full_max_removed_percent = 150
        [bogus]
        x = 1
    "#;
    let got = paths(parse(text, no_env()).unwrap_err());
    for want in [
        "server.listn",
        "bogus",
        "server.listen",
        "server.tls_key",
        "server.keep_alive_seconds",
        "vault.bcrypt_cost",
        "pin_policy.min_length",
        "otp.ttl_seconds",
        "enroll.full_max_removed_percent",
    ] {
        assert!(got.iter().any(|p| p == want), "{want} missing from {got:?}");
    }
}

/// A value of the wrong kind is one problem under its key path, said once: the config
/// crate's own "for key `...`" is left out, and where the value came from is said when it
/// was the environment.
#[test]
fn wrong_type_names_its_key_once() {
    type Env = Vec<(String, String)>;
    let env = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    let cases: Vec<(&str, Env, &str, &str)> = vec![
        (
            "[lockout]\nmax_wrong_pins = \"five\"\n",
            no_env(),
            "lockout.max_wrong_pins",
            "\"five\" is not a whole number",
        ),
        // each kind of value where another goes, in a TOML file's words rather than serde's
        (
            "[server]\nlisten = [\"127.0.0.1:8443\"]\n",
            no_env(),
            "server.listen",
            "a list ([...]), where one value goes, in quotes",
        ),
        (
            "[lockout]\nmax_wrong_pins = [5]\n",
            no_env(),
            "lockout.max_wrong_pins",
            "a list ([...]), where one whole number goes",
        ),
        (
            "[log]\nlevel = { default = \"info\" }\n",
            no_env(),
            "log.level",
            "a table, where one value goes",
        ),
        (
            "[server.clients]\nname = \"a\"\nrole = \"agent\"\n",
            no_env(),
            "server.clients",
            "a table, where a list of them goes: begin each entry with [[server.clients]]",
        ),
        (
            "[profiles]\nm = 5\n",
            no_env(),
            "profiles.m",
            "5 is one value, where a table goes",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.ivr.known_number]\nmethods = \"dob\"\n\
             min_correct = 1\n",
            no_env(),
            "profiles.m.ivr.known_number.methods",
            "\"dob\" is one value, where a list goes: write [\"dob\"]",
        ),
        (
            "[profiles.m]\ndefault = \"maybe\"\n",
            no_env(),
            "profiles.m.default",
            "\"maybe\" is not true or false",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.ivr.known_number]\nmethods = [[1]]\n\
             min_correct = 1\n",
            no_env(),
            "profiles.m.ivr.known_number.methods[0]",
            "not a word: write one of the choices, in quotes (allowed: \"pin\",",
        ),
        // a required key set aside is one problem, not a second one for its absence
        (
            "[profiles.m]\ndefault = true\n[profiles.m.ivr.known_number]\nmethods = [\"pin\"]\n\
             min_correct = [1]\n",
            no_env(),
            "profiles.m.ivr.known_number.min_correct",
            "a list ([...]), where one whole number goes",
        ),
        (
            "[vault]\nmode = \"plaintext\"\n",
            no_env(),
            "vault.mode",
            "\"plaintext\" is not one of the choices (allowed: \"hashed\", \"encrypted\")",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.ivr.known_number]\nmethods = [\"zipp\"]\n\
             min_correct = 1\n",
            no_env(),
            "profiles.m.ivr.known_number.methods[0]",
            "\"zipp\" is not one of the choices; did you mean \"zip\"? (allowed: \"pin\", \
             \"otp\", \"dob\",",
        ),
        (
            "[[server.clients]]\nname = \"a\"\nrole = \"agnt\"\n",
            no_env(),
            "server.clients[0].role",
            "\"agnt\" is not one of the choices; did you mean \"agent\"? (allowed: \"ivr\", \
             \"agent\", \"app\", \"admin\")",
        ),
        (
            "[server]\nworkers = -1\n",
            no_env(),
            "server.workers",
            "-1 is negative: write a whole number, 0 or more",
        ),
        (
            "[calls]\nidle_minutes = 4294967296\n",
            no_env(),
            "calls.idle_minutes",
            "4294967296 is too large: at most 4294967295",
        ),
        (
            "",
            env("CALLVAULT__VAULT__BCRYPT_COST", "-3"),
            "vault.bcrypt_cost",
            "-3 is negative: write a whole number, 0 or more (set in the environment)",
        ),
        (
            "",
            env("CALLVAULT__SERVER__WORKERS", "abc"),
            "server.workers",
            "\"abc\" is not a whole number (set in the environment)",
        ),
        (
            "",
            env("CALLVAULT__VAULT__MODE", "hash"),
            "vault.mode",
            "\"hash\" is not one of the choices; did you mean \"hashed\"? (allowed: \"hashed\", \
             \"encrypted\") (set by environment variable CALLVAULT__VAULT__MODE)",
        ),
        (
            "",
            env("CALLVAULT__LOG__FORMAT", "jsn"),
            "log.format",
            "\"jsn\" is not one of the choices; did you mean \"json\"? (allowed: \"text\", \
             \"json\") (set by environment variable CALLVAULT__LOG__FORMAT)",
        ),
        // a value of the right type that the checks refuse names its variable too
        (
            "",
            env("CALLVAULT__SERVER__WORKERS", "999"),
            "server.workers",
            "999 is more than 256 (set by environment variable CALLVAULT__SERVER__WORKERS)",
        ),
        (
            "[server]\nlisten = \"127.0.0.1:8443\"\n",
            env("CALLVAULT__SERVER__LISTEN", "8443"),
            "server.listen",
            "\"8443\" is not an IP address and port: write 127.0.0.1:8443 (this host only) or \
             0.0.0.0:8443 (every interface) (set by environment variable CALLVAULT__SERVER__LISTEN)",
        ),
    ];
    for (text, env, path, says) in cases {
        let issues = parse(text, env).unwrap_err().issues();
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].path, path);
        assert!(issues[0].message.starts_with(says), "{}", issues[0].message);
        assert!(
            !issues[0].message.contains("for key"),
            "{}",
            issues[0].message
        );
    }
    // a client's other keys are not told the roles' choices
    let issues = parse(
        "[[server.clients]]\nname = [\"desk\"]\nrole = \"agent\"\n",
        no_env(),
    )
    .unwrap_err()
    .issues();
    assert_eq!(
        issues,
        [ConfigIssue::new(
            "server.clients[0].name",
            "a list ([...]), where one value goes, in quotes"
        )]
    );
    // a value the file sets is not put down to an override of another key
    let issues = parse(
        "[server]\nworkers = 999\n",
        env("CALLVAULT__SERVER__LISTEN", "0.0.0.0:8443"),
    )
    .unwrap_err()
    .issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(
        issues[0].to_string(),
        "server.workers: 999 is more than 256"
    );
}

/// A wrong value does not hide the problems after it: each is set aside and the rest read
/// again, so every wrong value and unknown key is reported in one check, whatever order the
/// config crate reads the keys in (it has none; hence the runs).
#[test]
fn every_wrong_value_and_unknown_key_is_reported_at_once() {
    let text = "[server]\nlistn = 1\nkeep_alive_seconds = \"long\"\n\
                [lockout]\nmax_wrong_pins = \"five\"\nbogus = true\n\
                [vault]\nmode = \"plaintext\"\n\
                [profiles.m]\ndefault = true\n\
                [profiles.m.ivr.known_number]\nmethods = [\"zipp\"]\n";
    let env = || vec![("CALLVAULT__SERVER__WORKERS".to_string(), "abc".to_string())];
    let mut want = vec![
        "lockout.bogus",
        "lockout.max_wrong_pins",
        // the file gives known_number's methods and not its min_correct
        "profiles.m.ivr.known_number",
        "profiles.m.ivr.known_number.methods[0]",
        "server.keep_alive_seconds",
        "server.listn",
        "server.workers",
        "vault.mode",
    ];
    want.sort();
    let first = parse(text, env()).unwrap_err().issues();
    for run in 0..20 {
        let issues = parse(text, env()).unwrap_err().issues();
        let mut got: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        got.sort();
        assert_eq!(got, want, "run {run}: {issues:?}");
        // and in the same order each time
        assert_eq!(issues, first, "run {run}");
    }
    // and a reading with values set aside does not check the rest against defaults that
    // stand in for them: only a whole reading is validated
    let issues = parse(
        "[pin_policy]\nmin_length = \"six\"\nmax_length = 3\n",
        no_env(),
    )
    .unwrap_err()
    .issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].path, "pin_policy.min_length");
    // but the checks of the sections with nothing set aside are reported beside it: a wrong
    // type does not hide a route to a missing profile
    let issues = parse(
        "[lockout]\nmax_wrong_pins = -1\n[pin_policy]\nmin_length = \"six\"\nmax_length = 3\n\
         [otp]\nmax_checks = true\n\
         [profiles.gold]\ndefault = true\n[profiles.gold.ivr.known_number]\n\
         methods = [\"dob\", \"zip\"]\nmin_correct = 3\n\
         [[routing]]\ndnis = \"+18005550100\"\nprofile = \"silver\"\n",
        no_env(),
    )
    .unwrap_err()
    .issues();
    let mut got: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    got.sort();
    assert_eq!(
        got,
        [
            "lockout.max_wrong_pins",
            "otp.max_checks",
            "pin_policy.min_length",
            "profiles.gold.ivr.known_number.min_correct",
            "routing[0].profile",
        ],
        "{issues:?}"
    );
    // an unknown key beside a value the checks refuse: both
    let issues = parse(
        "[pin_policy]\nmin_length = 9\nmax_length = 3\nx = 1\n",
        no_env(),
    )
    .unwrap_err()
    .issues();
    assert!(
        issues.iter().any(|i| i.path == "pin_policy.x"),
        "{issues:?}"
    );
    assert!(issues.len() >= 2, "{issues:?}");
}

#[test]
fn key_paths_are_ordered_with_list_items_by_their_place() {
    let mut paths = vec![
        "routing[10].dnis",
        "server.listen",
        "routing[2]",
        "routing[9].profile",
        "profiles.m.ivr.known_number.methods[12]",
        "routing[2].dnis",
        "profiles.m.ivr.known_number.methods[3]",
        "routing",
    ];
    paths.sort_by(|a, b| read::in_file_order(a, b));
    assert_eq!(
        paths,
        [
            "profiles.m.ivr.known_number.methods[3]",
            "profiles.m.ivr.known_number.methods[12]",
            "routing",
            "routing[2]",
            "routing[2].dnis",
            "routing[9].profile",
            "routing[10].dnis",
            "server.listen",
        ]
    );
}

/// A file with more wrong values than one check reads ([`read::MAX_READINGS`]) gets the
/// first of them, each with its place, and a last line saying that there may be more.
#[test]
fn a_check_stops_after_so_many_wrong_values_and_says_so() {
    let stopped = "the check stopped after 64 wrong values: there may be more";
    for (wrong, reported) in [(63, 63), (64, 64), (65, 64), (100, 64)] {
        let methods = vec!["\"qq\""; wrong].join(", ");
        let text = format!(
            "[profiles.m]\ndefault = true\n[profiles.m.ivr.known_number]\n\
             methods = [{methods}, \"pin\"]\nmin_correct = 1\n"
        );
        let issues = parse(&text, no_env()).unwrap_err().issues();
        let (last, values) = issues.split_last().unwrap();
        let said = last.message.contains(stopped);
        let values = if said { values } else { &issues[..] };
        assert_eq!(
            (values.len(), said),
            (reported, wrong >= 64),
            "{wrong}: {last:?}"
        );
        assert_eq!(
            values[reported - 1].path,
            format!("profiles.m.ivr.known_number.methods[{}]", reported - 1),
            "{wrong}"
        );
        if said {
            assert_eq!(last.path, "(file)");
        }
    }
}

#[test]
fn every_wrong_item_of_a_list_is_reported_with_its_place_in_the_file() {
    let text = "[profiles.m]\ndefault = true\n\
                [profiles.m.ivr.known_number]\n\
                methods = [\"zipp\", \"pin\", \"pinn\", \"dob\", \"qq\"]\nmin_correct = 1\n\
                [[routing]]\ndnis = \"8005550100\"\nprofile = \"m\"\n\
                [[routing]]\ndnis = [1]\nprofile = \"m\"\n\
                [[routing]]\ndnis = \"8005550102\"\n\
                [[routing]]\ndnis = \"8005550103\"\nprofile = \"m\"\nprofle = \"m\"\n";
    let issues = parse(text, no_env()).unwrap_err().issues();
    // the config crate reads keys in no fixed order; the items taken out are counted back
    for run in 0..10 {
        assert_eq!(
            parse(text, no_env()).unwrap_err().issues(),
            issues,
            "run {run}"
        );
    }
    let got: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        got,
        [
            "profiles.m.ivr.known_number.methods[0]",
            "profiles.m.ivr.known_number.methods[2]",
            "profiles.m.ivr.known_number.methods[4]",
            "routing[1].dnis",
            "routing[2]",
            "routing[3].profle",
        ],
        "{issues:?}"
    );
    assert!(issues[1].message.contains("allowed:"), "{issues:?}");
    assert_eq!(
        issues[4].message, "missing configuration field \"routing[2].profile\"",
        "{issues:?}"
    );
}

#[test]
fn a_route_not_written_in_e164_is_told_its_e164_form() {
    // (dnis as written, [enroll] default_region, the suggestion)
    let cases = [
        ("8005550100", "US", Some("+18005550100")),
        ("(800) 555-0100", "US", Some("+18005550100")),
        ("+1 800 555 0100", "US", Some("+18005550100")),
        ("tel:+18005550100", "US", Some("+18005550100")),
        ("01 4800 000", "HR", Some("+38514800000")),
        // a line's label as a PBX hands it to the IVR, written as a URI
        ("sip:5000@pbx.cu.example", "US", Some("5000")),
        ("tel:5000", "US", Some("5000")),
        ("800-555", "US", None),
        ("12345678", "US", None),
        ("+1555", "US", None),
        ("members line", "US", None),
        ("x@y", "US", None),
    ];
    for (dnis, region, meant) in cases {
        let text = format!(
            "[enroll]\ndefault_region = \"{region}\"\n\
             [profiles.m]\ndefault = true\n[[routing]]\ndnis = \"{dnis}\"\nprofile = \"m\"\n"
        );
        let issues = parse(&text, no_env()).unwrap_err().issues();
        assert_eq!(issues.len(), 1, "{dnis}: {issues:?}");
        assert_eq!(issues[0].path, "routing[0].dnis");
        let plain = format!(
            "{dnis:?} is not an E.164 number (+ and 8 to 15 digits), nor a line's label as a \
             PBX hands it to the IVR (an extension of 1 to 7 digits, or a SIP user name)"
        );
        let want = match meant {
            Some(e164) => format!("{plain}; did you mean \"{e164}\"?"),
            None => plain,
        };
        assert_eq!(issues[0].message, want);
    }
    let written =
        "[profiles.m]\ndefault = true\n[[routing]]\ndnis = \"+18005550100\"\nprofile = \"m\"\n";
    assert_eq!(
        parse(written, no_env()).unwrap().routing[0].dnis,
        "+18005550100"
    );
    // a line's label is taken: an extension, a VDN, a SIP user name
    for label in [
        "5",
        "5000",
        "1234567",
        "members-line",
        "IVR_Main",
        "line.2",
        "s",
    ] {
        let text = format!(
            "[profiles.m]\ndefault = true\n[[routing]]\ndnis = \"{label}\"\nprofile = \"m\"\n"
        );
        assert_eq!(parse(&text, no_env()).unwrap().routing[0].dnis, label);
    }
}

/// A word that is not one of a list's choices is answered with every choice, as the
/// profile spells them.
#[test]
fn each_list_of_words_names_its_choices() {
    let profile = |section: &str, key: &str| {
        format!("[profiles.m]\ndefault = true\n[profiles.m.{section}]\n{key} = [\"nope\"]\n")
    };
    let cases = [
        (
            profile("checklist.known_number", "questions"),
            "profiles.m.checklist.known_number.questions[0]",
            "\"dob\", \"zip\", \"ssn_last4\", \"last_txn_amount\", \"last_txn_date\", \
             \"savings_balance\", \"place_of_birth\"",
        ),
        (
            profile("activation", "methods"),
            "profiles.m.activation.methods[0]",
            "\"pin\", \"otp\", \"dob\", \"zip\", \"ssn_last4\", \"last_txn_amount\", \
             \"last_txn_date\", \"savings_balance\"",
        ),
        (
            profile("activation", "scenarios"),
            "profiles.m.activation.scenarios[0]",
            "\"no_pin\", \"pin_is_ssn_last4\", \"pin_is_zip_last4\", \"pin_is_zip_first4\", \
             \"pin_repeating_digits\", \"pin_is_phone_last4\", \"core_hint\"",
        ),
        (
            "[profiles.m]\ndefault = true\nidentifiers = [\"nope\"]\n".to_string(),
            "profiles.m.identifiers[0]",
            "\"member_number\", \"account_number\", \"phone\"",
        ),
        (
            "[pin_change]\nscenarios = [\"nope\"]\n".to_string(),
            "pin_change.scenarios[0]",
            "\"length_outside_policy\", \"aged\", \"flagged\", \"blocklisted\"",
        ),
        (
            "[[server.clients]]\nname = \"a.example\"\nrole = \"nope\"\n".to_string(),
            "server.clients[0].role",
            "\"ivr\", \"agent\", \"app\", \"admin\"",
        ),
        (
            "[log]\nformat = \"nope\"\n".to_string(),
            "log.format",
            "\"text\", \"json\"",
        ),
        (
            "[core]\ntype = \"nope\"\n".to_string(),
            "core.type",
            "\"embedded\", \"rest\"",
        ),
        (
            "[server]\nclient_cert = \"nope\"\n".to_string(),
            "server.client_cert",
            "\"required\", \"optional\"",
        ),
        (
            "[pin_change]\non_conflict = \"nope\"\n".to_string(),
            "pin_change.on_conflict",
            "\"activation_list\", \"activation\", \"force_change\"",
        ),
        (
            "[enroll]\nslash_dates = \"nope\"\n".to_string(),
            "enroll.slash_dates",
            "\"month/day/year\", \"day/month/year\"",
        ),
        (
            "[enroll]\nencoding = \"nope\"\n".to_string(),
            "enroll.encoding",
            "\"utf-8\", \"windows-1252\", \"macintosh\"",
        ),
        (
            "[enroll]\nseparator = \"nope\"\n".to_string(),
            "enroll.separator",
            "\",\", \";\", \"tab\", \"|\"",
        ),
    ];
    for (text, path, choices) in cases {
        let issues = parse(&text, no_env()).unwrap_err().issues();
        let issue = issues.iter().find(|i| i.path == path);
        let want = format!("\"nope\" is not one of the choices (allowed: {choices})");
        assert_eq!(
            issue.map(|i| i.message.as_str()),
            Some(want.as_str()),
            "{issues:?}"
        );
    }
}

/// The config crate rounds a number with a decimal point into an integer key
/// (`workers = 1.5` ran with 2 workers); here each is a problem, and the value is not
/// quoted, since a secret written unquoted could be one.
#[test]
fn a_number_with_a_decimal_point_is_refused_unquoted() {
    let text = "[server]\nworkers = 1.5\n[storage]\ncache_mb = 256.0\n\
                [notify.email]\npassword = 0.123456\n\
                [[routing]]\ndnis = 8005550100.5\nprofile = \"m\"\n\
                [profiles.m]\ndefault = true\n";
    let issues = parse(text, no_env()).unwrap_err().issues();
    let mut got: Vec<&str> = issues
        .iter()
        .filter(|i| i.message.contains("decimal point"))
        .map(|i| i.path.as_str())
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "notify.email.password",
            "routing[0].dnis",
            "server.workers",
            "storage.cache_mb"
        ]
    );
    for i in &issues {
        assert!(!i.message.contains("123456"), "{i}");
        assert!(!i.message.contains("1.5"), "{i}");
    }
    // whole numbers as before
    assert!(parse("[server]\nworkers = 2\n", no_env()).is_ok());

    // from the environment too, but for a secret, which may be any text
    let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let issues = parse(
        "",
        env(&[
            ("CALLVAULT__SERVER__WORKERS", "1.5"),
            ("CALLVAULT__STORAGE__CACHE_MB", "2e2"),
        ]),
    )
    .unwrap_err()
    .issues();
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["server.workers", "storage.cache_mb"], "{issues:?}");
    assert!(issues[0].message.contains("CALLVAULT__SERVER__WORKERS"));
    let text =
        "[notify.email]\nhost = \"mail.cu.example\"\nfrom = \"a@cu.example\"\nusername = \"u\"\n";
    let taken = parse(
        text,
        env(&[
            ("CALLVAULT__NOTIFY__EMAIL__PASSWORD", "3.14159"),
            ("CALLVAULT__SERVER__WORKERS", "4"),
            ("CALLVAULT__SERVER__LISTEN", "127.0.0.1:9443"),
        ]),
    );
    let issues = taken.err().map(|e| e.issues()).unwrap_or_default();
    assert!(
        issues.iter().all(|i| !i.message.contains("decimal point")),
        "{issues:?}"
    );
}

#[test]
fn environment_overrides_the_file() {
    let env = vec![
        (
            "CALLVAULT__SERVER__LISTEN".to_string(),
            "127.0.0.1:9000".to_string(),
        ),
        (
            "CALLVAULT__LOCKOUT__MAX_WRONG_PINS".to_string(),
            "7".to_string(),
        ),
        ("UNRELATED".to_string(), "x".to_string()),
    ];
    let config = parse("[server]\nlisten = \"127.0.0.1:8443\"\n", env).unwrap();
    assert_eq!(config.server.listen, "127.0.0.1:9000");
    assert_eq!(config.lockout.max_wrong_pins, 7);
}

#[test]
fn misspelled_environment_variable_is_named() {
    let env = vec![("CALLVAULT__SERVER__LISTN".to_string(), "x".to_string())];
    let err = parse("", env).unwrap_err();
    let issue = &err.issues()[0];
    assert_eq!(issue.path, "server.listn");
    assert!(
        issue.message.contains("CALLVAULT__SERVER__LISTN"),
        "{}",
        issue.message
    );
}

#[test]
fn callvault_variables_that_are_not_read_are_named() {
    let names = [
        "CALLVAULT__SERVER__LISTEN", // an override: read (or refused as unknown)
        "CALLVAULT_CONFIG",          // --config
        "CALLVAULT_BIN",             // the scripts' and tests' binary
        "CALLVAULT_LOCKOUT__MAX_WRONG_PINS", // one underscore after the prefix
        "callvault__server__listen", // overrides are upper case
        "CALLVAULTSERVER__LISTEN",
        "PATH",
        "MY_CALLVAULT__X", // not callvault's: it does not start with the prefix
    ];
    let unread = unread_env_vars(names.iter().map(std::ffi::OsString::from));
    let named: Vec<&str> = unread
        .iter()
        .map(|w| {
            w.strip_prefix("environment variable ")
                .and_then(|w| w.split(' ').next())
                .unwrap()
        })
        .collect();
    assert_eq!(
        named,
        [
            "CALLVAULTSERVER__LISTEN",
            "CALLVAULT_LOCKOUT__MAX_WRONG_PINS",
            "callvault__server__listen"
        ]
    );
    assert!(
        unread[0].contains("CALLVAULT__SERVER__LISTEN"),
        "{}",
        unread[0]
    );
    // each is told the override it was likely meant to be
    for (warning, meant) in unread.iter().zip([
        "CALLVAULT__SERVER__LISTEN",
        "CALLVAULT__LOCKOUT__MAX_WRONG_PINS",
        "CALLVAULT__SERVER__LISTEN",
    ]) {
        assert!(
            warning.contains(&format!(
                " is not read (did you mean {meant}?): an override is"
            )),
            "{warning}"
        );
    }
    let said = |name: &str| unread_env_vars([std::ffi::OsString::from(name)]).remove(0);
    // a slip of a key's own name, besides the underscores
    assert!(
        said("CALLVAULT_STORAGE__STATEDIR")
            .contains("(did you mean CALLVAULT__STORAGE__STATE_DIR?)")
    );
    // nothing near, and a table is no variable to set
    for name in ["CALLVAULT_HOME", "CALLVAULT_CORE"] {
        assert!(
            said(name).starts_with(&format!("environment variable {name} is not read: an")),
            "{}",
            said(name)
        );
    }
}

#[test]
fn overrides_are_taken_from_any_environment_and_a_value_not_utf8_is_refused_unprinted() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let not_utf8 = || OsString::from_vec(vec![b's', 0xff, b'3']);
    let var = |k: &str, v: &str| (OsString::from(k), OsString::from(v));
    let got = env_overrides([
        var("CALLVAULT__SERVER__LISTEN", "127.0.0.1:9000"),
        (OsString::from("LANG_OLD"), not_utf8()),
        (OsString::from_vec(vec![0xff]), OsString::from("x")),
        var("HOME", "/root"),
    ])
    .unwrap();
    assert_eq!(
        got,
        [(
            "CALLVAULT__SERVER__LISTEN".to_string(),
            "127.0.0.1:9000".to_string()
        )]
    );
    let err = env_overrides([(
        OsString::from("CALLVAULT__NOTIFY__SMS__AUTH_VALUE"),
        not_utf8(),
    )])
    .unwrap_err();
    let issue = &err.issues()[0];
    assert_eq!(issue.path, "notify.sms.auth_value");
    assert_eq!(
        issue.message,
        "environment variable CALLVAULT__NOTIFY__SMS__AUTH_VALUE is not UTF-8"
    );
}

#[test]
fn missing_file_is_a_clear_error() {
    let err = load_with_env(Path::new("/nonexistent/callvault.toml"), no_env()).unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");
}

/// `load` reads the file it is given (and the process's environment, which names no
/// override here), and its problems read as `config check` prints them.
#[test]
fn a_file_loads_and_its_problems_read_one_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callvault.toml");
    std::fs::write(
        &path,
        "[server]\nworkers = 3\n[enroll]\ndefault_region = \"gb\"\n",
    )
    .unwrap();
    let config = load(&path).unwrap();
    assert_eq!(config.server.workers, 3);
    // numbers without a country code are read in the configured region, not the default
    assert_eq!(
        config.enroll.region(),
        crate::member::phone::Region::parse("GB").unwrap()
    );
    assert_ne!(
        config.enroll.region(),
        crate::member::phone::Region::default()
    );

    std::fs::write(&path, "[server]\nlisten = \"nowhere\"\nlistn = 1\n").unwrap();
    let err = load(&path).unwrap_err();
    let issues = err.issues();
    assert_eq!(issues.len(), 2, "{issues:?}");
    let lines: Vec<String> = issues.iter().map(|i| format!("  {i}")).collect();
    assert_eq!(
        err.to_string(),
        format!("2 problems in the configuration:\n{}", lines.join("\n"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "  server.listn: unknown key; did you mean server.listen?"),
        "{lines:?}"
    );
}

/// The words the service prints (`vault status`, audit details, metrics labels, and the
/// problems `config check` reports in a profile's lists) are the file's own.
#[test]
fn words_are_named_as_the_file_spells_them() {
    use crate::core::IdentifierKind;
    use crate::pin::{ActivationScenario, ForceChangeScenario};
    use crate::profile::{Method, Question};
    fn serde_name(v: impl serde::Serialize) -> String {
        serde_json::to_value(v)
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }
    for m in [VaultMode::Hashed, VaultMode::Encrypted] {
        assert_eq!(m.as_str(), serde_name(m));
    }
    for c in [OtpChannel::Sms, OtpChannel::Email, OtpChannel::Push] {
        assert_eq!(c.as_str(), serde_name(c));
    }
    for m in Method::ALL {
        assert_eq!(m.as_str(), serde_name(m));
    }
    for k in IdentifierKind::ALL {
        assert_eq!(k.as_str(), serde_name(k));
    }
    for q in Question::ALL {
        assert_eq!(q.as_str(), serde_name(q));
    }
    for s in ActivationScenario::ALL {
        assert_eq!(s.as_str(), serde_name(s));
    }
    for s in ForceChangeScenario::ALL {
        assert_eq!(s.as_str(), serde_name(s));
    }
}

#[test]
fn masked_print_round_trips_through_the_loader() {
    let config = Config::default();
    let text = config.to_masked_toml();
    assert_eq!(parse(&text, no_env()).unwrap(), config);
}

/// `core.rest.time_zone` names a zone of the system's database, or is left unset for the
/// system's own; left unset on a system that keeps UTC, with the core's last transaction
/// date read, it is a caution, since a UTC date-time is then read as its UTC day.
#[test]
fn a_rest_core_s_time_zone_is_a_zone_and_its_absence_on_a_utc_system_is_a_caution() {
    let rest = "[enroll]\nkeep_days = 90\n[core]\ntype = \"rest\"\n[core.rest]\n\
                base_url = \"https://core-gw.cu.example\"\n";
    let issues = parse(&format!("{rest}time_zone = \"US/Centrall\"\n"), no_env())
        .unwrap_err()
        .issues();
    assert_eq!(
        issues.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "core.rest.time_zone: \"US/Centrall\" is no time zone of this system's database \
          (/usr/share/zoneinfo), as \"America/Chicago\" is"
        ]
    );
    let utc = crate::civil::Zone::utc();
    let chicago = crate::civil::Zone::named("America/Chicago").unwrap();
    let no_date = "[core.rest.fields]\nlast_txn_date = \"\"\n";
    let cases = [
        ("", &utc, true),
        ("", &chicago, false),
        ("time_zone = \"America/Chicago\"\n", &utc, false),
        ("time_zone = \"Etc/UTC\"\n", &utc, false),
        (no_date, &utc, false),
    ];
    for (more, system, cautioned) in cases {
        let config = parse(&format!("{rest}{more}"), no_env()).expect(more);
        let paths: Vec<String> = config
            .cautions_on(system)
            .into_iter()
            .map(|c| c.path)
            .collect();
        assert_eq!(
            paths == ["core.rest.time_zone"],
            cautioned,
            "{more:?} on {:?}: {paths:?}",
            system.name()
        );
        if !cautioned {
            assert!(paths.is_empty(), "{paths:?}");
        }
    }
    // the embedded core reads no dates from a core
    let embedded = parse("[enroll]\nkeep_days = 90\n", no_env()).unwrap();
    assert!(embedded.cautions_on(&utc).is_empty());
}

/// `[core.rest.pin]`: each wrong key is named with what it takes; the section left out
/// means the vault alone holds PINs, and one written with no key takes the defaults.
#[test]
fn a_rest_core_s_pin_check_is_checked_with_key_paths() {
    let rest = "[core]\ntype = \"rest\"\n[core.rest]\nbase_url = \"https://core-gw.cu.example\"\n";
    let cases: &[(&str, &str, &str)] = &[
        (
            "url = \"members/{member_id}/pin\"",
            "core.rest.pin.url",
            "starts with /",
        ),
        (
            "url = \"/m/{member}/pin\"",
            "core.rest.pin.url",
            "{member} is not one of {member_id}",
        ),
        (
            "body = \"{{\\\"id\\\": \\\"{member_id}\\\"}}\"",
            "core.rest.pin.body",
            "{pin}",
        ),
        (
            "body = \"{{\\\"pin\\\": \\\"{code}\\\"}}\"",
            "core.rest.pin.body",
            "{code} is not one of",
        ),
        (
            "correct = \"valid\"",
            "core.rest.pin.correct",
            "is not a JSON pointer",
        ),
        (
            "wrong_status = [401, 404]",
            "core.rest.pin.wrong_status[1]",
            "404 means the core holds no PIN",
        ),
        (
            "wrong_status = [200]",
            "core.rest.pin.wrong_status[0]",
            "not a 4xx status",
        ),
    ];
    for (line, path, says) in cases {
        let issues = parse(&format!("{rest}[core.rest.pin]\n{line}\n"), no_env())
            .unwrap_err()
            .issues();
        assert_eq!(issues.len(), 1, "{line}: {issues:?}");
        assert_eq!(issues[0].path, *path, "{line}");
        assert!(
            issues[0].message.contains(says),
            "{line}: {}",
            issues[0].message
        );
    }
    // a wrong PIN said as an auth failure is taken, with a caution: a gateway that
    // refuses callvault's credentials says the same, and every PIN would count as wrong
    let said = parse(
        &format!("{rest}[core.rest.pin]\nwrong_status = [422, 401, 403]\n"),
        no_env(),
    )
    .unwrap();
    let cautions: Vec<String> = (said.cautions().iter())
        .filter(|c| c.path.starts_with("core.rest.pin"))
        .map(|c| c.path.clone())
        .collect();
    assert_eq!(
        cautions,
        [
            "core.rest.pin.wrong_status[1]",
            "core.rest.pin.wrong_status[2]"
        ]
    );
    // a has_pin mapped (not the default) without the section is cautioned: it is not used
    let caution_on_has_pin = |toml: &str| {
        let said = parse(&format!("{rest}{toml}"), no_env()).unwrap();
        let cautions = said.cautions();
        let caution = cautions
            .iter()
            .find(|c| c.path == "core.rest.fields.has_pin");
        if let Some(c) = caution {
            assert!(
                c.message
                    .starts_with("mapped, but there is no [core.rest.pin]: the vault holds every PIN, and what the core says of its own is not used"),
                "{}",
                c.message
            );
        }
        caution.is_some()
    };
    for (toml, cautioned) in [
        ("[core.rest.fields]\nhas_pin = \"/ivr/pinSet\"\n", true),
        ("[core.rest.fields]\nhas_pin = \"/has_pin\"\n", false),
        ("[core.rest.fields]\nhas_pin = \"\"\n", false),
        (
            "[core.rest.fields]\nhas_pin = \"/ivr/pinSet\"\n[core.rest.pin]\n",
            false,
        ),
    ] {
        assert_eq!(caution_on_has_pin(toml), cautioned, "{toml}");
    }
    let none = parse(rest, no_env()).unwrap();
    assert_eq!(none.core.rest.unwrap().pin, None);
    let defaults = parse(&format!("{rest}[core.rest.pin]\n"), no_env()).unwrap();
    let pin = defaults.core.rest.unwrap().pin.unwrap();
    assert_eq!(pin, crate::config::RestPinConfig::default());
    assert_eq!(
        (
            pin.url.as_str(),
            pin.body.as_str(),
            pin.correct.as_str(),
            pin.keep
        ),
        (
            "/members/{member_id}/pin",
            "{{\"pin\": \"{pin}\"}}",
            "/valid",
            false
        )
    );
}

#[test]
fn a_rest_core_is_checked_with_key_paths() {
    let err = parse("[core]\ntype = \"rest\"\n", no_env()).unwrap_err();
    assert_eq!(paths(err), vec!["core.rest".to_string()]);
    let text = r#"
        [core]
        type = "rest"
        timeout_ms = 1000
        [core.rest]
        base_url = "ftp://core"
        by_phone = "/members?phone="
        connect_timeout_ms = 5000
        auth_header = "Authorization"
        [core.rest.fields]
        dob = "birth_date"
        member_id = ""
    "#;
    let got = paths(parse(text, no_env()).unwrap_err());
    for want in [
        "core.rest.base_url",
        "core.rest.by_phone",
        "core.rest.connect_timeout_ms",
        "core.rest.auth_value",
        "core.rest.fields.dob",
        "core.rest.fields.member_id",
    ] {
        assert!(got.iter().any(|p| p == want), "{want} missing from {got:?}");
    }
    // a client certificate without its key, and a key without its certificate
    let rest = "[core]\ntype = \"rest\"\n[core.rest]\nbase_url = \"https://core-gw.cu.example\"\n";
    for (half, named) in [
        (
            "client_cert = \"/etc/callvault/c.crt\"\n",
            "core.rest.client_key",
        ),
        (
            "client_key = \"/etc/callvault/c.key\"\n",
            "core.rest.client_cert",
        ),
    ] {
        let issues = parse(&format!("{rest}{half}"), no_env())
            .unwrap_err()
            .issues();
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(
            issues[0].to_string(),
            format!("{named}: client_cert and client_key must be set together (or both left out)")
        );
    }
    let both = "client_cert = \"/etc/callvault/c.crt\"\nclient_key = \"/etc/callvault/c.key\"\n";
    assert!(parse(&format!("{rest}{both}"), no_env()).is_ok());
    // the SMS gateway and the app back end take a pair the same way
    let sms = "[notify.sms]\nurl = \"https://sms.cu.example/send\"\n";
    let push = "[notify.push]\nurl = \"https://app.cu.example/push\"\n";
    for (section, text) in [("notify.sms", sms), ("notify.push", push)] {
        for (half, missing) in [
            ("client_cert = \"/etc/callvault/c.crt\"\n", "client_key"),
            ("client_key = \"/etc/callvault/c.key\"\n", "client_cert"),
        ] {
            let issues = parse(&format!("{text}{half}"), no_env())
                .unwrap_err()
                .issues();
            let got: Vec<String> = issues.iter().map(ToString::to_string).collect();
            assert_eq!(
                got,
                [format!(
                    "{section}.{missing}: client_cert and client_key must be set together (or both left out)"
                )]
            );
        }
        assert!(
            parse(&format!("{text}{both}"), no_env()).is_ok(),
            "{section}"
        );
    }
    // the SMS gateway's client is made once for its host: {to} may not stand in it
    for (url, taken) in [
        ("https://sms.cu.example/send?to={to}", true),
        ("https://sms.cu.example/{to}/send", true),
        ("https://{to}.sms.cu.example/send", false),
    ] {
        let text = format!("[notify.sms]\nurl = \"{url}\"\n");
        match parse(&text, no_env()) {
            Ok(_) => assert!(taken, "{url} was taken"),
            Err(e) => {
                assert!(!taken, "{url}: {e}");
                let got: Vec<String> = e.issues().iter().map(ToString::to_string).collect();
                assert_eq!(
                    got,
                    [
                        "notify.sms.url: a placeholder may stand in the path or query, not in the host"
                    ]
                );
            }
        }
    }
    let good = "[core]\ntype = \"rest\"\n[core.rest]\nbase_url = \"https://core-gw.cu.example\"\nauth_header = \"Authorization\"\nauth_value = \"Bearer abc\"\n";
    let config = parse(good, no_env()).unwrap();
    let printed = config.to_masked_toml();
    assert!(printed.contains("auth_value = \"***\""), "{printed}");
    assert!(!printed.contains("Bearer abc"));
}

/// Bounded values at their edges: the last taken and the first refused, under its key path.
#[test]
fn bounded_values_are_taken_up_to_their_edges() {
    let cases: [(&str, Option<&str>); 14] = [
        ("[calls]\nintent_ttl_seconds = 10\n", None),
        (
            "[calls]\nintent_ttl_seconds = 9\n",
            Some("calls.intent_ttl_seconds"),
        ),
        (
            "[calls]\nintent_max_ttl_seconds = 600\nintent_ttl_seconds = 600\n",
            None,
        ),
        (
            "[calls]\nintent_max_ttl_seconds = 600\nintent_ttl_seconds = 601\n",
            Some("calls.intent_ttl_seconds"),
        ),
        ("[pin_policy]\nextra_blocklist = [\"123456789012\"]\n", None),
        (
            "[pin_policy]\nextra_blocklist = [\"1234567890123\"]\n",
            Some("pin_policy.extra_blocklist[0]"),
        ),
        (
            "[pin_policy]\nextra_blocklist = [\"2749\", \"\"]\n",
            Some("pin_policy.extra_blocklist[1]"),
        ),
        (
            "[pin_policy]\nextra_blocklist = [\"27 49\"]\n",
            Some("pin_policy.extra_blocklist[0]"),
        ),
        ("[pin_policy]\nmax_age_days = 3650\n", None),
        (
            "[pin_policy]\nmax_age_days = 3651\n",
            Some("pin_policy.max_age_days"),
        ),
        ("[calls]\nkeep_hours = 8760\n", None),
        ("[calls]\nkeep_hours = 0\n", Some("calls.keep_hours")),
        ("[calls]\nintent_max_ttl_seconds = 86400\n", None),
        (
            "[calls]\nintent_max_ttl_seconds = 86401\n",
            Some("calls.intent_max_ttl_seconds"),
        ),
    ];
    for (text, refused) in cases {
        let got = match parse(text, no_env()) {
            Ok(_) => Vec::new(),
            Err(e) => paths(e),
        };
        let want: Vec<String> = refused.into_iter().map(str::to_string).collect();
        assert_eq!(got, want, "{text}");
    }
}

/// The store, the admin socket and the enrollment folders live under the state folder
/// unless a folder is set.
#[test]
fn paths_are_under_the_state_folder_unless_set() {
    let config = parse(
        "[storage]\nstate_dir = \"/srv/cv\"\n[enroll]\noutbox = \"/sftp/answers\"\nkeep_days = 90\n",
        no_env(),
    )
    .unwrap();
    assert_eq!(config.db_path(), Path::new("/srv/cv/callvault.redb"));
    assert_eq!(config.admin_socket_path(), Path::new("/srv/cv/admin.sock"));
    let dirs = config.enroll_dirs();
    assert_eq!(
        [&dirs.inbox, &dirs.outbox, &dirs.processed, &dirs.failed].map(|p| p.as_path()),
        [
            Path::new("/srv/cv/inbox"),
            Path::new("/sftp/answers"),
            Path::new("/srv/cv/processed"),
            Path::new("/srv/cv/failed"),
        ]
    );
}

/// The inbox's folder named again as the outbox, processed/ or failed/ (written with a
/// trailing `/` or a `.` between, or the inbox set where another's default is) is refused
/// at the key that was set: the service would take its own answers, or each file it took,
/// from the inbox again, at every look without end. A folder inside the inbox is not looked
/// into, and is allowed.
#[test]
fn no_enrollment_folder_is_the_inbox_too() {
    // each enrollment folder's problem: its key and message
    let own = |text: &str| -> Vec<(String, String)> {
        match parse(text, no_env()) {
            Ok(_) => Vec::new(),
            Err(e) => e
                .issues()
                .into_iter()
                .filter(|i| i.path.starts_with("enroll."))
                .map(|i| (i.path, i.message))
                .collect(),
        }
    };
    let problems = |enroll: &str| {
        own(&format!(
            "[storage]\nstate_dir = \"/srv/cv\"\n[enroll]\n{enroll}"
        ))
    };
    let cases: [(&str, &[&str]); 7] = [
        ("inbox = \"/sftp/drop\"\noutbox = \"/sftp/answers\"\n", &[]),
        ("processed = \"/srv/cv/inbox/done\"\n", &[]),
        ("outbox = \"/srv/cv/inbox\"\n", &["enroll.outbox"]),
        (
            "inbox = \"/sftp/drop\"\nprocessed = \"/sftp/drop/\"\nfailed = \"/sftp/./drop\"\n",
            &["enroll.processed", "enroll.failed"],
        ),
        // the inbox set where processed/ is by default
        ("inbox = \"/srv/cv/processed\"\n", &["enroll.inbox"]),
        ("inbox = \"/srv/cv/outbox/\"\n", &["enroll.inbox"]),
        (
            "inbox = \"/x\"\noutbox = \"/x\"\nprocessed = \"/x\"\nfailed = \"/x\"\n",
            &["enroll.outbox", "enroll.processed", "enroll.failed"],
        ),
    ];
    for (enroll, want) in cases {
        let got = problems(enroll);
        let keys: Vec<&str> = got.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, want, "{enroll}");
    }
    // the folder of callvault's own files: the store, the vault key, the TLS pair, the CA
    // files and client pairs it reads
    let cases: [(&str, Option<(&str, &str)>); 10] = [
        (
            "[server]\nclient_ca = \"/etc/pki/agents.pem\"\n[enroll]\ninbox = \"/etc/pki\"\n",
            Some(("enroll.inbox", "the client CA file (server.client_ca)")),
        ),
        (
            "[notify.sms]\nurl = \"https://sms.example/send\"\nclient_cert = \"/etc/gw/c.pem\"\n\
             client_key = \"/etc/gw/k/c.key\"\n[enroll]\nfailed = \"/etc/gw/k\"\n",
            Some(("enroll.failed", "the client key (notify.sms.client_key)")),
        ),
        (
            "[core]\nkind = \"rest\"\n[core.rest]\nurl = \"https://core.example\"\n\
             ca_file = \"/etc/core/ca.pem\"\n[enroll]\noutbox = \"/etc/core/\"\n",
            Some(("enroll.outbox", "the CA file (core.rest.ca_file)")),
        ),
        (
            "[storage]\nstate_dir = \"/srv/cv\"\n[enroll]\ninbox = \"/srv/cv/\"\n",
            Some(("enroll.inbox", "the store (storage.state_dir)")),
        ),
        (
            "[vault]\nkey_file = \"/etc/cv/vault.key\"\n[enroll]\ninbox = \"/etc/cv\"\n",
            Some(("enroll.inbox", "the vault key (vault.key_file)")),
        ),
        (
            "[server]\ntls_cert = \"/etc/pki/cv.crt\"\ntls_key = \"/etc/pki/key/cv.key\"\n\
             [enroll]\ninbox = \"/etc/pki/key\"\n",
            Some(("enroll.inbox", "the TLS key (server.tls_key)")),
        ),
        // the others lose their old files to enroll.keep_days
        (
            "[vault]\nkey_file = \"/etc/cv/vault.key\"\n[enroll]\nprocessed = \"/etc/cv/\"\n",
            Some(("enroll.processed", "the vault key (vault.key_file)")),
        ),
        (
            "[storage]\nstate_dir = \"/srv/cv\"\n[enroll]\noutbox = \"/srv/./cv\"\n",
            Some(("enroll.outbox", "the store (storage.state_dir)")),
        ),
        (
            "[vault]\nkey_file = \"/etc/cv/vault.key\"\n[enroll]\ninbox = \"/etc/cv/drop\"\n",
            None,
        ),
        ("[storage]\nstate_dir = \"/srv/cv\"\n", None),
    ];
    for (text, want) in cases {
        let got = own(text);
        match want {
            None => assert!(got.is_empty(), "{text}: {got:?}"),
            Some((key, what)) => {
                assert_eq!(got.len(), 1, "{text}: {got:?}");
                assert_eq!(got[0].0, key);
                assert!(
                    got[0]
                        .1
                        .contains(&format!("is the folder of {what}: the service ")),
                    "{}",
                    got[0].1
                );
            }
        }
    }
    assert_eq!(
        own("[vault]\nkey_file = \"/etc/cv/vault.key\"\n[enroll]\nfailed = \"/etc/cv\"\n")[0].1,
        "/etc/cv is the folder of the vault key (vault.key_file): the service removes the files \
         there older than enroll.keep_days, the vault key among them; give enroll.failed a \
         folder of its own"
    );
    assert_eq!(
        own("[storage]\nstate_dir = \"/srv/cv\"\n[enroll]\ninbox = \"/srv/cv\"\n")[0].1,
        "/srv/cv is the folder of the store (storage.state_dir): the service takes every file \
         there to enroll, and would move the store to failed/; give enroll.inbox a folder of \
         its own"
    );
    assert_eq!(
        problems("processed = \"/srv/cv/inbox\"\n")[0].1,
        "/srv/cv/inbox is both enroll.inbox and enroll.processed: the service would take \
         each file it enrolled there again, at every look without end; give each its own \
         folder"
    );
}

/// What the validation cannot see, `load` does once the paths are made absolute: an
/// enrollment folder that is the inbox, or the folder of callvault's own files, through a
/// link (the folders themselves compared), and one that is the configuration file's own
/// folder, however reached. Written alike, the first are the validation's to say, once.
#[test]
fn a_loaded_files_enrollment_folders_are_kept_apart_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    let drop = dir.path().join("drop");
    for folder in [&etc, &drop] {
        std::fs::create_dir(folder).unwrap();
    }
    let to_drop = dir.path().join("answers");
    std::os::unix::fs::symlink(&drop, &to_drop).unwrap();
    let to_etc = dir.path().join("conf");
    std::os::unix::fs::symlink(&etc, &to_etc).unwrap();
    let path = etc.join("callvault.toml");
    let load = |enroll: &str| {
        std::fs::write(
            &path,
            format!(
                "[storage]\nstate_dir = \"{}\"\n[vault]\nkey_file = \"{}\"\n[enroll]\n{enroll}",
                dir.path().join("state").display(),
                dir.path().join("keys/vault.key").display(),
            ),
        )
        .unwrap();
        match load_with_env(&path, no_env()) {
            Ok(config) => {
                assert_eq!(config.file.as_deref(), Some(path.as_path()));
                vec![]
            }
            Err(e) => e
                .issues()
                .into_iter()
                .map(|i| (i.path, i.message))
                .collect(),
        }
    };
    let at = |key: &str, folder: &Path| format!("{key} = \"{}\"\n", folder.display());
    let inbox = at("inbox", &drop);
    let cases: Vec<(String, &[&str])> = vec![
        (inbox.clone(), &[]),
        (inbox.clone() + &at("outbox", &to_drop), &["enroll.outbox"]),
        // written alike: the validation says it, once
        (inbox.clone() + &at("outbox", &drop), &["enroll.outbox"]),
        (at("inbox", &etc), &["enroll.inbox"]),
        (at("inbox", &etc.join(".")), &["enroll.inbox"]),
        (at("inbox", &to_etc), &["enroll.inbox"]),
        (inbox.clone() + "processed = \".\"\n", &["enroll.processed"]),
        (inbox.clone() + &at("failed", &to_etc), &["enroll.failed"]),
        (at("inbox", &etc.join("drop")), &[]),
    ];
    for (enroll, want) in cases {
        let got = load(&enroll);
        let keys: Vec<&str> = got.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, want, "{enroll}");
    }
    assert_eq!(
        load(&(inbox.clone() + &at("outbox", &to_drop)))[0].1,
        format!(
            "{} is both enroll.inbox and enroll.outbox: the service would take its answers \
             there (NAME.results.csv) for files to enroll; give each its own folder",
            to_drop.display()
        )
    );
    assert_eq!(
        load(&at("inbox", &to_etc))[0].1,
        format!(
            "{} is the folder of the configuration file ({}): the service takes every file \
             there to enroll, and would move the configuration file to failed/; give \
             enroll.inbox a folder of its own",
            to_etc.display(),
            path.display()
        )
    );
    let removes = "the service removes the files there older than enroll.keep_days, the \
                   configuration file among them";
    let got = load(&(inbox.clone() + "outbox = \"../conf\"\n"));
    assert!(got[0].1.contains(removes), "{got:?}");
    // the configuration file a link to one kept elsewhere: the target's folder too
    let kept = dir.path().join("kept");
    std::fs::create_dir(&kept).unwrap();
    let load_linked = |enroll: &str| {
        let got = load(enroll);
        std::fs::rename(&path, kept.join("callvault.toml")).unwrap();
        std::os::unix::fs::symlink(kept.join("callvault.toml"), &path).unwrap();
        let linked = load_with_env(&path, no_env());
        std::fs::remove_file(&path).unwrap();
        (got, linked.err().map(|e| e.issues()).unwrap_or_default())
    };
    let (plain, linked) = load_linked(&at("inbox", &kept));
    assert!(plain.is_empty(), "{plain:?}");
    assert_eq!(linked.len(), 1, "{linked:?}");
    assert_eq!(
        linked[0].message,
        format!(
            "{} is the folder of the configuration file ({}, a link to {}): the service takes \
             every file there to enroll, and would move the configuration file to failed/; \
             give enroll.inbox a folder of its own",
            kept.display(),
            path.display(),
            kept.join("callvault.toml").display()
        )
    );
}

/// A file of callvault's own that is a link (a vault key kept on a volume of its own, a
/// TLS pair a certificate tool keeps): the folder of its target is kept apart from the
/// enrollment folders too, where the inbox would move it to failed/ and the service would
/// not start again. A link beside its target is said once.
#[test]
fn a_link_to_one_of_callvaults_own_files_keeps_its_targets_folder_apart() {
    let dir = tempfile::tempdir().unwrap();
    let (etc, keys, drop) = (
        dir.path().join("etc"),
        dir.path().join("keys"),
        dir.path().join("drop"),
    );
    for folder in [&etc, &keys, &drop] {
        std::fs::create_dir(folder).unwrap();
    }
    let path = etc.join("callvault.toml");
    let load = |file_key: &str, file: &Path, inbox: &Path| {
        std::fs::write(
            &path,
            format!(
                "[storage]\nstate_dir = \"{}\"\n[vault]\nkey_file = \"{}\"\n\
                 [server]\ntls_cert = \"{}\"\ntls_key = \"{}\"\n[enroll]\ninbox = \"{}\"\n",
                dir.path().join("state").display(),
                if file_key == "vault.key_file" {
                    file.to_path_buf()
                } else {
                    keys.join("vault.key")
                }
                .display(),
                keys.join("tls.crt").display(),
                if file_key == "server.tls_key" {
                    file.to_path_buf()
                } else {
                    keys.join("tls.key")
                }
                .display(),
                inbox.display(),
            ),
        )
        .unwrap();
        load_with_env(&path, no_env())
            .err()
            .map(|e| {
                e.issues()
                    .into_iter()
                    .map(|i| (i.path, i.message))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let key_in_drop = drop.join("vault.key");
    std::fs::write(&key_in_drop, [7u8; 32]).unwrap();
    let linked_key = keys.join("vault.key.link");
    std::os::unix::fs::symlink(&key_in_drop, &linked_key).unwrap();
    let beside = drop.join("beside.key");
    std::os::unix::fs::symlink(&key_in_drop, &beside).unwrap();
    let (plain_key, elsewhere) = (keys.join("vault.key"), etc.join("in"));
    let cases: Vec<(&str, &Path, &Path, &[&str])> = vec![
        // the link's folder is not the inbox, its target's is
        ("vault.key_file", &linked_key, &drop, &["enroll.inbox"]),
        ("server.tls_key", &linked_key, &drop, &["enroll.inbox"]),
        // no link: the key's folder is not the inbox
        ("vault.key_file", &plain_key, &drop, &[]),
        // a link beside its target: the validation says it, once
        ("vault.key_file", &beside, &drop, &["enroll.inbox"]),
        // a link whose target is elsewhere than the inbox
        ("vault.key_file", &linked_key, &elsewhere, &[]),
    ];
    for (key, file, inbox, want) in cases {
        let got = load(key, file, inbox);
        let keys: Vec<&str> = got.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(
            keys,
            want,
            "{key} = {}, inbox {}: {got:?}",
            file.display(),
            inbox.display()
        );
    }
    assert_eq!(
        load("vault.key_file", &linked_key, &drop)[0].1,
        format!(
            "{} is the folder of the vault key (vault.key_file, a link to {}): the service \
             takes every file there to enroll, and would move the vault key to failed/; give \
             enroll.inbox a folder of its own",
            drop.display(),
            key_in_drop.display()
        )
    );
}

#[test]
fn pin_settings_are_checked_with_their_key_paths() {
    let err = parse(
        "[pin_policy]\nextra_blocklist = [\"2749\", \"12ab\"]\nmax_age_days = 5000\n\
         [lockout]\nmax_wrong_pins = 0\n[vault]\npin_threads = 1000\n",
        no_env(),
    )
    .unwrap_err();
    let got = paths(err);
    for want in [
        "pin_policy.extra_blocklist[1]",
        "pin_policy.max_age_days",
        "lockout.max_wrong_pins",
        "vault.pin_threads",
    ] {
        assert!(got.iter().any(|p| p == want), "{want} missing from {got:?}");
    }
    let err = parse("[pin_change]\non_conflict = \"cointoss\"\n", no_env()).unwrap_err();
    let issue = &err.issues()[0];
    assert_eq!(issue.path, "pin_change.on_conflict");
    assert!(
        issue.message.contains("activation_list"),
        "{}",
        issue.message
    );
    let err = parse("[pin_change]\nscenarios = [\"aged\", \"moon\"]\n", no_env()).unwrap_err();
    let issue = &err.issues()[0];
    assert!(
        issue.path.starts_with("pin_change.scenarios"),
        "{}",
        issue.path
    );
    assert!(issue.message.contains("blocklisted"), "{}", issue.message);
    let ok = parse("[lockout]\nlock_minutes = 0\n", no_env()).unwrap();
    assert_eq!(ok.lockout.lock_minutes, 0);
}

#[test]
fn notify_channels_are_checked_with_key_paths() {
    let good = r#"
        [notify.email]
        host = "relay.cu.example"
        port = 587
        username = "callvault"
        password = "pw"
        from = "Credit Union <verify@cu.example>"
        [notify.sms]
        url = "https://sms.cu.example/send?to={to}"
        auth_header = "Authorization"
        auth_value = "Bearer t"
        encoding = "form"
        body = "to={to}&message={text}"
        [notify.push]
        url = "https://app.cu.example/callvault/push"
    "#;
    let config = parse(good, no_env()).unwrap();
    assert_eq!(
        config.notify.sms.as_ref().map(|s| s.encoding),
        Some(BodyEncoding::Form)
    );
    assert!(!config.to_masked_toml().contains("Bearer t"));

    let cases: &[(&str, &str)] = &[
        (
            "[notify.email]\nfrom = \"not an address\"\n",
            "notify.email.from",
        ),
        (
            "[notify.email]\nfrom = \"a@b.c\"\nsecurity = \"none\"\nusername = \"u\"\npassword = \"p\"\n",
            "notify.email.security",
        ),
        (
            "[notify.email]\nfrom = \"a@b.c\"\nbody = \"no code here\"\n",
            "notify.email.body",
        ),
        (
            "[notify.email]\nfrom = \"a@b.c\"\nsecurity = \"ssl\"\n",
            "notify.email.security",
        ),
        ("[notify.sms]\nurl = \"ftp://x\"\n", "notify.sms.url"),
        (
            "[notify.sms]\nurl = \"https://x\"\ntext = \"{pin}\"\n",
            "notify.sms.text",
        ),
        (
            "[notify.sms]\nurl = \"https://x\"\nbody = \"{to}\"\n",
            "notify.sms.body",
        ),
        (
            "[notify.sms]\nurl = \"https://x\"\nauth_header = \"X-Key\"\n",
            "notify.sms.auth_value",
        ),
        ("[notify.push]\nurl = \"\"\n", "notify.push.url"),
        (
            "[notify.push]\nurl = \"https://x\"\ntimeout_ms = 5\n",
            "notify.push.timeout_ms",
        ),
        ("[notify.fax]\nurl = \"https://x\"\n", "notify.fax"),
        ("[otp]\nivr_channel = \"push\"\n", "otp.ivr_channel"),
        ("[otp]\nmax_sends_per_hour = 0\n", "otp.max_sends_per_hour"),
    ];
    for (text, want) in cases {
        let got = paths(parse(text, no_env()).unwrap_err());
        assert!(
            got.iter().any(|p| p == want),
            "{text}: {want} missing from {got:?}"
        );
    }
}

#[test]
fn an_otp_step_needs_the_channel_its_code_goes_by() {
    let profile = "[profiles.m]\ndefault = true\n\
        [profiles.m.ivr.known_number]\nmethods = [\"dob\", \"otp\"]\nmin_correct = 1\n\
        [profiles.m.ivr.unknown_number]\nmethods = [\"otp\", \"dob\", \"zip\"]\nmin_correct = 2\n";
    let sms = "[notify.sms]\nurl = \"https://sms.cu.example/send\"\n";
    let email = "[notify.email]\nhost = \"relay.cu.example\"\nfrom = \"v@cu.example\"\n";
    let both_steps = [
        "profiles.m.ivr.known_number.methods[1]",
        "profiles.m.ivr.unknown_number.methods[0]",
    ];
    // (notify sections, otp.ivr_channel, the key paths refused)
    let cases: &[(&str, &str, &[&str])] = &[
        ("", "sms", &both_steps),
        (sms, "sms", &[]),
        (email, "sms", &both_steps),
        (sms, "email", &both_steps),
        (email, "email", &[]),
    ];
    for (notify, channel, want) in cases {
        let text = format!("[otp]\nivr_channel = \"{channel}\"\n{notify}{profile}");
        let got = match parse(&text, no_env()) {
            Ok(_) => Vec::new(),
            Err(ConfigError::Invalid(issues)) => issues,
            Err(e) => panic!("{text}: {e}"),
        };
        let got_paths: Vec<&str> = got.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(got_paths, *want, "{text}");
        for issue in &got {
            assert_eq!(
                issue.message,
                format!(
                    "\"otp\" sends its code by {channel} (otp.ivr_channel), and there is no \
                     [notify.{channel}] section: add one, or set otp.ivr_channel to a channel \
                     that is configured"
                )
            );
        }
    }
    // the built-in profile asks no one-time code, so no channel is needed
    assert!(parse("", no_env()).is_ok());
}

#[test]
fn client_certificates_are_checked_with_key_paths() {
    let cases = [
        (
            "[[server.clients]]\nname = \"ivr1.cu.test\"\nrole = \"ivr\"\n",
            "server.clients",
            "client_ca",
        ),
        (
            "[server]\nclient_ca = \"/ca.pem\"\n[[server.clients]]\nname = \"not a name!\"\nrole = \"ivr\"\n",
            "server.clients[0].name",
            "not a DNS name",
        ),
        (
            "[server]\nclient_ca = \"/ca.pem\"\n[[server.clients]]\nname = \"a.cu.test\"\nrole = \"ivr\"\n[[server.clients]]\nname = \"a.cu.test\"\nrole = \"agent\"\n",
            "server.clients[1].name",
            "mapped twice",
        ),
        // DNS names are one whatever their case, and with the root's dot
        (
            "[server]\nclient_ca = \"/ca.pem\"\n[[server.clients]]\nname = \"a.cu.test\"\nrole = \"ivr\"\n[[server.clients]]\nname = \"A.CU.test.\"\nrole = \"admin\"\n",
            "server.clients[1].name",
            "mapped twice",
        ),
        (
            "[server]\nclient_ca = \"/ca.pem\"\n[[server.clients]]\nname = \"*.cu.test\"\nrole = \"ivr\"\n",
            "server.clients[0].name",
            "\"*.cu.test\" is a wildcard: a certificate stands for the one client it names",
        ),
        (
            "[server]\nclient_ca = \"/ca.pem\"\n[[server.clients]]\nname = \"a.cu.test\"\nrole = \"root\"\n",
            "server.clients[0].role",
            "agent",
        ),
        (
            "[server]\nclient_cert = \"sometimes\"\n",
            "server.client_cert",
            "optional",
        ),
    ];
    for (text, path, says) in cases {
        let err = parse(text, no_env()).unwrap_err();
        let issue = err
            .issues()
            .into_iter()
            .find(|i| i.path == path)
            .unwrap_or_else(|| panic!("{path} missing for {text:?}"));
        assert!(issue.message.contains(says), "{path}: {}", issue.message);
    }
    let ok = parse(
        "[server]\nclient_ca = \"/ca.pem\"\nclient_cert = \"optional\"\n[[server.clients]]\nname = \"ivr1.cu.test\"\nrole = \"ivr\"\n",
        no_env(),
    )
    .unwrap();
    assert_eq!(ok.server.client_cert, ClientCertMode::Optional);
    assert_eq!(ok.server.clients[0].role, crate::keys::Role::Ivr);
}

#[test]
fn plain_http_endpoints_are_only_for_this_host() {
    let cases = [
        ("https://core.cu.example/api", true),
        ("https://10.0.0.5:8443", true),
        ("http://127.0.0.1:8080/core", true),
        ("http://127.9.9.9", true),
        ("http://localhost/sms?to={to}", true),
        ("http://LOCALHOST:9000", true),
        ("http://[::1]:8080/push", true),
        ("http://user:pw@127.0.0.1:81/x", true),
        ("http://10.0.0.5:8080/core", false),
        ("http://sms.cu.example/send?to={to}", false),
        ("http://[2001:db8::1]/push", false),
        ("http://127.0.0.1.evil.example/", false),
        ("http://localhost@sms.cu.example/", false),
        ("ftp://127.0.0.1/", false),
        ("core.cu.example", false),
    ];
    for (url, ok) in cases {
        assert_eq!(endpoint_url(url).is_ok(), ok, "{url}");
    }
    let err = parse(
        "[notify.sms]\ntype = \"http\"\nurl = \"http://sms.cu.example/send\"\n",
        no_env(),
    )
    .unwrap_err();
    let issue = &err.issues()[0];
    assert_eq!(issue.path, "notify.sms.url");
    assert!(
        issue.message.contains("needs https://"),
        "{}",
        issue.message
    );
}

#[test]
fn a_config_every_user_can_read_is_a_warning_only_when_it_holds_secrets() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callvault.toml");
    let smtp = "[notify.email]\nhost = \"relay\"\nfrom = \"v@cu.example\"\nuser = \"cv\"\npassword = \"hunter2-smtp\"\n";
    let rest = "[core]\ntype = \"rest\"\n[core.rest]\nbase_url = \"https://gw\"\nauth_header = \"X-Key\"\nauth_value = \"gw-token-1\"\n";
    let none = "[lockout]\nmax_wrong_pins = 5\n# password = \"in a comment\"\n";
    for (text, mode, keys) in [
        (smtp, 0o644, Some("notify.email.password")),
        (smtp, 0o604, Some("notify.email.password")),
        (smtp, 0o640, None),
        (smtp, 0o600, None),
        (rest, 0o644, Some("core.rest.auth_value")),
        (none, 0o644, None),
    ] {
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let warning = exposure(&path);
        assert_eq!(
            warning.as_deref().map(|w| w.contains(keys.unwrap_or("-"))),
            keys.map(|_| true),
            "{mode:o} {text}: {warning:?}"
        );
        if let Some(w) = warning {
            assert!(w.contains(&format!("{mode:04o}")), "{w}");
            assert!(!w.contains("hunter2") && !w.contains("gw-token"), "{w}");
        }
    }
}

#[test]
fn keeping_pre_enrollment_files_forever_is_warned_of() {
    let paths = |text: &str| -> Vec<String> {
        parse(text, no_env())
            .unwrap()
            .cautions()
            .into_iter()
            .map(|c| c.path)
            .collect()
    };
    assert_eq!(paths(""), ["enroll.keep_days"]);
    assert_eq!(paths("[enroll]\nkeep_days = 0\n"), ["enroll.keep_days"]);
    assert!(paths("[enroll]\nkeep_days = 30\n").is_empty());
}

#[test]
fn cors_origins_are_web_origins_as_browsers_send_them() {
    let cases = [
        ("https://desk.cu.example", true),
        ("https://desk.cu.example:8444", true),
        ("http://localhost:5173", true),
        ("http://10.0.0.12", true),
        ("https://desk.cu.example/", false), // a trailing slash: browsers send none
        ("https://desk.cu.example/app", false),
        ("https://desk.cu.example:443", false), // the scheme's own port is left out
        ("https://Desk.cu.example", false),
        ("desk.cu.example", false),
        ("*", false),
        ("https://*.cu.example", false),
        ("ftp://desk.cu.example", false),
        ("null", false),
        ("", false),
    ];
    for (origin, ok) in cases {
        assert_eq!(is_web_origin(origin), ok, "{origin:?}");
    }
    let err = parse(
        "[server]\ncors_origins = [\"https://desk.cu.example\", \"https://x.example/\"]\n",
        no_env(),
    )
    .unwrap_err();
    assert_eq!(paths(err), vec!["server.cors_origins[1]"]);
}

/// A bare word in `log.level` must be a level: tracing would take `verbose` as a target with
/// every level on, and callvault's own logs would all be off.
#[test]
fn a_log_filter_is_levels_and_targets_with_levels() {
    let cases = [
        ("info", None),
        ("WARN", None),
        ("off", None),
        ("callvault=debug,actix_web=info", None),
        ("warn,callvault=trace", None),
        ("info,", None),
        ("callvault[call]=debug", None),
        (
            "verbose",
            Some(
                "\"verbose\" is not a level (trace, debug, info, warn, error or off); a target takes its level: \"verbose=debug\"",
            ),
        ),
        (
            "callvault=debug,warning",
            Some(
                "\"warning\" is not a level (trace, debug, info, warn, error or off); a target takes its level: \"warning=debug\"",
            ),
        ),
        (
            "  ",
            Some("is empty (a level: trace, debug, info, warn, error or off)"),
        ),
    ];
    for (filter, want) in cases {
        assert_eq!(log_filter_problem(filter).as_deref(), want, "{filter:?}");
    }
    for filter in ["callvault=loud", "warn, callvault=trace"] {
        assert!(
            log_filter_problem(filter)
                .is_some_and(|p| p.starts_with(&format!("{filter:?} is not a log filter: "))),
            "tracing's own parser still has the last word: {filter:?}"
        );
    }
    let got = paths(parse("[log]\nlevel = \"verbose\"\n", no_env()).unwrap_err());
    assert_eq!(got, ["log.level"]);
}

/// A value of another kind than its key takes is said, not converted without a word. `true`
/// for a number (the config crate read it as 1) is refused, with no range check of the 1
/// beside it. Text for a number or a boolean, or a number for a boolean, is read as meant and
/// warned of with the cautions: a file that worked before still starts the service.
#[test]
fn a_value_of_another_kind_is_said_and_refused_when_it_means_nothing() {
    let issues = parse("[storage]\ncache_mb = true\n", no_env())
        .unwrap_err()
        .issues();
    assert_eq!(
        issues,
        [ConfigIssue::new(
            "storage.cache_mb",
            "true is not a number: write a whole number"
        )]
    );
    let cases = [
        (
            "[storage]\ncache_mb = \"128\"\n",
            "storage.cache_mb",
            "\"128\" is quoted: read as 128; write the number without quotes",
        ),
        (
            "[pin_policy]\nblocklist = \"off\"\n",
            "pin_policy.blocklist",
            "\"off\" is read as false; write true or false, without quotes",
        ),
        (
            "[profiles.m]\ndefault = true\nidentify_by_ani = 0\n",
            "profiles.m.identify_by_ani",
            "0 is read as false; write true or false",
        ),
        (
            "[[routing]]\ndnis = \"+18005550100\"\nprofile = \"m\"\n\
             [profiles.m]\ndefault = \"yes\"\n",
            "profiles.m.default",
            "\"yes\" is read as true; write true or false, without quotes",
        ),
    ];
    for (text, path, says) in cases {
        // (files kept forever are a caution of their own)
        let text = format!("[enroll]\nkeep_days = 90\n{text}");
        let config = parse(&text, no_env()).expect(&text);
        assert_eq!(config.cautions(), [ConfigIssue::new(path, says)], "{text}");
    }
    // and each item of a list of numbers (the statuses a core answers a wrong PIN with)
    let rest = "[core]\ntype = \"rest\"\n[core.rest]\nbase_url = \"https://core.example\"\n\
                time_zone = \"America/Chicago\"\n[core.rest.pin]\nurl = \"/m/{member_id}/pin\"\n\
                body = \"{{\\\"pin\\\": \\\"{pin}\\\"}}\"\ncorrect = \"/valid\"\n";
    let issues = parse(&format!("{rest}wrong_status = [422, true]\n"), no_env())
        .unwrap_err()
        .issues();
    assert_eq!(
        issues,
        [ConfigIssue::new(
            "core.rest.pin.wrong_status[1]",
            "true is not a number: write a whole number"
        )]
    );
    let config = parse(
        &format!("[enroll]\nkeep_days = 90\n{rest}wrong_status = [\"422\"]\n"),
        no_env(),
    )
    .unwrap();
    assert!(
        config.cautions().contains(&ConfigIssue::new(
            "core.rest.pin.wrong_status[0]",
            "\"422\" is quoted: read as 422; write the number without quotes"
        )),
        "{:?}",
        config.cautions()
    );
    let config = parse("[storage]\ncache_mb = \"128\"\n", no_env()).unwrap();
    assert_eq!(config.storage.cache_mb, 128);
    assert!(
        !parse("[pin_policy]\nblocklist = \"off\"\n", no_env())
            .unwrap()
            .pin_policy
            .blocklist
    );
    // a secret takes any scalar as its text; the same kinds from the environment are text
    // anyway, read as the key's type
    let config = parse(
        "[enroll]\nkeep_days = 90\n[core]\ntype = \"rest\"\n[core.rest]\nbase_url = \"https://core.example\"\n\
         auth_header = \"X-Key\"\nauth_value = 123456\ntime_zone = \"America/Chicago\"\n",
        vec![
            ("CALLVAULT__STORAGE__CACHE_MB".into(), "256".into()),
            ("CALLVAULT__PIN_POLICY__BLOCKLIST".into(), "yes".into()),
        ],
    )
    .expect("valid");
    assert_eq!(config.storage.cache_mb, 256);
    assert!(config.cautions().is_empty(), "{:?}", config.cautions());
}

/// A file that is not TOML is refused with the line, the column and toml's reason, even for
/// a number too large for any key (the config crate lost the place), but not the line itself.
#[test]
fn a_file_that_is_not_toml_says_where() {
    let cases = [
        ("[server]\nlisten = 127.0.0.1:8443\n", "line 2, column 15"),
        (
            "[calls]\nidle_minutes = 99999999999999999999\n",
            "line 2, column 16",
        ),
        ("[server\n", "line 1, column 8"),
    ];
    for (text, at) in cases {
        let issues = parse(text, no_env()).unwrap_err().issues();
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].path, "(file)");
        assert!(
            issues[0]
                .message
                .starts_with(&format!("TOML parse error at {at}: ")),
            "{text}: {}",
            issues[0].message
        );
    }
    // the line is not quoted back: it could hold a secret written unquoted
    let text = "[core.rest]\nauth_value = s3cr3t-token\n";
    let message = &parse(text, no_env()).unwrap_err().issues()[0].message;
    assert!(
        message.starts_with("TOML parse error at line 2, column 14: "),
        "{message}"
    );
    assert!(!message.contains("s3cr3t"), "{message}");
}

/// A key or a table written twice is named, which toml's "duplicate key" does not; a key's
/// value is not quoted.
#[test]
fn a_key_written_twice_is_named() {
    for (text, at, key) in [
        (
            "[server]\nworkers = 2\nworkers = 3\n",
            "line 3, column 1",
            Some("workers"),
        ),
        (
            "[profiles.gold]\ndefault = true\n[profiles.gold]\n",
            "line 3, column 11",
            Some("gold"),
        ),
        (
            "server.workers = 1\n[server]\nworkers = 2\n",
            "line 2, column 2",
            Some("server"),
        ),
        (
            "[server]\n\"workers\" = 1\nworkers = 2\n",
            "line 3, column 1",
            Some("workers"),
        ),
        // a key no bare or plain quoted key could be is not repeated
        (
            "[server]\n\"a b\" = 1\n\"a b\" = 2\n",
            "line 3, column 1",
            None,
        ),
    ] {
        let message = &parse(text, no_env()).unwrap_err().issues()[0].message;
        let want = match key {
            Some(key) => format!(
                "TOML parse error at {at}: duplicate key: {key} is written a second time here \
                 (a key, or a table's [header]); write each once, with a table's keys under \
                 its one header"
            ),
            None => format!("TOML parse error at {at}: duplicate key"),
        };
        assert_eq!(message, &want, "{text}");
    }
}

/// `server.listen` takes an IP address and a port; what an admin may write instead is
/// refused with what to write.
#[test]
fn a_listen_address_that_is_not_ip_and_port_says_what_to_write() {
    for (listen, says) in [
        ("127.0.0.1:8443", None),
        ("[::]:8443", None),
        ("0.0.0.0:443", None),
        (
            "localhost:8443",
            Some("write 127.0.0.1:8443 (this host only; [::1]:8443 for IPv6)"),
        ),
        (
            "8443",
            Some("write 127.0.0.1:8443 (this host only) or 0.0.0.0:8443 (every interface)"),
        ),
        (
            ":9000",
            Some("write 127.0.0.1:9000 (this host only) or 0.0.0.0:9000"),
        ),
        ("*:9000", Some("or 0.0.0.0:9000 (every interface)")),
        ("127.0.0.1", Some("add the port: 127.0.0.1:8443")),
        (
            "::1",
            Some("add the port, with brackets for IPv6: [::1]:8443"),
        ),
        (
            "::1:8443",
            Some("an IPv6 address takes brackets before its port: [::1]:8443"),
        ),
        (
            "callvault.cu.example:8443",
            Some("as 127.0.0.1:8443 (this host only)"),
        ),
        ("127.0.0.1:99999", Some("as 127.0.0.1:8443")),
    ] {
        let problem = check::listen_problem(listen);
        match says {
            None => assert_eq!(problem, None, "{listen}"),
            Some(says) => {
                let problem = problem.unwrap_or_default();
                assert!(
                    problem.starts_with(&format!("{listen:?} is not an IP address and port: "))
                        && problem.contains(says),
                    "{listen}: {problem}"
                );
            }
        }
    }
}

/// Every path the configuration names, set relative, is taken from the file's folder, or
/// from the working directory when the environment set it; an absolute one and an empty
/// one (for the checks to refuse) are left as written.
#[test]
fn relative_paths_are_taken_from_the_configuration_files_folder() {
    let mut config = Config::default();
    let rel = |name: &str| PathBuf::from(format!("rel/{name}"));
    config.storage.state_dir = rel("state");
    config.vault.key_file = rel("vault.key");
    config.server.tls_cert = Some(rel("tls.crt"));
    config.server.tls_key = Some(rel("tls.key"));
    config.server.client_ca = Some(PathBuf::from("/etc/ca/clients.pem"));
    config.core.rest = Some(RestCoreConfig {
        ca_file: Some(rel("core-ca.pem")),
        client_cert: Some(rel("core.crt")),
        client_key: Some(PathBuf::new()),
        ..Default::default()
    });
    config.notify.email = Some(EmailConfig {
        ca_file: Some(rel("smtp-ca.pem")),
        ..Default::default()
    });
    config.notify.sms = Some(SmsConfig {
        ca_file: Some(rel("sms-ca.pem")),
        client_cert: Some(rel("sms.crt")),
        client_key: Some(rel("sms.key")),
        ..Default::default()
    });
    config.notify.push = Some(PushConfig {
        ca_file: Some(rel("push-ca.pem")),
        client_cert: Some(rel("push.crt")),
        client_key: Some(rel("push.key")),
        ..Default::default()
    });
    config.enroll.inbox = Some(rel("in"));
    config.enroll.outbox = Some(rel("out"));
    config.enroll.processed = Some(rel("done"));
    config.enroll.failed = Some(rel("failed"));

    let from_env = [
        "notify.push.client_key".to_string(),
        "server.listen".to_string(),
    ];
    config.anchor_paths(
        Path::new("/etc/callvault"),
        &from_env,
        Path::new("/home/it"),
    );

    let at = |name: &str| PathBuf::from(format!("/etc/callvault/rel/{name}"));
    assert_eq!(config.storage.state_dir, at("state"));
    assert_eq!(
        config.db_path(),
        at("state").join(crate::store::DB_FILE_NAME)
    );
    assert_eq!(config.vault.key_file, at("vault.key"));
    assert_eq!(config.server.tls_cert, Some(at("tls.crt")));
    assert_eq!(config.server.tls_key, Some(at("tls.key")));
    assert_eq!(config.server.client_ca, Some("/etc/ca/clients.pem".into()));
    let rest = config.core.rest.as_ref().unwrap();
    assert_eq!(rest.ca_file, Some(at("core-ca.pem")));
    assert_eq!(rest.client_cert, Some(at("core.crt")));
    assert_eq!(rest.client_key, Some(PathBuf::new()));
    assert_eq!(
        config.notify.email.as_ref().unwrap().ca_file,
        Some(at("smtp-ca.pem"))
    );
    let sms = config.notify.sms.as_ref().unwrap();
    assert_eq!(
        [&sms.ca_file, &sms.client_cert, &sms.client_key],
        [
            &Some(at("sms-ca.pem")),
            &Some(at("sms.crt")),
            &Some(at("sms.key"))
        ]
    );
    let push = config.notify.push.as_ref().unwrap();
    assert_eq!(
        [&push.ca_file, &push.client_cert, &push.client_key],
        [
            &Some(at("push-ca.pem")),
            &Some(at("push.crt")),
            &Some("/home/it/rel/push.key".into())
        ]
    );
    assert_eq!(
        config.enroll_dirs(),
        EnrollDirs {
            inbox: at("in"),
            outbox: at("out"),
            processed: at("done"),
            failed: at("failed"),
        }
    );
}

/// `load` anchors the file's relative paths at the file's folder, whichever folder the
/// command runs in, and the environment's at the working directory; the enrollment folders
/// left out follow the state directory.
#[test]
fn a_loaded_files_relative_paths_are_its_folders() {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    let path = etc.join("callvault.toml");
    std::fs::write(
        &path,
        "[storage]\nstate_dir = \"state\"\n[vault]\nkey_file = \"../keys/vault.key\"\n\
         [server]\ntls_cert = \"/srv/tls.crt\"\ntls_key = \"/srv/tls.key\"\n",
    )
    .unwrap();
    let env = vec![(
        "CALLVAULT__ENROLL__INBOX".to_string(),
        "drop/here".to_string(),
    )];
    let config = load_with_env(&path, env).unwrap();
    assert_eq!(config.storage.state_dir, etc.join("state"));
    assert_eq!(config.vault.key_file, etc.join("../keys/vault.key"));
    assert_eq!(config.server.tls_cert, Some("/srv/tls.crt".into()));
    let here = std::env::current_dir().unwrap();
    assert_eq!(config.enroll_dirs().inbox, here.join("drop/here"));
    assert_eq!(config.enroll_dirs().outbox, etc.join("state/outbox"));
    assert_eq!(config.admin_socket_path(), etc.join("state/admin.sock"));
    // what `config show` prints is where the service looks
    let shown = config.to_masked_toml();
    let state = format!("state_dir = \"{}\"", etc.join("state").display());
    assert!(shown.contains(&state), "{shown}");
}

/// `server.listen` on port 0 is a caution: the port changes at every start.
#[test]
fn a_listen_address_on_port_0_is_a_caution() {
    let utc = crate::civil::Zone::utc();
    for (listen, cautioned) in [
        ("127.0.0.1:0", true),
        ("[::1]:0", true),
        ("127.0.0.1:8443", false),
        ("0.0.0.0:10", false),
    ] {
        let text = format!("[server]\nlisten = \"{listen}\"\n[enroll]\nkeep_days = 90\n");
        let cautions = parse(&text, no_env()).unwrap().cautions_on(&utc);
        let paths: Vec<&str> = cautions.iter().map(|c| c.path.as_str()).collect();
        let want: &[&str] = if cautioned { &["server.listen"] } else { &[] };
        assert_eq!(paths, want, "{listen}");
    }
}

/// A configuration saved as UTF-16 (Notepad's "Unicode") or in a Windows code page is named
/// so, with the line, instead of "stream did not contain valid UTF-8"; UTF-8 with a
/// byte-order mark and CRLF line ends, as Notepad saves UTF-8, is read.
#[test]
fn a_config_file_not_in_utf_8_says_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callvault.toml");
    let text = "[server]\r\nworkers = 3\r\n# caf\u{e9}\r\n";
    let utf16 = |big: bool| -> Vec<u8> {
        let mark: &[u8] = if big { b"\xFE\xFF" } else { b"\xFF\xFE" };
        let units = text.encode_utf16().flat_map(|u| match big {
            true => u.to_be_bytes(),
            false => u.to_le_bytes(),
        });
        mark.iter().copied().chain(units).collect()
    };
    let latin1: Vec<u8> = text.chars().map(|c| c as u8).collect();
    let in_utf16 = "the file is UTF-16 text (as Notepad's \"Unicode\" saves it); callvault reads \
                    UTF-8: save it as UTF-8";
    for (bytes, says) in [
        (utf16(false), in_utf16),
        (utf16(true), in_utf16),
        (
            latin1,
            "line 3 is not UTF-8 text; callvault reads UTF-8: save the file as UTF-8",
        ),
    ] {
        std::fs::write(&path, bytes).unwrap();
        let err = load(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot read config file {}: {says}", path.display())
        );
    }
    std::fs::write(&path, format!("\u{feff}{text}")).unwrap();
    assert_eq!(load(&path).unwrap().server.workers, 3);
}

mod properties;
