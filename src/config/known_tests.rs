use super::*;
use crate::config::{Config, parse};

fn issues(text: &str, env: &[(&str, &str)]) -> Vec<String> {
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    match parse(text, env) {
        Ok(_) => Vec::new(),
        Err(e) => e.issues().iter().map(ToString::to_string).collect(),
    }
}

/// The leaf and table paths of a configuration as it serializes, shaped as `every_key.toml`.
fn serialized_keys(config: &Config) -> Vec<String> {
    let table = toml::Table::try_from(config).unwrap();
    let mut keys = Vec::new();
    walk(&table, "", &mut keys);
    keys
}

#[test]
fn every_key_file_is_a_configuration_whose_every_key_is_read() {
    // an unknown key there would be an issue, so would a value its key does not take
    let config = parse(include_str!("every_key.toml"), Vec::new()).unwrap();
    // and it has every key the configuration writes out: a key added to a section, or a
    // section added, and not to the file, is found here
    let known = known_keys();
    for key in serialized_keys(&config) {
        assert!(known.contains(&key), "{key} is not in every_key.toml");
    }
    // the keys that are there when set are set there
    for key in [
        "server.tls_cert",
        "server.client_ca",
        "server.clients[0].role",
        "core.rest.fields.ssn_last4",
        "core.rest.auth_value",
        "notify.email.password",
        "notify.sms.ca_file",
        "notify.push.url",
        "enroll.failed",
        "routing[0].dnis",
        "profiles.members.checklist.app_intent.min_correct",
    ] {
        assert!(known.iter().any(|k| k == key), "{key}");
    }
    // a table is known as well as its keys
    assert!(known.iter().any(|k| k == "core.rest"));
    assert!(
        !known
            .iter()
            .any(|k| k.starts_with("profiles.members.prompts."))
    );
}

#[test]
fn every_key_is_in_the_example_configuration() {
    let example = include_str!("../../config.example.toml");
    // `leaf = ` (commented out or not, aligned or not), or in a table's header
    let set = |leaf: &str| {
        example.match_indices(leaf).any(|(at, _)| {
            let before = example[..at].chars().next_back();
            let after = example[at + leaf.len()..].trim_start_matches(' ');
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && after.starts_with('=')
        })
    };
    for key in known_keys() {
        let (_, leaf) = split_leaf(key);
        let leaf = leaf.trim_end_matches("[0]");
        assert!(
            set(leaf)
                || [format!("{leaf}]"), format!("[{leaf}."), format!(".{leaf}.")]
                    .iter()
                    .any(|said| example.contains(said)),
            "{key} is not in config.example.toml"
        );
    }
}

#[test]
fn an_unknown_key_is_told_what_it_was_likely_meant_to_be() {
    for (text, want) in [
        // a slip of its own table's key, in any table
        (
            "[server]\nlisen = 1",
            "server.lisen: unknown key; did you mean server.listen?",
        ),
        ("[sever]\nx = 1", "sever: unknown key; did you mean server?"),
        (
            "[notify.emial]\nhost = \"h\"",
            "notify.emial: unknown key; did you mean notify.email?",
        ),
        (
            "[core.rest.fields]\nssn_last_4 = \"/x\"",
            "core.rest.fields.ssn_last_4: unknown key; did you mean core.rest.fields.ssn_last4?",
        ),
        // tables that refuse unknown keys themselves say the same, their own name and item kept
        (
            "[profiles.gold]\nidentifyby_ani = true",
            "profiles.gold.identifyby_ani: unknown key; did you mean \
             profiles.gold.identify_by_ani?",
        ),
        (
            "[profiles.gold.ivr.known_numbr]\nmethods = [\"pin\"]",
            "profiles.gold.ivr.known_numbr: unknown key; did you mean \
             profiles.gold.ivr.known_number?",
        ),
        (
            "[[routing]]\ndnis = \"+18005550100\"\nprofile = \"p\"\n\
             [[routing]]\ndnis = \"+18005550101\"\nprofile = \"p\"\ndnid = \"x\"\n\
             [profiles.p]\ndefault = true",
            "routing[1].dnid: unknown key; did you mean routing[1].dnis?",
        ),
        // a key of another table, by its name or a slip of it
        (
            "state_dir = \"/x\"",
            "state_dir: unknown key; did you mean storage.state_dir?",
        ),
        (
            "[server]\nstatedir = \"/x\"",
            "server.statedir: unknown key; did you mean storage.state_dir?",
        ),
        (
            "[core]\nfields = 1",
            "core.fields: unknown key; did you mean core.rest.fields?",
        ),
        (
            "[profiles.gold]\nmin_correct = 2",
            "profiles.gold.min_correct: unknown key; did you mean one of \
             profiles.gold.activation.min_correct, \
             profiles.gold.checklist.app_intent.min_correct, \
             profiles.gold.checklist.known_number.min_correct, \
             profiles.gold.checklist.unknown_number.min_correct, \
             profiles.gold.ivr.app_intent.min_correct, profiles.gold.ivr.known_number.min_correct, \
             profiles.gold.ivr.unknown_number.min_correct?",
        ),
        (
            "identify_by_ani = true",
            "identify_by_ani: unknown key; did you mean profiles.NAME.identify_by_ani?",
        ),
        (
            "role = \"ivr\"",
            "role: unknown key; did you mean server.clients[].role?",
        ),
        // a table named for what its keys begin with in another table
        (
            "[tls]\ncert = \"/x\"\nkey = \"/y\"",
            "tls: unknown key; did you mean one of server.tls_cert, server.tls_key?",
        ),
        (
            "[server.tls]\ncert = \"/x\"",
            "server.tls: unknown key; did you mean one of server.tls_cert, server.tls_key?",
        ),
        // nothing near: the table's keys
        (
            "[lockout]\nbogus = 1",
            "lockout.bogus: unknown key (the keys here: lock_minutes, max_wrong_answers, \
             max_wrong_pins, reset_minutes)",
        ),
    ] {
        let got = issues(text, &[]);
        assert!(
            got.iter().any(|i| i == want),
            "{text}\n  want {want}\n  got {got:?}"
        );
    }
}

