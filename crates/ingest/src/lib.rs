//! crm-ingest reads the files CRM users bring (1C and amoCRM CSV exports,
//! Bitrix24 workbooks, JSON lines from the web, Parquet from other
//! pipelines, any of them gzipped) and turns them into record batches in
//! the canonical schema of `crm_core::schema`, plus quarantine rows for every
//! line it refused and why. It sniffs encodings, delimiters, decimal commas
//! and date spellings (each can be overridden), applies a mapping file from
//! foreign column names to canonical ones (see `MAPPING.md`), and validates
//! and normalises values: money as exact decimals, phones in E.164, e-mails
//! lower-cased, timestamps with offsets moved to the configured zone.
//! It knows nothing of where the rows go: the warehouse writes them.
//!
//! For every file, `rows_read = rows loaded + rows quarantined`, always.
//!
//! The API in brief:
//!
//! - [`open`]`(path, &ReadOptions) -> Result<FileReader>` sniffs the file,
//!   reads its header and resolves the mapping; every fatal problem (no such
//!   file, no header, a mapping naming a missing column, a required column
//!   with no source) is an [`Error`] here, before any row is read.
//! - [`FileReader::info`] tells what was detected and which canonical columns
//!   the file carries ([`FileInfo::present_columns`]: on upsert the warehouse
//!   updates only these; the rest are all-null in the batches).
//! - [`FileReader::next_chunk`] (or the `Iterator` impl) yields [`Chunk`]s:
//!   a `RecordBatch` in `Table::arrow_schema()`, the quarantine rows of the
//!   same stretch of the file, and `rows_read`.
//! - [`Mapping::from_toml_file`] loads and validates a mapping file
//!   (`MAPPING.md`).
//!
//! Reading runs on a reader thread, and parsing (of delimited text) and
//! conversion on the rayon pool, both bounded, while the caller writes the
//! previous chunk.
//!
//! ```no_run
//! use std::path::Path;
//! use crm_core::schema::Table;
//! use crm_ingest::{Mapping, ReadOptions, open};
//!
//! let now = chrono::NaiveDate::from_ymd_opt(2025, 1, 15).unwrap().and_hms_opt(3, 0, 0).unwrap();
//! let mut opts = ReadOptions::new(Table::Transactions, now);
//! opts.mapping = Some(Mapping::from_toml_file(Path::new("sample_data/exports/1c_receipts.toml"))?);
//! let mut reader = open(Path::new("sample_data/exports/1c_receipts.csv"), &opts)?;
//! println!("carries {:?}", reader.info().present_columns);
//! while let Some(chunk) = reader.next_chunk()? {
//!     for q in &chunk.quarantine {
//!         eprintln!("{}:{} {} {}", q.file, q.line, q.reason, q.message);
//!     }
//!     // write chunk.batch ...
//! }
//! # Ok::<(), crm_ingest::Error>(())
//! ```

mod cells;
pub mod contact;
mod convert;
mod csv;
pub mod error;
mod input;
mod jsonl;
mod keys;
pub mod mapping;
mod parquet;
mod reader;
pub mod sniff;
pub mod temporal;
mod xlsx;

pub use error::{Error, Result};
pub use mapping::{ColumnSource, ColumnSpec, Mapping, MappingOptions};
pub use reader::{Chunk, FileInfo, FileReader, ReadOptions, open, read_all_chunks};
pub use sniff::{Encoding, Format};

/// Whether a value looks like a cell Excel turned into a date or a number
/// (`01-May`, `1.23E+11`); exposed for the CLI's hints.
pub fn looks_excel_mangled(value: &str) -> bool {
    convert::looks_excel_mangled(value)
}
