//! Tables bucketed by customer, the way Hive and Spark bucket tables.
//!
//! `crm optimize` rewrites a table's files so that each holds the rows of one
//! bucket, `xxh64(customer_id) mod n` (seed 0; rows without a customer go to
//! bucket 0). The bucket is written into the file's `add` action as tags
//! (`crm.bucket_by`, `crm.buckets`, `crm.bucket`), which Delta readers keep
//! and otherwise ignore: the files stay plain Parquet and the table a plain
//! Delta table for DuckDB, Spark or pandas.
//!
//! When every file of a snapshot is bucketed alike, crm's engine reads each
//! bucket as one partition. All of a customer's rows then meet in one
//! partition, so a per-customer aggregation (RFM, CLV) needs no shuffle and
//! no final merge, and each partition's hash table holds 1/n of the
//! customers. A file that another writer adds (a later load, a MERGE that
//! rewrites files, Spark) has no tags; the table is read as before until the
//! next `crm optimize` buckets the new files too. The hash is fixed by the
//! xxHash specification, so files bucketed by different crm versions agree.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use arrow::compute::{cast, take_record_batch};
use arrow::datatypes::{DataType, SchemaRef};
use crm_core::Table;
use datafusion::physical_plan::SendableRecordBatchStream;
use deltalake::kernel::transaction::CommitBuilder;
use deltalake::kernel::{Action, Add};
use deltalake::protocol::DeltaOperation;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, ObjectStore};
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::location::Warehouse;
use crate::staging::writer_properties;
use crate::tables::{SnapshotFile, TableKind};

/// The column tables are bucketed by.
pub const BUCKET_COLUMN: &str = "customer_id";

/// Buckets of a table first bucketed without a count: 16 (crm's partitions
/// on one machine) up to 25M rows, doubling with every doubling of the rows
/// beyond, up to 64 (crm's engine reads at most 4 buckets per partition as
/// buckets). At 10^8 transactions, 64 buckets against 16: `crm rfm
/// --per-customer` 4.36 s against 4.69 s (medians of 3); at 10^7, 64
/// buckets gain nothing and cost 70 MB more.
pub fn default_buckets(rows: u64) -> u32 {
    const ROWS_PER_16: u64 = 25_000_000;
    let doublings = rows.div_ceil(ROWS_PER_16).clamp(1, 4).next_power_of_two();
    (16 * doublings) as u32
}

/// Bytes each bucket's writer may hold before it finishes a file: about
/// 1 GiB over all buckets, at least 8 MiB a file. A writer holds its file in
/// memory until then.
fn target_file_bytes(buckets: u32) -> u64 {
    ((1u64 << 30) / u64::from(buckets)).max(8 << 20)
}

const TAG_BY: &str = "crm.bucket_by";
const TAG_BUCKETS: &str = "crm.buckets";
const TAG_BUCKET: &str = "crm.bucket";

/// Which bucket's rows one data file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileBucket {
    /// The column hashed.
    pub column: String,
    /// How many buckets the table has.
    pub buckets: u32,
    /// This file's bucket, `0..buckets`.
    pub bucket: u32,
}

impl FileBucket {
    /// The bucket an `add` action's tags name, if they name a valid one.
    pub(crate) fn from_tags(tags: &HashMap<String, Option<String>>) -> Option<FileBucket> {
        let tag = |k: &str| tags.get(k).cloned().flatten();
        let buckets: u32 = tag(TAG_BUCKETS)?.parse().ok()?;
        let bucket: u32 = tag(TAG_BUCKET)?.parse().ok()?;
        let column = tag(TAG_BY)?;
        (buckets > 0 && bucket < buckets).then_some(FileBucket {
            column,
            buckets,
            bucket,
        })
    }

    fn tags(&self) -> HashMap<String, Option<String>> {
        HashMap::from([
            (TAG_BY.to_string(), Some(self.column.clone())),
            (TAG_BUCKETS.to_string(), Some(self.buckets.to_string())),
            (TAG_BUCKET.to_string(), Some(self.bucket.to_string())),
        ])
    }
}

