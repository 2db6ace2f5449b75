//! A profile shared by every call that starts with it, with its JSON written once.
//!
//! Each call row carries the profile its call started with (a reload must not change a live
//! call), and the profile is over half of the row's JSON. Encoding it again for every row a
//! call start or an input writes was about 17,000 instructions of the request's own work
//! (BENCHMARKS.md, "Instructions per request"). A [`SharedProfile`] keeps the JSON beside
//! the profile, written on first use: by the configuration's copy for the calls that start
//! with it, and, for a call read back from its row, the very text the row held. Rows read
//! back share one profile per text too: the last few are remembered, so a row is not parsed
//! into a profile the process already holds.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use super::Profile;

/// A profile behind an `Arc`, compared, serialized and deserialized as the plain
/// [`Profile`] (so a configuration file reads and prints as before).
#[derive(Clone)]
pub struct SharedProfile(Arc<Inner>);

struct Inner {
    profile: Profile,
    /// The profile as compact JSON, as `serde_json` writes it.
    json: OnceLock<Box<RawValue>>,
}

impl SharedProfile {
    pub fn new(profile: Profile) -> SharedProfile {
        SharedProfile(Arc::new(Inner {
            profile,
            json: OnceLock::new(),
        }))
    }

    /// The profile's JSON, written on first use.
    fn json(&self) -> Result<&RawValue, serde_json::Error> {
        if let Some(json) = self.0.json.get() {
            return Ok(json);
        }
        let json = serde_json::value::to_raw_value(&self.0.profile)?;
        Ok(self.0.json.get_or_init(|| json))
    }

    /// As `serialize_with` for a call row: the profile's JSON as written once. For
    /// `serde_json` only (what the rows are written with).
    pub fn serialize_json<S: Serializer>(p: &SharedProfile, s: S) -> Result<S::Ok, S::Error> {
        p.json().map_err(serde::ser::Error::custom)?.serialize(s)
    }

    /// As `deserialize_with` for a call row: the profile, keeping the text it was read from
    /// as its JSON, so that the row written back after an input does not encode it again.
    /// For `serde_json` only.
    ///
    /// The profiles read back lately are remembered by their text ([`RECENT`]): the rows of
    /// one profile hold the same text, so a row read for an input usually finds its profile
    /// there and is not parsed again.
    pub fn deserialize_json<'de, D: Deserializer<'de>>(d: D) -> Result<SharedProfile, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        if let Some(known) = recent(raw.get()) {
            return Ok(known);
        }
        let profile: Profile = serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)?;
        let shared = SharedProfile::new(profile);
        let _ = shared.0.json.set(raw);
        remember(&shared);
        Ok(shared)
    }

    /// The JSON, if it was written or read already.
    fn known_json(&self) -> Option<&str> {
        self.0.json.get().map(|j| j.get())
    }
}

/// How many profiles read back from rows are remembered. A credit union routes its numbers
/// to a handful of profiles; a reload that changes one adds its new text, and the oldest is
/// forgotten.
const RECENT_PROFILES: usize = 8;

/// The profiles read back lately, newest first, each with the text it was read from.
static RECENT: std::sync::LazyLock<arc_swap::ArcSwap<Vec<SharedProfile>>> =
    std::sync::LazyLock::new(Default::default);

fn recent(text: &str) -> Option<SharedProfile> {
    RECENT
        .load()
        .iter()
        .find(|p| p.known_json() == Some(text))
        .cloned()
}

fn remember(profile: &SharedProfile) {
    RECENT.rcu(|list| {
        let mut list: Vec<SharedProfile> = list
            .iter()
            .filter(|p| p.known_json() != profile.known_json())
            .take(RECENT_PROFILES - 1)
            .cloned()
            .collect();
        list.insert(0, profile.clone());
        list
    });
}

impl From<Profile> for SharedProfile {
    fn from(profile: Profile) -> SharedProfile {
        SharedProfile::new(profile)
    }
}

impl Default for SharedProfile {
    fn default() -> SharedProfile {
        SharedProfile::new(Profile::default())
    }
}

impl Deref for SharedProfile {
    type Target = Profile;
    fn deref(&self) -> &Profile {
        &self.0.profile
    }
}

impl Borrow<Profile> for SharedProfile {
    fn borrow(&self) -> &Profile {
        &self.0.profile
    }
}

impl PartialEq for SharedProfile {
    fn eq(&self, other: &SharedProfile) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.profile == other.0.profile
    }
}

impl Eq for SharedProfile {}

impl fmt::Debug for SharedProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.profile.fmt(f)
    }
}

impl Serialize for SharedProfile {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.profile.serialize(s)
    }
}

impl<'de> Deserialize<'de> for SharedProfile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SharedProfile, D::Error> {
        Profile::deserialize(d).map(SharedProfile::new)
    }
}

#[cfg(test)]
#[path = "shared_tests.rs"]
mod tests;
