//! `crm clv` end to end on the CDNOW sample, against the lifetimes reference
//! (`sample_data/clv/reference.json`, numbers from lifetimes 0.11.3 and the
//! published Fader–Hardie–Lee fits) and against hand-worked budget arithmetic.

use std::collections::HashMap;

use serde_json::Value;

use crate::common::{Crm, python_ok, repo_root};

fn reference() -> Value {
    let text = std::fs::read_to_string(repo_root().join("sample_data/clv/reference.json"))
        .expect("reference.json");
    serde_json::from_str(&text).expect("valid JSON")
}

fn num(v: &Value, path: &[&str]) -> f64 {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_f64()
        .unwrap_or_else(|| panic!("no number at {path:?}: {cur}"))
}

fn close(got: f64, want: f64, rtol: f64, what: &str) {
    assert!(
        (got - want).abs() <= rtol * want.abs(),
        "{what}: got {got}, want {want} (rtol {rtol})"
    );
}

/// `CDNOW_sample.txt` (master id, sample id, YYYYMMDD, CDs, dollars) as a
/// transactions CSV: the sample id is the customer, the line number the key.
fn cdnow_csv() -> String {
    let raw = std::fs::read_to_string(repo_root().join("sample_data/clv/CDNOW_sample.txt"))
        .expect("CDNOW_sample.txt");
    let mut out = String::from("transaction_id,customer_id,ts,amount\n");
    for (i, line) in raw.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f.len(), 5, "line {}: {line}", i + 1);
        let d = f[2];
        out.push_str(&format!(
            "t{},{},{}-{}-{} 00:00:00,{}\n",
            i + 1,
            f[1],
            &d[..4],
            &d[4..6],
            &d[6..],
            f[4]
        ));
    }
    out
}

fn cdnow(extra: &str) -> Crm {
    let crm = Crm::new();
    let f = crm.file("cdnow.csv", &(cdnow_csv() + extra));
    crm.ok(0, &["load", "--table", "transactions", f.to_str().unwrap()]);
    crm
}

/// CSV output as rows of column → value.
fn rows(csv: &str) -> Vec<HashMap<String, String>> {
    let mut lines = csv.lines();
    let header: Vec<String> = lines
        .next()
        .expect("a header")
        .split(',')
        .map(str::to_string)
        .collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(str::to_string))
                .collect()
        })
        .collect()
}

