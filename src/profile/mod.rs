//! Authentication profiles (`[profiles.NAME]`) and their routing by dialed number
//! (`[[routing]]`): what a call must prove at each trust level, which identifiers a caller
//! may key, the agent checklist, and activation (seed 003). Plain data plus the checks
//! `callvault config check` runs; the dialog reads them.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::ConfigIssue;
use crate::core::IdentifierKind;
use crate::enroll::progress::counted;
use crate::member::phone::{Region, normalize_dnis, uri_number};
use crate::pin::ActivationScenario;

mod shared;
pub use shared::SharedProfile;

/// A question about the member's own facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Question {
    Dob,
    Zip,
    SsnLast4,
    LastTxnAmount,
    LastTxnDate,
    SavingsBalance,
    /// Not answerable on a keypad: agent checklists only.
    PlaceOfBirth,
}

impl Question {
    pub const ALL: [Question; 7] = [
        Question::Dob,
        Question::Zip,
        Question::SsnLast4,
        Question::LastTxnAmount,
        Question::LastTxnDate,
        Question::SavingsBalance,
        Question::PlaceOfBirth,
    ];

    /// The question an id names (`dob`, `place_of_birth`, ...).
    pub fn parse(id: &str) -> Option<Question> {
        Question::ALL.into_iter().find(|q| q.as_str() == id)
    }

    /// Whether a caller can answer it with digits.
    pub fn keypad(self) -> bool {
        self != Question::PlaceOfBirth
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Question::Dob => "dob",
            Question::Zip => "zip",
            Question::SsnLast4 => "ssn_last4",
            Question::LastTxnAmount => "last_txn_amount",
            Question::LastTxnDate => "last_txn_date",
            Question::SavingsBalance => "savings_balance",
            Question::PlaceOfBirth => "place_of_birth",
        }
    }
}

/// One way of proving identity in the IVR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Pin,
    Otp,
    Dob,
    Zip,
    SsnLast4,
    LastTxnAmount,
    LastTxnDate,
    SavingsBalance,
}

impl Method {
    /// Every method; the keypad questions are all but the first two.
    pub const ALL: [Method; 8] = [
        Method::Pin,
        Method::Otp,
        Method::Dob,
        Method::Zip,
        Method::SsnLast4,
        Method::LastTxnAmount,
        Method::LastTxnDate,
        Method::SavingsBalance,
    ];

    /// The name a profile lists it by (`pin`, `ssn_last4`, ...).
    pub fn as_str(self) -> &'static str {
        match self.question() {
            Some(q) => q.as_str(),
            None if self == Method::Pin => "pin",
            None => "otp",
        }
    }

    /// The keypad question this method asks, if it is one.
    pub fn question(self) -> Option<Question> {
        match self {
            Method::Pin | Method::Otp => None,
            Method::Dob => Some(Question::Dob),
            Method::Zip => Some(Question::Zip),
            Method::SsnLast4 => Some(Question::SsnLast4),
            Method::LastTxnAmount => Some(Question::LastTxnAmount),
            Method::LastTxnDate => Some(Question::LastTxnDate),
            Method::SavingsBalance => Some(Question::SavingsBalance),
        }
    }
}

/// What one trust level requires: methods asked in order, how many must pass, and how many
/// tries each method gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub methods: Vec<Method>,
    pub min_correct: u32,
    #[serde(default = "one")]
    pub attempts: u32,
}

fn one() -> u32 {
    1
}

fn three() -> u32 {
    3
}

fn yes() -> bool {
    true
}

impl Step {
    fn questions(methods: &[Method], min_correct: u32) -> Step {
        Step {
            methods: methods.to_vec(),
            min_correct,
            attempts: 1,
        }
    }
}

/// The IVR's requirements by trust level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IvrSteps {
    /// The call was announced by the member's signed-in app.
    pub app_intent: Step,
    /// The caller ID is a verified phone of the member.
    pub known_number: Step,
    /// Any other caller ID, or none.
    pub unknown_number: Step,
}

impl Default for IvrSteps {
    fn default() -> Self {
        use Method::*;
        IvrSteps {
            app_intent: Step::questions(&[], 0),
            known_number: Step::questions(&[Dob, Zip, SsnLast4], 2),
            unknown_number: Step::questions(
                &[Dob, Zip, SsnLast4, LastTxnAmount, SavingsBalance],
                3,
            ),
        }
    }
}