/// The bucket of one customer id among `buckets`.
pub fn bucket_of(id: Option<&str>, buckets: u32) -> u32 {
    match id {
        None => 0,
        Some(id) => (twox_hash::XxHash64::oneshot(0, id.as_bytes()) % u64::from(buckets)) as u32,
    }
}

/// The bucket of every row of a text column.
pub fn row_buckets(column: &dyn Array, buckets: u32) -> Result<Vec<u32>> {
    let of = |v: Option<&str>| bucket_of(v, buckets);
    Ok(match column.data_type() {
        DataType::Utf8 => column.as_string::<i32>().iter().map(of).collect(),
        DataType::LargeUtf8 => column.as_string::<i64>().iter().map(of).collect(),
        DataType::Utf8View => column.as_string_view().iter().map(of).collect(),
        other => {
            return Err(Error::Invalid(format!(
                "cannot bucket by a column of type {other}; {BUCKET_COLUMN} must be text"
            )));
        }
    })
}

/// The files of each bucket, by index into `files`, when every file is
/// bucketed by the same column into the same number of buckets. `None` when
/// any file is not (or there are no files).
pub fn bucket_layout(files: &[SnapshotFile]) -> Option<(String, Vec<Vec<usize>>)> {
    let first = files.first()?.bucket.as_ref()?;
    let mut groups = vec![Vec::new(); first.buckets as usize];
    for (i, f) in files.iter().enumerate() {
        let b = f.bucket.as_ref()?;
        if b.column != first.column || b.buckets != first.buckets {
            return None;
        }
        groups[b.bucket as usize].push(i);
    }
    Some((first.column.clone(), groups))
}

/// True when `file` holds one bucket of [`BUCKET_COLUMN`] among `buckets`.
pub fn is_bucketed_into(file: &SnapshotFile, buckets: u32) -> bool {
    file.bucket
        .as_ref()
        .is_some_and(|b| b.column == BUCKET_COLUMN && b.buckets == buckets)
}

/// The bucket count of the files already bucketed by [`BUCKET_COLUMN`] (the
/// first such file's), or `None` when none is.
pub fn bucket_count(files: &[SnapshotFile]) -> Option<u32> {
    files
        .iter()
        .filter_map(|f| f.bucket.as_ref())
        .find(|b| b.column == BUCKET_COLUMN)
        .map(|b| b.buckets)
}

/// Which files a bucketing into `buckets` has to rewrite: those not yet
/// bucketed into exactly that many buckets ([`is_bucketed_into`]).
pub fn files_to_bucket(files: Vec<SnapshotFile>, buckets: u32) -> (Vec<SnapshotFile>, usize) {
    let total = files.len();
    let rewrite: Vec<SnapshotFile> = files
        .into_iter()
        .filter(|f| !is_bucketed_into(f, buckets))
        .collect();
    let kept = total - rewrite.len();
    (rewrite, kept)
}

/// What one bucketing did.
#[derive(Debug, Clone, Default)]
pub struct BucketReport {
    pub buckets: u32,
    /// Rows rewritten.
    pub rows: u64,
    /// Files rewritten, and files written in their place.
    pub files_read: usize,
    pub files_written: usize,
    /// Files that were bucketed already.
    pub files_kept: usize,
    /// The table's version after the commit (unchanged when nothing was
    /// rewritten).
    pub version: Option<i64>,
}

