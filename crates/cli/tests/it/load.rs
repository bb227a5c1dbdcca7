//! Loading: accounting, quarantine, idempotence, upserts, replace, time
//! travel, concurrency, crash safety, and other tools reading the result.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::common::{Crm, python_ok};

const TX_V1: &str = "\
transaction_id,customer_id,ts,amount,channel
T1,000123,2024-01-05 10:00:00,100.50,shop
T2,000123,2024-02-05 11:00:00,-20.00,shop
T3,C2,2024-03-01,15.00,web
T4,,2024-03-02 09:30:00,7.25,shop
";

const CUSTOMERS_V1: &str = "\
customer_id,full_name,email,phone,city
000123,Иванова Мария, Maria@Example.COM ,8 (916) 123-45-67,Москва
C2,John Smith,john@example.com,+1 650 253 0000,London
C3,Пётр Петров,not-an-email,12,Казань
";

#[test]
fn a_clean_load_accounts_for_every_row_and_normalises_contacts() {
    let crm = Crm::new();
    let f = crm.file("customers.csv", CUSTOMERS_V1);
    crm.ok(0, &["load", "--table", "customers", f.to_str().unwrap()]);
    let rows = crm.sql(
        "SELECT customer_id, email, email_valid, phone, phone_valid FROM customers ORDER BY customer_id",
    );
    assert_eq!(
        rows,
        vec![
            "customer_id,email,email_valid,phone,phone_valid",
            "000123,maria@example.com,true,+79161234567,true",
            "C2,john@example.com,true,+16502530000,true",
            "C3,not-an-email,false,12,false",
        ]
    );
    let h = crm.sql(
        "SELECT status, rows_read, rows_loaded, rows_quarantined, inserted FROM load_history ORDER BY recorded_at, status DESC",
    );
    assert_eq!(
        h,
        vec![
            "status,rows_read,rows_loaded,rows_quarantined,inserted",
            "started,3,3,0,0",
            "complete,3,3,0,3"
        ]
    );
}

