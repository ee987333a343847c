//! Deterministic seeds: every random choice of a run is a pure function of the run's seed and
//! where it happens (stream, epoch, draw), never of thread timing or of a stateful generator.

/// SplitMix64's finaliser: a bijective scramble of 64 bits.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed derived from a path of integers (`[run seed, purpose, epoch, index]`, ...).
///
/// ```
/// use cmr_train::derive_seed;
/// assert_eq!(derive_seed(&[1, 2, 3]), derive_seed(&[1, 2, 3]));
/// assert_ne!(derive_seed(&[1, 2, 3]), derive_seed(&[1, 3, 2]));
/// ```
pub fn derive_seed(path: &[u64]) -> u64 {
    path.iter()
        .fold(0x243F_6A88_85A3_08D3, |h, &v| mix64(h ^ mix64(v)))
}

/// FNV-1a over bytes (a stable hash for cache keys).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}
