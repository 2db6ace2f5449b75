//! PIN rules that need no storage: the policy a new PIN must pass, the built-in blocklist,
//! and the activation / force-PIN-change decision. The vault (`src/vault/`) keeps the PINs.

pub mod blocklist;
pub mod policy;
pub mod scenario;

pub use policy::{Rejection, check_new_pin};
pub use scenario::{
    ActivationScenario, ChangeReason, ConflictRule, ForceChangeScenario, Situation, StoredPin,
    Verdict, assess,
};

#[cfg(test)]
mod tests;
