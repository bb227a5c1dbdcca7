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
