//! crm's own SQL functions, registered in every session (and, on a cluster,
//! in the scheduler's and executors' registries, see `crm-cluster`).
//!
//! - `tie_quantile(value, levels) OVER (...)`: the tie-stable quantile score
//!   of RFM, `1 + floor(levels * (RANK() - 1) / N)` over the window's
//!   partition, where `RANK() - 1` is the number of rows with a strictly
//!   smaller value. Equal values always get equal scores. Null values get a
//!   null score and do not count in N.
//!
//! - `min_by(value, key)`: the aggregate of the value on the row with the
//!   smallest key (see [`min_by`]).
//!
//! - `width_bucket(operand, thresholds)`: the bucket of a value among sorted
//!   lower bounds, as in PostgreSQL (see [`width_bucket`]).
//!
//! The window function computes the score from one sort of the partition's
//! values (in parallel for numbers, decimals and dates; Arrow's `rank` for
//! the rest), where SQL would need a `RANK()` window (a sort of every row
//! with its columns) or a join back to counts per distinct value.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int32Array};
use arrow::compute::SortOptions;
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    AggregateUDF, LimitEffect, PartitionEvaluator, ScalarUDF, Signature, Volatility, WindowUDF,
    WindowUDFImpl,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::expressions::Literal;

mod min_by;
mod width_bucket;

/// Registers every function below in a session's (or a scheduler's) registry.
pub fn register_all(registry: &mut dyn FunctionRegistry) -> Result<()> {
    for f in scalar_functions() {
        registry.register_udf(f)?;
    }
    for f in aggregate_functions() {
        registry.register_udaf(f)?;
    }
    for f in window_functions() {
        registry.register_udwf(f)?;
    }
    Ok(())
}

/// The scalar functions crm's SQL uses.
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    vec![Arc::new(ScalarUDF::from(width_bucket::WidthBucket::new()))]
}

/// The window functions crm's SQL uses.
pub fn window_functions() -> Vec<Arc<WindowUDF>> {
    vec![Arc::new(WindowUDF::from(TieQuantile::new()))]
}

/// The aggregate functions crm's SQL uses.
pub fn aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    vec![Arc::new(AggregateUDF::from(min_by::MinBy::new()))]
}

/// `tie_quantile(value, levels)`: see the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
struct TieQuantile {
    signature: Signature,
}

impl TieQuantile {
    fn new() -> Self {
        // Any value Arrow can rank (numbers, decimals, dates, strings); the
        // number of levels is an integer literal.
        TieQuantile {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl WindowUDFImpl for TieQuantile {
    fn name(&self) -> &str {
        "tie_quantile"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn partition_evaluator(
        &self,
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        let levels = match args
            .input_exprs()
            .get(1)
            .and_then(|e| e.downcast_ref::<Literal>().map(|l| l.value().clone()))
        {
            Some(v) => levels_of(&v)?,
            None => {
                return exec_err!("tie_quantile(value, levels): levels must be an integer literal");
            }
        };
        Ok(Box::new(TieQuantileEvaluator { levels }))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Int32,
            true,
        )))
    }

    fn limit_effect(&self, _args: &[Arc<dyn PhysicalExpr>]) -> LimitEffect {
        LimitEffect::Unknown
    }
}

fn levels_of(v: &ScalarValue) -> Result<i64> {
    let n = match v {
        ScalarValue::Int64(Some(n)) => *n,
        ScalarValue::Int32(Some(n)) => i64::from(*n),
        ScalarValue::UInt64(Some(n)) => i64::try_from(*n).unwrap_or(0),
        ScalarValue::UInt32(Some(n)) => i64::from(*n),
        other => {
            return exec_err!("tie_quantile: levels must be a positive integer, found {other}");
        }
    };
    if n < 1 {
        return exec_err!("tie_quantile: levels must be a positive integer, found {n}");
    }
    Ok(n)
}

#[derive(Debug)]
struct TieQuantileEvaluator {
    levels: i64,
}

impl PartitionEvaluator for TieQuantileEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let Some(values) = values.first() else {
            return exec_err!("tie_quantile needs a value");
        };
        if values.len() != num_rows {
            return exec_err!("tie_quantile: {} values for {num_rows} rows", values.len());
        }
        Ok(Arc::new(tie_quantile(values, self.levels)?))
    }
}

/// The scores of one partition's values.
fn tie_quantile(values: &ArrayRef, levels: i64) -> Result<Int32Array> {
    use arrow::datatypes as t;
    let before = match values.data_type() {
        DataType::Int64 => values_before::<t::Int64Type>(values),
        DataType::Int32 => values_before::<t::Int32Type>(values),
        DataType::Float64 => values_before::<t::Float64Type>(values),
        DataType::Decimal128(_, _) => values_before::<t::Decimal128Type>(values),
        DataType::Date32 => values_before::<t::Date32Type>(values),
        _ => ranked_before(values)?,
    };
    let n = (values.len() - values.null_count()) as i64;
    // before < n, so the score is at most levels.
    Ok(before
        .into_iter()
        .map(|b| b.map(|b| (1 + levels * b as i64 / n) as i32))
        .collect())
}

