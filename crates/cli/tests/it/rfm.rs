//! RFM and the nightly run against values worked out by hand.
//!
//! Fixture, as of 2024-06-30 (N = 5 scored customers):
//!
//! | customer | purchases ≤ as_of          | refunds | F | monetary | recency |
//! |----------|----------------------------|---------|---|----------|---------|
//! | A        | 06-01 50, 06-30 100         |         | 2 | 150      | 0       |
//! | B        | 06-30 100                   | 06-15 -30 | 1 | 70     | 0       |
//! | C        | 01-01 500, 01-01 200 (same day) |     | 2 | 700      | 181     |
//! | D        | 03-31 80                    |         | 1 | 80       | 91      |
//! | G        | 05-31 0 (a gift); 07-01 500 is after as_of | | 1 | 0 | 30   |
//! | E        | —                           | 05-01 -50 | not scored (refunds only) |
//! | F        | 07-05 1000 is after as_of   |         | not scored |
//! | (none)   | an anonymous receipt        |         | not scored |
//!
//! score = 1 + floor(5 · (customers with a strictly smaller value) / 5):
//! F: freq 1 → 1 (B, D, G), freq 2 → 1 + 3 = 4 (A, C).
//! M: G 0 → 1, B 70 → 2, D 80 → 3, A 150 → 4, C 700 → 5.
//! R (descending recency): C 181 → 1, D 91 → 2, G 30 → 3, A and B 0 → 1 + 3 = 4.
//! Default map: A R4F4 loyal, B R4F1 promising, C R1F4 at_risk,
//! D R2F1 hibernating, G R3F1 about_to_sleep.

use crate::common::Crm;

const TX: &str = "\
transaction_id,customer_id,ts,amount
a1,A,2024-06-01 12:00:00,50.00
a2,A,2024-06-30 23:59:00,100.00
b1,B,2024-06-30 08:00:00,100.00
b2,B,2024-06-15 08:00:00,-30.00
c1,C,2024-01-01 09:00:00,500.00
c2,C,2024-01-01 18:00:00,200.00
d1,D,2024-03-31 10:00:00,80.00
g1,G,2024-05-31 10:00:00,0.00
g2,G,2024-07-01 00:00:00,500.00
e1,E,2024-05-01 10:00:00,-50.00
f1,F,2024-07-05 10:00:00,1000.00
x1,,2024-06-10 10:00:00,33.00
";

fn loaded() -> Crm {
    loaded_with(TX)
}

/// A warehouse holding the transactions of `csv`.
fn loaded_with(csv: &str) -> Crm {
    let crm = Crm::new();
    let f = crm.file("tx.csv", csv);
    crm.ok(0, &["load", "--table", "transactions", f.to_str().unwrap()]);
    crm
}

/// `crm rfm --per-customer` as of `as_of`, as CSV.
fn per_customer_csv(crm: &Crm, as_of: &str) -> String {
    crm.ok(
        0,
        &["rfm", "--as-of", as_of, "--per-customer", "--format", "csv"],
    )
}

/// `crm rfm migrate` from 2024-03-31 to 2024-06-30.
const MIGRATE: [&str; 6] = [
    "rfm",
    "migrate",
    "--from",
    "2024-03-31",
    "--to",
    "2024-06-30",
];

/// [`MIGRATE`] as CSV, with `extra` arguments.
fn migrate_csv(crm: &Crm, extra: &[&str]) -> String {
    crm.ok(0, &[&MIGRATE[..], extra, &["--format", "csv"]].concat())
}

/// CSV output (no quoted commas) as one line per row of the named columns,
/// space-separated, sorted.
/// The per-customer columns that RFM computes and scores.
const SCORED: [&str; 7] = [
    "customer_id",
    "recency_days",
    "frequency",
    "monetary",
    "r",
    "f",
    "m",
];

fn columns_of(csv: &str, names: &[&str]) -> Vec<String> {
    columns_with(csv, names, |_, v| v.to_string())
}

