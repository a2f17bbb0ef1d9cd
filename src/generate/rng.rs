//! Keyed, counter-based randomness.
//!
//! Every random decision of the generator is derived from `(seed, stream, entity, step)` by
//! hashing, never from a shared sequential stream. So a customer's day looks the same whatever
//! else was generated before it, output is byte-identical for a seed, and loops may be reordered
//! or split without changing data. Detail draws use a small PCG generator seeded from such a key.

use rand::RngExt;
use rand_pcg::Pcg64Mcg;

/// Independent families of random decisions; the discriminant salts the key.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stream {
    Population = 1,
    Shape = 2,
    Version = 3,
    Order = 4,
    Usage = 8,
    Lead = 9,
    Contract = 10,
    Email = 11,
    Salt = 12,
    Hostile = 13,
    /// Customer-success plan assignments (`plan`).
    Plan = 14,
}

/// SplitMix64 finaliser: a fast bijective 64-bit mixer.
#[inline]
pub(crate) const fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The key of one decision: `(seed, stream, a, b)` hashed to 64 bits.
#[inline]
pub(crate) fn key(seed: u64, stream: Stream, a: u64, b: u64) -> u64 {
    mix(mix(mix(seed ^ (stream as u64).wrapping_mul(0xA076_1D64_78BD_642F)) ^ a) ^ b)
}

/// A uniform number in [0, 1) from a key.
#[inline]
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A detail generator seeded from a key.
pub(crate) fn rng(h: u64) -> Rng {
    Rng(Pcg64Mcg::new(
        (u128::from(h) << 64) | u128::from(mix(h)) | 1,
    ))
}

/// Number of Poisson(`lambda`) events, decided by the uniform `u` (inverse transform).
/// The common case (no event, small `lambda`) costs no `exp`.
#[inline]
pub(crate) fn poisson(lambda: f64, u: f64) -> u32 {
    if lambda <= 0.0 || u < 1.0 - lambda {
        return 0;
    }
    let mut p = (-lambda).exp();
    let mut cdf = p;
    let mut k = 0u32;
    while u >= cdf && k < 1000 {
        k += 1;
        p *= lambda / f64::from(k);
        cdf += p;
        if p < 1e-300 {
            break;
        }
    }
    k
}

/// A small convenience wrapper over the seeded PCG generator.
pub(crate) struct Rng(Pcg64Mcg);

impl Rng {
    /// A uniform float in [0, 1).
    #[inline]
    pub fn f(&mut self) -> f64 {
        self.0.random::<f64>()
    }

    /// True with probability `p` (values outside [0, 1] saturate).
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.f() < p
    }

    /// A uniform integer in `lo..hi` (`hi` exclusive); `lo` when the range is empty.
    #[inline]
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.0.random_range(lo..hi)
        }
    }

    /// A uniform index below `n` (n > 0).
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        if n <= 1 { 0 } else { self.0.random_range(0..n) }
    }

    /// A uniformly chosen element.
    #[inline]
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A uniformly chosen element, copied.
    #[inline]
    pub fn choose<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// An index chosen with the given relative weights.
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.f() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// A standard normal draw (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.f().max(1e-12);
        let u2 = self.f();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A log-normal draw with the given median and log-space sigma.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_mean_is_close_to_lambda() {
        for lambda in [0.01, 0.3, 2.5] {
            let n = 200_000u64;
            let total: u64 = (0..n)
                .map(|i| u64::from(poisson(lambda, unit(key(7, Stream::Order, i, 0)))))
                .sum();
            let mean = total as f64 / n as f64;
            assert!(
                (mean - lambda).abs() < lambda * 0.05 + 0.002,
                "{lambda}: {mean}"
            );
        }
    }

    #[test]
    fn keys_depend_on_every_part() {
        let base = key(1, Stream::Order, 2, 3);
        assert_ne!(base, key(2, Stream::Order, 2, 3));
        assert_ne!(base, key(1, Stream::Usage, 2, 3));
        assert_ne!(base, key(1, Stream::Order, 3, 3));
        assert_ne!(base, key(1, Stream::Order, 2, 4));
        assert_eq!(base, key(1, Stream::Order, 2, 3));
    }
}
