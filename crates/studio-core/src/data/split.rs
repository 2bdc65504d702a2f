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

#[cfg(test)]
mod tests {
    use super::*;

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
