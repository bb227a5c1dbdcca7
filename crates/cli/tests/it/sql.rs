//! `crm sql` output formats and read-only behaviour.

use crate::common::Crm;

#[test]
fn every_format_prints_the_same_rows() {
    let crm = Crm::new();
    let f = crm.file(
        "tx.csv",
        "transaction_id,customer_id,ts,amount\nt1,007,2024-01-01 10:00:00,1234.50\nt2,,2024-01-02 10:00:00,-5.00\n",
    );
    crm.ok(0, &["load", "--table", "transactions", f.to_str().unwrap()]);
    let q = "SELECT transaction_id, customer_id, amount FROM transactions ORDER BY transaction_id";
    assert_eq!(
        crm.ok(0, &["sql", q, "--format", "csv"]),
        "transaction_id,customer_id,amount\nt1,007,1234.50\nt2,,-5.00\n"
    );
    let json = crm.ok(0, &["sql", q, "--format", "json"]);
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["customer_id"], "007");
    assert!(rows[1]["customer_id"].is_null());
    let table = crm.ok(0, &["sql", q, "--format", "table"]);
    assert!(
        table.contains("| t1             | 007         | 1234.50 |"),
        "{table}"
    );
    let out = crm.dir.path().join("r.parquet");
    crm.ok(
        0,
        &[
            "sql",
            q,
            "--format",
            "parquet",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(std::fs::metadata(&out).unwrap().len() > 0);
    // Parquet without --out is a usage mistake with a clear message.
    let bad = crm.run(&["sql", q, "--format", "parquet"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--out"));
    // A query file works like an inline query.
    let qf = crm.file("q.sql", q);
    assert_eq!(
        crm.ok(0, &["sql", "-f", qf.to_str().unwrap(), "--format", "csv"]),
        "transaction_id,customer_id,amount\nt1,007,1234.50\nt2,,-5.00\n"
    );
}

/// Results stream to `--out` as they are computed: a query that fails
/// after its first rows leaves neither a truncated file nor a temporary one,
/// and a file already there keeps its content.
#[test]
fn a_query_failing_half_way_leaves_out_untouched() {
    let crm = Crm::new();
    let f = crm.file(
        "tx.csv",
        "transaction_id,customer_id,ts,amount\nt1,c1,2024-01-01 10:00:00,10.00\n",
    );
    crm.ok(0, &["load", "--table", "transactions", f.to_str().unwrap()]);
    let dir = crm.dir.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    // 'x' fails its cast while the query runs, not while it is planned.
    let failing = "SELECT CAST(v AS INT) AS n FROM (VALUES ('1'), ('2'), ('x')) AS t(v)";
    for format in ["parquet", "csv", "json"] {
        let out = dir.join(format!("r.{format}"));
        let run = crm.run(&[
            "sql",
            failing,
            "--format",
            format,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(run.status.code(), Some(1), "{format}");
        assert!(
            String::from_utf8_lossy(&run.stderr).contains("'x'"),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(!out.exists(), "{format}: a partial result was left");

        std::fs::write(&out, "kept").unwrap();
        assert_eq!(
            crm.run(&[
                "sql",
                failing,
                "--format",
                format,
                "--out",
                out.to_str().unwrap()
            ])
            .status
            .code(),
            Some(1)
        );
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "kept", "{format}");
        // The same query without the bad row replaces the file.
        let good = "SELECT CAST(v AS INT) AS n FROM (VALUES ('1'), ('2')) AS t(v)";
        crm.ok(
            0,
            &[
                "sql",
                good,
                "--format",
                format,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert_ne!(std::fs::read(&out).unwrap(), b"kept", "{format}");
    }
    // A directory that does not exist: the message names the --out path.
    let nowhere = dir.join("missing").join("r.csv");
    let run = crm.run(&["sql", "SELECT 1 AS n", "--out", nowhere.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains(&format!("cannot write --out {}", nowhere.display())),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut left = left;
    left.sort();
    assert_eq!(left, ["r.csv", "r.json", "r.parquet"]);
}

/// `crm sql ... | head`: a reader that stops early is not an error, in CSV
/// and JSON alike (their writers keep only the text of a write error).
#[test]
fn a_closed_pipe_ends_quietly_with_code_zero() {
    use std::io::Read;
    let crm = Crm::new();
    crm.ok(0, &["init"]);
    for format in ["csv", "json"] {
        let mut child = crm
            .command()
            .args([
                "sql",
                "SELECT value, 'a longer text to fill the pipe' AS t FROM generate_series(1, 2000000)",
                "--format",
                format,
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 64];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        // The read end is closed here, as `head` closes it.
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
