//! The one integration-test binary: the real `callvault` binary, real redb files, real TLS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod calls;
mod challenges;
mod cli;
mod enroll;
mod http;
mod lifecycle;
mod mtls;
mod vault;
