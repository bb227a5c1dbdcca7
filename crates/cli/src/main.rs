//! `crm`: the command line of the crm toolkit. `main` only parses, dispatches
//! and turns errors into the exit codes of CONVENTIONS; each subcommand lives
//! in its own module under `cmd/`.

mod cmd;
mod context;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::context::Outcome;

// DataFusion allocates and frees many short-lived buffers from many threads;
// mimalloc is the allocator datafusion-cli ships with for that load. (It
// arrived together with the release of each step's rows, which took the
// nightly run at 10^8 from 10.0 to 6.6 GB; its own share was not measured.)
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc asks the kernel for transparent huge pages for its large
/// regions, so each first touch of one zeroes 2 MiB, and a query allocates
/// and frees hundreds of MB. `crm quality` at 1M interests spent 11-12 s in
/// the kernel with them and 4-6 s without, and peaked at 4.2 GB instead of
/// 3.4 GB (2 cores, THP in madvise mode). Many databases advise the same.
/// A kernel without the setting just keeps its pages.
#[cfg(target_os = "linux")]
fn disable_transparent_huge_pages() {
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

#[cfg(not(target_os = "linux"))]
fn disable_transparent_huge_pages() {}

fn main() -> ExitCode {
    disable_transparent_huge_pages();
    let cli = cmd::Cli::parse();
    // `-q` and `-v` exclude each other (clap), so quiet means verbose 0.
    let level = match cli.verbose {
        0 | 1 => log::LevelFilter::Off,
        2 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    crm_core::logging::init(level, log::LevelFilter::Off);
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