impl IvrSteps {
    /// Each trust level's step, with the name the config's key path gives it.
    pub fn by_trust(&self) -> [(&'static str, &Step); 3] {
        [
            ("app_intent", &self.app_intent),
            ("known_number", &self.known_number),
            ("unknown_number", &self.unknown_number),
        ]
    }
}

/// Agent-run questions (seed 004) for one trust level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checklist {
    pub questions: Vec<Question>,
    pub min_correct: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Checklists {
    pub app_intent: Checklist,
    pub known_number: Checklist,
    pub unknown_number: Checklist,
}

impl Checklists {
    /// Each trust level's checklist, with the name the config's key path gives it.
    pub fn by_trust(&self) -> [(&'static str, &Checklist); 3] {
        [
            ("app_intent", &self.app_intent),
            ("known_number", &self.known_number),
            ("unknown_number", &self.unknown_number),
        ]
    }
}

impl Default for Checklists {
    fn default() -> Self {
        use Question::*;
        Checklists {
            app_intent: Checklist {
                questions: vec![],
                min_correct: 0,
            },
            known_number: Checklist {
                questions: vec![LastTxnAmount, PlaceOfBirth, SavingsBalance],
                min_correct: 2,
            },
            unknown_number: Checklist {
                questions: vec![
                    LastTxnDate,
                    LastTxnAmount,
                    PlaceOfBirth,
                    SavingsBalance,
                    Dob,
                ],
                min_correct: 3,
            },
        }
    }
}

/// Seed 003: when a member goes through activation, and what extra checks come before the
/// new PIN (the "activation profile").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Activation {
    pub enabled: bool,
    /// Checked in this order; the first that matches decides.
    pub scenarios: Vec<ActivationScenario>,
    /// The extra identity checks before the new PIN: keypad questions.
    pub methods: Vec<Method>,
    pub min_correct: u32,
}

impl Default for Activation {
    fn default() -> Self {
        Activation {
            enabled: true,
            scenarios: ActivationScenario::ALL.to_vec(),
            methods: vec![Method::Dob, Method::SsnLast4],
            min_correct: 2,
        }
    }
}

impl Activation {
    /// The scenarios in force: none when activation is off.
    pub fn active_scenarios(&self) -> &[ActivationScenario] {
        if self.enabled { &self.scenarios } else { &[] }
    }
}

/// One authentication profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The profile for a dialed number no route names.
    #[serde(default)]
    pub default: bool,
    #[serde(default = "yes")]
    pub identify_by_ani: bool,
    #[serde(default = "all_identifiers")]
    pub identifiers: Vec<IdentifierKind>,
    #[serde(default = "three")]
    pub identify_attempts: u32,
    #[serde(default)]
    pub ivr: IvrSteps,
    #[serde(default)]
    pub checklist: Checklists,
    #[serde(default)]
    pub activation: Activation,
    /// A call from the phone an app intent announced, within the intent's TTL, counts as
    /// the intent (trust `app_intent`) when the number is the member's verified phone.
    /// Presenting the intent's token always does.
    #[serde(default = "yes")]
    pub app_intent_by_ani: bool,
    /// Added to the slack when matching keyed amounts (`last_txn_amount`,
    /// `savings_balance`); whole-dollar answers already match within a dollar.
    #[serde(default)]
    pub amount_tolerance_cents: i64,
    /// Prompt keys the IVR maps to audio, by step: `identifier`, `pin`, `new_pin`,
    /// `confirm_pin`, or a question (`dob`, `zip`, ...). Unset steps use the default key.
    #[serde(default)]
    pub prompts: BTreeMap<String, String>,
    /// What the agent's screen says (seed 004): a checklist question's text, by its id
    /// (`place_of_birth`, `dob`, ...), and the message for the checklist's verdict
    /// (`verified`, `not_verified`). Unset keys use [`AGENT_TEXTS`] and the questions'
    /// default texts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub agent_texts: BTreeMap<String, String>,
}

/// The messages for a checklist's verdict, as seed 004 words them.
pub const AGENT_TEXTS: [(&str, &str); 2] = [
    (
        "verified",
        "Congratulations - Customer is fully authenticated",
    ),
    (
        "not_verified",
        "Unfortunately we cannot proceed further with any account related queries/requests - \
         please ask the customer to contact us directly via the app if he/she has access to it \
         at the moment.",
    ),
];

/// The longest agent text, in characters.
pub const AGENT_TEXT_MAX: usize = 500;

