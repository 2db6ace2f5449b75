//! Reading `callvault.toml`: the file, then `CALLVAULT__SECTION__KEY` environment
//! overrides, through the `config` crate; unknown keys, values of the wrong type and
//! numbers out of range told with their key path and what was likely meant.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{Config, ConfigIssue, ENV_PREFIX, ENV_SEPARATOR, known};
use crate::enroll::progress::counted;

/// Where the packages install the example configuration (besides
/// `/etc/callvault/callvault.toml` itself).
pub const EXAMPLE_INSTALLED: &str = "/usr/share/doc/callvault/examples/callvault.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "config file {path} not found: start from the example, {EXAMPLE_INSTALLED} as \
         installed by the packages, or config.example.toml in the source"
    )]
    NotFound { path: PathBuf },
    #[error("cannot read config file {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{} in the configuration:\n{}", counted(.0.len() as u64, "problems"), join_issues(.0))]
    Invalid(Vec<ConfigIssue>),
}

fn join_issues(issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(|i| format!("  {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ConfigError {
    /// The individual problems, for callers that print or count them.
    pub fn issues(&self) -> Vec<ConfigIssue> {
        match self {
            ConfigError::Invalid(issues) => issues.clone(),
            other => vec![ConfigIssue::new("(file)", other.to_string())],
        }
    }
}

/// Load, check for unknown keys, and validate (relative paths made absolute:
/// [`Config::anchor_paths`]). Any problem is an error listing all of them.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_with_env(path, env_overrides(std::env::vars_os())?)
}

/// The `CALLVAULT__SECTION__KEY` overrides among `vars`, the others left out. Any variable
/// may hold bytes that are not UTF-8 (`std::env::vars` would panic on one, and print it);
/// an override's value must be UTF-8 as the file is, and one that is not is an error that
/// names the variable and its key, never its value.
pub fn env_overrides(
    vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Result<Vec<(String, String)>, ConfigError> {
    let prefix = format!("{ENV_PREFIX}{ENV_SEPARATOR}");
    let mut overrides = Vec::new();
    let mut issues = Vec::new();
    for (name, value) in vars {
        let Some(name) = name.to_str().filter(|n| n.starts_with(&prefix)) else {
            continue;
        };
        match value.into_string() {
            Ok(value) => overrides.push((name.to_string(), value)),
            Err(_) => issues.push(ConfigIssue::new(
                env_key_path(name).unwrap_or_default(),
                format!("environment variable {name} is not UTF-8"),
            )),
        }
    }
    match issues.is_empty() {
        true => Ok(overrides),
        false => Err(ConfigError::Invalid(issues)),
    }
}

/// As [`load`], with the environment passed in (tests use their own).
pub fn load_with_env(
    path: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    if !path.exists() {
        return Err(ConfigError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let read = |message: String| ConfigError::Read {
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| read(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        read(match crate::enroll::lines::opens_as_utf16(e.as_bytes()) {
            true => "the file is UTF-16 text (as Notepad's \"Unicode\" saves it); callvault \
                     reads UTF-8: save it as UTF-8"
                .into(),
            false => {
                let before = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let line = before.iter().filter(|b| **b == b'\n').count() + 1;
                format!(
                    "line {line} is not UTF-8 text; callvault reads UTF-8: save the file as \
                     UTF-8"
                )
            }
        })
    })?;
    let env: Vec<(String, String)> = env.into_iter().collect();
    let from_env: Vec<String> = env
        .iter()
        .filter_map(|(var, _)| env_key_path(var))
        .collect();
    let mut config = parse(&text, env)?;
    // a working directory that was removed is none: what would be taken from it stays as
    // written (relative), as before
    let working_dir = std::env::current_dir().unwrap_or_default();
    let file = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let file_folder = file.parent().unwrap_or(Path::new(""));
    config.anchor_paths(file_folder, &from_env, &working_dir);
    config.file = Some(file.clone());
    let issues = config.enroll_folders_apart_on_disk();
    match issues.is_empty() {
        true => Ok(config),
        false => Err(ConfigError::Invalid(issues)),
    }
}

/// The keys holding secrets (passwords, gateways' auth values), as they are written in the file.
pub const SECRET_KEYS: &[&str] = &[
    "core.rest.auth_value",
    "notify.email.password",
    "notify.sms.auth_value",
    "notify.push.auth_value",
];

/// Environment variables other than these that start with `CALLVAULT` are not read.
/// `CALLVAULT_CONFIG` is the configuration file's path (`--config`); the repository's
/// scripts and tests pass the binary they run in `CALLVAULT_BIN`.
const ENV_NAMES_READ_ELSEWHERE: [&str; 2] = ["CALLVAULT_CONFIG", "CALLVAULT_BIN"];

/// Warnings for environment variables that look meant for callvault but are not read: a
/// name starting with `CALLVAULT` in any case that is neither an override
/// (`CALLVAULT__SECTION__KEY`, two underscores after `CALLVAULT`, upper case) nor one of
/// [`ENV_NAMES_READ_ELSEWHERE`]. `CALLVAULT_LOCKOUT__MAX_WRONG_PINS=3` would otherwise be
/// ignored without a word. Only names are given: a value may be a secret.
pub fn unread_env_vars(names: impl IntoIterator<Item = std::ffi::OsString>) -> Vec<String> {
    let override_prefix = format!("{ENV_PREFIX}{ENV_SEPARATOR}");
    let mut unread: Vec<String> = names
        .into_iter()
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.to_ascii_uppercase().starts_with(ENV_PREFIX))
        .filter(|name| !name.starts_with(&override_prefix))
        .filter(|name| !ENV_NAMES_READ_ELSEWHERE.contains(&name.as_str()))
        .map(|name| {
            let meant = known::meant_variable(&name)
                .map(|meant| format!(" (did you mean {meant}?)"))
                .unwrap_or_default();
            format!(
                "environment variable {name} is not read{meant}: an override is \
                 {override_prefix}SECTION__KEY in upper case, with two underscores after \
                 {ENV_PREFIX} and between the parts (e.g. {override_prefix}SERVER__LISTEN)"
            )
        })
        .collect();
    unread.sort();
    unread
}

/// Why the configuration file is too open, if every local user can read it and it holds
/// secrets ([`SECRET_KEYS`] set in the file itself; secrets from the environment are not its
/// concern). A warning, not an error: the file works, but its secrets are exposed.
pub fn exposure(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    if mode & 0o004 == 0 {
        return None;
    }
    let table: toml::Table = std::fs::read_to_string(path).ok()?.parse().ok()?;
    let set: Vec<&str> = SECRET_KEYS
        .iter()
        .copied()
        .filter(|key| {
            let mut at = Some(&table);
            let parts: Vec<&str> = key.split('.').collect();
            for part in &parts[..parts.len() - 1] {
                at = at.and_then(|t| t.get(*part)).and_then(|v| v.as_table());
            }
            at.and_then(|t| t.get(parts[parts.len() - 1])).is_some()
        })
        .collect();
    (!set.is_empty()).then(|| {
        format!(
            "{} has mode {mode:04o} and holds secrets ({}): every local user can read them; \
             chmod 0640 it (group callvault) or 0600",
            path.display(),
            set.join(", ")
        )
    })
}

/// Parse TOML text plus environment overrides into a validated [`Config`].
pub fn parse(
    toml_text: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    let env: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}{ENV_SEPARATOR}")))
        .collect();
    // A type error stops serde's reading, and the config crate reads a table's keys in no
    // fixed order: what it had not reached (unknown keys, other wrong values) would go
    // unreported. So each wrong value is set aside and the rest read again, until a reading
    // finds no more, and every problem is reported at once.
    // toml's own error says where (the config crate's lost the place of a number too large)
    let table = toml_text.parse::<toml::Table>().map_err(|e| {
        ConfigError::Invalid(vec![ConfigIssue::new("(file)", not_toml(toml_text, &e))])
    })?;
    let mut reading = Reading {
        table,
        env: env.clone(),
        set_aside: Vec::new(),
        items_out: HashMap::new(),
    };
    let mut unknown: Vec<String> = Vec::new();
    let mut type_issues: Vec<ConfigIssue> = Vec::new();
    let mut stopped = false;
    let parsed = loop {
        let (parsed, found) = read_once(&reading.text(toml_text), &reading.env)?;
        for path in found {
            if !unknown.contains(&path) {
                unknown.push(path);
            }
        }
        let e = match parsed {
            Ok(config) => break Some(config),
            Err(e) => e,
        };
        let path = reading.path_in_file(&e.path().to_string());
        let mut message = describe_type_error(e.inner());
        let key = path.split('[').next().unwrap_or_default();
        message = message.replace("[[KEY]]", &format!("[[{key}]]"));
        // a table that refuses unknown keys (a profile, a route) says so in serde's words
        let unknown_field = message.starts_with("unknown field `");
        if unknown_field {
            message = unknown_key(&env, key, &path);
        }
        if let Some(key) = message
            .strip_prefix("missing configuration field \"")
            .and_then(|rest| rest.strip_suffix('"'))
        {
            message = format!(
                "missing configuration field {:?}",
                reading.path_in_file(key)
            );
        }
        // a required key set aside by an earlier reading: its table goes too, unreported
        let quiet = reading.missed_after_set_aside(&path, &message) && reading.set_aside(&path);
        if !quiet && !unknown_field {
            if let Some(allowed) = allowed_values(&path) {
                let meant = not_a_choice(e.inner()).and_then(|word| {
                    crate::spelling::nearest_or_completion(word, allowed.iter().copied())
                });
                if let Some(meant) = meant {
                    message.push_str(&format!("; did you mean {meant:?}?"));
                }
                let quoted: Vec<String> = allowed.iter().map(|name| format!("{name:?}")).collect();
                message.push_str(&format!(" (allowed: {})", quoted.join(", ")));
            }
            if !message.contains("(set in the environment)") {
                message.push_str(&set_by(&env, key));
            }
        }
        if !quiet {
            type_issues.push(ConfigIssue::new(path.clone(), message));
            if !reading.set_aside(&path) {
                break None;
            }
        }
        if reading.set_aside.len() >= MAX_READINGS {
            stopped = true;
            break None;
        }
    };

    // by key path, not in the reading's order, which changes from run to run
    unknown.sort_by(|a, b| in_file_order(a, b));
    type_issues.sort_by(|a, b| in_file_order(&a.path, &b.path));
    let mut issues: Vec<ConfigIssue> = unknown
        .iter()
        .map(|path| ConfigIssue::new(path.clone(), unknown_key(&env, path, path)))
        .collect();
    issues.extend(decimal_points(toml_text));
    issues.extend(env.iter().filter_map(|(name, value)| {
        let path = env_key_path(name)?;
        let decimal = value.contains(['.', 'e', 'E'])
            && value.parse::<f64>().is_ok_and(f64::is_finite)
            && !SECRET_KEYS.contains(&path.as_str());
        decimal.then(|| {
            ConfigIssue::new(
                path,
                format!(
                    "a number with a decimal point (set by environment variable {name}), which \
                     no key takes: write a whole number"
                ),
            )
        })
    }));
    issues.extend(type_issues);
    if stopped {
        issues.push(ConfigIssue::new(
            "(file)",
            format!(
                "the check stopped after {MAX_READINGS} wrong values: there may be more; \
                 fix these and check again"
            ),
        ));
    }
    match parsed {
        // With values set aside, the defaults in their place could be blamed for what the
        // file does not say (`min_length` set aside, the default 4 against `max_length =
        // 3`): the checks of values report then only on the sections that had none set
        // aside, so that a wrong type does not hide a route to a missing profile.
        Some(config) if !reading.set_aside.is_empty() => {
            let aside = &reading.set_aside;
            let touched = |i: &ConfigIssue| {
                aside
                    .iter()
                    .any(|a| section(a) == section(&i.path) || i.message.contains(a.as_str()))
            };
            let slips = kind_slips(&reading.table, &config);
            issues.extend(
                config
                    .validate()
                    .into_iter()
                    .filter(|i| !touched(i))
                    .filter(|i| !slips.refused.iter().any(|s| s.path == i.path))
                    .map(|mut i| {
                        i.message.push_str(&set_by(&env, &i.path));
                        i
                    }),
            );
            issues.extend(slips.refused.into_iter().filter(|i| !touched(i)));
            Err(ConfigError::Invalid(issues))
        }
        Some(config) => {
            let slips = kind_slips(&reading.table, &config);
            // a refused value's conversion (`true` read as 1) is not checked against its range;
            // a value an override set says so, or the file would be searched for it
            issues.extend(
                config
                    .validate()
                    .into_iter()
                    .filter(|i| !slips.refused.iter().any(|s| s.path == i.path))
                    .map(|mut i| {
                        i.message.push_str(&set_by(&env, &i.path));
                        i
                    }),
            );
            issues.extend(slips.refused);
            let mut config = config;
            config.file_slips = slips.warned;
            match issues.is_empty() {
                true => Ok(config),
                false => Err(ConfigError::Invalid(issues)),
            }
        }
        _ => Err(ConfigError::Invalid(issues)),
    }
}

/// A key path's first part: its top-level table (`routing` of `routing[2].dnis`).
fn section(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or_default()
}

/// Key paths in order, the items of a list by their place (`routing[2]` before
/// `routing[10]`), rather than as text.
pub(super) fn in_file_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn parts(path: &str) -> impl Iterator<Item = (&str, Option<u64>)> {
        path.split_inclusive(['[', ']']).map(|part| {
            let index = part.strip_suffix(']').and_then(|n| n.parse().ok());
            (part, index)
        })
    }
    parts(a)
        .zip(parts(b))
        .map(|((pa, ia), (pb, ib))| match (ia, ib) {
            (Some(ia), Some(ib)) => ia.cmp(&ib),
            _ => pa.cmp(pb),
        })
        .find(|o| o.is_ne())
        .unwrap_or_else(|| a.len().cmp(&b.len()))
}

/// How many wrong values one check reports before it stops reading.
pub(super) const MAX_READINGS: usize = 64;

/// What one reading made of the file: the configuration, or the first wrong value's error
/// with its key path.
type Typed = Result<Config, serde_path_to_error::Error<config::ConfigError>>;

/// One reading of the file and the overrides: the typed configuration or the first type
/// error, and the unknown keys met on the way.
fn read_once(
    toml_text: &str,
    env: &[(String, String)],
) -> Result<(Typed, Vec<String>), ConfigError> {
    let source = config::Config::builder()
        .add_source(config::File::from_str(toml_text, config::FileFormat::Toml))
        .add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator(ENV_SEPARATOR)
                .separator(ENV_SEPARATOR)
                .try_parsing(true)
                .source(Some(env.iter().cloned().collect())),
        )
        .build()
        .map_err(|e| ConfigError::Invalid(vec![ConfigIssue::new("(file)", e.to_string())]))?;
    let mut unknown = Vec::new();
    // serde_ignored writes an Option's value as a `?` step: `core.rest.?.fields.x`
    let mut note_unknown =
        |path: serde_ignored::Path| unknown.push(path.to_string().replace(".?.", "."));
    let ignored = serde_ignored::Deserializer::new(source, &mut note_unknown);
    let parsed = serde_path_to_error::deserialize(ignored);
    Ok((parsed, unknown))
}