fn f(row: &HashMap<String, String>, col: &str) -> f64 {
    row.get(col)
        .unwrap_or_else(|| panic!("no column {col} in {row:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("{col} is not a number in {row:?}"))
}

#[test]
fn the_shipped_summary_reproduces_the_published_bgnbd_fit() {
    let crm = Crm::new();
    let summary = repo_root().join("sample_data/clv/cdnow_customers_summary.csv");
    let out = crm.ok(
        0,
        &[
            "clv",
            "fit",
            "--summary",
            summary.to_str().unwrap(),
            "--model",
            "bgnbd",
            "--unit",
            "week",
            "--format",
            "json",
        ],
    );
    let fit: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    // Published (FHL 2005): r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL −9582.4.
    for (name, published) in [("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)] {
        let got = num(&fit, &[name]);
        assert!(
            (got - published).abs() < 5e-4,
            "{name} = {got}, published {published}"
        );
    }
    assert!((num(&fit, &["log_likelihood"]) + 9582.4).abs() < 0.05);
    let reference = reference();
    let refined = &reference["transaction_model_fits"]["shipped_weeks"]["bgnbd"];
    for name in ["r", "alpha", "a", "b"] {
        close(
            num(&fit, &[name]),
            num(refined, &["params_refined_mle", name]),
            1e-4,
            name,
        );
        close(
            num(&fit, &["std_errors", name]),
            num(refined, &["se_refined_numerical_hessian", name]),
            1e-2,
            "standard error",
        );
    }
    assert!((num(&fit, &["log_likelihood"]) - num(refined, &["ll_refined_mle"])).abs() < 1e-4);
    assert_eq!(fit["n_customers"], 2357);
    assert!(fit["excluded"].is_object());
}

#[test]
fn the_warehouse_summary_of_raw_cdnow_gives_the_reference_totals_and_fits() {
    let crm = cdnow("");
    let reference = reference();

    // Σx = 2457 over 2357 customers, from the project's own SQL.
    let out = crm.ok(
        0,
        &[
            "clv",
            "predict",
            "--as-of",
            "1997-09-30",
            "--unit",
            "week",
            "--format",
            "csv",
        ],
    );
    let scored = rows(&out);
    assert_eq!(scored.len(), 2357);
    let sum_x: f64 = scored.iter().map(|r| f(r, "x")).sum();
    assert_eq!(sum_x, 2457.0);
    let one = scored
        .iter()
        .find(|r| r["customer_id"] == "0001")
        .expect("customer 0001");
    // Customer 1 in weeks: x = 2, t_x = 213/7, T = 272/7 (unrounded).
    assert_eq!(f(one, "x"), 2.0);
    close(f(one, "t_x"), 213.0 / 7.0, 1e-12, "t_x");
    close(f(one, "T"), 272.0 / 7.0, 1e-12, "T");

    // The same forecast streamed into Parquet holds the same rows in the
    // same order (pandas reads it back).
    let dir = tempfile::tempdir().unwrap();
    let (csv, parquet) = (dir.path().join("p.csv"), dir.path().join("p.parquet"));
    std::fs::write(&csv, &out).unwrap();
    let args = ["clv", "predict", "--as-of", "1997-09-30", "--unit", "week"];
    let out_arg = parquet.to_str().unwrap();
    crm.ok(
        0,
        &[&args[..], &["--format", "parquet", "--out", out_arg]].concat(),
    );
    let check = python_ok(
        "import sys, pandas as pd\na = pd.read_csv(sys.argv[1], dtype={'customer_id': str})\nb = pd.read_parquet(sys.argv[2])\npd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)\nprint(len(b))",
        &[csv.as_os_str(), parquet.as_os_str()],
    );
    assert_eq!(check.trim(), "2357");

    // The fit from the warehouse reproduces the reference fit of the unrounded summary.
    let derived = &reference["transaction_model_fits"]["derived_weeks_days_div7"];
    for model in ["bgnbd", "mbgnbd"] {
        let out = crm.ok(
            0,
            &[
                "clv",
                "fit",
                "--model",
                model,
                "--calibration-end",
                "1997-09-30",
                "--unit",
                "week",
                "--format",
                "json",
            ],
        );
        let fit: Value = serde_json::from_str(out.trim()).unwrap();
        for name in ["r", "alpha", "a", "b"] {
            close(
                num(&fit, &[name]),
                num(&derived[model], &["params_refined_mle", name]),
                1e-4,
                &format!("{model} {name}"),
            );
        }
        assert!(
            (num(&fit, &["log_likelihood"]) - num(&derived[model], &["ll_refined_mle"])).abs()
                < 1e-4,
            "{model} LL {}",
            fit["log_likelihood"]
        );
        assert_eq!(fit["n_customers"], 2357);
        assert_eq!(fit["calibration_end"], "1997-09-30");
    }

    // Gamma-Gamma on the 946 repeat buyers; the 1411 one-time buyers are counted out.
    let out = crm.ok(
        0,
        &[
            "clv",
            "fit",
            "--model",
            "gamma_gamma",
            "--calibration-end",
            "1997-09-30",
            "--unit",
            "week",
            "--format",
            "json",
        ],
    );
    let gg: Value = serde_json::from_str(out.trim()).unwrap();
    let want = &reference["gamma_gamma_fits"]["derived_monetary"];
    for name in ["p", "q", "v"] {
        close(
            num(&gg, &[name]),
            num(want, &["params_refined_mle", name]),
            1e-4,
            name,
        );
    }
    assert_eq!(gg["n_customers"], 946);
    assert_eq!(gg["excluded"]["one_time_buyer"], 1411);
    assert_eq!(gg["excluded"]["non_positive_spend"], 0);
}

#[test]
fn validation_counts_1882_holdout_purchases_and_grades_the_model() {
    let crm = cdnow("");
    let reference = reference();
    let holdout = &reference["population_and_holdout"];
    let out = crm.ok(
        0,
        &[
            "clv",
            "validate",
            "--calibration-end",
            "1997-09-30",
            "--holdout-end",
            "1998-06-30",
            "--unit",
            "week",
            "--model",
            "bgnbd",
            "--format",
            "csv",
        ],
    );
    let table = rows(&out);
    let get = |section: &str, key: &str| {
        table
            .iter()
            .find(|r| r["section"] == section && r["key"] == key)
            .unwrap_or_else(|| panic!("no row {section}/{key}"))
    };
    let total = get("metric", "holdout_purchases");
    assert_eq!(f(total, "actual"), 1882.0);
    assert_eq!(f(total, "customers"), 2357.0);
    close(
        f(total, "predicted"),
        num(
            holdout,
            &["models", "bgnbd", "sum_predicted_holdout_purchases_t39"],
        ),
        1e-4,
        "Σ E[Y(39)]",
    );
    let buckets = &holdout["models"]["bgnbd"]["by_calibration_frequency_0_to_7plus"];
    for key in ["0", "1", "2", "3", "4", "5", "6", "7+"] {
        let row = get("by_frequency", key);
        close(
            f(row, "actual"),
            num(buckets, &[key.trim_end_matches('+'), "mean_actual"]),
            1e-9,
            key,
        );
        close(
            f(row, "predicted"),
            num(buckets, &[key.trim_end_matches('+'), "mean_predicted"]),
            1e-4,
            key,
        );
    }
    // Tracking: the actual cumulative curve ends at Σx + holdout = 2457 + 1882.
    let cal = get("tracking", "1997-09-30");
    assert_eq!(f(cal, "actual"), 2457.0);
    assert_eq!(f(get("tracking", "1998-06-30"), "actual"), 4339.0);
    let grade = &get("metric", "grade")["text"];
    assert!(["A", "B", "C"].contains(&grade.as_str()), "{grade}");
    let gain = f(get("metric", "relative_gain"), "value");
    let want = if gain >= 0.05 {
        "A"
    } else if gain >= 0.0 {
        "B"
    } else {
        "C"
    };
    assert_eq!(grade, want);
    assert!(f(get("metric", "mae"), "value") > 0.0);
}

#[test]
fn predictions_on_the_shipped_summary_match_lifetimes_clv() {
    let crm = Crm::new();
    let summary = repo_root().join("sample_data/clv/cdnow_customers_summary_with_transactions.csv");
    let out = crm.ok(
        0,
        &[
            "clv",
            "predict",
            "--summary",
            summary.to_str().unwrap(),
            "--horizon",
            "12",
            "--unit",
            "week",
            "--format",
            "csv",
        ],
    );
    let scored = rows(&out);
    assert_eq!(
        out.lines().next().unwrap(),
        "customer_id,x,t_x,T,expected_purchases,p_alive,expected_spend,clv"
    );
    let reference = reference();
    let five = &reference["customers_shipped_weeks"];
    let by_id: HashMap<&str, &HashMap<String, String>> = scored
        .iter()
        .map(|r| (r["customer_id"].as_str(), r))
        .collect();
    for id in ["1", "6", "1516"] {
        let row = by_id[id];
        let want = &five[id];
        close(
            f(row, "p_alive"),
            num(want, &["bgnbd_p_alive"]),
            1e-4,
            "P(alive)",
        );
        close(
            f(row, "expected_spend"),
            num(want, &["gg_expected_avg_profit"]),
            1e-4,
            "E[M]",
        );
        close(
            f(row, "clv"),
            num(want, &["clv_bgnbd_12m_1pct"]),
            1e-4,
            "CLV",
        );
    }
    let total: f64 = scored.iter().map(|r| f(r, "clv")).sum();
    close(total, 71509.9, 1e-4, "Σ CLV");
}

#[test]
fn refunds_that_wipe_out_repeat_spend_are_counted_and_shrunk_to_the_mean() {
    // Two extra customers: R buys twice and refunds more than the repeat
    // purchase (mean repeat spend −5), Z repeats a free gift (mean 0).
    let extra = "\
r1,R,1997-02-01 10:00:00,20.00
r2,R,1997-03-01 10:00:00,10.00
r3,R,1997-03-05 10:00:00,-15.00
z1,Z,1997-02-01 10:00:00,20.00
z2,Z,1997-04-01 10:00:00,0.00
";
    let crm = cdnow(extra);
    let out = crm.ok(
        0,
        &[
            "clv",
            "fit",
            "--model",
            "gamma_gamma",
            "--calibration-end",
            "1997-09-30",
            "--unit",
            "week",
            "--format",
            "json",
        ],
    );
    let gg: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(gg["excluded"]["non_positive_spend"], 2);
    assert_eq!(gg["n_customers"], 946);

    let crm_cfg = crm.file(
        "clv.toml",
        "[clv]\nhorizon_months = 12\nmargin = 0.5\nspend_share = 0.1\n",
    );
    let out = crm.ok(
        0,
        &[
            "--config",
            crm_cfg.to_str().unwrap(),
            "clv",
            "budget",
            "--as-of",
            "1997-09-30",
            "--per-customer",
            "--format",
            "csv",
        ],
    );
    let table = rows(&out);
    let r = table.iter().find(|r| r["customer_id"] == "R").unwrap();
    assert_eq!(r["spend_treatment"], "non_positive_spend_shrunk");
    close(f(r, "monetary_value"), -5.0, 1e-12, "R's mean repeat spend");
    close(f(r, "refund_total"), -15.0, 1e-12, "R's refunds");
    let z = table.iter().find(|r| r["customer_id"] == "Z").unwrap();
    assert_eq!(z["spend_treatment"], "non_positive_spend_shrunk");
    let one_time = table
        .iter()
        .filter(|r| r["spend_treatment"] == "population_mean")
        .count();
    assert_eq!(one_time, 1411);
    // Every one-time buyer gets the same expected spend: the population mean.
    let means: Vec<f64> = table
        .iter()
        .filter(|r| r["spend_treatment"] == "population_mean")
        .map(|r| f(r, "expected_spend"))
        .collect();
    assert!(means.iter().all(|m| (m - means[0]).abs() < 1e-9));
    // The shrunk spend lies between R's own mean and the population mean.
    assert!(f(r, "expected_spend") > -5.0 && f(r, "expected_spend") < means[0]);
}

#[test]
fn the_budget_is_clv_times_margin_times_share_and_the_plan_is_priced() {
    let crm = cdnow("");
    let cfg = crm.file(
        "clv.toml",
        r#"[clv]
horizon_months = 12
margin = 0.4
spend_share = 0.25
fixed_costs = 1000.0
[clv.segment_margin]
loyal = 0.5
[clv.cost_per_contact]
email = 0.5
sms = 4.0
[[clv.plan]]
segment = "hibernating"
channel = "sms"
contacts = 12
[[clv.plan]]
segment = "loyal"
channel = "email"
contacts = 2
"#,
    );
    let cfg = cfg.to_str().unwrap();
    let per_customer = rows(&crm.ok(
        0,
        &[
            "--config",
            cfg,
            "clv",
            "budget",
            "--as-of",
            "1998-06-30",
            "--per-customer",
            "--format",
            "csv",
        ],
    ));
    assert_eq!(per_customer.len(), 2357);
    let predicted = rows(&crm.ok(
        0,
        &[
            "--config",
            cfg,
            "clv",
            "predict",
            "--as-of",
            "1998-06-30",
            "--horizon",
            "12",
            "--format",
            "csv",
        ],
    ));
    let clv: HashMap<&str, f64> = predicted
        .iter()
        .map(|r| (r["customer_id"].as_str(), f(r, "clv")))
        .collect();
    let mut seg_budget: HashMap<String, (f64, f64)> = HashMap::new();
    for r in &per_customer {
        let margin = if r["rfm_segment"] == "loyal" {
            0.5
        } else {
            0.4
        };
        assert_eq!(f(r, "margin"), margin);
        let want = clv[r["customer_id"].as_str()] * margin * 0.25;
        assert!((f(r, "budget") - want).abs() <= 0.01, "{r:?}: want {want}");
        let e = seg_budget.entry(r["rfm_segment"].clone()).or_default();
        e.0 += 1.0;
        e.1 += f(r, "budget");
    }
    let segments = rows(&crm.ok(
        0,
        &[
            "--config",
            cfg,
            "clv",
            "budget",
            "--as-of",
            "1998-06-30",
            "--format",
            "csv",
        ],
    ));
    let seg = |kind: &str, name: &str| {
        segments
            .iter()
            .find(|r| r["segment_kind"] == kind && r["segment"] == name)
            .unwrap_or_else(|| panic!("no segment {kind}/{name} in {segments:?}"))
    };
    let mut variable = 0.0;
    for (name, price) in [("hibernating", 12.0 * 4.0), ("loyal", 2.0 * 0.5)] {
        let row = seg("rfm", name);
        let (n, budget) = seg_budget[name];
        assert_eq!(f(row, "customers"), n);
        assert!((f(row, "total_budget") - budget).abs() < 0.01);
        assert!((f(row, "variable_cost") - n * price).abs() < 1e-9);
        let over = n * price > f(row, "total_budget");
        assert_eq!(row["over_budget"], over.to_string());
        assert_eq!(!row["warning"].is_empty(), over);
        variable += n * price;
    }
    let total = seg("total", "all");
    assert_eq!(f(total, "customers"), 2357.0);
    assert!((f(total, "variable_cost") - variable).abs() < 1e-9);
    assert_eq!(f(total, "fixed_costs"), 1000.0);
    assert!((f(total, "total_cost") - (variable + 1000.0)).abs() < 1e-9);
    let budget: f64 = per_customer.iter().map(|r| f(r, "budget")).sum();
    assert!((f(total, "total_budget") - budget).abs() < 0.01);
    // No customers table: one market segment, "(none)", holding everyone.
    assert_eq!(f(seg("market_segment", "(none)"), "customers"), 2357.0);
}

#[test]
fn the_nightly_run_writes_the_clv_marts() {
    let crm = cdnow("");
    crm.ok(0, &["run", "--as-of", "1998-06-30"]);
    assert_eq!(
        crm.sql("SELECT count(*) AS n FROM clv_customer WHERE as_of = DATE '1998-06-30'"),
        vec!["n", "2357"]
    );
    let totals = crm.sql(
        "SELECT customers FROM clv_segment WHERE segment_kind = 'total' AND as_of = DATE '1998-06-30'",
    );
    assert_eq!(totals, vec!["customers", "2357"]);
    let grade =
        crm.sql("SELECT text FROM clv_validation WHERE section = 'metric' AND key = 'grade'");
    assert_eq!(grade.len(), 2);
    assert!(["A", "B", "C"].contains(&grade[1].as_str()));
    // Holdout = the last 90 days before as-of; its actual purchases are counted.
    let n = crm
        .sql("SELECT CAST(actual AS BIGINT) FROM clv_validation WHERE key = 'holdout_purchases'");
    assert!(n[1].parse::<i64>().unwrap() > 0);
}

#[test]
fn the_nightly_run_skips_clv_when_there_are_too_few_customers() {
    let crm = Crm::new();
    let f = crm.file(
        "tx.csv",
        "transaction_id,customer_id,ts,amount\na1,A,2024-06-01 12:00:00,50.00\na2,A,2024-06-20 12:00:00,20.00\nb1,B,2024-06-02 12:00:00,10.00\n",
    );
    crm.ok(0, &["load", "--table", "transactions", f.to_str().unwrap()]);
    let out = crm.run(&["run", "--as-of", "2024-06-30"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("CLV skipped") && stderr.contains("min_customers"),
        "{stderr}"
    );
    let marts = crm.sql("SELECT count(*) AS n FROM rfm_customer");
    assert_eq!(marts, vec!["n", "2"]);
    let err = crm.run(&[
        "clv",
        "fit",
        "--model",
        "bgnbd",
        "--calibration-end",
        "2023-01-01",
        "--format",
        "json",
    ]);
    assert_eq!(err.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&err.stderr).contains("no customers"));
}
