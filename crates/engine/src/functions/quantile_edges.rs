//! `quantile_edges(value, levels)`: for the tie-stable quantile score
//! `1 + floor(levels * (RANK() - 1) / N)` of RFM, the lowest value that
//! reaches each score from 2 to `levels`, in order. `RANK() - 1` is the
//! number of values strictly smaller, so equal values share a score; a score
//! no value reaches has no edge. Null values take no part and do not count
//! in N; with no values the result is an empty array.
//!
//! A value's score is then `1 + width_bucket(value, edges)`: one plus the
//! number of edges at or below it (`queries/rfm_scores_quantile.sql`). The
//! aggregate keeps one column's values and selects one of them per score
//! (no sort), where a `RANK()` window sorts every row with all its columns
//! and hands the whole partition to one core.
//!
//! Numbers, decimals and dates (`Int32`, `Int64`, `Float64`, `Decimal128`,
//! `Date32`): what RFM ranks.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, BooleanArray, ListArray, PrimitiveArray,
};
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{
    ArrowNativeTypeOp, DataType, Date32Type, Decimal128Type, Field, FieldRef, Float64Type,
    Int32Type, Int64Type,
};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};
use datafusion::physical_plan::expressions::Literal;

/// The aggregate function; see the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct QuantileEdges {
    signature: Signature,
}

impl QuantileEdges {
    pub(super) fn new() -> Self {
        QuantileEdges {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

fn supported(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int32
            | DataType::Int64
            | DataType::Float64
            | DataType::Decimal128(_, _)
            | DataType::Date32
    )
}

fn list_of(t: &DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", t.clone(), true)))
}

impl AggregateUDFImpl for QuantileEdges {
    fn name(&self) -> &str {
        "quantile_edges"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [value, levels] if supported(value) && levels.is_integer() => Ok(list_of(value)),
            [value, levels] => plan_err!(
                "quantile_edges(value, levels): value must be a number, decimal or date and levels an integer; found {value} and {levels}"
            ),
            _ => plan_err!("quantile_edges takes two arguments: quantile_edges(value, levels)"),
        }
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let value = args.input_fields[0].data_type();
        Ok(vec![Arc::new(Field::new(
            format!("{}[values]", args.name),
            list_of(value),
            true,
        ))])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        // Without GROUP BY: the groups accumulator with one group.
        let empty = arrow::array::new_empty_array(&args.exprs[0].data_type(args.schema)?);
        let groups = self.create_groups_accumulator(args)?;
        Ok(Box::new(OneGroup {
            groups: std::sync::Mutex::new(groups),
            empty,
        }))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let levels = match args
            .exprs
            .get(1)
            .and_then(|e| e.downcast_ref::<Literal>().map(|l| l.value().clone()))
        {
            Some(v) => levels_of(&v)?,
            None => {
                return exec_err!(
                    "quantile_edges(value, levels): levels must be an integer literal"
                );
            }
        };
        let t = args.exprs[0].data_type(args.schema)?;
        Ok(match t {
            DataType::Int32 => Box::new(EdgesGroups::<Int32Type>::new(t, levels)),
            DataType::Int64 => Box::new(EdgesGroups::<Int64Type>::new(t, levels)),
            DataType::Float64 => Box::new(EdgesGroups::<Float64Type>::new(t, levels)),
            DataType::Decimal128(_, _) => Box::new(EdgesGroups::<Decimal128Type>::new(t, levels)),
            DataType::Date32 => Box::new(EdgesGroups::<Date32Type>::new(t, levels)),
            other => return exec_err!("quantile_edges: unsupported value type {other}"),
        })
    }
}

/// A [`GroupsAccumulator`] over one group, for an aggregate without GROUP BY.
struct OneGroup {
    /// In a mutex only because an Accumulator must be Sync.
    groups: std::sync::Mutex<Box<dyn GroupsAccumulator>>,
    /// No values, of the value's type: adds the group before any row does.
    empty: ArrayRef,
}

impl OneGroup {
    fn groups(&mut self) -> &mut Box<dyn GroupsAccumulator> {
        self.groups.get_mut().unwrap_or_else(|e| e.into_inner())
    }

    /// The one group's result (`evaluate`) or state, present even with no rows.
    fn emit(&mut self, state: bool) -> Result<Vec<ArrayRef>> {
        let empty = Arc::clone(&self.empty);
        let groups = self.groups();
        groups.update_batch(&[empty], &[], None, 1)?;
        if state {
            groups.state(EmitTo::All)
        } else {
            Ok(vec![groups.evaluate(EmitTo::All)?])
        }
    }
}

impl std::fmt::Debug for OneGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneGroup")
    }
}

