use super::*;
use crate::config::parse;

fn issues(text: &str) -> Vec<(String, String)> {
    match parse(text, Vec::new()) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .issues()
            .iter()
            .map(|i| (i.path.clone(), i.message.clone()))
            .collect(),
    }
}

const GOOD: &str = r#"
[[routing]]
dnis = "+18005550100"
profile = "members"
[[routing]]
dnis = "+18005550199"
profile = "business"

[profiles.members]
default = true
[profiles.members.ivr.known_number]
methods = ["pin"]
min_correct = 1
[profiles.members.ivr.unknown_number]
methods = ["pin", "dob", "zip"]
min_correct = 2
attempts = 2
[profiles.members.activation]
scenarios = ["no_pin", "pin_is_ssn_last4"]
methods = ["dob", "ssn_last4"]
min_correct = 2

[profiles.business]
identify_by_ani = false
identifiers = ["account_number"]
[profiles.business.activation]
enabled = false
"#;

#[test]
fn a_good_file_routes_by_dialed_number_with_a_default() {
    let config = parse(GOOD, Vec::new()).unwrap();
    let (name, p) = config.profile_for(Some("+18005550199"));
    assert_eq!(name, "business");
    assert!(!p.identify_by_ani);
    assert!(p.activation.active_scenarios().is_empty());
    let (name, p) = config.profile_for(Some("+18005550100"));
    assert_eq!(name, "members");
    assert_eq!(p.ivr.unknown_number.attempts, 2);
    assert_eq!(
        p.activation.active_scenarios(),
        [ActivationScenario::NoPin, ActivationScenario::PinIsSsnLast4]
    );
    // unrouted and absent numbers take the default; defaults fill what a profile leaves out
    let (name, p) = config.profile_for(Some("+18005550000"));
    assert_eq!(name, "members");
    assert_eq!(p.ivr.app_intent.methods, vec![]);
    assert_eq!(config.profile_for(None).0, "members");
    // no profiles at all: the built-in one, 2 of 3 for known numbers, 3 of 5 for unknown
    let bare = parse("", Vec::new()).unwrap();
    let (name, p) = bare.profile_for(Some("+18005550100"));
    assert_eq!(name, BUILT_IN);
    assert_eq!(
        (
            p.ivr.known_number.methods.len(),
            p.ivr.known_number.min_correct
        ),
        (3, 2)
    );
    assert_eq!(
        (
            p.ivr.unknown_number.methods.len(),
            p.ivr.unknown_number.min_correct
        ),
        (5, 3)
    );
}

/// A profile that sets nothing but `default` is the built-in profile, key for key, and that
/// one is what the issue and config.example.toml document.
#[test]
fn a_profile_that_leaves_every_key_out_is_the_documented_default() {
    let config = parse("[profiles.m]\ndefault = true\n", Vec::new()).unwrap();
    let (name, p) = config.profile_for(None);
    assert_eq!(name, "m");
    assert_eq!(&*p, &Profile::default());
    let (name, built_in) = parse("", Vec::new()).unwrap().profile_for(None);
    assert_eq!((name.as_str(), &*built_in), (BUILT_IN, &Profile::default()));
    let p = Profile::default();
    assert!(p.identify_by_ani && p.app_intent_by_ani && p.activation.enabled);
    assert_eq!(p.identify_attempts, 3);
    assert_eq!(
        p.identifiers,
        [
            IdentifierKind::MemberNumber,
            IdentifierKind::AccountNumber,
            IdentifierKind::Phone
        ]
    );
    assert_eq!(p.amount_tolerance_cents, 0);
    assert!(p.prompts.is_empty() && p.agent_texts.is_empty());
}

