//! The natural keys seen so far in a file, for the `duplicate_in_file` check.
//!
//! Most exports number their rows: receipt and deal ids are auto-increment
//! integers, written in ascending order. A key that is a plain integer (the
//! text of one, without sign or leading zeros, so that equal text means equal
//! number and the reverse) is kept in a list of runs of consecutive numbers:
//! an ascending file of ten million ids is one run, and each check is one
//! comparison instead of a probe into a hash set of ten million 16-byte
//! hashes spread over hundreds of megabytes. Every other key, and an integer
//! that arrives below the largest seen so far without falling in a run, goes
//! to the hash set by its 128-bit hash.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// One row's natural key, as the converter computed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyId {
    /// A key whose text is a canonical non-negative integer below 10^19.
    Int(u64),
    /// The xxh3-128 hash of the key's text (columns separated by 0x1f).
    Hash(u128),
}

impl KeyId {
    /// The key of one text column: `Int` when the text is the canonical
    /// spelling of an integer (`0`, `17`, not `017`, `+17` or ` 17`).
    pub(crate) fn of_text(text: &[u8], hash: impl FnOnce() -> u128) -> KeyId {
        let canonical = !text.is_empty()
            && text.len() <= 19
            && (text.len() == 1 || text[0] != b'0')
            && text.iter().all(u8::is_ascii_digit);
        if canonical {
            KeyId::Int(text.iter().fold(0u64, |v, &d| v * 10 + u64::from(d - b'0')))
        } else {
            KeyId::Hash(hash())
        }
    }
}

/// Identity hashing for keys that are already xxh3 hashes.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64 ^ (v >> 64) as u64;
    }
}

/// The keys of one file so far. At 128 bits a false duplicate among 10^9
/// hashed keys has a probability below 10^-20, so no fallback comparison of
/// the key text is kept (it would cost the memory of every key).
#[derive(Default)]
pub(crate) struct SeenKeys {
    /// Disjoint runs `[first, last]` of integer keys, ascending; a new run
    /// starts only above the last one.
    runs: Vec<(u64, u64)>,
    hashed: HashSet<u128, BuildHasherDefault<KeyHasher>>,
}

impl SeenKeys {
    /// Records `key`; false when it was seen before.
    pub(crate) fn insert(&mut self, key: KeyId) -> bool {
        match key {
            KeyId::Hash(h) => self.hashed.insert(h),
            KeyId::Int(k) => match self.runs.last_mut() {
                Some(last) if k > last.1 => {
                    // k < 10^19, so last.1 + 1 cannot overflow.
                    if k == last.1 + 1 {
                        last.1 = k;
                    } else {
                        self.runs.push((k, k));
                    }
                    true
                }
                None => {
                    self.runs.push((k, k));
                    true
                }
                Some(_) => {
                    let i = self.runs.partition_point(|r| r.1 < k);
                    if i < self.runs.len() && self.runs[i].0 <= k {
                        return false;
                    }
                    // Below the largest run: it can never join a run, so it
                    // lives in the hash set, tagged apart from text hashes.
                    self.hashed.insert(int_hash(k))
                }
            },
        }
    }

    /// Room for `n` more hashed keys: growing a set of millions of keys by
    /// doubling costs more than the inserts themselves.
    pub(crate) fn reserve_hashed(&mut self, n: usize) {
        self.hashed.reserve(n);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.runs.is_empty() && self.hashed.is_empty()
    }
}

/// An out-of-order integer key's entry in the hash set. The hashed bytes
/// start with 0xFF, which no UTF-8 key text does, so it cannot equal a text
/// key's hash input.
fn int_hash(k: u64) -> u128 {
    let mut b = [0xFFu8; 9];
    b[1..].copy_from_slice(&k.to_le_bytes());
    twox_hash::XxHash3_128::oneshot(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> KeyId {
        KeyId::of_text(s.as_bytes(), || {
            twox_hash::XxHash3_128::oneshot(s.as_bytes())
        })
    }

    #[test]
    fn only_canonical_integers_are_numbers() {
        assert_eq!(text("0"), KeyId::Int(0));
        assert_eq!(text("17"), KeyId::Int(17));
        assert_eq!(
            text("9999999999999999999"),
            KeyId::Int(9_999_999_999_999_999_999)
        );
        for s in [
            "017",
            "00",
            "+17",
            "-1",
            " 17",
            "1.0",
            "",
            "10000000000000000000",
            "T1",
        ] {
            assert!(matches!(text(s), KeyId::Hash(_)), "{s}");
        }
    }

    #[test]
    fn duplicates_are_found_in_any_order() {
        let mut seen = SeenKeys::default();
        let ids = [5u64, 6, 7, 10, 11, 3, 20, 8, 4];
        for k in ids {
            assert!(seen.insert(KeyId::Int(k)), "{k} is new");
        }
        assert_eq!(seen.runs, vec![(5, 7), (10, 11), (20, 20)]);
        for k in ids {
            assert!(!seen.insert(KeyId::Int(k)), "{k} again");
        }
        for k in [9u64, 12, 19, 21, 0, 2] {
            assert!(seen.insert(KeyId::Int(k)), "{k} is new");
            assert!(!seen.insert(KeyId::Int(k)), "{k} again");
        }
        // "017" is another key than 17, and both are found again.
        assert!(seen.insert(KeyId::Int(17)));
        let other = text("017");
        assert!(seen.insert(other));
        assert!(!seen.insert(other));
        assert!(!seen.insert(KeyId::Int(17)));
    }

    #[test]
    fn an_integer_key_never_equals_a_text_key() {
        let mut seen = SeenKeys::default();
        seen.insert(KeyId::Int(100));
        // 5 goes to the hash set; the text hash of any key is a different entry.
        assert!(seen.insert(KeyId::Int(5)));
        assert!(seen.insert(text("5 ")));
        assert!(!seen.insert(KeyId::Int(5)));
    }
}