/// Per row, the number of values strictly smaller (None for a null):
/// the values with their row numbers, sorted in parallel, then one pass
/// that gives equal values the position of the first of them. The three
/// RFM scores of 4.8M customers sort 4.8M values each.
fn values_before<T: arrow::datatypes::ArrowPrimitiveType>(values: &ArrayRef) -> Vec<Option<u32>>
where
    T::Native: arrow::datatypes::ArrowNativeTypeOp,
{
    use arrow::array::AsArray;
    use arrow::datatypes::ArrowNativeTypeOp;
    use rayon::prelude::*;
    let array = values.as_primitive::<T>();
    let mut sorted: Vec<(T::Native, u32)> = array
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (v, i as u32)))
        .collect();
    sorted.par_sort_unstable_by(|a, b| a.0.compare(b.0));
    let mut before = vec![None; array.len()];
    let mut first = 0;
    for (at, &(v, row)) in sorted.iter().enumerate() {
        if at > 0 && !v.is_eq(sorted[at - 1].0) {
            first = at;
        }
        before[row as usize] = Some(first as u32);
    }
    before
}

/// [`values_before`] for any type Arrow can rank (strings, timestamps, ...).
fn ranked_before(values: &ArrayRef) -> Result<Vec<Option<u32>>> {
    let values = if matches!(values.data_type(), DataType::Utf8View) {
        arrow::compute::cast(values, &DataType::Utf8)?
    } else {
        Arc::clone(values)
    };
    let valid = (values.len() - values.null_count()) as u32;
    // Ranked descending, a value's rank is the number of values >= it (ties
    // take the highest rank), so N - rank is the number strictly smaller.
    let desc = arrow::compute::rank(
        values.as_ref(),
        Some(SortOptions {
            descending: true,
            nulls_first: false,
        }),
    )?;
    Ok(desc
        .iter()
        .enumerate()
        .map(|(i, &rank)| values.is_valid(i).then(|| valid - rank))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Decimal128Array, Int64Array, StringArray};

    fn scores(a: impl Array + 'static, levels: i64) -> Vec<Option<i32>> {
        tie_quantile(&(Arc::new(a) as ArrayRef), levels)
            .unwrap()
            .iter()
            .collect()
    }

    #[test]
    fn ties_share_a_score_and_edges_are_integer() {
        // N = 10, levels 5: before counts 0,0,2,3,3,3,6,7,8,9.
        let a = Int64Array::from(vec![1, 1, 2, 3, 3, 3, 4, 5, 6, 7]);
        assert_eq!(
            scores(a, 5),
            [1, 1, 2, 2, 2, 2, 4, 4, 5, 5].map(Some).to_vec()
        );
    }

    #[test]
    fn order_of_rows_does_not_matter_and_decimals_rank_by_value() {
        let a = Decimal128Array::from(vec![500, -100, 500, 0])
            .with_precision_and_scale(18, 2)
            .unwrap();
        // Sorted: -1.00, 0.00, 5.00, 5.00; before = 2, 0, 2, 1 of N = 4.
        assert_eq!(scores(a, 4), [3, 1, 3, 2].map(Some).to_vec());
    }

    #[test]
    fn nulls_get_no_score_and_do_not_count() {
        let a = Int64Array::from(vec![Some(3), None, Some(1)]);
        assert_eq!(scores(a, 2), vec![Some(2), None, Some(1)]);
    }

    #[test]
    fn one_value_scores_one() {
        assert_eq!(scores(StringArray::from(vec!["x"]), 5), vec![Some(1)]);
    }

    #[test]
    fn the_sorted_pass_and_arrow_rank_count_the_same_smaller_values() {
        // Many ties and some nulls, in a scrambled order.
        let ints: Vec<Option<i64>> = (0..5000u64)
            .map(|i| (i % 17 != 3).then(|| ((i * 7919) % 263) as i64 - 100))
            .collect();
        let a: ArrayRef = Arc::new(Int64Array::from(ints));
        assert_eq!(
            values_before::<arrow::datatypes::Int64Type>(&a),
            ranked_before(&a).unwrap()
        );
        let d: ArrayRef = Arc::new(
            Decimal128Array::from(
                (0..3000i128)
                    .map(|i| (i % 11 != 0).then_some((i * 104_729) % 997 - 400))
                    .collect::<Vec<_>>(),
            )
            .with_precision_and_scale(18, 2)
            .unwrap(),
        );
        assert_eq!(
            values_before::<arrow::datatypes::Decimal128Type>(&d),
            ranked_before(&d).unwrap()
        );
        let f: ArrayRef = Arc::new(arrow::array::Float64Array::from(
            (0..2000)
                .map(|i| f64::from(i % 37) * -0.5)
                .collect::<Vec<_>>(),
        ));
        assert_eq!(
            values_before::<arrow::datatypes::Float64Type>(&f),
            ranked_before(&f).unwrap()
        );
    }
}
