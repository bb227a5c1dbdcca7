//! An executor of a crm cluster (Ballista); see docs/cluster.md.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    crm_cluster::executor_main()
}
