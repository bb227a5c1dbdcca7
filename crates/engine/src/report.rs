//! The numbers behind the dashboard: one query from `queries/report_*.sql`
//! per chart, each over the marts of one as-of date. A query whose mart (or
//! table) is not in the warehouse yields `None`, which the dashboard shows as
//! a "no data" section instead of an empty chart.

use std::collections::BTreeMap;

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema};
use chrono::{Datelike, NaiveDate};

use crate::error::Result;
use crate::queries::{render, timestamp_literal};
use crate::rfm::Table;
use crate::session::Engine;

/// Each report query and the table it reads.
pub const REPORT_QUERIES: &[(&str, &str)] = &[
    ("report_headline", "transactions"),
    ("report_freshness", "load_history"),
    ("report_rf_grid", "rfm_customer"),
    ("report_segments", "rfm_segment"),
    ("report_migration", "rfm_migration"),
    ("report_clv_distribution", "clv_customer"),
    ("report_clv_budget", "clv_segment"),
    ("report_clv_holdout", "clv_validation"),
    ("report_funnel", "funnel_stage"),
    ("report_traffic_light", "traffic_light"),
    ("report_manager_trends", "manager_summary"),
    ("report_cohorts", "cohort_retention"),
];

/// How many monthly cohorts the retention heatmap shows.
pub const COHORT_MONTHS: u32 = 18;

/// First day of the month `months` before the month of `d`.
fn months_back(d: NaiveDate, months: u32) -> NaiveDate {
    let index = d.year() * 12 + d.month0() as i32 - months as i32;
    NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1)
        .expect("a valid first of month")
}

impl Engine {
    /// Runs every report query for `as_of`, keyed by query name.
    pub async fn report_inputs(
        &self,
        as_of: NaiveDate,
    ) -> Result<BTreeMap<&'static str, Option<Table>>> {
        let as_of_end = as_of.succ_opt().expect("a date before the end of time");
        let params = [
            ("as_of", as_of.to_string()),
            ("as_of_end", timestamp_literal(as_of_end)),
            ("since", months_back(as_of, COHORT_MONTHS - 1).to_string()),
        ];
        let mut out = BTreeMap::new();
        for (name, needs) in REPORT_QUERIES {
            let table = if self.has_table(needs) {
                let sql = render(name, &params)?;
                Some(self.collect_sql(&sql).await?)
            } else {
                None
            };
            out.insert(*name, table);
        }
        Ok(out)
    }

    /// The segments that `rfm_customer` holds for `as_of`, sorted.
    pub async fn rfm_segments(&self, as_of: NaiveDate) -> Result<Vec<String>> {
        if !self.has_table("rfm_customer") {
            return Ok(Vec::new());
        }
        let t = self
            .collect_sql(&format!(
                "SELECT DISTINCT segment FROM rfm_customer WHERE as_of = DATE '{as_of}' ORDER BY 1"
            ))
            .await?;
        let mut out = Vec::new();
        for b in &t.batches {
            let col = arrow::compute::cast(b.column(0), &DataType::Utf8)?;
            let col = col
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .expect("cast to Utf8");
            out.extend(col.iter().flatten().map(str::to_string));
        }
        Ok(out)
    }

    /// The mailing list of `segments` as of `as_of` (`queries/export_segment.sql`),
    /// every customer of them with a `left_out` reason or NULL. The segment
    /// names must come from [`Engine::rfm_segments`]: they are bound into SQL.
    pub async fn segment_list(&self, as_of: NaiveDate, segments: &[String]) -> Result<Table> {
        let known = self.rfm_segments(as_of).await?;
        if let Some(bad) = segments.iter().find(|s| !known.contains(s)) {
            return Err(crate::Error::Invalid(format!(
                "segment '{bad}' has no customers as of {as_of}; known: {}",
                known.join(", ")
            )));
        }
        // A warehouse without customers or CLV still exports: every row is
        // then left out as no_customer_record, and CLV columns are empty.
        let stand_ins: [(&str, &[(&str, DataType)]); 2] = [
            (
                "customers",
                &[
                    ("customer_id", DataType::Utf8),
                    ("full_name", DataType::Utf8),
                    ("email", DataType::Utf8),
                    ("email_valid", DataType::Boolean),
                    ("phone", DataType::Utf8),
                    ("phone_valid", DataType::Boolean),
                    ("city", DataType::Utf8),
                    ("marketing_consent", DataType::Boolean),
                ],
            ),
            (
                "clv_customer",
                &[
                    ("customer_id", DataType::Utf8),
                    ("as_of", DataType::Date32),
                    ("clv", DataType::Float64),
                    ("p_alive", DataType::Float64),
                    ("expected_purchases", DataType::Float64),
                ],
            ),
        ];
        for (name, cols) in stand_ins {
            if !self.has_table(name) {
                let schema = Arc::new(Schema::new(
                    cols.iter()
                        .map(|(c, t)| Field::new(*c, t.clone(), true))
                        .collect::<Vec<_>>(),
                ));
                self.register_rows(
                    name,
                    &Table {
                        batches: vec![RecordBatch::new_empty(schema.clone())],
                        schema,
                    },
                )
                .await?;
            }
        }
        let quoted: Vec<String> = segments
            .iter()
            .map(|s| format!("'{}'", s.replace('\'', "''")))
            .collect();
        let sql = render(
            "export_segment",
            &[
                ("as_of", as_of.to_string()),
                ("segments", quoted.join(", ")),
            ],
        )?;
        self.collect_sql(&sql).await
    }

    /// The `cohort_retention` mart as of `as_of`.
    ///
    /// The months each customer bought in are materialised first: the
    /// query reads them twice, and DataFusion would scan and group every
    /// transaction for each (at 10M transactions the nightly's
    /// cohort_retention took 0.74 s instead of 1.47 s).
    pub async fn cohort_retention(&self, as_of: NaiveDate) -> Result<Table> {
        let as_of_end = as_of.succ_opt().expect("a date before the end of time");
        let params = [
            ("as_of", as_of.to_string()),
            ("as_of_end", timestamp_literal(as_of_end)),
        ];
        self.materialize(
            "cohort_purchase_months",
            &render("cohort_purchase_months", &params)?,
        )
        .await?;
        let cohorts = self
            .collect_sql(&render("cohort_retention", &params)?)
            .await;
        self.forget_rows("cohort_purchase_months")?;
        cohorts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cohorts_start_whole_months_back() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(months_back(d(2026, 11, 21), 17), d(2025, 6, 1));
        assert_eq!(months_back(d(2026, 1, 31), 0), d(2026, 1, 1));
        assert_eq!(months_back(d(2026, 1, 31), 1), d(2025, 12, 1));
        assert_eq!(months_back(d(2026, 3, 1), 26), d(2024, 1, 1));
    }
}