/// The file and the overrides as the next reading sees them, less the values set aside.
struct Reading {
    /// The file's table.
    table: toml::Table,
    env: Vec<(String, String)>,
    /// The key paths set aside, in order (a list's item as `a.b[2]`).
    set_aside: Vec<String>,
    /// The items taken out of the file's lists, by the list's key: their indices in the file.
    items_out: HashMap<String, Vec<usize>>,
}

impl Reading {
    fn text(&self, original: &str) -> String {
        match self.set_aside.is_empty() {
            false => toml::to_string(&self.table).unwrap_or_default(),
            true => original.to_string(),
        }
    }

    /// `path` as this reading reports it (`a.b[1].c`), with its first list index counted
    /// in the file's list: items taken out before it shift the rest down.
    fn path_in_file(&self, path: &str) -> String {
        let Some((key, index, rest)) = split_index(path) else {
            return path.to_string();
        };
        let Some(out) = self.items_out.get(key) else {
            return path.to_string();
        };
        let in_file = (0..)
            .filter(|i| !out.contains(i))
            .nth(index)
            .unwrap_or(index);
        format!("{key}[{in_file}]{rest}")
    }

    /// Set aside the value at `path` (`a.b.c`; for `a.b[2]...`, the file's item 2 of the
    /// list `a.b`, or the whole list when an override gives it), from the overrides or the
    /// file. `path` counts list items as the file does ([`Reading::path_in_file`]). False
    /// when there is none to set aside.
    fn set_aside(&mut self, path: &str) -> bool {
        let key = path.split('[').next().unwrap_or_default();
        if key.is_empty() || key == "?" {
            return false;
        }
        let before = self.env.len();
        self.env
            .retain(|(name, _)| env_key_path(name).is_none_or(|p| p != key));
        if self.env.len() < before {
            self.set_aside.push(key.to_string());
            return true;
        }
        let table = &mut self.table;
        let removed = match split_index(path) {
            Some((key, in_file, _)) => {
                let out = self.items_out.entry(key.to_string()).or_default();
                let now_at = in_file - out.iter().filter(|i| **i < in_file).count();
                let removed = !out.contains(&in_file) && remove_item(table, key, now_at);
                if removed {
                    out.push(in_file);
                }
                removed
            }
            None => remove_key(table, key),
        };
        if removed {
            self.set_aside
                .push(path.split(']').next().unwrap_or(path).to_string());
        }
        removed
    }

