//! RFM: per-customer recency, frequency and monetary value, tie-stable
//! scores, named segments and the seed segments, as of a date.
//!
//! The SQL is in `queries/rfm_*.sql`; this module binds parameters, registers
//! the small lookup tables the configuration defines (segment map, score
//! bounds) and chains the queries as views.

use std::sync::Arc;

use arrow::array::{AsArray, Float64Array, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::{Days, NaiveDate};
use crm_core::rfm::{RfmConfig, ScoreMethod, ScoreWithin};
use datafusion::datasource::MemTable;
use futures::StreamExt;

use crate::error::{Error, Result};
use crate::park::Held;
use crate::queries::render;
use crate::queries::{array_literal, string_literal, timestamp_literal};
use crate::session::Engine;

/// Query results, materialised: a schema and its batches.
#[derive(Debug, Clone)]
pub struct Table {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl Table {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// RFM as of one date.
#[derive(Debug, Clone)]
pub struct RfmResult {
    pub as_of: NaiveDate,
    /// The `rfm_segment` mart. The `rfm_customer` rows are registered as
    /// `rfm_customer_now` (parked on disk under a memory limit): read them
    /// with [`Engine::registered_rows`] or stream them into the mart.
    pub segments: Table,
}

impl Engine {
    /// Registers `df` as a view called `name`, replacing an earlier one.
    pub(crate) fn register_view(
        &self,
        name: &str,
        df: datafusion::prelude::DataFrame,
    ) -> Result<()> {
        self.context().deregister_table(name)?;
        self.context().register_table(name, df.into_view())?;
        Ok(())
    }

    /// Registers materialised rows as a table called `name`: in memory, or
    /// on a cluster as Parquet in the session's scratch directory.
    pub(crate) async fn register_rows(&self, name: &str, t: &Table) -> Result<()> {
        let provider: Arc<dyn datafusion::catalog::TableProvider> = if self.on_cluster() {
            self.scratch_provider(name, t).await?
        } else {
            // Batches dealt round-robin into one partition per core, so that
            // plans over materialised rows run in parallel from the scan on.
            let n = self.context().copied_config().target_partitions().max(1);
            let mut partitions = vec![Vec::new(); n];
            for (i, b) in t.batches.iter().enumerate() {
                partitions[i % n].push(b.clone());
            }
            partitions.retain(|p| !p.is_empty());
            if partitions.is_empty() {
                partitions.push(Vec::new());
            }
            Arc::new(MemTable::try_new(t.schema.clone(), partitions)?)
        };
        self.context().deregister_table(name)?;
        self.context().register_table(name, provider)?;
        self.rows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), Held::default());
        Ok(())
    }

    /// Runs SQL produced by [`render`] (never user text) and collects it.
    pub(crate) async fn collect_sql(&self, sql: &str) -> Result<Table> {
        let started = std::time::Instant::now();
        let df = self.context().sql(sql).await?;
        let planned: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let plan = df.create_physical_plan().await?;
        let name = crate::queries::query_name(sql);
        // Each batch is compacted as it arrives: a batch that points into
        // larger buffers (string views, slices; on a cluster, every batch
        // fetched over Arrow IPC carries those buffers whole) is let go at
        // once rather than held until the last one is in.
        let collected = async {
            // Driven by a task of its own: the last step of a plan (a final
            // aggregation) runs on a worker, so that queries collected at
            // once run at once.
            let mut stream = datafusion::physical_plan::common::spawn_buffered(
                datafusion::physical_plan::execute_stream(
                    Arc::clone(&plan),
                    self.context().task_ctx(),
                )?,
                2,
            );
            let mut batches = Vec::new();
            while let Some(b) = stream.next().await {
                batches.push(crate::compact::compact(b?)?);
            }
            Ok::<_, Error>(batches)
        }
        .await;
        crate::rows::trace_plan(name, plan.as_ref());
        let batches = collected
            .inspect_err(|e| {
                log::debug!(target: "crm::query", "{name}: failed after {:.2} s: {e}", started.elapsed().as_secs_f64())
            })?;
        self.spill().add_plan(&plan);
        // Execution may relax nullability against the plan; the batches' own
        // schema is the one a MemTable over them must carry.
        let schema = batches.first().map_or(planned, RecordBatch::schema);
        let table = Table { schema, batches };
        log::debug!(
            target: "crm::query",
            "{name}: {} rows, {} MB, {:.2} s",
            table.num_rows(),
            table.batches.iter().map(RecordBatch::get_array_memory_size).sum::<usize>() >> 20,
            started.elapsed().as_secs_f64()
        );
        Ok(table)
    }

    /// Computes RFM as of `as_of` with the given settings: the per-customer
    /// rows ([`Engine::rfm_customers`]), the birthdays and the segment summary.
    pub async fn rfm(&self, as_of: NaiveDate, cfg: &RfmConfig) -> Result<RfmResult> {
        let params = self.rfm_customers(as_of, cfg).await?;
        let birthdays = if self.has_table("customers") {
            self.collect_sql(&render("rfm_birthdays", &params)?).await?
        } else {
            let schema = Arc::new(Schema::new(vec![
                Field::new("customer_id", DataType::Utf8, true),
                Field::new("next_birthday", DataType::Date32, true),
            ]));
            Table {
                batches: vec![RecordBatch::new_empty(schema.clone())],
                schema,
            }
        };
        self.register_rows("rfm_birthdays", &birthdays).await?;
        let segments = self.collect_sql(&render("rfm_segment", &params)?).await?;
        Ok(RfmResult { as_of, segments })
    }

    /// Registers the per-customer RFM rows as of `as_of` as
    /// `rfm_customer_now` (the `rfm_customer` mart's rows), and returns the
    /// parameters its queries were rendered with.
    pub async fn rfm_customers(
        &self,
        as_of: NaiveDate,
        cfg: &RfmConfig,
    ) -> Result<Vec<(&'static str, String)>> {
        let params = self.rfm_scored(as_of, cfg, &[]).await?;
        self.materialize("rfm_customer_now", &render("rfm_customer", &params)?)
            .await?;
        Ok(params)
    }

    /// The per-customer RFM rows as of `as_of` (those of
    /// [`Engine::rfm_customers`]) as they are computed, for output that
    /// writes them on the way rather than holding them all.
    /// With `columns` named, only those are computed and returned, in that
    /// order.
    pub async fn rfm_customer_rows(
        &self,
        as_of: NaiveDate,
        cfg: &RfmConfig,
        columns: &[String],
    ) -> Result<crate::rows::RowStream<'_>> {
        let params = self.rfm_scored(as_of, cfg, columns).await?;
        let sql = render("rfm_customer", &params)?;
        let df = select_named(self.context().sql(&sql).await?, columns)?;
        self.stream_rows(crate::queries::query_name(&sql), df).await
    }

    /// Registers what `rfm_customer.sql` and `rfm_segment.sql` read as of
    /// `as_of`: the scored customers (`rfm_scores`) and, over them, their
    /// segments and seed flags (`rfm_segmented`); returns the parameters the
    /// queries were rendered with. With `columns` named, the customers are
    /// wanted for those columns of `rfm_customer` only, and the per-customer
    /// facts nothing reads are not computed.
    async fn rfm_scored(
        &self,
        as_of: NaiveDate,
        cfg: &RfmConfig,
        columns: &[String],
    ) -> Result<Vec<(&'static str, String)>> {
        cfg.validate().map_err(Error::Invalid)?;
        let map = cfg
            .segment_map()
            .map_err(|e| Error::Invalid(e.to_string()))?;
        if !self.has_table("transactions") {
            return Err(Error::Invalid(
                "no transactions in the warehouse yet: load them with `crm load --table transactions FILE`".into(),
            ));
        }
        let as_of_end = as_of
            .checked_add_days(Days::new(1))
            .ok_or_else(|| Error::Invalid(format!("--as-of {as_of} is out of range")))?;
        let window_filter = match as_of_end
            .checked_sub_days(Days::new(u64::from(cfg.lookback_days)))
        {
            Some(start) if cfg.lookback_days > 0 => format!("ts >= {}", timestamp_literal(start)),
            _ => "TRUE".to_string(),
        };
        let levels = map.levels;
        let mut params = vec![
            ("as_of", as_of.format("%Y-%m-%d").to_string()),
            ("as_of_end", timestamp_literal(as_of_end)),
            ("window_filter", window_filter),
            ("levels", levels.to_string()),
            ("dormant_days", cfg.dormant_days.to_string()),
            ("birthday_days", cfg.birthday_days.to_string()),
        ];
        params.extend(segment_cases(&map));

        // rfm_base is materialised (one row per customer): the scores read
        // it several times, and a view would scan transactions each time.
        let base_sql = match cfg.score_within {
            ScoreWithin::All => render("rfm_base", &params)?,
            ScoreWithin::MarketSegment => {
                if !self.has_table("customers") {
                    return Err(Error::Invalid(
                        "[rfm] score_within = \"market_segment\" needs the customers table; load it first".into(),
                    ));
                }
                let all = self.context().sql(&render("rfm_base", &params)?).await?;
                self.register_view("rfm_base_all", all)?;
                render("rfm_base_by_segment", &params)?
            }
        };
        // quantile_edges holds a score group's values at once, outside the
        // memory pool; under a limit, and on a cluster (where one task would
        // hold them), the scores come from spillable counts per distinct
        // value instead: the same numbers.
        let edges_bound = matches!(
            (cfg.method, cfg.score_within),
            (ScoreMethod::Quantile, ScoreWithin::All)
        ) && !self.bounded()
            && !self.on_cluster();
        let base_sql = if edges_bound && !columns.is_empty() {
            self.rfm_base_reading(&base_sql, &params, columns).await?
        } else {
            base_sql
        };
        self.materialize("rfm_base", &base_sql).await?;
        // The scores' query, and whether it can be a view (see below).
        let (scores, view) = match (cfg.method, cfg.score_within) {
            (ScoreMethod::Quantile, _) if self.bounded() || self.on_cluster() => {
                (render("rfm_scores_quantile_bounded", &params)?, false)
            }
            (ScoreMethod::Quantile, ScoreWithin::All) => {
                // One score group: its edges (a few values per column) are
                // bound into the query as literals. The columns' queries run
                // at once (each ends on one core).
                let queries = edge_queries(&params)?;
                let edges =
                    futures::future::try_join_all(queries.iter().map(|q| self.collect_sql(q)))
                        .await?;
                let mut params = params.clone();
                for ((name, _), t) in EDGE_COLUMNS.iter().zip(&edges) {
                    let literal = match t.batches.iter().find(|b| b.num_rows() > 0) {
                        Some(b) => array_literal(b.column(0).as_list::<i32>().value(0).as_ref())?,
                        // No customer: no edges.
                        None => "make_array()".to_string(),
                    };
                    params.push((name, literal));
                }
                (render("rfm_scores_quantile", &params)?, true)
            }
            (ScoreMethod::Quantile, ScoreWithin::MarketSegment) => {
                // The edges of each market segment, joined to its customers.
                self.materialize("rfm_score_edges", &render("rfm_score_edges", &params)?)
                    .await?;
                (render("rfm_scores_quantile_by_group", &params)?, false)
            }
            (ScoreMethod::Thresholds, _) => {
                self.register_rows("rfm_score_bounds", &score_bounds(cfg)?)
                    .await?;
                (render("rfm_scores_thresholds", &params)?, false)
            }
        };
        // Scores computed row by row over rfm_base stay a view: that saves a
        // copy of every customer (0.44 GB and 0.1 s at 4.8M). The others
        // come out of joins and aggregations and are materialised.
        if view {
            let df = self.context().sql(&scores).await?;
            self.register_view("rfm_scores", df)?;
        } else {
            self.materialize("rfm_scores", &scores).await?;
        }
        self.register_segmented(&params).await?;
        Ok(params)
    }

    /// The segments and seed flags over `rfm_scores`: a view, read by
    /// rfm_customer and rfm_segment.
    async fn register_segmented(&self, params: &[(&'static str, String)]) -> Result<()> {
        let segmented = self
            .context()
            .sql(&render("rfm_segmented", params)?)
            .await?;
        self.register_view("rfm_segmented", segmented)
    }

    /// `base_sql` with the columns that neither the score edges nor the
    /// named `columns` of `rfm_customer` read given as typed NULLs, so that
    /// DataFusion does not compute their aggregates (two of five when only
    /// scores and segments are wanted); `base_sql` itself when all are
    /// read. What is read is what the optimised plans of those queries scan
    /// of `rfm_base`, planned over an empty `rfm_base` of the same schema
    /// and edges bound empty.
    async fn rfm_base_reading(
        &self,
        base_sql: &str,
        params: &[(&'static str, String)],
        columns: &[String],
    ) -> Result<String> {
        let schema: SchemaRef = Arc::new(
            self.context()
                .sql(base_sql)
                .await?
                .schema()
                .as_arrow()
                .clone(),
        );
        let empty = Table {
            schema: schema.clone(),
            batches: Vec::new(),
        };
        self.register_rows("rfm_base", &empty).await?;
        let mut bound = params.to_vec();
        for (name, _) in EDGE_COLUMNS {
            bound.push((name, "make_array()".to_string()));
        }
        let scores = self
            .context()
            .sql(&render("rfm_scores_quantile", &bound)?)
            .await?;
        self.register_view("rfm_scores", scores)?;
        self.register_segmented(&bound).await?;
        let mut plans = Vec::new();
        for q in edge_queries(params)? {
            plans.push(self.context().sql(&q).await?.into_optimized_plan()?);
        }
        let customers = self.context().sql(&render("rfm_customer", params)?).await?;
        plans.push(select_named(customers, columns)?.into_optimized_plan()?);
        let mut read = std::collections::HashSet::new();
        for plan in &plans {
            read.extend(columns_scanned(plan, "rfm_base")?);
        }
        if schema.fields().iter().all(|f| read.contains(f.name())) {
            return Ok(base_sql.to_string());
        }
        let select = schema
            .fields()
            .iter()
            .map(|f| {
                let quoted = format!("\"{}\"", f.name().replace('"', "\"\""));
                if read.contains(f.name()) {
                    format!("b.{quoted}")
                } else {
                    format!("arrow_cast(NULL, '{}') AS {quoted}", f.data_type())
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        // The first line names the query in the log.
        let tag = base_sql.lines().next().unwrap_or_default();
        Ok(format!("{tag}\nSELECT {select} FROM (\n{base_sql}\n) AS b"))
    }

    /// The migration matrix between two per-customer RFM tables.
    pub async fn rfm_migration(
        &self,
        from: (NaiveDate, &Table),
        to: (NaiveDate, &Table),
    ) -> Result<Table> {
        self.register_rows("rfm_from", from.1).await?;
        self.register_rows("rfm_to", to.1).await?;
        self.rfm_migration_registered(from.0, to.0).await
    }

    /// The migration matrix between the per-customer RFM rows registered
    /// as `rfm_from` and `rfm_to` (customer_id, segment, monetary).
    pub(crate) async fn rfm_migration_registered(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Table> {
        let params = vec![
            ("from", from.format("%Y-%m-%d").to_string()),
            ("to", to.format("%Y-%m-%d").to_string()),
        ];
        self.collect_sql(&render("rfm_migration", &params)?).await
    }
}

/// The parameters that bind each score's edges into
/// `rfm_scores_quantile.sql`, and the rfm_base value each is taken over.
const EDGE_COLUMNS: [(&str, &str); 3] = [
    ("r_edges", "-recency_days"),
    ("f_edges", "frequency"),
    ("m_edges", "monetary"),
];

/// The queries of the three scores' edges (`rfm_score_edge.sql`), in the
/// order of [`EDGE_COLUMNS`].
fn edge_queries(params: &[(&'static str, String)]) -> Result<Vec<String>> {
    EDGE_COLUMNS
        .iter()
        .map(|(_, value)| {
            let mut p = params.to_vec();
            p.push(("value", value.to_string()));
            render("rfm_score_edge", &p)
        })
        .collect()
}

/// `df` limited to the named `columns`, in that order; all of it when none
/// are named.
fn select_named(
    df: datafusion::prelude::DataFrame,
    columns: &[String],
) -> Result<datafusion::prelude::DataFrame> {
    if columns.is_empty() {
        return Ok(df);
    }
    let schema = df.schema().as_arrow().clone();
    let names: Vec<&str> = crate::rows::column_indices(&schema, columns, &[])?
        .into_iter()
        .map(|i| schema.field(i).name().as_str())
        .collect();
    Ok(df.select_columns(&names)?)
}

/// The columns of `table` that `plan` scans (subqueries included).
fn columns_scanned(
    plan: &datafusion::logical_expr::LogicalPlan,
    table: &str,
) -> Result<std::collections::HashSet<String>> {
    use datafusion::common::tree_node::TreeNodeRecursion;
    use datafusion::logical_expr::LogicalPlan;
    let mut read = std::collections::HashSet::new();
    plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && scan.table_name.table() == table
        {
            read.extend(
                scan.projected_schema
                    .fields()
                    .iter()
                    .map(|f| f.name().clone()),
            );
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    Ok(read)
}

/// The segment map as the branches of three SQL `CASE`s over the cell key
/// `r * 10000 + f * 100 + m` (scores run to 10 at most, so keys are
/// unique): `rfm_cells`, `segments` and `segments_ru`, bound into
/// `rfm_segmented.sql`. An R×F map's segment repeats for every M; `rfm_cell`
/// is the scores written together ("451", or "10510" with 10 levels).
///
/// A `CASE` whose branches are all literals is a hash look-up in
/// DataFusion; a join to a map table copied every column of every customer.
fn segment_cases(map: &crm_core::rfm::SegmentMap) -> Vec<(&'static str, String)> {
    let mut cells = String::new();
    let mut segments = String::new();
    let mut segments_ru = String::new();
    for (&(r, f, m), segment) in &map.cells {
        let ms = if m == 0 { 1..=map.levels } else { m..=m };
        for m in ms {
            let when = format!("WHEN {} THEN ", r * 10000 + f * 100 + m);
            let label_ru = map.labels_ru.get(segment).map_or("", String::as_str);
            cells += &format!("{when}'{r}{f}{m}' ");
            segments += &format!("{when}{} ", string_literal(segment));
            segments_ru += &format!("{when}{} ", string_literal(label_ru));
        }
    }
    vec![
        ("rfm_cells", cells),
        ("segments", segments),
        ("segments_ru", segments_ru),
    ]
}

/// `rfm_score_bounds(metric, score, lower, upper)`: score s covers (lower, upper].
fn score_bounds(cfg: &RfmConfig) -> Result<Table> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("metric", DataType::Utf8, false),
        Field::new("score", DataType::Int32, false),
        Field::new("lower", DataType::Float64, true),
        Field::new("upper", DataType::Float64, true),
    ]));
    let mut metric = Vec::new();
    let mut score = Vec::new();
    let mut lower = Vec::new();
    let mut upper = Vec::new();
    let mut push = |name: &'static str, bounds: Vec<f64>, descending: bool| {
        let levels = bounds.len() + 1;
        for i in 0..levels {
            metric.push(name);
            // Range i is (bounds[i-1], bounds[i]]; the first and last are open.
            lower.push(if i == 0 { None } else { Some(bounds[i - 1]) });
            upper.push(bounds.get(i).copied());
            score.push(if descending { levels - i } else { i + 1 } as i32);
        }
    };
    push(
        "recency",
        cfg.recency_thresholds.iter().map(|v| *v as f64).collect(),
        true,
    );
    push(
        "frequency",
        cfg.frequency_thresholds.iter().map(|v| *v as f64).collect(),
        false,
    );
    push("monetary", cfg.monetary_thresholds.clone(), false);
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(metric)),
            Arc::new(Int32Array::from(score)),
            Arc::new(Float64Array::from(lower)),
            Arc::new(Float64Array::from(upper)),
        ],
    )?;
    Ok(Table {
        schema,
        batches: vec![batch],
    })
}
