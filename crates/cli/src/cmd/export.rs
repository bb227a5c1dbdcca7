//! `crm export`: the marts for BI tools (one file per mart and as-of date,
//! Parquet, CSV or JSON lines) and mailing lists of RFM segments (XLSX or
//! CSV, UTF-8 or Windows-1251) with only the customers who consented.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use arrow::array::{Array, BooleanArray, RecordBatch, StringArray};
use chrono::NaiveDate;
use crm_engine::EngineOptions;
use crm_report::locale::Lang;
use crm_report::output::{self, OutputFormat};
use crm_report::sheet::{CsvEncoding, SheetFormat};
use crm_warehouse::{MART_NAMES, Warehouse};

use crate::context::{Ctx, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Every mart (or those named) as one file per mart and as-of date under --out DIR:
    /// DIR/<mart>/<mart>_<as_of>.parquet|csv|jsonl. Schemas: docs/marts.md.
    Marts {
        /// Only this mart (repeatable) [default: all].
        #[arg(long = "mart", value_name = "NAME")]
        marts: Vec<String>,
        /// Only this as-of date [default: every date].
        #[arg(long, value_name = "DATE")]
        as_of: Option<NaiveDate>,
        /// Replace files that already exist.
        #[arg(long)]
        force: bool,
    },
    /// A mailing list of RFM segments with contacts, RFM and CLV fields, to --out FILE.
    /// Only customers with marketing consent are written; the others are counted by reason.
    Segment {
        /// Segment code, e.g. at_risk (repeatable).
        #[arg(long = "segment", value_name = "NAME", required = true)]
        segments: Vec<String>,
        /// The as-of date [default: the latest date `crm run` computed].
        #[arg(long, value_name = "DATE")]
        as_of: Option<NaiveDate>,
        /// CSV encoding: utf-8 (`,`, `.` decimals) or windows-1251 (`;`, decimal commas)
        /// [default: [export] encoding].
        #[arg(long, value_parser = parse_encoding)]
        encoding: Option<CsvEncoding>,
        /// Header language: ru (Russian titles) or en (column codes) [default: [report] lang].
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
}

fn parse_encoding(s: &str) -> Result<CsvEncoding, String> {
    s.parse()
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    s.parse()
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    match args.command {
        Sub::Marts {
            marts,
            as_of,
            force,
        } => export_marts(ctx, &marts, as_of, force).await,
        Sub::Segment {
            segments,
            as_of,
            encoding,
            lang,
            force,
        } => export_segment(ctx, &segments, as_of, encoding, lang, force).await,
    }
}

/// Refuses to overwrite without `--force` and names a missing directory.
fn check_target(path: &Path, force: bool) -> Result<()> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        bail!(
            "the directory {} does not exist: create it first, or choose another --out",
            parent.display()
        );
    }
    if path.exists() && !force {
        bail!(
            "{} already exists: pass --force to replace it",
            path.display()
        );
    }
    Ok(())
}

/// Writes through a temporary file beside `path` and renames it into
/// place, so that a killed export never leaves half a file under the name.
fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.partial"));
    let result = write(&tmp);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

