//! Seeded, stratified train/validation splits.

use rand::seq::SliceRandom;
use rand::SeedableRng;

/// Indices of a train/validation split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training indices.
    pub train: Vec<usize>,
    /// Validation indices.
    pub validation: Vec<usize>,
}

/// Splits `labels` per class: each class with at least two examples gives
/// `round(n * fraction)` of them (at least one) to validation. The same seed and labels
/// always give the same split. Classes with one example stay in training.
pub fn stratified_split(labels: &[usize], n_classes: usize, fraction: f64, seed: u64) -> Split {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut split = Split {
        train: Vec::new(),
        validation: Vec::new(),
    };
    for class in 0..n_classes {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        idx.shuffle(&mut rng);
        let n_val = if idx.len() >= 2 && fraction > 0.0 {
            ((idx.len() as f64 * fraction).round() as usize).clamp(1, idx.len() - 1)
        } else {
            0
        };
        split.validation.extend_from_slice(&idx[..n_val]);
        split.train.extend_from_slice(&idx[n_val..]);
    }
    split.train.sort_unstable();
    split.validation.sort_unstable();
    split
}

/// Assigns each item to one of `k` folds, per class: each class's items, shuffled with
/// `seed`, are dealt round-robin, so every fold holds about `1/k` of every label. Returns
/// the fold of each item. A class with fewer than `k` items leaves some folds without it.
pub fn stratified_folds(labels: &[usize], n_classes: usize, k: usize, seed: u64) -> Vec<usize> {
    let k = k.max(1);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut fold = vec![0; labels.len()];
    let mut next = 0;
    for class in 0..n_classes {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        idx.shuffle(&mut rng);
        for i in idx {
            fold[i] = next % k;
            next += 1;
        }
    }
    fold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_stratified_and_cover_every_item_once() {
        let labels: Vec<usize> = (0..50).map(|i| usize::from(i % 5 == 0)).collect();
        let folds = stratified_folds(&labels, 2, 5, 3);
        for f in 0..5 {
            let members: Vec<usize> = (0..50).filter(|&i| folds[i] == f).collect();
            assert_eq!(members.len(), 10, "fold {f}");
            assert_eq!(members.iter().filter(|&&i| labels[i] == 1).count(), 2);
        }
        assert_eq!(folds, stratified_folds(&labels, 2, 5, 3));
    }

    #[test]
    fn split_is_stratified_and_seeded() {
        let labels: Vec<usize> = (0..100).map(|i| usize::from(i % 4 == 0)).collect();
        let a = stratified_split(&labels, 2, 0.2, 7);
        let b = stratified_split(&labels, 2, 0.2, 7);
        assert_eq!(a, b);
        assert_eq!(a.validation.len(), 20);
        let val_pos = a.validation.iter().filter(|&&i| labels[i] == 1).count();
        assert_eq!(val_pos, 5);
        let mut all: Vec<usize> = a.train.iter().chain(&a.validation).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_ne!(a, stratified_split(&labels, 2, 0.2, 8));
    }
}
