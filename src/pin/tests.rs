use super::*;
use crate::config::PinPolicyConfig;
use crate::member::Member;
use chrono::{Duration, NaiveDate, TimeZone, Utc};

fn member() -> Member {
    Member {
        member_id: "M1".into(),
        ssn_last4: Some("4821".into()),
        zip: Some("30599".into()),
        mobile_phone: Some("+15551237305".into()),
        other_phones: vec!["+15559876640".into()],
        dob: NaiveDate::from_ymd_opt(1984, 7, 23),
        ..Member::default()
    }
}

#[test]
fn new_pin_rules_give_stable_reasons() {
    let policy = PinPolicyConfig::default();
    let m = member();
    let cases: &[(&str, Option<&str>, Result<(), Rejection>)] = &[
        ("2749", None, Ok(())),
        ("274958", None, Ok(())),
        ("27a9", None, Err(Rejection::NotDigits)),
        ("", None, Err(Rejection::NotDigits)),
        ("274", None, Err(Rejection::TooShort)),
        ("2749581", None, Err(Rejection::TooLong)),
        ("1111", None, Err(Rejection::RepeatingDigits)),
        ("777777", None, Err(Rejection::RepeatingDigits)),
        ("1234", None, Err(Rejection::Sequence)),
        ("9876", None, Err(Rejection::Sequence)),
        ("345678", None, Err(Rejection::Sequence)),
        ("1212", None, Err(Rejection::CommonPin)),
        ("2580", None, Err(Rejection::CommonPin)),
        ("1987", None, Err(Rejection::CommonPin)),
        ("1225", None, Err(Rejection::CommonPin)),
        ("4821", None, Err(Rejection::MatchesSsnLast4)),
        ("3059", None, Err(Rejection::MatchesZip)),
        ("0599", None, Err(Rejection::MatchesZip)),
        ("7305", None, Err(Rejection::MatchesPhone)),
        ("6640", None, Err(Rejection::MatchesPhone)),
        ("0784", None, Err(Rejection::MatchesBirthDate)),
        ("072384", None, Err(Rejection::CommonPin)),
        ("2749", Some("2749"), Err(Rejection::SameAsCurrent)),
        ("2749", Some("5902"), Ok(())),
    ];
    for (pin, current, want) in cases {
        assert_eq!(
            check_new_pin(&policy, pin, &m, *current),
            *want,
            "pin {pin:?}"
        );
    }
}

/// The words the IVR reads in a STEP's `error` after a new PIN is refused (and the audit
/// detail): a contract, each once.
#[test]
fn each_refusal_of_a_new_pin_has_its_own_stable_word() {
    let words = [
        (Rejection::NotDigits, "not_digits"),
        (Rejection::TooShort, "too_short"),
        (Rejection::TooLong, "too_long"),
        (Rejection::RepeatingDigits, "repeating_digits"),
        (Rejection::Sequence, "sequence"),
        (Rejection::CommonPin, "common_pin"),
        (Rejection::MatchesSsnLast4, "matches_ssn_last4"),
        (Rejection::MatchesZip, "matches_zip"),
        (Rejection::MatchesPhone, "matches_phone"),
        (Rejection::MatchesBirthDate, "matches_birth_date"),
        (Rejection::SameAsCurrent, "same_as_current"),
        (Rejection::ConfirmMismatch, "confirm_mismatch"),
    ];
    for (rejection, word) in words {
        assert_eq!(rejection.as_str(), word);
        assert_eq!(rejection.to_string(), word);
    }
}

