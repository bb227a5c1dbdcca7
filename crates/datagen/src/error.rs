//! The one error type of the generator.

use std::path::PathBuf;

/// Everything that can go wrong while generating data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration cannot describe a data set; the message names the field.
    #[error("invalid generator configuration: {0}")]
    InvalidConfig(String),
    /// A file or directory could not be created, written or renamed.
    #[error("cannot write {}: {source}; check that the directory is writable and the disk has room", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Building an Arrow batch failed (a bug: the generator produced columns of the wrong shape).
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// The Parquet writer refused a batch or could not finish a file.
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
    /// The CSV writer failed.
    #[error("cannot write CSV {}: {source}", path.display())]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
}

/// Result with the generator's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
