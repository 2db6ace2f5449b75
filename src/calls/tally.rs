//! What the calls count in `/metrics`, for the contact center's own dashboards: calls
//! started by the channel's trust, calls finished by how they ended (the IVR's containment:
//! authenticated, or sent to an agent and why; or closed before either), and agents'
//! verdicts. A change is counted once it is durable, and once: a retried input that was
//! already taken counts nothing.
//!
//! Which labels a call counts under is decided here, from the call alone, so that it can be
//! tested as a table; the service records them after each commit.

use crate::dialog::{self, Call, CallerIdCheck, Ending, Phase, Trust};

/// How a call was closed before its dialog ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// The IVR reported the hang-up (`DELETE /v1/calls/{call_id}`).
    HungUp,
    /// No step came for `calls.idle_minutes`.
    Expired,
}

/// The labels of one finished call in `callvault_calls_finished_total`. A label that does
/// not apply is empty, so every series has the same label names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finish {
    /// `authenticated`, `transfer` (the dialog's ending, as in the STEP), `hung_up` or
    /// `expired` (closed before an ending).
    pub outcome: &'static str,
    /// The STEP's `level`, for `authenticated`.
    pub level: &'static str,
    /// The STEP's `reason`, for `transfer`.
    pub reason: &'static str,
    /// Where the dialog was (the STEP's `status`), for `hung_up` and `expired`.
    pub status: &'static str,
    /// The call's trust at its end (`none` while no member was found).
    pub trust: &'static str,
}

pub fn trust(call: &Call) -> &'static str {
    call.trust.map_or("none", Trust::as_str)
}

/// How a call whose dialog has just ended counts; `None` while it goes on.
pub fn ended(call: &Call) -> Option<Finish> {
    let Phase::Done {
        ending,
        reason,
        level,
    } = &call.phase
    else {
        return None;
    };
    Some(Finish {
        outcome: match ending {
            Ending::Authenticated => "authenticated",
            Ending::Transfer => "transfer",
        },
        level: level.map_or("", dialog::level_name),
        reason: reason.map_or("", |r| r.as_str()),
        status: "",
        trust: trust(call),
    })
}

/// How a call closed before its dialog ended counts; `None` for one whose dialog had ended
/// (it was counted then).
pub fn closed(call: &Call, how: Close) -> Option<Finish> {
    if dialog::is_done(call) {
        return None;
    }
    Some(Finish {
        outcome: match how {
            Close::HungUp => "hung_up",
            Close::Expired => "expired",
        },
        level: "",
        reason: "",
        status: dialog::status(call).as_str(),
        trust: trust(call),
    })
}

/// How long a call's dialog has taken, from its start to its last step (its ending, once
/// it has one), in seconds.
pub fn dialog_seconds(call: &Call) -> f64 {
    (call.updated_at - call.started_at)
        .num_milliseconds()
        .max(0) as f64
        / 1000.0
}

/// Count a call started, with its trust at the start (its [`trust`]), and its end if it
/// ended at once (its [`ended`]).
pub fn record_start(trust: &'static str, ended: Option<Finish>) {
    metrics::counter!("callvault_calls_started_total", "trust" => trust).increment(1);
    if let Some(f) = ended {
        record_ending(f, 0.0);
    }
}

/// Count what the carrier said of a started call's caller ID (`verstat`), when the IVR
/// passed it on: `passed`, `failed`, `no_validation`, or `unreadable` for a value that is
/// none of these.
pub fn record_caller_id_check(check: Option<CallerIdCheck>, unreadable: bool) {
    let label = match (check, unreadable) {
        (Some(c), _) => c.as_str(),
        (None, true) => "unreadable",
        (None, false) => return,
    };
    metrics::counter!("callvault_caller_id_checks_total", "verstat" => label).increment(1);
}

/// Count a call whose dialog just ended (its [`ended`]), and time it (its
/// [`dialog_seconds`]).
pub fn record_ending(f: Finish, seconds: f64) {
    record(f);
    metrics::histogram!("callvault_call_dialog_seconds", "outcome" => f.outcome).record(seconds);
}

/// Count a finished call (one closed before its ending: [`closed`]).
pub fn record(f: Finish) {
    metrics::counter!(
        "callvault_calls_finished_total",
        "outcome" => f.outcome,
        "level" => f.level,
        "reason" => f.reason,
        "status" => f.status,
        "trust" => f.trust
    )
    .increment(1);
}

/// Count an agent's verdict on a member: by `checklist` (no channel), or by `challenge`
/// and its channel (`sms`, `email`, `push`).
pub fn record_verdict(method: &'static str, channel: &'static str, verified: bool) {
    metrics::counter!(
        "callvault_member_verdicts_total",
        "method" => method,
        "channel" => channel,
        "result" => if verified { "verified" } else { "not_verified" }
    )
    .increment(1);
}

/// Count a member just locked out by a run of wrong PINs or keypad answers (the step's
/// `member_locked` audit event).
pub fn record_lock(by: dialog::Lock) {
    metrics::counter!("callvault_members_locked_total", "by" => by.as_str()).increment(1);
}

/// Describe the metrics counted here (once, when the recorder is installed).
pub fn describe() {
    metrics::describe_counter!(
        "callvault_calls_started_total",
        "calls started, by the channel's trust at the start (none: no member found yet)"
    );
    metrics::describe_counter!(
        "callvault_caller_id_checks_total",
        "calls started whose IVR passed on the carrier's STIR/SHAKEN verdict on the caller ID \
         (verstat: passed, failed, no_validation; unreadable: a value that is none of these)"
    );
    metrics::describe_counter!(
        "callvault_calls_finished_total",
        "calls whose dialog ended (authenticated by level, transfer by reason) or that were \
         closed before it did (hung_up, expired, by the status they were in), by trust"
    );
    metrics::describe_histogram!(
        "callvault_call_dialog_seconds",
        metrics::Unit::Seconds,
        "a call's time in the dialog, from its start to its ending, by outcome \
         (authenticated, transfer)"
    );
    metrics::describe_counter!(
        "callvault_members_locked_total",
        "members locked out by the IVR's calls, by the run that did it (pins: \
         lockout.max_wrong_pins wrong PINs; answers: lockout.max_wrong_answers wrong keypad \
         answers); a surge is someone guessing at members' PINs or facts"
    );
    // both series from the start, so that Prometheus sees the first lock as an increase
    for by in [dialog::Lock::Pins, dialog::Lock::Answers] {
        metrics::counter!("callvault_members_locked_total", "by" => by.as_str()).increment(0);
    }
    metrics::describe_counter!(
        "callvault_member_verdicts_total",
        "agents' verdicts on members (checklist; challenge, by channel), verified or not"
    );
}

#[cfg(test)]
mod tests;