/// A PBX that hands the IVR the line's extension, VDN or SIP user name instead of the number
/// dialed: a route names it as it comes, and a call reaches the route's profile whatever its
/// case or URI; numbers are routed in E.164 whatever their form.
#[test]
fn a_route_may_name_a_line_as_the_pbx_hands_it_over() {
    let text = GOOD.replace(
        "[profiles.members]",
        "[[routing]]\ndnis = \"5000\"\nprofile = \"business\"\n\
         [[routing]]\ndnis = \"Business-Line\"\nprofile = \"business\"\n\
         [profiles.members]",
    );
    let config = parse(&text, Vec::new()).unwrap();
    let region = config.enroll.region();
    // (dnis as the IVR sends it, what it is routed by, the profile)
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("5000", Some("5000"), "business"),
        (" 5000 ", Some("5000"), "business"),
        ("sip:5000@pbx.cu.example", Some("5000"), "business"),
        ("tel:5000", Some("5000"), "business"),
        ("business-line", Some("business-line"), "business"),
        ("sip:BUSINESS-LINE@pbx", Some("BUSINESS-LINE"), "business"),
        ("5001", Some("5001"), "members"),
        ("business", Some("business"), "members"),
        ("(800) 555-0199", Some("+18005550199"), "business"),
        (
            "sip:+18005550199@gw;user=phone",
            Some("+18005550199"),
            "business",
        ),
        ("8005550100", Some("+18005550100"), "members"),
        ("", None, "members"),
        ("sip:@pbx", None, "members"),
    ];
    for &(dnis, routed_by, profile) in cases {
        let d = dialed(&config.routing, dnis, region);
        assert_eq!(d.as_deref(), routed_by, "{dnis:?}");
        assert_eq!(config.profile_for(d.as_deref()).0, profile, "{dnis:?}");
    }
    // the same label twice, in two cases, is one line routed twice
    let twice = GOOD.replace(
        "[profiles.members]",
        "[[routing]]\ndnis = \"line-a\"\nprofile = \"business\"\n\
         [[routing]]\ndnis = \"LINE-A\"\nprofile = \"members\"\n\
         [profiles.members]",
    );
    assert_eq!(
        issues(&twice),
        [(
            "routing[3].dnis".to_string(),
            "\"LINE-A\" is routed twice".to_string()
        )]
    );
}

#[test]
fn a_string_is_a_line_label_by_its_shape() {
    for (dnis, label) in [
        ("5", true),
        ("1234567", true),
        ("12345678", false),
        ("", false),
        ("members-line", true),
        ("IVR_Main.2", true),
        ("s", true),
        (&"a".repeat(64), true),
        (&"a".repeat(65), false),
        ("-.-", false),
        ("800-555", false),
        ("+18005550100", false),
        ("members line", false),
        ("sip:5000@pbx", false),
        ("ligne-été", false),
    ] {
        assert_eq!(line_label(dnis), label, "{dnis:?}");
    }
}

