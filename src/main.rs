//! The `callvault` binary: parse the command line and dispatch. All behaviour lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = callvault::cli::Cli::parse();
    callvault::cli::run(cli)
}
