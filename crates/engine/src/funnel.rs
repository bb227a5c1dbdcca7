//! The sales funnel («Воронка продаж») and the manager traffic light
//! («Контроль руководителя») with the manager summary.
//!
//! The SQL is in `queries/funnel_*.sql`, `queries/traffic_light.sql` and
//! `queries/manager_*.sql`. This module binds dates, registers the lookup
//! tables that the configuration defines (the stage map, the colour rules,
//! the norms) and chains the queries. A canonical table that was never
//! loaded is registered empty for the duration, so that, say, a warehouse
//! with interests but no stage history still gets a funnel.

use std::sync::Arc;

use arrow::array::{BooleanArray, Float64Array, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::{Days, Months, NaiveDate};
use crm_core::funnel::{FunnelConfig, Indicator, TrafficLightConfig};

use crate::error::{Error, Result};
use crate::nightly::MartRows;
use crate::queries::render;
use crate::queries::timestamp_literal;
use crate::rfm::Table;
use crate::session::Engine;

/// How interests are picked for a funnel report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunnelMode {
    /// Interests created in the period, followed up to the as-of day.
    Cohort,
    /// Stage entries that happened in the period.
    Activity,
}

impl FunnelMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FunnelMode::Cohort => "cohort",
            FunnelMode::Activity => "activity",
        }
    }
}

/// What a funnel report is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunnelBy {
    All,
    Manager,
    Source,
    Segment,
    Month,
}

impl FunnelBy {
    pub fn as_str(self) -> &'static str {
        match self {
            FunnelBy::All => "all",
            FunnelBy::Manager => "manager",
            FunnelBy::Source => "source",
            FunnelBy::Segment => "segment",
            FunnelBy::Month => "month",
        }
    }
}

/// A reporting period that ends with the as-of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Week,
    Month,
    Quarter,
    Year,
    All,
}

impl Period {
    /// `[start, end)` as dates: the period of this length whose last day is
    /// `as_of` (a month ending 2024-06-30 is June; one ending 06-15 starts
    /// 05-16). `All` starts at year 1.
    pub fn window(self, as_of: NaiveDate) -> Result<(NaiveDate, NaiveDate)> {
        let end = as_of
            .checked_add_days(Days::new(1))
            .ok_or_else(|| Error::Invalid(format!("--as-of {as_of} is out of range")))?;
        Ok((self.back(end), end))
    }

    /// The period just before [`Period::window`]: the trend's baseline.
    pub fn previous(self, as_of: NaiveDate) -> Result<(NaiveDate, NaiveDate)> {
        let (start, _) = self.window(as_of)?;
        Ok((self.back(start), start))
    }

    fn back(self, from: NaiveDate) -> NaiveDate {
        // "All time" starts in 1900: DataFusion compares timestamps in nanoseconds,
        // which cannot represent dates before 1677.
        let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date");
        let back = match self {
            Period::Week => from.checked_sub_days(Days::new(7)),
            Period::Month => from.checked_sub_months(Months::new(1)),
            Period::Quarter => from.checked_sub_months(Months::new(3)),
            Period::Year => from.checked_sub_months(Months::new(12)),
            Period::All => None,
        };
        back.unwrap_or(earliest).max(earliest)
    }
}

/// The order of the traffic light's rows in the mart and the report.
const TRAFFIC_LIGHT_ORDER: &str = "manager_id, customer_id";

/// A funnel report as of one date.
#[derive(Debug, Clone)]
pub struct FunnelReport {
    /// One row per interest (the `funnel_interest` mart).
    pub interests: Table,
    /// One row per (group, stage) (the `funnel_stage` rows).
    pub stages: Table,
    /// One row per (interest, data problem).
    pub issues: Table,
}

/// The manager summary and the traffic light it was built on.
#[derive(Debug, Clone)]
pub struct QualityReport {
    /// The `traffic_light` mart as of the as-of day.
    pub traffic_light: Table,
    /// The `manager_summary` mart.
    pub summary: Table,
}

fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn one_batch(schema: Arc<Schema>, columns: Vec<arrow::array::ArrayRef>) -> Result<Table> {
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    Ok(Table {
        schema,
        batches: vec![batch],
    })
}