#[test]
fn impossible_profiles_are_refused_with_key_paths() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[profiles.m]\ndefault = true\n[profiles.m.ivr.unknown_number]\nmethods = [\"pin\", \"dob\"]\nmin_correct = 3\n",
            "profiles.m.ivr.unknown_number.min_correct",
            "3 is more than the 2 methods listed",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.ivr.known_number]\nmethods = [\"pin\", \"shoe_size\"]\nmin_correct = 1\n",
            "profiles.m.ivr.known_number.methods",
            "savings_balance",
        ),
        (
            "[[routing]]\ndnis = \"+18005550100\"\nprofile = \"nope\"\n[profiles.m]\ndefault = true\n",
            "routing[0].profile",
            "no profile \"nope\"",
        ),
        (
            "[[routing]]\ndnis = \"+18005550100\"\nprofile = \"Gold\"\n[profiles.gold]\ndefault = true\n",
            "routing[0].profile",
            "no profile \"Gold\" is defined; did you mean gold?",
        ),
        (
            "[[routing]]\ndnis = \"800-555\"\nprofile = \"m\"\n[profiles.m]\ndefault = true\n",
            "routing[0].dnis",
            "E.164",
        ),
        ("[profiles.a]\n[profiles.b]\n", "profiles", "default = true"),
        (
            "[profiles.a]\ndefault = true\n[profiles.b]\ndefault = true\n",
            "profiles.b.default",
            "only one",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.checklist.known_number]\nquestions = [\"dob\"]\nmin_correct = 2\n",
            "profiles.m.checklist.known_number.min_correct",
            "2 is more than the 1 question listed",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.activation]\nmethods = [\"pin\"]\nmin_correct = 1\n",
            "profiles.m.activation.methods[0]",
            "keypad questions",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.prompts]\npin = \"k0123456789012345678901234567890123456789012345678901234567890123\"\n",
            "profiles.m.prompts.pin",
            "1 to 64 letters",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.agent_texts]\nwelcome = \"Hi\"\n",
            "profiles.m.agent_texts.welcome",
            "the verdicts (verified, not_verified) and the checklist questions (dob, zip,",
        ),
        // a slip of a step or text is told the one likely meant
        (
            "[profiles.m]\ndefault = true\n[profiles.m.agent_texts]\nverifed = \"Yes\"\n",
            "profiles.m.agent_texts.verifed",
            "no text \"verifed\"; did you mean verified?",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.agent_texts]\nplace_of_brith = \"Where?\"\n",
            "profiles.m.agent_texts.place_of_brith",
            "no text \"place_of_brith\"; did you mean place_of_birth?",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.prompts]\nnewpin = \"k\"\n",
            "profiles.m.prompts.newpin",
            "no step \"newpin\"; did you mean new_pin?",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.prompts]\nwelcome = \"k\"\n",
            "profiles.m.prompts.welcome",
            "no step \"welcome\"; prompts can be set for identifier, pin, new_pin,",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.agent_texts]\nverified = \"  \"\n",
            "profiles.m.agent_texts.verified",
            "not blank",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.agent_texts]\ndob = \"When?\\nSay it.\"\n",
            "profiles.m.agent_texts.dob",
            "on one line",
        ),
        (
            &format!(
                "[profiles.m]\ndefault = true\n[profiles.m.agent_texts]\nnot_verified = \"{}\"\n",
                "é".repeat(501)
            ),
            "profiles.m.agent_texts.not_verified",
            "1 to 500 characters",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.checklist.unknown_number]\nquestions = [\"dob\"]\nmin_correct = 0\n",
            "profiles.m.checklist.unknown_number.min_correct",
            "verified before any is asked",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.activation]\nmethods = []\nmin_correct = 0\n",
            "profiles.m.activation.min_correct",
            "without proving who they are",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.activation]\nscenarios = [\"full_moon\"]\n",
            "profiles.m.activation.scenarios",
            "pin_is_zip_first4",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.ivr.known_number]\nmethods = [\"dob\", \"dob\"]\nmin_correct = 1\n",
            "profiles.m.ivr.known_number.methods[1]",
            "twice",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.ivr.unknown_number]\nmethods = [\"ssn_last4\", \"pin\", \"ssn_last4\"]\nmin_correct = 2\n",
            "profiles.m.ivr.unknown_number.methods[2]",
            "ssn_last4 is listed twice",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.checklist.known_number]\nquestions = [\"place_of_birth\", \"dob\", \"place_of_birth\"]\nmin_correct = 2\n",
            "profiles.m.checklist.known_number.questions[2]",
            "place_of_birth is listed twice",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.ivr.known_number]\nmethods = [\"pin\"]\nmin_correct = 2\n",
            "profiles.m.ivr.known_number.min_correct",
            "2 is more than the 1 method listed",
        ),
        (
            "[profiles.m]\ndefault = true\nidentify_by_ani = false\nidentifiers = []\n",
            "profiles.m.identifiers",
            "at least one identifier",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.ivr.unknown_number]\nmethods = []\nmin_correct = 0\n",
            "profiles.m.ivr.unknown_number.methods",
            "any caller who keys a member number",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.checklist.unknown_number]\nquestions = []\nmin_correct = 0\n",
            "profiles.m.checklist.unknown_number.questions",
            "verified before a single question",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.ivr.known_number]\nmethods = [\"dob\"]\nmin_correct = 0\n",
            "profiles.m.ivr.known_number.min_correct",
            "cannot matter",
        ),
        (
            "[profiles.m]\ndefault = true\n[profiles.m.ivr.known_number]\nmethods = [\"pin\"]\nmin_correct = 1\nattempts = 0\n",
            "profiles.m.ivr.known_number.attempts",
            "outside 1..=10",
        ),
    ];
    for (text, path, says) in cases {
        let got = issues(text);
        assert!(
            got.iter()
                .any(|(p, m)| p.starts_with(path) && m.contains(says)),
            "{path}: {says:?} not in {got:?}"
        );
    }
    assert!(issues(GOOD).is_empty(), "{:?}", issues(GOOD));
}