impl Warehouse {
    /// Writes `inputs`, the rows of `replaced` (files of `delta`'s loaded
    /// snapshot, read by any engine), into one set of files per bucket, and
    /// commits them in place of `replaced` in one commit. Until that commit
    /// the new files are orphans no reader sees; a crash leaves the table as
    /// it was. A load that rewrote one of `replaced` meanwhile makes the
    /// commit fail as a conflict, and the new files are removed.
    pub async fn commit_bucketed(
        &self,
        table: Table,
        delta: &DeltaTable,
        buckets: u32,
        inputs: Vec<SendableRecordBatchStream>,
        replaced: &[SnapshotFile],
    ) -> Result<BucketReport> {
        if !(1..=1024).contains(&buckets) {
            return Err(Error::Invalid(format!(
                "buckets must be 1..1024, got {buckets}"
            )));
        }
        let stored = table.stored_schema();
        if stored.index_of(BUCKET_COLUMN).is_err() {
            return Err(Error::Invalid(format!(
                "table {} has no {BUCKET_COLUMN} column to bucket by",
                table.name()
            )));
        }
        let url = self.table_url(TableKind::Table, table.name());
        let store = delta.object_store();
        let (rows, adds) = write_buckets(
            table,
            &url,
            self.storage_options(),
            buckets,
            inputs,
            store.clone(),
        )
        .await?;
        let expected: Option<u64> = replaced.iter().map(|f| f.rows).sum();
        if let Some(expected) = expected.filter(|&n| n != rows) {
            crate::staging::remove_staged(store, &adds).await;
            return Err(Error::Invalid(format!(
                "{}: read {rows} rows from {} files whose log counts {expected}; nothing was changed",
                table.name(),
                replaced.len()
            )));
        }
        let paths: std::collections::BTreeSet<&str> =
            replaced.iter().map(|f| f.path.as_str()).collect();
        let mut actions: Vec<Action> = adds.iter().cloned().map(Action::Add).collect();
        for file in delta.snapshot()?.log_data().iter() {
            if paths.contains(file.path().as_ref()) {
                actions.push(Action::Remove(file.remove_action(false)));
            }
        }
        let operation = DeltaOperation::Optimize {
            predicate: None,
            target_size: 0,
        };
        let metadata = HashMap::from([(
            "crm.operation".to_string(),
            serde_json::Value::from(format!("bucket by {BUCKET_COLUMN} into {buckets}")),
        )]);
        let committed = CommitBuilder::default()
            .with_actions(actions)
            .with_app_metadata(metadata)
            .build(Some(delta.snapshot()?), delta.log_store(), operation)
            .await;
        let version = match committed {
            Ok(c) => c.version(),
            Err(e) => {
                crate::staging::remove_staged(store, &adds).await;
                return Err(e.into());
            }
        };
        Ok(BucketReport {
            buckets,
            rows,
            files_read: replaced.len(),
            files_written: adds.len(),
            files_kept: 0,
            version: Some(version as i64),
        })
    }
}

/// How many buckets a bucketing of `files` uses: `asked`, else the count
/// the files already bucketed by [`BUCKET_COLUMN`] have (so later runs
/// rewrite only new files), else [`default_buckets`] for the rows.
pub fn buckets_for(files: &[SnapshotFile], asked: Option<u32>) -> u32 {
    asked
        .or_else(|| bucket_count(files))
        .unwrap_or_else(|| default_buckets(files.iter().filter_map(|f| f.rows).sum()))
}

