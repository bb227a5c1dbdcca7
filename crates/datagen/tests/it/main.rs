//! End-to-end checks of crm-datagen: files on disk, schemas, keys,
//! referential sanity, shapes and determinism.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;

use arrow::array::{
    Array, AsArray, BooleanArray, Decimal128Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::TimestampMicrosecondType;
use chrono::NaiveDate;
use crm_core::Table;
use crm_datagen::{GenConfig, OutputFormat, generate, generate_batches, generate_table};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn end_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 12, 31).unwrap()
}

fn config(transactions: u64) -> GenConfig {
    GenConfig::new(transactions, end_date())
}

fn read_parquet_dir(dir: &Path) -> Vec<RecordBatch> {
    let mut paths: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let reader = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(&p).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for b in reader {
            out.push(b.unwrap());
        }
    }
    out
}

fn strings<'a>(batches: &'a [RecordBatch], col: &str) -> Vec<Option<&'a str>> {
    batches
        .iter()
        .flat_map(|b| {
            let a: &StringArray = b.column_by_name(col).unwrap().as_string();
            a.iter()
        })
        .collect()
}

fn timestamps(batches: &[RecordBatch], col: &str) -> Vec<Option<i64>> {
    batches
        .iter()
        .flat_map(|b| {
            let a: &TimestampMicrosecondArray = b
                .column_by_name(col)
                .unwrap()
                .as_primitive::<TimestampMicrosecondType>();
            a.iter().collect::<Vec<_>>()
        })
        .collect()
}

fn money(batches: &[RecordBatch], col: &str) -> Vec<Option<i128>> {
    batches
        .iter()
        .flat_map(|b| {
            let a: &Decimal128Array = b
                .column_by_name(col)
                .unwrap()
                .as_any()
                .downcast_ref()
                .unwrap();
            a.iter().collect::<Vec<_>>()
        })
        .collect()
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

fn dir_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for table in Table::ALL {
        let d = dir.join(table.name());
        let mut names: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names {
            out.push((
                format!(
                    "{}/{}",
                    table.name(),
                    p.file_name().unwrap().to_string_lossy()
                ),
                fs::read(&p).unwrap(),
            ));
        }
    }
    out
}

#[test]
fn same_config_gives_identical_files_with_one_or_two_threads() {
    let mut cfg = config(60_000);
    cfg.customers = Some(20_000); // two chunks
    cfg.rows_per_file = 25_000; // several files per table
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let sa = one.install(|| generate(&cfg, a.path())).unwrap();
    let sb = two.install(|| generate(&cfg, b.path())).unwrap();
    assert_eq!(sa.total_bytes(), sb.total_bytes());
    let fa = dir_files(a.path());
    let fb = dir_files(b.path());
    assert_eq!(fa.len(), fb.len());
    assert!(sa.table(Table::Transactions).unwrap().files.len() >= 3);
    for ((na, ca), (nb, cb)) in fa.iter().zip(&fb) {
        assert_eq!(na, nb);
        assert!(ca == cb, "{na} differs");
    }
    // One table alone gives the same files as in the full run.
    let alone = tempfile::tempdir().unwrap();
    let interactions = generate_table(&cfg, Table::Interactions, alone.path()).unwrap();
    for (full, single) in sa
        .table(Table::Interactions)
        .unwrap()
        .files
        .iter()
        .zip(&interactions.files)
    {
        assert_eq!(fs::read(full).unwrap(), fs::read(single).unwrap());
    }
    // Running again into the same directory replaces the parts.
    let again = generate(&cfg, a.path()).unwrap();
    assert_eq!(again, sa);
    assert_eq!(dir_files(a.path()), fa);
    // Another seed gives other data.
    cfg.seed += 1;
    let c = tempfile::tempdir().unwrap();
    generate(&cfg, c.path()).unwrap();
    assert_ne!(dir_files(c.path())[0].1, fa[0].1);
}

/// The data set most checks below share: 200k transactions, 10k customers.
fn standard(dir: &Path) -> (GenConfig, crm_datagen::GenSummary) {
    let cfg = config(200_000);
    let summary = generate(&cfg, dir).unwrap();
    (cfg, summary)
}

