//! Opening Delta tables by name, at the latest version or in the past, and
//! reading their commit history.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use deltalake::DeltaTable;
use futures::TryStreamExt;
use serde::Serialize;

use crate::bookkeeping::{LOAD_HISTORY, QUARANTINE};
use crate::error::{Error, Result};
use crate::location::Warehouse;
use crate::marts::MART_NAMES;

/// Canonical and bookkeeping tables live under `tables/`, marts under `marts/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    Table,
    Mart,
}

impl TableKind {
    pub fn dir(self) -> &'static str {
        match self {
            TableKind::Table => "tables",
            TableKind::Mart => "marts",
        }
    }

    /// Where a name lives: marts by their CONVENTIONS names, everything else
    /// under `tables/`.
    pub fn of(name: &str) -> TableKind {
        if MART_NAMES.contains(&name) {
            TableKind::Mart
        } else {
            TableKind::Table
        }
    }
}

/// A point in a table's past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeTravel {
    Latest,
    Version(i64),
    Timestamp(DateTime<Utc>),
}

/// One commit of a table, as `crm history` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CommitSummary {
    pub version: i64,
    pub timestamp: Option<DateTime<Utc>>,
    pub operation: String,
    pub load_id: Option<String>,
    pub metrics: String,
}

impl Warehouse {
    /// Every name `crm sql` can query, in a stable order: canonical tables,
    /// bookkeeping tables, marts.
    pub fn known_names() -> Vec<&'static str> {
        let mut names: Vec<&'static str> = crm_core::Table::ALL.iter().map(|t| t.name()).collect();
        names.push(QUARANTINE);
        names.push(LOAD_HISTORY);
        names.extend(MART_NAMES);
        names
    }

    /// The latest version of `name`, or `None` when nothing was written yet.
    pub async fn table(&self, name: &str) -> Result<Option<DeltaTable>> {
        self.table_at(name, TimeTravel::Latest).await
    }

    /// `name` at a point in time; `None` when the table does not exist.
    pub async fn table_at(&self, name: &str, at: TimeTravel) -> Result<Option<DeltaTable>> {
        let url = self.table_url(TableKind::of(name), name);
        // The kernel refuses a local path that does not exist; no log, no table.
        if let Some(root) = self.local_root()
            && !root
                .join(TableKind::of(name).dir())
                .join(name)
                .join("_delta_log")
                .exists()
        {
            return Ok(None);
        }
        let mut table = deltalake::DeltaTableBuilder::from_url(url)?
            .with_storage_options(self.storage_options().clone())
            .build()?;
        let loaded = match at {
            TimeTravel::Latest => table.load().await,
            TimeTravel::Version(v) => {
                let Ok(v) = u64::try_from(v) else {
                    return Err(Error::NoSuchVersion {
                        table: name.into(),
                        version: v,
                    });
                };
                table.load_version(v).await
            }
            TimeTravel::Timestamp(ts) => table.load_with_datetime(ts).await,
        };
        match loaded {
            Ok(()) => Ok(Some(table)),
            Err(deltalake::DeltaTableError::NotATable(_)) => Ok(None),
            Err(e) => {
                if let TimeTravel::Version(version) = at
                    && self
                        .table_for_write(TableKind::of(name), name)
                        .await?
                        .version()
                        .is_some()
                {
                    return Err(Error::NoSuchVersion {
                        table: name.into(),
                        version,
                    });
                }
                Err(e.into())
            }
        }
    }

    /// A handle for writing `name`: loaded when it exists, uninitialised otherwise.
    pub(crate) async fn table_for_write(&self, kind: TableKind, name: &str) -> Result<DeltaTable> {
        let url = self.table_url(kind, name);
        if let Some(root) = self.local_root() {
            let dir = root.join(kind.dir()).join(name);
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::Invalid(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut table = deltalake::DeltaTableBuilder::from_url(url)?
            .with_storage_options(self.storage_options().clone())
            .build()?;
        match table.load().await {
            Ok(()) | Err(deltalake::DeltaTableError::NotATable(_)) => Ok(table),
            Err(e) => Err(e.into()),
        }
    }

    /// The commits of `name`, newest first.
    pub async fn history(&self, name: &str, limit: Option<usize>) -> Result<Vec<CommitSummary>> {
        let table = self
            .table(name)
            .await?
            .ok_or_else(|| Error::NoSuchTable(name.into()))?;
        let latest = table.version().unwrap_or(0) as i64;
        let commits: Vec<_> = table.history(limit).try_collect().await?;
        Ok(commits
            .into_iter()
            .enumerate()
            .map(|(i, c)| CommitSummary {
                version: latest - i as i64,
                timestamp: c.timestamp.and_then(DateTime::from_timestamp_millis),
                operation: c.operation.clone().unwrap_or_default(),
                load_id: c
                    .info
                    .get(crate::load::LOAD_ID_METADATA)
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                metrics: c
                    .operation_parameters
                    .as_ref()
                    .map(|p| serde_json::to_string(p).unwrap_or_default())
                    .unwrap_or_default(),
            })
            .collect())
    }
}

/// One data file of a Delta snapshot: what an engine without delta-rs needs
/// to read the table as plain Parquet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    /// The file's full URL (`file:///...` or `s3://bucket/...`).
    pub url: String,
    /// The Hive-style partition values the file's rows carry (Delta keeps
    /// them in the log, not in the file), by column name.
    pub partition_values: BTreeMap<String, Option<String>>,
    /// The file's path relative to the table root, as the log names it.
    pub path: String,
    /// Rows in the file, when the log's statistics say.
    pub rows: Option<u64>,
    /// The customer bucket whose rows the file holds, when `crm optimize`
    /// wrote it (see [`crate::buckets`]).
    pub bucket: Option<crate::buckets::FileBucket>,
}

/// The data files of `table`'s loaded snapshot. A table whose files use
/// deletion vectors cannot be read as plain Parquet and is refused (crm never
/// writes them).
pub fn snapshot_files(table: &DeltaTable) -> Result<Vec<SnapshotFile>> {
    let snapshot = table.snapshot()?;
    let mut files = Vec::new();
    for file in snapshot.log_data().iter() {
        if file.deletion_vector_descriptor().is_some() {
            return Err(Error::Invalid(format!(
                "{}: file {} has a deletion vector; read this table with delta-rs",
                table.log_store().root_url(),
                file.path()
            )));
        }
        // The file's tags are reachable only through its Add action.
        #[allow(deprecated)]
        let tags = file.add_action().tags.unwrap_or_default();
        files.push(SnapshotFile {
            url: table.log_store().to_uri(&file.object_store_path()),
            partition_values: file.partition_values_map().into_iter().collect(),
            path: file.path().to_string(),
            rows: file.num_records().map(|n| n as u64),
            bucket: crate::buckets::FileBucket::from_tags(&tags),
        });
    }
    Ok(files)
}

/// The snapshot's files when plain Parquet readers see exactly the table:
/// no deletion vectors and no column mapping (physical column names that
/// differ from the table's), as crm writes them. `None` for other tables.
pub fn plain_snapshot_files(table: &DeltaTable) -> Result<Option<Vec<SnapshotFile>>> {
    // delta-rs does not re-export the kernel's ColumnMappingMode enum; its
    // `None` variant is the only mode plain readers handle.
    let mapped = table
        .snapshot()?
        .table_config()
        .column_mapping_mode
        .is_some_and(|mode| format!("{mode:?}") != "None");
    if mapped {
        return Ok(None);
    }
    match snapshot_files(table) {
        Ok(files) => Ok(Some(files)),
        Err(Error::Invalid(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