/// The steps a profile may name a prompt for, with their default prompt keys.
pub const PROMPTS: [(&str, &str); 11] = [
    ("identifier", "enter_member_number"),
    ("pin", "enter_pin"),
    ("new_pin", "enter_new_pin"),
    ("confirm_pin", "confirm_new_pin"),
    ("dob", "enter_dob_mmddyyyy"),
    ("zip", "enter_zip"),
    ("ssn_last4", "enter_ssn_last4"),
    ("last_txn_amount", "enter_last_txn_amount"),
    ("last_txn_date", "enter_last_txn_date_mmddyyyy"),
    ("savings_balance", "enter_savings_balance"),
    ("otp", "enter_code_sent"),
];

impl Profile {
    /// The text the agent's screen shows for `key`: a checklist question's id or a verdict
    /// (`verified`, `not_verified`). `fallback` is a question's default text.
    pub fn agent_text(&self, key: &str, fallback: &str) -> String {
        match self.agent_texts.get(key) {
            Some(t) => t.clone(),
            None => AGENT_TEXTS
                .iter()
                .find(|(k, _)| *k == key)
                .map_or(fallback, |(_, t)| t)
                .to_string(),
        }
    }

    /// The prompt key for a step.
    pub fn prompt(&self, step: &str) -> String {
        match self.prompts.get(step) {
            Some(p) => p.clone(),
            None => PROMPTS
                .iter()
                .find(|(s, _)| *s == step)
                .map_or_else(|| format!("enter_{step}"), |(_, p)| (*p).to_string()),
        }
    }
}

fn all_identifiers() -> Vec<IdentifierKind> {
    vec![
        IdentifierKind::MemberNumber,
        IdentifierKind::AccountNumber,
        IdentifierKind::Phone,
    ]
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            default: true,
            identify_by_ani: true,
            identifiers: all_identifiers(),
            identify_attempts: 3,
            ivr: IvrSteps::default(),
            checklist: Checklists::default(),
            activation: Activation::default(),
            app_intent_by_ani: true,
            amount_tolerance_cents: 0,
            prompts: BTreeMap::new(),
            agent_texts: BTreeMap::new(),
        }
    }
}

/// `[[routing]]`: a dialed number and the profile its calls use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// An E.164 number, or a [`line_label`].
    pub dnis: String,
    pub profile: String,
}

/// Whether a route's `dnis` names a line as a PBX hands it to the IVR, not as a phone
/// number: an extension, a VDN or route point (`5000`: 1 to 7 digits), or a SIP user name
/// (`members-line`: letters, digits, `.`, `_` and `-`, with a letter, at most 64). A call's
/// `dnis` (or the user part of its `sip:` or `tel:` URI) matches it as written, in any case.
/// Eight or more digits are a phone number, so they must be written in E.164: the route of a
/// number missing its `+` is refused, not taken as a label no call would match.
pub fn line_label(dnis: &str) -> bool {
    let b = dnis.as_bytes();
    let digits = b.iter().all(u8::is_ascii_digit);
    match digits {
        true => (1..=7).contains(&b.len()),
        false => {
            b.len() <= 64
                && b.iter().any(u8::is_ascii_alphabetic)
                && (b.iter()).all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
        }
    }
}

/// What a call's `dnis`, as the IVR sent it, is routed by: the number of a `tel:` or `sip:`
/// URI ([`uri_number`]); a route's [`line_label`] as it is; else the number in E.164, or the
/// text as it is when it is no number. None when it is empty.
pub fn dialed(routing: &[Route], dnis: &str, region: Region) -> Option<String> {
    let d = uri_number(dnis);
    if d.is_empty() {
        return None;
    }
    if routing.iter().any(|r| r.dnis.eq_ignore_ascii_case(d)) {
        return Some(d.to_string());
    }
    Some(normalize_dnis(d, region).unwrap_or_else(|| d.to_string()))
}

impl Profile {
    /// Whether a call under this profile may ask `q`: in the IVR at any trust level, in
    /// activation (while it is on) or on an agent's checklist.
    pub fn asks(&self, q: Question) -> bool {
        let by_ivr = (self.ivr.by_trust().into_iter())
            .any(|(_, step)| step.methods.iter().any(|m| m.question() == Some(q)));
        let by_activation = !self.activation.active_scenarios().is_empty()
            && self
                .activation
                .methods
                .iter()
                .any(|m| m.question() == Some(q));
        let by_checklist =
            (self.checklist.by_trust().into_iter()).any(|(_, list)| list.questions.contains(&q));
        by_ivr || by_activation || by_checklist
    }
}

