//! `min_by(value, key)`: the value on the row with the smallest key, as in
//! DuckDB and Spark. Rows with a null key take no part; when several rows
//! share the smallest key, the smallest value wins (a value before a null),
//! so the answer never depends on the order rows arrive in. Null when no row
//! has a key.
//!
//! The CLV summary needs each customer's first purchase day's spend. DataFusion's
//! `FIRST_VALUE(spend ORDER BY d)` keeps ordering state per group and took
//! most of the summary's time at 10M customers; this keeps one key and one
//! value per group.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, BooleanArray, Int64Array, PrimitiveArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{
    ArrowNativeTypeOp, DataType, Decimal128Type, Field, FieldRef, Float64Type, Int32Type, Int64Type,
};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};

/// The aggregate function; see the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct MinBy {
    signature: Signature,
}

impl MinBy {
    pub(super) fn new() -> Self {
        MinBy {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

/// Value types `min_by` returns: numbers and decimals.
fn supported_value(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Decimal128(_, _) | DataType::Float64 | DataType::Int64 | DataType::Int32
    )
}

/// Key types: anything that orders as its Int64 cast (integers, dates, times).
fn supported_key(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Date32
            | DataType::Date64
            | DataType::Timestamp(_, _)
    )
}

impl AggregateUDFImpl for MinBy {
    fn name(&self) -> &str {
        "min_by"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [value, key] if supported_value(value) && supported_key(key) => Ok(value.clone()),
            [value, key] => plan_err!(
                "min_by(value, key): value must be a number or decimal and key an integer, date or timestamp; found {value} and {key}"
            ),
            _ => plan_err!("min_by takes two arguments: min_by(value, key)"),
        }
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format!("{}[value]", args.name),
                args.return_field.data_type().clone(),
                true,
            )),
            Arc::new(Field::new(
                format!("{}[key]", args.name),
                DataType::Int64,
                true,
            )),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(MinByRow {
            data_type: args.return_field.data_type().clone(),
            best: None,
        }))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let t = args.return_field.data_type().clone();
        Ok(match t {
            DataType::Decimal128(_, _) => Box::new(MinByGroups::<Decimal128Type>::new(t)),
            DataType::Float64 => Box::new(MinByGroups::<Float64Type>::new(t)),
            DataType::Int64 => Box::new(MinByGroups::<Int64Type>::new(t)),
            DataType::Int32 => Box::new(MinByGroups::<Int32Type>::new(t)),
            other => return exec_err!("min_by: unsupported value type {other}"),
        })
    }
}

fn keys_of(a: &ArrayRef) -> Result<Int64Array> {
    Ok(arrow::compute::cast(a, &DataType::Int64)?
        .as_primitive::<Int64Type>()
        .clone())
}

fn two<'a>(values: &'a [ArrayRef], what: &str) -> Result<(&'a ArrayRef, &'a ArrayRef)> {
    match values {
        [v, k] => Ok((v, k)),
        _ => exec_err!(
            "min_by: {what} needs a value and a key, found {} arrays",
            values.len()
        ),
    }
}

/// True when `(key, value)` beats the current best `(best_key, best_value)`.
fn better<N: ArrowNativeTypeOp>(
    key: i64,
    value: Option<N>,
    best_key: i64,
    best: Option<N>,
) -> bool {
    key < best_key
        || key == best_key
            && match (value, best) {
                (Some(v), Some(b)) => v.is_lt(b),
                (Some(_), None) => true,
                _ => false,
            }
}

/// One key and one value per group.
#[derive(Debug)]
struct MinByGroups<T: ArrowPrimitiveType> {
    data_type: DataType,
    keys: Vec<i64>,
    values: Vec<T::Native>,
    /// The group's best row has a non-null value.
    valued: Vec<bool>,
    /// The group has a row with a key.
    seen: Vec<bool>,
}

impl<T: ArrowPrimitiveType> MinByGroups<T> {
    fn new(data_type: DataType) -> Self {
        MinByGroups {
            data_type,
            keys: Vec::new(),
            values: Vec::new(),
            valued: Vec::new(),
            seen: Vec::new(),
        }
    }

    fn resize(&mut self, groups: usize) {
        self.keys.resize(groups, 0);
        self.values.resize(groups, T::Native::default());
        self.valued.resize(groups, false);
        self.seen.resize(groups, false);
    }

