//! Mapping files: how a foreign export's columns become canonical columns.
//!
//! The format is documented in `MAPPING.md` beside this crate. A mapping is
//! validated completely when it is loaded, because a typo that silently maps
//! nothing would load a file with empty columns; every error names the file
//! and the dotted key at fault (`columns.amount.formt`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crm_core::schema::{ColumnType, Table};

use crate::error::{Error, Result};

/// Where a canonical column's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnSource {
    /// One source column, by its header name.
    Column(String),
    /// Several source columns joined by `sep` (composite natural keys).
    Concat { columns: Vec<String>, sep: String },
    /// The same text on every row.
    Const(String),
}

/// One canonical column's mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    pub source: ColumnSource,
    /// A chrono format string for this column's dates, overriding sniffing.
    pub date_format: Option<String>,
    /// Decimal comma for this column's money values, overriding sniffing.
    pub decimal_comma: Option<bool>,
    /// Separators for several values in one cell (phones). `None` means the
    /// default: `,` and `;` for `phone`, no splitting elsewhere.
    pub split: Option<Vec<String>>,
}

/// File-level reading options a mapping may fix; explicit `ReadOptions` win.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingOptions {
    pub encoding: Option<String>,
    pub delimiter: Option<u8>,
    pub decimal_comma: Option<bool>,
    pub date_format: Option<String>,
    /// XLSX: the sheet to read (default: the first).
    pub sheet: Option<String>,
}

/// A validated mapping for one canonical table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The file it came from, for error messages.
    pub origin: PathBuf,
    pub table: Table,
    pub options: MappingOptions,
    /// Canonical column name → spec, in canonical order.
    pub columns: BTreeMap<String, ColumnSpec>,
    /// Canonical column name → (source spelling → canonical value).
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// Source columns gathered into `customers.attributes` as a JSON object.
    pub attributes: Vec<String>,
}

impl Mapping {
    /// Reads and validates a mapping file.
    pub fn from_toml_file(path: &Path) -> Result<Mapping> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Mapping {
            path: path.to_path_buf(),
            message: format!("cannot read it: {e}"),
        })?;
        Mapping::from_toml_str(&text, path)
    }

    /// Parses and validates mapping text; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &Path) -> Result<Mapping> {
        let bad = |message: String| Error::Mapping {
            path: origin.to_path_buf(),
            message,
        };
        let doc: toml::Table = toml::from_str(text).map_err(|e| {
            bad(format!(
                "not valid TOML: {}",
                e.to_string().replace('\n', " ")
            ))
        })?;
        for key in doc.keys() {
            if !["table", "options", "columns", "values", "attributes"].contains(&key.as_str()) {
                return Err(bad(format!(
                    "unknown key '{key}': expected table, options, columns, values or attributes"
                )));
            }
        }
        let table: Table = match doc.get("table") {
            Some(toml::Value::String(s)) => s.parse().map_err(|e| bad(format!("table: {e}")))?,
            Some(_) => return Err(bad("table: expected a table name like \"customers\"".into())),
            None => {
                return Err(bad(
                    "missing key 'table': say which canonical table this maps, e.g. table = \"customers\"".into(),
                ));
            }
        };

        let options = match doc.get("options") {
            None => MappingOptions::default(),
            Some(toml::Value::Table(t)) => parse_options(t).map_err(bad)?,
            Some(_) => return Err(bad("options: expected a table [options]".into())),
        };

        let mut columns = BTreeMap::new();
        match doc.get("columns") {
            None => {}
            Some(toml::Value::Table(t)) => {
                for (name, value) in t {
                    let col = table.column(name).ok_or_else(|| {
                        bad(format!(
                            "columns.{name}: '{name}' is not a column of {table}; its columns are {}",
                            column_list(table)
                        ))
                    })?;
                    let spec = parse_column(name, value).map_err(&bad)?;
                    if spec.date_format.is_some()
                        && !matches!(col.ty, ColumnType::Date | ColumnType::Timestamp)
                    {
                        return Err(bad(format!(
                            "columns.{name}.date_format: {name} is not a date or timestamp column"
                        )));
                    }
                    if spec.decimal_comma.is_some() && col.ty != ColumnType::Money {
                        return Err(bad(format!(
                            "columns.{name}.decimal_comma: {name} is not a money column"
                        )));
                    }
                    columns.insert(name.clone(), spec);
                }
            }
            Some(_) => return Err(bad("columns: expected a table [columns]".into())),
        }

        let mut values = BTreeMap::new();
        match doc.get("values") {
            None => {}
            Some(toml::Value::Table(t)) => {
                for (name, value) in t {
                    if table.column(name).is_none() {
                        return Err(bad(format!(
                            "values.{name}: '{name}' is not a column of {table}"
                        )));
                    }
                    if name == "stage" {
                        return Err(bad(
                            "values.stage: stage names are stored raw; map stage aliases in the funnel configuration instead".into(),
                        ));
                    }
                    let toml::Value::Table(pairs) = value else {
                        return Err(bad(format!(
                            "values.{name}: expected a table of \"source spelling\" = \"canonical value\""
                        )));
                    };
                    let mut map = BTreeMap::new();
                    for (from, to) in pairs {
                        let toml::Value::String(to) = to else {
                            return Err(bad(format!(
                                "values.{name}.\"{from}\": expected a string value"
                            )));
                        };
                        map.insert(from.trim().to_string(), to.clone());
                    }
                    values.insert(name.clone(), map);
                }
            }
            Some(_) => return Err(bad("values: expected a table [values.<column>]".into())),
        }

        let attributes = match doc.get("attributes") {
            None => Vec::new(),
            Some(v) => {
                if table != Table::Customers {
                    return Err(bad(
                        "attributes: only the customers table has an attributes column".into(),
                    ));
                }
                string_list(v).ok_or_else(|| {
                    bad("attributes: expected a list of source column names".into())
                })?
            }
        };
        if attributes.is_empty() && doc.contains_key("attributes") {
            return Err(bad("attributes: the list is empty".into()));
        }
        if !attributes.is_empty() && columns.contains_key("attributes") {
            return Err(bad(
                "attributes: give either columns.attributes or an attributes list, not both".into(),
            ));
        }

        Ok(Mapping {
            origin: origin.to_path_buf(),
            table,
            options,
            columns,
            values,
            attributes,
        })
    }
}

