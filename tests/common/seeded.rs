//! The property tests' configuration: a fixed seed, so that a run is reproducible and CI sees
//! the same cases every time; `PROPTEST_CASES` and `PROPTEST_RNG_SEED` (a number, or `random`)
//! explore more and others. Included by the property tests only (not by `mod.rs`, which the
//! fuzz targets also include).

use proptest::prelude::ProptestConfig;
use proptest::test_runner::RngSeed;

/// The seed of a run where `PROPTEST_RNG_SEED` is not set.
const SEED: u64 = 0x6c6c_6d5f_6572_7273;

/// `cases` cases from the fixed seed, unless the environment asks for others.
pub fn config(cases: u32) -> ProptestConfig {
    let rng_seed = match std::env::var("PROPTEST_RNG_SEED").ok().as_deref() {
        Some("random") => RngSeed::Random,
        Some(n) => n.parse().map_or(RngSeed::Fixed(SEED), RngSeed::Fixed),
        None => RngSeed::Fixed(SEED),
    };
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(cases);
    ProptestConfig { cases, rng_seed, ..ProptestConfig::default() }
}