    fn fold(
        &mut self,
        values: &ArrayRef,
        keys: &Int64Array,
        group_indices: &[usize],
        filter: Option<&BooleanArray>,
    ) {
        let values = values.as_primitive::<T>();
        for (row, &g) in group_indices.iter().enumerate() {
            if keys.is_null(row) || filter.is_some_and(|f| !f.is_valid(row) || !f.value(row)) {
                continue;
            }
            let key = keys.value(row);
            let value = values.is_valid(row).then(|| values.value(row));
            let best = self.valued[g].then(|| self.values[g]);
            if !self.seen[g] || better(key, value, self.keys[g], best) {
                self.seen[g] = true;
                self.keys[g] = key;
                self.valued[g] = value.is_some();
                self.values[g] = value.unwrap_or_default();
            }
        }
    }

    fn take(&mut self, emit_to: EmitTo) -> (PrimitiveArray<T>, Vec<i64>, Vec<bool>) {
        let values = emit_to.take_needed(&mut self.values);
        let valued = emit_to.take_needed(&mut self.valued);
        let keys = emit_to.take_needed(&mut self.keys);
        let seen = emit_to.take_needed(&mut self.seen);
        let nulls = NullBuffer::from(
            valued
                .iter()
                .zip(&seen)
                .map(|(v, s)| *v && *s)
                .collect::<Vec<_>>(),
        );
        let array = PrimitiveArray::<T>::new(values.into(), Some(nulls))
            .with_data_type(self.data_type.clone());
        (array, keys, seen)
    }
}

impl<T: ArrowPrimitiveType> GroupsAccumulator for MinByGroups<T> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let (v, k) = two(values, "update")?;
        self.resize(total_num_groups);
        self.fold(v, &keys_of(k)?, group_indices, opt_filter);
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        Ok(Arc::new(self.take(emit_to).0))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let (values, keys, seen) = self.take(emit_to);
        let keys = Int64Array::new(keys.into(), Some(NullBuffer::from(seen)));
        Ok(vec![Arc::new(values), Arc::new(keys)])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        let (v, k) = two(values, "merge")?;
        self.resize(total_num_groups);
        self.fold(v, k.as_primitive::<Int64Type>(), group_indices, None);
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let (v, k) = two(values, "convert")?;
        let keys = keys_of(k)?;
        // A filtered-out row becomes a row without a key, which never wins.
        let keys = match opt_filter {
            None => keys,
            Some(f) => {
                let keep = NullBuffer::from(
                    (0..f.len())
                        .map(|i| f.is_valid(i) && f.value(i))
                        .collect::<Vec<_>>(),
                );
                let nulls = NullBuffer::union(keys.nulls(), Some(&keep));
                Int64Array::new(keys.values().clone(), nulls)
            }
        };
        Ok(vec![Arc::clone(v), Arc::new(keys)])
    }

    fn size(&self) -> usize {
        self.keys.capacity() * size_of::<i64>()
            + self.values.capacity() * size_of::<T::Native>()
            + self.valued.capacity()
            + self.seen.capacity()
    }
}

/// The accumulator for an aggregate without groups.
#[derive(Debug)]
struct MinByRow {
    data_type: DataType,
    /// The best key and its value.
    best: Option<(i64, ScalarValue)>,
}

impl MinByRow {
    fn fold(&mut self, values: &ArrayRef, keys: &Int64Array) -> Result<()> {
        for row in 0..keys.len() {
            if keys.is_null(row) {
                continue;
            }
            let key = keys.value(row);
            let value = ScalarValue::try_from_array(values, row)?;
            let wins = match &self.best {
                None => true,
                Some((k, v)) => {
                    key < *k
                        || key == *k
                            && !value.is_null()
                            && (v.is_null() || value.partial_cmp(v).is_some_and(|o| o.is_lt()))
                }
            };
            if wins {
                self.best = Some((key, value));
            }
        }
        Ok(())
    }
}

