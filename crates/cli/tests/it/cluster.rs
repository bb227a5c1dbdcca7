//! Ballista: a scheduler and two executors, started as processes on
//! loopback, run the nightly marts and the read commands on generated data,
//! and every result equals the local engine's.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Crm, same_marts};

/// One scheduler and two executors on loopback, stopped on drop.
struct Cluster {
    processes: Vec<Child>,
    scheduler_port: u16,
    logs: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn wait_for_port(port: u16, what: &str, cluster: &Cluster) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what} did not listen on port {port} within 60 s\n{}",
            cluster.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Cluster {
    fn start() -> Cluster {
        let logs = tempfile::tempdir().expect("log dir");
        let log_dir = logs.path().to_path_buf();
        let log = |name: &str| {
            std::fs::File::create(log_dir.join(format!("{name}.log"))).expect("log file")
        };
        let scheduler_port = free_port();
        let mut cluster = Cluster {
            processes: Vec::new(),
            scheduler_port,
            logs,
        };
        let scheduler = Command::new(env!("CARGO_BIN_EXE_crm-scheduler"))
            .args(["--bind-host", "127.0.0.1", "--external-host", "127.0.0.1"])
            .args(["--port", &scheduler_port.to_string()])
            .stdout(Stdio::null())
            .stderr(log("scheduler"))
            .spawn()
            .expect("crm-scheduler starts");
        cluster.processes.push(scheduler);
        wait_for_port(scheduler_port, "the scheduler", &cluster);
        for i in 0..2 {
            let (port, grpc_port) = (free_port(), free_port());
            let work_dir = cluster.logs.path().join(format!("executor-{i}"));
            let executor = Command::new(env!("CARGO_BIN_EXE_crm-executor"))
                .args(["--scheduler", &format!("127.0.0.1:{scheduler_port}")])
                .args(["--bind-host", "127.0.0.1"])
                .args(["--port", &port.to_string()])
                .args(["--grpc-port", &grpc_port.to_string()])
                .args(["--concurrent-tasks", "2"])
                .env("RUST_LOG", "info")
                .arg("--work-dir")
                .arg(&work_dir)
                .stdout(Stdio::null())
                .stderr(log(&format!("executor-{i}")))
                .spawn()
                .expect("crm-executor starts");
            cluster.processes.push(executor);
            wait_for_port(port, "an executor", &cluster);
            wait_for_port(grpc_port, "an executor", &cluster);
        }
        cluster
    }

    fn engine(&self) -> String {
        format!("ballista://127.0.0.1:{}", self.scheduler_port)
    }

    /// Everything the processes wrote to stderr, for a failing assertion.
    fn logs(&self) -> String {
        let mut all = String::new();
        for entry in std::fs::read_dir(self.logs.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if entry.path().extension().is_some_and(|e| e == "log") {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                all.push_str(&format!("--- {}\n{text}\n", entry.path().display()));
            }
        }
        all
    }

    /// `crm --engine ballista://... ARGS` against `crm`'s warehouse; stdout.
    fn crm(&self, crm: &Crm, args: &[&str]) -> String {
        let out = crm
            .command()
            .args(["--engine", &self.engine()])
            .args(args)
            .output()
            .expect("crm runs");
        assert!(
            out.status.success(),
            "crm --engine {} {args:?}\nstdout: {}\nstderr: {}\n{}",
            self.engine(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.logs()
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for p in &mut self.processes {
            let _ = p.kill();
            let _ = p.wait();
        }
    }
}

const PREVIOUS: &str = "2026-05-31";
const AS_OF: &str = "2026-06-30";

fn generated() -> Crm {
    let crm = Crm::new();
    crm.generate("60000", AS_OF, "11");
    crm
}

fn scratch_left(warehouse: &Path) -> Vec<String> {
    std::fs::read_dir(warehouse.join("_scratch"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_nightly_marts_on_a_ballista_cluster_equal_the_local_engine() {
    let cluster = Cluster::start();
    let (local, remote) = (generated(), generated());

    // Two nights, so the second reads the first's snapshot (migration,
    // trends) from the partitioned marts.
    for as_of in [PREVIOUS, AS_OF] {
        local.ok(0, &["run", "--as-of", as_of, "-q"]);
        cluster.crm(&remote, &["run", "--as-of", as_of, "-q"]);
    }
    let compared = same_marts(&local.export_marts(), &remote.export_marts());
    assert!(compared.lines().count() >= 10, "{compared}");
    for mart in ["rfm_customer", "clv_customer", "funnel_stage"] {
        let rows = compared
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{mart} ")))
            .unwrap_or_else(|| panic!("{mart} was not compared: {compared}"));
        assert!(rows.parse::<usize>().unwrap() > 0, "{mart} is empty");
    }

    // The read commands print what the local engine prints: the same text,
    // but for floats, which may differ in the last digits (a sum's order
    // follows the partitions).
    let same = |args: &[&str]| {
        let mut args = args.to_vec();
        args.extend(["--format", "csv"]);
        let (got, want) = (cluster.crm(&remote, &args), local.ok(0, &args));
        assert!(
            same_csv_text(&got, &want),
            "crm {args:?} differs on the cluster\n{got}\nlocally:\n{want}"
        );
    };
    same(&[
        "sql",
        "SELECT count(*) AS n, sum(amount) AS revenue, count(DISTINCT customer_id) AS customers \
         FROM transactions",
    ]);
    same(&[
        "sql",
        "SELECT as_of, segment, count(*) AS n FROM rfm_customer GROUP BY as_of, segment \
         ORDER BY as_of, segment",
    ]);
    same(&["rfm", "--as-of", AS_OF]);
    same(&["funnel", "--as-of", AS_OF, "--by", "manager"]);

    // Both executors ran tasks.
    for i in 0..2 {
        let log = std::fs::read_to_string(cluster.logs.path().join(format!("executor-{i}.log")))
            .unwrap_or_default();
        assert!(
            log.contains("Finished task"),
            "executor {i} ran no task\n{}",
            cluster.logs()
        );
    }

    // What the cluster session materialised is gone.
    assert_eq!(scratch_left(&remote.warehouse()), Vec::<String>::new());
}

#[test]
fn an_unreachable_scheduler_is_a_clear_error() {
    let crm = generated();
    let port = free_port();
    let out = crm.run(&[
        "--engine",
        &format!("ballista://127.0.0.1:{port}"),
        "sql",
        "SELECT count(*) FROM transactions",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    let out = crm.run(&["--engine", "spark://x:1", "sql", "SELECT 1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown engine 'spark'"));
}

/// The same CSV text, cell by cell, with floats equal to 1e-12 relative.
fn same_csv_text(a: &str, b: &str) -> bool {
    let cells = |t: &str| -> Vec<Vec<String>> {
        t.lines()
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    };
    let (a, b) = (cells(a), cells(b));
    a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| {
            x.len() == y.len()
                && x.iter().zip(y).all(|(u, v)| {
                    u == v
                        || matches!((u.parse::<f64>(), v.parse::<f64>()), (Ok(p), Ok(q))
                            if (p - q).abs() <= 1e-12 * p.abs().max(q.abs()))
                })
        })
}

#[test]
fn csv_text_compares_floats_to_their_last_digits_only() {
    assert!(same_csv_text("a,b\nx,1.0000000000000002\n", "a,b\nx,1.0\n"));
    assert!(!same_csv_text("a,b\nx,1.0001\n", "a,b\nx,1.0\n"));
    assert!(!same_csv_text("a,b\nx,1\n", "a,b\ny,1\n"));
    assert!(!same_csv_text("a,b\nx,1\n", "a,b\nx,1\nx,1\n"));
}
