//! Batches that claim more memory than their rows hold, made honest.
//!
//! Arrow reports a batch's memory as the size of every buffer it points
//! into. A slice of a larger batch, and string views that `take` or a join
//! copied, point into buffers shared with other batches, and each of them
//! reports the whole. An aggregation emits its groups as one batch and
//! hands it on in 8192-row slices: 4.8M customers collected that way
//! claimed 153 GB. DataFusion's sort reserves what its batches report: it
//! sorts a large input batch into 8192-row chunks that each point into all
//! of the input's string buffers, and reserves every chunk's claim. At 10^8
//! transactions the traffic light's final sort got one 1M-row batch (192 MB)
//! from a join, asked a 4 GiB pool for 7.2 GB and failed.
//!
//! [`CompactBeforeSort`] puts a [`CompactExec`] under every sort: its input
//! arrives in batches of at most `batch_size` rows with buffers of their own.
//! The engine also [`compact`]s the rows it keeps between queries.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, RecordBatch, RecordBatchOptions, UInt32Array};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::config::ConfigOptions;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::windows::WindowAggExec;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties,
    ReplaceChildrenOptions,
};
use futures::StreamExt;

use crate::error::Result;

/// `batch`, copied into buffers of its own when it reports more than twice
/// the memory its rows need (plus 1 MiB, so small batches are never copied).
pub(crate) fn compact(batch: RecordBatch) -> Result<RecordBatch> {
    let reported = batch.get_array_memory_size();
    let needed: usize = batch
        .columns()
        .iter()
        .map(|c| needed_bytes(c, reported))
        .sum();
    if reported <= 2 * needed + (1 << 20) {
        return Ok(batch);
    }
    let rows = batch.num_rows();
    let indices = UInt32Array::from_iter_values(0..rows as u32);
    let columns = batch
        .columns()
        .iter()
        .map(|c| Ok(gc_views(take(c, &indices, None)?)))
        .collect::<Result<Vec<ArrayRef>>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    let copied = RecordBatch::try_new_with_options(batch.schema(), columns, &options)?;
    log::trace!(
        target: "crm::compact",
        "{rows} rows reported {reported} bytes, {} after the copy",
        copied.get_array_memory_size()
    );
    Ok(copied)
}

/// The bytes a fresh copy of `array` would take. Arrow's slice size counts
/// a view array's views but not the bytes they point at; those are added.
fn needed_bytes(array: &ArrayRef, fallback: usize) -> usize {
    let sliced = array.to_data().get_slice_memory_size().unwrap_or(fallback);
    let referenced = match array.data_type() {
        DataType::Utf8View => array.as_string_view().total_buffer_bytes_used(),
        DataType::BinaryView => array.as_binary_view().total_buffer_bytes_used(),
        _ => 0,
    };
    sliced + referenced
}

/// String and binary views keep every data buffer they point into; `take`
/// copies the views only, `gc` the bytes they reference.
fn gc_views(array: ArrayRef) -> ArrayRef {
    match array.data_type() {
        DataType::Utf8View => Arc::new(array.as_string_view().gc()),
        DataType::BinaryView => Arc::new(array.as_binary_view().gc()),
        _ => array,
    }
}

/// Passes its input's rows on in batches of at most `batch_size` rows, each
/// through [`compact`]; the same partitions, order and schema.
#[derive(Debug)]
pub struct CompactExec {
    input: Arc<dyn ExecutionPlan>,
}

impl CompactExec {
    pub fn new(input: Arc<dyn ExecutionPlan>) -> CompactExec {
        CompactExec { input }
    }
}

impl DisplayAs for CompactExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "CompactExec")
    }
}

impl ExecutionPlan for CompactExec {
    fn name(&self) -> &str {
        "CompactExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> datafusion::error::Result<TreeNodeRecursion>,
    ) -> datafusion::error::Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(CompactExec::new(children.swap_remove(0))))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> datafusion::error::Result<SendableRecordBatchStream> {
        let batch_size = context.session_config().batch_size().max(1);
        let input = self.input.execute(partition, context)?;
        let schema = input.schema();
        let compacted = input.flat_map(move |batch| {
            let out: Vec<datafusion::error::Result<RecordBatch>> = match batch {
                Err(e) => vec![Err(e)],
                Ok(b) => slices(&b, batch_size)
                    .map(|part| compact(part).map_err(|e| DataFusionError::External(Box::new(e))))
                    .collect(),
            };
            futures::stream::iter(out)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, compacted)))
    }
}

/// `batch` in slices of at most `rows` rows (no copy).
fn slices(batch: &RecordBatch, rows: usize) -> impl Iterator<Item = RecordBatch> + '_ {
    let rows = rows.max(1);
    (0..batch.num_rows())
        .step_by(rows)
        .map(move |at| batch.slice(at, rows.min(batch.num_rows() - at)))
}

/// Puts a [`CompactExec`] under every [`SortExec`], so that a sort reserves
/// what its input batches hold rather than what they point into, and over
/// every [`WindowAggExec`], which emits a whole partition as one batch.
#[derive(Debug, Default)]
pub struct CompactBeforeSort;

