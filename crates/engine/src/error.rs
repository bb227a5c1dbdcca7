/// Errors of the query engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Warehouse(#[from] crm_warehouse::Error),
    #[error("query: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