    /// Whether `message` says a key this reading set aside is missing: the config crate's
    /// `missing configuration field "a.b.c"`, or serde's "missing field `c`" under `path`.
    fn missed_after_set_aside(&self, path: &str, message: &str) -> bool {
        let full = if let Some(rest) = message.strip_prefix("missing configuration field \"") {
            rest.split('"').next().unwrap_or_default().to_string()
        } else if let Some(rest) = message.strip_prefix("missing field `") {
            let field = rest.split('`').next().unwrap_or_default();
            match path {
                "" => field.to_string(),
                _ => format!("{path}.{field}"),
            }
        } else {
            return false;
        };
        self.set_aside.contains(&full)
    }
}

/// `a.b[2].c` as (`a.b`, 2, `.c`): the first list index in a key path.
fn split_index(path: &str) -> Option<(&str, usize, &str)> {
    let (key, after) = path.split_once('[')?;
    let (index, rest) = after.split_once(']')?;
    Some((key, index.parse().ok()?, rest))
}

/// Remove item `index` of the list at `a.b` from `table`: whether it was there.
fn remove_item(table: &mut toml::Table, key: &str, index: usize) -> bool {
    let (parent, last) = match key.rsplit_once('.') {
        Some((parent, last)) => (Some(parent), last),
        None => (None, key),
    };
    let mut at = table;
    for part in parent.into_iter().flat_map(|p| p.split('.')) {
        match at.get_mut(part).and_then(toml::Value::as_table_mut) {
            Some(inner) => at = inner,
            None => return false,
        }
    }
    match at.get_mut(last).and_then(toml::Value::as_array_mut) {
        Some(items) if index < items.len() => {
            items.remove(index);
            true
        }
        _ => false,
    }
}