/// A forced change's word, as the audit detail and a PIN change's reason say it, is the
/// one `pin_change.scenarios` lists it by; a change's reason is its scenario's word.
#[test]
fn each_force_change_scenario_has_its_word_and_a_reason_says_its_scenarios() {
    let words = [
        (
            ForceChangeScenario::LengthOutsidePolicy,
            "length_outside_policy",
        ),
        (ForceChangeScenario::Aged, "aged"),
        (ForceChangeScenario::Flagged, "flagged"),
        (ForceChangeScenario::Blocklisted, "blocklisted"),
    ];
    assert_eq!(words.map(|(s, _)| s), ForceChangeScenario::ALL);
    for (scenario, word) in words {
        assert_eq!(scenario.as_str(), word);
        assert_eq!(serde_json::to_value(scenario).unwrap(), word);
        assert_eq!(ChangeReason::Forced(scenario).as_str(), word);
    }
    for scenario in ActivationScenario::ALL {
        assert_eq!(serde_json::to_value(scenario).unwrap(), scenario.as_str());
        assert_eq!(ChangeReason::Scenario(scenario).as_str(), scenario.as_str());
    }
}

#[test]
fn birth_date_forms_are_refused_even_without_the_blocklist() {
    let policy = PinPolicyConfig {
        blocklist: false,
        ..PinPolicyConfig::default()
    };
    for pin in ["0723", "2307", "0784", "1984", "072384", "230784", "840723"] {
        assert_eq!(
            check_new_pin(&policy, pin, &member(), None),
            Err(Rejection::MatchesBirthDate),
            "{pin}"
        );
    }
}

#[test]
fn switches_turn_rules_off_and_extra_blocklist_adds() {
    let mut policy = PinPolicyConfig {
        blocklist: false,
        refuse_member_facts: false,
        ..PinPolicyConfig::default()
    };
    assert_eq!(check_new_pin(&policy, "1212", &member(), None), Ok(()));
    assert_eq!(check_new_pin(&policy, "4821", &member(), None), Ok(()));
    policy.extra_blocklist = vec!["4821".into()];
    assert_eq!(
        check_new_pin(&policy, "4821", &member(), None),
        Err(Rejection::CommonPin)
    );
}

#[test]
fn blocklist_covers_the_studies_heads_and_about_a_tenth_of_four_digits() {
    for pin in [
        "1234", "1111", "0000", "1212", "7777", "1004", "2000", "6969", "4321", "2580",
    ] {
        assert!(blocklist::contains(pin), "{pin}");
    }
    for pin in ["123456", "654321", "123123", "112233", "121212", "147258"] {
        assert!(blocklist::contains(pin), "{pin}");
    }
    let blocked = (0..10_000)
        .filter(|n| blocklist::contains(&format!("{n:04}")))
        .count();
    assert!(
        (700..=1100).contains(&blocked),
        "{blocked} of 10,000 blocked"
    );
    for pin in ["2749", "8366", "5902", "274958"] {
        assert!(!blocklist::contains(pin), "{pin}");
    }
}

/// A sequence is a straight run of three digits or more; one digit repeated is every
/// digit the same.
#[test]
fn runs_and_repeats_are_told_apart() {
    for (pin, sequence, repeating) in [
        ("123", true, false),
        ("321", true, false),
        ("1234", true, false),
        ("9876", true, false),
        ("135", false, false),
        ("12", false, false),
        ("5", false, true),
        ("", false, false),
        ("1111", false, true),
        ("1121", false, false),
    ] {
        assert_eq!(policy::is_sequence(pin), sequence, "{pin}: sequence");
        assert_eq!(policy::is_repeating(pin), repeating, "{pin}: repeating");
    }
}

/// Years: 1900 to 2029 are refused, the years after are not (yet) common PINs.
#[test]
fn four_digit_years_are_refused_up_to_2029() {
    for (pin, refused) in [
        ("1900", true),
        ("1955", true),
        ("2017", true),
        ("2029", true),
        ("2030", false),
        ("2031", false),
        ("2147", false),
        ("1800", false),
    ] {
        assert_eq!(blocklist::contains(pin), refused, "{pin}");
    }
}