#[test]
fn an_unknown_environment_variable_is_told_the_variable_to_set() {
    for (name, want) in [
        (
            "CALLVAULT__SERVER__LISEN",
            "server.lisen: unknown key (set by environment variable CALLVAULT__SERVER__LISEN); \
             did you mean CALLVAULT__SERVER__LISTEN?",
        ),
        (
            "CALLVAULT__STATE_DIR",
            "state_dir: unknown key (set by environment variable CALLVAULT__STATE_DIR); \
             did you mean CALLVAULT__STORAGE__STATE_DIR?",
        ),
        // a list item's key is no variable to set
        (
            "CALLVAULT__ROLE",
            "role: unknown key (set by environment variable CALLVAULT__ROLE) (the keys here: \
             audit, calls, core, enroll, lockout, log, notify, otp, pin_change, pin_policy, \
             profiles, routing, server, storage, vault)",
        ),
        (
            "CALLVAULT__PROFILES__MEMBERS__IDENTIFYBY_ANI",
            "profiles.members.identifyby_ani: unknown key (set by environment variable \
             CALLVAULT__PROFILES__MEMBERS__IDENTIFYBY_ANI); did you mean \
             CALLVAULT__PROFILES__MEMBERS__IDENTIFY_BY_ANI?",
        ),
    ] {
        let got = issues("[profiles.members]\ndefault = true", &[(name, "true")]);
        assert!(
            got.iter().any(|i| i == want),
            "{name}\n  want {want}\n  got {got:?}"
        );
    }
}

#[test]
fn paths_are_shaped_as_the_file_of_every_key() {
    for (path, want) in [
        ("server.listen", "server.listen"),
        ("profiles.gold.ivr.x", "profiles.members.ivr.x"),
        ("profiles.gold", "profiles.members"),
        ("profiles", "profiles"),
        ("routing[7].dnis", "routing[0].dnis"),
        ("server.clients[12].role", "server.clients[0].role"),
    ] {
        assert_eq!(shape(path), want);
    }
}

/// Every string in `t` (a leaf, or a list's first item), each as a way to reach it.
fn string_places(t: &toml::Value, at: Vec<toml::Value>, out: &mut Vec<Vec<toml::Value>>) {
    let step = |mut at: Vec<toml::Value>, s: toml::Value| {
        at.push(s);
        at
    };
    match t {
        toml::Value::String(_) => out.push(at),
        toml::Value::Table(table) => {
            for (k, v) in table {
                string_places(v, step(at.clone(), toml::Value::String(k.clone())), out);
            }
        }
        toml::Value::Array(items) => {
            if let Some(first) = items.first() {
                string_places(first, step(at, toml::Value::Integer(0)), out);
            }
        }
        _ => {}
    }
}

/// A key that takes one of a fixed set of words says which, when given another: each
/// string of `every_key.toml` is set to a word no key takes, in turn.
#[test]
fn a_word_that_is_not_a_choice_is_told_the_choices() {
    let every: toml::Value = toml::Value::Table(include_str!("every_key.toml").parse().unwrap());
    let mut places = Vec::new();
    string_places(&every, Vec::new(), &mut places);
    assert!(places.len() > 50, "{} strings", places.len());
    let mut choices_said = 0;
    for place in places {
        let mut changed = every.clone();
        let mut at = &mut changed;
        for step in &place {
            at = match step {
                toml::Value::String(k) => at.get_mut(k.as_str()).unwrap(),
                _ => at.get_mut(0).unwrap(),
            };
        }
        *at = toml::Value::String("nope".into());
        for issue in issues(&toml::to_string(&changed).unwrap(), &[]) {
            if issue.contains("is not one of the choices") {
                assert!(issue.contains("(allowed: "), "{issue}");
                choices_said += 1;
            }
        }
    }
    // the enums' keys are among them
    assert!(choices_said >= 15, "{choices_said}");
}

/// A key under one that holds a value (reached only past the type check, as a hint is asked
/// for directly): nothing near and no keys to list, so nothing is said, not an empty list.
#[test]
fn a_key_under_a_value_gets_no_hint_rather_than_an_empty_list() {
    for (path, hint) in [
        ("lockout.max_wrong_pins.qqqqqq", ""),
        (
            "lockout.qqqqqq",
            " (the keys here: lock_minutes, max_wrong_answers, max_wrong_pins, reset_minutes)",
        ),
    ] {
        assert_eq!(unknown_key_hint(path, false), hint, "{path}");
    }
}
