//! Parquet from other pipelines. Every column is cast to text and goes
//! through the same validation as a CSV cell, so an integer id becomes its
//! digits and a text id such as `000123` stays as it is.

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use bytes::Bytes;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::cells::CellBatch;
use crate::error::Result;

pub struct ParquetSource {
    reader: ParquetRecordBatchReader,
    next_row: u64,
}

/// Opens the file's bytes (decompressed if it was gzipped) and returns the column names.
pub fn open(data: Bytes, batch_rows: usize) -> Result<(ParquetSource, Vec<String>)> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(data)?;
    let columns = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let reader = builder.with_batch_size(batch_rows.max(1)).build()?;
    Ok((
        ParquetSource {
            reader,
            next_row: 1,
        },
        columns,
    ))
}

impl ParquetSource {
    pub fn next_batch(&mut self) -> Result<Option<CellBatch>> {
        let Some(rb) = self.reader.next().transpose()? else {
            return Ok(None);
        };
        let columns = rb
            .columns()
            .iter()
            .map(|c| arrow::compute::cast(c, &DataType::Utf8))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let texts: Vec<_> = columns.iter().map(|c| c.as_string::<i32>()).collect();
        let mut batch = CellBatch::with_capacity(rb.num_rows(), rb.num_rows() * 32);
        let mut raw = String::new();
        for row in 0..rb.num_rows() {
            raw.clear();
            for (i, t) in texts.iter().enumerate() {
                let v = if t.is_null(row) { "" } else { t.value(row) };
                batch.push_field(v.as_bytes());
                if i > 0 {
                    raw.push('\t');
                }
                raw.push_str(v);
            }
            batch.end_row(self.next_row, raw.as_bytes());
            self.next_row += 1;
        }
        Ok(Some(batch))
    }
}
