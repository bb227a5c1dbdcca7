//! What people and programs read. Query results and summaries are written as
//! an aligned table, CSV, JSON lines or Parquet (CONVENTIONS: `--format`,
//! [`output`]); the dashboard ([`dashboard`]) draws charts ([`chart`]) from
//! the rows of the report queries, in Russian or English ([`locale`]); and
//! mailing lists go out as XLSX or CSV for Excel and 1C ([`sheet`]). This
//! crate never runs SQL: the engine hands it rows.
//!
//! ```
//! use std::sync::Arc;
//! use arrow::array::{Int64Array, RecordBatch, StringArray};
//! use arrow::datatypes::{DataType, Field, Schema};
//! use crm_report::output::{write_batches, OutputFormat};
//! let schema = Arc::new(Schema::new(vec![
//!     Field::new("id", DataType::Utf8, false),
//!     Field::new("n", DataType::Int64, true),
//! ]));
//! let batch = RecordBatch::try_new(
//!     schema.clone(),
//!     vec![
//!         Arc::new(StringArray::from(vec!["007", "a"])),
//!         Arc::new(Int64Array::from(vec![Some(1), None])),
//!     ],
//! )
//! .unwrap();
//! let mut out = Vec::new();
//! write_batches(OutputFormat::Csv, &schema, &[batch], &mut out).unwrap();
//! // NULL is an empty field.
//! assert_eq!(String::from_utf8(out).unwrap(), "id,n\n007,1\na,\n");
//! ```

pub mod chart;
pub mod dashboard;
pub mod frame;
pub mod locale;
pub mod output;
pub mod png;
pub mod sheet;