impl Engine {
    /// Registers an empty canonical table under `table`'s name when the
    /// warehouse has none.
    async fn ensure_table(&self, table: crm_core::Table) -> Result<()> {
        if self.has_table(table.name()) {
            return Ok(());
        }
        let schema = table.arrow_schema();
        self.register_rows(
            table.name(),
            &Table {
                batches: vec![RecordBatch::new_empty(schema.clone())],
                schema,
            },
        )
        .await
    }

    /// Registers the stage lookups and the per-interest rows as of `as_of`:
    /// the `funnel_interest` rows as `funnel_interest_now`, with
    /// `funnel_reach` over them (parked on disk under a memory limit).
    async fn prepare_funnel(&self, as_of: NaiveDate, cfg: &FunnelConfig) -> Result<()> {
        self.prepare_interests(as_of, cfg, "funnel_interest_now", true)
            .await
    }

    /// Registers the stage lookups and the `funnel_interest` rows as of
    /// `as_of` as `interests`, with `funnel_reach` over them when `reach`
    /// (only for `funnel_interest_now`, which it reads). Rows already
    /// computed for the same day and settings are kept: the nightly run
    /// asks for today's funnel once for the funnel marts and again for the
    /// traffic light.
    async fn prepare_interests(
        &self,
        as_of: NaiveDate,
        cfg: &FunnelConfig,
        interests: &str,
        reach: bool,
    ) -> Result<()> {
        debug_assert!(!reach || interests == "funnel_interest_now");
        cfg.validate().map_err(Error::Invalid)?;
        for t in [
            crm_core::Table::Interests,
            crm_core::Table::InterestStages,
            crm_core::Table::Customers,
        ] {
            self.ensure_table(t).await?;
        }
        self.register_rows("funnel_stage_map", &stage_map_table(cfg)?)
            .await?;
        self.register_rows("funnel_stages", &stages_table(cfg)?)
            .await?;
        let segments = self
            .context()
            .sql("SELECT customer_id, market_segment FROM customers")
            .await?;
        self.register_view("funnel_customer_segment", segments)?;
        let params = funnel_params(as_of, cfg)?;
        let inputs = format!("{as_of} {cfg:?}");
        let want_interests = !self.holds(interests, &inputs);
        let want_reach = reach && !self.holds("funnel_reach", &inputs);
        if !want_interests && !want_reach {
            log::debug!(target: "crm::query", "funnel as of {as_of}: already computed");
            return Ok(());
        }
        // Materialised once: funnel_interest, funnel_reach and funnel_issues
        // refer to the entries and their statistics several times between
        // them, and views would recompute them for every reference. After
        // the statistics only the entries without a stage are read again:
        // funnel_entries keeps those alone (a third of the memory at 2M
        // interests otherwise).
        let unstaged = format!("{inputs} (entries without a stage)");
        if !self.holds("funnel_entry_stats", &inputs) || !self.holds("funnel_entries", &unstaged) {
            self.materialize("funnel_entries", &render("funnel_entries", &params)?)
                .await?;
            self.materialize_for(
                "funnel_entry_stats",
                &inputs,
                &render("funnel_entry_stats", &params)?,
            )
            .await?;
            self.materialize_for(
                "funnel_entries",
                &unstaged,
                &render("funnel_entries_unstaged", &params)?,
            )
            .await?;
        }
        if want_interests {
            self.materialize_for(interests, &inputs, &render("funnel_interest", &params)?)
                .await?;
        }
        if want_reach {
            self.materialize_for("funnel_reach", &inputs, &render("funnel_reach", &params)?)
                .await?;
        }
        Ok(())
    }

    /// Registers `funnel_selected`: the rows one report counts.
    async fn select_funnel(
        &self,
        as_of: NaiveDate,
        cfg: &FunnelConfig,
        by: FunnelBy,
        mode: FunnelMode,
        period: Period,
    ) -> Result<Vec<(&'static str, String)>> {
        let (start, end) = period.window(as_of)?;
        let mut params = funnel_params(as_of, cfg)?;
        params.extend([
            ("by", by.as_str().to_string()),
            ("mode", mode.as_str().to_string()),
            ("period_start", timestamp_literal(start)),
            ("period_end", timestamp_literal(end)),
            ("period_start_date", date_text(start)),
            ("period_end_date", date_text(as_of)),
        ]);
        let selected = self
            .context()
            .sql(&render("funnel_selected", &params)?)
            .await?;
        self.register_view("funnel_selected", selected)?;
        Ok(params)
    }