/// Each bounded value at its edges: the last value taken, and the first refused, with the
/// one key path it is refused under.
#[test]
fn bounded_profile_values_are_taken_up_to_their_edges() {
    let known = |rest: &str| format!("[profiles.m.ivr.known_number]\n{rest}");
    let cases: Vec<(String, Option<&str>)> = vec![
        (
            format!("[profiles.m.prompts]\npin = \"{}\"\n", "k".repeat(64)),
            None,
        ),
        (
            format!("[profiles.m.prompts]\npin = \"{}\"\n", "k".repeat(65)),
            Some("profiles.m.prompts.pin"),
        ),
        (
            "[profiles.m.prompts]\npin = \"\"\n".into(),
            Some("profiles.m.prompts.pin"),
        ),
        (
            "[profiles.m.prompts]\npin = \"enter-pin\"\n".into(),
            Some("profiles.m.prompts.pin"),
        ),
        ("[profiles.m.prompts]\npin = \"Enter_PIN_2\"\n".into(), None),
        (
            "[profiles.m.prompts]\nwelcome = \"hello\"\n".into(),
            Some("profiles.m.prompts.welcome"),
        ),
        (
            format!(
                "[profiles.m.agent_texts]\nverified = \"{}\"\n",
                "é".repeat(500)
            ),
            None,
        ),
        ("identify_attempts = 1\n".into(), None),
        ("identify_attempts = 10\n".into(), None),
        (
            "identify_attempts = 0\n".into(),
            Some("profiles.m.identify_attempts"),
        ),
        (
            "identify_attempts = 11\n".into(),
            Some("profiles.m.identify_attempts"),
        ),
        ("amount_tolerance_cents = 0\n".into(), None),
        ("amount_tolerance_cents = 100000\n".into(), None),
        (
            "amount_tolerance_cents = 100001\n".into(),
            Some("profiles.m.amount_tolerance_cents"),
        ),
        (
            "amount_tolerance_cents = -1\n".into(),
            Some("profiles.m.amount_tolerance_cents"),
        ),
        (
            known("methods = [\"pin\"]\nmin_correct = 1\nattempts = 10\n"),
            None,
        ),
        (
            known("methods = [\"pin\"]\nmin_correct = 1\nattempts = 11\n"),
            Some("profiles.m.ivr.known_number.attempts"),
        ),
        (
            known("methods = [\"dob\", \"zip\"]\nmin_correct = 2\n"),
            None,
        ),
        (
            "[profiles.m.checklist.known_number]\nquestions = [\"dob\"]\nmin_correct = 1\n".into(),
            None,
        ),
        (
            "[profiles.m.activation]\nmethods = [\"dob\"]\nmin_correct = 1\n".into(),
            None,
        ),
        (
            "[profiles.m.activation]\nenabled = false\nmethods = []\nmin_correct = 0\n".into(),
            None,
        ),
    ];
    for (fragment, refused) in cases {
        let got = issues(&format!("[profiles.m]\ndefault = true\n{fragment}"));
        let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            refused.into_iter().collect::<Vec<_>>(),
            "{fragment}: {got:?}"
        );
    }
}

#[test]
fn a_known_number_that_needs_nothing_is_warned_of_not_refused() {
    let ok = |text: &str| parse(text, Vec::new()).expect("a valid file");
    let weak = ok(
        "[profiles.m]\ndefault = true\n[profiles.m.ivr.known_number]\nmethods = []\nmin_correct = 0\n[profiles.m.checklist.known_number]\nquestions = []\nmin_correct = 0\n",
    );
    let of_profiles = |c: &crate::config::Config| -> Vec<String> {
        c.cautions()
            .into_iter()
            .map(|c| c.path)
            .filter(|p| p.starts_with("profiles."))
            .collect()
    };
    let paths = of_profiles(&weak);
    assert_eq!(
        paths,
        [
            "profiles.m.ivr.known_number.methods",
            "profiles.m.checklist.known_number.questions"
        ]
    );
    // a value listed twice where the second has no effect: a caution, not a refusal
    let twice = ok(
        "[profiles.m]\ndefault = true\nidentifiers = [\"member_number\", \"phone\", \"member_number\"]\n[profiles.m.activation]\nscenarios = [\"no_pin\", \"no_pin\"]\n",
    );
    let said: Vec<String> = twice
        .cautions()
        .iter()
        .filter(|c| c.path.starts_with("profiles."))
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        said,
        [
            "profiles.m.identifiers[2]: member_number is listed twice (the second has no effect)",
            "profiles.m.activation.scenarios[1]: no_pin is listed twice (the second has no effect)",
        ]
    );
    // a profile no call can reach: neither the default nor routed to
    let unused = "[profiles.m]\ndefault = true\n[profiles.business]\n[profiles.branch]\n";
    let said: Vec<String> = ok(unused)
        .cautions()
        .iter()
        .filter(|c| c.path.starts_with("profiles."))
        .map(ToString::to_string)
        .collect();
    let no_call = "no call uses it: it is not the default and no [[routing]] entry names it";
    assert_eq!(
        said,
        [
            format!("profiles.branch: {no_call}"),
            format!("profiles.business: {no_call}"),
        ]
    );
    let routed = format!("{unused}[[routing]]\ndnis = \"+18005550100\"\nprofile = \"business\"\n");
    let said: Vec<String> = ok(&routed)
        .cautions()
        .into_iter()
        .map(|c| c.path)
        .filter(|p| p.starts_with("profiles."))
        .collect();
    assert_eq!(said, ["profiles.branch"]);
    // the built-in profile, the example's and a profile asking for a PIN draw none
    assert!(of_profiles(&ok("")).is_empty());
    assert!(of_profiles(&ok(GOOD)).is_empty());
    let example = include_str!("../../config.example.toml");
    assert!(
        ok(example).cautions().is_empty(),
        "the installed file draws none at all"
    );
}