impl PhysicalOptimizerRule for CompactBeforeSort {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            if node.is::<CompactExec>() {
                return Ok(Transformed::no(node));
            }
            let is_sort = node.is::<SortExec>();
            // A window over whole partitions (WindowAggExec) emits each
            // partition as one batch: its reader gets it in batch_size slices.
            let wants_compact = |child: &Arc<dyn ExecutionPlan>| {
                !child.is::<CompactExec>() && (is_sort || child.is::<WindowAggExec>())
            };
            if !node.children().into_iter().any(wants_compact) {
                return Ok(Transformed::no(node));
            }
            let children = node
                .children()
                .into_iter()
                .map(|child| {
                    if wants_compact(child) {
                        Arc::new(CompactExec::new(Arc::clone(child))) as Arc<dyn ExecutionPlan>
                    } else {
                        Arc::clone(child)
                    }
                })
                .collect();
            let compacted = Arc::clone(&node).replace_children(
                children,
                ReplaceChildrenOptions::new(ChildrenPropertiesMode::Keep),
            )?;
            Ok(Transformed::yes(compacted))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "compact_before_sort"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, Int64Array, StringArray, StringViewArray};
    use datafusion::arrow::datatypes::{Field, Int64Type, Schema};

    use super::*;

    fn batch(rows: usize) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8View, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let ids = StringViewArray::from_iter_values((0..rows).map(|i| format!("customer-{i:012}")));
        let names =
            StringArray::from_iter((0..rows).map(|i| (i % 7 != 0).then(|| format!("n{i}"))));
        let n = Int64Array::from_iter_values((0..rows).map(|i| i as i64));
        RecordBatch::try_new(schema, vec![Arc::new(ids), Arc::new(names), Arc::new(n)]).unwrap()
    }

    #[test]
    fn a_slice_is_copied_into_its_own_buffers() {
        let whole = batch(200_000);
        let slice = whole.slice(150_000, 8192);
        assert_eq!(slice.get_array_memory_size(), whole.get_array_memory_size());
        let compacted = compact(slice.clone()).unwrap();
        assert_eq!(compacted, slice);
        assert!(
            compacted.get_array_memory_size() * 10 < whole.get_array_memory_size(),
            "{} bytes for 8192 of 200000 rows",
            compacted.get_array_memory_size()
        );
        assert_eq!(
            compacted.column(1).null_count(),
            slice.column(1).null_count()
        );
    }

    #[test]
    fn a_batch_of_its_own_is_kept_as_it_is() {
        let whole = batch(200_000);
        let kept = compact(whole.clone()).unwrap();
        assert!(kept.column(2).to_data().ptr_eq(&whole.column(2).to_data()));
        // Long strings: the bytes the views point at are the batch's own.
        let schema = Arc::new(Schema::new(vec![Field::new(
            "s",
            DataType::Utf8View,
            false,
        )]));
        let long = StringViewArray::from_iter_values((0..200_000).map(|i| format!("{i:040}")));
        let strings = RecordBatch::try_new(schema, vec![Arc::new(long)]).unwrap();
        let kept = compact(strings.clone()).unwrap();
        assert!(
            kept.column(0)
                .to_data()
                .ptr_eq(&strings.column(0).to_data())
        );
        let small = batch(100).slice(10, 20);
        let kept = compact(small.clone()).unwrap();
        assert!(kept.column(2).to_data().ptr_eq(&small.column(2).to_data()));
    }

    /// A session whose pool holds `limit` bytes, with or without the rule,
    /// sorting 200k rows given as 25 slices of one batch, or as the batch.
    async fn sort_rows(
        limit: usize,
        rule: bool,
        sliced: bool,
    ) -> datafusion::error::Result<Vec<RecordBatch>> {
        use datafusion::datasource::MemTable;
        use datafusion::execution::runtime_env::RuntimeEnvBuilder;
        use datafusion::execution::session_state::SessionStateBuilder;
        use datafusion::physical_optimizer::optimizer::PhysicalOptimizer;
        use datafusion::prelude::{SessionConfig, SessionContext};

        let whole = batch(200_000);
        let slices: Vec<RecordBatch> = (0..200_000)
            .step_by(8192)
            .map(|o| whole.slice(o, 8192.min(200_000 - o)))
            .collect();
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(limit, 1.0)
            .build_arc()?;
        let config = SessionConfig::new()
            .with_target_partitions(1)
            .with_sort_spill_reservation_bytes(64 << 10);
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime)
            .with_default_features();
        if rule {
            let mut rules = PhysicalOptimizer::new().rules;
            rules.push(Arc::new(CompactBeforeSort));
            state = state.with_physical_optimizer_rules(rules);
        }
        let ctx = SessionContext::new_with_state(state.build());
        let input = if sliced { slices } else { vec![whole.clone()] };
        let table = MemTable::try_new(whole.schema(), vec![input])?;
        ctx.register_table("t", Arc::new(table))?;
        ctx.sql("SELECT id, n FROM t ORDER BY n DESC")
            .await?
            .collect()
            .await
    }

    #[tokio::test]
    async fn a_sort_fits_a_pool_smaller_than_its_input_claims() {
        let claim = batch(200_000).get_array_memory_size();
        let limit = claim / 2;
        for sliced in [true, false] {
            let err = sort_rows(limit, false, sliced).await.unwrap_err();
            assert!(err.to_string().contains("external sort"), "{err}");
            let sorted = sort_rows(limit, true, sliced).await.unwrap();
            let n: Vec<i64> = sorted
                .iter()
                .flat_map(|b| b.column(1).as_primitive::<Int64Type>().values().to_vec())
                .collect();
            assert_eq!(n.len(), 200_000);
            assert!(n.windows(2).all(|w| w[0] > w[1]));
            assert_eq!(n[0], 199_999);
        }
    }
}
