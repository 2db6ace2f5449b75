//! callvault: a caller-authentication appliance for credit-union IVRs.
//!
//! The crate is laid out by concern (see `DESIGN.md`): `api/` is the thin HTTPS face,
//! `store/` the redb file, `audit/` the hash-chained log, `keys/` the API keys, `vault/`
//! the master key, `tls/` the certificate handling, `service/` the running daemon and its
//! signals, `admin/` the operations the CLI runs locally or through the running service.

pub mod admin;
pub mod api;
pub mod audit;
pub mod calls;
pub mod challenge;
pub mod cli;
pub mod clock;
pub mod config;
pub mod core;
pub mod demo;
pub mod dialog;
pub mod enroll;
pub mod keys;
pub mod lockout;
pub mod member;
pub mod notify;
pub mod pin;
pub mod profile;
pub mod service;
pub mod store;
pub mod throttle;
pub mod tls;
pub mod vault;