impl Accumulator for OneGroup {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let rows = values.first().map_or(0, |v| v.len());
        self.groups().update_batch(values, &vec![0; rows], None, 1)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let rows = states.first().map_or(0, |v| v.len());
        self.groups().merge_batch(states, &vec![0; rows], 1)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.emit(true)?
            .iter()
            .map(|a| ScalarValue::try_from_array(a, 0))
            .collect()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        ScalarValue::try_from_array(&self.emit(false)?[0], 0)
    }

    fn size(&self) -> usize {
        self.groups.lock().map_or(0, |g| g.size())
    }
}

fn levels_of(v: &ScalarValue) -> Result<usize> {
    let n = match v {
        ScalarValue::Int64(Some(n)) => *n,
        ScalarValue::Int32(Some(n)) => i64::from(*n),
        ScalarValue::UInt64(Some(n)) => i64::try_from(*n).unwrap_or(0),
        ScalarValue::UInt32(Some(n)) => i64::from(*n),
        other => {
            return exec_err!("quantile_edges: levels must be a positive integer, found {other}");
        }
    };
    match usize::try_from(n) {
        Ok(n) if n >= 1 => Ok(n),
        _ => exec_err!("quantile_edges: levels must be a positive integer, found {n}"),
    }
}

/// Each group's non-null values, kept until the end.
struct EdgesGroups<T: ArrowPrimitiveType> {
    data_type: DataType,
    levels: usize,
    values: Vec<Vec<T::Native>>,
    /// With one group (every customer scored together), the values of
    /// batches without nulls as they came, not yet in `values[0]`: copied
    /// there once, at their full size, instead of into a vector grown
    /// batch by batch (whose doublings copied them again: 2% of the CPU of
    /// `crm rfm` at 10^8).
    pending: Vec<ScalarBuffer<T::Native>>,
}

