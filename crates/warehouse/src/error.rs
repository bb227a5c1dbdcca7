use crate::lock::LockInfo;

/// Everything that can go wrong in the warehouse. Messages say what failed
/// and, where the user can act, what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("delta: {0}")]
    Delta(#[from] deltalake::DeltaTableError),
    #[error("query: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("storage: {0}")]
    ObjectStore(#[from] object_store::Error),
    #[error("invalid warehouse location '{location}': {reason}")]
    Location { location: String, reason: String },
    #[error(
        "table '{0}' does not exist in the warehouse yet; load it first with `crm load --table {0} FILE`"
    )]
    NoSuchTable(String),
    #[error("table '{table}' has no version {version}; `crm history {table}` lists the versions")]
    NoSuchVersion { table: String, version: i64 },
    #[error("the warehouse is locked by {0}; wait for it to finish or pass --wait")]
    Locked(LockInfo),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// True for a commit that lost a race with a concurrent writer and can be
    /// retried on a fresh snapshot.
    pub fn is_conflict(&self) -> bool {
        match self {
            Error::Delta(e) => is_conflict(e),
            _ => false,
        }
    }
}

fn is_conflict(e: &deltalake::DeltaTableError) -> bool {
    use deltalake::DeltaTableError as D;
    match e {
        D::Transaction { .. } | D::VersionAlreadyExists(_) => true,
        other => {
            let text = other.to_string().to_lowercase();
            text.contains("conflict")
                || text.contains("already exists")
                || text.contains("concurrent")
        }
    }
}
