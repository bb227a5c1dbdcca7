//! Integration tests of crm-ingest, in one binary. Fixtures are built by
//! hand in each test, so the expected codes, lines and columns are known
//! independently of the code under test.

mod formats;
mod mapping;
mod normalise;
mod quarantine;
mod samples;
mod sniffing;

use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::concat_batches;
use crm_core::schema::Table;
use crm_core::{QuarantineReason, QuarantineRow};
use crm_ingest::{FileInfo, Mapping, ReadOptions, open};

/// The load's clock in every test.
pub fn now() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2025, 1, 15)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
}

pub struct Loaded {
    pub info: FileInfo,
    pub batch: RecordBatch,
    pub quarantine: Vec<QuarantineRow>,
    pub rows_read: u64,
}

impl Loaded {
    pub fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// A text column's values, NULL as `None`.
    pub fn text(&self, column: &str) -> Vec<Option<String>> {
        let a = self.batch.column_by_name(column).unwrap();
        let s = a.as_string::<i32>();
        (0..s.len())
            .map(|i| (!s.is_null(i)).then(|| s.value(i).to_string()))
            .collect()
    }

    pub fn reasons(&self) -> Vec<(u64, QuarantineReason, Option<String>)> {
        self.quarantine
            .iter()
            .map(|q| (q.line, q.reason, q.column.clone()))
            .collect()
    }
}

pub fn options(table: Table) -> ReadOptions {
    ReadOptions::new(table, now())
}

pub fn load(path: &Path, opts: &ReadOptions) -> Loaded {
    let mut r = open(path, opts).unwrap_or_else(|e| panic!("{e}"));
    let mut batches = Vec::new();
    let mut quarantine = Vec::new();
    let mut rows_read = 0;
    while let Some(c) = r.next_chunk().unwrap() {
        assert_eq!(
            c.rows_read,
            c.batch.num_rows() as u64 + c.quarantine.len() as u64,
            "every chunk accounts for its rows"
        );
        assert_eq!(c.batch.schema(), opts.table.arrow_schema());
        rows_read += c.rows_read;
        batches.push(c.batch);
        quarantine.extend(c.quarantine);
    }
    let batch = concat_batches(&opts.table.arrow_schema(), &batches).unwrap();
    Loaded {
        info: r.info().clone(),
        batch,
        quarantine,
        rows_read,
    }
}

/// Writes `bytes` to a fresh file named `name` in a temp dir kept alive by the caller.
pub fn fixture(dir: &tempfile::TempDir, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

pub fn mapping(dir: &tempfile::TempDir, text: &str) -> Mapping {
    let p = fixture(dir, "mapping.toml", text);
    Mapping::from_toml_file(&p).unwrap_or_else(|e| panic!("{e}"))
}

pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../sample_data/exports")
        .join(name)
}
