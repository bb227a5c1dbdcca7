//! What every subcommand needs, resolved once from the global options:
//! the warehouse, the configuration, the output format, the clock.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use chrono::NaiveDateTime;
use crm_core::Config;
use crm_engine::{Engine, EngineOptions};
use crm_report::output::{self, OutputFormat};
use crm_warehouse::Warehouse;

/// How a successful command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code 0.
    Success,
    /// Exit code 3: done, but some rows were quarantined.
    Quarantined,
}

/// The resolved global options.
pub struct Ctx {
    pub location: String,
    pub config: Config,
    format: Option<OutputFormat>,
    pub out: Option<PathBuf>,
    pub quiet: bool,
    pub verbose: u8,
    pub tz: chrono_tz::Tz,
    /// `--memory-limit`, else `[engine] memory_limit`, in bytes.
    pub memory_limit: Option<usize>,
    /// `--engine ballista://...`: the cluster the queries run on.
    pub cluster: Option<crm_engine::Cluster>,
}

impl Ctx {
    pub fn new(
        location: String,
        config_file: Option<PathBuf>,
        format: Option<OutputFormat>,
        out: Option<PathBuf>,
        quiet: bool,
        verbose: u8,
    ) -> Result<Ctx> {
        let default_path = if location.contains("://") {
            None
        } else {
            Some(PathBuf::from(&location).join("crm.toml"))
        };
        let config = match (&config_file, default_path) {
            (Some(p), _) => Config::load(p)?,
            (None, Some(p)) if p.exists() => Config::load(&p)?,
            (None, Some(_)) => Config::default(),
            (None, None) => remote_config(&location)?,
        };
        let tz: chrono_tz::Tz = config.timezone.parse().map_err(|_| {
            anyhow::anyhow!(
                "timezone '{}' in the config is not a known zone (e.g. Europe/Moscow, UTC)",
                config.timezone
            )
        })?;
        if let Some(f) = format.filter(|f| f.needs_file())
            && out.is_none()
        {
            let name = format!("{f:?}").to_lowercase();
            bail!("--format {name} writes a file: give it with --out FILE");
        }
        Ok(Ctx {
            location,
            config,
            format,
            out,
            quiet,
            verbose,
            tz,
            memory_limit: None,
            cluster: None,
        })
    }

    /// Resolves the memory limit: the flag wins over the config.
    pub fn with_memory_limit(mut self, flag: Option<String>) -> Result<Ctx> {
        let text = flag.unwrap_or_else(|| self.config.engine.memory_limit.clone());
        if !text.trim().is_empty() {
            self.memory_limit = Some(crm_engine::parse_byte_size(&text)?);
        }
        Ok(self)
    }

    /// Resolves `--engine`: `local`, or a Ballista scheduler.
    pub fn with_engine(mut self, engine: &str) -> Result<Ctx> {
        if engine.trim() != "local" {
            self.cluster = Some(cluster(engine.trim())?);
        }
        Ok(self)
    }

    /// `--format`, or the default: a table on a terminal, CSV otherwise.
    pub fn format(&self) -> OutputFormat {
        self.format.unwrap_or_else(|| {
            if std::io::stdout().is_terminal() {
                OutputFormat::Table
            } else {
                OutputFormat::Csv
            }
        })
    }

    /// True when the user asked for a format explicitly.
    pub fn format_given(&self) -> bool {
        self.format.is_some()
    }

    pub fn warehouse(&self) -> Result<Warehouse> {
        Warehouse::open_with_options(&self.location, self.config.storage.options())
            .with_context(|| format!("cannot open the warehouse at {}", self.location))
    }

    /// A query session over the warehouse with the `[engine]` settings.
    pub async fn engine(&self, warehouse: &Warehouse, mut opts: EngineOptions) -> Result<Engine> {
        if opts.target_partitions == 0 {
            opts.target_partitions = self.config.engine.target_partitions;
        }
        if opts.memory_limit.is_none() {
            opts.memory_limit = self.memory_limit;
        }
        if opts.cluster.is_none() {
            opts.cluster = self.cluster.clone();
        }
        if opts.spill_dir.is_none() && !self.config.engine.spill_dir.is_empty() {
            opts.spill_dir = Some(PathBuf::from(&self.config.engine.spill_dir));
        }
        Ok(Engine::open(warehouse, &opts).await?)
    }

    /// Now, as local wall-clock time in the configured zone.
    pub fn now(&self) -> NaiveDateTime {
        chrono::Utc::now().with_timezone(&self.tz).naive_local()
    }

