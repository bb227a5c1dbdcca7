//! Human byte sizes for `--memory-limit` and `[engine] memory_limit`.

use crate::error::{Error, Result};

/// Parses `4GiB`, `512MiB`, `2G`, `1500M`, `1073741824`.
///
/// ```
/// assert_eq!(crm_engine::parse_byte_size("4GiB").unwrap(), 4 << 30);
/// assert_eq!(crm_engine::parse_byte_size("512 MB").unwrap(), 512 << 20);
/// ```
pub fn parse_byte_size(text: &str) -> Result<usize> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| {
        Error::Invalid(format!(
            "memory limit '{text}': expected a size like 4GiB or 512MiB"
        ))
    })?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0_f64.powi(4),
        other => {
            return Err(Error::Invalid(format!(
                "memory limit '{text}': unknown unit '{other}', use KiB, MiB, GiB or TiB"
            )));
        }
    };
    Ok((value * mult) as usize)
}
