//! Running the engine's plans on a cluster (Ballista) instead of in this
//! process.
//!
//! The SQL and the plans are the same; what changes is where tables live.
//! Executors do not share this process's memory and do not speak Delta, so
//! on a cluster:
//! - each Delta table is registered as a Parquet listing of exactly the files
//!   of the snapshot the local engine would read (partition values, which
//!   Delta keeps in its log, come back as constant columns);
//! - rows the engine materialises between steps are written as Parquet under
//!   `_scratch/<session>/` in the warehouse root, which every executor can
//!   reach, and read from there.
//!
//! The client (`crm-cluster`) supplies a [`Connector`] that turns the session
//! state into one whose plans run on the cluster; this crate stays free of
//! the cluster's dependencies.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::common::ScalarValue;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::SessionState;
use datafusion::logical_expr::{Expr, lit};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{DataFrame, SessionContext, col};
use futures::future::BoxFuture;

use crm_warehouse::deltalake::DeltaTable;

use crate::error::{Error, Result};
use crate::rfm::Table;
use crate::session::Engine;

/// Turns a session state into a session whose plans run on a cluster.
pub type Connector = Arc<
    dyn Fn(SessionState) -> BoxFuture<'static, datafusion::error::Result<SessionContext>>
        + Send
        + Sync,
>;

/// A cluster to run on.
#[derive(Clone)]
pub struct Cluster {
    /// What the user named (`ballista://host:port`), for messages.
    pub url: String,
    pub connect: Connector,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("url", &self.url).finish()
    }
}

/// Where a cluster session keeps what it materialises.
#[derive(Debug)]
pub(crate) struct Scratch {
    /// `_scratch/<session id>`, relative to the warehouse root.
    dir: String,
    next: AtomicUsize,
}

impl Scratch {
    pub(crate) fn new() -> Scratch {
        Scratch {
            dir: format!(
                "_scratch/{}-{}",
                chrono::Utc::now().format("%Y%m%dT%H%M%S"),
                std::process::id()
            ),
            next: AtomicUsize::new(0),
        }
    }

    pub(crate) fn dir(&self) -> &str {
        &self.dir
    }
}

impl Engine {
    /// A provider that reads `table`'s snapshot as plain Parquet, with the
    /// schema the local engine would give it.
    pub(crate) async fn snapshot_provider(
        &self,
        name: &str,
        table: &DeltaTable,
    ) -> Result<Arc<dyn TableProvider>> {
        let schema = table
            .table_provider()
            .await
            .map_err(crm_warehouse::Error::from)?
            .schema();
        let files = crm_warehouse::snapshot_files(table)?;
        if files.is_empty() {
            return self
                .scratch_provider(
                    name,
                    &Table {
                        schema,
                        batches: Vec::new(),
                    },
                )
                .await;
        }
        self.files_provider(schema, &files)
    }

    /// A provider over Delta data files (at least one) as plain Parquet,
    /// with the table's `schema`.
    pub(crate) fn files_provider(
        &self,
        schema: SchemaRef,
        files: &[crm_warehouse::SnapshotFile],
    ) -> Result<Arc<dyn TableProvider>> {
        let partition_columns: Vec<String> = files[0].partition_values.keys().cloned().collect();
        if partition_columns.is_empty() {
            let urls: Vec<&str> = files.iter().map(|f| f.url.as_str()).collect();
            return listing(&urls, schema);
        }
        // One listing per partition, each with its values as constants,
        // in one union: Delta keeps partition values in its log only.
        let file_schema = Arc::new(Schema::new(
            schema
                .fields()
                .iter()
                .filter(|f| !partition_columns.contains(f.name()))
                .cloned()
                .collect::<Vec<_>>(),
        ));
        let mut partitions: BTreeMap<Vec<Option<String>>, Vec<&str>> = BTreeMap::new();
        for f in files {
            let key = partition_columns
                .iter()
                .map(|c| f.partition_values.get(c).cloned().flatten())
                .collect();
            partitions.entry(key).or_default().push(&f.url);
        }
        let mut union: Option<DataFrame> = None;
        for (values, urls) in partitions {
            let part = self
                .context()
                .read_table(listing(&urls, Arc::clone(&file_schema))?)?;
            let mut columns: Vec<Expr> = Vec::with_capacity(schema.fields().len());
            for field in schema.fields() {
                match partition_columns.iter().position(|c| c == field.name()) {
                    Some(i) => {
                        let value = match &values[i] {
                            Some(text) => {
                                ScalarValue::try_from_string(text.clone(), field.data_type())?
                            }
                            None => ScalarValue::try_from(field.data_type())?,
                        };
                        columns.push(lit(value).alias(field.name()));
                    }
                    None => columns.push(col(format!("\"{}\"", field.name()))),
                }
            }
            let part = part.select(columns)?;
            union = Some(match union {
                Some(u) => u.union(part)?,
                None => part,
            });
        }
        Ok(union
            .expect("a snapshot with files has a partition")
            .into_view())
    }

    /// Writes `t` as Parquet under the session's scratch directory and
    /// returns a provider reading it back.
    pub(crate) async fn scratch_provider(
        &self,
        name: &str,
        t: &Table,
    ) -> Result<Arc<dyn TableProvider>> {
        let scratch = self.scratch().expect("only cluster sessions write scratch");
        let n = scratch.next.fetch_add(1, Ordering::Relaxed);
        let dir = format!("{}/{name}-{n}", scratch.dir());
        // As many files as the cluster has partitions, so scans run in parallel.
        let files = self
            .context()
            .copied_config()
            .target_partitions()
            .clamp(1, t.batches.len().max(1));
        let mut urls = Vec::with_capacity(files);
        for i in 0..files {
            let bytes = encode_parquet(&t.schema, t.batches.iter().skip(i).step_by(files))?;
            let relative = format!("{dir}/part-{i}.parquet");
            self.warehouse().write_file(&relative, bytes).await?;
            urls.push(format!("{}{relative}", self.warehouse().root()));
        }
        let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
        listing(&urls, Arc::clone(&t.schema))
    }

    /// Removes the session's scratch files (local warehouses; on object
    /// storage `_scratch/` is safe to delete once no crm runs on the cluster).
    pub(crate) fn remove_scratch(&self) {
        if let (Some(scratch), Some(root)) = (self.scratch(), self.warehouse().local_root()) {
            let _ = std::fs::remove_dir_all(root.join(scratch.dir()));
        }
    }
}

/// Batches as the bytes of one Parquet file.
fn encode_parquet<'a>(
    schema: &SchemaRef,
    batches: impl Iterator<Item = &'a arrow::array::RecordBatch>,
) -> datafusion::error::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, Arc::clone(schema), None)?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.close()?;
    Ok(bytes)
}

/// A Parquet listing of exactly these files, with this schema.
fn listing(urls: &[&str], schema: SchemaRef) -> Result<Arc<dyn TableProvider>> {
    let paths = urls
        .iter()
        .map(ListingTableUrl::parse)
        .collect::<datafusion::error::Result<Vec<_>>>()?;
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(paths)
        .with_listing_options(options)
        .with_schema(schema);
    let table = ListingTable::try_new(config).map_err(Error::DataFusion)?;
    Ok(Arc::new(table))
}