/// Remove `a.b.c` from `table`: whether it was there.
fn remove_key(table: &mut toml::Table, key: &str) -> bool {
    let mut parts: Vec<&str> = key.split('.').collect();
    let Some(last) = parts.pop() else {
        return false;
    };
    let mut at = table;
    for part in parts {
        match at.get_mut(part).and_then(toml::Value::as_table_mut) {
            Some(inner) => at = inner,
            None => return false,
        }
    }
    at.remove(last).is_some()
}

/// Every value in the file written with a decimal point. No key takes one, and the config
/// crate would round it without a word (`workers = 1.5` became 2). The value is not quoted:
/// it could be a secret written unquoted. (An override from the environment is text, read
/// as a number when it looks like one; `parse` checks those too, secrets left out.)
fn decimal_points(toml_text: &str) -> Vec<ConfigIssue> {
    fn walk(path: &str, value: &toml::Value, issues: &mut Vec<ConfigIssue>) {
        match value {
            toml::Value::Float(_) => issues.push(ConfigIssue::new(
                path,
                "a number with a decimal point, which no key takes: write a whole number \
                 (or quote text)",
            )),
            toml::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(&format!("{path}[{i}]"), item, issues);
                }
            }
            toml::Value::Table(table) => {
                for (key, item) in table {
                    match path {
                        "" => walk(key, item, issues),
                        _ => walk(&format!("{path}.{key}"), item, issues),
                    }
                }
            }
            _ => {}
        }
    }
    let mut issues = Vec::new();
    if let Ok(table) = toml_text.parse::<toml::Table>() {
        walk("", &toml::Value::Table(table), &mut issues);
    }
    issues
}

