//! crm's own SQL functions, registered in every session (and, on a cluster,
//! in the scheduler's and executors' registries, see `crm-cluster`).
//!
//! - `quantile_edges(value, levels)`: for the tie-stable quantile score of
//!   RFM, `1 + floor(levels * (RANK() - 1) / N)`, the lowest value that
//!   reaches each score (see [`quantile_edges`]); a value's score is one
//!   plus the number of edges at or below it, which `width_bucket` counts.
//!
//! - `min_by(value, key)`: the aggregate of the value on the row with the
//!   smallest key (see [`min_by`]).
//!
//! - `width_bucket(operand, thresholds)`: the bucket of a value among sorted
//!   lower bounds, as in PostgreSQL (see [`width_bucket`]).
//!
//! - `ts_date(ts)`: the day of a timestamp, as `CAST(ts AS DATE)` but by
//!   division (see [`ts_date`]).

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};

mod min_by;
mod quantile_edges;
mod ts_date;
mod width_bucket;

/// Registers every function below in a session's (or a scheduler's) registry.
pub fn register_all(registry: &mut dyn FunctionRegistry) -> Result<()> {
    for f in scalar_functions() {
        registry.register_udf(f)?;
    }
    for f in aggregate_functions() {
        registry.register_udaf(f)?;
    }
    Ok(())
}

/// The scalar functions crm's SQL uses.
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(width_bucket::WidthBucket::new())),
        Arc::new(ScalarUDF::from(ts_date::TsDate::new())),
    ]
}

/// The aggregate functions crm's SQL uses.
pub fn aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    vec![
        Arc::new(AggregateUDF::from(min_by::MinBy::new())),
        Arc::new(AggregateUDF::from(quantile_edges::QuantileEdges::new())),
    ]
}
