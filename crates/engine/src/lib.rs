//! The query engine: a DataFusion session over the warehouse, with every
//! canonical table, bookkeeping table and mart registered under its name.
//! Business SQL lives in `queries/*.sql` at the repository root and is
//! compiled into the binary ([`queries`]); Rust only binds parameters.
//!
//! ```no_run
//! # async fn demo() -> crm_engine::Result<()> {
//! use crm_engine::{Engine, EngineOptions};
//! let wh = crm_warehouse::Warehouse::open("./warehouse")?;
//! let engine = Engine::open(&wh, &EngineOptions::default()).await?;
//! let batches = engine.sql("SELECT count(*) FROM transactions").await?.collect().await?;
//! # Ok(()) }
//! ```

mod buckets;
mod cluster;
pub mod clv;
mod compact;
mod error;
pub mod functions;
pub mod funnel;
mod local_reads;
mod memory;
pub mod nightly;
mod park;
pub mod queries;
pub mod report;
pub mod rfm;
mod rows;
mod session;

pub use cluster::{Cluster, Connector};
pub use error::{Error, Result};
pub use memory::parse_byte_size;
pub use rfm::{RfmResult, Table};
pub use rows::{RowStream, column_indices};
pub use session::{Engine, EngineOptions, SpillTotals};

pub use crm_clv;
pub use datafusion;
