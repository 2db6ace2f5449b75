//! The `callvault` binary: parse the command line and dispatch. All behaviour lives in the library.

use std::process::ExitCode;

use clap::Parser;

/// glibc's malloc serialises threads that free what another thread allocated (the enroll
/// reader hands rows to the applier; actix workers hand buffers to the committer), and that
/// lock showed as the largest cost in profiles. mimalloc frees such memory without a lock.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = callvault::cli::Cli::parse();
    callvault::cli::run(cli)
}