fn column_list(table: Table) -> String {
    table
        .columns()
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn string_list(v: &toml::Value) -> Option<Vec<String>> {
    match v {
        toml::Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => None,
    }
}

fn parse_options(t: &toml::Table) -> std::result::Result<MappingOptions, String> {
    let mut o = MappingOptions::default();
    for (key, value) in t {
        let as_str = || {
            value
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("options.{key}: expected a string"))
        };
        match key.as_str() {
            "encoding" => {
                let e = as_str()?;
                crate::sniff::Encoding::parse(&e).map_err(|m| format!("options.encoding: {m}"))?;
                o.encoding = Some(e);
            }
            "delimiter" => {
                o.delimiter = Some(
                    crate::sniff::parse_delimiter(&as_str()?)
                        .map_err(|m| format!("options.delimiter: {m}"))?,
                )
            }
            "decimal_comma" => {
                o.decimal_comma = Some(
                    value
                        .as_bool()
                        .ok_or("options.decimal_comma: expected true or false")?,
                )
            }
            "date_format" => o.date_format = Some(as_str()?),
            "sheet" => o.sheet = Some(as_str()?),
            _ => {
                return Err(format!(
                    "options.{key}: unknown option; expected encoding, delimiter, decimal_comma, date_format or sheet"
                ));
            }
        }
    }
    Ok(o)
}

fn parse_column(name: &str, value: &toml::Value) -> std::result::Result<ColumnSpec, String> {
    let mut spec = ColumnSpec {
        source: ColumnSource::Const(String::new()),
        date_format: None,
        decimal_comma: None,
        split: None,
    };
    match value {
        toml::Value::String(s) => {
            spec.source = ColumnSource::Column(s.clone());
            Ok(spec)
        }
        toml::Value::Table(t) => {
            let mut source = None;
            let mut sep = None;
            for (key, v) in t {
                let here = format!("columns.{name}.{key}");
                match key.as_str() {
                    "column" | "const" | "concat" if source.is_some() => {
                        return Err(format!("{here}: give only one of column, concat or const"));
                    }
                    "column" => {
                        source = Some(ColumnSource::Column(
                            v.as_str()
                                .ok_or(format!("{here}: expected a source column name"))?
                                .to_string(),
                        ))
                    }
                    "const" => {
                        source = Some(ColumnSource::Const(
                            v.as_str()
                                .ok_or(format!("{here}: expected a string"))?
                                .to_string(),
                        ))
                    }
                    "concat" => {
                        let cols = string_list(v)
                            .filter(|c| !c.is_empty())
                            .ok_or(format!("{here}: expected a list of source column names"))?;
                        source = Some(ColumnSource::Concat {
                            columns: cols,
                            sep: String::new(),
                        })
                    }
                    "sep" => {
                        sep = Some(
                            v.as_str()
                                .ok_or(format!("{here}: expected a string"))?
                                .to_string(),
                        )
                    }
                    "date_format" => {
                        spec.date_format = Some(
                            v.as_str()
                                .ok_or(format!(
                                    "{here}: expected a chrono format like \"%d.%m.%Y\""
                                ))?
                                .to_string(),
                        )
                    }
                    "decimal_comma" => {
                        spec.decimal_comma = Some(
                            v.as_bool()
                                .ok_or(format!("{here}: expected true or false"))?,
                        )
                    }
                    "split" => {
                        spec.split = Some(
                            string_list(v)
                                .ok_or(format!("{here}: expected a list of separators"))?,
                        )
                    }
                    _ => {
                        return Err(format!(
                            "{here}: unknown key; expected column, concat, sep, const, date_format, decimal_comma or split"
                        ));
                    }
                }
            }
            spec.source = match (source, sep) {
                (None, _) => {
                    return Err(format!(
                        "columns.{name}: say where it comes from: column = \"...\", concat = [...] or const = \"...\""
                    ));
                }
                (Some(ColumnSource::Concat { columns, .. }), sep) => ColumnSource::Concat {
                    columns,
                    sep: sep.unwrap_or_default(),
                },
                (Some(_), Some(_)) => {
                    return Err(format!("columns.{name}.sep: sep goes with concat only"));
                }
                (Some(s), None) => s,
            };
            Ok(spec)
        }
        _ => Err(format!(
            "columns.{name}: expected a source column name or a table like {{ column = \"...\" }}"
        )),
    }
}
