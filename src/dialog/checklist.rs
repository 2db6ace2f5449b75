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

/// A checklist in progress, kept with the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistState {
    pub questions: Vec<Question>,
    pub required: u32,
    /// One per question: `None` until the agent ticks it.
    pub answers: Vec<Option<bool>>,
}

/// Why a tick was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TickError {
    #[error("that question is not on this call's checklist")]
    NotOnChecklist,
    #[error("that question has already been answered")]
    AlreadyAnswered,
    #[error("the checklist already has its verdict")]
    Decided,
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
        if self.verdict() != Verdict::Pending {
            return Err(TickError::Decided);
        }
        let i = self
            .questions
            .iter()
            .position(|q| *q == question)
            .ok_or(TickError::NotOnChecklist)?;
        if self.answers[i].is_some() {
            return Err(TickError::AlreadyAnswered);
        }
        let mut next = self.clone();
        next.answers[i] = Some(correct);
        Ok(next)
    }
}
