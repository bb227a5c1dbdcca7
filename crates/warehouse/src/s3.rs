//! Amazon S3 and S3-compatible stores as a warehouse root (`s3://bucket/prefix`).
//!
//! The client is object_store's own `AmazonS3`, configured from the usual
//! `AWS_*` environment variables, then from explicit options (crm.toml's
//! `[storage]`), which win. delta-rs learns the `s3`/`s3a` schemes through its
//! factory registries: an object store factory that hands out the same client
//! and the default log store, which commits each `_delta_log/N.json` with a
//! create-if-absent put (`PutMode::Create`). object_store sends that as
//! `PUT` with `If-None-Match: *`, so of two writers racing for version N
//! exactly one wins and the other gets `VersionAlreadyExists` and retries on a
//! fresh snapshot. No lock table (DynamoDB) is needed; the store must honour
//! conditional writes, which AWS S3 has done since August 2024, as do MinIO,
//! Cloudflare R2 and Ceph RGW. `crm init` checks it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Once, OnceLock};

use deltalake::logstore::{
    LogStore, LogStoreFactory, ObjectStoreFactory, ObjectStoreRef, StorageConfig, default_logstore,
    logstore_factories, object_store_factories,
};
use deltalake::{DeltaResult, DeltaTableError};
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, S3ConditionalPut};
use object_store::path::Path as ObjectPath;
use url::Url;

/// The URL schemes served by this module.
const SCHEMES: [&str; 2] = ["s3", "s3a"];

/// True for a root or table URL on S3.
pub(crate) fn is_s3(url: &Url) -> bool {
    SCHEMES.contains(&url.scheme())
}

/// Refuses options object_store does not know (a typo must not silently fall
/// back to the environment) and any attempt to turn conditional puts off,
/// which the commit protocol relies on.
pub(crate) fn check_options(options: &HashMap<String, String>) -> Result<(), String> {
    for (key, value) in options {
        let parsed: AmazonS3ConfigKey = key
            .to_ascii_lowercase()
            .parse()
            .map_err(|_| format!("unknown S3 storage option '{key}'"))?;
        if matches!(parsed, AmazonS3ConfigKey::ConditionalPut) && value.trim() != "etag" {
            return Err(format!(
                "storage option '{key}' = '{value}': crm commits with conditional puts \
                 (If-None-Match), which cannot be turned off"
            ));
        }
    }
    Ok(())
}

/// The client for the bucket of `url`: one per bucket and option set per
/// process, so every table shares one connection pool.
pub(crate) fn store(
    url: &Url,
    options: &HashMap<String, String>,
) -> Result<Arc<AmazonS3>, object_store::Error> {
    type Key = (String, BTreeMap<String, String>);
    static CLIENTS: OnceLock<Mutex<HashMap<Key, Arc<AmazonS3>>>> = OnceLock::new();
    let key: Key = (
        format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default()),
        options
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    );
    let clients = CLIENTS.get_or_init(Default::default);
    if let Some(s) = clients.lock().expect("client cache").get(&key) {
        return Ok(s.clone());
    }
    let mut builder = AmazonS3Builder::from_env();
    for (k, v) in options {
        let config_key: AmazonS3ConfigKey = k.to_ascii_lowercase().parse()?;
        builder = builder.with_config(config_key, v);
    }
    let s3 = Arc::new(
        builder
            .with_url(format!(
                "{}://{}",
                url.scheme(),
                url.host_str().unwrap_or_default()
            ))
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            .build()?,
    );
    clients
        .lock()
        .expect("client cache")
        .insert(key, s3.clone());
    Ok(s3)
}

/// The path of `url` inside its bucket.
pub(crate) fn path_in_bucket(url: &Url) -> Result<ObjectPath, object_store::path::Error> {
    ObjectPath::from_url_path(url.path())
}

/// Makes delta-rs open `s3://` and `s3a://` tables with [`store`] and the
/// default (conditional-put) log store. Idempotent.
pub(crate) fn register() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        for scheme in SCHEMES {
            let url = Url::parse(&format!("{scheme}://")).expect("a scheme URL");
            object_store_factories().insert(url.clone(), Arc::new(S3StoreFactory));
            logstore_factories().insert(url, Arc::new(S3LogStoreFactory));
        }
    });
}

struct S3StoreFactory;

impl ObjectStoreFactory for S3StoreFactory {
    fn parse_url_opts(
        &self,
        url: &Url,
        config: &StorageConfig,
    ) -> DeltaResult<(ObjectStoreRef, ObjectPath)> {
        let s3: ObjectStoreRef = store(url, &config.raw)?;
        let path = path_in_bucket(url).map_err(|e| DeltaTableError::generic(e.to_string()))?;
        Ok((s3, path))
    }
}

struct S3LogStoreFactory;

impl LogStoreFactory for S3LogStoreFactory {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        // DefaultLogStore writes commits with PutMode::Create; our client has
        // conditional puts on (If-None-Match: *).
        Ok(default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked() {
        let ok: HashMap<String, String> = [
            (
                "aws_endpoint_url".to_string(),
                "http://127.0.0.1:9000".to_string(),
            ),
            ("AWS_REGION".to_string(), "us-east-1".to_string()),
            ("allow_http".to_string(), "true".to_string()),
        ]
        .into();
        check_options(&ok).unwrap();
        let typo: HashMap<String, String> = [("aws_endpoit".into(), "x".into())].into();
        assert!(check_options(&typo).unwrap_err().contains("aws_endpoit"));
        let off: HashMap<String, String> = [("conditional_put".into(), "disabled".into())].into();
        assert!(check_options(&off).is_err());
    }

    #[test]
    fn delta_rs_knows_the_s3_scheme() {
        register();
        for s in ["s3://", "s3a://"] {
            let u = Url::parse(s).unwrap();
            assert!(object_store_factories().contains_key(&u));
            assert!(logstore_factories().contains_key(&u));
        }
    }
}
