//! `width_bucket(operand, thresholds)`: the number of the bucket the operand
//! falls in, given a sorted array of the buckets' lower bounds, as in
//! PostgreSQL's array form: 0 below the first bound, `k` from the k-th bound
//! (inclusive) up to the next. A null operand or a null array gives null.
//!
//! RFM under a memory limit scores each customer by looking its value up in a
//! few bucket bounds per column (`queries/rfm_scores_quantile_bounded.sql`).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, ArrowPrimitiveType, AsArray, Int32Array, make_comparator};
use arrow::buffer::NullBuffer;
use arrow::compute::SortOptions;
use arrow::datatypes::ArrowNativeTypeOp;
use arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

/// The scalar function; see the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct WidthBucket {
    signature: Signature,
}

impl WidthBucket {
    pub(super) fn new() -> Self {
        WidthBucket {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for WidthBucket {
    fn name(&self) -> &str {
        "width_bucket"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            // An empty array literal (make_array()) has no type: no bounds.
            [operand, DataType::List(f) | DataType::LargeList(f)]
                if f.data_type() == operand || f.data_type().is_null() =>
            {
                Ok(DataType::Int32)
            }
            [operand, thresholds] => plan_err!(
                "width_bucket(operand, thresholds): thresholds must be an array of the operand's type {operand}, found {thresholds}"
            ),
            _ => plan_err!("width_bucket takes an operand and an array of thresholds"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [operand, thresholds] = args.args.as_slice() else {
            return exec_err!("width_bucket takes an operand and an array of thresholds");
        };
        let operand = operand.to_array(args.number_rows)?;
        let (bounds, values, nulls) = match thresholds {
            // The same bounds for every row (an array literal): not copied per row.
            ColumnarValue::Scalar(s) => {
                let one = s.to_array()?;
                let (offsets, values, nulls) = list_parts(&one)?;
                if nulls.is_some_and(|n| n.is_null(0)) {
                    return Ok(ColumnarValue::Array(arrow::array::new_null_array(
                        &DataType::Int32,
                        operand.len(),
                    )));
                }
                (Bounds::Same(offsets[0], offsets[1]), values, None)
            }
            ColumnarValue::Array(a) => {
                let (offsets, values, nulls) = list_parts(a)?;
                (Bounds::PerRow(offsets), values, nulls)
            }
        };
        // An untyped empty array literal (make_array()) holds no bounds: the
        // operand's type, empty, compares the same way.
        let values = if values.data_type().is_null() {
            arrow::array::new_empty_array(operand.data_type())
        } else {
            values
        };
        use arrow::datatypes as t;
        let (o, v, n) = (&operand, &values, nulls.as_ref());
        let out = match operand.data_type() {
            _ if values.null_count() > 0 || operand.data_type() != values.data_type() => {
                any_buckets(o, v, &bounds, n)?
            }
            DataType::Int64 => buckets::<t::Int64Type>(o, v, &bounds, n),
            DataType::Int32 => buckets::<t::Int32Type>(o, v, &bounds, n),
            DataType::Float64 => buckets::<t::Float64Type>(o, v, &bounds, n),
            DataType::Decimal128(_, _) => buckets::<t::Decimal128Type>(o, v, &bounds, n),
            DataType::Date32 => buckets::<t::Date32Type>(o, v, &bounds, n),
            _ => any_buckets(o, v, &bounds, n)?,
        };
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// Where each row's bounds lie in the thresholds' values.
enum Bounds {
    /// Row `i`'s from `offsets[i]` to `offsets[i + 1]`.
    PerRow(Vec<usize>),
    /// Every row's the same.
    Same(usize, usize),
}

impl Bounds {
    fn of(&self, i: usize) -> (usize, usize) {
        match self {
            Bounds::PerRow(o) => (o[i], o[i + 1]),
            Bounds::Same(start, end) => (*start, *end),
        }
    }
}

/// The offsets, values and nulls of a list array.
fn list_parts(thresholds: &ArrayRef) -> Result<(Vec<usize>, ArrayRef, Option<NullBuffer>)> {
    Ok(match thresholds.data_type() {
        DataType::List(_) => {
            let l = thresholds.as_list::<i32>();
            let o = l.value_offsets().iter().map(|&o| o as usize).collect();
            (o, Arc::clone(l.values()), l.logical_nulls())
        }
        DataType::LargeList(_) => {
            let l = thresholds.as_list::<i64>();
            let o = l.value_offsets().iter().map(|&o| o as usize).collect();
            (o, Arc::clone(l.values()), l.logical_nulls())
        }
        other => return exec_err!("width_bucket: thresholds must be an array, found {other}"),
    })
}

/// Per row, the number of the row's bounds (in `values`, where `rows`
/// says) at or below the operand: numbers, decimals and dates compared natively.
fn buckets<T: ArrowPrimitiveType>(
    operand: &ArrayRef,
    values: &ArrayRef,
    rows: &Bounds,
    nulls: Option<&NullBuffer>,
) -> Int32Array
where
    T::Native: ArrowNativeTypeOp,
{
    let operand = operand.as_primitive::<T>();
    let values = values.as_primitive::<T>().values();
    if let (Bounds::Same(start, end), None) = (rows, nulls) {
        // The same few bounds for every row (RFM's edges): count them
        // without branches, and keep the operand's nulls as they are. (At
        // 4.8M decimals: 121 -> 18 ms of CPU.)
        let row = &values[*start..*end];
        let counts: Vec<i32> = operand
            .values()
            .iter()
            .map(|x| row.iter().map(|b| i32::from(!x.is_lt(*b))).sum())
            .collect();
        return Int32Array::new(counts.into(), operand.nulls().cloned());
    }
    (0..operand.len())
        .map(|i| {
            if operand.is_null(i) || nulls.is_some_and(|n| n.is_null(i)) {
                return None;
            }
            let x = operand.value(i);
            let (start, end) = rows.of(i);
            let row = &values[start..end];
            Some(row.partition_point(|b| !x.is_lt(*b)) as i32)
        })
        .collect()
}

/// [`buckets`] for any type Arrow can compare.
fn any_buckets(
    operand: &ArrayRef,
    values: &ArrayRef,
    rows: &Bounds,
    nulls: Option<&NullBuffer>,
) -> Result<Int32Array> {
    let cmp = make_comparator(operand.as_ref(), values.as_ref(), SortOptions::default())?;
    Ok((0..operand.len())
        .map(|i| {
            if operand.is_null(i) || nulls.is_some_and(|n| n.is_null(i)) {
                return None;
            }
            let (start, end) = rows.of(i);
            // The first bound above the operand: bounds before it are <= it.
            let (mut lo, mut hi) = (start, end);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if cmp(i, mid).is_ge() {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            Some((lo - start) as i32)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Decimal128Array, Int64Array, ListArray};
    use arrow::datatypes::{Field, Int64Type};
    use datafusion::prelude::SessionContext;

    /// The buckets of `operand` with `thresholds` per row.
    fn buckets(operand: ArrayRef, thresholds: ListArray) -> Vec<Option<i32>> {
        invoke(operand, ColumnarValue::Array(Arc::new(thresholds)))
    }

    /// [`buckets`] with the same bounds for every row, as an array literal.
    fn buckets_same(operand: ArrayRef, bounds: ListArray) -> Vec<Option<i32>> {
        let bounds = datafusion::common::ScalarValue::List(Arc::new(bounds));
        invoke(operand, ColumnarValue::Scalar(bounds))
    }

    fn invoke(operand: ArrayRef, thresholds: ColumnarValue) -> Vec<Option<i32>> {
        let args = ScalarFunctionArgs {
            arg_fields: vec![
                Arc::new(Field::new("o", operand.data_type().clone(), true)),
                Arc::new(Field::new("t", thresholds.data_type(), true)),
            ],
            number_rows: operand.len(),
            args: vec![ColumnarValue::Array(operand), thresholds],
            return_field: Arc::new(Field::new("b", DataType::Int32, true)),
            config_options: Default::default(),
        };
        let out = WidthBucket::new()
            .invoke_with_args(args)
            .unwrap()
            .into_array(0)
            .unwrap();
        out.as_primitive::<arrow::datatypes::Int32Type>()
            .iter()
            .collect()
    }

    #[test]
    fn the_same_bounds_for_every_row_count_like_bounds_per_row() {
        // Decimals with ties among the bounds (edges repeat when many
        // customers share a value), and nulls.
        let bounds = [-250i128, 0, 0, 199];
        let operand: Vec<Option<i128>> = (-300..300)
            .map(|v| if v % 97 == 0 { None } else { Some(v) })
            .collect();
        let decimal = |v: Vec<Option<i128>>| {
            Decimal128Array::from(v)
                .with_precision_and_scale(38, 2)
                .unwrap()
        };
        let per_row = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Decimal128(38, 2), true)),
            arrow::buffer::OffsetBuffer::from_lengths(vec![bounds.len(); operand.len()]),
            Arc::new(decimal(
                operand.iter().flat_map(|_| bounds.map(Some)).collect(),
            )),
            None,
        );
        let same = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Decimal128(38, 2), true)),
            arrow::buffer::OffsetBuffer::from_lengths([bounds.len()]),
            Arc::new(decimal(bounds.map(Some).to_vec())),
            None,
        );
        let o: ArrayRef = Arc::new(decimal(operand.clone()));
        let got = buckets_same(Arc::clone(&o), same);
        assert_eq!(got, buckets(o, per_row));
        // By hand (row i holds i - 300 cents; multiples of 97 are null).
        assert_eq!(got[0], Some(0)); // -3.00
        assert_eq!(got[9], None); // -2.91
        assert_eq!(got[50], Some(1)); // -2.50: a bound counts when equal
        assert_eq!(got[301], Some(3)); // 0.01: -2.50 and 0.00 twice
        assert_eq!(got[498], Some(3)); // 1.98
        assert_eq!(got[499], Some(4)); // 1.99
        assert_eq!(got.iter().filter(|b| b.is_none()).count(), 7);
    }

    #[test]
    fn counts_the_bounds_at_or_below_the_operand() {
        let bounds = || Some(vec![Some(10), Some(20), Some(30)]);
        let t = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            bounds(),
            bounds(),
            bounds(),
            bounds(),
            bounds(),
            None,
        ]);
        let o = Int64Array::from(vec![Some(5), Some(10), Some(25), Some(30), None, Some(1)]);
        assert_eq!(
            buckets(Arc::new(o), t),
            vec![Some(0), Some(1), Some(2), Some(3), None, None]
        );
    }

    #[test]
    fn each_row_has_its_own_bounds_and_decimals_compare_by_value() {
        let t = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1)]),
            Some(vec![]),
        ]);
        assert_eq!(
            buckets(Arc::new(Int64Array::from(vec![0, 7])), t),
            vec![Some(0), Some(0)]
        );
        let values = Decimal128Array::from(vec![-250, 0, 199, -250, 0, 199])
            .with_precision_and_scale(38, 2)
            .unwrap();
        let t = ListArray::new(
            Arc::new(Field::new_list_field(values.data_type().clone(), true)),
            arrow::buffer::OffsetBuffer::from_lengths([3, 3]),
            Arc::new(values.clone()),
            None,
        );
        let o = Decimal128Array::from(vec![-100, 200])
            .with_precision_and_scale(38, 2)
            .unwrap();
        assert_eq!(buckets(Arc::new(o), t), vec![Some(1), Some(3)]);
    }

    #[tokio::test]
    async fn works_in_sql_and_rejects_mismatched_types() {
        let ctx = SessionContext::new();
        ctx.register_udf(datafusion::logical_expr::ScalarUDF::from(WidthBucket::new()));
        let buckets = async |sql: &str| -> Vec<Option<i32>> {
            let t = ctx.sql(sql).await.unwrap().collect().await.unwrap();
            t[0].column(0)
                .as_primitive::<arrow::datatypes::Int32Type>()
                .iter()
                .collect()
        };
        assert_eq!(
            buckets("SELECT width_bucket(v, [2, 4]) AS b FROM (VALUES (1), (2), (5)) AS t(v)")
                .await,
            vec![Some(0), Some(1), Some(2)]
        );
        // No bounds at all (an empty array literal): bucket 0, null stays null.
        assert_eq!(
            buckets("SELECT width_bucket(v, make_array()) AS b FROM (VALUES (1), (NULL)) AS t(v)")
                .await,
            vec![Some(0), None]
        );
        let err = ctx
            .sql("SELECT width_bucket('a', [2, 4])")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("array of the operand's type"), "{err}");
    }
}
