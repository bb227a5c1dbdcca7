//! Opening a file as a byte stream: gzip is recognised by its magic bytes
//! (not only by `.gz`), so a renamed archive still reads.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// A readable, sendable byte stream (a reader thread owns it).
pub type Stream = Box<dyn BufRead + Send>;

const BUF: usize = 1 << 20;

/// Opens `path`, transparently decompressing gzip.
pub fn open_stream(path: &Path) -> Result<(Stream, bool)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut raw = BufReader::with_capacity(BUF, file);
    let head = raw.fill_buf().map_err(|e| Error::io(path, e))?;
    if crate::sniff::is_gzip(head) {
        let gz = flate2::bufread::MultiGzDecoder::new(raw);
        Ok((Box::new(BufReader::with_capacity(BUF, gz)), true))
    } else {
        Ok((Box::new(raw), false))
    }
}

/// The first `n` bytes of the (decompressed) stream, for sniffing.
pub fn read_head(path: &Path, n: usize) -> Result<(Vec<u8>, bool)> {
    let (stream, gz) = open_stream(path)?;
    let mut head = Vec::with_capacity(n);
    stream
        .take(n as u64)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    Ok((head, gz))
}

/// The whole (decompressed) file, for formats that need random access.
pub fn read_all(path: &Path) -> Result<Vec<u8>> {
    let (mut stream, _) = open_stream(path)?;
    let mut all = Vec::new();
    stream
        .read_to_end(&mut all)
        .map_err(|e| Error::io(path, e))?;
    Ok(all)
}

/// blake3 of the file as stored; with the line number it makes keys for
/// files that carry none, so loading the same file twice is idempotent.
pub fn content_hash(path: &Path) -> Result<String> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = blake3::Hasher::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| Error::io(path, e))?;
    Ok(hasher.finalize().to_hex()[..16].to_string())
}