#[test]
fn bad_rows_go_to_quarantine_with_their_line_column_and_reason() {
    let crm = Crm::new();
    let f = crm.file(
        "tx.csv",
        "transaction_id,customer_id,ts,amount\n\
         T1,C1,2024-01-05 10:00:00,100.50\n\
         T2,C1,2024-01-06 10:00:00,12;5\n\
         ,C1,2024-01-07 10:00:00,5.00\n\
         T4,C1,2099-01-01 00:00:00,5.00\n\
         T1,C1,2024-01-08 10:00:00,9.00\n\
         T6,C2,2024-01-09 10:00:00,3.00\n",
    );
    let out = crm.run(&["load", "--table", "transactions", f.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(
        summary.contains("read 6, loaded 2, quarantined 4"),
        "{summary}"
    );

    let q = crm.sql("SELECT line, \"column\", reason FROM quarantine ORDER BY line");
    assert_eq!(
        q,
        vec![
            "line,column,reason",
            "3,amount,parse_error",
            "4,transaction_id,missing_required",
            "5,ts,future_date",
            "6,transaction_id,duplicate_in_file",
        ]
    );
    let raw = crm.sql("SELECT raw, file FROM quarantine WHERE line = 3");
    assert!(
        raw[1].starts_with("\"T2,C1,2024-01-06 10:00:00,12;5\""),
        "{raw:?}"
    );
    assert_eq!(
        crm.sql("SELECT count(*) AS n FROM transactions"),
        vec!["n", "2"]
    );
}

#[test]
fn loading_the_same_file_twice_changes_nothing() {
    let crm = Crm::new();
    let f = crm.file("tx.csv", TX_V1);
    crm.ok(0, &["load", "--table", "transactions", f.to_str().unwrap()]);
    let before = crm.sql("SELECT * FROM transactions ORDER BY transaction_id");
    let out = crm.ok(
        0,
        &[
            "load",
            "--table",
            "transactions",
            f.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["inserted"], 0);
    assert_eq!(report["updated"], 0);
    assert_eq!(report["rows_read"], 4);
    assert_eq!(
        crm.sql("SELECT * FROM transactions ORDER BY transaction_id"),
        before
    );
}

#[test]
fn an_upsert_updates_only_the_columns_a_file_carries_and_time_travel_sees_the_past() {
    let crm = Crm::new();
    let v1 = crm.file("c1.csv", CUSTOMERS_V1);
    crm.ok(0, &["load", "--table", "customers", v1.to_str().unwrap()]);
    // A later export with only the phone: the new number replaces the old one,
    // every other column keeps its stored value.
    let v2 = crm.file(
        "c2.csv",
        "customer_id,phone\n000123,+7 903 000-00-01\nC4,+7 903 000-00-02\n",
    );
    let out = crm.ok(
        0,
        &[
            "load",
            "--table",
            "customers",
            v2.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (report["inserted"].as_u64(), report["updated"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        crm.sql("SELECT customer_id, full_name, phone, city FROM customers ORDER BY customer_id"),
        vec![
            "customer_id,full_name,phone,city",
            "000123,Иванова Мария,+79030000001,Москва",
            "C2,John Smith,+16502530000,London",
            "C3,Пётр Петров,12,Казань",
            "C4,,+79030000002,",
        ]
    );
    let old = crm.ok(
        0,
        &[
            "sql",
            "SELECT phone FROM customers WHERE customer_id = '000123'",
            "--at-version",
            "0",
            "--format",
            "csv",
        ],
    );
    assert_eq!(old, "phone\n+79161234567\n");
    let history = crm.ok(0, &["history", "customers", "--format", "csv"]);
    assert_eq!(history.lines().count(), 3, "{history}");
}

#[test]
fn replace_mode_deletes_rows_absent_from_the_snapshot() {
    let crm = Crm::new();
    let v1 = crm.file("c1.csv", CUSTOMERS_V1);
    crm.ok(0, &["load", "--table", "customers", v1.to_str().unwrap()]);
    let v2 = crm.file(
        "c2.csv",
        "customer_id,full_name\nC2,John Smith\nC9,New One\n",
    );
    let out = crm.ok(
        0,
        &[
            "load",
            "--table",
            "customers",
            "--mode",
            "replace",
            v2.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["deleted"], 2);
    assert_eq!(report["inserted"], 1);
    assert_eq!(
        crm.sql("SELECT customer_id FROM customers ORDER BY customer_id"),
        vec!["customer_id", "C2", "C9"]
    );
}

#[test]
fn errors_are_one_line_with_the_right_exit_code() {
    let crm = Crm::new();
    let out = crm.run(&["load", "--table", "deals", "x.csv"]);
    assert_eq!(out.status.code(), Some(2));
    let out = crm.run(&["load", "--table", "transactions", "/nonexistent/file.csv"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/file.csv"), "{err}");
    let out = crm.run(&["sql", "DROP TABLE transactions"]);
    assert_eq!(out.status.code(), Some(1));
}

fn transaction_ids(crm: &Crm) -> BTreeSet<String> {
    crm.sql("SELECT transaction_id FROM transactions")
        .into_iter()
        .skip(1)
        .collect()
}

fn big_csv(first: usize, n: usize) -> String {
    let mut s = String::from("transaction_id,customer_id,ts,amount\n");
    for i in first..first + n {
        s.push_str(&format!(
            "T{i:07},C{},2024-01-{:02} 10:00:00,{}.{:02}\n",
            i % 997,
            1 + i % 28,
            i % 500,
            i % 100
        ));
    }
    s
}

#[test]
fn two_concurrent_loads_lose_nothing() {
    let crm = Crm::new();
    let seed = crm.file("seed.csv", &big_csv(0, 10));
    crm.ok(
        0,
        &["load", "--table", "transactions", seed.to_str().unwrap()],
    );
    let a = crm.file("a.csv", &big_csv(1_000, 20_000));
    let b = crm.file("b.csv", &big_csv(100_000, 20_000));
    let mut pa = crm
        .command()
        .args(["load", "--table", "transactions", a.to_str().unwrap()])
        .spawn()
        .unwrap();
    let mut pb = crm
        .command()
        .args(["load", "--table", "transactions", b.to_str().unwrap()])
        .spawn()
        .unwrap();
    assert!(pa.wait().unwrap().success());
    assert!(pb.wait().unwrap().success());
    assert_eq!(transaction_ids(&crm).len(), 40_010);
    let complete = crm.sql("SELECT count(*) AS n FROM load_history WHERE status = 'complete'");
    assert_eq!(complete, vec!["n", "3"]);
}

#[test]
fn a_load_killed_at_any_moment_leaves_the_old_or_the_new_table_and_a_rerun_completes_it() {
    let crm = Crm::new();
    let base = crm.file("base.csv", &big_csv(0, 5_000));
    crm.ok(
        0,
        &["load", "--table", "transactions", base.to_str().unwrap()],
    );
    let old = transaction_ids(&crm);
    // The update overlaps the base (updates) and adds new keys (inserts).
    let update = crm.file("update.csv", &big_csv(4_000, 30_000));
    let new: BTreeSet<String> = old
        .iter()
        .cloned()
        .chain((4_000..34_000).map(|i| format!("T{i:07}")))
        .collect();

    // How long a full load takes, to spread the kills over it.
    let pristine = crm.dir.path().join("pristine");
    copy_dir(&crm.warehouse(), &pristine);
    let t0 = Instant::now();
    crm.ok(
        0,
        &["load", "--table", "transactions", update.to_str().unwrap()],
    );
    let full = t0.elapsed();
    assert_eq!(transaction_ids(&crm), new);

    let mut seen_old = 0;
    let mut seen_new = 0;
    for i in 0..12u64 {
        std::fs::remove_dir_all(crm.warehouse()).unwrap();
        copy_dir(&pristine, &crm.warehouse());
        let mut child = crm
            .command()
            .args(["load", "--table", "transactions", update.to_str().unwrap()])
            .spawn()
            .unwrap();
        // Spread the kill points over the load, deterministically.
        let at = full.mul_f64((i as f64 + 0.5) / 12.0);
        std::thread::sleep(at.min(Duration::from_secs(20)));
        child.kill().ok(); // SIGKILL
        child.wait().unwrap();
        let ids = transaction_ids(&crm);
        if ids == old {
            seen_old += 1;
        } else if ids == new {
            seen_new += 1;
        } else {
            panic!(
                "kill #{i} after {at:?} left a table that is neither the old nor the new version ({} rows)",
                ids.len()
            );
        }
        // Running the same command again completes the load.
        crm.ok(
            0,
            &["load", "--table", "transactions", update.to_str().unwrap()],
        );
        assert_eq!(transaction_ids(&crm), new);
        let pending = crm.sql(
            "SELECT count(*) AS n FROM load_history s WHERE status = 'started' AND NOT EXISTS \
             (SELECT 1 FROM load_history c WHERE c.status = 'complete' AND c.load_id = s.load_id)",
        );
        assert_eq!(
            pending,
            vec!["n", "0"],
            "kill #{i}: a load stayed incomplete"
        );
    }
    assert!(seen_old + seen_new == 12);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn python_deltalake_and_pandas_read_the_tables() {
    let crm = Crm::new();
    let f = crm.file("tx.csv", TX_V1);
    crm.ok(0, &["load", "--table", "transactions", f.to_str().unwrap()]);
    let script = format!(
        "import deltalake\n\
         dt = deltalake.DeltaTable({:?})\n\
         df = dt.to_pandas().sort_values('transaction_id')\n\
         print(len(df), df['customer_id'].iloc[0], str(df['amount'].iloc[0]), str(df['amount'].sum()), df['customer_id'].isna().sum())\n",
        crm.warehouse()
            .join("tables/transactions")
            .to_str()
            .unwrap()
    );
    assert_eq!(python_ok(&script, &[]).trim(), "4 000123 100.50 102.75 1");
}

/// Every way a load writes data (a streamed first load, a first load of
/// several files, a MERGE into an existing table) writes the same Parquet
/// settings: LZ4 (raw) for timestamps and money, zstd for the rest, and no
/// dictionary for the natural key.
#[test]
fn every_load_path_writes_the_same_parquet_settings() {
    let crm = Crm::new();
    let tx = crm.file("tx.csv", TX_V1);
    crm.ok(
        0,
        &["load", "--table", "transactions", tx.to_str().unwrap()],
    );
    let more = crm.file(
        "tx2.csv",
        "transaction_id,customer_id,ts,amount,channel\nT5,C2,2024-04-01,9.00,web\n",
    );
    crm.ok(
        0,
        &["load", "--table", "transactions", more.to_str().unwrap()],
    );
    let (head, rest) = CUSTOMERS_V1.split_once('\n').unwrap();
    let (first, second) = rest.split_once('\n').unwrap();
    let a = crm.file("c1.csv", &format!("{head}\n{first}\n"));
    let b = crm.file("c2.csv", &format!("{head}\n{second}"));
    crm.ok(
        0,
        &[
            "load",
            "--table",
            "customers",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
    );
    let script = format!(
        "import glob, pyarrow as pa, pyarrow.parquet as pq\n\
         for t, key in (('transactions', 'transaction_id'), ('customers', 'customer_id')):\n\
         \x20   files = sorted(glob.glob({:?} + '/' + t + '/*.parquet'))\n\
         \x20   for f in files:\n\
         \x20       p = pq.ParquetFile(f)\n\
         \x20       g = p.metadata.row_group(0)\n\
         \x20       cols = [g.column(i) for i in range(g.num_columns)]\n\
         \x20       for c in cols:\n\
         \x20           ty = p.schema_arrow.field(c.path_in_schema).type\n\
         \x20           want = 'LZ4' if pa.types.is_timestamp(ty) or pa.types.is_decimal(ty) else 'ZSTD'\n\
         \x20           assert c.compression == want, (f, c.path_in_schema, c.compression)\n\
         \x20       assert any(c.compression == 'LZ4' for c in cols) or t == 'customers', f\n\
         \x20       k = next(c for c in cols if c.path_in_schema == key)\n\
         \x20       assert 'RLE_DICTIONARY' not in k.encodings, (f, k.encodings)\n\
         \x20   print(t, len(files))\n",
        crm.warehouse().join("tables").to_str().unwrap()
    );
    let printed = python_ok(&script, &[]);
    let files = |t: &str| -> usize {
        printed
            .lines()
            .find_map(|l| l.strip_prefix(t)?.trim().parse().ok())
            .unwrap()
    };
    assert!(files("transactions ") >= 2, "{printed}");
    assert!(files("customers ") >= 1, "{printed}");
}

/// A first load is streamed: the file is read in chunks (1000 records here),
/// written to Parquet by several writers while it is parsed, and committed
/// once. A quoted newline closes the first chunk, and the bad rows sit in
/// later chunks; their lines are counted by hand from the file as written.
#[test]
fn a_streamed_first_load_keeps_exact_lines_and_commits_once() {
    let crm = Crm::new();
    let config = crm.file("crm.toml", "[ingest]\nbatch_rows = 1000\n");
    let mut csv = String::from("transaction_id,customer_id,ts,amount,channel\n");
    let mut loaded_cents = 0i64;
    for i in 0..10_000i64 {
        let channel = if i == 999 { "\"shop\nline\"" } else { "web" };
        let amount = match i {
            7_777 => "x".to_string(), // record 7777: line 7777 + 3 (one extra line at 999)
            9_999 => "1.005".to_string(), // the last record: line 10002
            _ => {
                loaded_cents += (i % 500) * 100 + i % 100;
                format!("{}.{:02}", i % 500, i % 100)
            }
        };
        csv.push_str(&format!(
            "T{i},C{},2024-01-{:02} 10:00:00,{amount},{channel}\n",
            i % 97,
            1 + i % 28
        ));
    }
    let f = crm.file("tx.csv", &csv);
    crm.ok(
        3,
        &[
            "--config",
            config.to_str().unwrap(),
            "load",
            "--table",
            "transactions",
            f.to_str().unwrap(),
        ],
    );
    assert_eq!(
        crm.sql("SELECT line, reason, \"column\" FROM quarantine ORDER BY line"),
        vec![
            "line,reason,column",
            "7780,parse_error,amount",
            "10002,amount_out_of_range,amount"
        ]
    );
    assert_eq!(
        crm.sql("SELECT count(*) AS n, sum(amount) AS total FROM transactions"),
        vec![
            "n,total".to_string(),
            format!("9998,{}.{:02}", loaded_cents / 100, loaded_cents % 100)
        ]
    );
    assert_eq!(
        crm.sql("SELECT replace(channel, chr(10), '|') AS c FROM transactions WHERE transaction_id = 'T999'"),
        vec!["c", "shop|line"]
    );
    assert_eq!(
        crm.sql("SELECT status, rows_read, rows_loaded, rows_quarantined, inserted FROM load_history ORDER BY recorded_at, status DESC"),
        vec![
            "status,rows_read,rows_loaded,rows_quarantined,inserted",
            "started,10000,9998,2,0",
            "complete,10000,9998,2,9998"
        ]
    );
    // One commit created the table with every data file.
    let log: Vec<_> = std::fs::read_dir(crm.warehouse().join("tables/transactions/_delta_log"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(log, vec!["00000000000000000000.json"]);
}
