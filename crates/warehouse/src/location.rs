//! Where a warehouse lives: a local directory or an object-store URL, and the
//! layout below it. Every other module asks this one for URLs, so moving the
//! warehouse to object storage needs no change elsewhere.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions};
use url::Url;

use crate::error::{Error, Result};
use crate::tables::TableKind;

/// A handle on one warehouse root. Cheap to clone.
#[derive(Clone)]
pub struct Warehouse {
    root: Url,
    storage_options: HashMap<String, String>,
    store: Arc<dyn ObjectStore>,
    /// Prefix of the root inside `store`.
    prefix: ObjectPath,
}

impl std::fmt::Debug for Warehouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Warehouse")
            .field("root", &self.root.as_str())
            .finish()
    }
}

impl Warehouse {
    /// Opens (and, for a local path, creates) the warehouse at `location`.
    pub fn open(location: &str) -> Result<Warehouse> {
        Warehouse::open_with_options(location, HashMap::new())
    }

    /// Like [`Warehouse::open`], with object-store options (credentials,
    /// endpoint) for remote roots.
    pub fn open_with_options(
        location: &str,
        mut storage_options: HashMap<String, String>,
    ) -> Result<Warehouse> {
        let root = root_url(location)?;
        let (store, prefix) = if root.scheme() == "file" {
            let path = root.to_file_path().map_err(|()| Error::Location {
                location: location.into(),
                reason: "not a local path".into(),
            })?;
            std::fs::create_dir_all(&path).map_err(|e| Error::Location {
                location: location.into(),
                reason: format!("cannot create the directory: {e}"),
            })?;
            let store: Arc<dyn ObjectStore> = Arc::new(
                object_store::local::LocalFileSystem::new_with_prefix(&path)?,
            );
            // Object-store settings mean nothing to a local directory.
            storage_options.clear();
            (store, ObjectPath::default())
        } else if crate::s3::is_s3(&root) {
            let bad = |reason: String| Error::Location {
                location: location.into(),
                reason,
            };
            crate::s3::check_options(&storage_options).map_err(bad)?;
            if root.host_str().is_none_or(str::is_empty) {
                return Err(bad("no bucket: expected s3://bucket/prefix".into()));
            }
            crate::s3::register();
            let store: Arc<dyn ObjectStore> =
                crate::s3::store(&root, &storage_options).map_err(|e| bad(e.to_string()))?;
            let prefix = crate::s3::path_in_bucket(&root).map_err(|e| bad(e.to_string()))?;
            (store, prefix)
        } else {
            let (store, prefix) = object_store::parse_url_opts(&root, storage_options.iter())
                .map_err(|e| Error::Location {
                    location: location.into(),
                    reason: e.to_string(),
                })?;
            (Arc::from(store), prefix)
        };
        Ok(Warehouse {
            root,
            storage_options,
            store,
            prefix,
        })
    }

    /// The root as a URL ending in `/`.
    pub fn root(&self) -> &Url {
        &self.root
    }

    /// The local directory of the root, if the warehouse is local.
    pub fn local_root(&self) -> Option<std::path::PathBuf> {
        (self.root.scheme() == "file")
            .then(|| self.root.to_file_path().ok())
            .flatten()
    }

    pub fn storage_options(&self) -> &HashMap<String, String> {
        &self.storage_options
    }

    /// URL of a table of the given kind.
    pub fn table_url(&self, kind: TableKind, name: &str) -> Url {
        self.root
            .join(&format!("{}/{name}/", kind.dir()))
            .expect("table names are plain identifiers")
    }

    /// The object store holding the root, for small files (config, locks).
    pub(crate) fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// A path below the root inside [`Warehouse::store`].
    pub(crate) fn object_path(&self, relative: &str) -> ObjectPath {
        let mut parts: Vec<String> = self
            .prefix
            .parts()
            .map(|p| p.as_ref().to_string())
            .collect();
        parts.extend(
            relative
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
        ObjectPath::from_iter(parts)
    }

    /// Reads a small file below the root; `None` when it does not exist.
    pub async fn read_file(&self, relative: &str) -> Result<Option<Vec<u8>>> {
        match self.store.get(&self.object_path(relative)).await {
            Ok(r) => Ok(Some(r.bytes().await?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes a small file below the root, replacing it.
    pub async fn write_file(&self, relative: &str, bytes: Vec<u8>) -> Result<()> {
        self.store
            .put(&self.object_path(relative), bytes.into())
            .await?;
        Ok(())
    }
}

impl Warehouse {
    /// Checks that the store refuses a second create-if-absent put of one
    /// object: Delta commits and the run lock rely on it. An S3-compatible
    /// store that ignores `If-None-Match: *` would let two concurrent commits
    /// overwrite each other. `crm init` runs this check.
    pub async fn check_conditional_put(&self) -> Result<()> {
        let path = self.object_path(&format!("_crm/probe-{}", uuid::Uuid::new_v4()));
        let create = || PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        self.store
            .put_opts(&path, b"1".to_vec().into(), create())
            .await?;
        let second = self
            .store
            .put_opts(&path, b"2".to_vec().into(), create())
            .await;
        let _ = self.store.delete(&path).await;
        match second {
            Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            Ok(_) => Err(Error::Location {
                location: self.root.to_string(),
                reason: "the store overwrote an object on a create-if-absent put \
                         (If-None-Match: *); it does not support conditional writes, \
                         so concurrent commits could be lost"
                    .into(),
            }),
            Err(e) => Err(e.into()),
        }
    }
}

/// Turns a user's location into a root URL with a trailing slash.
fn root_url(location: &str) -> Result<Url> {
    let bad = |reason: String| Error::Location {
        location: location.into(),
        reason,
    };
    let mut url = if location.contains("://") {
        Url::parse(location).map_err(|e| bad(e.to_string()))?
    } else {
        let path = Path::new(location);
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| bad(e.to_string()))?
                .join(path)
        };
        Url::from_directory_path(normalize(&absolute))
            .map_err(|()| bad("not an absolute path".into()))?
    };
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

/// Removes `.` and `..` without touching the file system (the directory may
/// not exist yet).
fn normalize(path: &Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_become_directory_urls() {
        let u = root_url("/tmp/a/../wh").unwrap();
        assert_eq!(u.as_str(), "file:///tmp/wh/");
        let u = root_url("s3://bucket/prefix").unwrap();
        assert_eq!(u.as_str(), "s3://bucket/prefix/");
    }
}