#[test]
fn files_have_canonical_schemas_keys_and_references() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, summary) = standard(dir.path());
    let mut tables = HashMap::new();
    for table in Table::ALL {
        let batches = read_parquet_dir(&dir.path().join(table.name()));
        for b in &batches {
            assert_eq!(
                b.schema().fields(),
                table.arrow_schema().fields(),
                "{table}"
            );
        }
        assert_eq!(rows(&batches) as u64, summary.rows(table), "{table}");
        let s = summary.table(table).unwrap();
        assert!(s.bytes > 0 && !s.files.is_empty());
        assert!(s.files[0].ends_with(format!("{}/part-00000.parquet", table.name())));
        tables.insert(table, batches);
    }
    assert_eq!(summary.rows(Table::Transactions), cfg.transactions);
    assert_eq!(summary.rows(Table::Customers), cfg.customer_count());
    assert_eq!(
        summary.rows(Table::Managers),
        u64::from(cfg.manager_count())
    );

    // Natural keys are unique.
    for table in [
        Table::Customers,
        Table::Transactions,
        Table::Interactions,
        Table::Interests,
        Table::Managers,
        Table::Campaigns,
    ] {
        let key = table.key_columns()[0];
        let ids = strings(&tables[&table], key);
        let set: HashSet<_> = ids.iter().map(|s| s.unwrap()).collect();
        assert_eq!(set.len(), ids.len(), "{table}.{key} is not unique");
    }
    let stages = &tables[&Table::InterestStages];
    let keys: HashSet<_> = strings(stages, "interest_id")
        .into_iter()
        .zip(strings(stages, "stage"))
        .zip(timestamps(stages, "entered_at"))
        .collect();
    assert_eq!(
        keys.len(),
        rows(stages),
        "interest_stages key is not unique"
    );

    // Leading zeros are kept in some customer ids.
    let customers = strings(&tables[&Table::Customers], "customer_id");
    assert!(customers.iter().any(|c| c.unwrap().starts_with('0')));
    let customer_set: HashSet<&str> = customers.iter().map(|c| c.unwrap()).collect();
    let manager_set: HashSet<&str> = strings(&tables[&Table::Managers], "manager_id")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let interest_set: HashSet<&str> = strings(&tables[&Table::Interests], "interest_id")
        .into_iter()
        .map(Option::unwrap)
        .collect();

    // References point at existing rows (or are null where allowed).
    for (table, col, set) in [
        (Table::Transactions, "customer_id", &customer_set),
        (Table::Transactions, "manager_id", &manager_set),
        (Table::Customers, "manager_id", &manager_set),
        (Table::Interests, "customer_id", &customer_set),
        (Table::Interests, "manager_id", &manager_set),
        (Table::Interactions, "customer_id", &customer_set),
        (Table::Interactions, "manager_id", &manager_set),
        (Table::Interactions, "interest_id", &interest_set),
        (Table::InterestStages, "interest_id", &interest_set),
    ] {
        for v in strings(&tables[&table], col).into_iter().flatten() {
            assert!(set.contains(v), "{table}.{col} = {v} points nowhere");
        }
    }

    // All timestamps of facts lie within the window (interactions may be planned ahead).
    let start = NaiveDate::from_ymd_opt(2023, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let end = end_date().and_hms_opt(23, 59, 59).unwrap();
    let (start, end) = (
        start.and_utc().timestamp_micros(),
        end.and_utc().timestamp_micros(),
    );
    for ts in timestamps(&tables[&Table::Transactions], "ts") {
        assert!((start..=end).contains(&ts.unwrap()));
    }
    for (t, col) in [
        (Table::Customers, "created_at"),
        (Table::Interests, "created_at"),
        (Table::Interests, "closed_at"),
        (Table::InterestStages, "entered_at"),
        (Table::Interactions, "completed_at"),
    ] {
        for ts in timestamps(&tables[&t], col).into_iter().flatten() {
            // Back-dated stage rows may precede the window by a few days.
            assert!(ts >= start - 4 * 86_400_000_000 && ts <= end, "{t}.{col}");
        }
    }
}

