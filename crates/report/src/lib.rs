//! What people and programs read: query results and summaries written as an
//! aligned table, CSV, JSON lines or Parquet (CONVENTIONS: `--format`).
//!
//! ```
//! use std::sync::Arc;
//! use arrow::array::{Int64Array, RecordBatch};
//! use arrow::datatypes::{DataType, Field, Schema};
//! use crm_report::output::{write_batches, OutputFormat};
//! let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
//! let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![Some(1), None]))]).unwrap();
//! let mut out = Vec::new();
//! write_batches(OutputFormat::Csv, &schema, &[batch], &mut out).unwrap();
//! assert_eq!(String::from_utf8(out).unwrap(), "n\n1\n\n");
//! ```

pub mod output;
