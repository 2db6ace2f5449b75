//! callvault: a caller-authentication appliance for credit-union IVRs.
//!
//! The crate is laid out by concern (see `DESIGN.md`, and README's "Develop" for a tour):
//! `api/` is the thin HTTPS face; `dialog/` the call dialog as pure functions and `calls/`
//! the service around it (stored calls, intents, the checklist, challenges, the sweep, what
//! `/metrics` counts); `profile/`, `pin/`, `lockout/`, `challenge/` and `notify/` the rules
//! and channels the dialog uses; `member/`, `core/` and `enroll/` the members, the core
//! adapters and pre-enrollment; `vault/` the PIN vault, `keys/` the API keys, `audit/` the
//! hash-chained log, `store/` the redb file, `tls/` the certificates; `service/` the
//! running daemon and its signals, `admin/` the operations the CLI runs locally or through
//! the running service, `cli/` and `demo/` the command line.
//!
//! These docs are for the people who change callvault: build them with
//! `cargo doc --no-deps --document-private-items`, where links to private items resolve.
#![allow(rustdoc::private_intra_doc_links)]

pub mod admin;
pub mod api;
pub mod audit;
pub mod calls;
pub mod challenge;
pub mod civil;
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
pub mod outbound;
pub mod pin;
pub mod process;
pub mod profile;
pub mod service;
#[cfg(test)]
mod shared_tests;
pub mod spelling;
pub mod store;
pub mod throttle;
pub mod tls;
pub mod vault;