#[test]
fn stage_history_is_consistent_with_interests() {
    let cfg = config(400_000);
    let interests = generate_batches(&cfg, Table::Interests).unwrap();
    let stages = generate_batches(&cfg, Table::InterestStages).unwrap();
    let ids = strings(&interests, "interest_id");
    let created = timestamps(&interests, "created_at");
    let closed = timestamps(&interests, "closed_at");
    let outcome = strings(&interests, "outcome");
    let current = strings(&interests, "stage");
    let mut history: HashMap<&str, Vec<(&str, i64)>> = HashMap::new();
    for ((id, stage), at) in strings(&stages, "interest_id")
        .into_iter()
        .zip(strings(&stages, "stage"))
        .zip(timestamps(&stages, "entered_at"))
    {
        history
            .entry(id.unwrap())
            .or_default()
            .push((stage.unwrap(), at.unwrap()));
    }
    let (mut backdated, mut reopened, mut russian) = (0, 0, 0);
    let mut won = 0;
    for i in 0..ids.len() {
        let h = &history[ids[i].unwrap()];
        assert_eq!(
            h[0].1,
            created[i].unwrap(),
            "first stage entered at creation"
        );
        assert_eq!(
            h.last().unwrap().0,
            current[i].unwrap(),
            "current stage is the last one"
        );
        let increasing = h.windows(2).all(|w| w[0].1 < w[1].1);
        if !increasing {
            backdated += 1;
            // Only the last row is ever back-dated.
            assert!(h[..h.len() - 1].windows(2).all(|w| w[0].1 < w[1].1));
        }
        let names: HashSet<_> = h.iter().map(|s| s.0).collect();
        if names.len() < h.len() {
            reopened += 1;
        }
        if h[0].0 == "Первичный контакт" {
            russian += 1;
        }
        match outcome[i].unwrap() {
            "open" => assert!(closed[i].is_none()),
            "won" => {
                assert_eq!(closed[i], Some(h.last().unwrap().1));
                won += 1;
            }
            "lost" => assert!(closed[i].unwrap() >= h.last().unwrap().1),
            o => panic!("outcome {o}"),
        }
    }
    let n = ids.len() as f64;
    // ~0.2 interests per customer.
    let per_customer = n / cfg.customer_count() as f64;
    assert!((0.15..0.25).contains(&per_customer), "{per_customer}");
    assert!(
        (f64::from(backdated) / n) < 0.01,
        "{backdated} of {n} back-dated"
    );
    assert!(
        backdated > 0 && reopened > 0,
        "anomalies exist: {backdated} {reopened}"
    );
    let ru = f64::from(russian) / n;
    assert!((0.05..0.11).contains(&ru), "amoCRM-spelled share {ru}");
    let win_rate = won as f64 / n;
    assert!((0.08..0.35).contains(&win_rate), "win rate {win_rate}");
}

