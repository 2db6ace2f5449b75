use chrono::{TimeZone, Utc};

use super::*;
use crate::config::PinPolicyConfig;
use crate::dialog::{Arrival, Level, NewCall, Purpose, Reason, Rules};
use crate::lockout;
use crate::profile::Profile;

/// A call in `phase` with `trust`: a caller with no caller ID, then moved there.
fn call(phase: Phase, trust: Option<Trust>) -> Call {
    let policy = PinPolicyConfig::default();
    let rules = Rules {
        pin_policy: &policy,
        answer_lockout: lockout::Policy {
            max_wrong: 4,
            lock_for: None,
            reset_after: None,
        },
        new_pin_attempts: 3,
        now: Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap(),
    };
    let new = NewCall {
        call_id: "c1".into(),
        ani: None,
        caller_id_check: None,
        dnis: None,
        profile_name: "members".into(),
        profile: Profile::default().into(),
    };
    let mut c = dialog::start(new, Arrival::NoCallerId, &rules).call;
    c.phase = phase;
    c.trust = trust;
    c
}

fn done(ending: Ending, reason: Option<Reason>, level: Option<Level>) -> Phase {
    Phase::Done {
        ending,
        reason,
        level,
    }
}

fn finish(
    outcome: &'static str,
    level: &'static str,
    reason: &'static str,
    status: &'static str,
    trust: &'static str,
) -> Option<Finish> {
    Some(Finish {
        outcome,
        level,
        reason,
        status,
        trust,
    })
}

fn new_pin(purpose: Purpose) -> Phase {
    Phase::NewPin {
        purpose,
        why: "no_pin".into(),
        attempts_used: 0,
    }
}

#[test]
fn a_call_counts_once_by_how_its_dialog_ended_or_where_it_was_closed() {
    use Trust::*;
    let identifying = Phase::Identifying {
        attempts_used: 1,
        keyed_any: true,
    };
    // (phase, trust, as it ended, as a hang-up closed it)
    let cases = [
        (
            done(Ending::Authenticated, None, Some(Level::Questions)),
            Some(KnownNumber),
            finish("authenticated", "questions", "", "", "known_number"),
            None,
        ),
        (
            done(Ending::Authenticated, None, Some(Level::AppIntent)),
            Some(AppIntent),
            finish("authenticated", "app_intent", "", "", "app_intent"),
            None,
        ),
        (
            done(Ending::Transfer, Some(Reason::OptOut), None),
            None,
            finish("transfer", "", "opt_out", "", "none"),
            None,
        ),
        (
            done(Ending::Transfer, Some(Reason::Locked), None),
            Some(UnknownNumber),
            finish("transfer", "", "locked", "", "unknown_number"),
            None,
        ),
        (
            identifying,
            None,
            None,
            finish("hung_up", "", "", "identifying", "none"),
        ),
        // waiting for its code to be sent: still verifying
        (
            Phase::Verifying,
            Some(UnknownNumber),
            None,
            finish("hung_up", "", "", "verifying", "unknown_number"),
        ),
        (
            new_pin(Purpose::Activation),
            Some(KnownNumber),
            None,
            finish("hung_up", "", "", "activating", "known_number"),
        ),
        (
            new_pin(Purpose::Change),
            Some(KnownNumber),
            None,
            finish("hung_up", "", "", "changing_pin", "known_number"),
        ),
    ];
    for (phase, trust, as_ended, as_hung_up) in cases {
        let c = call(phase.clone(), trust);
        assert_eq!(ended(&c), as_ended, "{phase:?}");
        assert_eq!(closed(&c, Close::HungUp), as_hung_up, "{phase:?}");
        // an expiry counts where a hang-up would, as `expired`
        let expired = as_hung_up.map(|f| Finish {
            outcome: "expired",
            ..f
        });
        assert_eq!(closed(&c, Close::Expired), expired, "{phase:?}");
    }
}
