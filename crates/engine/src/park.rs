//! Rows parked on disk: a query's result written to a temporary Parquet
//! file in the spill directory and read back by this process, so that a
//! result with a row per customer need not stay in memory.

use std::io::Write;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::execution::{SpillFile, SpillWriter};
use datafusion::parquet;
use datafusion::parquet::arrow::ArrowWriter;

use crate::error::{Error, Result};
use crate::rfm::Table;
use crate::session::Engine;

type ParkWriter = std::io::BufWriter<Box<dyn SpillWriter>>;

/// A table of rows the engine registered: the file they are parked in (none
/// when held in memory), and what `materialize_for` computed them from (none
/// for rows registered otherwise; registering the name again forgets it).
#[derive(Default)]
pub(crate) struct Held {
    /// Held, not read: the file is deleted when the last handle goes.
    pub _file: Option<Arc<dyn SpillFile>>,
    pub inputs: Option<String>,
}

/// A query's rows in a temporary file, deleted when the last handle goes.
pub(crate) struct Parked {
    pub file: Arc<dyn SpillFile>,
    /// The batches' own schema: execution may relax nullability against the plan.
    pub schema: SchemaRef,
    pub rows: usize,
}

pub(crate) fn io_error(e: impl Into<datafusion::error::DataFusionError>) -> Error {
    Error::DataFusion(e.into())
}

impl Parked {
    /// The file's path; parked files are always local.
    pub fn path(&self) -> Result<&std::path::Path> {
        self.file
            .path()
            .ok_or_else(|| Error::Invalid("rows were parked off the local disk".into()))
    }
}

impl Engine {
    /// Runs SQL produced by `render` and parks its rows, handing each batch
    /// to `inspect` on the way. A result without rows parks nothing: its
    /// planned schema comes back instead.
    pub(crate) async fn park_sql(
        &self,
        sql: &str,
        what: &str,
        mut inspect: impl FnMut(&RecordBatch) -> Result<()>,
    ) -> Result<Result<Parked, SchemaRef>> {
        let df = self.context().sql(sql).await?;
        let label = format!("{} parked as {what}", crate::queries::query_name(sql));
        let mut rows = self.stream_rows(&label, df).await?;
        let mut sink = ParkSink::new(self, what);
        while let Some(b) = rows.next().await {
            let b = b?;
            inspect(&b)?;
            sink.push(&b)?;
        }
        Ok(sink.finish()?.ok_or_else(|| rows.schema()))
    }