/// The named columns of a CSV, each row's cells passed through `cell(name,
/// value)` and joined by spaces; rows sorted.
fn columns_with(csv: &str, names: &[&str], cell: impl Fn(&str, &str) -> String) -> Vec<String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let at: Vec<usize> = names
        .iter()
        .map(|n| {
            header
                .iter()
                .position(|h| h == n)
                .unwrap_or_else(|| panic!("no column {n}"))
        })
        .collect();
    let mut rows: Vec<String> = lines
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            at.iter()
                .zip(names)
                .map(|(&i, n)| cell(n, v[i]))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn per_customer_scores_match_the_hand_computed_fixture() {
    let crm = loaded();
    let out = per_customer_csv(&crm, "2024-06-30");
    let got = columns_of(
        &out,
        &[&SCORED[..], &["segment", "avg_check", "tenure_days"]].concat(),
    );
    assert_eq!(
        got,
        vec![
            "A 0 2 150.00 4 4 4 loyal 75.00 29",
            "B 0 1 70.00 4 1 2 promising 100.00 0",
            "C 181 2 700.00 1 4 5 at_risk 350.00 181",
            "D 91 1 80.00 2 1 3 hibernating 80.00 91",
            "G 30 1 0.00 3 1 1 about_to_sleep 0.00 30",
        ]
    );
}

#[test]
fn the_summary_counts_customers_shares_and_revenue() {
    let crm = loaded();
    let out = crm.ok(0, &["rfm", "--as-of", "2024-06-30", "--format", "csv"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("segment,customers,share,revenue,avg_check,avg_recency_days"),
        "{}",
        lines[0]
    );
    let rfm: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.ends_with(",rfm"))
        .collect();
    assert_eq!(rfm.len(), 5);
    assert!(
        rfm.contains(&"at_risk,1,0.2,700.00,350.00,181.0,rfm"),
        "{rfm:?}"
    );
    let one_time = lines
        .iter()
        .find(|l| l.starts_with("one_time_buyers,"))
        .unwrap();
    assert!(
        one_time.starts_with("one_time_buyers,3,0.6,150.00,"),
        "{one_time}"
    );
}

#[test]
fn segment_average_checks_divide_exact_revenue_not_rounded_checks() {
    // A and B each buy for 0.01 and 0.00 (an average check of 0.005, printed
    // as 0.01), C once for 0.00. All three are dormant: 0.02 over 5 purchases
    // is 0.004, which rounds to 0.00; the rounded checks would give 0.04 / 5.
    let crm = loaded_with(
        "transaction_id,customer_id,ts,amount\n\
         t1,A,2023-01-02 10:00:00,0.01\nt2,A,2023-01-03 10:00:00,0.00\n\
         t3,B,2023-01-02 10:00:00,0.01\nt4,B,2023-01-03 10:00:00,0.00\n\
         t5,C,2023-01-04 10:00:00,0.00\n",
    );
    let per_customer = per_customer_csv(&crm, "2024-06-30");
    assert_eq!(
        per_customer
            .lines()
            .filter(|l| l.contains(",0.01,0.01,"))
            .count(),
        2,
        "{per_customer}"
    );
    let out = crm.ok(0, &["rfm", "--as-of", "2024-06-30", "--format", "csv"]);
    let dormant = out.lines().find(|l| l.starts_with("dormant,")).unwrap();
    assert!(dormant.starts_with("dormant,3,1.0,0.02,0.00,"), "{dormant}");
}