#[test]
fn shapes_stay_within_documented_bands() {
    let cfg = config(400_000);
    let tx = generate_batches(&cfg, Table::Transactions).unwrap();
    assert_eq!(rows(&tx) as u64, cfg.transactions);
    let customers = strings(&tx, "customer_id");
    let amounts = money(&tx, "amount");
    let n = customers.len() as f64;
    let anonymous = customers.iter().filter(|c| c.is_none()).count() as f64 / n;
    assert!(
        (0.035..=0.045).contains(&anonymous),
        "anonymous share {anonymous}"
    );
    let refunds = amounts.iter().filter(|a| a.unwrap() < 0).count() as f64 / n;
    assert!((0.03..=0.05).contains(&refunds), "refund share {refunds}");
    let mut purchases: HashMap<&str, u32> = HashMap::new();
    for (c, a) in customers.iter().zip(&amounts) {
        if let (Some(c), Some(a)) = (c, a)
            && *a >= 0
        {
            *purchases.entry(c).or_default() += 1;
        }
    }
    let one_time = purchases.values().filter(|&&k| k == 1).count() as f64 / purchases.len() as f64;
    assert!(
        (0.25..=0.45).contains(&one_time),
        "one-time buyer share {one_time}"
    );
    let heavy = purchases.values().filter(|&&k| k >= 100).count() as f64 / purchases.len() as f64;
    assert!((0.02..0.25).contains(&heavy), "heavy buyers {heavy}");
    let buyers = purchases.len() as f64 / cfg.customer_count() as f64;
    assert!(
        (0.9..0.99).contains(&buyers),
        "share of customers who bought {buyers}"
    );

    // Costs give margins of 30–60% where present.
    let costs = money(&tx, "cost");
    let mut with_cost = 0;
    for (a, c) in amounts.iter().zip(&costs) {
        if let (Some(a), Some(c)) = (a, c)
            && *a > 10_000
        {
            let margin = 1.0 - *c as f64 / *a as f64;
            assert!((0.29..=0.61).contains(&margin), "margin {margin}");
            with_cost += 1;
        }
    }
    assert!(with_cost as f64 > 0.8 * n);

    // December is busier than January, in every year.
    let ts = timestamps(&tx, "ts");
    let mut months = [0u32; 13];
    for t in ts.iter().flatten() {
        let d = chrono::DateTime::from_timestamp_micros(*t)
            .unwrap()
            .naive_utc();
        months[chrono::Datelike::month(&d) as usize] += 1;
    }
    assert!(
        f64::from(months[12]) > 1.5 * f64::from(months[1]),
        "{months:?}"
    );

    // Contacts have something for checks to catch.
    let cust = generate_batches(&cfg, Table::Customers).unwrap();
    let email = strings(&cust, "email");
    let missing = email.iter().filter(|e| e.is_none()).count();
    assert!(missing > 0);
    let invalid = cust
        .iter()
        .flat_map(|b| {
            let a: &BooleanArray = b.column_by_name("email_valid").unwrap().as_boolean();
            a.iter().collect::<Vec<_>>()
        })
        .filter(|v| *v == Some(false))
        .count();
    assert!(invalid > 0);
    let names = strings(&cust, "full_name");
    assert!(
        names
            .iter()
            .flatten()
            .any(|n| n.chars().any(|c| ('а'..='я').contains(&c)))
    );
    assert!(names.iter().flatten().any(|n| n.is_ascii()));

    // Interactions: some overdue (planned in the past, never done).
    let inter = generate_batches(&cfg, Table::Interactions).unwrap();
    let status = strings(&inter, "status");
    let planned = timestamps(&inter, "planned_at");
    let completed = timestamps(&inter, "completed_at");
    let end = end_date()
        .and_hms_opt(23, 59, 59)
        .unwrap()
        .and_utc()
        .timestamp_micros();
    let mut overdue = 0;
    for i in 0..status.len() {
        match status[i].unwrap() {
            "done" => assert!(completed[i].unwrap() >= planned[i].unwrap()),
            "planned" => {
                assert!(completed[i].is_none());
                overdue += usize::from(planned[i].unwrap() <= end);
            }
            "cancelled" => assert!(completed[i].is_none()),
            s => panic!("status {s}"),
        }
    }
    let share = overdue as f64 / status.len() as f64;
    assert!((0.03..0.35).contains(&share), "overdue share {share}");
}

