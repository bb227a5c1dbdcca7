//! The DataFusion session: configuration, memory limit, and the warehouse's
//! tables registered by name.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crm_warehouse::{TimeTravel, Warehouse};
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::physical_optimizer::optimizer::PhysicalOptimizer;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{DataFrame, SQLOptions, SessionConfig, SessionContext};

use crate::cluster::{Cluster, Scratch};
use crate::compact::CompactBeforeSort;
use crate::error::{Error, Result};
use crate::memory::LimitPool;
use crate::rfm::Table;

/// How to build a session.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// DataFusion target partitions; 0 = [`default_partitions`].
    pub target_partitions: usize,
    /// Bytes the queries may hold before sorts and aggregations spill to disk.
    pub memory_limit: Option<usize>,
    /// Where spill files go [default: the OS temp directory].
    pub spill_dir: Option<PathBuf>,
    /// Which point in time every table is read at.
    pub at: TimeTravel,
    /// Per-table versions that override `at` (`--at-version` with `--table`).
    pub table_versions: Vec<(String, i64)>,
    /// Run the plans on this cluster instead of in this process.
    pub cluster: Option<Cluster>,
}

/// The target partitions when none are configured: one per core under a
/// memory limit or on a cluster (more would split the pool into smaller
/// shares), otherwise two per core and at least [`MIN_PARTITIONS`].
///
/// More partitions than cores: a core that finishes its partition early
/// takes another rather than idling behind the slowest, and every hash
/// table and sort run is smaller, so it stays in the caches. On 2 cores
/// (medians of interleaved runs), against two per core (4):
/// - `crm rfm`, 10^8 transactions: 6.1-6.7 s -> 5.3-5.6 s, its partial
///   aggregation 6.25 -> 2.91 s of CPU and its final one 1.83 -> 0.68 s;
///   at 10M 0.625 -> 0.60 s;
/// - `crm quality` at 10.8M customers: 24.2 -> 19.5 s (8: 21.6 s, 32:
///   19.1 s), with 5.3 GB instead of 5.7 GB;
/// - `crm funnel --by manager` there: 5.28 -> 4.56-4.79 s (8 and 32 the
///   same);
/// - the nightly `crm run` at 10M transactions: 12.1 -> 11.8 s.
///
/// Two per core against one had made `crm funnel` at 1M interests 3.12 ->
/// 2.70 s and `crm rfm` at 10M 0.82 -> 0.72 s.
pub fn default_partitions(bounded: bool) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if bounded {
        cores
    } else {
        (2 * cores).max(MIN_PARTITIONS)
    }
}

/// The fewest target partitions without a memory limit: see
/// [`default_partitions`].
pub const MIN_PARTITIONS: usize = 16;

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            target_partitions: 0,
            memory_limit: None,
            spill_dir: None,
            at: TimeTravel::Latest,
            table_versions: Vec::new(),
            cluster: None,
        }
    }
}

/// What the queries of a session spilled to disk, summed over every
/// operator of every query run through the engine.
#[derive(Debug, Default)]
pub struct SpillTotals {
    bytes: AtomicUsize,
    files: AtomicUsize,
}

impl SpillTotals {
    /// (bytes, spill files) so far.
    pub fn get(&self) -> (usize, usize) {
        (
            self.bytes.load(Ordering::Relaxed),
            self.files.load(Ordering::Relaxed),
        )
    }

    /// Adds the spill metrics of every operator of an executed plan.
    pub(crate) fn add_plan(&self, plan: &Arc<dyn ExecutionPlan>) {
        let mut stack = vec![Arc::clone(plan)];
        while let Some(p) = stack.pop() {
            if let Some(m) = p.metrics() {
                self.bytes
                    .fetch_add(m.spilled_bytes().unwrap_or(0), Ordering::Relaxed);
                self.files
                    .fetch_add(m.spill_count().unwrap_or(0), Ordering::Relaxed);
            }
            stack.extend(p.children().into_iter().cloned());
        }
    }
}

