//! `crm.toml`: one file at the warehouse root, one section per feature.
//!
//! Every field has a default, so an empty file (or none) is a valid
//! configuration. Unknown keys are errors: a typo must not silently fall
//! back to a default. `crm init` writes [`Config::commented_default`].

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A configuration that could not be read; the message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Zone that timestamps with an offset are converted to.
    pub timezone: String,
    /// Currency code used in reports.
    pub currency: String,
    pub ingest: IngestConfig,
    pub engine: EngineConfig,
    pub rfm: crate::rfm::RfmConfig,
    pub clv: crate::clv::ClvConfig,
    pub funnel: crate::funnel::FunnelConfig,
    pub traffic_light: crate::funnel::TrafficLightConfig,
    pub report: ReportConfig,
    pub export: ExportConfig,
    pub storage: StorageConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            timezone: "Europe/Moscow".into(),
            currency: "RUB".into(),
            ingest: IngestConfig::default(),
            engine: EngineConfig::default(),
            rfm: crate::rfm::RfmConfig::default(),
            clv: crate::clv::ClvConfig::default(),
            funnel: crate::funnel::FunnelConfig::default(),
            traffic_light: crate::funnel::TrafficLightConfig::default(),
            report: ReportConfig::default(),
            export: ExportConfig::default(),
            storage: StorageConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// Region for phone numbers written without a country code.
    pub phone_region: String,
    /// A date more than this many days after the load's clock is `future_date`.
    pub future_tolerance_days: u32,
    /// Rows per Arrow batch when parsing.
    pub batch_rows: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            phone_region: "RU".into(),
            future_tolerance_days: 1,
            batch_rows: 65_536,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// DataFusion target partitions; 0 = two per core and at least 16, or
    /// one per core under a memory limit or on a cluster.
    pub target_partitions: usize,
    /// Memory limit for query execution, e.g. "4GiB"; empty = unbounded.
    pub memory_limit: String,
    /// Directory for spill files under a memory limit; empty = the OS temp directory.
    pub spill_dir: String,
}

/// `[report]`: the dashboard and Markdown summary.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ReportConfig {
    /// Language of reports and export headers: "ru" or "en".
    pub lang: String,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig { lang: "ru".into() }
    }
}

/// `[export]`: mailing lists and BI extracts.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ExportConfig {
    /// Encoding of CSV mailing lists: "utf-8" (`,` and `.` decimals) or
    /// "windows-1251" (`;` and decimal commas, for Excel and 1C).
    pub encoding: String,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            encoding: "utf-8".into(),
        }
    }
}

/// `[storage]`: how to reach an object-store warehouse (`s3://bucket/prefix`).
/// An empty or absent value leaves the setting to the standard AWS variables
/// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, ...); a value given
/// here wins over them. Ignored for a local warehouse. Because the store must be
/// open before a bucket's own crm.toml can be read, this section counts only in
/// a file given with `--config`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// S3 endpoint, e.g. "http://127.0.0.1:9000" for MinIO (AWS_ENDPOINT_URL).
    pub endpoint: String,
    /// Region (AWS_REGION / AWS_DEFAULT_REGION).
    pub region: String,
    /// Static credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// Allow plain http:// endpoints (AWS_ALLOW_HTTP).
    pub allow_http: Option<bool>,
    /// Address buckets as bucket.endpoint instead of endpoint/bucket.
    pub virtual_hosted_style: Option<bool>,
    /// Any other object_store S3 option by its key, e.g. aws_request_payer = "true".
    pub options: BTreeMap<String, String>,
}

impl StorageConfig {
    /// The settings as object_store option keys; unset ones are left out.
    pub fn options(&self) -> HashMap<String, String> {
        let mut out: HashMap<String, String> = self
            .options
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (key, value) in [
            ("aws_endpoint_url", &self.endpoint),
            ("aws_region", &self.region),
            ("aws_access_key_id", &self.access_key_id),
            ("aws_secret_access_key", &self.secret_access_key),
            ("aws_session_token", &self.session_token),
        ] {
            if !value.trim().is_empty() {
                out.insert(key.into(), value.trim().into());
            }
        }
        for (key, value) in [
            ("aws_allow_http", self.allow_http),
            (
                "aws_virtual_hosted_style_request",
                self.virtual_hosted_style,
            ),
        ] {
            if let Some(v) = value {
                out.insert(key.into(), v.to_string());
            }
        }
        out
    }
}

impl Config {
    /// Reads `path`; a missing file is an error (the caller decides whether
    /// a missing default `crm.toml` is fine).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config
            .timezone
            .parse::<chrono_tz_free::ZoneName>()
            .map_err(|e| format!("timezone: {e}"))?;
        config.rfm.validate()?;
        config.rfm.segment_map().map_err(|e| e.to_string())?;
        config.funnel.validate()?;
        config.traffic_light.validate()?;
        config.clv.validate()?;
        if !matches!(config.report.lang.as_str(), "ru" | "en") {
            return Err(format!(
                "[report] lang = '{}': expected \"ru\" or \"en\"",
                config.report.lang
            ));
        }
        if !matches!(
            config.export.encoding.to_ascii_lowercase().as_str(),
            "utf-8" | "utf8" | "windows-1251" | "cp1251"
        ) {
            return Err(format!(
                "[export] encoding = '{}': expected \"utf-8\" or \"windows-1251\"",
                config.export.encoding
            ));
        }
        Ok(config)
    }

    /// The text `crm init` writes: every default, commented.
    pub fn commented_default() -> &'static str {
        include_str!("crm.default.toml")
    }
}

/// A zone name check that needs no zone database: the engine resolves the
/// zone itself; here we only refuse obviously broken values early.
mod chrono_tz_free {
    use std::str::FromStr;

    pub struct ZoneName;

    impl FromStr for ZoneName {
        type Err = String;
        fn from_str(s: &str) -> Result<Self, String> {
            let ok = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c));
            if ok {
                Ok(ZoneName)
            } else {
                Err(format!(
                    "'{s}' is not a zone name like Europe/Moscow or UTC"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commented_default_parses_to_the_defaults() {
        assert_eq!(
            Config::parse(Config::commented_default()).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn typos_are_errors_not_silent_defaults() {
        let err = Config::parse("[ingest]\nphone_regoin = \"KZ\"\n").unwrap_err();
        assert!(err.contains("phone_regoin"), "{err}");
    }

    #[test]
    fn storage_settings_become_object_store_options() {
        let c = Config::parse(
            "[storage]\nendpoint = \"http://127.0.0.1:9000\"\nallow_http = true\n\
             [storage.options]\naws_request_payer = \"true\"\n",
        )
        .unwrap();
        let o = c.storage.options();
        assert_eq!(o["aws_endpoint_url"], "http://127.0.0.1:9000");
        assert_eq!(o["aws_allow_http"], "true");
        assert_eq!(o["aws_request_payer"], "true");
        assert!(!o.contains_key("aws_region"));
        assert!(Config::default().storage.options().is_empty());
    }

    #[test]
    fn values_override_defaults() {
        let c =
            Config::parse("timezone = \"Asia/Almaty\"\n[ingest]\nphone_region = \"KZ\"\n").unwrap();
        assert_eq!(c.timezone, "Asia/Almaty");
        assert_eq!(c.ingest.phone_region, "KZ");
        assert_eq!(c.ingest.future_tolerance_days, 1);
    }
}
