//! `crm-scheduler`: Ballista's scheduler, planning with crm's object stores.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;

use crate::DEFAULT_SCHEDULER_PORT;

/// The scheduler of a crm cluster: clients connect with
/// `crm --engine ballista://HOST:PORT`, executors with `crm-executor --scheduler HOST:PORT`.
#[derive(Debug, clap::Parser)]
#[command(name = "crm-scheduler", version, max_term_width = 100)]
pub struct SchedulerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub bind_host: String,

    /// Port for clients and executors.
    #[arg(long, default_value_t = DEFAULT_SCHEDULER_PORT)]
    pub port: u16,

    /// Host name executors and clients reach this scheduler at.
    #[arg(long, default_value = "localhost", value_name = "HOST")]
    pub external_host: String,
}

/// Runs the scheduler until the process is stopped.
pub async fn run(args: SchedulerArgs) -> Result<(), String> {
    let addr: SocketAddr = format!("{}:{}", args.bind_host, args.port)
        .parse()
        .map_err(|e| format!("--bind-host {} --port {}: {e}", args.bind_host, args.port))?;
    let config = SchedulerConfig {
        bind_host: args.bind_host.clone(),
        bind_port: args.port,
        external_host: args.external_host.clone(),
        ..SchedulerConfig::default()
    }
    .with_override_session_builder(Arc::new(crate::stores::scheduler_session));
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| e.to_string())?;
    eprintln!("crm-scheduler listening on {addr}");
    start_server(cluster, addr, Arc::new(config))
        .await
        .map_err(|e| format!("scheduler on {addr}: {e}"))
}
