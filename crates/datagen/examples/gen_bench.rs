//! Generation benchmark: writes N transactions (default 10,000,000) as
//! Parquet (or CSV with `--csv`) and prints wall time, rows/s, bytes and the
//! peak resident memory.
//!
//! ```text
//! cargo run --release -p crm-datagen --example gen_bench -- [TRANSACTIONS] [OUT_DIR] [--csv] [--all]
//! ```
//! `--all` generates every table instead of transactions alone.

use std::path::PathBuf;
use std::time::Instant;

use chrono::NaiveDate;
use crm_core::Table;
use crm_datagen::{GenConfig, OutputFormat, generate, generate_table};

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flags: Vec<&str> = args
        .iter()
        .filter(|a| a.starts_with("--"))
        .map(String::as_str)
        .collect();
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let transactions: u64 = positional
        .first()
        .map_or(Ok(10_000_000), |s| s.replace('_', "").parse())?;
    let out = positional
        .get(1)
        .map_or_else(|| std::env::temp_dir().join("crm-gen-bench"), PathBuf::from);
    let mut cfg = GenConfig::new(
        transactions,
        NaiveDate::from_ymd_opt(2025, 12, 31).expect("date"),
    );
    if flags.contains(&"--csv") {
        cfg.format = OutputFormat::Csv;
    }
    let started = Instant::now();
    let (rows, bytes, files) = if flags.contains(&"--all") {
        let s = generate(&cfg, &out)?;
        for t in &s.tables {
            println!(
                "{:<16} {:>12} rows {:>4} files {:>12} bytes",
                t.table.name(),
                t.rows,
                t.files.len(),
                t.bytes
            );
        }
        let rows: u64 = s.tables.iter().map(|t| t.rows).sum();
        (rows, s.total_bytes(), s.total_files())
    } else {
        let s = generate_table(&cfg, Table::Transactions, &out)?;
        (s.rows, s.bytes, s.files.len())
    };
    let secs = started.elapsed().as_secs_f64();
    println!(
        "generated {rows} rows ({:?}) in {secs:.2} s: {:.0} rows/s, {bytes} bytes ({:.1} MiB) in {files} files under {}; threads {}; peak RSS {} MiB",
        cfg.format,
        rows as f64 / secs,
        bytes as f64 / 1_048_576.0,
        out.display(),
        rayon::current_num_threads(),
        peak_rss_kib().map_or_else(|| "?".to_string(), |k| (k / 1024).to_string()),
    );
    Ok(())
}
