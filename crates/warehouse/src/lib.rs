//! The crm warehouse: the only crate that touches storage.
//!
//! A warehouse is a root (a local path or an object-store URL) holding Delta
//! tables: the canonical tables under `tables/<name>`, the marts under
//! `marts/<name>` (partitioned by `as_of`), and the bookkeeping tables
//! `tables/quarantine` and `tables/load_history`. Every write is one atomic
//! Delta commit, so a crash at any moment leaves each table at its old or its
//! new version; a load records a `started` history row first and a `complete`
//! row last, and running the same load again resumes it.
//!
//! ```no_run
//! # async fn demo() -> crm_warehouse::Result<()> {
//! use crm_warehouse::Warehouse;
//! let wh = Warehouse::open("./warehouse")?;
//! if let Some(t) = wh.table("transactions").await? {
//!     println!("transactions at version {:?}", t.version());
//! }
//! # Ok(()) }
//! ```

mod bookkeeping;
pub mod buckets;
mod error;
mod load;
mod location;
mod lock;
mod marts;
mod s3;
mod staging;
mod tables;

pub use bookkeeping::{HistoryRow, LOAD_HISTORY, QUARANTINE, RunRecord};
pub use error::{Error, Result};
pub use load::{
    FileChunk, FileInput, FileStream, LoadMode, LoadReport, LoadRequest, SourceError,
    fingerprint as load_fingerprint,
};
pub use location::Warehouse;
pub use lock::{LockGuard, LockInfo};
pub use marts::{AS_OF_COLUMN, MART_NAMES, MartInput, RUN_ID_COLUMN};
pub use tables::{
    CommitSummary, SnapshotFile, TableKind, TimeTravel, plain_snapshot_files, snapshot_files,
};

/// The object store crm uses for `url` when it lies on S3 (`s3://`, `s3a://`),
/// configured from the `AWS_*` environment; `None` for other schemes. Query
/// engines that read warehouse files themselves (Ballista executors) register it.
pub fn s3_store_from_env(
    url: &url::Url,
) -> Option<std::result::Result<std::sync::Arc<dyn object_store::ObjectStore>, object_store::Error>>
{
    s3::is_s3(url).then(|| {
        s3::store(url, &Default::default())
            .map(|s| s as std::sync::Arc<dyn object_store::ObjectStore>)
    })
}

/// Re-exported so that callers use the same deltalake as the warehouse.
pub use deltalake;
