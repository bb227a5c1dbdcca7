//! Query results as plain columns: what the chart builders read. The engine
//! hands over Arrow batches; a [`Frame`] casts a named column to strings or
//! floats once, so that no chart code touches Arrow types.

use arrow::array::{Array, Float64Array, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, SchemaRef};

use crate::output::{Error, Result};

/// The rows of one query.
#[derive(Debug, Clone)]
pub struct Frame {
    name: String,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl Frame {
    /// `name` is the query's, used in error messages.
    pub fn new(name: &str, schema: SchemaRef, batches: Vec<RecordBatch>) -> Frame {
        Frame {
            name: name.to_string(),
            schema,
            batches,
        }
    }

    pub fn len(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn column(&self, col: &str, to: &DataType) -> Result<Vec<arrow::array::ArrayRef>> {
        let i = self.schema.index_of(col).map_err(|_| {
            Error::Invalid(format!(
                "report input {} has no column {col} (it has {})",
                self.name,
                self.schema
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        self.batches
            .iter()
            .map(|b| Ok(cast(b.column(i), to)?))
            .collect()
    }

    /// Column `col` as text; NULL is the empty string.
    pub fn strings(&self, col: &str) -> Result<Vec<String>> {
        let mut out = Vec::with_capacity(self.len());
        for a in self.column(col, &DataType::Utf8)? {
            let a = a
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("cast to Utf8 gives a StringArray");
            out.extend((0..a.len()).map(|i| {
                if a.is_null(i) {
                    String::new()
                } else {
                    a.value(i).to_string()
                }
            }));
        }
        Ok(out)
    }

    /// Column `col` as numbers; NULL is NaN.
    pub fn floats(&self, col: &str) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(self.len());
        for a in self.column(col, &DataType::Float64)? {
            let a = a
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("cast to Float64 gives a Float64Array");
            out.extend((0..a.len()).map(|i| if a.is_null(i) { f64::NAN } else { a.value(i) }));
        }
        Ok(out)
    }
}
