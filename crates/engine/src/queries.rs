//! The business SQL of `queries/`, compiled into the binary so that a
//! release build needs no files beside it. Each entry is (name, SQL); a test
//! checks that [`ALL`] lists every file in `queries/`.
//!
//! Queries take parameters as `{name}` placeholders, bound by [`render`] to
//! values the engine produced itself (dates, integers): never user text.

use crate::error::{Error, Result};

macro_rules! queries {
    ($($name:literal),* $(,)?) => {
        /// Every query file, by name (the file name without `.sql`).
        pub const ALL: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../../../queries/", $name, ".sql")))),*
        ];
    };
}

queries!(
    "rfm_base",
    "rfm_base_by_segment",
    "rfm_score_edge",
    "rfm_score_edges",
    "rfm_scores_quantile",
    "rfm_scores_quantile_by_group",
    "rfm_scores_quantile_bounded",
    "rfm_scores_thresholds",
    "rfm_segmented",
    "rfm_customer",
    "rfm_segment",
    "rfm_birthdays",
    "rfm_migration",
    "clv_calibration",
    "clv_summary",
    "clv_tracking",
    "clv_customer",
    "clv_segment",
    "funnel_entries",
    "funnel_entries_unstaged",
    "funnel_entry_stats",
    "funnel_interest",
    "funnel_reach",
    "funnel_selected",
    "funnel_stage",
    "funnel_drill",
    "funnel_issues",
    "traffic_light",
    "traffic_light_colours",
    "manager_metrics",
    "manager_summary",
    "cohort_purchase_months",
    "cohort_retention",
    "report_headline",
    "report_freshness",
    "report_rf_grid",
    "report_segments",
    "report_migration",
    "report_clv_distribution",
    "report_clv_budget",
    "report_clv_holdout",
    "report_funnel",
    "report_traffic_light",
    "report_manager_trends",
    "report_cohorts",
    "export_segment",
);

/// Midnight of day `d` as a SQL timestamp literal, the one spelling every
/// query binds for day boundaries.
pub(crate) fn timestamp_literal(d: chrono::NaiveDate) -> String {
    format!("TIMESTAMP '{} 00:00:00'", d.format("%Y-%m-%d"))
}

/// An SQL array literal of `values`' non-null values, each of its own type
/// (`make_array()` when there are none): values the engine computed, such
/// as the RFM score edges, bound into a query.
pub(crate) fn array_literal(values: &dyn arrow::array::Array) -> Result<String> {
    use datafusion::common::ScalarValue;
    let mut items = Vec::new();
    for i in 0..values.len() {
        let item = match ScalarValue::try_from_array(values, i)? {
            v if v.is_null() => continue,
            ScalarValue::Int64(Some(v)) => format!("CAST({v} AS BIGINT)"),
            ScalarValue::Int32(Some(v)) => format!("CAST({v} AS INT)"),
            // Rust prints the shortest text that reads back as the same f64.
            ScalarValue::Float64(Some(v)) if v.is_finite() => format!("CAST({v:?} AS DOUBLE)"),
            v @ ScalarValue::Decimal128(Some(_), p, s) => {
                format!("CAST('{v}' AS DECIMAL({p}, {s}))")
            }
            v @ ScalarValue::Date32(Some(_)) => format!("DATE '{v}'"),
            other => {
                return Err(Error::Invalid(format!(
                    "cannot bind a value of type {} into a query",
                    other.data_type()
                )));
            }
        };
        items.push(item);
    }
    Ok(format!("make_array({})", items.join(", ")))
}

/// `text` as an SQL string literal, for text from the configuration (such as
/// segment labels) bound into a query. Braces, which [`render`] would read as
/// placeholders, are spelled `chr(123)` and `chr(125)`.
pub(crate) fn string_literal(text: &str) -> String {
    let quoted = format!("'{}'", text.replace('\'', "''"));
    if !quoted.contains(['{', '}']) {
        return quoted;
    }
    let joined = quoted
        .replace('{', "', chr(123), '")
        .replace('}', "', chr(125), '");
    format!("concat({joined})")
}

/// The first line of a rendered query, before its name.
const QUERY_TAG: &str = "-- query: ";

