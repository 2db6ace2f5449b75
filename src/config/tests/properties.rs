//! The configuration reader against files no table lists: `every_key.toml` with random
//! values put in random places (a number where a table goes, a table where a string goes,
//! text of any characters), and the same through environment overrides. Whatever the file,
//! it is read or refused with problems that each name a key, never a panic; and a secret's
//! value is never said, whether it is set where it belongs or in a shape that is refused.

use super::*;
use crate::config::read::SECRET_KEYS;
use proptest::prelude::*;

/// The file every case starts from: it has every key.
fn every_key() -> toml::Value {
    toml::Value::Table(include_str!("../every_key.toml").parse().unwrap())
}

/// One step from a table to a value in it: a key, or a list's index.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Item(usize),
}

/// The path of every value of `v`, tables and lists included, each after its contents.
fn places(v: &toml::Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    let inner: Vec<(Step, &toml::Value)> = match v {
        toml::Value::Table(t) => t.iter().map(|(k, v)| (Step::Key(k.clone()), v)).collect(),
        toml::Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (Step::Item(i), v))
            .collect(),
        _ => return,
    };
    for (step, v) in inner {
        path.push(step);
        places(v, path, out);
        out.push(path.clone());
        path.pop();
    }
}

fn place_mut<'a>(v: &'a mut toml::Value, path: &[Step]) -> Option<&'a mut toml::Value> {
    path.iter().try_fold(v, |v, step| match step {
        Step::Key(k) => v.as_table_mut()?.get_mut(k),
        Step::Item(i) => v.as_array_mut()?.get_mut(*i),
    })
}

/// A value of any kind, with the edges of each.
fn any_value() -> impl Strategy<Value = toml::Value> {
    use toml::Value;
    prop_oneof![
        any::<i64>().prop_map(Value::Integer),
        (-2i64..100).prop_map(Value::Integer),
        Just(Value::Integer(i64::MAX)),
        any::<bool>().prop_map(Value::Boolean),
        any::<f64>().prop_map(Value::Float),
        "\\PC{0,12}".prop_map(Value::String),
        "[a-z_{}/:.+0-9]{0,12}".prop_map(Value::String),
        Just(Value::Array(vec![])),
        Just(Value::Array(vec!["dob".into(), "dob".into()])),
        Just(Value::Table(toml::Table::new())),
    ]
}

/// Environment overrides of keys (not list items) of `doc`.
fn overrides(
    doc: &toml::Value,
    picks: Vec<(prop::sample::Index, String)>,
) -> Vec<(String, String)> {
    let mut all = Vec::new();
    places(doc, &mut Vec::new(), &mut all);
    all.retain(|path| path.iter().all(|step| matches!(step, Step::Key(_))));
    if all.is_empty() {
        return Vec::new();
    }
    picks
        .into_iter()
        .map(|(pick, value)| {
            let name: Vec<String> = pick
                .get(&all)
                .iter()
                .map(|step| match step {
                    Step::Key(k) => k.to_uppercase(),
                    Step::Item(_) => unreachable!(),
                })
                .collect();
            (
                format!("{ENV_PREFIX}{ENV_SEPARATOR}{}", name.join(ENV_SEPARATOR)),
                value,
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    #[test]
    fn any_file_is_read_or_refused_with_each_problem_named(
        changes in proptest::collection::vec((any::<prop::sample::Index>(), any_value()), 1..4),
        env in proptest::collection::vec(
            (any::<prop::sample::Index>(), "\\PC{0,10}|[0-9-]{1,20}|\\[.*\\]|true"),
            0..3,
        ),
    ) {
        let mut doc = every_key();
        for (pick, value) in changes {
            let mut all = Vec::new();
            places(&doc, &mut Vec::new(), &mut all);
            *place_mut(&mut doc, pick.get::<Vec<Step>>(&all)).unwrap() = value;
        }
        let env = overrides(&doc, env);
        match parse(&toml::to_string(&doc).unwrap(), env) {
            Ok(config) => {
                prop_assert!(config.validate().is_empty());
                let _ = (config.cautions(), config.to_masked_toml());
            }
            Err(ConfigError::Invalid(issues)) => {
                prop_assert!(!issues.is_empty());
                for issue in issues {
                    prop_assert!(!issue.path.is_empty() && !issue.message.is_empty(), "{issue:?}");
                }
            }
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}

/// A secret's value, and the text it would be said as.
fn secret_value() -> impl Strategy<Value = (toml::Value, String)> {
    use toml::Value;
    let text = |s: String| (Value::String(s.clone()), s);
    prop_oneof![
        "[ -~]{6,20}".prop_map(text),
        "\\PC{6,12}".prop_map(text),
        "[a-z]{3}\n[a-z]{3}".prop_map(text),
        (100_000i64..i64::MAX).prop_map(|n| (Value::Integer(n), n.to_string())),
        (1.5e6f64..1e9).prop_map(|f| (Value::Float(f), f.to_string())),
        "[A-Za-z0-9]{8,12}".prop_map(|s| (Value::Array(vec![s.clone().into()]), s)),
        "[A-Za-z0-9]{8,12}".prop_map(|s| {
            let table = toml::Table::from_iter([("value".to_string(), s.clone().into())]);
            (Value::Table(table), s)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    #[test]
    fn a_secret_s_value_is_never_said(
        which in 0..SECRET_KEYS.len(),
        (value, said) in secret_value(),
        by_env: bool,
        other in proptest::option::of((any::<prop::sample::Index>(), any_value())),
    ) {
        let said = said.trim().to_string();
        prop_assume!(said.len() >= 6);
        let key = SECRET_KEYS[which];
        let mut doc = every_key();
        let mut env = Vec::new();
        match by_env {
            true => env.push((
                format!("{ENV_PREFIX}{ENV_SEPARATOR}{}", key.replace('.', ENV_SEPARATOR).to_uppercase()),
                value.as_str().map_or(said.clone(), str::to_string),
            )),
            false => {
                let path: Vec<Step> = key.split('.').map(|k| Step::Key(k.into())).collect();
                *place_mut(&mut doc, &path).unwrap() = value;
            }
        }
        // and, at times, another key wrong as well
        if let Some((pick, value)) = other {
            let mut all = Vec::new();
            places(&doc, &mut Vec::new(), &mut all);
            *place_mut(&mut doc, pick.get::<Vec<Step>>(&all)).unwrap() = value;
        }
        let out = match parse(&toml::to_string(&doc).unwrap(), env) {
            Ok(config) => format!(
                "{:?} {:?} {config:?} {}",
                config.validate(),
                config.cautions(),
                config.to_masked_toml()
            ),
            Err(e) => format!("{e} {e:?}"),
        };
        prop_assert!(!out.contains(&said), "{key}: {said:?} in {out}");
    }
}