/// A profile that asks no member fact: PIN only, no checklist questions, no activation
/// checks, callers key member numbers only.
fn asking_nothing() -> Profile {
    let mut p = Profile {
        identifiers: vec![IdentifierKind::MemberNumber],
        ..Profile::default()
    };
    p.ivr.app_intent.methods = vec![];
    p.ivr.known_number.methods = vec![Method::Pin];
    p.ivr.unknown_number.methods = vec![Method::Pin];
    p.checklist.app_intent.questions.clear();
    p.checklist.known_number.questions.clear();
    p.checklist.unknown_number.questions.clear();
    p.activation.methods = vec![];
    p
}

/// The facts pre-enrollment warns a file leaves out are those some profile's call may use:
/// an IVR question at any trust level, a checklist question, an activation check while
/// activation is on, the e-mail an IVR code goes to, the account numbers callers may key.
#[test]
fn the_facts_calls_use_are_those_some_profile_asks() {
    type Change = fn(&mut Profile);
    let cases: &[(&str, Change, bool, &[&str])] = &[
        ("nothing asked", |_| {}, true, &[]),
        (
            "an IVR question, at any trust level",
            |p| p.ivr.app_intent.methods = vec![Method::Zip],
            false,
            &["zip"],
        ),
        (
            "IVR questions in Question::ALL's order, not the profile's",
            |p| p.ivr.unknown_number.methods = vec![Method::SsnLast4, Method::Pin, Method::Dob],
            false,
            &["dob", "ssn_last4"],
        ),
        (
            "a checklist question, the agent's only one too",
            |p| p.checklist.known_number.questions = vec![Question::PlaceOfBirth],
            false,
            &["place_of_birth"],
        ),
        (
            "an activation check while activation is on",
            |p| p.activation.methods = vec![Method::LastTxnDate],
            false,
            &["last_txn_date"],
        ),
        (
            "no activation check when activation is off",
            |p| {
                p.activation.methods = vec![Method::LastTxnDate];
                p.activation.enabled = false;
            },
            false,
            &[],
        ),
        (
            "no activation check when no scenario leads to it",
            |p| {
                p.activation.methods = vec![Method::LastTxnDate];
                p.activation.scenarios.clear();
            },
            false,
            &[],
        ),
        (
            "an IVR code by e-mail",
            |p| p.ivr.known_number.methods = vec![Method::Otp],
            true,
            &["email"],
        ),
        (
            "an IVR code by text message needs no e-mail",
            |p| p.ivr.known_number.methods = vec![Method::Otp],
            false,
            &[],
        ),
        ("e-mailed codes, but no step sends one", |_| {}, true, &[]),
        (
            "account numbers keyed",
            |p| p.identifiers.push(IdentifierKind::AccountNumber),
            false,
            &["account_numbers"],
        ),
        (
            "all of it at once",
            |p| {
                p.ivr.unknown_number.methods = vec![Method::Otp, Method::SavingsBalance];
                p.checklist.unknown_number.questions = vec![Question::LastTxnAmount];
                p.identifiers.push(IdentifierKind::AccountNumber);
            },
            true,
            &[
                "last_txn_amount",
                "savings_balance",
                "email",
                "account_numbers",
            ],
        ),
    ];
    for (what, change, email_codes, want) in cases {
        let mut p = asking_nothing();
        change(&mut p);
        for q in Question::ALL {
            assert_eq!(p.asks(q), want.contains(&q.as_str()), "{what}: asks {q:?}");
        }
        // alone, and beside a profile that asks nothing: any profile's use counts
        let alone = BTreeMap::from([("p".to_string(), p.clone())]);
        assert_eq!(facts_used(&alone, *email_codes), *want, "{what}");
        let beside = BTreeMap::from([("a".to_string(), asking_nothing()), ("p".to_string(), p)]);
        assert_eq!(
            facts_used(&beside, *email_codes),
            *want,
            "{what}, beside another"
        );
    }
    // no profile configured: the built-in one's, as calls then use it
    let none: BTreeMap<String, Profile> = BTreeMap::new();
    assert_eq!(
        facts_used(&none, true),
        [
            "dob",
            "zip",
            "ssn_last4",
            "last_txn_amount",
            "last_txn_date",
            "savings_balance",
            "place_of_birth",
            "account_numbers"
        ]
    );
}
