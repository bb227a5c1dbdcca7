//! Local files read for scans without zero-filling the buffers first.
//!
//! `object_store`'s `LocalFileSystem` reads each byte range of a Parquet
//! column chunk into a buffer it first fills with zeros. For a scan those
//! zeros are written only to be overwritten, and writing them is also what
//! first touches each fresh page: at 10M transactions `crm rfm` spent 15% of
//! its CPU in `read_range`, most of it zeroing and page faults. Here the same
//! ranges are read with `Read::read_to_end` into uninitialised capacity;
//! everything else is `LocalFileSystem`'s own.

use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};

/// `LocalFileSystem`, with ranges read without zero-filling.
#[derive(Debug)]
pub(crate) struct LocalReads {
    inner: Arc<LocalFileSystem>,
}

impl LocalReads {
    pub(crate) fn new() -> Self {
        LocalReads {
            inner: Arc::new(LocalFileSystem::new()),
        }
    }
}

impl fmt::Display for LocalReads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocalReads({})", self.inner)
    }
}

/// The bytes of `ranges` of the file at `path`, in order.
fn read_ranges(path: &std::path::Path, ranges: &[Range<u64>]) -> std::io::Result<Vec<Bytes>> {
    let mut file = std::fs::File::open(path)?;
    ranges
        .iter()
        .map(|range| {
            let len = range.end.saturating_sub(range.start);
            file.seek(SeekFrom::Start(range.start))?;
            let mut buf = Vec::with_capacity(len as usize);
            (&mut file).take(len).read_to_end(&mut buf)?;
            if buf.len() as u64 != len {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "{}: wanted bytes {}..{}, the file ends at {}",
                        path.display(),
                        range.start,
                        range.end,
                        range.start + buf.len() as u64
                    ),
                ));
            }
            Ok(Bytes::from(buf))
        })
        .collect()
}

#[async_trait]
impl ObjectStore for LocalReads {
    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let path = self.inner.path_to_filesystem(location)?;
        let ranges = ranges.to_vec();
        let location = location.to_string();
        tokio::task::spawn_blocking(move || read_ranges(&path, &ranges))
            .await
            .map_err(|e| object_store::Error::Generic {
                store: "LocalReads",
                source: Box::new(e),
            })?
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => object_store::Error::NotFound {
                    path: location,
                    source: Box::new(e),
                },
                _ => object_store::Error::Generic {
                    store: "LocalReads",
                    source: Box::new(e),
                },
            })
    }

    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ranges_read_as_local_file_system_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.path().join("f.bin"), &data).unwrap();
        let location = Path::from_filesystem_path(dir.path().join("f.bin")).unwrap();
        let ranges = [0..10, 5..70_000, 99_990..100_000, 42..42];
        let ours = LocalReads::new()
            .get_ranges(&location, &ranges)
            .await
            .unwrap();
        let theirs = LocalFileSystem::new()
            .get_ranges(&location, &ranges)
            .await
            .unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(&ours[1][..], &data[5..70_000]);
        // Past the end, and a missing file, are errors that say so.
        let err = LocalReads::new()
            .get_ranges(&location, std::slice::from_ref(&(99_990..100_010)))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("the file ends at 100000"), "{err}");
        let missing = Path::from_absolute_path(dir.path().join("nope.bin")).unwrap();
        let err = LocalReads::new()
            .get_ranges(&missing, std::slice::from_ref(&(0..1)))
            .await;
        assert!(
            matches!(err, Err(object_store::Error::NotFound { .. })),
            "{err:?}"
        );
    }
}