impl<T: ArrowPrimitiveType> EdgesGroups<T>
where
    T::Native: ArrowNativeTypeOp,
{
    fn new(data_type: DataType, levels: usize) -> Self {
        EdgesGroups {
            data_type,
            levels,
            values: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// Moves the pending values into `values[0]`.
    fn settle(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let more = self.pending.iter().map(|p| p.len()).sum();
        let group = &mut self.values[0];
        group.reserve_exact(more);
        for p in self.pending.drain(..) {
            group.extend_from_slice(&p);
        }
    }

    /// Adds row `i` of `values` to group `g`, as the filter allows.
    fn add(
        &mut self,
        values: &PrimitiveArray<T>,
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) {
        self.values.resize_with(total_num_groups, Vec::new);
        let all = opt_filter.is_none() && values.null_count() == 0;
        if all && total_num_groups == 1 {
            self.pending.push(values.values().clone());
            return;
        }
        self.settle();
        for (i, &g) in group_indices.iter().enumerate() {
            if values.is_valid(i) && opt_filter.is_none_or(|f| f.value(i) && f.is_valid(i)) {
                self.values[g].push(values.value(i));
            }
        }
    }

    /// One list per group, of `item`s made from each group's values.
    fn lists(
        &self,
        groups: Vec<Vec<T::Native>>,
        item: impl Fn(Vec<T::Native>) -> Vec<T::Native>,
    ) -> Result<ArrayRef> {
        let mut offsets = vec![0i32];
        let mut flat = Vec::new();
        for g in groups {
            let g = item(g);
            if flat.is_empty() {
                // One group (all customers ranked together): no copy.
                flat = g;
            } else {
                flat.extend(g);
            }
            let Ok(end) = i32::try_from(flat.len()) else {
                return exec_err!("quantile_edges: more than 2^31 values in one aggregation");
            };
            offsets.push(end);
        }
        // The vector becomes the array's buffer, uncopied.
        let items =
            PrimitiveArray::<T>::new(flat.into(), None).with_data_type(self.data_type.clone());
        Ok(Arc::new(ListArray::new(
            Arc::new(Field::new("item", self.data_type.clone(), true)),
            OffsetBuffer::new(offsets.into()),
            Arc::new(items),
            None,
        )))
    }
}

impl<T: ArrowPrimitiveType + Send> GroupsAccumulator for EdgesGroups<T>
where
    T::Native: ArrowNativeTypeOp,
{
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let Some(v) = values.first() else {
            return exec_err!("quantile_edges needs a value");
        };
        self.add(
            v.as_primitive::<T>(),
            group_indices,
            opt_filter,
            total_num_groups,
        );
        Ok(())
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        let Some(lists) = values.first() else {
            return exec_err!("quantile_edges: no state to merge");
        };
        let lists = lists.as_list::<i32>();
        self.values.resize_with(total_num_groups, Vec::new);
        self.settle();
        // Room for every incoming value first: the states are whole
        // partitions' values, and growing by doubling would copy them again.
        let mut incoming = vec![0; total_num_groups];
        for (i, &g) in group_indices.iter().enumerate() {
            incoming[g] += lists.value_length(i) as usize;
        }
        for (values, more) in self.values.iter_mut().zip(incoming) {
            values.reserve(more);
        }
        for (i, &g) in group_indices.iter().enumerate() {
            if lists.is_valid(i) {
                let part = lists.value(i);
                let part = part.as_primitive::<T>();
                if part.null_count() == 0 {
                    self.values[g].extend_from_slice(part.values());
                } else {
                    self.values[g].extend(part.iter().flatten());
                }
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        self.settle();
        let groups = emit_to.take_needed(&mut self.values);
        let levels = self.levels;
        self.lists(groups, |v| edges_of(v, levels))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        self.settle();
        let groups = emit_to.take_needed(&mut self.values);
        Ok(vec![self.lists(groups, |v| v)?])
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let Some(v) = values.first() else {
            return exec_err!("quantile_edges needs a value");
        };
        // Each row its own group: a list of its value, empty when the value
        // is null or filtered out.
        let v = v.as_primitive::<T>();
        let rows = (0..v.len())
            .map(|i| {
                let keep = v.is_valid(i) && opt_filter.is_none_or(|f| f.value(i) && f.is_valid(i));
                if keep { vec![v.value(i)] } else { Vec::new() }
            })
            .collect();
        Ok(vec![self.lists(rows, |v| v)?])
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self
                .values
                .iter()
                .map(|v| v.capacity() * std::mem::size_of::<T::Native>())
                .sum::<usize>()
            + self.pending.iter().map(|p| p.inner().len()).sum::<usize>()
    }
}

/// The edges of one group's values (see the module documentation): for
/// each score `s` from 2 up, the first value, in order, whose count of
/// smaller values reaches `ceil((s - 1) * N / levels)`. The values are only
/// partly ordered: one selection per score, each over what lies above the
/// last, instead of a sort.
fn edges_of<N: ArrowNativeTypeOp>(mut v: Vec<N>, levels: usize) -> Vec<N> {
    let n = v.len();
    let mut out: Vec<N> = Vec::with_capacity(levels.saturating_sub(1));
    // The previous score's position and value: v[..=at] is at or below it.
    let mut last: Option<(usize, N)> = None;
    for s in 2..=levels {
        let reach = ((s - 1) * n).div_ceil(levels);
        if reach >= n {
            break;
        }
        if let (Some((at, _)), Some(&edge)) = (last, out.last())
            && at == reach
        {
            // Fewer customers than scores: two scores start at one place.
            out.push(edge);
            continue;
        }
        let from = last.map_or(0, |(at, _)| at + 1);
        v[from..].select_nth_unstable_by(reach - from, |a, b| a.compare(*b));
        let y = v[reach];
        // Fewer than `reach` values are smaller than y when a value before
        // it equals it; the edge is then the next larger value.
        let tied =
            last.is_some_and(|(_, l)| l.is_eq(y)) || v[from..reach].iter().any(|x| x.is_eq(y));
        let edge = if tied {
            v[reach + 1..]
                .iter()
                .filter(|x| x.is_gt(y))
                .min_by(|a, b| a.compare(**b))
                .copied()
        } else {
            Some(y)
        };
        let Some(edge) = edge else { break };
        out.push(edge);
        last = Some((reach, y));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Decimal128Array, Float64Array, Int64Array};

    /// The edges of an array's non-null values.
    fn edges<T: ArrowPrimitiveType>(a: &ArrayRef, levels: usize) -> Vec<T::Native>
    where
        T::Native: ArrowNativeTypeOp,
    {
        edges_of(a.as_primitive::<T>().iter().flatten().collect(), levels)
    }

    /// The score of each value by definition: one plus levels times the
    /// number of strictly smaller values, divided by N (integer division).
    fn scores_by_definition<T: ArrowPrimitiveType>(
        a: &ArrayRef,
        levels: usize,
    ) -> Vec<Option<usize>>
    where
        T::Native: ArrowNativeTypeOp,
    {
        let a = a.as_primitive::<T>();
        let mut sorted: Vec<T::Native> = a.iter().flatten().collect();
        sorted.sort_unstable_by(|x, y| x.compare(*y));
        let n = sorted.len();
        a.iter()
            .map(|v| {
                v.map(|v| {
                    let less = sorted.partition_point(|x| x.is_lt(v));
                    1 + levels * less / n
                })
            })
            .collect()
    }

    /// The score from the edges: one plus the edges at or below the value.
    fn scores_by_edges<T: ArrowPrimitiveType>(a: &ArrayRef, levels: usize) -> Vec<Option<usize>>
    where
        T::Native: ArrowNativeTypeOp,
    {
        let e = edges::<T>(a, levels);
        assert!(e.windows(2).all(|w| !w[1].is_lt(w[0])), "edges are sorted");
        a.as_primitive::<T>()
            .iter()
            .map(|v| v.map(|v| 1 + e.partition_point(|x| !v.is_lt(*x))))
            .collect()
    }

    #[test]
    fn ties_share_a_score_and_the_edges_are_integer() {
        // N = 10, levels 5: smaller counts 0,0,2,3,3,3,6,7,8,9, scores
        // 1,1,2,2,2,2,4,4,5,5; no value scores 3.
        let a: ArrayRef = Arc::new(Int64Array::from(vec![1, 1, 2, 3, 3, 3, 4, 5, 6, 7]));
        assert_eq!(edges::<Int64Type>(&a, 5), vec![2, 4, 4, 6]);
        assert_eq!(
            scores_by_edges::<Int64Type>(&a, 5),
            [1, 1, 2, 2, 2, 2, 4, 4, 5, 5].map(Some).to_vec()
        );
    }

    #[test]
    fn nulls_do_not_count_and_one_value_or_none_has_no_edges() {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![Some(3), None, Some(1)]));
        assert_eq!(edges::<Int64Type>(&a, 2), vec![3]);
        assert_eq!(
            scores_by_edges::<Int64Type>(&a, 2),
            vec![Some(2), None, Some(1)]
        );
        let one: ArrayRef = Arc::new(Int64Array::from(vec![5, 5, 5]));
        assert!(edges::<Int64Type>(&one, 5).is_empty());
        let none: ArrayRef = Arc::new(Int64Array::from(Vec::<Option<i64>>::from([None])));
        assert!(edges::<Int64Type>(&none, 5).is_empty());
    }

    #[test]
    fn the_edges_give_every_value_its_score_by_definition() {
        // Many ties and some nulls, in a scrambled order, at every grid size.
        let ints: ArrayRef = Arc::new(Int64Array::from(
            (0..5000u64)
                .map(|i| (i % 17 != 3).then(|| ((i * 7919) % 263) as i64 - 100))
                .collect::<Vec<_>>(),
        ));
        let decimals: ArrayRef = Arc::new(
            Decimal128Array::from(
                (0..3000i128)
                    .map(|i| (i % 11 != 0).then_some((i * 104_729) % 997 - 400))
                    .collect::<Vec<_>>(),
            )
            .with_precision_and_scale(18, 2)
            .unwrap(),
        );
        let floats: ArrayRef = Arc::new(Float64Array::from(
            (0..2000)
                .map(|i| f64::from(i % 37) * -0.5)
                .collect::<Vec<_>>(),
        ));
        // Heavy ties at the bottom, as frequencies are (most buy once).
        let skewed: ArrayRef = Arc::new(Int64Array::from(
            (0..1000i64)
                .map(|i| if i % 10 < 7 { 1 } else { i % 13 })
                .collect::<Vec<_>>(),
        ));
        // Fewer values than scores, with and without ties.
        for n in 1..=12i64 {
            for levels in [2, 3, 4, 5, 10] {
                let few: ArrayRef = Arc::new(Int64Array::from(
                    (0..n).map(|i| (i * 7) % 5).collect::<Vec<_>>(),
                ));
                assert_eq!(
                    scores_by_edges::<Int64Type>(&few, levels),
                    scores_by_definition::<Int64Type>(&few, levels),
                    "{n} values, {levels} levels"
                );
                let distinct: ArrayRef =
                    Arc::new(Int64Array::from((0..n).rev().collect::<Vec<_>>()));
                assert_eq!(
                    scores_by_edges::<Int64Type>(&distinct, levels),
                    scores_by_definition::<Int64Type>(&distinct, levels),
                    "{n} distinct values, {levels} levels"
                );
            }
        }
        for levels in [1, 2, 3, 4, 5, 10] {
            assert_eq!(
                scores_by_edges::<Int64Type>(&ints, levels),
                scores_by_definition::<Int64Type>(&ints, levels)
            );
            assert_eq!(
                scores_by_edges::<Decimal128Type>(&decimals, levels),
                scores_by_definition::<Decimal128Type>(&decimals, levels)
            );
            assert_eq!(
                scores_by_edges::<Float64Type>(&floats, levels),
                scores_by_definition::<Float64Type>(&floats, levels)
            );
            assert_eq!(
                scores_by_edges::<Int64Type>(&skewed, levels),
                scores_by_definition::<Int64Type>(&skewed, levels)
            );
        }
    }

    /// The rows of a one-column result, as printed.
    async fn rows_of(ctx: &datafusion::prelude::SessionContext, sql: &str) -> Vec<String> {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        text.lines()
            .filter(|l| l.starts_with("| "))
            .skip(1)
            .map(|l| l.trim_matches(|c| c == '|' || c == ' ').to_string())
            .collect()
    }

    #[tokio::test]
    async fn works_in_sql_per_group_with_width_bucket() {
        let ctx = datafusion::prelude::SessionContext::new();
        for f in crate::functions::scalar_functions() {
            ctx.register_udf(f.as_ref().clone());
        }
        for f in crate::functions::aggregate_functions() {
            ctx.register_udaf(f.as_ref().clone());
        }
        let sql =
            "WITH t(g, v) AS (VALUES ('a', 1), ('a', 1), ('a', 2), ('a', 3), ('b', 10), ('b', 20)),
                   e AS (SELECT g, quantile_edges(CAST(v AS BIGINT), 2) AS edges FROM t GROUP BY g)
                   SELECT t.g, t.v, CAST(1 + width_bucket(CAST(t.v AS BIGINT), e.edges) AS INT) AS s
                   FROM t JOIN e ON e.g = t.g ORDER BY t.g, t.v";
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let got = arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        let scores: Vec<&str> = got
            .lines()
            .filter(|l| l.starts_with("| a") || l.starts_with("| b"))
            .map(|l| l.rsplit('|').nth(1).unwrap().trim())
            .collect();
        // a: N = 4, smaller counts 0, 0, 2, 3 -> 1, 1, 2, 2; b: 0, 1 -> 1, 2.
        assert_eq!(scores, vec!["1", "1", "2", "2", "1", "2"]);
        // Without GROUP BY, and over no rows.
        let whole = rows_of(
            &ctx,
            "SELECT quantile_edges(v, 4) AS e FROM (VALUES (5), (1), (3), (3), (NULL)) AS t(v)",
        )
        .await;
        // Sorted 1, 3, 3, 5: 3 scores 2, 5 scores 4, nothing scores 3.
        assert_eq!(whole, vec!["[3, 5, 5]"]);
        let none = rows_of(
            &ctx,
            "SELECT quantile_edges(v, 4) AS e FROM (VALUES (5)) AS t(v) WHERE v < 0",
        )
        .await;
        assert_eq!(none, vec!["[]"]);
        // Batches with and without nulls, in one partition: the values of
        // the null-free ones wait as they came, the others are copied.
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![Field::new(
            "v",
            DataType::Int64,
            true,
        )]));
        let batch = |v: Vec<Option<i64>>| {
            arrow::array::RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(arrow::array::Int64Array::from(v))],
            )
            .unwrap()
        };
        let one = datafusion::datasource::MemTable::try_new(
            schema.clone(),
            vec![vec![
                batch(vec![Some(5), Some(1)]),
                batch(vec![Some(3), None]),
                batch(vec![Some(3)]),
            ]],
        )
        .unwrap();
        ctx.register_table("batches", Arc::new(one)).unwrap();
        let mixed = rows_of(&ctx, "SELECT quantile_edges(v, 4) AS e FROM batches").await;
        assert_eq!(mixed, whole);
        let err = ctx
            .sql("SELECT quantile_edges('x', 5)")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be a number, decimal or date"), "{err}");
    }
}
