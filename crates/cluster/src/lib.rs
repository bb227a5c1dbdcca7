//! Running crm on a Ballista cluster.
//!
//! The client side is [`connect`]: it turns a session state built by
//! `crm-engine` into one whose plans run on the scheduler at
//! `ballista://host:port`, with the same configuration. The engine registers
//! every Delta table there as a Parquet listing of its snapshot's files, and
//! writes what it materialises to Parquet under the warehouse root, so that
//! executors read everything from storage they can reach.
//!
//! The server side is the [`scheduler`] and [`executor`] processes, shipped as
//! the `crm-scheduler` and `crm-executor` binaries of `crm-cli` (feature
//! `ballista`). They run Ballista's own scheduler and executor with the object
//! stores crm's warehouses use (local files, and S3 configured from the
//! `AWS_*` environment).

pub mod executor;
pub mod scheduler;
mod stores;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::config::BALLISTA_ADAPTIVE_PLANNER_ENABLED;
use datafusion::execution::SessionState;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::SessionContext;

/// The scheme of `--engine` for a Ballista scheduler.
pub const SCHEME: &str = "ballista";

/// The port a scheduler listens on unless told otherwise.
pub const DEFAULT_SCHEDULER_PORT: u16 = 50050;

/// Checks `ballista://host[:port]` and returns the scheduler's `host:port`.
pub fn scheduler_address(engine: &str) -> Result<String, String> {
    let url = url::Url::parse(engine).map_err(|e| {
        format!("--engine '{engine}' is not a URL ({e}); expected ballista://host:port")
    })?;
    if url.scheme() != SCHEME {
        return Err(format!(
            "--engine '{engine}': unknown engine '{}'; expected `local` or ballista://host:port",
            url.scheme()
        ));
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("--engine '{engine}' names no scheduler host"))?;
    let port = url.port().unwrap_or(DEFAULT_SCHEDULER_PORT);
    Ok(format!("{host}:{port}"))
}

/// A session whose plans run on the scheduler at `engine`
/// (`ballista://host:port`), keeping `state`'s configuration.
pub async fn connect(
    engine: &str,
    state: SessionState,
) -> datafusion::error::Result<SessionContext> {
    let address =
        scheduler_address(engine).map_err(datafusion::error::DataFusionError::Configuration)?;
    probe(&address).map_err(datafusion::error::DataFusionError::Configuration)?;
    let mut config = state.config().clone().upgrade_for_ballista();
    // Ballista 55's adaptive planner can re-plan a job's stages forever when
    // a stage turns out empty (apache/datafusion-ballista#2150, open); the
    // static planner runs the same physical plans and always completes.
    config
        .options_mut()
        .set(BALLISTA_ADAPTIVE_PLANNER_ENABLED, "false")?;
    let state = SessionStateBuilder::new_from_existing(stores::with_warehouse_stores(state)?)
        .with_config(config)
        .build();
    let mut ctx = SessionContext::remote_with_state(&format!("df://{address}"), state).await?;
    // Ballista's upgrade swaps in its own function sets: crm's own functions
    // go back in.
    crm_engine::functions::register_all(&mut ctx)?;
    Ok(ctx)
}

/// Fails early, with a plain message, when nothing listens at the
/// scheduler's address (Ballista itself would only fail at the first query,
/// with a transport error).
fn probe(address: &str) -> Result<(), String> {
    use std::net::{TcpStream, ToSocketAddrs};
    let addrs = address
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve the scheduler address {address}: {e}"))?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5)) {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(format!(
        "no Ballista scheduler answers at {address} ({}); start one with `crm-scheduler` (docs/cluster.md)",
        last.map_or_else(|| "no address".to_string(), |e| e.to_string())
    ))
}

/// `main` of the `crm-scheduler` binary.
pub fn scheduler_main() -> std::process::ExitCode {
    use clap::Parser;
    serve(
        "crm-scheduler",
        scheduler::run(scheduler::SchedulerArgs::parse()),
    )
}

/// `main` of the `crm-executor` binary.
pub fn executor_main() -> std::process::ExitCode {
    use clap::Parser;
    serve(
        "crm-executor",
        executor::run(executor::ExecutorArgs::parse()),
    )
}

/// Ballista's log lines on stderr, at the level `RUST_LOG` names
/// (`error`, `warn`, `info`, `debug`, `trace`; default `warn`).
fn init_log() {
    crm_core::logging::init(log::LevelFilter::Warn, log::LevelFilter::Warn);
}

/// Runs a server until it stops; exit code 1 with a one-line error if it fails.
fn serve(
    name: &str,
    server: impl std::future::Future<Output = Result<(), String>>,
) -> std::process::ExitCode {
    init_log();
    // Planning deep plans recurses; Ballista's own binaries use 32 MiB stacks.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(32 << 20)
        .build();
    let result = match runtime {
        Ok(rt) => rt.block_on(server),
        Err(e) => Err(format!("cannot start the runtime: {e}")),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: error: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

/// [`connect`] as a boxed future, the shape `crm-engine`'s connector takes.
pub fn connect_boxed(
    engine: String,
    state: SessionState,
) -> futures::future::BoxFuture<'static, datafusion::error::Result<SessionContext>> {
    Box::pin(async move { connect(&engine, state).await })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_urls() {
        assert_eq!(
            scheduler_address("ballista://127.0.0.1:50077").unwrap(),
            "127.0.0.1:50077"
        );
        assert_eq!(
            scheduler_address("ballista://sched").unwrap(),
            "sched:50050"
        );
        assert!(
            scheduler_address("spark://x:1")
                .unwrap_err()
                .contains("unknown engine 'spark'")
        );
        assert!(
            scheduler_address("ballista")
                .unwrap_err()
                .contains("not a URL")
        );
    }
}