#[test]
fn csv_reads_back_with_header_and_row_count() {
    let mut cfg = config(5_000);
    cfg.format = OutputFormat::Csv;
    cfg.rows_per_file = 2_000;
    let dir = tempfile::tempdir().unwrap();
    let s = generate_table(&cfg, Table::Transactions, dir.path()).unwrap();
    assert_eq!(s.rows, 5_000);
    assert_eq!(s.files.len(), 3);
    let mut total = 0;
    for f in &s.files {
        assert_eq!(f.extension().unwrap(), "csv");
        let mut r = csv::Reader::from_path(f).unwrap();
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        let expected: Vec<&str> = Table::Transactions
            .columns()
            .iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(header, expected);
        for rec in r.records() {
            let rec = rec.unwrap();
            assert_eq!(rec.len(), expected.len());
            let ts = &rec[2];
            assert!(
                chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S").is_ok(),
                "{ts}"
            );
            let amount = &rec[3];
            let (_, frac) = amount.split_once('.').unwrap();
            assert_eq!(frac.len(), 2, "{amount}");
            total += 1;
        }
    }
    assert_eq!(total, 5_000);
    // The same rows as Parquet.
    let batches = generate_batches(&cfg, Table::Transactions).unwrap();
    let first = strings(&batches, "transaction_id")[0].unwrap().to_string();
    let mut r = csv::Reader::from_path(&s.files[0]).unwrap();
    assert_eq!(&r.records().next().unwrap().unwrap()[0], first.as_str());
}

#[test]
fn tiny_and_odd_sizes_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(1_000);
    let s = generate(&cfg, dir.path()).unwrap();
    assert_eq!(s.rows(Table::Transactions), 1_000);
    assert_eq!(s.rows(Table::Customers), 50);
    for t in Table::ALL {
        assert!(
            !s.table(t).unwrap().files.is_empty(),
            "{t} has a file even if empty"
        );
    }
    cfg.transactions = 7;
    cfg.customers = Some(30);
    cfg.years = 1;
    let s = generate(&cfg, dir.path()).unwrap();
    assert_eq!(s.rows(Table::Transactions), 7);
    assert_eq!(s.rows(Table::Customers), 30);
    let batches = read_parquet_dir(&dir.path().join("transactions"));
    let ids = strings(&batches, "transaction_id");
    let mut ids: Vec<u64> = ids.iter().map(|s| s.unwrap().parse().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=7).collect::<Vec<_>>());
}

/// The Python with the oracle packages (DuckDB), installed by scripts/test.
fn python() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("CRM_PYTHON") {
        return p.into();
    }
    let venv = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../.venv/bin/python"
    ));
    assert!(
        venv.exists(),
        "the Python oracles are missing: run scripts/test (it creates .venv), or set CRM_PYTHON"
    );
    venv.to_path_buf()
}

#[test]
fn duckdb_reads_parquet_and_csv_with_the_same_totals() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(30_000);
    cfg.rows_per_file = 10_000;
    generate_table(&cfg, Table::Transactions, &dir.path().join("pq")).unwrap();
    cfg.format = OutputFormat::Csv;
    generate_table(&cfg, Table::Transactions, &dir.path().join("csv")).unwrap();
    let batches = generate_batches(&cfg, Table::Transactions).unwrap();
    let amounts = money(&batches, "amount");
    let total: i128 = amounts.iter().map(|a| a.unwrap()).sum();
    let anonymous = strings(&batches, "customer_id")
        .iter()
        .filter(|c| c.is_none())
        .count();

    let script = r#"
import sys, duckdb
root = sys.argv[1]
con = duckdb.connect()
for src in (f"read_parquet('{root}/pq/transactions/*.parquet')",
            f"read_csv('{root}/csv/transactions/*.csv', header=true, types={{'amount': 'DECIMAL(18,2)', 'customer_id': 'VARCHAR'}})"):
    n, s, d, anon = con.execute(
        f"select count(*), sum(amount), count(distinct transaction_id), count(*) filter (where customer_id is null) from {src}"
    ).fetchone()
    print(n, int(s * 100), d, anon)
types = dict((r[0], r[1]) for r in con.execute(f"describe select * from read_parquet('{root}/pq/transactions/*.parquet')").fetchall())
print(types["amount"], types["ts"], types["transaction_id"])
"#;
    let out = std::process::Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let expected = format!("30000 {total} 30000 {anonymous}");
    assert_eq!(lines[0], expected, "parquet as DuckDB sees it");
    assert_eq!(lines[1], expected, "csv as DuckDB sees it");
    assert_eq!(lines[2], "DECIMAL(18,2) TIMESTAMP VARCHAR");
}