    /// The funnel as of `as_of`: per stage, per interest, and the data problems.
    pub async fn funnel(
        &self,
        as_of: NaiveDate,
        cfg: &FunnelConfig,
        by: FunnelBy,
        mode: FunnelMode,
        period: Period,
    ) -> Result<FunnelReport> {
        self.require_interests()?;
        self.prepare_funnel(as_of, cfg).await?;
        let interests = self.registered_rows("funnel_interest_now", None).await?;
        let params = self.select_funnel(as_of, cfg, by, mode, period).await?;
        let stages = self.collect_sql(&render("funnel_stage", &params)?).await?;
        let issues = self.collect_sql(&render("funnel_issues", &params)?).await?;
        Ok(FunnelReport {
            interests,
            stages,
            issues,
        })
    }

    /// The nightly `funnel_stage` rows: cohort mode over all time, grouped
    /// by nothing, manager, source and market segment (column `by`). The
    /// `funnel_interest` rows are registered as `funnel_interest_now`.
    pub async fn funnel_nightly(&self, as_of: NaiveDate, cfg: &FunnelConfig) -> Result<Table> {
        self.require_interests()?;
        self.prepare_funnel(as_of, cfg).await?;
        let mut batches = Vec::new();
        let mut schema = None;
        for by in [
            FunnelBy::All,
            FunnelBy::Manager,
            FunnelBy::Source,
            FunnelBy::Segment,
        ] {
            let params = self
                .select_funnel(as_of, cfg, by, FunnelMode::Cohort, Period::All)
                .await?;
            let t = self.collect_sql(&render("funnel_stage", &params)?).await?;
            schema.get_or_insert(t.schema.clone());
            batches.extend(t.batches);
        }
        let schema = schema.expect("four groupings ran");
        let batches = batches
            .into_iter()
            .map(|b| b.with_schema(schema.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Table { schema, batches })
    }

    /// The drill-down of one stage: the interests that entered it, for one
    /// manager (or all). `stage` may be any name the stage map knows.
    #[allow(clippy::too_many_arguments)]
    pub async fn funnel_drill(
        &self,
        as_of: NaiveDate,
        cfg: &FunnelConfig,
        mode: FunnelMode,
        period: Period,
        stage: &str,
        manager: Option<&str>,
    ) -> Result<Table> {
        self.require_interests()?;
        let key = crm_core::funnel::stage_key(stage);
        let canonical = cfg
            .stage_map()
            .into_iter()
            .find(|r| r.raw_key == key && r.stage_no.is_some())
            .map(|r| r.stage)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "--stage {stage}: not a funnel stage; expected one of {} or an alias from [funnel.aliases]",
                    cfg.stages.join(", ")
                ))
            })?;
        self.prepare_funnel(as_of, cfg).await?;
        let params = self
            .select_funnel(as_of, cfg, FunnelBy::All, mode, period)
            .await?;
        let schema = Arc::new(Schema::new(vec![
            Field::new("stage", DataType::Utf8, false),
            Field::new("manager_id", DataType::Utf8, true),
        ]));
        let filter = one_batch(
            schema,
            vec![
                Arc::new(StringArray::from(vec![canonical])),
                Arc::new(StringArray::from(vec![manager.map(str::to_string)])),
            ],
        )?;
        self.register_rows("funnel_drill_filter", &filter).await?;
        self.collect_sql(&render("funnel_drill", &params)?).await
    }

    fn require_interests(&self) -> Result<()> {
        if self.has_table("interests") {
            Ok(())
        } else {
            Err(Error::Invalid(
                "no interests in the warehouse yet: load them with `crm load --table interests FILE`".into(),
            ))
        }
    }

    /// Registers the traffic light as of `as_of` as `name`: one row per
    /// (owning manager, client), in no order. The `funnel_interest` rows
    /// as of that day it reads are registered as `interests`.
    async fn register_traffic_light(
        &self,
        name: &str,
        interests: &str,
        as_of: NaiveDate,
        funnel: &FunnelConfig,
        cfg: &TrafficLightConfig,
    ) -> Result<()> {
        cfg.validate().map_err(Error::Invalid)?;
        if !self.has_table("customers") {
            return Err(Error::Invalid(
                "no customers in the warehouse yet: the traffic light needs them (their manager_id is the owner); load them with `crm load --table customers FILE`".into(),
            ));
        }
        self.ensure_table(crm_core::Table::Interactions).await?;
        self.prepare_interests(as_of, funnel, interests, false)
            .await?;
        self.register_rows("traffic_light_settings", &settings_table(cfg)?)
            .await?;
        self.register_rows("traffic_light_rules", &rules_table(cfg)?)
            .await?;
        let colours = self
            .collect_sql(&render("traffic_light_colours", &[])?)
            .await?;
        self.register_rows("traffic_light_colours", &colours)
            .await?;
        let as_of_end = as_of + Days::new(1);
        let warm_start = as_of_end
            .checked_sub_days(Days::new(u64::from(cfg.warm_days)))
            .unwrap_or(NaiveDate::MIN);
        let params = vec![
            ("as_of", date_text(as_of)),
            ("as_of_end", timestamp_literal(as_of_end)),
            ("warm_start", timestamp_literal(warm_start)),
            ("warm_days", cfg.warm_days.to_string()),
            ("funnel_interest", interests.to_string()),
        ];
        self.materialize(name, &render("traffic_light", &params)?)
            .await
    }

    /// The traffic light and the manager summary for the period ending
    /// `as_of`, with the previous period as the trend's baseline.
    pub async fn manager_quality(
        &self,
        as_of: NaiveDate,
        period: Period,
        funnel: &FunnelConfig,
        cfg: &TrafficLightConfig,
    ) -> Result<QualityReport> {
        let summary = self.prepare_quality(as_of, period, funnel, cfg).await?;
        let traffic_light = self
            .registered_rows("traffic_light_now", Some(TRAFFIC_LIGHT_ORDER))
            .await?;
        Ok(QualityReport {
            traffic_light,
            summary,
        })
    }

    /// The manager summary of [`Engine::manager_quality`]; its traffic
    /// light is registered as `traffic_light_now`.
    async fn prepare_quality(
        &self,
        as_of: NaiveDate,
        period: Period,
        funnel: &FunnelConfig,
        cfg: &TrafficLightConfig,
    ) -> Result<Table> {
        if period == Period::All {
            return Err(Error::Invalid(
                "the manager summary needs a period with a predecessor: week, month, quarter or year".into(),
            ));
        }
        let (start, end) = period.window(as_of)?;
        let (prev_start, _) = period.previous(as_of)?;
        let prev_as_of = start.pred_opt().unwrap_or(start);
        // Today first: in the nightly run, today's funnel is already there.
        for (side, day, from, to) in [
            ("now", as_of, start, end),
            ("prev", prev_as_of, prev_start, start),
        ] {
            let interests = format!("funnel_interest_{side}");
            self.register_traffic_light(
                &format!("traffic_light_{side}"),
                &interests,
                day,
                funnel,
                cfg,
            )
            .await?;
            let params = vec![
                ("traffic_light", format!("traffic_light_{side}")),
                ("funnel_interest", interests),
                ("start", timestamp_literal(from)),
                ("end", timestamp_literal(to)),
            ];
            let m = self
                .collect_sql(&render("manager_metrics", &params)?)
                .await?;
            self.register_rows(&format!("manager_metrics_{side}"), &m)
                .await?;
            if side == "now" {
                let current = self
                    .context()
                    .sql("SELECT * FROM traffic_light_now")
                    .await?;
                self.register_view("traffic_light_current", current)?;
            }
        }
        let managers = if self.has_table("managers") {
            self.context()
                .sql("SELECT manager_id, team FROM managers")
                .await?
        } else {
            self.context()
                .sql("SELECT CAST(NULL AS VARCHAR) AS manager_id, CAST(NULL AS VARCHAR) AS team WHERE false")
                .await?
        };
        self.register_view("manager_summary_managers", managers)?;
        self.register_rows("manager_summary_norms", &norms_table(cfg)?)
            .await?;
        let params = vec![
            ("as_of", date_text(as_of)),
            ("period_start", date_text(start)),
            ("previous_start", date_text(prev_start)),
        ];
        self.collect_sql(&render("manager_summary", &params)?).await
    }
}

