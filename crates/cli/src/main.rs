//! `crm`: the command line of the crm toolkit. `main` only parses, dispatches
//! and turns errors into the exit codes of CONVENTIONS; each subcommand lives
//! in its own module under `cmd/`.

mod cmd;
mod context;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::context::Outcome;

fn main() -> ExitCode {
    let cli = cmd::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("crm: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cmd::run(cli)) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Quarantined) => ExitCode::from(3),
        Err(e) => context::report_error(&e),
    }
}
