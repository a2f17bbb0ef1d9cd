//! Interval estimates and tests of plan experiments (`algorithm: experiment`).
//!
//! Proportions (a BOOLEAN outcome per unit):
//! - the Wilson score interval of one proportion (Wilson 1927; Newcombe 1998, *Statistics in
//!   Medicine* 17:857, method 3);
//! - Newcombe's hybrid score interval of a difference of two independent proportions, built from
//!   the two Wilson intervals (Newcombe 1998, *Statistics in Medicine* 17:873, method 10);
//! - the two-sided pooled two-proportion z-test (Agresti, *Categorical Data Analysis*, 3rd ed.,
//!   3.1.1; the chi-squared test without continuity correction).
//!
//! Net Promoter Score (a 0-10 score per unit; Reichheld 2003: 9-10 promoters, 0-6 detractors):
//! - NPS = 100 * (promoters - detractors) / responses;
//! - percentile bootstrap intervals of each arm's NPS and of the difference, resampling each
//!   arm's units with replacement (Efron & Tibshirani 1993, ch. 13);
//! - the two-sided permutation test of the difference: the arm labels reshuffled among the
//!   pooled units, p = (1 + shuffles at least as extreme) / (1 + shuffles) (Phipson & Smyth
//!   2010, which keeps p above 0).
//!
//! Resampling draws from a PCG generator seeded by the caller, so a seed gives the same figures.

use rand::RngExt;
use rand::seq::SliceRandom;
use rand_pcg::Pcg64Mcg;
use statrs::distribution::{ContinuousCDF, Normal};

/// The two-sided standard normal quantile of `confidence` (1.959964 for 0.95).
pub fn z_of(confidence: f64) -> f64 {
    standard_normal().inverse_cdf(1.0 - (1.0 - confidence) / 2.0)
}

fn standard_normal() -> Normal {
    // Mean 0 and standard deviation 1 are valid parameters.
    Normal::standard()
}

/// Wilson score interval of `successes` out of `n` (n > 0) at two-sided normal quantile `z`.
pub fn wilson(successes: u64, n: u64, z: f64) -> (f64, f64) {
    let n = n as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let denom = 1.0 + z2 / n;
    // The interval always holds p (it reaches 0 or 1 when p does); the clamps keep rounding
    // from leaving p just outside.
    (
        ((centre - half) / denom).clamp(0.0, p),
        ((centre + half) / denom).clamp(p, 1.0),
    )
}

/// Newcombe's hybrid score interval of `p_a - p_b` for `a = (successes, n)` and `b` likewise.
pub fn newcombe(a: (u64, u64), b: (u64, u64), z: f64) -> (f64, f64) {
    let (pa, pb) = (a.0 as f64 / a.1 as f64, b.0 as f64 / b.1 as f64);
    let (la, ua) = wilson(a.0, a.1, z);
    let (lb, ub) = wilson(b.0, b.1, z);
    let d = pa - pb;
    (
        d - ((pa - la).powi(2) + (ub - pb).powi(2)).sqrt(),
        d + ((ua - pa).powi(2) + (pb - lb).powi(2)).sqrt(),
    )
}

/// Two-sided p-value of the pooled two-proportion z-test of `a` against `b` (each
/// `(successes, n)`, n > 0). Both all-success or both all-failure: no evidence, 1.
pub fn two_proportion_p(a: (u64, u64), b: (u64, u64)) -> f64 {
    let (na, nb) = (a.1 as f64, b.1 as f64);
    let pooled = (a.0 + b.0) as f64 / (na + nb);
    let se = (pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)).sqrt();
    if se == 0.0 {
        return 1.0;
    }
    let z = (a.0 as f64 / na - b.0 as f64 / nb) / se;
    // The upper tail directly: 1 - cdf loses everything beyond z of about 8.
    (2.0 * standard_normal().sf(z.abs())).min(1.0)
}

/// A unit's NPS class: +1 promoter (9-10), 0 passive (7-8), -1 detractor (0-6).
pub fn nps_class(score: i64) -> i8 {
    match score {
        9.. => 1,
        7..=8 => 0,
        _ => -1,
    }
}

/// NPS of classes (see [`nps_class`]): 100 * mean class. `None` when empty.
pub fn nps(classes: &[i8]) -> Option<f64> {
    (!classes.is_empty())
        .then(|| nps_of_sum(classes.iter().map(|c| i64::from(*c)).sum(), classes.len()))
}

fn nps_of_sum(sum: i64, n: usize) -> f64 {
    100.0 * sum as f64 / n as f64
}

/// `resamples` bootstrap NPS values of `classes` (non-empty), in draw order.
pub fn bootstrap_nps(classes: &[i8], resamples: usize, rng: &mut Pcg64Mcg) -> Vec<f64> {
    let n = classes.len();
    (0..resamples)
        .map(|_| {
            let sum: i64 = (0..n)
                .map(|_| i64::from(classes[rng.random_range(0..n)]))
                .sum();
            nps_of_sum(sum, n)
        })
        .collect()
}

/// The two-sided permutation p-value of NPS(a) - NPS(b) (both non-empty).
pub fn permutation_p(a: &[i8], b: &[i8], shuffles: usize, rng: &mut Pcg64Mcg) -> f64 {
    let observed = (nps(a).unwrap_or(0.0) - nps(b).unwrap_or(0.0)).abs();
    let mut pooled: Vec<i8> = a.iter().chain(b).copied().collect();
    let total: i64 = pooled.iter().map(|c| i64::from(*c)).sum();
    let (na, nb) = (a.len(), b.len());
    // Differences equal up to rounding count as "as extreme".
    let tolerance = 1e-9 * observed.max(1.0);
    let mut extreme = 0usize;
    for _ in 0..shuffles {
        let (first, _) = pooled.partial_shuffle(rng, na);
        let sum_a: i64 = first.iter().map(|c| i64::from(*c)).sum();
        let d = nps_of_sum(sum_a, na) - nps_of_sum(total - sum_a, nb);
        if d.abs() >= observed - tolerance {
            extreme += 1;
        }
    }
    (1 + extreme) as f64 / (1 + shuffles) as f64
}