/// The nightly marts of this module: `funnel_stage` and `funnel_interest`
/// when interests are loaded, `traffic_light` and `manager_summary` (month
/// period) when customers are. Nothing for a mart whose inputs are absent.
pub async fn nightly_marts(
    engine: &Engine,
    config: &crm_core::Config,
    as_of: NaiveDate,
) -> Result<Vec<(&'static str, MartRows)>> {
    let mut out = Vec::new();
    if engine.has_table("interests") {
        let stages = engine.funnel_nightly(as_of, &config.funnel).await?;
        out.push(("funnel_stage", MartRows::Rows(stages)));
        // The traffic light below keeps these rows and puts the previous
        // period's funnel under another name.
        out.push((
            "funnel_interest",
            MartRows::registered("funnel_interest_now"),
        ));
    }
    if engine.has_table("customers") {
        let summary = engine
            .prepare_quality(as_of, Period::Month, &config.funnel, &config.traffic_light)
            .await?;
        out.push((
            "traffic_light",
            MartRows::Registered {
                table: "traffic_light_now".into(),
                order: Some(TRAFFIC_LIGHT_ORDER),
            },
        ));
        out.push(("manager_summary", MartRows::Rows(summary)));
    }
    Ok(out)
}

fn funnel_params(as_of: NaiveDate, cfg: &FunnelConfig) -> Result<Vec<(&'static str, String)>> {
    let as_of_end = as_of
        .checked_add_days(Days::new(1))
        .ok_or_else(|| Error::Invalid(format!("--as-of {as_of} is out of range")))?;
    Ok(vec![
        ("as_of", date_text(as_of)),
        ("as_of_end", timestamp_literal(as_of_end)),
        ("won_no", cfg.stages.len().to_string()),
        ("imply", cfg.imply_skipped_stages.to_string()),
    ])
}

