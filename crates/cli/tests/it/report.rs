//! `crm report` and `crm export`: the numbers behind every chart against
//! DuckDB and pandas, the dashboard in a real headless Chromium, and the
//! exports read back by DuckDB, pandas and calamine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common::{Crm, python, repo_root};

const AS_OF: &str = "2026-06-30";
const EARLIER: &str = "2026-05-31";

/// A generated warehouse with two nightly runs (so that migration exists),
/// its dashboard in Russian, the marts exported as Parquet, and the raw
/// transactions as Parquet: built once and shared by the tests here.
struct World {
    crm: Crm,
    report: PathBuf,
    marts: PathBuf,
    transactions: PathBuf,
}

/// The shared world lives under the target's temp folder, keyed by the crm
/// binary it was built with; the first test process builds it under a file
/// lock, the others wait and reuse it.
fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let exe = std::fs::metadata(env!("CARGO_BIN_EXE_crm")).expect("the crm binary");
        let stamp = exe
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("report-world-{stamp:x}-{:x}", exe.len()));
        std::fs::create_dir_all(root.parent().unwrap()).unwrap();
        let lock = std::fs::File::create(root.with_extension("lock")).unwrap();
        lock.lock().expect("lock the shared report world");
        let done = root.join("done");
        let crm = if done.exists() {
            Crm::kept(root.clone())
        } else {
            let _ = std::fs::remove_dir_all(&root);
            let crm = Crm::kept(root.clone());
            build_world(&crm);
            std::fs::write(&done, "").unwrap();
            crm
        };
        drop(lock);
        World {
            report: root.join("report"),
            marts: root.join("marts"),
            transactions: root.join("transactions.parquet"),
            crm,
        }
    })
}

fn build_world(crm: &Crm) {
    let root = crm.dir.path();
    crm.generate("60000", AS_OF, "11");
    crm.ok(0, &["run", "--as-of", EARLIER, "-q"]);
    crm.ok(0, &["run", "--as-of", AS_OF, "-q"]);
    let report = root.join("report");
    let out = crm.ok(
        0,
        &[
            "report",
            "--as-of",
            AS_OF,
            "--out",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(
        PathBuf::from(out.trim()),
        report.join("dashboard.html"),
        "report prints the dashboard's path"
    );
    crm.export_marts();
    for (table, file) in [
        ("transactions", "transactions.parquet"),
        ("customers", "customers.parquet"),
    ] {
        crm.ok(
            0,
            &[
                "sql",
                &format!("SELECT * FROM {table}"),
                "--format",
                "parquet",
                "--out",
                root.join(file).to_str().unwrap(),
            ],
        );
    }
}

fn py(script: &str, args: &[&Path]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_chart_shows_what_duckdb_and_pandas_compute() {
    let w = world();
    let oracle = repo_root().join("crates/cli/tests/it/report_oracle.py");
    let out = Command::new(python())
        .arg(&oracle)
        .arg(w.report.join("charts.json"))
        .arg(&w.marts)
        .arg(&w.transactions)
        .arg(AS_OF)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checks: usize = text.trim().strip_prefix("ok ").unwrap().parse().unwrap();
    assert!(checks > 40, "only {checks} checks ran");
}

#[test]
fn every_chart_is_written_as_png_and_svg() {
    let w = world();
    let charts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.report.join("charts.json")).unwrap()).unwrap();
    let sections = charts["sections"].as_array().unwrap();
    assert_eq!(sections.len(), 10);
    for s in sections {
        let id = s["id"].as_str().unwrap();
        assert!(s["chart"].is_object(), "section {id} has no chart: {s}");
        let svg = std::fs::read_to_string(w.report.join(format!("charts/{id}.svg"))).unwrap();
        assert!(
            svg.contains("DejaVu Sans"),
            "{id}: the embedded font family"
        );
        assert!(!s["chart"]["x_label"].as_str().unwrap().is_empty());
        assert!(!s["chart"]["y_label"].as_str().unwrap().is_empty());
    }
    // PNGs open in an independent decoder (Pillow) and are not blank.
    let report = py(
        r#"
import sys, glob
from PIL import Image
for p in sorted(glob.glob(sys.argv[1] + "/charts/*.png")):
    im = Image.open(p).convert("RGB")
    px = list(im.getdata())
    ink = sum(1 for c in px if c != (255, 255, 255)) / len(px)
    print(p.rsplit("/", 1)[1], im.size[0], im.size[1], len(set(px)), round(ink, 3))
"#,
        &[&w.report],
    );
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 10, "{report}");
    for l in lines {
        let f: Vec<&str> = l.split_whitespace().collect();
        assert_eq!((f[1], f[2]), ("960", "540"), "{l}");
        assert!(f[3].parse::<usize>().unwrap() > 20, "too few colours: {l}");
        assert!(f[4].parse::<f64>().unwrap() > 0.03, "almost blank: {l}");
    }
    let md = std::fs::read_to_string(w.report.join("summary.md")).unwrap();
    assert!(md.contains("(charts/rfm_heatmap.png)"));
    assert!(md.contains(&format!("на дату {AS_OF}")));
}