async fn export_marts(
    ctx: &Ctx,
    only: &[String],
    as_of: Option<NaiveDate>,
    force: bool,
) -> Result<Outcome> {
    let Some(dir) = ctx.out.clone() else {
        bail!("crm export marts writes files: give the directory with --out DIR");
    };
    if !dir.is_dir() {
        bail!(
            "the directory {} does not exist: create it first, or choose another --out",
            dir.display()
        );
    }
    let format = match ctx.format_given().then(|| ctx.format()) {
        None | Some(OutputFormat::Parquet) => OutputFormat::Parquet,
        Some(OutputFormat::Csv) => OutputFormat::Csv,
        Some(OutputFormat::Json) => OutputFormat::Json,
        Some(other) => bail!("crm export marts writes parquet, csv or json, not {other:?}"),
    };
    let ext = match format {
        OutputFormat::Csv => "csv",
        OutputFormat::Json => "jsonl",
        _ => "parquet",
    };
    if let Some(bad) = only.iter().find(|m| !MART_NAMES.contains(&m.as_str())) {
        bail!("'{bad}' is not a mart; marts are {}", MART_NAMES.join(", "));
    }
    let wh = ctx.warehouse()?;
    let engine = ctx.engine(&wh, EngineOptions::default()).await?;
    let mut files = 0usize;
    let mut rows = 0usize;
    for mart in MART_NAMES
        .iter()
        .filter(|m| only.is_empty() || only.iter().any(|o| o == *m))
    {
        let dates: Vec<NaiveDate> = wh
            .mart_dates(mart)
            .await?
            .into_iter()
            .filter(|d| as_of.is_none_or(|a| a == *d))
            .collect();
        if dates.is_empty() {
            ctx.debug(&format!("{mart}: nothing to export"));
            continue;
        }
        let mart_dir = dir.join(mart);
        std::fs::create_dir_all(&mart_dir)
            .with_context(|| format!("cannot create {}", mart_dir.display()))?;
        for d in dates {
            let path = mart_dir.join(format!("{mart}_{d}.{ext}"));
            check_target(&path, force)?;
            let df = engine
                .sql(&format!("SELECT * FROM {mart} WHERE as_of = DATE '{d}'"))
                .await?;
            let schema = df.schema().as_arrow().clone();
            let batches = df.collect().await?;
            rows += batches.iter().map(RecordBatch::num_rows).sum::<usize>();
            write_atomically(&path, |tmp| {
                if format == OutputFormat::Parquet {
                    output::write_parquet_file(tmp, &schema, &batches)?;
                } else {
                    let mut f = std::io::BufWriter::new(std::fs::File::create(tmp)?);
                    output::write_batches(format, &schema, &batches, &mut f)?;
                }
                Ok(())
            })?;
            files += 1;
        }
    }
    ctx.info(&format!(
        "crm export marts: {files} files, {rows} rows, in {}",
        dir.display()
    ));
    Ok(Outcome::Success)
}

/// Column headers of the mailing list: codes in English, titles in Russian.
fn headers(columns: &[String], lang: Lang, currency: &str) -> Vec<String> {
    let sign = crm_report::locale::currency_sign(currency);
    columns
        .iter()
        .map(|c| {
            if lang == Lang::En {
                return c.clone();
            }
            match c.as_str() {
                "customer_id" => "Код клиента".into(),
                "full_name" => "Клиент".into(),
                "email" => "E-mail".into(),
                "phone" => "Телефон".into(),
                "city" => "Город".into(),
                "segment" => "Сегмент (код)".into(),
                "segment_ru" => "Сегмент".into(),
                "r" => "R".into(),
                "f" => "F".into(),
                "m" => "M".into(),
                "recency_days" => "Дней с последней покупки".into(),
                "frequency" => "Покупок".into(),
                "monetary" => format!("Сумма покупок, {sign}"),
                "clv" => format!("CLV, {sign}"),
                "p_alive" => "Вероятность активности".into(),
                "expected_purchases" => "Ожидаемых покупок".into(),
                other => other.into(),
            }
        })
        .collect()
}