/// Splits every input batch by bucket and feeds one Delta writer per bucket;
/// the writers encode on every core. Returns the rows written and the
/// tagged `add` actions.
async fn write_buckets(
    table: Table,
    url: &url::Url,
    storage_options: &HashMap<String, String>,
    buckets: u32,
    inputs: Vec<SendableRecordBatchStream>,
    store: Arc<dyn ObjectStore>,
) -> Result<(u64, Vec<Add>)> {
    let stored = table.stored_schema();
    let key = stored.index_of(BUCKET_COLUMN)?;
    let mut senders = Vec::with_capacity(buckets as usize);
    let mut writers = Vec::with_capacity(buckets as usize);
    for bucket in 0..buckets {
        let (tx, mut rx) = mpsc::channel::<RecordBatch>(4);
        senders.push(tx);
        let mut writer = RecordBatchWriter::try_new(
            url.as_str(),
            stored.clone(),
            None,
            Some(storage_options.clone()),
        )?
        .with_writer_properties(writer_properties(table))
        .with_target_file_size(target_file_bytes(buckets));
        let tags = FileBucket {
            column: BUCKET_COLUMN.to_string(),
            buckets,
            bucket,
        }
        .tags();
        // Encoding is the work here; on a thread of its own per bucket, the
        // OS spreads it over every core. As runtime tasks fed by the
        // splitters, a woken writer ran on its splitter's worker: 1 core of 2.
        let runtime = tokio::runtime::Handle::current();
        writers.push(tokio::task::spawn_blocking(move || {
            runtime.block_on(async move {
                while let Some(batch) = rx.recv().await {
                    writer.write(batch).await?;
                }
                let mut adds = writer.flush().await?;
                for add in &mut adds {
                    add.tags = Some(tags.clone());
                    add.data_change = false;
                }
                Ok::<_, deltalake::DeltaTableError>(adds)
            })
        }));
    }
    let senders = Arc::new(senders);
    let mut splitters = Vec::with_capacity(inputs.len());
    for mut input in inputs {
        let senders = Arc::clone(&senders);
        let stored = stored.clone();
        splitters.push(tokio::spawn(async move {
            let mut rows = 0u64;
            while let Some(batch) = input.next().await {
                let batch = conform(&batch?, &stored)?;
                rows += batch.num_rows() as u64;
                let of_row = row_buckets(batch.column(key).as_ref(), buckets)?;
                let mut indices: Vec<Vec<u32>> = vec![Vec::new(); buckets as usize];
                for (row, b) in of_row.into_iter().enumerate() {
                    indices[b as usize].push(row as u32);
                }
                for (b, picked) in indices.into_iter().enumerate() {
                    if picked.is_empty() {
                        continue;
                    }
                    let part = take_record_batch(&batch, &UInt32Array::from(picked))?;
                    if senders[b].send(part).await.is_err() {
                        // That writer stopped; its error is reported below.
                        return Ok(rows);
                    }
                }
            }
            Ok::<u64, Error>(rows)
        }));
    }
    drop(senders);
    let mut rows = 0u64;
    let mut first_error: Option<Error> = None;
    for s in splitters {
        match s.await {
            Ok(Ok(n)) => rows += n,
            Ok(Err(e)) => first_error = first_error.or(Some(e)),
            Err(e) => {
                first_error = first_error.or(Some(Error::Invalid(format!("a reader stopped: {e}"))))
            }
        }
    }
    let mut adds = Vec::new();
    for w in writers {
        match w.await {
            Ok(Ok(a)) => adds.extend(a),
            Ok(Err(e)) => first_error = first_error.or(Some(e.into())),
            Err(e) => {
                first_error = first_error.or(Some(Error::Invalid(format!(
                    "a Parquet writer stopped: {e}"
                ))))
            }
        }
    }
    if let Some(e) = first_error {
        crate::staging::remove_staged(store, &adds).await;
        return Err(e);
    }
    Ok((rows, adds))
}