/// `funnel_stage_map(raw_key, stage, stage_no)`.
fn stage_map_table(cfg: &FunnelConfig) -> Result<Table> {
    let rows = cfg.stage_map();
    let schema = Arc::new(Schema::new(vec![
        Field::new("raw_key", DataType::Utf8, false),
        Field::new("stage", DataType::Utf8, false),
        Field::new("stage_no", DataType::Int32, true),
    ]));
    one_batch(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.raw_key.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.stage.as_str()),
            )),
            Arc::new(Int32Array::from_iter(rows.iter().map(|r| r.stage_no))),
        ],
    )
}

/// `funnel_stages(stage_no, stage)`.
fn stages_table(cfg: &FunnelConfig) -> Result<Table> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("stage_no", DataType::Int32, false),
        Field::new("stage", DataType::Utf8, false),
    ]));
    one_batch(
        schema,
        vec![
            Arc::new(Int32Array::from_iter_values(1..=cfg.stages.len() as i32)),
            Arc::new(StringArray::from_iter_values(
                cfg.stages.iter().map(String::as_str),
            )),
        ],
    )
}

/// `traffic_light_settings`: one row, `need_<field>` per portrait field.
fn settings_table(cfg: &TrafficLightConfig) -> Result<Table> {
    let fields: Vec<Field> = crm_core::funnel::PORTRAIT_FIELDS
        .iter()
        .map(|f| Field::new(format!("need_{f}"), DataType::Boolean, false))
        .collect();
    let columns = crm_core::funnel::PORTRAIT_FIELDS
        .iter()
        .map(|f| {
            Arc::new(BooleanArray::from(vec![
                cfg.portrait_fields.iter().any(|p| p == f),
            ])) as arrow::array::ArrayRef
        })
        .collect();
    one_batch(Arc::new(Schema::new(fields)), columns)
}