/// The member facts calls under `profiles` use, each named as its pre-enrollment column:
/// the questions any of them may ask ([`Profile::asks`], in [`Question::ALL`]'s order), then
/// `email` when an IVR step sends its one-time code by e-mail (`email_codes`: the config's
/// `otp.ivr_channel` is e-mail), then `account_numbers` when callers may key an account
/// number. With no profile configured, the built-in one's (as calls then use it).
pub fn facts_used<P: Borrow<Profile>>(
    profiles: &BTreeMap<String, P>,
    email_codes: bool,
) -> Vec<&'static str> {
    let built_in = Profile::default();
    let in_force: Vec<&Profile> = match profiles.is_empty() {
        true => vec![&built_in],
        false => profiles.values().map(Borrow::borrow).collect(),
    };
    let any = |f: &dyn Fn(&Profile) -> bool| in_force.iter().any(|p| f(p));
    let mut used: Vec<&'static str> = (Question::ALL.into_iter())
        .filter(|q| any(&|p| p.asks(*q)))
        .map(Question::as_str)
        .collect();
    let sends_codes = |p: &Profile| {
        (p.ivr.by_trust().into_iter()).any(|(_, step)| step.methods.contains(&Method::Otp))
    };
    if email_codes && any(&sends_codes) {
        used.push("email");
    }
    if any(&|p| p.identifiers.contains(&IdentifierKind::AccountNumber)) {
        used.push("account_numbers");
    }
    used
}

/// The name of the built-in profile used when the config defines none.
pub const BUILT_IN: &str = "default";

/// The profile for a call to `dnis` (already [`dialed`]), with its name.
pub fn for_dnis<'a, P: Borrow<Profile>>(
    profiles: &'a BTreeMap<String, P>,
    routing: &[Route],
    dnis: Option<&str>,
) -> Option<(&'a str, &'a P)> {
    let routed = dnis.and_then(|d| routing.iter().find(|r| r.dnis.eq_ignore_ascii_case(d)));
    let name = match routed {
        Some(r) => Some(r.profile.as_str()),
        None => profiles
            .iter()
            .find(|(_, p)| (*p).borrow().default)
            .map(|(n, _)| n.as_str()),
    };
    name.and_then(|n| profiles.get_key_value(n))
        .map(|(n, p)| (n.as_str(), p))
}

fn check_step(path: &str, step: &Step, issues: &mut Vec<ConfigIssue>) {
    let n = step.methods.len() as u32;
    if step.min_correct > n {
        issues.push(ConfigIssue::new(
            format!("{path}.min_correct"),
            format!(
                "{} is more than the {} listed",
                step.min_correct,
                counted(n.into(), "methods")
            ),
        ));
    }
    if n > 0 && step.min_correct == 0 {
        issues.push(ConfigIssue::new(
            format!("{path}.min_correct"),
            "0 with methods listed would ask questions that cannot matter".to_string(),
        ));
    }
    let methods = format!("{path}.methods");
    listed_twice(&methods, &step.methods, |m| m.as_str(), "", issues);
    if !(1..=10).contains(&step.attempts) {
        issues.push(ConfigIssue::new(
            format!("{path}.attempts"),
            format!("{} is outside 1..=10", step.attempts),
        ));
    }
}

/// An item a list holds twice, at the index of its second place: `dob is listed twice`,
/// then `why`. In the IVR's methods and a checklist it is refused: one proof would be asked
/// for, or shown to the agent, as two. In the identifiers and the activation scenarios the
/// second has no effect, and it is a caution.
fn listed_twice<T: PartialEq>(
    path: &str,
    list: &[T],
    name: impl Fn(&T) -> &'static str,
    why: &str,
    issues: &mut Vec<ConfigIssue>,
) {
    for (i, item) in list.iter().enumerate() {
        if list[..i].contains(item) {
            issues.push(ConfigIssue::new(
                format!("{path}[{i}]"),
                format!("{} is listed twice{why}", name(item)),
            ));
        }
    }
}

