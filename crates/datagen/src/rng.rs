//! Seeded random streams. Every table is generated in fixed-size chunks of
//! customers, and each (table, chunk) pair reads its own ChaCha8 stream keyed
//! by the seed. A chunk therefore produces the same rows whichever thread runs
//! it and whatever ran before, which is what makes the output independent of
//! the number of threads.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Customers per generation chunk. Part of the data definition: changing it
/// changes every generated value, so it is not configurable.
pub(crate) const CHUNK_CUSTOMERS: u64 = 16_384;

/// The independent random streams. The discriminant is part of the stream id,
/// so the order here must never change.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    /// Hidden per-customer behaviour: segment, manager, dates, purchase counts.
    Latent = 0,
    /// Visible customer profile: name, contacts, city, consent.
    Profile = 1,
    Transactions = 2,
    Deals = 3,
    Interactions = 4,
    Managers = 5,
    Campaigns = 6,
}

/// The generator for one stream of one chunk.
pub(crate) fn stream(seed: u64, which: Stream, chunk: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream((chunk << 4) | which as u64);
    rng
}

/// SplitMix64 finaliser: a cheap, well-mixed hash for choices that must not
/// depend on any stream (such as the spelling of a customer id).
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Index into `weights` drawn in proportion to the weights.
pub(crate) fn pick_weighted<R: rand::Rng>(rng: &mut R, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return i;
        }
        u -= w;
    }
    weights.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_differ_by_table_and_chunk_and_repeat_exactly() {
        let a: u64 = stream(7, Stream::Latent, 0).random();
        let b: u64 = stream(7, Stream::Latent, 1).random();
        let c: u64 = stream(7, Stream::Profile, 0).random();
        let d: u64 = stream(8, Stream::Latent, 0).random();
        assert_eq!(a, stream(7, Stream::Latent, 0).random::<u64>());
        assert!(a != b && a != c && a != d && b != c);
    }

    #[test]
    fn weighted_pick_follows_weights() {
        let mut rng = stream(1, Stream::Latent, 0);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[pick_weighted(&mut rng, &[1.0, 2.0, 0.0])] += 1;
        }
        assert_eq!(counts[2], 0);
        let share = f64::from(counts[1]) / 30_000.0;
        assert!((share - 2.0 / 3.0).abs() < 0.02, "{share}");
    }
}