/// Each 6-digit shape the list refuses, with PINs a digit or two away that no shape covers,
/// so that each part of each rule is needed (none of these is among the explicit heads).
#[test]
fn six_digit_shapes_are_refused_and_their_near_misses_are_not() {
    let shapes: [(&str, &str, &[&str]); 6] = [
        (
            "ABABAB",
            "373737",
            &["473737", "383737", "374737", "373837", "373747", "373738"],
        ),
        (
            "AABBCC",
            "449922",
            &["349922", "459922", "449822", "449923"],
        ),
        ("ABCABC", "583583", &["583584", "583483"]),
        ("ABCCBA", "538835", &["538836", "539835"]),
        // a month and a day first, then any two digits; not a month at all
        ("MMDD then two", "072399", &["002399", "132399"]),
        ("DDMM then two", "230799", &["230099", "231399"]),
    ];
    for (shape, refused, allowed) in shapes {
        assert!(blocklist::contains(refused), "{shape}: {refused}");
        for pin in allowed {
            assert!(!blocklist::contains(pin), "{shape}: {pin}");
        }
    }
}

fn at(days: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::days(days)
}

fn situation<'a>(
    keyed: Option<&'a str>,
    stored: Option<StoredPin>,
    member: &'a Member,
    policy: &'a PinPolicyConfig,
    rule: ConflictRule,
) -> Situation<'a> {
    Situation {
        keyed,
        stored,
        member,
        activation: &ActivationScenario::ALL,
        force_change: &ForceChangeScenario::ALL,
        on_conflict: rule,
        policy,
        now: at(400),
    }
}

fn stored(established: bool, set_days: i64, flagged: bool) -> Option<StoredPin> {
    Some(StoredPin {
        established,
        set_at: at(set_days),
        flagged,
    })
}

