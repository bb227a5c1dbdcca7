//! Log lines on stderr, one per record, for the `crm` binary (`-vv`) and
//! the cluster processes: `<epoch seconds.millis> <LEVEL> <target>: <message>`,
//! which sorts and greps well under cron.
//!
//! `RUST_LOG` (one level: `error`, `warn`, `info`, `debug`, `trace`), when
//! set, applies to every target and wins over the levels given to [`init`].

use log::{LevelFilter, Log, Metadata, Record};

struct StderrLog {
    /// Level for crm's own targets (`crm...`).
    crm: LevelFilter,
    /// Level for everything else (DataFusion, delta-rs, Ballista).
    other: LevelFilter,
}

impl StderrLog {
    fn level_for(&self, target: &str) -> LevelFilter {
        if target.starts_with("crm") {
            self.crm
        } else {
            self.other
        }
    }
}

impl Log for StderrLog {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level_for(metadata.target())
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!(
                "{} {:<5} {}: {}",
                epoch_timestamp(),
                record.level(),
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

/// Seconds since the epoch, with milliseconds: enough to order log lines.
fn epoch_timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:03}", now.as_secs(), now.subsec_millis())
}

/// The level `RUST_LOG` names, if it is set to one.
fn env_level() -> Option<LevelFilter> {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|l| l.trim().parse().ok())
}

/// Installs the stderr logger: `crm` for crm's own targets, `other` for the
/// rest, unless `RUST_LOG` names one level for all. Nothing is installed
/// when both are `Off` and `RUST_LOG` is unset, and a second call is a no-op.
pub fn init(crm: LevelFilter, other: LevelFilter) {
    let (crm, other) = env_level().map_or((crm, other), |l| (l, l));
    if crm == LevelFilter::Off && other == LevelFilter::Off {
        return;
    }
    let logger: &'static StderrLog = Box::leak(Box::new(StderrLog { crm, other }));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(crm.max(other));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crm_targets_have_their_own_level() {
        let l = StderrLog {
            crm: LevelFilter::Debug,
            other: LevelFilter::Warn,
        };
        assert_eq!(l.level_for("crm::query"), LevelFilter::Debug);
        assert_eq!(l.level_for("crm_engine::rfm"), LevelFilter::Debug);
        assert_eq!(l.level_for("datafusion::physical_plan"), LevelFilter::Warn);
        let debug = |target| {
            Metadata::builder()
                .level(log::Level::Debug)
                .target(target)
                .build()
        };
        assert!(l.enabled(&debug("crm::query")));
        assert!(!l.enabled(&debug("deltalake")));
    }
}