    /// Yesterday in the configured zone: the default as-of date.
    pub fn yesterday(&self) -> chrono::NaiveDate {
        self.now().date().pred_opt().expect("a date after year 1")
    }

    /// Prints query results in the chosen format (Parquet goes to `--out`).
    pub fn print_batches(&self, schema: &Schema, batches: &[RecordBatch]) -> Result<()> {
        let mut sink = self.sink(schema)?;
        for b in batches {
            sink.push(b)?;
        }
        sink.finish()
    }

    /// Prints a query's rows in the chosen format as they are computed;
    /// returns how many there were.
    pub async fn print_rows(&self, mut rows: crm_engine::RowStream<'_>) -> Result<usize> {
        let mut sink = self.sink(&rows.schema())?;
        let mut n = 0;
        while let Some(b) = rows.next().await {
            let b = b?;
            n += b.num_rows();
            sink.push(&b)?;
        }
        sink.finish()?;
        Ok(n)
    }

    /// Where results go in the chosen format, batch by batch: a result too
    /// large for memory streams through to CSV, JSON lines or Parquet.
    ///
    /// A file given with `--out` is written under a temporary name beside
    /// it and renamed when complete, so a query that fails half-way (or a
    /// killed run) never leaves a truncated file where the result belongs.
    pub fn sink(&self, schema: &Schema) -> Result<Sink<'_>> {
        let partial = match (self.format(), &self.out) {
            (OutputFormat::Xlsx, _) | (_, None) => None,
            (_, Some(path)) => Some(Partial::beside(path)?),
        };
        let kind = match (self.format(), &partial) {
            (OutputFormat::Parquet, Some(p)) => SinkKind::Parquet(Box::new(
                output::ParquetSink::create(&p.tmp, schema).with_context(|| p.naming())?,
            )),
            (OutputFormat::Xlsx, _) => SinkKind::Xlsx(Vec::new()),
            (f, Some(p)) => SinkKind::Text(output::TextSink::new(
                f,
                schema,
                Box::new(std::io::BufWriter::new(
                    std::fs::File::create(&p.tmp)
                        .with_context(|| format!("cannot create {}", p.tmp.display()))
                        .with_context(|| p.naming())?,
                )) as Box<dyn Write>,
            )?),
            (f, None) => SinkKind::Text(output::TextSink::new(
                f,
                schema,
                Box::new(std::io::stdout().lock()) as Box<dyn Write>,
            )?),
        };
        Ok(Sink {
            ctx: self,
            schema: schema.clone(),
            kind,
            partial,
            started: std::time::Instant::now(),
        })
    }
    /// Prints a single result object.
    pub fn print_object(&self, value: &serde_json::Value) -> Result<()> {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        output::write_object(self.format(), value, &mut lock)?;
        lock.flush()?;
        Ok(())
    }

    /// A line for the human on stderr, unless `-q`.
    pub fn info(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    /// A line shown only with `-v`.
    pub fn debug(&self, line: &str) {
        if self.verbose > 0 && !self.quiet {
            eprintln!("{line}");
        }
    }
}

/// Results on their way out: see [`Ctx::sink`].
pub struct Sink<'a> {
    ctx: &'a Ctx,
    schema: Schema,
    kind: SinkKind,
    /// The file being written for `--out`, renamed into place by `finish`.
    partial: Option<Partial>,
    started: std::time::Instant,
}

/// A file written under a temporary name in its destination's directory
/// (`.NAME.PID.partial`), removed unless [`Partial::complete`] moves it into
/// place.
struct Partial {
    tmp: PathBuf,
    dest: PathBuf,
}

impl Partial {
    fn beside(dest: &std::path::Path) -> Result<Partial> {
        let name = dest
            .file_name()
            .with_context(|| format!("--out {} names no file", dest.display()))?;
        let tmp = dest.with_file_name(format!(
            ".{}.{}.partial",
            name.to_string_lossy(),
            std::process::id()
        ));
        Ok(Partial {
            tmp,
            dest: dest.to_path_buf(),
        })
    }

    /// What a failure to create the file is about.
    fn naming(&self) -> String {
        format!("cannot write --out {}", self.dest.display())
    }

    fn complete(self) -> Result<()> {
        std::fs::rename(&self.tmp, &self.dest).with_context(|| {
            format!(
                "cannot move {} to {}",
                self.tmp.display(),
                self.dest.display()
            )
        })
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        // After `complete` the name is gone and this finds nothing.
        let _ = std::fs::remove_file(&self.tmp);
    }
}

