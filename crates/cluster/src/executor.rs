//! `crm-executor`: Ballista's executor, reading crm's warehouses.

use std::path::PathBuf;
use std::sync::Arc;

use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use datafusion::execution::session_state::SessionStateBuilder;

use crate::DEFAULT_SCHEDULER_PORT;

/// An executor of a crm cluster: runs the tasks its scheduler hands out and
/// serves the shuffle data they produce to the other executors.
#[derive(Debug, clap::Parser)]
#[command(name = "crm-executor", version, max_term_width = 100)]
pub struct ExecutorArgs {
    /// The scheduler to register with, HOST[:PORT].
    #[arg(long, default_value = "localhost", value_name = "HOST[:PORT]")]
    pub scheduler: String,

    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub bind_host: String,

    /// Host name the scheduler and the other executors reach this one at
    /// [default: the bind address].
    #[arg(long, value_name = "HOST")]
    pub external_host: Option<String>,

    /// Port for shuffle data (Arrow Flight).
    #[arg(long, default_value_t = 50051)]
    pub port: u16,

    /// Port for tasks from the scheduler (gRPC).
    #[arg(long, default_value_t = 50052)]
    pub grpc_port: u16,

    /// Tasks run at once [default: one per core].
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub concurrent_tasks: usize,

    /// Directory for shuffle and spill files [default: a new temporary directory].
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,

    /// Memory all tasks together may hold, in bytes; over it they spill
    /// [default: Ballista's share of the host's memory].
    #[arg(long, value_name = "BYTES")]
    pub memory_pool_size: Option<u64>,
}

/// Every function a crm session plans with. Ballista's executor registry
/// leaves out DataFusion's nested (array) functions, which crm's SQL uses
/// (`string_to_array`, `unnest`), so the tasks would not decode; crm's own
/// own functions come from the engine.
fn functions() -> BallistaFunctionRegistry {
    let state = SessionStateBuilder::new().with_default_features().build();
    let mut registry = BallistaFunctionRegistry::default();
    registry
        .scalar_functions
        .extend(state.scalar_functions().clone());
    registry
        .aggregate_functions
        .extend(state.aggregate_functions().clone());
    registry
        .window_functions
        .extend(state.window_functions().clone());
    for f in crm_engine::functions::scalar_functions() {
        registry.scalar_functions.insert(f.name().to_string(), f);
    }
    for f in crm_engine::functions::aggregate_functions() {
        registry.aggregate_functions.insert(f.name().to_string(), f);
    }
    registry
}

/// Runs the executor until the process is stopped.
pub async fn run(args: ExecutorArgs) -> Result<(), String> {
    let (scheduler_host, scheduler_port) = match args.scheduler.rsplit_once(':') {
        Some((host, port)) => (
            host.to_string(),
            port.parse::<u16>()
                .map_err(|_| format!("--scheduler {}: '{port}' is not a port", args.scheduler))?,
        ),
        None => (args.scheduler.clone(), DEFAULT_SCHEDULER_PORT),
    };
    let work_dir = match &args.work_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("--work-dir {}: {e}", dir.display()))?;
            Some(dir.display().to_string())
        }
        None => None,
    };
    let spill_dir = work_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().display().to_string());
    let config = ExecutorProcessConfig {
        bind_host: args.bind_host.clone(),
        external_host: Some(
            args.external_host
                .clone()
                .unwrap_or_else(|| args.bind_host.clone()),
        ),
        port: args.port,
        grpc_port: args.grpc_port,
        scheduler_host,
        scheduler_port,
        scheduler_connect_timeout_seconds: 30,
        vcores: args.concurrent_tasks,
        work_dir,
        memory_pool_size: args.memory_pool_size,
        override_function_registry: Some(Arc::new(functions())),
        override_runtime_producer: Some(Arc::new(move |_| {
            crate::stores::runtime()
                .with_temp_file_path(spill_dir.clone())
                .build_arc()
        })),
        ..ExecutorProcessConfig::default()
    };
    eprintln!(
        "crm-executor {} serving on {}:{} (tasks on port {}), scheduler {}:{}",
        config.executor_id,
        args.bind_host,
        args.port,
        args.grpc_port,
        config.scheduler_host,
        config.scheduler_port
    );
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| format!("executor: {e}"))
}
