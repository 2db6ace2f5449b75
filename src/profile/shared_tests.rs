use super::*;
use crate::profile::{IvrSteps, Method, Step};

/// A profile unlike the default in several fields, prompts included.
fn custom() -> Profile {
    let mut p = Profile {
        identify_by_ani: false,
        identify_attempts: 5,
        amount_tolerance_cents: 250,
        ..Profile::default()
    };
    p.ivr = IvrSteps {
        unknown_number: Step {
            methods: vec![Method::Pin, Method::Zip],
            min_correct: 2,
            attempts: 2,
        },
        ..IvrSteps::default()
    };
    p.prompts
        .insert("pin".into(), "cu_pin_prompt \"quoted\"".into());
    p
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Row {
    before: u32,
    #[serde(
        serialize_with = "SharedProfile::serialize_json",
        deserialize_with = "SharedProfile::deserialize_json"
    )]
    profile: SharedProfile,
    after: String,
}

#[derive(Serialize)]
struct PlainRow<'a> {
    before: u32,
    profile: &'a Profile,
    after: String,
}

#[test]
fn a_row_holds_the_same_bytes_as_with_the_plain_profile() {
    for profile in [Profile::default(), custom()] {
        let shared = SharedProfile::new(profile.clone());
        let row = Row {
            before: 7,
            profile: shared.clone(),
            after: "x".into(),
        };
        let plain = serde_json::to_vec(&PlainRow {
            before: 7,
            profile: &profile,
            after: "x".into(),
        })
        .unwrap();
        // twice: the second encoding uses the JSON kept from the first
        assert_eq!(serde_json::to_vec(&row).unwrap(), plain);
        assert_eq!(serde_json::to_vec(&row).unwrap(), plain);
        let back: Row = serde_json::from_slice(&plain).unwrap();
        assert_eq!(back, row);
        assert_eq!(*back.profile, profile);
    }
}

#[test]
fn a_row_read_back_is_written_again_from_the_text_it_held() {
    // a row an older version wrote: other spacing, a field left out (it has a default)
    let text = r#"{"before":1,"profile":{ "identify_attempts" : 4 },"after":"y"}"#;
    let row: Row = serde_json::from_str(text).unwrap();
    assert_eq!(row.profile.identify_attempts, 4);
    assert!(
        row.profile.identify_by_ani,
        "the default fills the missing field"
    );
    assert_eq!(
        serde_json::to_string(&row).unwrap(),
        r#"{"before":1,"profile":{ "identify_attempts" : 4 },"after":"y"}"#
    );
    let bad = r#"{"before":1,"profile":{"no_such_key":1},"after":"y"}"#;
    let err = serde_json::from_str::<Row>(bad).unwrap_err().to_string();
    assert!(err.contains("no_such_key"), "{err}");
}

#[test]
fn configuration_reads_and_prints_the_plain_profile() {
    let shared: SharedProfile = toml::from_str("identify_attempts = 4\ndefault = true\n").unwrap();
    assert_eq!(shared.identify_attempts, 4);
    assert!(shared.default);
    let printed = toml::to_string(&shared).unwrap();
    assert_eq!(printed, toml::to_string(&*shared).unwrap());
    assert!(toml::from_str::<SharedProfile>("identify_attempt = 4\n").is_err());
}

#[test]
fn copies_share_and_compare_by_value() {
    let a = SharedProfile::new(custom());
    let b = a.clone();
    assert!(std::ptr::eq(&*a, &*b), "a clone shares the profile");
    assert_eq!(a, SharedProfile::new(custom()));
    assert_ne!(a, SharedProfile::default());
    assert_eq!(
        format!("{a:?}"),
        format!("{:?}", custom()),
        "debugs as the plain profile"
    );
}

/// One test, not several: the remembered profiles are the process's, and tests run at once.
#[test]
fn rows_of_one_profile_share_it_and_many_profiles_still_read_right() {
    let row = |attempts: u32| {
        let mut p = custom();
        p.identify_attempts = attempts;
        let text = serde_json::to_string(&PlainRow {
            before: 1,
            profile: &p,
            after: String::new(),
        })
        .unwrap();
        (p, text)
    };
    let (p, text) = row(7);
    let first: Row = serde_json::from_str(&text).unwrap();
    let second: Row = serde_json::from_str(&text).unwrap();
    assert!(
        std::ptr::eq(&*first.profile, &*second.profile),
        "the second row found the profile the first was read into"
    );
    assert_eq!(*second.profile, p);
    // a row of another profile is remembered beside it, not in its place
    let (_, other) = row(8);
    let _: Row = serde_json::from_str(&other).unwrap();
    let third: Row = serde_json::from_str(&text).unwrap();
    assert!(
        std::ptr::eq(&*first.profile, &*third.profile),
        "the first profile is still remembered after another was read"
    );
    // more profiles than are remembered, read twice round: each still reads as itself
    for _ in 0..2 {
        for attempts in 10..(10 + 2 * RECENT_PROFILES as u32) {
            let (p, text) = row(attempts);
            let back: Row = serde_json::from_str(&text).unwrap();
            assert_eq!(*back.profile, p, "{attempts}");
            assert_eq!(serde_json::to_string(&back).unwrap(), text);
        }
    }
    assert!(RECENT.load().len() <= RECENT_PROFILES);
}