enum SinkKind {
    Parquet(Box<output::ParquetSink>),
    /// A spreadsheet is written whole at the end.
    Xlsx(Vec<RecordBatch>),
    Text(output::TextSink<Box<dyn Write>>),
}

impl Sink<'_> {
    pub fn push(&mut self, batch: &RecordBatch) -> Result<()> {
        match &mut self.kind {
            SinkKind::Parquet(w) => w.push(batch)?,
            SinkKind::Xlsx(kept) => kept.push(batch.clone()),
            SinkKind::Text(w) => w.push(batch)?,
        }
        Ok(())
    }

    /// Completes the output (footer, table, spreadsheet) and says where
    /// a file went.
    pub fn finish(self) -> Result<()> {
        let path = self.ctx.out.as_ref();
        match self.kind {
            SinkKind::Parquet(w) => {
                let rows = w.finish()?;
                if let Some(p) = self.partial {
                    p.complete()?;
                }
                self.ctx.info(&format!(
                    "wrote {rows} rows to {} in {:.2} s",
                    path.expect("checked in Ctx::new").display(),
                    self.started.elapsed().as_secs_f64()
                ));
            }
            SinkKind::Xlsx(batches) => {
                let path = path.expect("checked in Ctx::new");
                let headers: Vec<String> = self
                    .schema
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                let stats = crm_report::sheet::write_sheet(
                    path,
                    crm_report::sheet::SheetFormat::Xlsx,
                    "crm",
                    &headers,
                    &self.schema,
                    &batches,
                )?;
                self.ctx
                    .info(&format!("wrote {} rows to {}", stats.rows, path.display()));
            }
            SinkKind::Text(w) => {
                w.finish()?;
                if let Some(p) = self.partial {
                    p.complete()?;
                }
            }
        }
        Ok(())
    }
}

/// The Ballista cluster whose scheduler is at `url` (`ballista://host:port`).
#[cfg(feature = "ballista")]
fn cluster(url: &str) -> Result<crm_engine::Cluster> {
    crm_cluster::scheduler_address(url).map_err(anyhow::Error::msg)?;
    let target = url.to_string();
    Ok(crm_engine::Cluster {
        url: url.to_string(),
        connect: std::sync::Arc::new(move |state| {
            crm_cluster::connect_boxed(target.clone(), state)
        }),
    })
}

#[cfg(not(feature = "ballista"))]
fn cluster(url: &str) -> Result<crm_engine::Cluster> {
    bail!(
        "--engine {url}: this crm was built without Ballista; build it with \
         `cargo build --release --features ballista` (see docs/cluster.md)"
    )
}

/// The crm.toml at the root of an object-store warehouse, read with the
/// store settings of the environment (the AWS variables); the defaults when
/// there is none. Its `[storage]` section cannot apply (the store is already
/// open) and is ignored: store settings come from the environment or from a
/// file given with `--config`.
fn remote_config(location: &str) -> Result<Config> {
    let wh = Warehouse::open(location)
        .with_context(|| format!("cannot open the warehouse at {location}"))?;
    let read = wh.read_file("crm.toml");
    let bytes = match tokio::runtime::Handle::try_current() {
        Ok(handle) => tokio::task::block_in_place(|| handle.block_on(read)),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(read),
    }
    .with_context(|| format!("cannot read {}crm.toml", wh.root()))?;
    let Some(bytes) = bytes else {
        return Ok(Config::default());
    };
    let text =
        String::from_utf8(bytes).with_context(|| format!("{}crm.toml is not UTF-8", wh.root()))?;
    let mut config = Config::parse(&text)
        .map_err(|m| anyhow::anyhow!("config {}crm.toml is not valid: {m}", wh.root()))?;
    config.storage = Default::default();
    Ok(config)
}

/// Prints a one-line error and picks the exit code: 4 when the warehouse is
/// locked, 0 for a closed pipe (`crm sql ... | head`), 1 otherwise.
pub fn report_error(e: &anyhow::Error) -> ExitCode {
    for cause in e.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return ExitCode::SUCCESS;
        }
        if let Some(crm_warehouse::Error::Locked(_)) = cause.downcast_ref::<crm_warehouse::Error>()
        {
            eprintln!("crm: {cause}");
            return ExitCode::from(4);
        }
    }
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !line.contains(&c) {
            line.push_str(": ");
            line.push_str(&c);
        }
    }
    eprintln!("crm: error: {}", line.replace('\n', " "));
    ExitCode::from(1)
}