/// The `q` quantile (0..=1) of `values` by linear interpolation between order statistics
/// (Hyndman & Fan 1996, type 7: R's and NumPy's default). `None` when empty.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b}");
    }

    #[test]
    fn wilson_matches_newcombes_published_examples() {
        // Newcombe 1998 (17:857), table II, method 3 (score without continuity correction).
        let z = z_of(0.95);
        close(z, 1.959964, 1e-6);
        let (l, u) = wilson(81, 263, z);
        close(l, 0.2553, 5e-5);
        close(u, 0.3662, 5e-5);
        let (l, u) = wilson(15, 148, z);
        close(l, 0.0624, 5e-5);
        close(u, 0.1605, 5e-5);
        let (l, u) = wilson(0, 20, z);
        close(l, 0.0, 1e-12);
        close(u, 0.1611, 5e-5);
    }

    #[test]
    fn newcombe_difference_matches_the_published_examples() {
        // Newcombe 1998 (17:873), table II, method 10: (a) 56/70 - 48/80: 0.0524 to 0.3339;
        // (b) 9/10 - 3/10: 0.1705 to 0.8090.
        let z = z_of(0.95);
        let (l, u) = newcombe((56, 70), (48, 80), z);
        close(l, 0.0524, 5e-5);
        close(u, 0.3339, 5e-5);
        let (l, u) = newcombe((9, 10), (3, 10), z);
        close(l, 0.1705, 5e-5);
        close(u, 0.8090, 5e-5);
    }

    #[test]
    fn two_proportion_test_by_hand() {
        // 56/70 vs 48/80: pooled 104/150; se = sqrt(0.69333 * 0.30667 * (1/70 + 1/80))
        // = 0.075467; z = 0.2 / 0.075467 = 2.65017; two-sided p = 0.008045.
        close(two_proportion_p((56, 70), (48, 80)), 0.008045, 5e-6);
        assert_eq!(two_proportion_p((0, 10), (0, 12)), 1.0);
        // Far tails stay positive: 900/1000 vs 100/1000, z = 35.78, p = 2 * Q(35.78) ~ 1e-280.
        let p = two_proportion_p((900, 1000), (100, 1000));
        assert!(p > 0.0 && p < 1e-250, "{p}");
        assert_eq!(two_proportion_p((5, 10), (5, 10)), 1.0);
    }

    #[test]
    fn nps_by_hand() {
        // Scores 10, 9, 8, 7, 6, 0: two promoters, two detractors of six: 0.
        let c: Vec<i8> = [10, 9, 8, 7, 6, 0].into_iter().map(nps_class).collect();
        assert_eq!(nps(&c), Some(0.0));
        let c: Vec<i8> = [10, 9, 9, 5].into_iter().map(nps_class).collect();
        assert_eq!(nps(&c), Some(50.0));
        assert_eq!(nps(&[]), None);
    }

    #[test]
    fn bootstrap_interval_agrees_with_the_normal_approximation() {
        // 400 units: 200 promoters, 100 passives, 100 detractors: NPS 25, and the variance of
        // the class mean is (0.5 + 0.25 - 0.25^2) / 400, so se = 100 * sqrt(0.6875 / 400)
        // = 4.1458; a 95% interval is about 25 +- 8.13.
        let mut c = vec![1i8; 200];
        c.extend(vec![0i8; 100]);
        c.extend(vec![-1i8; 100]);
        let mut rng = Pcg64Mcg::new(7);
        let draws = bootstrap_nps(&c, 4000, &mut rng);
        let (l, u) = (
            quantile(&draws, 0.025).unwrap(),
            quantile(&draws, 0.975).unwrap(),
        );
        close(l, 25.0 - 8.13, 0.8);
        close(u, 25.0 + 8.13, 0.8);
    }

    #[test]
    fn permutation_test_agrees_with_the_normal_approximation() {
        // Arm a: NPS 25 as above; arm b: 160 promoters, 120 passives, 120 detractors, NPS 10.
        // Pooled classes: 360/800 promoters, 220/800 detractors: variance of one class
        // 0.725 - 0.175^2 = 0.694375; se of the difference = 100 * sqrt(0.694375 * (2/400))
        // = 5.8923; z = 15 / 5.8923 = 2.5457; two-sided p = 0.0109.
        let mut a = vec![1i8; 200];
        a.extend(vec![0i8; 100]);
        a.extend(vec![-1i8; 100]);
        let mut b = vec![1i8; 160];
        b.extend(vec![0i8; 120]);
        b.extend(vec![-1i8; 120]);
        let mut rng = Pcg64Mcg::new(11);
        let p = permutation_p(&a, &b, 20_000, &mut rng);
        close(p, 0.0109, 0.004);
        // Identical arms: every shuffle is at least as extreme as 0.
        assert_eq!(permutation_p(&a, &a, 500, &mut rng), 1.0);
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        // numpy.quantile([1, 2, 3, 4], [0.25, 0.5, 0.9]) = [1.75, 2.5, 3.7]
        let v = [4.0, 1.0, 3.0, 2.0];
        close(quantile(&v, 0.25).unwrap(), 1.75, 1e-12);
        close(quantile(&v, 0.5).unwrap(), 2.5, 1e-12);
        close(quantile(&v, 0.9).unwrap(), 3.7, 1e-12);
    }
}