#[test]
fn a_single_customer_and_an_empty_day_behave() {
    let crm = loaded_with("transaction_id,customer_id,ts,amount\nt1,Z,2024-01-01 10:00:00,5.00\n");
    let out = per_customer_csv(&crm, "2024-01-01");
    let row = out.lines().nth(1).unwrap();
    assert!(row.starts_with("Z,"), "{row}");
    assert!(row.contains(",1,1,1,111,hibernating,"), "{row}");
    // Before any purchase nobody is scored, and that is not an error.
    let out = per_customer_csv(&crm, "2023-12-31");
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn the_nightly_run_writes_marts_idempotently_and_migration_matches_by_hand() {
    let crm = loaded();
    crm.ok(0, &["run", "--as-of", "2024-03-31"]);
    crm.ok(0, &["run", "--as-of", "2024-06-30"]);
    let snapshot = |crm: &Crm| {
        (
            crm.sql("SELECT * EXCEPT (run_id) FROM rfm_customer ORDER BY as_of, customer_id"),
            crm.sql("SELECT * EXCEPT (run_id) FROM rfm_segment ORDER BY as_of, kind, segment"),
            crm.sql("SELECT * EXCEPT (run_id) FROM rfm_migration ORDER BY as_of, from_segment, to_segment"),
        )
    };
    let first = snapshot(&crm);
    assert_eq!(
        first.2,
        vec![
            "as_of,from_date,from_segment,to_segment,customers,revenue",
            "2024-06-30,2024-03-31,(new),about_to_sleep,1,0.00",
            "2024-06-30,2024-03-31,(new),loyal,1,150.00",
            "2024-06-30,2024-03-31,(new),promising,1,70.00",
            "2024-06-30,2024-03-31,about_to_sleep,hibernating,1,0.00",
            "2024-06-30,2024-03-31,at_risk,at_risk,1,0.00",
        ]
    );
    crm.ok(0, &["run", "--as-of", "2024-06-30"]);
    assert_eq!(snapshot(&crm), first, "re-running a date changed the marts");
    // `crm rfm migrate` reads the marts and agrees.
    let m = migrate_csv(&crm, &[]);
    assert!(m.contains("about_to_sleep,hibernating,1,0.00"), "{m}");
}

#[test]
fn a_live_lock_refuses_a_second_run_and_a_dead_one_is_taken_over() {
    let crm = loaded();
    let lock_dir = crm.warehouse().join("_crm/locks");
    std::fs::create_dir_all(&lock_dir).unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let lock = |pid: u32| {
        format!(
            "{{\"run_id\":\"other\",\"host\":{:?},\"pid\":{pid},\"process_start\":null,\"acquired_at\":\"{}\"}}",
            host.trim(),
            chrono::Utc::now().to_rfc3339()
        )
    };
    // This test process is alive: its lock must be respected.
    std::fs::write(lock_dir.join("nightly.lock"), lock(std::process::id())).unwrap();
    let out = crm.run(&["run", "--as-of", "2024-06-30"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("locked"));
    // A pid that cannot exist: the holder is gone, the lock is taken over.
    std::fs::write(lock_dir.join("nightly.lock"), lock(u32::MAX - 1)).unwrap();
    crm.ok(0, &["run", "--as-of", "2024-06-30"]);
    assert!(
        !lock_dir.join("nightly.lock").exists(),
        "the run released its lock"
    );
}

/// RFM on 100k generated customers agrees exactly with an independent
/// implementation in polars (ranks with `rank("min")`, the same formula).
#[test]
fn rfm_matches_polars_on_100k_generated_customers() {
    let crm = Crm::new();
    let data = crm.dir.path().join("gen");
    crm.ok(
        0,
        &[
            "gen",
            "--transactions",
            "2000000",
            "--end-date",
            "2025-12-31",
            "--dir",
            data.to_str().unwrap(),
            "-q",
        ],
    );
    let files: Vec<String> = std::fs::read_dir(data.join("transactions"))
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["load", "--table", "transactions", "-q"];
    args.extend(files.iter().map(String::as_str));
    crm.ok(0, &args);
    let ours = per_customer_csv(&crm, "2025-06-30");
    let pick = |text: &str| -> Vec<String> {
        columns_with(text, &SCORED, |name, v| {
            // Money compared in cents, whatever the decimal spelling.
            if name == "monetary" {
                format!("{}", (v.parse::<f64>().unwrap() * 100.0).round() as i64)
            } else {
                v.to_string()
            }
        })
    };
    let script = format!(
        "import datetime as dt, glob, polars as pl\n\
         files = glob.glob({:?} + '/*.parquet')\n\
         end = dt.datetime(2025, 7, 1)\n\
         p = pl.col('amount') >= 0\n\
         b = (pl.scan_parquet(files).filter(pl.col('customer_id').is_not_null() & (pl.col('ts') < end))\n\
              .group_by('customer_id').agg(p.sum().alias('frequency'), pl.col('amount').sum().alias('monetary'),\n\
                                           pl.col('ts').filter(p).max().alias('last'))\n\
              .filter(pl.col('frequency') > 0)\n\
              .with_columns((pl.lit(dt.date(2025, 6, 30)) - pl.col('last').dt.date()).dt.total_days().alias('recency_days')))\n\
         n = pl.len()\n\
         s = b.with_columns((1 + (5 * (pl.col('recency_days').rank('min', descending=True) - 1)) // n).alias('r'),\n\
                            (1 + (5 * (pl.col('frequency').rank('min') - 1)) // n).alias('f'),\n\
                            (1 + (5 * (pl.col('monetary').rank('min') - 1)) // n).alias('m'))\n\
         print(s.select('customer_id', 'recency_days', 'frequency', 'monetary', 'r', 'f', 'm').collect().write_csv(), end='')\n",
        crm.warehouse()
            .join("tables/transactions")
            .to_str()
            .unwrap()
    );
    let theirs = crate::common::python_ok(&script, &[]);
    let (a, b) = (pick(&ours), pick(&theirs));
    assert!(a.len() > 50_000, "only {} customers scored", a.len());
    assert_eq!(a.len(), b.len());
    let diff: Vec<_> = a.iter().zip(&b).filter(|(x, y)| x != y).take(5).collect();
    assert!(diff.is_empty(), "first differences (crm, polars): {diff:?}");
}

/// `[rfm] score_within = "market_segment"`: ranks within each segment.
/// b2b = {A, C}, b2c = {B, D}; G has no customers row and ranks alone.
/// With N = 2, a value with one customer below it scores 1 + 5·1/2 = 3:
/// b2b: R C 181 → 1, A 0 → 3; F both 2 → 1; M A 150 → 1, C 700 → 3.
/// b2c: R D 91 → 1, B 0 → 3; F both 1 → 1; M B 70 → 1, D 80 → 3.
/// G alone scores 1 everywhere.
#[test]
fn scores_within_market_segments_rank_each_segment_on_its_own() {
    let crm = loaded();
    let customers = crm.file(
        "customers.csv",
        "customer_id,full_name,market_segment\nA,Anna,b2b\nC,Carl,b2b\nB,Boris,b2c\nD,Dana,b2c\n",
    );
    crm.ok(
        0,
        &["load", "--table", "customers", customers.to_str().unwrap()],
    );
    let config = crm.file("crm.toml", "[rfm]\nscore_within = \"market_segment\"\n");
    let out = crm.ok(
        0,
        &[
            "--config",
            config.to_str().unwrap(),
            "rfm",
            "--as-of",
            "2024-06-30",
            "--per-customer",
            "--format",
            "csv",
        ],
    );
    let got = columns_of(
        &out,
        &["customer_id", "score_group", "r", "f", "m", "segment"],
    );
    assert_eq!(
        got,
        vec![
            "A b2b 3 1 1 about_to_sleep",
            "B b2c 3 1 1 about_to_sleep",
            "C b2b 1 1 3 hibernating",
            "D b2c 1 1 3 hibernating",
            "G  1 1 1 hibernating",
        ]
    );
}

/// Marts are written with crm's Parquet settings (zstd, no dictionary for
/// customer ids, times and money), not delta-rs' defaults (snappy, a
/// dictionary for every column), and read back the same in pyarrow.
#[test]
fn mart_files_are_zstd_with_dictionaries_only_where_they_pay() {
    let crm = loaded();
    crm.ok(0, &["run", "--as-of", "2024-06-30"]);
    let script = format!(
        "import glob, pyarrow.parquet as pq\n\
         marts = {:?}\n\
         for mart in ('rfm_customer', 'rfm_segment'):\n\
         \x20   files = sorted(glob.glob(marts + '/' + mart + '/**/*.parquet', recursive=True))\n\
         \x20   assert files, mart\n\
         \x20   for f in files:\n\
         \x20       g = pq.ParquetFile(f).metadata.row_group(0)\n\
         \x20       cols = {{g.column(i).path_in_schema: g.column(i) for i in range(g.num_columns)}}\n\
         \x20       assert all(c.compression == 'ZSTD' for c in cols.values()), (f, [c.compression for c in cols.values()])\n\
         \x20       dictionary = sorted(n for n, c in cols.items() if 'RLE_DICTIONARY' in c.encodings)\n\
         \x20       print(mart, ' '.join(dictionary))\n\
         t = pq.read_table(glob.glob(marts + '/rfm_customer/**/*.parquet', recursive=True)[0])\n\
         print('rows', ' '.join(sorted(f'{{c}}:{{s}}' for c, s in zip(t['customer_id'].to_pylist(), t['segment'].to_pylist()))))\n",
        crm.warehouse().join("marts").to_str().unwrap()
    );
    let printed = crate::common::python_ok(&script, &[]);
    let line = |prefix: &str| -> Vec<&str> {
        printed
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {printed}"))
            .split_whitespace()
            .collect()
    };
    let customer = line("rfm_customer");
    for distinct in ["customer_id", "first_purchase", "monetary", "avg_check"] {
        assert!(!customer.contains(&distinct), "{distinct}: {printed}");
    }
    for repeating in ["run_id", "segment", "r", "f", "m"] {
        assert!(customer.contains(&repeating), "{repeating}: {printed}");
    }
    assert!(line("rfm_segment").contains(&"segment"), "{printed}");
    assert_eq!(
        line("rows"),
        vec![
            "A:loyal",
            "B:promising",
            "C:at_risk",
            "D:hibernating",
            "G:about_to_sleep"
        ]
    );
}

#[test]
fn columns_pick_and_order_the_output_computed_or_read_from_the_marts() {
    let crm = loaded();
    let args = |extra: &[&'static str]| {
        let mut a = vec!["rfm", "--as-of", "2024-06-30", "--format", "csv"];
        a.extend_from_slice(extra);
        a
    };
    let sorted = |out: String| {
        let mut lines: Vec<String> = out.lines().map(str::to_string).collect();
        lines.sort();
        lines
    };
    // Computed: only the columns asked for, in that order.
    let computed = crm.ok(
        0,
        &args(&["--per-customer", "--columns", "segment,customer_id"]),
    );
    let lines = sorted(computed);
    assert_eq!(lines[0], "about_to_sleep,G", "{lines:?}");
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert!(lines.contains(&"segment,customer_id".to_string()));
    assert!(lines.contains(&"hibernating,D".to_string()));
    // The same from the mart `crm run` wrote, and the summary and migration too.
    let before = crm.ok(
        0,
        &args(&["--per-customer", "--columns", "customer_id,segment"]),
    );
    crm.ok(0, &["run", "--as-of", "2024-06-30"]);
    let from_mart = crm.ok(
        0,
        &args(&["--per-customer", "--columns", "customer_id,segment"]),
    );
    assert_eq!(sorted(from_mart.clone()), sorted(before));
    for line in ["customer_id,segment", "D,hibernating", "G,about_to_sleep"] {
        assert!(from_mart.lines().any(|l| l == line), "{line}: {from_mart}");
    }
    let summary = crm.ok(0, &args(&["--columns", "segment,customers"]));
    assert!(summary.starts_with("segment,customers\n"), "{summary}");
    assert!(summary.lines().any(|l| l == "at_risk,1"), "{summary}");
    crm.ok(0, &["run", "--as-of", "2024-03-31"]);
    let m = migrate_csv(&crm, &["--columns", "to_segment,customers"]);
    assert!(m.starts_with("to_segment,customers\n"), "{m}");
    // A column that is not there, or one named twice, is a clear error.
    for (wanted, message) in [
        (
            "customer_id,segmant",
            "unknown column 'segmant' in --columns: the columns are customer_id, score_group,",
        ),
        (
            "segment,segment",
            "column 'segment' is named twice in --columns",
        ),
    ] {
        let out = crm.run(&args(&["--per-customer", "--columns", wanted]));
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{err}");
    }
    // Migration's hidden from_date is not offered.
    let out = crm.run(&[&MIGRATE[..], &["--columns", "from_date"]].concat());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown column 'from_date'"));
}

#[test]
fn columns_give_the_same_values_and_skip_the_facts_nobody_reads() {
    let crm = Crm::new();
    crm.generate("20000", "2024-06-30", "7");
    let full = per_customer_csv(&crm, "2024-06-30");
    for wanted in [
        "customer_id,segment",
        "customer_id,recency_days,frequency,monetary,r,f,m",
        "customer_id,first_purchase,avg_check,tenure_days,new_this_month",
        "segment_ru,customer_id,dormant,one_time_buyer,rfm_cell",
    ] {
        let names: Vec<&str> = wanted.split(',').collect();
        let out = crm.run(&[
            "rfm",
            "--as-of",
            "2024-06-30",
            "--per-customer",
            "--columns",
            wanted,
            "--format",
            "csv",
            "-vvv",
        ]);
        assert_eq!(out.status.code(), Some(0));
        let csv = String::from_utf8(out.stdout).unwrap();
        assert_eq!(csv.lines().next().unwrap(), wanted);
        assert_eq!(
            columns_of(&csv, &names),
            columns_of(&full, &names),
            "{wanted}"
        );
        // The per-customer facts that no asked-for column needs are not
        // aggregated: first_purchase feeds tenure and new_this_month, the
        // purchase revenue feeds avg_check.
        let log = String::from_utf8_lossy(&out.stderr);
        let base = log
            .split("crm::plan: ")
            .find(|plan| plan.starts_with("rfm_base:"))
            .expect("the rfm_base plan in the -vvv log");
        let aggregates = base.lines().find(|l| l.contains("AggregateExec")).unwrap();
        let first = wanted.contains("first_purchase")
            || wanted.contains("tenure")
            || wanted.contains("new_this_month");
        assert_eq!(
            aggregates.contains("min(transactions.ts)"),
            first,
            "{wanted}: {aggregates}"
        );
        assert_eq!(
            aggregates.contains("sum(transactions.amount) FILTER"),
            wanted.contains("avg_check"),
            "{wanted}: {aggregates}"
        );
    }
}