impl Accumulator for MinByRow {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let (v, k) = two(values, "update")?;
        self.fold(v, &keys_of(k)?)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (v, k) = two(states, "merge")?;
        self.fold(v, k.as_primitive::<Int64Type>())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(match &self.best {
            Some((k, v)) => vec![v.clone(), ScalarValue::Int64(Some(*k))],
            None => vec![
                ScalarValue::try_from(&self.data_type)?,
                ScalarValue::Int64(None),
            ],
        })
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        match &self.best {
            Some((_, v)) => Ok(v.clone()),
            None => ScalarValue::try_from(&self.data_type),
        }
    }

    fn size(&self) -> usize {
        size_of_val(self)
            + self
                .best
                .as_ref()
                .map_or(0, |(_, v)| v.size() - size_of_val(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Date32Array, Decimal128Array};

    fn groups(
        values: ArrayRef,
        keys: ArrayRef,
        group_indices: &[usize],
        n: usize,
    ) -> MinByGroups<Decimal128Type> {
        let mut acc = MinByGroups::<Decimal128Type>::new(DataType::Decimal128(28, 2));
        acc.update_batch(&[values, keys], group_indices, None, n)
            .unwrap();
        acc
    }

    fn dec(v: Vec<Option<i128>>) -> ArrayRef {
        Arc::new(
            Decimal128Array::from(v)
                .with_precision_and_scale(28, 2)
                .unwrap(),
        )
    }

    fn days(v: Vec<Option<i32>>) -> ArrayRef {
        Arc::new(Date32Array::from(v))
    }

    fn out(a: &ArrayRef) -> Vec<Option<i128>> {
        a.as_primitive::<Decimal128Type>().iter().collect()
    }

    #[test]
    fn value_at_the_smallest_key_per_group() {
        // Group 0: days 20, 10, 30 -> the value on day 10. Group 1: one row.
        // Group 2: only a null key -> null.
        let mut acc = groups(
            dec(vec![Some(100), Some(250), Some(999), Some(7), Some(5)]),
            days(vec![Some(20), Some(10), Some(30), Some(3), None]),
            &[0, 0, 0, 1, 2],
            3,
        );
        let r = acc.evaluate(EmitTo::All).unwrap();
        assert_eq!(out(&r), vec![Some(250), Some(7), None]);
        assert_eq!(r.data_type(), &DataType::Decimal128(28, 2));
    }

    #[test]
    fn ties_take_the_smallest_value_whatever_the_order() {
        for (vals, order) in [
            (vec![Some(300), None, Some(200)], [0usize, 0, 0]),
            (vec![None, Some(200), Some(300)], [0, 0, 0]),
        ] {
            let mut acc = groups(dec(vals), days(vec![Some(1), Some(1), Some(1)]), &order, 1);
            assert_eq!(out(&acc.evaluate(EmitTo::All).unwrap()), vec![Some(200)]);
        }
    }

    #[test]
    fn partial_states_merge_to_the_same_answer() {
        // Two partial accumulators over halves of group 0's rows, merged.
        let mut a = groups(
            dec(vec![Some(1), Some(2)]),
            days(vec![Some(5), Some(4)]),
            &[0, 0],
            1,
        );
        let mut b = groups(dec(vec![Some(3)]), days(vec![Some(2)]), &[0], 1);
        let mut merged = MinByGroups::<Decimal128Type>::new(DataType::Decimal128(28, 2));
        for s in [a.state(EmitTo::All).unwrap(), b.state(EmitTo::All).unwrap()] {
            merged.merge_batch(&s, &[0], 1).unwrap();
        }
        assert_eq!(out(&merged.evaluate(EmitTo::All).unwrap()), vec![Some(3)]);
    }

    #[test]
    fn filtered_rows_and_converted_states_take_no_part() {
        let acc = MinByGroups::<Decimal128Type>::new(DataType::Decimal128(28, 2));
        let filter = BooleanArray::from(vec![true, false]);
        let state = acc
            .convert_to_state(
                &[dec(vec![Some(1), Some(2)]), days(vec![Some(9), Some(1)])],
                Some(&filter),
            )
            .unwrap();
        let mut merged = MinByGroups::<Decimal128Type>::new(DataType::Decimal128(28, 2));
        merged.merge_batch(&state, &[0, 0], 1).unwrap();
        assert_eq!(out(&merged.evaluate(EmitTo::All).unwrap()), vec![Some(1)]);
    }

    #[test]
    fn emitting_the_first_groups_keeps_the_rest() {
        let mut acc = groups(
            dec(vec![Some(1), Some(2), Some(3)]),
            days(vec![Some(1), Some(1), Some(1)]),
            &[0, 1, 2],
            3,
        );
        assert_eq!(
            out(&acc.evaluate(EmitTo::First(2)).unwrap()),
            vec![Some(1), Some(2)]
        );
        assert_eq!(out(&acc.evaluate(EmitTo::All).unwrap()), vec![Some(3)]);
    }

    #[test]
    fn without_groups() {
        let mut acc = MinByRow {
            data_type: DataType::Decimal128(28, 2),
            best: None,
        };
        acc.update_batch(&[dec(vec![Some(4), Some(6)]), days(vec![Some(8), Some(7)])])
            .unwrap();
        assert_eq!(
            acc.evaluate().unwrap(),
            ScalarValue::Decimal128(Some(6), 28, 2)
        );
    }
}
