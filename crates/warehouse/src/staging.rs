//! Streaming a file's rows into Parquet data files before the commit that
//! makes them part of a table.
//!
//! The ingest reader yields chunks in file order on a blocking thread; a
//! feeder passes each chunk's rows, stamped with the load id, through a small
//! bounded channel to one Parquet writer per core, so parsing, validation and
//! encoding overlap and memory stays bounded by the chunks in flight, not by
//! the file. The files written here are not part of any table until the
//! caller commits their `Add` actions; a crash leaves them as orphans that no
//! reader sees (and `VACUUM` removes).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::SchemaRef;
use crm_core::schema::ColumnType;
use crm_core::{QuarantineRow, Table};
use deltalake::kernel::Add;
use deltalake::parquet::basic::{Compression, ZstdLevel};
use deltalake::parquet::file::properties::{
    EnabledStatistics, WriterProperties, WriterPropertiesBuilder,
};
use deltalake::parquet::schema::types::ColumnPath;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use tokio::sync::{Mutex, mpsc};

use crate::error::{Error, Result};
use crate::load::{FileStream, SourceError};
use crm_core::schema::LOAD_ID_COLUMN;

/// Rows per Parquet row group. Smaller groups let a scan split a file
/// between cores; larger ones compress a little better. DuckDB uses 122,880.
const ROW_GROUP_ROWS: usize = 256 * 1024;

/// What staging one file produced.
pub(crate) struct Staged {
    /// The data files written, ready to be committed.
    pub adds: Vec<Add>,
    pub rows_read: u64,
    pub rows_written: u64,
    pub quarantine: Vec<QuarantineRow>,
}

/// The Parquet settings of every data file crm writes for a load (see
/// `benches/README.md` for the measurements behind them):
/// - zstd level 1 (smaller than snappy or LZ4 at about the same speed);
/// - statistics per column chunk only (what the Delta log and row-group
///   pruning use; page indexes cost time on every write and help only point
///   look-ups), and only where they can prune: numbers, dates, the natural
///   key (MERGE skips files by it) and `_load_id` (one value per load, so a
///   load's files are found from the log alone). Min/max of other text
///   (customer ids, channels, product codes) prunes nothing in unsorted
///   files, and computing them cost about 5% of a CSV load;
/// - no dictionary for timestamps, money and the natural key, which are
///   (nearly) unique, so a dictionary would be built only to be thrown away;
/// - LZ4 (raw) instead of zstd for timestamps and money: eight bytes a value
///   that zstd shrinks little (ts by 18%) and that every per-customer scan
///   decodes. At 10M transactions bucketed by customer, `crm rfm` 0.50 ->
///   0.41 s and a scan + group-by 0.32 -> 0.25 s, for 19% more bytes.
pub(crate) fn writer_properties(table: Table) -> WriterProperties {
    let mut b = base_properties().set_max_row_group_row_count(Some(ROW_GROUP_ROWS));
    let keys = table.key_columns();
    for col in table.columns() {
        let key = keys.contains(&col.name);
        let unique =
            matches!(col.ty, ColumnType::Timestamp | ColumnType::Money) || (keys.len() == 1 && key);
        if unique {
            b = b.set_column_dictionary_enabled(ColumnPath::from(col.name), false);
        }
        if matches!(col.ty, ColumnType::Timestamp | ColumnType::Money) {
            b = b.set_column_compression(ColumnPath::from(col.name), Compression::LZ4_RAW);
        }
        if col.ty == ColumnType::Utf8 && !key {
            b = b
                .set_column_statistics_enabled(ColumnPath::from(col.name), EnabledStatistics::None);
        }
    }
    b = b.set_column_dictionary_enabled(ColumnPath::from(LOAD_ID_COLUMN), true);
    b.build()
}

/// What every data file crm writes into a table shares: crm as the writer,
/// zstd level 1 and statistics per column chunk (see [`writer_properties`];
/// marts start from these too).
pub(crate) fn base_properties() -> WriterPropertiesBuilder {
    WriterProperties::builder()
        .set_created_by(format!("crm {}", env!("CARGO_PKG_VERSION")))
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("valid level"),
        ))
        .set_statistics_enabled(EnabledStatistics::Chunk)
}

/// Appends the `_load_id` column: `batch` in `Table::arrow_schema()` becomes
/// a batch in `Table::stored_schema()`.
pub(crate) fn with_load_id(
    stored: &SchemaRef,
    batch: &RecordBatch,
    load_id: &str,
) -> Result<RecordBatch> {
    LoadIdColumn::new(load_id).append(stored, batch)
}

/// The `_load_id` column of a stream of batches: built once at the size of
/// the largest batch and sliced for each (every row holds the same id).
pub(crate) struct LoadIdColumn {
    load_id: String,
    values: ArrayRef,
}

impl LoadIdColumn {
    pub(crate) fn new(load_id: &str) -> LoadIdColumn {
        LoadIdColumn {
            load_id: load_id.to_string(),
            values: Arc::new(StringArray::from(Vec::<&str>::new())),
        }
    }

