//! Throughput of the CSV path: generates an N-row transactions CSV
//! (transaction_id, customer_id, ts, amount, channel), parses it to
//! canonical batches and prints rows/s and MB/s.
//!
//! ```sh
//! CARGO_TARGET_DIR=/work/target-ingest cargo run -p crm-ingest --release --example parse_bench -- 10000000
//! ```
//!
//! The peer figure is DuckDB's
//! `COPY (SELECT * FROM read_csv('x.csv')) TO 'x.parquet'` on the same file.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use crm_core::schema::Table;
use crm_ingest::{ReadOptions, open};

fn generate(path: &PathBuf, rows: u64) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(w, "transaction_id,customer_id,ts,amount,channel")?;
    let mut x: u64 = 42;
    for i in 0..rows {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let r = x >> 33;
        let day = 1 + r % 28;
        let month = 1 + (r >> 5) % 12;
        let (h, m, s) = ((r >> 9) % 24, (r >> 14) % 60, (r >> 20) % 60);
        let cents = (r % 5_000_000) as i64 - 100_000;
        let sign = if cents < 0 { "-" } else { "" };
        writeln!(
            w,
            "T{i:010},{:07},2024-{month:02}-{day:02} {h:02}:{m:02}:{s:02},{sign}{}.{:02},{}",
            r % 1_000_000,
            cents.unsigned_abs() / 100,
            cents.unsigned_abs() % 100,
            ["shop", "web", "phone"][(r % 3) as usize]
        )?;
    }
    w.flush()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000_000);
    let dir = std::env::temp_dir().join("crm-ingest-bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("transactions_{rows}.csv"));
    if !path.exists() {
        let t = Instant::now();
        generate(&path, rows)?;
        eprintln!("generated {} in {:.1?}", path.display(), t.elapsed());
    }
    let bytes = std::fs::metadata(&path)?.len();
    let now = chrono::NaiveDate::from_ymd_opt(2025, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or("bad date")?;
    let opts = ReadOptions::new(Table::Transactions, now);
    let t = Instant::now();
    let mut reader = open(&path, &opts)?;
    let (mut ok, mut quarantined, mut read) = (0u64, 0u64, 0u64);
    while let Some(chunk) = reader.next_chunk()? {
        ok += chunk.batch.num_rows() as u64;
        quarantined += chunk.quarantine.len() as u64;
        read += chunk.rows_read;
    }
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(read, ok + quarantined);
    println!(
        "{read} rows ({ok} ok, {quarantined} quarantined), {:.1} MB in {secs:.2} s: {:.0} rows/s, {:.0} MB/s on {} threads",
        bytes as f64 / 1e6,
        read as f64 / secs,
        bytes as f64 / 1e6 / secs,
        rayon::current_num_threads()
    );
    Ok(())
}
