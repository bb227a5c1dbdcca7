//! `crm optimize`: transactions bucketed by customer give every result they
//! gave before; per-customer aggregations read one bucket per partition, and
//! plans that join or union read the table as before.

use std::collections::BTreeMap;
use std::path::Path;

use crm_engine::datafusion::arrow::array::{Array, AsArray};
use crm_engine::datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use crm_warehouse::buckets::bucket_of;

use crate::common::Crm;

const AS_OF: &str = "2024-06-30";

/// One row per customer from transactions alone: a single-input plan.
const PER_CUSTOMER: &str = "SELECT customer_id, count(*) AS n, max(ts) AS last_ts, \
     sum(amount) AS total FROM transactions GROUP BY customer_id ORDER BY customer_id";

/// The same rows grouped after a join: a plan with two inputs.
const JOINED: &str = "SELECT t.customer_id, count(*) AS n, sum(t.amount) AS total \
     FROM transactions t JOIN customers c ON t.customer_id = c.customer_id \
     GROUP BY t.customer_id ORDER BY t.customer_id";

/// Two aggregations in one union: a plan with two inputs.
const UNIONED: &str = "SELECT customer_id, count(*) AS n FROM transactions GROUP BY customer_id \
     UNION ALL SELECT customer_id, count(*) AS n FROM transactions WHERE amount < 0 \
     GROUP BY customer_id ORDER BY customer_id, n";

fn plan(crm: &Crm, query: &str) -> String {
    crm.ok(0, &["sql", &format!("EXPLAIN {query}"), "--format", "csv"])
}

fn declares_buckets(plan: &str) -> bool {
    plan.contains("output_partitioning=Hash([customer_id")
}

/// Everything a user sees that bucketing must not change, each answer's
/// lines sorted (the per-customer RFM rows come in no set order).
fn results(crm: &Crm) -> Vec<Vec<String>> {
    let mut answers = vec![
        crm.sql(PER_CUSTOMER),
        crm.sql(JOINED),
        crm.sql(UNIONED),
        crm.sql("SELECT count(*), sum(amount), count(DISTINCT transaction_id) FROM transactions"),
        crm.ok(
            0,
            &["rfm", "--as-of", AS_OF, "--per-customer", "--format", "csv"],
        )
        .lines()
        .map(str::to_string)
        .collect(),
    ];
    for lines in &mut answers {
        lines.sort();
    }
    answers
}

/// Fails on the first answer that differs, showing the first differing line.
fn assert_same(after: &[Vec<String>], before: &[Vec<String>]) {
    for (i, (a, b)) in after.iter().zip(before).enumerate() {
        if a != b {
            let at = a.iter().zip(b).position(|(x, y)| x != y);
            panic!(
                "answer {i} changed: {} lines against {}; first difference {:?}",
                a.len(),
                b.len(),
                at.map(|k| (&a[k], &b[k]))
            );
        }
    }
}

/// `crm optimize`'s one-line summary (stderr).
fn optimize(crm: &Crm) -> String {
    optimize_with(crm, &[])
}

fn optimize_with(crm: &Crm, args: &[&str]) -> String {
    let out = crm.run(&[&["optimize"], args].concat());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stderr).unwrap()
}

/// The live files of the transactions table and their tags, replayed from
/// the Delta log (no checkpoint at these few commits).
fn live_files(warehouse: &Path) -> BTreeMap<String, Option<serde_json::Value>> {
    let log = warehouse.join("tables/transactions/_delta_log");
    let mut commits: Vec<_> = std::fs::read_dir(&log)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    commits.sort();
    let mut files = BTreeMap::new();
    for commit in commits {
        for line in std::fs::read_to_string(commit).unwrap().lines() {
            let action: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(add) = action.get("add") {
                let path = add["path"].as_str().unwrap().to_string();
                files.insert(path, add.get("tags").cloned());
            }
            if let Some(remove) = action.get("remove") {
                files.remove(remove["path"].as_str().unwrap());
            }
        }
    }
    files
}

/// Checks that every live file is tagged with one of `buckets` buckets and
/// holds only customers of that bucket; returns the number of files.
fn assert_bucketed(warehouse: &Path, buckets: u32) -> usize {
    let files = live_files(warehouse);
    for (path, tags) in &files {
        let tags = tags
            .as_ref()
            .unwrap_or_else(|| panic!("{path} has no tags"));
        assert_eq!(tags["crm.bucket_by"], "customer_id", "{path}");
        assert_eq!(tags["crm.buckets"], buckets.to_string().as_str(), "{path}");
        let bucket: u32 = tags["crm.bucket"].as_str().unwrap().parse().unwrap();
        let file = std::fs::File::open(warehouse.join("tables/transactions").join(path)).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let ids = batch
                .column_by_name("customer_id")
                .unwrap()
                .as_string::<i32>();
            for i in 0..ids.len() {
                let id = ids.is_valid(i).then(|| ids.value(i));
                assert_eq!(bucket_of(id, buckets), bucket, "{path}: customer {id:?}");
            }
        }
    }
    files.len()
}