/// Where and why the file is not TOML, without the file's line itself: toml's own message
/// quotes it, and the line could hold a secret written unquoted (`auth_value = s3cr3t`),
/// which would then reach the service's log.
fn not_toml(text: &str, e: &toml::de::Error) -> String {
    let mut why = e.message().trim().replace('\n', "; ");
    // toml names no key in its "duplicate key", and the span is the key: a key's name is no
    // secret (its value may be), so it is named, if it is one
    if why == "duplicate key" {
        let key = e.span().and_then(|span| text.get(span)).filter(|key| {
            (1..=64).contains(&key.len())
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-\"".contains(c))
        });
        if let Some(key) = key {
            why = format!(
                "duplicate key: {key} is written a second time here (a key, or a table's \
                 [header]); write each once, with a table's keys under its one header"
            );
        }
    }
    match e.span().and_then(|span| text.get(..span.start)) {
        Some(before) => {
            let line = before.matches('\n').count() + 1;
            let column = before
                .rsplit('\n')
                .next()
                .unwrap_or_default()
                .chars()
                .count()
                + 1;
            format!("TOML parse error at line {line}, column {column}: {why}")
        }
        None => format!("TOML parse error: {why}"),
    }
}

/// What the file writes as another kind than its key takes, which the config crate converts
/// without a word. `true` for a number (read as 1) means nothing a number could: refused.
/// Text for a number (`"128"`) or a boolean (`"yes"`, `"on"`), or a number for a boolean (1),
/// is read as the admin meant it, so only warned of: a file that worked before starts still.
/// The kind a key takes, and what the value was read as, come from the configuration those
/// values made (`config`, serialized). Secrets, which take any scalar as text, are left out.
#[derive(Debug, Default)]
struct Slips {
    refused: Vec<ConfigIssue>,
    warned: Vec<ConfigIssue>,
}

