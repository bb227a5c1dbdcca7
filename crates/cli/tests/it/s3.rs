//! The warehouse on object storage: the same commands against an S3 bucket
//! served on loopback by moto's S3 server (s3_server.py), over the real S3
//! HTTP API with signed requests; nothing in crm is mocked.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{Crm, python, repo_root};

const BUCKET: &str = "crm-test";

/// A moto S3 server on a free loopback port, killed when dropped.
struct S3Server {
    child: Child,
    endpoint: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/s3_server.py")
}

impl S3Server {
    /// Starts the server with the test bucket; its log goes to `log_dir`.
    fn start(log_dir: &Path) -> S3Server {
        S3Server::start_with(log_dir, None)
    }

    /// Like [`S3Server::start`]; PUTs of keys containing `slow_puts` wait
    /// half a second first.
    fn start_with(log_dir: &Path, slow_puts: Option<&str>) -> S3Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = File::create(log_dir.join("s3_server.log")).expect("server log");
        let mut child = Command::new(python())
            .arg(script())
            .arg(port.to_string())
            .arg(BUCKET)
            .stdout(Stdio::piped())
            .stderr(log)
            .envs(slow_puts.map(|p| ("S3_SERVER_SLOW_PUTS", p)))
            .spawn()
            .expect("python runs s3_server.py");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next().and_then(Result::ok).unwrap_or_default());
            for _ in lines {}
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.trim() == "ready" => {}
            other => {
                let _ = child.kill();
                let _ = child.wait();
                let log =
                    std::fs::read_to_string(log_dir.join("s3_server.log")).unwrap_or_default();
                panic!(
                    "the S3 server did not start ({other:?}); is moto[server] in .venv \
                     (scripts/test installs it)?\n{log}"
                );
            }
        }
        S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// What a user sets to reach the bucket: the standard AWS variables.
    fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// crm with its warehouse at s3://crm-test/<prefix>.
    fn crm(&self, prefix: &str) -> Crm {
        Crm::remote(&format!("s3://{BUCKET}/{prefix}"), &self.env())
    }

    /// The keys under `prefix`, listed by boto3 (not by crm).
    fn keys(&self, prefix: &str) -> Vec<String> {
        let out = Command::new(python())
            .arg(script())
            .args(["list", &self.endpoint, BUCKET, prefix])
            .output()
            .expect("python lists the bucket");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Uploads `body` as `key` with boto3.
    fn put(&self, key: &str, body: &str, scratch: &Path) {
        let file = scratch.join("upload.tmp");
        std::fs::write(&file, body).unwrap();
        let out = Command::new(python())
            .arg(script())
            .args(["put", &self.endpoint, BUCKET, key, file.to_str().unwrap()])
            .output()
            .expect("python uploads");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The versions of the commits in a table's `_delta_log`, as listed.
    fn delta_versions(&self, table_prefix: &str) -> Vec<u64> {
        let mut v: Vec<u64> = self
            .keys(&format!("{table_prefix}/_delta_log/"))
            .iter()
            .filter_map(|k| k.rsplit('/').next()?.strip_suffix(".json")?.parse().ok())
            .collect();
        v.sort_unstable();
        v
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` transactions with ids from `start`.
fn tx_csv(start: usize, n: usize) -> String {
    let mut s = String::from("transaction_id,customer_id,ts,amount\n");
    for i in start..start + n {
        s.push_str(&format!(
            "T{i},C{},2024-{:02}-{:02} 10:00:00,{}.{:02}\n",
            i % 97,
            1 + i % 12,
            1 + i % 28,
            i % 1000,
            i % 100
        ));
    }
    s
}

fn sorted(lines: Vec<String>) -> Vec<String> {
    let mut lines = lines;
    lines.sort();
    lines
}

/// Every exported file under `dir` (mart/file), with the run id column (the
/// second) left out: it differs from run to run by design. Rows are sorted:
/// an export's row order within a file is not fixed.
fn exported(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for mart in std::fs::read_dir(dir).unwrap() {
        let mart = mart.unwrap().path();
        for file in std::fs::read_dir(&mart).unwrap() {
            let file = file.unwrap().path();
            let text = std::fs::read_to_string(&file).unwrap();
            let mut body: Vec<String> = text
                .lines()
                .map(|l| {
                    let mut f = l.splitn(3, ',');
                    let (a, _, c) = (f.next(), f.next(), f.next());
                    format!("{},{}", a.unwrap_or(""), c.unwrap_or(""))
                })
                .collect();
            if let Some(rows) = body.get_mut(1..) {
                rows.sort();
            }
            let name = file.strip_prefix(dir).unwrap().display().to_string();
            out.push((name, body.join("\n")));
        }
    }
    out.sort();
    out
}

#[test]
fn an_s3_warehouse_gives_the_same_answers_as_a_local_one() {
    let local = Crm::new();
    let server = S3Server::start(local.dir.path());
    let s3 = server.crm("wh");
    let exports = repo_root().join("sample_data/exports");
    let customers = exports.join("1c_customers.csv");
    let mapping = exports.join("1c_customers.toml");
    // The same commands on both warehouses, side by side.
    let build = |crm: &Crm| {
        crm.ok(0, &["init"]);
        crm.ok(
            0,
            &[
                "gen",
                "--transactions",
                "5000",
                "--years",
                "1",
                "--end-date",
                "2024-12-31",
            ],
        );
        // An upsert (MERGE) into a table that exists, with quarantined rows.
        crm.ok(
            3,
            &[
                "load",
                "--table",
                "customers",
                customers.to_str().unwrap(),
                "--mapping",
                mapping.to_str().unwrap(),
            ],
        );
        crm.ok(0, &["run", "--as-of", "2024-12-31"]);
    };
    std::thread::scope(|t| {
        t.spawn(|| build(&local));
        build(&s3);
    });
    assert!(
        server.keys("wh/").iter().any(|k| k == "wh/crm.toml"),
        "crm init wrote crm.toml into the bucket"
    );

    let counts = [
        "customers",
        "transactions",
        "interactions",
        "interests",
        "interest_stages",
        "managers",
        "campaigns",
        "quarantine",
        "load_history",
        "rfm_customer",
        "rfm_segment",
        "funnel_stage",
        "traffic_light",
        "manager_summary",
        "cohort_retention",
    ]
    .map(|t| format!("SELECT '{t}' AS t, count(*) AS n FROM {t}"))
    .join(" UNION ALL ");
    for query in [
        counts.as_str(),
        "SELECT * EXCLUDE (_load_id) FROM customers",
        "SELECT * EXCLUDE (_load_id) FROM transactions",
    ] {
        let (l, r) = (sorted(local.sql(query)), sorted(s3.sql(query)));
        assert!(l.len() > 2, "{query}: {l:?}");
        assert_eq!(l, r, "{query}");
    }

    // Status and history read the same versions and row counts.
    let status = |crm: &Crm| -> Vec<String> {
        crm.ok(0, &["status", "--format", "csv"])
            .lines()
            .map(|l| l.splitn(4, ',').take(3).collect::<Vec<_>>().join(","))
            .collect()
    };
    assert_eq!(status(&local), status(&s3));
    let history = s3.ok(0, &["history", "customers", "--format", "csv"]);
    assert_eq!(history.lines().count(), 3, "{history}"); // header, WRITE, MERGE

    let export = |crm: &Crm| {
        let bi = crm.dir.path().join("bi");
        std::fs::create_dir(&bi).unwrap();
        crm.ok(
            0,
            &[
                "export",
                "marts",
                "--format",
                "csv",
                "--out",
                bi.to_str().unwrap(),
            ],
        );
    };
    std::thread::scope(|t| {
        t.spawn(|| export(&local));
        export(&s3);
    });
    let (l, r) = (
        exported(&local.dir.path().join("bi")),
        exported(&s3.dir.path().join("bi")),
    );
    assert!(l.len() >= 5, "{l:?}");
    assert_eq!(l, r);

    let reports = s3.dir.path().join("reports");
    s3.ok(
        0,
        &[
            "report",
            "--as-of",
            "2024-12-31",
            "--out",
            reports.to_str().unwrap(),
        ],
    );
    assert!(reports.join("dashboard.html").exists());
}

#[test]
fn two_concurrent_loads_into_one_s3_table_lose_nothing() {
    let scratch = Crm::new();
    // Commits to transactions reach the store half a second late: both loads
    // read version 0 and both try to write version 1.
    let server = S3Server::start_with(
        scratch.dir.path(),
        Some("/wh/tables/transactions/_delta_log/"),
    );
    let s3 = server.crm("wh");
    let seed = s3.file("seed.csv", &tx_csv(0, 10));
    s3.ok(
        0,
        &["load", "--table", "transactions", seed.to_str().unwrap()],
    );
    let a = s3.file("a.csv", &tx_csv(1_000, 2_000));
    let b = s3.file("b.csv", &tx_csv(100_000, 2_000));
    let spawn = |f: &PathBuf| {
        s3.command()
            .args(["load", "--table", "transactions", f.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (pa, pb) = (spawn(&a), spawn(&b));
    for p in [pa, pb] {
        let out = p.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let ids: BTreeSet<String> = s3
        .sql("SELECT transaction_id FROM transactions")
        .into_iter()
        .skip(1)
        .collect();
    let expected: BTreeSet<String> = (0..10)
        .chain(1_000..3_000)
        .chain(100_000..102_000)
        .map(|i| format!("T{i}"))
        .collect();
    let missing: Vec<&String> = expected.difference(&ids).take(5).collect();
    assert!(
        ids == expected,
        "{} transactions, expected {}; missing, e.g.: {missing:?}",
        ids.len(),
        expected.len()
    );

    // Three complete loads, each one commit of transactions, and the log has
    // exactly versions 0, 1, 2 with nothing lost or overwritten.
    let loads: BTreeSet<String> = s3
        .sql("SELECT load_id FROM load_history WHERE status = 'complete'")
        .into_iter()
        .skip(1)
        .collect();
    assert_eq!(loads.len(), 3);
    assert_eq!(
        server.delta_versions("wh/tables/transactions"),
        vec![0, 1, 2]
    );
    let committed: BTreeSet<String> = s3
        .ok(0, &["history", "transactions", "--format", "csv"])
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().to_string())
        .collect();
    assert_eq!(committed, loads, "every load's commit is in the log");
    // load_history took appends from both loads at once: no gaps either.
    let history = server.delta_versions("wh/tables/load_history");
    assert_eq!(history, (0..history.len() as u64).collect::<Vec<_>>());
    assert_eq!(history.len(), 6, "a started and a complete row per load");
    // The race did happen: the store refused one writer's version 1
    // (412 Precondition Failed); it retried on a fresh snapshot as version 2.
    let log = std::fs::read_to_string(scratch.dir.path().join("s3_server.log")).unwrap();
    let refused = log
        .lines()
        .filter(|l| l.contains("tables/transactions/_delta_log/") && l.contains("\" 412"))
        .count();
    assert!(
        refused >= 1,
        "no commit of transactions was refused:\n{log}"
    );
}

#[test]
fn the_nightly_lock_on_s3_refuses_a_live_holder_and_takes_over_a_dead_one() {
    let scratch = Crm::new();
    let server = S3Server::start(scratch.dir.path());
    let s3 = server.crm("wh");
    s3.ok(0, &["init"]);
    let tx = s3.file("tx.csv", &tx_csv(0, 200));
    s3.ok(
        0,
        &["load", "--table", "transactions", tx.to_str().unwrap()],
    );

    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let lock = |process_start: &str| {
        format!(
            r#"{{"run_id": "run-other", "host": "{}", "pid": {}, "process_start": {process_start},
                "acquired_at": "2024-01-01T00:00:00Z"}}"#,
            host.trim(),
            std::process::id()
        )
    };
    let key = "wh/_crm/locks/nightly.lock";
    // Held by this (live) test process.
    server.put(key, &lock("null"), scratch.dir.path());
    let out = s3.run(&["run", "--as-of", "2024-12-31"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("run-other"));
    // Held by a process that is gone (its pid now belongs to another start time).
    server.put(key, &lock("1"), scratch.dir.path());
    s3.ok(0, &["run", "--as-of", "2024-12-31"]);
    assert_eq!(server.keys("wh/_crm/locks/"), Vec::<String>::new());
    let rows = s3.sql("SELECT count(*) AS n FROM rfm_customer");
    assert_eq!(rows, vec!["n", "97"]);
}