    /// `batch` with the column appended, in `stored`.
    pub(crate) fn append(
        &mut self,
        stored: &SchemaRef,
        batch: &RecordBatch,
    ) -> Result<RecordBatch> {
        let rows = batch.num_rows();
        if self.values.len() < rows {
            self.values = Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                self.load_id.as_str(),
                rows,
            )));
        }
        let mut columns = batch.columns().to_vec();
        columns.push(self.values.slice(0, rows));
        Ok(RecordBatch::try_new(stored.clone(), columns)?)
    }
}

/// Writes every row of `file` into new Parquet files under `table_url`.
pub(crate) async fn stage_file(
    table: Table,
    table_url: &url::Url,
    storage_options: &std::collections::HashMap<String, String>,
    file: FileStream,
    load_id: &str,
) -> Result<Staged> {
    let stored = table.stored_schema();
    let writers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let (tx, rx) = mpsc::channel::<RecordBatch>(writers);
    let rx = Arc::new(Mutex::new(rx));

    // The feeder: blocking reads from the ingest pipeline, in file order.
    let feed_schema = stored.clone();
    let feed_load_id = load_id.to_string();
    let path = file.path.clone();
    let feeder = tokio::task::spawn_blocking(move || -> Result<(u64, u64, Vec<QuarantineRow>)> {
        let mut rows_read = 0u64;
        let mut rows_written = 0u64;
        let mut quarantine = Vec::new();
        let mut load_ids = LoadIdColumn::new(&feed_load_id);
        for chunk in file.chunks {
            let chunk = chunk.map_err(|e| source_error(&path, e))?;
            rows_read += chunk.rows_read;
            quarantine.extend(chunk.quarantine);
            if chunk.batch.num_rows() == 0 {
                continue;
            }
            rows_written += chunk.batch.num_rows() as u64;
            let batch = load_ids.append(&feed_schema, &chunk.batch)?;
            if tx.blocking_send(batch).is_err() {
                // Every writer stopped; their error is reported below.
                break;
            }
        }
        Ok((rows_read, rows_written, quarantine))
    });

    let mut tasks = Vec::with_capacity(writers);
    for _ in 0..writers {
        let rx = Arc::clone(&rx);
        let mut writer = RecordBatchWriter::try_new(
            table_url.as_str(),
            stored.clone(),
            None,
            Some(storage_options.clone()),
        )?
        .with_writer_properties(writer_properties(table));
        tasks.push(tokio::spawn(async move {
            loop {
                let next = rx.lock().await.recv().await;
                match next {
                    Some(batch) => writer.write(batch).await?,
                    None => break,
                }
            }
            writer.flush().await
        }));
    }

    let fed = feeder
        .await
        .map_err(|e| Error::Invalid(format!("the load's reader stopped: {e}")))?;
    let mut adds = Vec::new();
    let mut write_error = None;
    for t in tasks {
        match t.await {
            Ok(Ok(a)) => adds.extend(a),
            Ok(Err(e)) => write_error = write_error.or(Some(Error::from(e))),
            Err(e) => {
                write_error = write_error.or(Some(Error::Invalid(format!(
                    "a Parquet writer stopped: {e}"
                ))))
            }
        }
    }
    // A reader error (the file) explains more than a writer error it caused.
    let (rows_read, rows_written, quarantine) = fed?;
    if let Some(e) = write_error {
        return Err(e);
    }
    Ok(Staged {
        adds,
        rows_read,
        rows_written,
        quarantine,
    })
}

fn source_error(path: &str, e: SourceError) -> Error {
    let text = e.to_string();
    if text.contains(path) {
        Error::Invalid(text)
    } else {
        Error::Invalid(format!("{path}: {text}"))
    }
}

/// Reads staged files back, for the rare load that finds the table created
/// by a concurrent load after it started staging.
pub(crate) async fn read_staged(
    store: Arc<dyn deltalake::ObjectStore>,
    adds: &[Add],
) -> Result<Vec<RecordBatch>> {
    use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use object_store::ObjectStoreExt as _;
    let mut batches = Vec::new();
    for add in adds {
        let path = deltalake::Path::parse(&add.path)
            .map_err(|e| Error::Invalid(format!("staged file {}: {e}", add.path)))?;
        let bytes = store.get(&path).await?.bytes().await?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .map_err(|e| Error::Invalid(format!("staged file {}: {e}", add.path)))?
            .build()
            .map_err(|e| Error::Invalid(format!("staged file {}: {e}", add.path)))?;
        for b in reader {
            batches.push(b?);
        }
    }
    Ok(batches)
}

/// Removes staged files that were not committed (best effort: an orphan
/// left behind is invisible to readers).
pub(crate) async fn remove_staged(store: Arc<dyn deltalake::ObjectStore>, adds: &[Add]) {
    use object_store::ObjectStoreExt as _;
    for add in adds {
        if let Ok(path) = deltalake::Path::parse(&add.path) {
            let _ = store.delete(&path).await;
        }
    }
}
