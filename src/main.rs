//! The `callvault` binary: parse the command line and dispatch. All behaviour lives in the library.

use std::process::ExitCode;

use clap::Parser;

/// glibc's malloc takes a lock for every free of memory another thread allocated. In
/// `enroll`, where a reader thread hands rows to the applying thread, that lock was a third of
/// the run (BENCHMARKS.md); mimalloc frees such memory without it, and the service's call
/// starts gained too (7,700 to 10,400 a second).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = callvault::cli::Cli::parse();
    callvault::cli::run(cli)
}