/// `traffic_light_rules(rule_no, colour, fail_*, warm)`.
fn rules_table(cfg: &TrafficLightConfig) -> Result<Table> {
    let rules = cfg.effective_rules();
    let schema = Arc::new(Schema::new(vec![
        Field::new("rule_no", DataType::Int32, false),
        Field::new("colour", DataType::Utf8, false),
        Field::new("fail_active_interest", DataType::Boolean, false),
        Field::new("fail_no_overdue", DataType::Boolean, false),
        Field::new("fail_portrait", DataType::Boolean, false),
        Field::new("fail_contact", DataType::Boolean, false),
        Field::new("warm", DataType::Boolean, true),
    ]));
    let has = |i: Indicator| -> arrow::array::ArrayRef {
        Arc::new(BooleanArray::from(
            rules
                .iter()
                .map(|r| r.failed.contains(&i))
                .collect::<Vec<_>>(),
        ))
    };
    one_batch(
        schema,
        vec![
            Arc::new(Int32Array::from_iter_values(1..=rules.len() as i32)),
            Arc::new(StringArray::from_iter_values(
                rules.iter().map(|r| r.colour.as_str()),
            )),
            has(Indicator::HasActiveInterest),
            has(Indicator::NoOverdueInteraction),
            has(Indicator::PortraitFilled),
            has(Indicator::ContactFilled),
            Arc::new(BooleanArray::from(
                rules.iter().map(|r| r.warm).collect::<Vec<_>>(),
            )),
        ],
    )
}