#[test]
fn dashboard_opens_in_headless_chromium() {
    let w = world();
    let script = repo_root().join("crates/cli/tests/browser/check_dashboard.mjs");
    assert!(
        repo_root()
            .join("crates/cli/tests/browser/node_modules/playwright-core")
            .exists(),
        "playwright-core is missing: scripts/test installs it (npm ci --prefix crates/cli/tests/browser)"
    );
    let scratch = tempfile::tempdir().unwrap();
    let shot = scratch.path().join("screenshot.png");
    let out = Command::new("node")
        .arg(&script)
        .arg(w.report.join("dashboard.html"))
        .arg(&shot)
        .output()
        .expect("node runs (scripts/test installs chromium and playwright-core)");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["errors"], serde_json::json!([]), "console errors");
    assert_eq!(seen["requests"], serde_json::json!([]), "network requests");
    assert!(seen["as_of"].as_str().unwrap().contains(AS_OF));
    assert!(
        seen["fonts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "DejaVu Sans:loaded"),
        "the embedded font is used: {}",
        seen["fonts"]
    );
    let sections = seen["sections"].as_array().unwrap();
    assert_eq!(sections.len(), 10);
    for s in sections {
        assert_eq!(s["state"], "chart", "{s}");
        assert!(s["svg_elements"].as_u64().unwrap() > 20, "{s}");
        assert!(s["svg_texts"].as_u64().unwrap() > 5, "{s}");
        assert!(s["width"].as_f64().unwrap() > 300.0, "{s}");
        assert!(s["height"].as_f64().unwrap() > 150.0, "{s}");
    }
    let shot_stats = py(
        r#"
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
px = list(im.getdata())
print(len(set(px)), sum(1 for c in px if c != (255, 255, 255)) / len(px))
"#,
        &[&shot],
    );
    let f: Vec<f64> = shot_stats
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(
        f[0] > 100.0 && f[1] > 0.2,
        "a blank screenshot: {shot_stats}"
    );
}