/// `batch` in the table's stored schema: an engine may read text as string
/// views, which the Parquet writer takes as the stored `Utf8`.
fn conform(batch: &RecordBatch, stored: &SchemaRef) -> Result<RecordBatch> {
    let schema = batch.schema();
    let by_name: BTreeMap<&str, usize> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name().as_str(), i))
        .collect();
    let mut columns = Vec::with_capacity(stored.fields().len());
    for field in stored.fields() {
        let Some(&i) = by_name.get(field.name().as_str()) else {
            return Err(Error::Invalid(format!(
                "the rows read have no column {}",
                field.name()
            )));
        };
        let column = batch.column(i);
        columns.push(if column.data_type() == field.data_type() {
            Arc::clone(column)
        } else {
            cast(column, field.data_type())?
        });
    }
    Ok(RecordBatch::try_new(stored.clone(), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(bucket: Option<(u32, u32)>, rows: u64) -> SnapshotFile {
        SnapshotFile {
            url: String::new(),
            partition_values: BTreeMap::new(),
            path: format!("f{rows}.parquet"),
            rows: Some(rows),
            bucket: bucket.map(|(bucket, buckets)| FileBucket {
                column: BUCKET_COLUMN.into(),
                buckets,
                bucket,
            }),
        }
    }

    #[test]
    fn the_default_count_doubles_with_the_rows_past_25_million() {
        assert_eq!(default_buckets(0), 16);
        assert_eq!(default_buckets(25_000_000), 16);
        assert_eq!(default_buckets(25_000_001), 32);
        assert_eq!(default_buckets(100_000_000), 64);
        assert_eq!(default_buckets(50_000_000), 32);
        assert_eq!(default_buckets(300_000_000), 64);
        assert_eq!(default_buckets(u64::MAX / 2), 64);
    }

    #[test]
    fn a_table_keeps_its_bucket_count_unless_asked() {
        let files = vec![file(Some((3, 8)), 10), file(None, 100_000_000)];
        assert_eq!(buckets_for(&files, None), 8);
        assert_eq!(buckets_for(&files, Some(4)), 4);
        assert_eq!(buckets_for(&[file(None, 100_000_000)], None), 64);
        let (rewrite, kept) = files_to_bucket(files, 8);
        assert_eq!((rewrite.len(), kept), (1, 1));
        assert!(rewrite[0].bucket.is_none());
    }

    #[test]
    fn tags_round_trip_and_bad_tags_name_no_bucket() {
        let b = FileBucket {
            column: "customer_id".into(),
            buckets: 16,
            bucket: 15,
        };
        assert_eq!(FileBucket::from_tags(&b.tags()), Some(b.clone()));
        let mut out_of_range = b.tags();
        out_of_range.insert(TAG_BUCKET.into(), Some("16".into()));
        assert_eq!(FileBucket::from_tags(&out_of_range), None);
        let mut no_column = b.tags();
        no_column.remove(TAG_BY);
        assert_eq!(FileBucket::from_tags(&no_column), None);
        assert_eq!(FileBucket::from_tags(&HashMap::new()), None);
    }

    #[test]
    fn a_layout_needs_every_file_bucketed_alike() {
        let files = vec![
            file(Some((1, 4)), 1),
            file(Some((1, 4)), 2),
            file(Some((3, 4)), 3),
        ];
        let (column, groups) = bucket_layout(&files).unwrap();
        assert_eq!(column, BUCKET_COLUMN);
        assert_eq!(groups, vec![vec![], vec![0, 1], vec![], vec![2]]);
        assert!(bucket_layout(&[file(Some((1, 4)), 1), file(None, 2)]).is_none());
        assert!(bucket_layout(&[file(Some((1, 4)), 1), file(Some((1, 8)), 2)]).is_none());
        assert!(bucket_layout(&[]).is_none());
    }

    #[test]
    fn rows_of_every_text_type_get_the_same_buckets() {
        use arrow::array::{LargeStringArray, StringArray, StringViewArray};
        let ids = [Some("C1"), None, Some("000042"), Some("")];
        let want: Vec<u32> = ids.iter().map(|id| bucket_of(*id, 16)).collect();
        assert_eq!(
            row_buckets(&StringArray::from(ids.to_vec()), 16).unwrap(),
            want
        );
        assert_eq!(
            row_buckets(&LargeStringArray::from(ids.to_vec()), 16).unwrap(),
            want
        );
        assert_eq!(
            row_buckets(&StringViewArray::from(ids.to_vec()), 16).unwrap(),
            want
        );
        assert!(row_buckets(&arrow::array::Int64Array::from(vec![1]), 16).is_err());
    }
}
