//! The keys the configuration has (`every_key.toml`), and what an unknown key was likely
//! meant to be: a slip of its own table's key (`server.lisen`: `server.listen`), or a key
//! of another table (`state_dir` at the top: `storage.state_dir`).

use std::sync::LazyLock;

use super::{ENV_PREFIX, ENV_SEPARATOR};
use crate::spelling::nearest;

/// The profile name and list index `every_key.toml` uses; a reported path is read with
/// these in place of its own.
const SHAPE_PROFILE: &str = "members";

/// Every key path of `every_key.toml`, each table's own too (`server`, `core.rest`), the
/// first item of a list of tables as `routing[0]`. Each table's keys in name order.
pub(super) fn known_keys() -> &'static [String] {
    static KEYS: LazyLock<Vec<String>> = LazyLock::new(|| {
        // it is TOML (a unit test reads it); were it not, hints would go, not the check
        let table: toml::Table = include_str!("every_key.toml").parse().unwrap_or_default();
        let mut keys = Vec::new();
        walk(&table, "", &mut keys);
        keys
    });
    &KEYS
}

fn walk(table: &toml::Table, prefix: &str, keys: &mut Vec<String>) {
    for (key, value) in table {
        let path = match prefix {
            "" => key.clone(),
            _ => format!("{prefix}.{key}"),
        };
        keys.push(path.clone());
        match value {
            toml::Value::Table(inner) => walk(inner, &path, keys),
            toml::Value::Array(items) => {
                if let Some(toml::Value::Table(first)) = items.first() {
                    walk(first, &format!("{path}[0]"), keys);
                }
            }
            _ => {}
        }
    }
}

/// `path` as `every_key.toml` spells it: any profile as `members`, any list item as `[0]`.
fn shape(path: &str) -> String {
    let mut segments: Vec<String> = path.split('.').map(first_item).collect();
    if segments.len() > 1 && segments[0] == "profiles" {
        segments[1] = SHAPE_PROFILE.to_string();
    }
    segments.join(".")
}

/// `routing[3]` -> `routing[0]`.
fn first_item(segment: &str) -> String {
    match segment.split_once('[') {
        Some((key, _)) => format!("{key}[0]"),
        None => segment.to_string(),
    }
}

/// `a.b.c` -> (`a.b`, `c`); `a` -> (``, `a`).
fn split_leaf(path: &str) -> (&str, &str) {
    path.rsplit_once('.').unwrap_or(("", path))
}

/// What follows "unknown key" for the key at `path` (as reported: `profiles.gold.ivr.x`):
/// the key it was likely meant to be (`; did you mean server.listen?`), else the keys its
/// table has. `from_env`: the key came from an environment variable, and the hint names
/// the variable to set instead.
pub(super) fn unknown_key_hint(path: &str, from_env: bool) -> String {
    let keys = known_keys();
    let shaped = shape(path);
    let (parent, leaf) = split_leaf(&shaped);
    let (real_parent, _) = split_leaf(path);
    let siblings: Vec<&str> = keys
        .iter()
        .map(|key| split_leaf(key))
        .filter(|(p, _)| *p == parent)
        .map(|(_, l)| l)
        .collect();
    let say = |real: &str| match from_env {
        true => format!(
            "{ENV_PREFIX}{ENV_SEPARATOR}{}",
            real.to_uppercase().replace('.', ENV_SEPARATOR)
        ),
        false => real.to_string(),
    };
    if let Some(near) = nearest(leaf, siblings.iter().copied()) {
        let real = match real_parent {
            "" => near.to_string(),
            _ => format!("{real_parent}.{near}"),
        };
        return format!("; did you mean {}?", say(&real));
    }
    // a key of another table: the same name, or the nearest name any table has
    let names: Vec<&str> = keys.iter().map(|key| split_leaf(key).1).collect();
    let meant = match names.contains(&leaf) {
        true => Some(leaf),
        false => nearest(leaf, names.iter().copied()),
    };
    let profile = match path.split('.').collect::<Vec<_>>()[..] {
        ["profiles", name, _, ..] => name,
        _ => "NAME",
    };
    let shown = |key: &str| {
        let real = match key.strip_prefix("profiles.members.") {
            Some(rest) => format!("profiles.{profile}.{rest}"),
            None => key.replace("[0]", "[]"),
        };
        say(&real)
    };
    let elsewhere: Vec<String> = keys
        .iter()
        .filter(|key| {
            let (p, l) = split_leaf(key);
            // a list's items are not set one by one from the environment
            Some(l) == meant && p != parent && !(from_env && key.contains('['))
        })
        .map(|key| shown(key))
        .collect();
    // a table named for what keys begin with (`[tls]` for server.tls_cert)
    let prefixed: Vec<String> = match elsewhere.is_empty() {
        true => keys
            .iter()
            .filter(|key| {
                let (_, l) = split_leaf(key);
                l.strip_prefix(leaf)
                    .is_some_and(|rest| rest.starts_with('_'))
                    && !(from_env && key.contains('['))
            })
            .map(|key| shown(key))
            .collect(),
        false => Vec::new(),
    };
    let elsewhere = match prefixed.len() {
        1..=6 => prefixed,
        _ => elsewhere,
    };
    match elsewhere.as_slice() {
        [] if siblings.is_empty() => String::new(),
        [] => format!(" (the keys here: {})", siblings.join(", ")),
        [one] => format!("; did you mean {one}?"),
        many => format!("; did you mean one of {}?", many.join(", ")),
    }
}

/// The override a `CALLVAULT...` variable that is none was likely meant to be: one
/// underscore too few (`CALLVAULT_SERVER__LISTEN`), lower case, or a slip of a key.
pub(super) fn meant_variable(name: &str) -> Option<String> {
    let keys = known_keys();
    // the part after the prefix, against each key a variable can set (a value, not a table
    // or a list's item), as the part after the prefix spells it
    let upper = name.to_uppercase();
    let wanted = upper.strip_prefix(ENV_PREFIX)?.trim_start_matches('_');
    let parts: Vec<String> = keys
        .iter()
        .filter(|key| !key.contains('['))
        .filter(|key| !keys.iter().any(|k| k.starts_with(&format!("{key}."))))
        .map(|key| key.to_uppercase().replace('.', ENV_SEPARATOR))
        .collect();
    let meant = match parts.iter().find(|p| *p == wanted) {
        Some(same) => Some(same.as_str()),
        None => nearest(wanted, parts.iter().map(String::as_str)),
    };
    meant.map(|parts| format!("{ENV_PREFIX}{ENV_SEPARATOR}{parts}"))
}

#[cfg(test)]
#[path = "known_tests.rs"]
mod tests;
