//! Classifier metrics on a holdout: AUC, precision among the top-scored share, base rate.
//! Ties in the scores are treated symmetrically, so the figures do not depend on row order.

/// Area under the ROC curve of `scores` for the binary `labels`: the probability that a random
/// positive scores above a random negative, ties counting one half (the Mann-Whitney U
/// statistic divided by positives x negatives; Hanley & McNeil 1982). `None` when either class
/// is absent.
pub fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let pos = labels.iter().filter(|l| **l).count();
    let neg = labels.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let ranks = average_ranks(scores);
    let rank_sum: f64 = ranks
        .iter()
        .zip(labels)
        .filter(|(_, l)| **l)
        .map(|(r, _)| *r)
        .sum();
    let pos_f = pos as f64;
    let u = rank_sum - pos_f * (pos_f + 1.0) / 2.0;
    Some(u / (pos_f * neg as f64))
}

/// 1-based ranks in ascending order of `scores`, tied values sharing their average rank.
fn average_ranks(scores: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    let mut ranks = vec![0.0; scores.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for k in &order[i..=j] {
            ranks[*k] = rank;
        }
        i = j + 1;
    }
    ranks
}

/// The share of positives among the `share` (0, 1] of rows with the highest scores (the top
/// decile for 0.1): `ceil(share * n)` rows; where the cut falls inside a group of tied scores,
/// that group contributes its positive rate for the rows it fills. `None` for no rows.
pub fn precision_at(scores: &[f64], labels: &[bool], share: f64) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    let k = ((share * scores.len() as f64).ceil() as usize).clamp(1, scores.len());
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
    let mut taken = 0.0;
    let mut positives = 0.0;
    let mut i = 0;
    while i < order.len() && taken < k as f64 {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let group = (j - i + 1) as f64;
        let group_pos = order[i..=j].iter().filter(|r| labels[**r]).count() as f64;
        let room = (k as f64 - taken).min(group);
        positives += group_pos * room / group;
        taken += room;
        i = j + 1;
    }
    Some(positives / k as f64)
}

/// The share of positive labels; `None` for no rows.
pub fn base_rate(labels: &[bool]) -> Option<f64> {
    (!labels.is_empty()).then(|| labels.iter().filter(|l| **l).count() as f64 / labels.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_pairs_by_hand() {
        // Positives 0.9, 0.4; negatives 0.5, 0.1: pairs (0.9>0.5), (0.9>0.1), (0.4<0.5),
        // (0.4>0.1): 3 of 4.
        let auc = auc(&[0.9, 0.5, 0.4, 0.1], &[true, false, true, false]).unwrap();
        assert!((auc - 0.75).abs() < 1e-12);
        // A tie between a positive and a negative counts one half: pairs (0.5=0.5) 0.5,
        // (0.5>0.2) 1 -> 1.5 / 2.
        let tied = super::auc(&[0.5, 0.5, 0.2], &[true, false, false]).unwrap();
        assert!((tied - 0.75).abs() < 1e-12);
        assert_eq!(super::auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn precision_at_splits_a_tied_group_by_its_rate() {
        // 10 rows, top 20% = 2 rows: 0.9 (positive), then one of the three tied at 0.5 of
        // which one is positive: 1 + 1/3.
        let scores = [0.9, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
        let labels = [
            true, true, false, false, false, false, false, false, false, true,
        ];
        let p = precision_at(&scores, &labels, 0.2).unwrap();
        assert!((p - (1.0 + 1.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(base_rate(&labels), Some(0.3));
    }
}
