//! The agent-run checklist (seed 004): questions for the call's trust level, the agent ticks
//! each as answered correctly or not, and the verdict comes as soon as it is certain.

use serde::{Deserialize, Serialize};

use crate::profile::{Checklist, Question};

/// Where a checklist stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pending,
    Verified,
    NotVerified,
}

impl Verdict {
    /// As the checklist's `result` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pending => "pending",
            Verdict::Verified => "verified",
            Verdict::NotVerified => "not_verified",
        }
    }
}

/// A checklist in progress, kept with the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistState {
    pub questions: Vec<Question>,
    pub required: u32,
    /// One per question: `None` until the agent ticks it.
    pub answers: Vec<Option<bool>>,
}

/// Why a tick was refused. Each names the question ticked, and the first the questions the
/// checklist does ask, so an agent desktop's developer sees the slip at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TickError {
    #[error("{} is not on this call's checklist, which asks {}", .asked.as_str(), names(.on))]
    NotOnChecklist { asked: Question, on: Vec<Question> },
    #[error("{} has been ticked already, and a tick is not changed", .0.as_str())]
    AlreadyAnswered(Question),
    #[error("the checklist already has its verdict ({}), so {} is not ticked", .0.as_str(), .1.as_str())]
    Decided(Verdict, Question),
}

/// `dob, zip`. (An empty checklist has its verdict at once, so a tick never meets one.)
fn names(questions: &[Question]) -> String {
    let names: Vec<&str> = questions.iter().map(|q| q.as_str()).collect();
    names.join(", ")
}

impl ChecklistState {
    /// The questions the member can be asked (those their record can answer), in order.
    pub fn start(list: &Checklist, answerable: impl Fn(Question) -> bool) -> ChecklistState {
        let questions: Vec<Question> = list
            .questions
            .iter()
            .copied()
            .filter(|q| answerable(*q))
            .collect();
        ChecklistState {
            answers: vec![None; questions.len()],
            questions,
            required: list.min_correct,
        }
    }

    pub fn correct(&self) -> u32 {
        self.answers.iter().filter(|a| **a == Some(true)).count() as u32
    }

    pub fn answered(&self) -> u32 {
        self.answers.iter().filter(|a| a.is_some()).count() as u32
    }

    pub fn verdict(&self) -> Verdict {
        let open = self.questions.len() as u32 - self.answered();
        if self.correct() >= self.required {
            Verdict::Verified
        } else if self.correct() + open < self.required {
            Verdict::NotVerified
        } else {
            Verdict::Pending
        }
    }

    /// Record the agent's tick.
    pub fn tick(&self, question: Question, correct: bool) -> Result<ChecklistState, TickError> {
        let verdict = self.verdict();
        if verdict != Verdict::Pending {
            return Err(TickError::Decided(verdict, question));
        }
        let i = self
            .questions
            .iter()
            .position(|q| *q == question)
            .ok_or_else(|| TickError::NotOnChecklist {
                asked: question,
                on: self.questions.clone(),
            })?;
        if self.answers[i].is_some() {
            return Err(TickError::AlreadyAnswered(question));
        }
        let mut next = self.clone();
        next.answers[i] = Some(correct);
        Ok(next)
    }
}