async fn export_segment(
    ctx: &Ctx,
    segments: &[String],
    as_of: Option<NaiveDate>,
    encoding: Option<CsvEncoding>,
    lang: Option<Lang>,
    force: bool,
) -> Result<Outcome> {
    let Some(path) = ctx.out.clone() else {
        bail!("crm export segment writes a file: give it with --out FILE (.xlsx or .csv)");
    };
    let by_extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let xlsx = match (
        ctx.format_given().then(|| ctx.format()),
        by_extension.as_deref(),
    ) {
        (Some(OutputFormat::Xlsx), _) | (None, Some("xlsx")) => true,
        (Some(OutputFormat::Csv), _) | (None, _) => false,
        (Some(other), _) => bail!("a mailing list is xlsx or csv, not {other:?}"),
    };
    check_target(&path, force)?;
    let encoding = match encoding {
        Some(e) => e,
        None => ctx
            .config
            .export
            .encoding
            .parse()
            .map_err(|e: String| anyhow::anyhow!("[export] encoding: {e}"))?,
    };
    let lang = super::report::lang(ctx, lang)?;

    let wh: Warehouse = ctx.warehouse()?;
    let latest = super::report::latest_as_of(&wh).await?;
    let (as_of, which) = match (as_of, latest) {
        (Some(d), _) => (d, "given"),
        (None, Some(d)) => (d, "latest"),
        (None, None) => bail!("no RFM snapshot in the warehouse: run `crm run` first"),
    };
    let engine = ctx.engine(&wh, EngineOptions::default()).await?;
    let list = engine
        .segment_list(as_of, segments)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    // Split the rows: those without a left_out reason go out; the others are counted.
    let mut left_out: BTreeMap<String, usize> = BTreeMap::new();
    let mut kept = Vec::new();
    let reason_at = list.schema.index_of("left_out")?;
    for b in &list.batches {
        let reason = arrow::compute::cast(b.column(reason_at), &arrow::datatypes::DataType::Utf8)?;
        let reason = reason
            .as_any()
            .downcast_ref::<StringArray>()
            .context("left_out is text")?;
        for r in reason.iter().flatten() {
            *left_out.entry(r.to_string()).or_default() += 1;
        }
        let keep = BooleanArray::from_iter((0..b.num_rows()).map(|i| Some(reason.is_null(i))));
        let mut filtered = arrow::compute::filter_record_batch(b, &keep)?;
        filtered.remove_column(reason_at);
        kept.push(filtered);
    }
    let schema = arrow::datatypes::Schema::new(
        list.schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != reason_at)
            .map(|(_, f)| f.clone())
            .collect::<Vec<_>>(),
    );
    let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let header = headers(&columns, lang, &ctx.config.currency);
    let format = if xlsx {
        SheetFormat::Xlsx
    } else {
        SheetFormat::Csv(encoding)
    };
    let sheet = if lang == Lang::Ru {
        "Рассылка"
    } else {
        "Mailing"
    };
    let mut stats = None;
    write_atomically(&path, |tmp| {
        stats = Some(crm_report::sheet::write_sheet(
            tmp, format, sheet, &header, &schema, &kept,
        )?);
        Ok(())
    })?;
    let stats = stats.expect("written");

    let total: usize = left_out.values().sum::<usize>() + stats.rows;
    let reasons = if left_out.is_empty() {
        "none left out".to_string()
    } else {
        let parts: Vec<String> = left_out.iter().map(|(k, v)| format!("{k} {v}")).collect();
        format!("left out {}: {}", total - stats.rows, parts.join(", "))
    };
    ctx.info(&format!(
        "crm export segment: as_of {as_of} ({which}); {} of {total} customers in {} written to {}; {reasons}",
        stats.rows,
        segments.join(", "),
        path.display()
    ));
    if !stats.respelled.is_empty() {
        let parts: Vec<String> = stats
            .respelled
            .iter()
            .map(|(c, n)| format!("'{c}' ×{n}"))
            .collect();
        ctx.info(&format!(
            "Windows-1251 has no {}: written with their documented spellings (docs/export.md)",
            parts.join(", ")
        ));
    }
    if stats.references > 0 {
        ctx.info(&format!(
            "{} characters that Windows-1251 lacks were written as &#NNNN; references",
            stats.references
        ));
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_checked_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope").join("x.csv");
        let e = check_target(&missing, false).unwrap_err().to_string();
        assert!(e.contains("does not exist"), "{e}");
        let existing = dir.path().join("x.csv");
        std::fs::write(&existing, "a").unwrap();
        let e = check_target(&existing, false).unwrap_err().to_string();
        assert!(e.contains("--force"), "{e}");
        check_target(&existing, true).unwrap();
    }

    #[test]
    fn russian_headers_name_the_currency() {
        let cols = vec!["monetary".to_string(), "email".to_string()];
        assert_eq!(
            headers(&cols, Lang::Ru, "RUB"),
            ["Сумма покупок, ₽", "E-mail"]
        );
        assert_eq!(headers(&cols, Lang::En, "RUB"), ["monetary", "email"]);
    }
}