#[test]
fn activation_and_force_change_table() {
    use ActivationScenario as A;
    use ChangeReason::{Forced, Scenario};
    use ConflictRule as R;
    use ForceChangeScenario as F;
    use Verdict::*;
    let m = member();
    let mut hinted = member();
    hinted.needs_activation = true;
    let aging = PinPolicyConfig {
        max_age_days: 365,
        ..PinPolicyConfig::default()
    };
    let plain = PinPolicyConfig::default();
    let listed = PinPolicyConfig {
        extra_blocklist: vec!["5802".into()],
        ..PinPolicyConfig::default()
    };
    let cases: Vec<(&str, Situation<'_>, Verdict)> = vec![
        (
            "no pin",
            situation(None, None, &m, &plain, R::ActivationList),
            Activate(A::NoPin),
        ),
        (
            "fine pin",
            situation(
                Some("2749"),
                stored(true, 0, false),
                &m,
                &plain,
                R::ActivationList,
            ),
            Proceed,
        ),
        (
            "placeholder = ssn",
            situation(
                Some("4821"),
                stored(false, 0, false),
                &m,
                &plain,
                R::ActivationList,
            ),
            Activate(A::PinIsSsnLast4),
        ),
        (
            "established = ssn",
            situation(
                Some("4821"),
                stored(true, 0, false),
                &m,
                &plain,
                R::ActivationList,
            ),
            ChangePin(Scenario(A::PinIsSsnLast4)),
        ),
        (
            "zip last 4",
            situation(
                Some("0599"),
                stored(false, 0, false),
                &m,
                &plain,
                R::ActivationList,
            ),
            Activate(A::PinIsZipLast4),
        ),
        (
            "zip first 4",
            situation(
                Some("3059"),
                stored(false, 0, false),
                &m,
                &plain,
                R::ActivationList,
            ),
            Activate(A::PinIsZipFirst4),
        ),
        (
            "phone last 4",
            situation(
                Some("6640"),
                stored(false, 0, false),
                &m,
                &plain,
                R::ActivationList,
            ),
            Activate(A::PinIsPhoneLast4),
        ),
        (
            "core hint",
            situation(
                Some("2749"),
                stored(true, 0, false),
                &hinted,
                &plain,
                R::ActivationList,
            ),
            ChangePin(Scenario(A::CoreHint)),
        ),
        (
            "aged",
            situation(
                Some("2749"),
                stored(true, 0, false),
                &m,
                &aging,
                R::ActivationList,
            ),
            ChangePin(Forced(F::Aged)),
        ),
        (
            "not yet aged",
            situation(
                Some("2749"),
                stored(true, 36, false),
                &m,
                &aging,
                R::ActivationList,
            ),
            Proceed,
        ),
        (
            "flagged",
            situation(
                Some("2749"),
                stored(true, 0, true),
                &m,
                &plain,
                R::ActivationList,
            ),
            ChangePin(Forced(F::Flagged)),
        ),
        (
            "too short for policy",
            situation(
                Some("274"),
                stored(true, 0, false),
                &m,
                &plain,
                R::ActivationList,
            ),
            ChangePin(Forced(F::LengthOutsidePolicy)),
        ),
        (
            "as long as the policy allows",
            situation(
                Some("274958"),
                stored(true, 0, false),
                &m,
                &plain,
                R::ActivationList,
            ),
            Proceed,
        ),
        (
            "too long for policy",
            situation(
                Some("2749583"),
                stored(true, 0, false),
                &m,
                &plain,
                R::ActivationList,
            ),
            ChangePin(Forced(F::LengthOutsidePolicy)),
        ),
        (
            "on the configured blocklist",
            situation(
                Some("5802"),
                stored(true, 0, false),
                &m,
                &listed,
                R::ActivationList,
            ),
            ChangePin(Forced(F::Blocklisted)),
        ),
        (
            "not on the configured blocklist",
            situation(
                Some("2749"),
                stored(true, 0, false),
                &m,
                &listed,
                R::ActivationList,
            ),
            Proceed,
        ),
        (
            "blocklisted",
            situation(
                Some("1212"),
                stored(true, 0, false),
                &m,
                &plain,
                R::ActivationList,
            ),
            ChangePin(Forced(F::Blocklisted)),
        ),
        // 1111 matches repeating digits (activation) and the blocklist (force change)
        (
            "both, not established, seed rule",
            situation(
                Some("1111"),
                stored(false, 0, false),
                &m,
                &plain,
                R::ActivationList,
            ),
            Activate(A::PinRepeatingDigits),
        ),
        (
            "both, established, seed rule",
            situation(
                Some("1111"),
                stored(true, 0, false),
                &m,
                &plain,
                R::ActivationList,
            ),
            ChangePin(Forced(F::Blocklisted)),
        ),
        (
            "both, activation wins",
            situation(
                Some("1111"),
                stored(true, 0, false),
                &m,
                &plain,
                R::Activation,
            ),
            Activate(A::PinRepeatingDigits),
        ),
        (
            "both, force change wins",
            situation(
                Some("1111"),
                stored(false, 0, false),
                &m,
                &plain,
                R::ForceChange,
            ),
            ChangePin(Forced(F::Blocklisted)),
        ),
    ];
    for (name, sit, want) in cases {
        assert_eq!(assess(&sit), want, "{name}");
    }
}

#[test]
fn scenario_order_and_switches_come_from_the_profile() {
    let m = member();
    let policy = PinPolicyConfig::default();
    // the PIN is both the SSN last 4 and a phone's last 4: the first listed wins
    let mut both = member();
    both.other_phones = vec!["+15550004821".into()];
    let mut sit = situation(
        Some("4821"),
        stored(false, 0, false),
        &both,
        &policy,
        ConflictRule::ActivationList,
    );
    let order = [
        ActivationScenario::PinIsPhoneLast4,
        ActivationScenario::PinIsSsnLast4,
    ];
    sit.activation = &order;
    assert_eq!(
        assess(&sit),
        Verdict::Activate(ActivationScenario::PinIsPhoneLast4)
    );
    // activation off and no PIN: the member cannot use a PIN
    let mut none = situation(None, None, &m, &policy, ConflictRule::ActivationList);
    none.activation = &[];
    assert_eq!(assess(&none), Verdict::NoPin);
    // force-change scenarios off
    let mut flagged = situation(
        Some("2749"),
        stored(true, 0, true),
        &m,
        &policy,
        ConflictRule::ActivationList,
    );
    flagged.force_change = &[];
    assert_eq!(assess(&flagged), Verdict::Proceed);
}