fn kind_slips(file: &toml::Table, config: &Config) -> Slips {
    use toml::Value as V;
    fn walk(path: &str, file: &V, typed: &V, slips: &mut Slips) {
        let (refused, said) = match (file, typed) {
            (V::Boolean(b), V::Integer(_)) => {
                (true, format!("{b} is not a number: write a whole number"))
            }
            // (text that is no number or boolean at all, the config crate refuses itself)
            (V::String(t), V::Integer(n)) => (
                false,
                format!("{t:?} is quoted: read as {n}; write the number without quotes"),
            ),
            (V::String(t), V::Boolean(b)) => (
                false,
                format!("{t:?} is read as {b}; write true or false, without quotes"),
            ),
            (V::Integer(n), V::Boolean(b)) => {
                (false, format!("{n} is read as {b}; write true or false"))
            }
            (V::Array(items), V::Array(typed)) => {
                for (i, (item, typed)) in items.iter().zip(typed).enumerate() {
                    walk(&format!("{path}[{i}]"), item, typed, slips);
                }
                return;
            }
            (V::Table(table), V::Table(typed)) => {
                for (key, item) in table {
                    let at = match path {
                        "" => key.clone(),
                        _ => format!("{path}.{key}"),
                    };
                    if let Some(typed) = typed.get(key)
                        && !SECRET_KEYS.contains(&at.as_str())
                    {
                        walk(&at, item, typed, slips);
                    }
                }
                return;
            }
            _ => return,
        };
        match refused {
            true => slips.refused.push(ConfigIssue::new(path, said)),
            false => slips.warned.push(ConfigIssue::new(path, said)),
        }
    }
    let mut slips = Slips::default();
    if let Ok(V::Table(typed)) = V::try_from(config) {
        walk("", &V::Table(file.clone()), &V::Table(typed), &mut slips);
    }
    slips
}