#[test]
fn a_warehouse_without_marts_gets_no_data_sections_not_a_crash() {
    let crm = Crm::new();
    let tx = crm.file(
        "t.csv",
        "transaction_id,customer_id,ts,amount\nT1,C1,2026-01-05 10:00:00,100.00\nT2,,2026-01-06 11:00:00,50.00\n",
    );
    crm.ok(
        0,
        &[
            "load",
            "--table",
            "transactions",
            tx.to_str().unwrap(),
            "-q",
        ],
    );
    let dir = crm.dir.path().join("r");
    let out = crm.ok(
        0,
        &[
            "report",
            "--as-of",
            "2026-01-31",
            "--lang",
            "en",
            "--out",
            dir.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        summary["missing"].as_array().unwrap().len(),
        10,
        "{summary}"
    );
    assert_eq!(summary["charts"], 0);
    let html = std::fs::read_to_string(dir.join("dashboard.html")).unwrap();
    assert_eq!(html.matches("class=\"missing\"").count(), 10);
    assert!(html.contains("No data: rfm_customer"));
    assert!(html.contains("crm run --as-of 2026-01-31"));
    // English figures, and the anonymous receipt is counted apart.
    assert!(html.contains("₽150.00"), "net revenue in English format");
    assert!(
        html.contains("<dd>1 (₽50.00)</dd>"),
        "one anonymous receipt"
    );
    assert!(!html.contains("<svg"), "no empty axes");
}

#[test]
fn numbers_follow_the_language() {
    let w = world();
    let scratch = tempfile::tempdir().unwrap();
    let en = scratch.path().join("report-en");
    w.crm.ok(
        0,
        &[
            "report",
            "--as-of",
            AS_OF,
            "--lang",
            "en",
            "--out",
            en.to_str().unwrap(),
            "-q",
        ],
    );
    let ru_md = std::fs::read_to_string(w.report.join("summary.md")).unwrap();
    let en_md = std::fs::read_to_string(en.join("summary.md")).unwrap();
    // The same net revenue, spelt per locale.
    let revenue = |md: &str, label: &str| -> String {
        md.lines()
            .find(|l| l.starts_with(&format!("- {label}:")))
            .unwrap()
            .split("**")
            .nth(1)
            .unwrap()
            .to_string()
    };
    let ru = revenue(&ru_md, "Чистая выручка");
    let en = revenue(&en_md, "Net revenue");
    assert!(ru.ends_with("\u{a0}₽") && ru.contains(','), "{ru}");
    assert!(en.starts_with('₽') && en.contains('.'), "{en}");
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    assert_eq!(digits(&ru), digits(&en));
    assert!(en_md.contains("# Customer analytics"));
}

#[test]
fn marts_export_as_one_file_per_mart_and_date_with_documented_schemas() {
    let w = world();
    // Two dates were run: each mart has a file for each.
    let listing = py(
        r#"
import sys, glob, os, duckdb, re
doc = open(sys.argv[2], encoding="utf-8").read()
for d in sorted(glob.glob(sys.argv[1] + "/*")):
    mart = os.path.basename(d)
    files = sorted(glob.glob(d + "/*.parquet"))
    cols = [r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{files[-1]}')").fetchall()]
    m = re.search(r"^## `" + mart + r"`\n(.*?)(?=^## |\Z)", doc, re.S | re.M)
    documented = re.findall(r"^\| `([a-zA-Z_0-9]+)` \|", m.group(1), re.M) if m else []
    n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{d}/*.parquet')").fetchall()[0][0]
    print(mart, len(files), n, "same" if cols == documented else f"DIFF {cols} vs {documented}")
"#,
        &[&w.marts, &repo_root().join("docs/marts.md")],
    );
    let mut marts = 0;
    for l in listing.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        assert_eq!(f[3], "same", "docs/marts.md is out of step: {l}");
        if f[0] != "rfm_migration" {
            assert_eq!(f[1], "2", "{l}");
        }
        marts += 1;
    }
    assert!(marts >= 10, "{listing}");
    // Row counts agree with the warehouse.
    let n = w.crm.sql("SELECT count(*) FROM rfm_customer");
    assert!(
        listing.contains(&format!("rfm_customer 2 {} same", n[1])),
        "{listing}"
    );

    // CSV and JSON lines read back by pandas; a second export refuses to overwrite.
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("csv-export");
    std::fs::create_dir(&dir).unwrap();
    let args = [
        "export",
        "marts",
        "--mart",
        "rfm_segment",
        "--as-of",
        AS_OF,
        "--format",
        "csv",
        "--out",
        dir.to_str().unwrap(),
    ];
    w.crm.ok(0, &args);
    let again = w.crm.run(&args);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let mut forced = args.to_vec();
    forced.push("--force");
    w.crm.ok(0, &forced);
    let csv = dir.join(format!("rfm_segment/rfm_segment_{AS_OF}.csv"));
    let back = py(
        "import sys, pandas as pd; d = pd.read_csv(sys.argv[1]); print(len(d), d.customers.sum())",
        &[&csv],
    );
    let want = w.crm.sql(&format!(
        "SELECT count(*), sum(customers) FROM rfm_segment WHERE as_of = DATE '{AS_OF}'"
    ));
    assert_eq!(back.trim(), want[1].replace(',', " "));
    let missing = w.crm.run(&[
        "export",
        "marts",
        "--out",
        scratch.path().join("nope").to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
}

#[test]
fn mailing_lists_hold_only_consenting_customers_in_every_format() {
    use calamine::{Data, Reader, Xlsx, open_workbook};
    let w = world();
    let segments = ["at_risk", "hibernating"];
    // What should go out, and what should be left out by reason, per DuckDB.
    let expected = py(
        r#"
import sys, duckdb
m = sys.argv[1]
duckdb.sql(f"CREATE VIEW r AS SELECT * FROM read_parquet('{m}/rfm_customer/rfm_customer_2026-06-30.parquet')")
duckdb.sql(f"CREATE VIEW c AS SELECT * FROM read_parquet('{sys.argv[2]}')")
rows = duckdb.sql("""
  SELECT CASE WHEN c.customer_id IS NULL THEN 'no_customer_record'
              WHEN c.marketing_consent IS NULL THEN 'consent_unknown'
              WHEN NOT c.marketing_consent THEN 'no_consent'
              WHEN NOT ((c.email IS NOT NULL AND c.email_valid IS NOT FALSE)
                     OR (c.phone IS NOT NULL AND c.phone_valid IS NOT FALSE)) THEN 'no_contact'
              ELSE 'ok' END AS why, count(*)
  FROM r LEFT JOIN c USING (customer_id)
  WHERE r.segment IN ('at_risk', 'hibernating') GROUP BY 1 ORDER BY 1""").fetchall()
print(" ".join(f"{k}={v}" for k, v in rows))
"#,
        &[&w.marts, &customers_parquet(w)],
    );
    let counts: std::collections::BTreeMap<String, usize> = expected
        .split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect();
    let ok = counts["ok"];
    assert!(ok > 100 && counts.len() > 1, "{expected}");

    let scratch = tempfile::tempdir().unwrap();
    let export = |file: &str, extra: &[&str]| -> (PathBuf, String) {
        let path = scratch.path().join(file);
        let mut args = vec!["export", "segment", "--out", path.to_str().unwrap()];
        for s in segments {
            args.extend(["--segment", s]);
        }
        args.extend(extra);
        let out = w.crm.run(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (path, String::from_utf8_lossy(&out.stderr).into_owned())
    };

    // XLSX with Russian headers; the latest as_of is used and said.
    let (xlsx, said) = export("m.xlsx", &[]);
    assert!(said.contains(&format!("as_of {AS_OF} (latest)")), "{said}");
    assert!(said.contains(&format!("{ok} of ")), "{said}");
    for (reason, n) in counts.iter().filter(|(k, _)| *k != "ok") {
        assert!(said.contains(&format!("{reason} {n}")), "{said}");
    }
    let mut book: Xlsx<_> = open_workbook(&xlsx).unwrap();
    let range = book.worksheet_range("Рассылка").unwrap();
    assert_eq!(range.height(), ok + 1);
    let header: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(header[0], "Код клиента");
    assert!(
        header.contains(&"Сумма покупок, ₽".to_string()),
        "{header:?}"
    );
    let monetary = header.iter().position(|h| h == "Сумма покупок, ₽").unwrap();
    assert!(matches!(range.get((1, monetary)), Some(Data::Float(_))));

    // UTF-8 CSV (machine conventions) read by pandas: the same customers.
    let (csv, _) = export("m.csv", &["--lang", "en", "--encoding", "utf-8"]);
    let ids = py(
        "import sys, pandas as pd; d = pd.read_csv(sys.argv[1], dtype={'customer_id': str}); print(len(d), sorted(d.segment.unique()), d.customer_id.is_unique)",
        &[&csv],
    );
    assert_eq!(ids.trim(), format!("{ok} ['at_risk', 'hibernating'] True"));

    // Windows-1251 with ';' and decimal commas; ₽ spelt "руб."; no overwrite without --force.
    let (cp, said) = export("m1251.csv", &["--encoding", "windows-1251"]);
    assert!(said.contains("'₽'"), "the respelling is reported: {said}");
    let bytes = std::fs::read(&cp).unwrap();
    let (text, _, bad) = encoding_rs::WINDOWS_1251.decode(&bytes);
    assert!(!bad);
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("Код клиента;Клиент;E-mail;"), "{first}");
    assert!(first.contains("Сумма покупок, руб."), "{first}");
    assert_eq!(text.lines().count(), ok + 1);
    let row: Vec<&str> = text.lines().nth(1).unwrap().split(';').collect();
    let col = first
        .split(';')
        .position(|h| h == "Сумма покупок, руб.")
        .unwrap();
    assert!(row[col].contains(',') && !row[col].contains('.'), "{row:?}");
    let again = w.crm.run(&[
        "export",
        "segment",
        "--segment",
        "at_risk",
        "--out",
        cp.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(1));

    // Unknown segments and missing directories are clear errors.
    let bad = w.crm.run(&[
        "export",
        "segment",
        "--segment",
        "whales",
        "--out",
        scratch.path().join("x.csv").to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let msg = String::from_utf8_lossy(&bad.stderr);
    assert!(msg.contains("'whales'") && msg.contains("at_risk"), "{msg}");
    let nodir = w.crm.run(&[
        "export",
        "segment",
        "--segment",
        "at_risk",
        "--out",
        scratch.path().join("no/such/dir/x.xlsx").to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&nodir.stderr).contains("does not exist"));
}

fn customers_parquet(w: &World) -> PathBuf {
    w.crm.dir.path().join("customers.parquet")
}
