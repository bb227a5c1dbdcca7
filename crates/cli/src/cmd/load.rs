//! `crm load --table T FILE...`: files → ingest → one atomic warehouse load.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use crm_core::Table;
use crm_ingest::{Mapping, ReadOptions};
use crm_warehouse::{
    FileChunk, FileInput, FileStream, LoadMode, LoadReport, LoadRequest, Warehouse,
};

use crate::context::{Ctx, Outcome};
use crate::progress;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The canonical table: customers, transactions, interactions, interests,
    /// interest_stages, managers or campaigns.
    #[arg(long, value_parser = parse_table)]
    pub table: Table,

    /// Files to load (csv, tsv, jsonl, parquet, xlsx; optionally .gz).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Mapping of foreign columns and values to the canonical model (TOML).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,

    /// upsert: insert new keys, update known ones. replace: the files are a
    /// full snapshot, rows absent from them are deleted.
    #[arg(long, default_value = "upsert", value_parser = parse_mode)]
    pub mode: LoadMode,

    /// Text encoding (utf-8, windows-1251) instead of sniffing it.
    #[arg(long)]
    pub encoding: Option<String>,

    /// Field delimiter (one character, or "tab") instead of sniffing it.
    #[arg(long)]
    pub delimiter: Option<String>,

    /// Read "1 234,56" as a decimal comma (--decimal-comma=false to forbid it).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub decimal_comma: Option<bool>,

    /// Date format (chrono syntax, e.g. %d.%m.%Y) instead of sniffing it.
    #[arg(long, value_name = "FORMAT")]
    pub date_format: Option<String>,
}

fn parse_table(s: &str) -> Result<Table, String> {
    s.parse()
        .map_err(|e: crm_core::schema::UnknownTable| e.to_string())
}

fn parse_mode(s: &str) -> Result<LoadMode, String> {
    match s {
        "upsert" => Ok(LoadMode::Upsert),
        "replace" => Ok(LoadMode::Replace),
        other => Err(format!(
            "unknown mode '{other}': expected upsert or replace"
        )),
    }
}

fn parse_delimiter(s: &str) -> Result<u8> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        s if s.len() == 1 => Ok(s.as_bytes()[0]),
        other => {
            bail!("--delimiter '{other}': expected one character such as ; , | or the word tab")
        }
    }
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let wh = ctx.warehouse()?;
    let report = load_files(ctx, &wh, &args).await?;
    print_report(ctx, &report)?;
    Ok(if report.rows_quarantined > 0 {
        Outcome::Quarantined
    } else {
        Outcome::Success
    })
}

/// Parses every file and loads them as one load. Shared with `crm demo`
/// and `crm gen`.
pub async fn load_files(ctx: &Ctx, wh: &Warehouse, args: &Args) -> Result<LoadReport> {
    let started = std::time::Instant::now();
    let mapping = match &args.mapping {
        Some(p) => Some(Mapping::from_toml_file(p)?),
        None => None,
    };
    let opts = ReadOptions {
        table: args.table,
        mapping,
        encoding: args.encoding.clone(),
        delimiter: args.delimiter.as_deref().map(parse_delimiter).transpose()?,
        decimal_comma: args.decimal_comma,
        date_format: args.date_format.clone(),
        timezone: ctx.config.timezone.clone(),
        ingest: ctx.config.ingest.clone(),
        now: ctx.now(),
    };

    let mut fingerprint_parts: Vec<Vec<u8>> = vec![
        args.table.name().as_bytes().to_vec(),
        args.mode.as_str().as_bytes().to_vec(),
        format!(
            "{:?}",
            (
                &args.encoding,
                &args.delimiter,
                args.decimal_comma,
                &args.date_format
            )
        )
        .into_bytes(),
    ];
    if let Some(p) = &args.mapping {
        fingerprint_parts
            .push(std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?);
    }
    // Hashing reads every file; the warehouse runs it while it parses.
    let hashed = args.files.clone();
    let fingerprint = Box::new(move || -> Result<String, crm_warehouse::SourceError> {
        for path in &hashed {
            fingerprint_parts.push(content_hash(path)?.into_bytes());
        }
        let parts: Vec<&[u8]> = fingerprint_parts.iter().map(Vec::as_slice).collect();
        Ok(crm_warehouse::load_fingerprint(&parts))
    });
    let files = args
        .files
        .iter()
        .map(|path| file_input(ctx, path, &opts))
        .collect();
    let request = LoadRequest {
        table: args.table,
        mode: args.mode,
        fingerprint,
        files,
        now: opts.now,
    };
    let report = wh.load(request).await?;
    ctx.info(&summary_line(&report, started.elapsed()));
    Ok(report)
}

/// A file of the load, opened (sniffed, mapped, parsed on other threads)
/// when the warehouse reaches it.
fn file_input(ctx: &Ctx, path: &Path, opts: &ReadOptions) -> FileInput {
    let shown = path.display().to_string();
    let path = path.to_path_buf();
    let opts = opts.clone();
    let verbose = ctx.verbose > 0 && !ctx.quiet;
    let quiet = ctx.quiet;
    FileInput {
        path: shown.clone(),
        open: Box::new(move || {
            let reader = crm_ingest::open(&path, &opts)?;
            let info = reader.info().clone();
            if verbose {
                for ignored in &info.ignored_columns {
                    eprintln!("{shown}: column '{ignored}' is not mapped and was ignored");
                }
            }
            let bar = progress::spinner(&format!("reading {shown}"), quiet);
            let mut reader = reader;
            let mut rows_read = 0u64;
            let chunks = std::iter::from_fn(move || match reader.next_chunk() {
                Ok(Some(chunk)) => {
                    rows_read += chunk.rows_read;
                    bar.set_message(format!("reading {shown}: {rows_read} rows"));
                    Some(Ok(FileChunk {
                        batch: chunk.batch,
                        quarantine: chunk.quarantine,
                        rows_read: chunk.rows_read,
                    }))
                }
                Ok(None) => {
                    bar.finish_and_clear();
                    None
                }
                Err(e) => {
                    bar.finish_and_clear();
                    Some(Err(e.into()))
                }
            });
            Ok(FileStream {
                path: path.display().to_string(),
                present_columns: info.present_columns.iter().map(|c| c.to_string()).collect(),
                chunks: Box::new(chunks),
            })
        }),
    }
}

/// blake3 of a file's bytes, streamed.
fn content_hash(path: &Path) -> Result<String> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().to_hex().to_string())
}

/// The one line a load prints, on a terminal and under cron alike.
fn summary_line(r: &LoadReport, elapsed: std::time::Duration) -> String {
    let mut line = format!(
        "loaded {}: read {}, loaded {}, quarantined {} (inserted {}, updated {}, deleted {}) in {:.1}s, load {}",
        r.table,
        r.rows_read,
        r.rows_loaded,
        r.rows_quarantined,
        r.inserted,
        r.updated,
        r.deleted,
        elapsed.as_secs_f64(),
        r.load_id
    );
    if !r.quarantined_by_reason.is_empty() {
        let reasons: Vec<String> = r
            .quarantined_by_reason
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        line.push_str(&format!(
            "; quarantine: {} (see: crm sql \"SELECT * FROM quarantine WHERE load_id = '{}'\")",
            reasons.join(", "),
            r.load_id
        ));
    }
    if r.resumed {
        line.push_str("; completed an interrupted load");
    }
    line
}

fn print_report(ctx: &Ctx, report: &LoadReport) -> Result<()> {
    if ctx.format_given() {
        ctx.print_object(&serde_json::to_value(report)?)?;
    }
    Ok(())
}
