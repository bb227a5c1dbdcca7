//! An executor of a crm cluster (Ballista); see docs/cluster.md.

fn main() -> std::process::ExitCode {
    crm_cluster::executor_main()
}