    /// A temporary file in the spill directory for rows of `schema`, written
    /// for speed (no compression, dictionaries or statistics): it is read
    /// back by this process only.
    fn park(&self, schema: SchemaRef, what: &str) -> Result<(Parked, ArrowWriter<ParkWriter>)> {
        let file = self
            .context()
            .runtime_env()
            .disk_manager
            .create_tmp_file(what)?;
        let props = parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::UNCOMPRESSED)
            .set_dictionary_enabled(false)
            .set_statistics_enabled(parquet::file::properties::EnabledStatistics::None)
            .build();
        let writer = ArrowWriter::try_new(
            std::io::BufWriter::new(file.open_writer()?),
            schema.clone(),
            Some(props),
        )
        .map_err(io_error)?;
        Ok((
            Parked {
                file,
                schema,
                rows: 0,
            },
            writer,
        ))
    }

    /// Runs SQL produced by `render` and registers its rows as a table
    /// called `name`, like [`Engine::register_rows`], but parked on disk
    /// rather than held in memory (on a cluster, where executors cannot read
    /// this machine's files, the rows go to the scratch directory as before).
    pub(crate) async fn register_parked(&self, name: &str, sql: &str) -> Result<()> {
        if self.on_cluster() {
            let t = self.collect_sql(sql).await?;
            return self.register_rows(name, &t).await;
        }
        let parked = self.park_sql(sql, name, |_| Ok(())).await?;
        self.register_park(name, parked).await
    }

    /// Registers rows that a computation hands over batch by batch (`fill`
    /// calls its argument with each) as a table called `name`: parked on
    /// disk under a memory limit, else held in memory.
    pub(crate) async fn register_batches<T>(
        &self,
        name: &str,
        schema: SchemaRef,
        fill: impl FnOnce(&mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<T>,
    ) -> Result<T> {
        if !self.bounded() || self.on_cluster() {
            let mut t = Table {
                schema,
                batches: Vec::new(),
            };
            let out = fill(&mut |b| {
                t.batches.push(b);
                Ok(())
            })?;
            self.register_rows(name, &t).await?;
            return Ok(out);
        }
        let mut sink = ParkSink::new(self, name);
        let out = fill(&mut |b| sink.push(&b))?;
        let parked = sink.finish()?.ok_or(schema);
        self.register_park(name, parked).await?;
        Ok(out)
    }

    /// Runs SQL produced by `render` and registers its rows as `name`:
    /// parked on disk when the engine runs under a memory limit (a table
    /// with a row per customer must not grow the process past it), held in
    /// memory otherwise (quicker to read back).
    pub(crate) async fn materialize(&self, name: &str, sql: &str) -> Result<()> {
        if self.bounded() {
            self.register_parked(name, sql).await
        } else {
            let t = self.collect_sql(sql).await?;
            self.register_rows(name, &t).await
        }
    }

    /// [`Engine::materialize`], skipped when `name` still holds the rows
    /// of the same `inputs`: a description of everything `sql` reads
    /// besides the warehouse (dates, settings, and the inputs of the
    /// materialised tables it reads).
    pub(crate) async fn materialize_for(&self, name: &str, inputs: &str, sql: &str) -> Result<()> {
        if self.holds(name, inputs) {
            log::debug!(target: "crm::query", "{name}: already holds these rows");
            return Ok(());
        }
        self.materialize(name, sql).await?;
        if let Some(held) = self
            .rows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(name)
        {
            held.inputs = Some(inputs.to_string());
        }
        Ok(())
    }

    /// True when `name` is registered with the rows of `inputs` (see
    /// [`Engine::materialize_for`]).
    pub(crate) fn holds(&self, name: &str, inputs: &str) -> bool {
        self.rows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .is_some_and(|h| h.inputs.as_deref() == Some(inputs))
    }

    /// Registers parked rows as a table called `name`, or, when there were
    /// none, an empty table of the planned schema.
    pub(crate) async fn register_park(
        &self,
        name: &str,
        parked: std::result::Result<Parked, SchemaRef>,
    ) -> Result<()> {
        let parked = match parked {
            Ok(p) => p,
            Err(schema) => {
                let empty = Table {
                    schema,
                    batches: Vec::new(),
                };
                return self.register_rows(name, &empty).await;
            }
        };
        self.context().deregister_table(name)?;
        self.context()
            .register_parquet(
                name,
                parked.path()?.to_string_lossy().as_ref(),
                datafusion::prelude::ParquetReadOptions::default().file_extension(""),
            )
            .await?;
        self.rows.lock().unwrap_or_else(|e| e.into_inner()).insert(
            name.to_string(),
            Held {
                _file: Some(parked.file),
                inputs: None,
            },
        );
        Ok(())
    }
}

/// Batches written to a parked file as they come; the file is created with
/// the first batch, so a result without rows leaves none.
struct ParkSink<'a> {
    engine: &'a Engine,
    what: &'a str,
    open: Option<(Parked, ArrowWriter<ParkWriter>)>,
}

impl<'a> ParkSink<'a> {
    fn new(engine: &'a Engine, what: &'a str) -> ParkSink<'a> {
        ParkSink {
            engine,
            what,
            open: None,
        }
    }

    fn push(&mut self, b: &RecordBatch) -> Result<()> {
        let (p, w) = match &mut self.open {
            Some(open) => open,
            None => self.open.insert(self.engine.park(b.schema(), self.what)?),
        };
        w.write(b).map_err(io_error)?;
        p.rows += b.num_rows();
        Ok(())
    }

    /// The complete file, or None when no batch came.
    fn finish(self) -> Result<Option<Parked>> {
        let Some((p, writer)) = self.open else {
            return Ok(None);
        };
        finish_parked(writer)?;
        Ok(Some(p))
    }
}

/// Closes a parked file's writer: the file is complete on disk.
fn finish_parked(writer: ArrowWriter<ParkWriter>) -> Result<()> {
    let mut out = writer.into_inner().map_err(io_error)?;
    out.flush().map_err(io_error)?;
    out.into_inner()
        .map_err(|e| io_error(e.into_error()))?
        .finish()?;
    Ok(())
}
