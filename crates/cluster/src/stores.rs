//! The object stores of crm warehouses, for every process of a cluster.
//!
//! DataFusion serves `file://` itself. For `s3://` the scheduler (which lists
//! files while planning) and the executors (which read them) need a client;
//! this registry builds crm's own S3 client for a bucket the first time a plan
//! names it, configured from the `AWS_*` environment of that process.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionState;
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::SessionConfig;
use object_store::ObjectStore;
use url::Url;

/// DataFusion's registry, plus S3 buckets on first use.
#[derive(Debug, Default)]
pub(crate) struct WarehouseStores {
    inner: DefaultObjectStoreRegistry,
}

impl ObjectStoreRegistry for WarehouseStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.inner.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        self.inner.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        match self.inner.get_store(url) {
            Ok(store) => Ok(store),
            Err(not_found) => match crm_warehouse::s3_store_from_env(url) {
                Some(Ok(store)) => {
                    self.inner.register_store(url, Arc::clone(&store));
                    Ok(store)
                }
                Some(Err(e)) => Err(DataFusionError::ObjectStore(Box::new(e))),
                None => Err(not_found),
            },
        }
    }
}

/// A runtime builder whose object stores include the warehouse's.
pub(crate) fn runtime() -> RuntimeEnvBuilder {
    RuntimeEnvBuilder::new().with_object_store_registry(Arc::new(WarehouseStores::default()))
}

/// `state` with the warehouse's object stores (its memory pool and disk
/// manager are kept).
pub(crate) fn with_warehouse_stores(state: SessionState) -> Result<SessionState> {
    let runtime = RuntimeEnvBuilder::from_runtime_env(state.runtime_env())
        .with_object_store_registry(Arc::new(WarehouseStores::default()))
        .build_arc()?;
    Ok(SessionStateBuilder::new_from_existing(state)
        .with_runtime_env(runtime)
        .build())
}

/// The session a scheduler plans with: Ballista's defaults, crm's stores.
pub(crate) fn scheduler_session(config: SessionConfig) -> Result<SessionState> {
    let state = ballista_core::utils::default_session_builder(config)?;
    let mut state = SessionStateBuilder::new_from_existing(state)
        .with_runtime_env(runtime().build_arc()?)
        .build();
    // The plans the scheduler decodes call crm's own functions.
    crm_engine::functions::register_all(&mut state)?;
    Ok(state)
}