#[test]
fn optimize_buckets_transactions_and_changes_no_result() {
    let crm = Crm::new();
    crm.generate("20000", AS_OF, "5");
    let before = results(&crm);
    assert!(!declares_buckets(&plan(&crm, PER_CUSTOMER)));

    let said = optimize(&crm);
    assert!(
        said.contains("rows from") && said.contains("in 16 buckets"),
        "{said}"
    );
    let files = assert_bucketed(&crm.warehouse(), 16);
    assert!(files >= 16, "{files} files for 16 buckets");

    // A per-customer aggregation reads the buckets: one step, no shuffle.
    let p = plan(&crm, PER_CUSTOMER);
    assert!(declares_buckets(&p), "{p}");
    assert!(
        p.contains("mode=SinglePartitioned") && !p.contains("RepartitionExec: partitioning=Hash"),
        "{p}"
    );
    // A join or a union may not pair buckets with DataFusion's own hash.
    for query in [JOINED, UNIONED] {
        let p = plan(&crm, query);
        assert!(!declares_buckets(&p), "{p}");
    }
    assert_same(&results(&crm), &before);

    // Nothing left to do.
    let said = optimize(&crm);
    assert!(
        said.contains("bucketed by customer into 16 already"),
        "{said}"
    );
}

#[test]
fn files_a_later_load_adds_are_read_unbucketed_until_the_next_optimize() {
    let crm = Crm::new();
    crm.generate("5000", AS_OF, "9");
    optimize(&crm);
    let bucketed = live_files(&crm.warehouse()).len();

    // New customers and a new purchase of an existing one, through a MERGE.
    let known = crm.sql("SELECT min(customer_id) FROM transactions")[1].clone();
    let extra = crm.file(
        "extra.csv",
        &format!(
            "transaction_id,customer_id,ts,amount\n\
             new-1,{known},2024-06-29 10:00:00,12.50\n\
             new-2,NEWCOMER-1,2024-06-29 11:00:00,40.00\n\
             new-3,NEWCOMER-2,2024-06-30 12:00:00,-5.00\n"
        ),
    );
    crm.ok(
        0,
        &[
            "load",
            "--table",
            "transactions",
            extra.to_str().unwrap(),
            "-q",
        ],
    );
    let p = plan(&crm, PER_CUSTOMER);
    assert!(!declares_buckets(&p), "one file without a bucket: {p}");
    assert_eq!(transactions_bucketed(&crm), "16, 1 file not");
    let before = results(&crm);
    assert!(
        before[0].iter().any(|l| l.starts_with("NEWCOMER-1,1,")),
        "{:?}",
        before[0]
    );

    let said = optimize(&crm);
    assert!(
        said.contains("3 rows from 1 files") && said.contains(&format!("({bucketed} files kept)")),
        "{said}"
    );
    assert_bucketed(&crm.warehouse(), 16);
    assert!(declares_buckets(&plan(&crm, PER_CUSTOMER)));
    assert_eq!(transactions_bucketed(&crm), "16");
    assert_same(&results(&crm), &before);
}

/// The `bucketed` column of `crm status` for transactions.
fn transactions_bucketed(crm: &Crm) -> String {
    let json = crm.ok(0, &["status", "--format", "json"]);
    let row: serde_json::Value = json
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["table"] == "transactions")
        .unwrap_or_else(|| panic!("{json}"));
    row["bucketed"].as_str().unwrap().to_string()
}

#[test]
fn a_new_count_rewrites_every_file_and_many_buckets_are_read_as_files() {
    let crm = Crm::new();
    crm.generate("5000", AS_OF, "3");
    let before = results(&crm);
    optimize(&crm);
    let files = live_files(&crm.warehouse()).len();

    let said = optimize_with(&crm, &["--buckets", "128"]);
    assert!(
        said.contains(&format!("from {files} files"))
            && said.contains("in 128 buckets (0 files kept)"),
        "{said}"
    );
    assert_bucketed(&crm.warehouse(), 128);
    assert_eq!(transactions_bucketed(&crm), "128");
    // More than 4 buckets per target partition (16 here): read as files.
    assert!(!declares_buckets(&plan(&crm, PER_CUSTOMER)));
    assert_same(&results(&crm), &before);
}

#[test]
fn bucket_of_is_xxhash64_with_seed_zero() {
    // XXH64("", 0) = 0xEF46DB3751D8E999 and XXH64("a", 0) =
    // 0xD24EC4F1A98C6E5B, from the xxHash specification's test vectors.
    assert_eq!(
        bucket_of(Some(""), 1000),
        (0xEF46DB3751D8E999u64 % 1000) as u32
    );
    assert_eq!(
        bucket_of(Some("a"), 97),
        (0xD24EC4F1A98C6E5Bu64 % 97) as u32
    );
    assert_eq!(bucket_of(None, 16), 0);
}
