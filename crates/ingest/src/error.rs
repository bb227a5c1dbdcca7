//! The crate's one error type. Every variant names the file it is about and,
//! where it can, what the user should do next, because the CLI prints the
//! message as its one-line fatal error.

use std::path::PathBuf;

/// A fatal problem: the file (or mapping) cannot be read at all.
/// Row-level problems are never errors; they become quarantine rows.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{path}: cannot read the file: {source}; check the path and its permissions")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The mapping file is broken; the message names the bad key.
    #[error("mapping {path}: {message}")]
    Mapping { path: PathBuf, message: String },
    /// The file can be read but not loaded as asked (no header, a missing
    /// required column, a mapping that names a column the file lacks, ...).
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
        Error::File {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