/// "unknown key", where it was set if not in the file, and what it was likely meant to be.
/// `key`: its path without list indices, as an environment variable names it.
fn unknown_key(env: &[(String, String)], key: &str, path: &str) -> String {
    let from = set_by(env, key);
    format!(
        "unknown key{from}{}",
        known::unknown_key_hint(path, !from.is_empty())
    )
}

/// ` (set by environment variable NAME)` when an override among `env` sets `key`; empty
/// otherwise. The variable is named, never its value.
fn set_by(env: &[(String, String)], key: &str) -> String {
    env.iter()
        .find(|(name, _)| env_key_path(name).as_deref() == Some(key))
        .map(|(name, _)| format!(" (set by environment variable {name})"))
        .unwrap_or_default()
}

/// `CALLVAULT__SERVER__LISTEN` -> `server.listen`.
fn env_key_path(var: &str) -> Option<String> {
    var.strip_prefix(&format!("{ENV_PREFIX}{ENV_SEPARATOR}"))
        .map(|rest| rest.to_lowercase().replace(ENV_SEPARATOR, "."))
}

/// The choices of the keys that take one of a fixed set of words.
fn allowed_values(path: &str) -> Option<Vec<&'static str>> {
    use crate::core::IdentifierKind;
    use crate::pin::{ActivationScenario, ForceChangeScenario};
    use crate::profile::{Method, Question};
    let profile = |list: &str| path.starts_with("profiles.") && path.contains(list);
    Some(match path {
        "vault.mode" => vec!["hashed", "encrypted"],
        "log.format" => vec!["text", "json"],
        "core.type" => vec!["embedded", "rest"],
        "server.client_cert" => vec!["required", "optional"],
        p if p.starts_with("server.clients") && p.ends_with(".role") => {
            vec!["ivr", "agent", "app", "admin"]
        }
        "pin_change.on_conflict" => vec!["activation_list", "activation", "force_change"],
        "otp.ivr_channel" => vec!["sms", "email", "push"],
        "enroll.slash_dates" => crate::civil::SlashDates::ALL
            .map(crate::civil::SlashDates::as_str)
            .into(),
        "enroll.encoding" => crate::enroll::lines::Encoding::ALL
            .map(crate::enroll::lines::Encoding::as_str)
            .into(),
        "enroll.separator" => crate::enroll::lines::Separator::ALL
            .map(crate::enroll::lines::Separator::as_str)
            .into(),
        "notify.email.type" => vec!["smtp"],
        "notify.email.security" => vec!["none", "starttls", "tls"],
        "notify.sms.type" => vec!["http"],
        "notify.sms.encoding" => vec!["json", "form"],
        "notify.push.type" => vec!["webhook"],
        _ if profile(".activation.scenarios") => ActivationScenario::ALL
            .map(ActivationScenario::as_str)
            .into(),
        _ if profile(".methods") => Method::ALL.map(Method::as_str).into(),
        _ if profile(".questions") => Question::ALL.map(Question::as_str).into(),
        _ if profile(".identifiers") => IdentifierKind::ALL.map(IdentifierKind::as_str).into(),
        p if p.starts_with("pin_change.scenarios") => ForceChangeScenario::ALL
            .map(ForceChangeScenario::as_str)
            .into(),
        _ => return None,
    })
}

/// The word that is not one of an enum's choices, from the config crate's "enum X does not
/// have variant constructor word".
fn not_a_choice(e: &config::ConfigError) -> Option<&str> {
    match e {
        config::ConfigError::Message(m) => m
            .strip_prefix("enum ")?
            .split_once(" does not have variant constructor ")
            .map(|(_, word)| word),
        config::ConfigError::At { error, .. } => not_a_choice(error),
        _ => None,
    }
}