/// A session over one warehouse.
pub struct Engine {
    ctx: SessionContext,
    warehouse: Warehouse,
    spill: Arc<SpillTotals>,
    tables: Vec<String>,
    /// Names registered by `register_rows`, for [`Engine::release_rows`].
    pub(crate) rows: std::sync::Mutex<std::collections::BTreeMap<String, crate::park::Held>>,
    /// Set on a cluster: where materialised rows go.
    scratch: Option<Scratch>,
    /// True under a memory limit: rows with one per customer or interest
    /// are parked on disk rather than held (see [`Engine::materialize`]).
    bounded: bool,
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.remove_scratch();
    }
}

impl Engine {
    /// Opens a session and registers every table that exists.
    pub async fn open(warehouse: &Warehouse, opts: &EngineOptions) -> Result<Engine> {
        let mut config = SessionConfig::new()
            .with_information_schema(true)
            .with_default_catalog_and_schema("crm", "public");
        let partitions = match opts.target_partitions {
            0 => default_partitions(opts.memory_limit.is_some() || opts.cluster.is_some()),
            n => n,
        };
        config = config.with_target_partitions(partitions);
        if let Some(limit) = opts.memory_limit {
            // Each sort sets aside this much to merge its spill files; the
            // default 10 MB per sort would not fit a small limit shared by
            // many operators.
            config = config.with_sort_spill_reservation_bytes((limit / 32).min(10 << 20));
            // DataFusion 55's hash join holds its whole build side and cannot
            // spill: at 3*10^8 transactions (14M customers) one build side
            // outgrew a 4 GiB pool. Sort-merge joins sort (and spill) instead.
            config.options_mut().optimizer.prefer_hash_join = false;
        } else {
            // A sort that holds its input in memory anyway sorts it in one
            // piece: for the 4.6M rows of a traffic light, concatenating and
            // sorting took half the time of sorting each batch and merging
            // (DataFusion's default above 1 MB). Under a limit the copy
            // would not be accounted for, so the default stays.
            config.options_mut().execution.sort_in_place_threshold_bytes = 1 << 30;
            // Fewer, larger batches: a quarter of the per-batch work in
            // every operator. Interleaved runs on 2 cores: crm funnel at 2M
            // interests 4.93-5.12 s -> 4.67-4.89 s with less memory, crm
            // quality at 1M 11.3-12.5 s -> 10.8-11.1 s, crm rfm unchanged.
            // Under a limit the default stays: batches are what sorts spill.
            config = config.with_batch_size(32 * 1024);
        }
        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(limit) = opts.memory_limit {
            // A fair pool gives each spilling operator its share; what does
            // not fit goes to disk instead of growing the process.
            runtime = runtime.with_memory_pool(Arc::new(LimitPool::new(limit)));
        }
        if let Some(dir) = &opts.spill_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Invalid(format!("spill directory {}: {e}", dir.display())))?;
            runtime = runtime.with_disk_manager_builder(
                DiskManagerBuilder::default()
                    .with_mode(DiskManagerMode::Directories(vec![dir.clone()])),
            );
        }
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime.build_arc()?)
            .with_default_features();
        if opts.cluster.is_none() {
            // Executors plan their own stages; CompactExec is crm's node.
            let mut rules = PhysicalOptimizer::new().rules;
            rules.push(Arc::new(CompactBeforeSort));
            // Before anything reads the scans' partitioning.
            rules.insert(0, Arc::new(crate::buckets::BucketsOnlyAlone));
            state = state.with_physical_optimizer_rules(rules);
        }
        let mut state = state.build();
        crate::functions::register_all(&mut state)?;
        let (ctx, scratch) = match &opts.cluster {
            None => {
                let ctx = SessionContext::new_with_state(state);
                // Local scans read their byte ranges without zero-filling.
                ctx.register_object_store(
                    datafusion::execution::object_store::ObjectStoreUrl::local_filesystem()
                        .as_ref(),
                    Arc::new(crate::local_reads::LocalReads::new()),
                );
                (ctx, None)
            }
            Some(cluster) => {
                let ctx = (cluster.connect)(state).await.map_err(|e| {
                    let why = match e {
                        datafusion::error::DataFusionError::Configuration(m) => m,
                        other => other.to_string(),
                    };
                    Error::Invalid(format!(
                        "cannot connect to the cluster at {}: {why}",
                        cluster.url
                    ))
                })?;
                (ctx, Some(Scratch::new()))
            }
        };
        let mut engine = Engine {
            ctx,
            warehouse: warehouse.clone(),
            spill: Arc::default(),
            tables: Vec::new(),
            rows: Default::default(),
            scratch,
            bounded: opts.memory_limit.is_some(),
        };
        // The tables' logs are read at once: the reads of one overlap the
        // decoding of another.
        let wanted: Vec<(&str, TimeTravel)> = Warehouse::known_names()
            .iter()
            .map(|&name| {
                let at = opts
                    .table_versions
                    .iter()
                    .find(|(t, _)| t == name)
                    .map(|(_, v)| TimeTravel::Version(*v))
                    .unwrap_or(opts.at);
                (name, at)
            })
            .collect();
        let providers = futures::future::try_join_all(
            wanted.iter().map(|&(name, at)| engine.provider(name, at)),
        )
        .await?;
        for ((name, _), provider) in wanted.into_iter().zip(providers) {
            if let Some(provider) = provider {
                engine.install(name, provider)?;
            }
        }
        for (t, _) in &opts.table_versions {
            if !engine.tables.iter().any(|n| n == t) {
                return Err(Error::Invalid(format!(
                    "--at-version names table '{t}', which does not exist in the warehouse"
                )));
            }
        }
        Ok(engine)
    }

    /// What reads table `name` at `at`, or None when it does not exist (or
    /// did not yet exist at that time).
    async fn provider(
        &self,
        name: &str,
        at: TimeTravel,
    ) -> Result<Option<Arc<dyn datafusion::catalog::TableProvider>>> {
        let table = match self.warehouse.table_at(name, at).await {
            Ok(Some(t)) => t,
            Ok(None) => return Ok(None),
            // A table created after the requested timestamp did not exist then.
            Err(crm_warehouse::Error::Delta(_)) if matches!(at, TimeTravel::Timestamp(_)) => {
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        let provider = if self.scratch.is_some() {
            self.snapshot_provider(name, &table).await?
        } else {
            table
                .update_datafusion_session(&self.ctx.state())
                .map_err(crm_warehouse::Error::from)?;
            let delta = table
                .table_provider()
                .await
                .map_err(crm_warehouse::Error::from)?;
            // delta-rs' scan always evaluates filters inside the Parquet
            // decoder, row by row, which costs more than it saves when most
            // rows pass, as in crm's scans (15% of rfm_base's CPU at 10M).
            // A table Parquet readers see whole is read as a Parquet listing
            // of the snapshot's files instead, like on a cluster.
            match crm_warehouse::plain_snapshot_files(&table)? {
                Some(files) if !files.is_empty() => {
                    let listing = self.files_provider(delta.schema(), &files)?;
                    crate::buckets::BucketedTable::wrap(listing, &files)
                }
                _ => delta,
            }
        };
        Ok(Some(provider))
    }

    /// Registers `provider` as table `name`, replacing any before it.
    fn install(
        &mut self,
        name: &str,
        provider: Arc<dyn datafusion::catalog::TableProvider>,
    ) -> Result<()> {
        self.ctx.deregister_table(name)?;
        self.ctx.register_table(name, provider)?;
        if !self.tables.iter().any(|t| t == name) {
            self.tables.push(name.to_string());
        }
        Ok(())
    }

    /// Names of the registered tables.
    pub fn tables(&self) -> &[String] {
        &self.tables
    }

    /// Forgets one table of materialised rows (see `register_rows`) that no
    /// later query reads.
    pub fn forget_rows(&self, name: &str) -> Result<()> {
        self.ctx.deregister_table(name)?;
        self.rows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        Ok(())
    }

    /// Forgets the rows that steps materialised (see `register_rows`),
    /// except those named in `keep`, so that a long run holds only what
    /// later steps read. The memory is freed once no result refers to it.
    pub fn release_rows(&self, keep: &[&str]) -> Result<()> {
        let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        let gone: Vec<String> = rows
            .keys()
            .filter(|n| !keep.contains(&n.as_str()))
            .cloned()
            .collect();
        for name in gone {
            self.ctx.deregister_table(name.as_str())?;
            rows.remove(&name);
        }
        Ok(())
    }

    pub fn has_table(&self, name: &str) -> bool {
        self.tables.iter().any(|t| t == name)
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    pub fn warehouse(&self) -> &Warehouse {
        &self.warehouse
    }

    /// Set when the plans run on a cluster.
    pub(crate) fn scratch(&self) -> Option<&Scratch> {
        self.scratch.as_ref()
    }

    /// True under a memory limit.
    pub(crate) fn bounded(&self) -> bool {
        self.bounded
    }

    /// The rows of a table the engine registered (`rfm_customer_now`,
    /// `clv_customer_now`, ...), sorted by `order` when given.
    pub async fn registered_rows(&self, name: &str, order: Option<&str>) -> Result<Table> {
        let order = order.map(|o| format!(" ORDER BY {o}")).unwrap_or_default();
        self.collect_sql(&format!("SELECT * FROM {name}{order}"))
            .await
    }

    /// The number of rows of a registered table.
    pub(crate) async fn count_rows(&self, name: &str) -> Result<usize> {
        let t = self
            .collect_sql(&format!("SELECT count(*) AS n FROM {name}"))
            .await?;
        let n = t
            .batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .and_then(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<arrow::array::Int64Array>()
                    .map(|a| a.value(0))
            })
            .unwrap_or(0);
        Ok(n as usize)
    }

    /// True when the plans run on a cluster.
    pub fn on_cluster(&self) -> bool {
        self.scratch.is_some()
    }

    /// What the engine's own queries spilled so far.
    pub fn spill(&self) -> &SpillTotals {
        &self.spill
    }

    /// Runs a read-only query: DDL, DML and SET statements are refused.
    pub async fn sql(&self, query: &str) -> Result<DataFrame> {
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        self.ctx
            .sql_with_options(query, options)
            .await
            .map_err(|e| match e {
                datafusion::error::DataFusionError::Plan(m)
                    if m.contains("not supported") || m.contains("DDL") || m.contains("DML") =>
                {
                    Error::Invalid(format!("crm sql is read-only: {m}"))
                }
                other => Error::DataFusion(other),
            })
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::Table;

    #[tokio::test]
    async fn released_rows_are_gone_and_kept_rows_stay() {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap()).unwrap();
        let engine = Engine::open(&wh, &EngineOptions::default()).await.unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1, 2]))])
                .unwrap();
        let t = Table {
            schema,
            batches: vec![batch],
        };
        for name in ["step_rows", "kept_rows"] {
            engine.register_rows(name, &t).await.unwrap();
        }
        engine.release_rows(&["kept_rows"]).unwrap();
        assert!(engine.context().table_exist("kept_rows").unwrap());
        assert!(!engine.context().table_exist("step_rows").unwrap());
        let n = engine.sql("SELECT sum(n) FROM kept_rows").await.unwrap();
        assert_eq!(n.collect().await.unwrap()[0].num_rows(), 1);
        engine.release_rows(&[]).unwrap();
        assert!(!engine.context().table_exist("kept_rows").unwrap());
    }
}