/// Every problem with the profiles and routing, each with its key path.
pub fn validate<P: Borrow<Profile>>(
    profiles: &BTreeMap<String, P>,
    routing: &[Route],
) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    let defaults: Vec<&String> = profiles
        .iter()
        .filter(|(_, p)| (*p).borrow().default)
        .map(|(n, _)| n)
        .collect();
    if defaults.len() > 1 {
        issues.push(ConfigIssue::new(
            format!("profiles.{}.default", defaults[1]),
            format!(
                "only one profile may be the default ({} are)",
                defaults
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if !profiles.is_empty() && defaults.is_empty() {
        issues.push(ConfigIssue::new(
            "profiles",
            "one profile must have default = true (for dialed numbers no route names)".to_string(),
        ));
    }
    for (name, p) in profiles {
        let p: &Profile = p.borrow();
        let at = |k: &str| format!("profiles.{name}.{k}");
        for (trust, step) in p.ivr.by_trust() {
            check_step(&at(&format!("ivr.{trust}")), step, &mut issues);
        }
        // Seed 004: an unknown number proves nothing by itself. With nothing to ask, anyone
        // who keys a member number would be authenticated, and the agent's checklist would
        // mark them verified before a question.
        if p.ivr.unknown_number.methods.is_empty() {
            issues.push(ConfigIssue::new(
                at("ivr.unknown_number.methods"),
                "none listed would authenticate any caller who keys a member number: list \
                 methods with min_correct 1 or more",
            ));
        }
        if p.checklist.unknown_number.questions.is_empty() {
            issues.push(ConfigIssue::new(
                at("checklist.unknown_number.questions"),
                "none listed would mark a caller from an unknown number verified before a \
                 single question: list questions with min_correct 1 or more",
            ));
        }
        for (trust, list) in p.checklist.by_trust() {
            let n = list.questions.len() as u32;
            if list.min_correct > n {
                issues.push(ConfigIssue::new(
                    at(&format!("checklist.{trust}.min_correct")),
                    format!(
                        "{} is more than the {} listed",
                        list.min_correct,
                        counted(n.into(), "questions")
                    ),
                ));
            }
            listed_twice(
                &at(&format!("checklist.{trust}.questions")),
                &list.questions,
                |q| q.as_str(),
                "",
                &mut issues,
            );
            // as for the IVR's steps: the agent's verdict would be "verified" before a
            // single question is asked
            if n > 0 && list.min_correct == 0 {
                issues.push(ConfigIssue::new(
                    at(&format!("checklist.{trust}.min_correct")),
                    "0 with questions listed would mark the caller verified before any is asked",
                ));
            }
        }
        let activation = Step {
            methods: p.activation.methods.clone(),
            min_correct: p.activation.min_correct,
            attempts: 1,
        };
        check_step(&at("activation"), &activation, &mut issues);
        // Seed 003: activation verifies identity before a new PIN. Without a check, a caller
        // who keys the member number of a member with no PIN would set one and be in.
        if p.activation.min_correct == 0 && !p.activation.active_scenarios().is_empty() {
            issues.push(ConfigIssue::new(
                at("activation.min_correct"),
                "0 lets a caller set a new PIN without proving who they are: list the keypad \
                 checks activation asks (methods) with min_correct 1 or more, or set \
                 enabled = false",
            ));
        }
        for (i, m) in p.activation.methods.iter().enumerate() {
            if m.question().is_none() {
                issues.push(ConfigIssue::new(
                    at(&format!("activation.methods[{i}]")),
                    "activation checks are keypad questions (dob, zip, ssn_last4, ...)",
                ));
            }
        }
        if p.identifiers.is_empty() && !p.identify_by_ani {
            issues.push(ConfigIssue::new(
                at("identifiers"),
                "with identify_by_ani = false, callers need at least one identifier to key",
            ));
        }
        for (step, key) in &p.prompts {
            if !PROMPTS.iter().any(|(s, _)| s == step) {
                let steps = PROMPTS.map(|(s, _)| s);
                issues.push(ConfigIssue::new(
                    at(&format!("prompts.{step}")),
                    match crate::spelling::nearest(step, steps) {
                        Some(meant) => format!("no step {step:?}; did you mean {meant}?"),
                        None => format!(
                            "no step {step:?}; prompts can be set for {}",
                            steps.join(", ")
                        ),
                    },
                ));
            } else if key.is_empty()
                || key.len() > 64
                || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                issues.push(ConfigIssue::new(
                    at(&format!("prompts.{step}")),
                    "a prompt key is 1 to 64 letters, digits and underscores".to_string(),
                ));
            }
        }
        for (key, text) in &p.agent_texts {
            let at_key = at(&format!("agent_texts.{key}"));
            if Question::parse(key).is_none() && !AGENT_TEXTS.iter().any(|(k, _)| k == key) {
                let verdicts = AGENT_TEXTS.map(|(k, _)| k);
                let questions = Question::ALL.map(|q| q.as_str());
                let meant = crate::spelling::nearest(key, verdicts.into_iter().chain(questions));
                issues.push(ConfigIssue::new(
                    at_key,
                    match meant {
                        Some(meant) => format!("no text {key:?}; did you mean {meant}?"),
                        None => format!(
                            "no text {key:?}; agent texts can be set for the verdicts ({}) and \
                             the checklist questions ({})",
                            verdicts.join(", "),
                            questions.join(", ")
                        ),
                    },
                ));
            } else if text.trim().is_empty()
                || text.chars().count() > AGENT_TEXT_MAX
                || text.chars().any(char::is_control)
            {
                issues.push(ConfigIssue::new(
                    at_key,
                    format!(
                        "an agent text is 1 to {AGENT_TEXT_MAX} characters on one line, not blank"
                    ),
                ));
            }
        }
        if !(0..=100_000).contains(&p.amount_tolerance_cents) {
            issues.push(ConfigIssue::new(
                at("amount_tolerance_cents"),
                format!("{} is outside 0..=100000", p.amount_tolerance_cents),
            ));
        }
        if !(1..=10).contains(&p.identify_attempts) {
            issues.push(ConfigIssue::new(
                at("identify_attempts"),
                format!("{} is outside 1..=10", p.identify_attempts),
            ));
        }
    }
    for (i, r) in routing.iter().enumerate() {
        if !profiles.contains_key(&r.profile) {
            let meant = crate::spelling::nearest(&r.profile, profiles.keys().map(String::as_str));
            issues.push(ConfigIssue::new(
                format!("routing[{i}].profile"),
                match meant {
                    Some(name) => format!(
                        "no profile {:?} is defined; did you mean {name}?",
                        r.profile
                    ),
                    None => format!("no profile {:?} is defined", r.profile),
                },
            ));
        }
        if routing[..i]
            .iter()
            .any(|o| o.dnis.eq_ignore_ascii_case(&r.dnis))
        {
            issues.push(ConfigIssue::new(
                format!("routing[{i}].dnis"),
                format!("{:?} is routed twice", r.dnis),
            ));
        }
    }
    issues
}

/// What the profiles allow that works but is weak, or has no effect: `config check` prints
/// these as warnings and the service logs them when it loads or reloads the profiles.
/// Nothing here is refused.
pub fn cautions<P: Borrow<Profile>>(
    profiles: &BTreeMap<String, P>,
    routing: &[Route],
) -> Vec<ConfigIssue> {
    let mut cautions = Vec::new();
    for (name, p) in profiles {
        let p: &Profile = p.borrow();
        let at = |k: &str| format!("profiles.{name}.{k}");
        // a profile being written before its route is added is fine, but one whose route
        // was misspelt or forgotten would leave its callers on the default without a word
        if !p.default && !routing.iter().any(|r| &r.profile == name) {
            cautions.push(ConfigIssue::new(
                format!("profiles.{name}"),
                "no call uses it: it is not the default and no [[routing]] entry names it",
            ));
        }
        let no_effect = " (the second has no effect)";
        listed_twice(
            &at("identifiers"),
            &p.identifiers,
            |k| k.as_str(),
            no_effect,
            &mut cautions,
        );
        listed_twice(
            &at("activation.scenarios"),
            &p.activation.scenarios,
            |s| s.as_str(),
            no_effect,
            &mut cautions,
        );
        if p.ivr.known_number.methods.is_empty() {
            cautions.push(ConfigIssue::new(
                format!("profiles.{name}.ivr.known_number.methods"),
                "none listed authenticates a call from a member's verified phone on its caller \
                 ID alone, which a caller can spoof (its STEP says level null, trust \
                 known_number); have the IVR pass on the carrier's verstat, so that a caller ID \
                 that failed STIR/SHAKEN is asked what unknown_number asks",
            ));
        }
        if p.checklist.known_number.questions.is_empty() {
            cautions.push(ConfigIssue::new(
                format!("profiles.{name}.checklist.known_number.questions"),
                "none listed marks a caller from a member's verified phone verified on its \
                 caller ID alone, which a caller can spoof",
            ));
        }
    }
    cautions
}

#[cfg(test)]
mod tests;