/// serde's messages can quote the offending value. Configuration values are not secret,
/// except those of [`super::Secret`] type, which accept any scalar and so never fail to parse; the
/// message is kept because it shows the admin what was wrong.
///
/// The key path is already in front of the message, so the config crate's own
/// "for key `...`" is left out, and its wording for a word that is not one of an enum's
/// choices is replaced.
fn describe_type_error(e: &config::ConfigError) -> String {
    let from = |origin: &Option<String>| match origin {
        Some(origin) => format!(" (set in {origin})"),
        None => String::new(),
    };
    match e {
        config::ConfigError::Message(m) => match not_a_choice(e) {
            Some(word) => format!("{word:?} is not one of the choices"),
            // a word's place holding a list or a number (`methods = [[1]]`)
            None if m.contains("should be represented by either string or table") => {
                "not a word: write one of the choices, in quotes".into()
            }
            // serde's own words, from a type of ours (a profile's methods, a table)
            None => m
                .strip_prefix("invalid type: ")
                .and_then(|rest| rest.split_once(", expected "))
                .and_then(|(unexpected, expected)| kind_said(&unexpected, expected))
                .unwrap_or_else(|| m.clone()),
        },
        config::ConfigError::Type {
            origin,
            unexpected,
            expected,
            ..
        } => match out_of_range(unexpected, expected).or_else(|| kind_said(unexpected, expected)) {
            Some(said) => format!("{said}{}", from(origin)),
            None => format!(
                "invalid type: {unexpected}, expected {expected}{}",
                from(origin)
            ),
        },
        config::ConfigError::At { error, origin, .. } => {
            format!("{}{}", describe_type_error(error), from(origin))
        }
        // the config crate joins a list item and its key without a dot: `routing[2]profile`
        config::ConfigError::NotFound(key) => format!(
            "missing configuration field {:?}",
            key.replace(']', "].")
                .replace("].[", "][")
                .trim_end_matches('.')
        ),
        other => other.to_string(),
    }
}

/// A value of the wrong kind in the words of a TOML file rather than serde's ("invalid type:
/// sequence, expected a string"): what was written, and what the key takes. The config
/// crate's kinds are read from its words (its `Unexpected` is not public). None for a pair
/// not named here (serde's words stand).
fn kind_said(unexpected: &impl std::fmt::Display, expected: &str) -> Option<String> {
    let unexpected = unexpected.to_string();
    // a single value as the file wrote it: "two" quoted, 5 and true bare
    let one = match unexpected.split_once(' ') {
        Some(("string", quoted)) => Some(quoted.to_string()),
        Some((_, value)) => value
            .rsplit_once(' ')
            .map_or(value, |(_, v)| v)
            .strip_prefix('`')
            .and_then(|v| v.strip_suffix('`'))
            .map(str::to_string),
        None => None,
    };
    let table = expected == "a map" || expected.starts_with("struct ");
    Some(match (unexpected.as_str(), one) {
        ("sequence", _) if table => "a list ([...]), where a table goes".into(),
        ("sequence", _) => match expected {
            "a string" => "a list ([...]), where one value goes, in quotes".into(),
            "an integer" => "a list ([...]), where one whole number goes".into(),
            "a boolean" => "a list ([...]), where true or false goes".into(),
            _ => return None,
        },
        ("map", _) if expected == "a sequence" => {
            "a table, where a list of them goes: begin each entry with [[KEY]]".into()
        }
        ("map", _) if !table => "a table, where one value goes".into(),
        (_, Some(one)) if expected == "a sequence" => {
            format!("{one} is one value, where a list goes: write [{one}]")
        }
        (_, Some(one)) if table => format!("{one} is one value, where a table goes"),
        (s, Some(one)) if s.starts_with("string ") => match expected {
            "an integer" => format!("{one} is not a whole number"),
            "a boolean" => format!("{one} is not true or false"),
            _ => return None,
        },
        _ => return None,
    })
}

/// The config crate's words for a whole number its key's type cannot hold ("invalid type:
/// 64-bit integer `-5`, expected an unsigned 64 bit or less integer"), said plainly.
fn out_of_range(unexpected: &impl std::fmt::Display, expected: &str) -> Option<String> {
    let bits = expected
        .strip_prefix("an unsigned ")?
        .split(' ')
        .next()?
        .parse::<u32>()
        .ok()?;
    let unexpected = unexpected.to_string();
    let n = unexpected
        .strip_suffix('`')?
        .rsplit_once('`')?
        .1
        .parse::<i128>()
        .ok()?;
    Some(match n {
        ..0 => format!("{n} is negative: write a whole number, 0 or more"),
        _ if bits < 64 => format!("{n} is too large: at most {}", u64::MAX >> (64 - bits)),
        _ => format!("{n} is too large: at most {}", u64::MAX),
    })
}