/// `manager_summary_norms(metric, team, manager_id, unacceptable, goal, higher_is_better)`.
fn norms_table(cfg: &TrafficLightConfig) -> Result<Table> {
    let n = &cfg.norms;
    let schema = Arc::new(Schema::new(vec![
        Field::new("metric", DataType::Utf8, false),
        Field::new("team", DataType::Utf8, true),
        Field::new("manager_id", DataType::Utf8, true),
        Field::new("unacceptable", DataType::Float64, false),
        Field::new("goal", DataType::Float64, false),
        Field::new("higher_is_better", DataType::Boolean, false),
    ]));
    one_batch(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(
                n.iter().map(|x| x.metric.as_str()),
            )),
            Arc::new(StringArray::from(
                n.iter().map(|x| x.team.clone()).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                n.iter().map(|x| x.manager.clone()).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from_iter_values(
                n.iter().map(|x| x.unacceptable),
            )),
            Arc::new(Float64Array::from_iter_values(n.iter().map(|x| x.goal))),
            Arc::new(BooleanArray::from(
                n.iter().map(|x| x.higher_is_better).collect::<Vec<_>>(),
            )),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Every query of this module plans and runs on empty canonical tables
    /// (no warehouse needed): the SQL parses, names resolve, types agree.
    #[tokio::test]
    async fn every_funnel_and_traffic_light_query_plans_and_runs_on_empty_tables() {
        use datafusion::prelude::SessionContext;
        let ctx = SessionContext::new();
        let mem = |t: &Table| {
            Arc::new(
                datafusion::datasource::MemTable::try_new(
                    t.schema.clone(),
                    vec![t.batches.clone()],
                )
                .unwrap(),
            )
        };
        let empty = |schema: arrow::datatypes::SchemaRef| Table {
            batches: vec![RecordBatch::new_empty(schema.clone())],
            schema,
        };
        for t in crm_core::Table::ALL {
            ctx.register_table(t.name(), mem(&empty(t.arrow_schema())))
                .unwrap();
        }
        let funnel = FunnelConfig::default();
        let tl = TrafficLightConfig::default();
        ctx.register_table("funnel_stage_map", mem(&stage_map_table(&funnel).unwrap()))
            .unwrap();
        ctx.register_table("funnel_stages", mem(&stages_table(&funnel).unwrap()))
            .unwrap();
        ctx.register_table("traffic_light_settings", mem(&settings_table(&tl).unwrap()))
            .unwrap();
        ctx.register_table("traffic_light_rules", mem(&rules_table(&tl).unwrap()))
            .unwrap();
        ctx.register_table("manager_summary_norms", mem(&norms_table(&tl).unwrap()))
            .unwrap();
        let as_of = d("2024-06-30");
        let mut params = funnel_params(as_of, &funnel).unwrap();
        params.extend([
            ("by", "manager".to_string()),
            ("mode", "activity".to_string()),
            ("period_start", timestamp_literal(d("2024-06-01"))),
            ("period_end", timestamp_literal(d("2024-07-01"))),
            ("period_start_date", "2024-06-01".to_string()),
            ("period_end_date", "2024-06-30".to_string()),
            ("warm_start", timestamp_literal(d("2024-04-02"))),
            ("warm_days", "90".to_string()),
            ("traffic_light", "traffic_light_now".to_string()),
            ("funnel_interest", "funnel_interest_now".to_string()),
            ("start", timestamp_literal(d("2024-06-01"))),
            ("end", timestamp_literal(d("2024-07-01"))),
            ("previous_start", "2024-05-01".to_string()),
        ]);
        let view = |name: &str, query: &str| {
            let ctx = ctx.clone();
            let sql = render(query, &params).unwrap();
            let name = name.to_string();
            async move {
                let df = ctx
                    .sql(&sql)
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                let _ = ctx.deregister_table(name.as_str());
                ctx.register_table(name.as_str(), df.into_view()).unwrap();
            }
        };
        let segments = ctx
            .sql("SELECT customer_id, market_segment FROM customers")
            .await
            .unwrap();
        ctx.register_table("funnel_customer_segment", segments.into_view())
            .unwrap();
        view("funnel_entries", "funnel_entries").await;
        view("funnel_entry_stats", "funnel_entry_stats").await;
        view("funnel_entries", "funnel_entries_unstaged").await;
        view("funnel_interest_now", "funnel_interest").await;
        view("funnel_reach", "funnel_reach").await;
        view("funnel_selected", "funnel_selected").await;
        view("traffic_light_colours", "traffic_light_colours").await;
        view("traffic_light_now", "traffic_light").await;
        view("manager_metrics_now", "manager_metrics").await;
        view("manager_metrics_prev", "manager_metrics").await;
        let managers = ctx
            .sql("SELECT manager_id, team FROM managers")
            .await
            .unwrap();
        ctx.register_table("manager_summary_managers", managers.into_view())
            .unwrap();
        let filter = one_batch(
            Arc::new(Schema::new(vec![
                Field::new("stage", DataType::Utf8, false),
                Field::new("manager_id", DataType::Utf8, true),
            ])),
            vec![
                Arc::new(StringArray::from(vec!["proposal"])),
                Arc::new(StringArray::from(vec![Some("M1")])),
            ],
        )
        .unwrap();
        ctx.register_table("funnel_drill_filter", mem(&filter))
            .unwrap();
        for q in [
            "funnel_stage",
            "funnel_issues",
            "funnel_drill",
            "manager_summary",
            "traffic_light",
        ] {
            // The manager summary takes its period bounds as plain dates.
            let mut p = params.clone();
            if q == "manager_summary" {
                for (k, v) in p.iter_mut() {
                    if *k == "period_start" {
                        *v = "2024-06-01".to_string();
                    }
                }
            }
            let sql = render(q, &p).unwrap();
            let rows = ctx
                .sql(&sql)
                .await
                .unwrap_or_else(|e| panic!("{q}: {e}"))
                .collect()
                .await
                .unwrap_or_else(|e| panic!("{q}: {e}"));
            assert_eq!(
                rows.iter().map(RecordBatch::num_rows).sum::<usize>(),
                0,
                "{q}"
            );
        }
    }

    #[test]
    fn periods_end_with_the_as_of_day_and_the_baseline_precedes_them() {
        assert_eq!(
            Period::Month.window(d("2024-06-30")).unwrap(),
            (d("2024-06-01"), d("2024-07-01"))
        );
        assert_eq!(
            Period::Month.previous(d("2024-06-30")).unwrap(),
            (d("2024-05-01"), d("2024-06-01"))
        );
        assert_eq!(
            Period::Week.window(d("2024-06-30")).unwrap(),
            (d("2024-06-24"), d("2024-07-01"))
        );
        assert_eq!(
            Period::Quarter.window(d("2024-06-30")).unwrap().0,
            d("2024-04-01")
        );
        assert_eq!(
            Period::Year.previous(d("2024-12-31")).unwrap(),
            (d("2023-01-01"), d("2024-01-01"))
        );
        assert_eq!(
            Period::All.window(d("2024-06-30")).unwrap().0,
            d("1900-01-01")
        );
    }
}
