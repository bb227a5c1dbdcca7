//! The PNG container around an RGB image that plotters drew into memory.
//!
//! Why not the `png` or `image` crate: both pull `simd-adler32` and `bytemuck`
//! with extra features, and Cargo's feature unification would then rebuild the
//! whole DataFusion/deltalake stack for every build of the workspace. A PNG is
//! three chunks around zlib data, written here over `flate2` and `crc32fast`,
//! which the stack already carries.

use std::io::Write;

/// Encodes 8-bit RGB pixels (`width * height * 3` bytes, row by row) as PNG.
pub fn encode_rgb(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    assert_eq!(rgb.len(), width as usize * height as usize * 3);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();

    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);

    let row = width as usize * 3;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    for line in rgb.chunks_exact(row) {
        // Filter type 0 (none) per scanline: charts are flat colour and
        // compress well without prediction.
        z.write_all(&[0]).expect("writing to memory");
        z.write_all(line).expect("writing to memory");
    }
    let idat = z.finish().expect("writing to memory");
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

/// Decodes a PNG written by [`encode_rgb`] back into (width, height, RGB):
/// what tests use to look at rendered pixels.
pub fn decode_rgb(png: &[u8]) -> Option<(u32, u32, Vec<u8>)> {
    use std::io::Read;
    let body = png.strip_prefix(b"\x89PNG\r\n\x1a\n")?;
    let (mut pos, mut width, mut height, mut idat) = (0usize, 0u32, 0u32, Vec::new());
    while pos + 8 <= body.len() {
        let len = u32::from_be_bytes(body[pos..pos + 4].try_into().ok()?) as usize;
        let kind = &body[pos + 4..pos + 8];
        let data = body.get(pos + 8..pos + 8 + len)?;
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(data[0..4].try_into().ok()?);
                height = u32::from_be_bytes(data[4..8].try_into().ok()?);
                if data[8..10] != [8, 2] {
                    return None;
                }
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        pos += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .ok()?;
    let row = width as usize * 3;
    let mut rgb = Vec::with_capacity(row * height as usize);
    for line in raw.chunks_exact(row + 1) {
        if line[0] != 0 {
            return None;
        }
        rgb.extend_from_slice(&line[1..]);
    }
    Some((width, height, rgb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_pixels() {
        let rgb: Vec<u8> = (0..4 * 3 * 3).map(|i| (i * 7) as u8).collect();
        let png = encode_rgb(4, 3, &rgb);
        assert_eq!(decode_rgb(&png), Some((4, 3, rgb)));
    }

    #[test]
    fn chunk_checksums_match_the_png_spec() {
        // The CRC of an empty IEND chunk is a well-known constant: AE 42 60 82.
        let png = encode_rgb(1, 1, &[255, 255, 255]);
        assert_eq!(&png[png.len() - 4..], &[0xAE, 0x42, 0x60, 0x82]);
    }
}