/// The name of a query [`render`] produced; `sql` for any other text.
pub(crate) fn query_name(sql: &str) -> &str {
    sql.strip_prefix(QUERY_TAG)
        .and_then(|rest| rest.lines().next())
        .unwrap_or("sql")
}

/// The SQL of query `name`.
pub fn get(name: &str) -> Result<&'static str> {
    ALL.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, q)| *q)
        .ok_or_else(|| Error::Invalid(format!("no query named {name} in queries/")))
}

/// Query `name` with its `{placeholders}` replaced; a placeholder left
/// unbound is an error, so a typo cannot reach DataFusion as SQL.
///
/// The text starts with the line `-- query: <name>`, which names the query in
/// the engine's log (`crm -vv`).
pub fn render(name: &str, params: &[(&str, String)]) -> Result<String> {
    let mut sql = format!("{QUERY_TAG}{name}\n{}", get(name)?);
    for (k, v) in params {
        sql = sql.replace(&format!("{{{k}}}"), v);
    }
    if let Some(start) = sql.find('{') {
        let end = sql[start..].find('}').map_or(sql.len(), |e| start + e + 1);
        return Err(Error::Invalid(format!(
            "query {name}: parameter {} is not bound",
            &sql[start..end]
        )));
    }
    Ok(sql)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use std::sync::Arc;

    #[test]
    fn rendered_queries_carry_their_name() {
        let params = [
            ("as_of", "2025-12-31".to_string()),
            (
                "as_of_end",
                timestamp_literal(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
            ),
        ];
        let sql = render("cohort_retention", &params).unwrap();
        assert_eq!(query_name(&sql), "cohort_retention");
        assert_eq!(query_name("SELECT 1"), "sql");
    }

    #[tokio::test]
    async fn array_literals_read_back_as_the_same_values() {
        use arrow::array::{ArrayRef, Date32Array, Decimal128Array, Float64Array, Int64Array};
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![Some(-5), None, Some(9_000_000_000)])),
            Arc::new(
                Decimal128Array::from(vec![-12_345, 1, 99_999_999_999_999_999_999_999_999])
                    .with_precision_and_scale(28, 2)
                    .unwrap(),
            ),
            Arc::new(Float64Array::from(vec![0.1, -1e-300, 123456.789])),
            Arc::new(Date32Array::from(vec![0, 20_453])),
        ];
        let ctx = datafusion::prelude::SessionContext::new();
        for a in arrays {
            let sql = format!("SELECT unnest({}) AS v", array_literal(a.as_ref()).unwrap());
            let got = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
            let got = arrow::compute::concat_batches(&got[0].schema(), &got).unwrap();
            let want =
                arrow::compute::filter(&a, &arrow::compute::is_not_null(&a).unwrap()).unwrap();
            assert_eq!(got.column(0), &want, "{sql}");
        }
        assert_eq!(
            array_literal(&arrow::array::new_empty_array(
                &arrow::datatypes::DataType::Int64
            ))
            .unwrap(),
            "make_array()"
        );
    }

    #[tokio::test]
    async fn string_literals_read_back_as_the_same_text() {
        let ctx = datafusion::prelude::SessionContext::new();
        for text in [
            "",
            "champions",
            "Нельзя потерять",
            "it's",
            "{as_of}",
            "a}b{c''d",
        ] {
            let literal = string_literal(text);
            assert!(!literal.contains(['{', '}']), "{literal}");
            let got = ctx
                .sql(&format!("SELECT {literal} AS v"))
                .await
                .unwrap()
                .collect()
                .await
                .unwrap();
            let got = arrow::util::display::array_value_to_string(got[0].column(0), 0).unwrap();
            assert_eq!(got, text, "{literal}");
        }
    }

    #[test]
    fn every_query_file_is_registered() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../queries");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| {
                let p = e.unwrap().path();
                (p.extension()? == "sql")
                    .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
            })
            .collect();
        on_disk.sort();
        let mut known: Vec<String> = ALL.iter().map(|(n, _)| n.to_string()).collect();
        known.sort();
        assert_eq!(on_disk, known);
    }

    #[test]
    fn unbound_parameters_are_errors() {
        let err = render("rfm_base", &[("as_of", "2024-01-01".into())]).unwrap_err();
        assert!(
            err.to_string().contains("{as_of_end}") || err.to_string().contains("{window_filter}")
        );
    }
}
