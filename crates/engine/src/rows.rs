//! Query results handed on batch by batch, for output that writes them as
//! they come (`crm sql`, `crm rfm --per-customer`) instead of holding them
//! all first.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::physical_plan::{ExecutionPlan, SendableRecordBatchStream};
use datafusion::prelude::DataFrame;
use futures::StreamExt;

use crate::error::Result;
use crate::session::Engine;

/// The rows of one query as they are computed. When the last batch is out,
/// the query's rows and time go to the `crm::query` log (and its plan with
/// metrics to `crm::plan`), as for the queries crm collects.
pub struct RowStream<'a> {
    engine: &'a Engine,
    name: String,
    plan: Arc<dyn ExecutionPlan>,
    stream: SendableRecordBatchStream,
    rows: usize,
    started: std::time::Instant,
}

impl RowStream<'_> {
    /// The schema of every batch.
    pub fn schema(&self) -> SchemaRef {
        self.stream.schema()
    }

    /// The next batch; None once the query is done.
    pub async fn next(&mut self) -> Option<Result<RecordBatch>> {
        match self.stream.next().await {
            Some(Ok(b)) => {
                self.rows += b.num_rows();
                Some(Ok(b))
            }
            Some(Err(e)) => {
                log::debug!(
                    target: "crm::query",
                    "{}: failed after {:.2} s: {e}",
                    self.name,
                    self.started.elapsed().as_secs_f64()
                );
                Some(Err(e.into()))
            }
            None => {
                self.done();
                None
            }
        }
    }

    fn done(&self) {
        self.engine.spill().add_plan(&self.plan);
        log::debug!(
            target: "crm::query",
            "{}: {} rows streamed, {:.2} s",
            self.name,
            self.rows,
            self.started.elapsed().as_secs_f64()
        );
        trace_plan(&self.name, self.plan.as_ref());
    }
}

/// Logs a finished query's plan with its metrics to `crm::plan` (`-vvv`).
pub(crate) fn trace_plan(name: &str, plan: &dyn ExecutionPlan) {
    if log::log_enabled!(target: "crm::plan", log::Level::Trace) {
        log::trace!(
            target: "crm::plan",
            "{name}:\n{}",
            datafusion::physical_plan::display::DisplayableExecutionPlan::with_metrics(plan)
                .indent(true)
        );
    }
}

impl Engine {
    /// Starts `df` (from [`Engine::sql`] or crm's own queries) and hands its
    /// rows on as they are computed; `name` labels it in the logs.
    pub async fn stream_rows(&self, name: &str, df: DataFrame) -> Result<RowStream<'_>> {
        let started = std::time::Instant::now();
        let plan = df.create_physical_plan().await?;
        let stream = datafusion::physical_plan::execute_stream(
            Arc::clone(&plan),
            self.context().task_ctx(),
        )?;
        Ok(RowStream {
            engine: self,
            name: name.to_string(),
            plan,
            stream,
            rows: 0,
            started,
        })
    }
}

/// The positions in `schema` of the columns named in `wanted`, in that
/// order, for output limited to them (`--columns`). A name that is not a
/// column, or is one of `hidden`, or is named twice is an error that lists
/// the columns there are.
pub fn column_indices(
    schema: &arrow::datatypes::Schema,
    wanted: &[String],
    hidden: &[&str],
) -> Result<Vec<usize>> {
    let offered = || {
        schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .filter(|n| !hidden.contains(n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut picked = Vec::with_capacity(wanted.len());
    for name in wanted {
        let name = name.trim();
        let i = schema
            .index_of(name)
            .ok()
            .filter(|_| !hidden.contains(&name))
            .ok_or_else(|| {
                crate::Error::Invalid(format!(
                    "unknown column '{name}' in --columns: the columns are {}",
                    offered()
                ))
            })?;
        if picked.contains(&i) {
            return Err(crate::Error::Invalid(format!(
                "column '{name}' is named twice in --columns"
            )));
        }
        picked.push(i);
    }
    Ok(picked)
}
