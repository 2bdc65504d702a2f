//! Grouping examples into batches of similar length, so padding costs little.

use rand::seq::SliceRandom;
use rand::Rng;

/// Training batches: shuffle, then within windows of 50 batches sort by length, cut into
/// batches and shuffle the batch order. Seeded by `rng`, so a run repeats.
pub fn bucketed<R: Rng>(
    indices: &[usize],
    lengths: &[usize],
    size: usize,
    rng: &mut R,
) -> Vec<Vec<usize>> {
    let mut idx = indices.to_vec();
    idx.shuffle(rng);
    let window = size * 50;
    let mut batches = Vec::new();
    for chunk in idx.chunks_mut(window) {
        chunk.sort_by_key(|&i| lengths[i]);
        batches.extend(chunk.chunks(size).map(<[usize]>::to_vec));
    }
    batches.shuffle(rng);
    batches
}

/// Inference batches: all indices sorted by length (longest first, so memory peaks early),
/// cut into batches.
pub fn by_length(lengths: &[usize], size: usize) -> Vec<Vec<usize>> {
    let mut idx: Vec<usize> = (0..lengths.len()).collect();
    idx.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
    idx.chunks(size.max(1)).map(<[usize]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_index_once_and_batches_are_homogeneous() {
        let lengths: Vec<usize> = (0..1000).map(|i| (i * 37) % 120 + 3).collect();
        let idx: Vec<usize> = (0..1000).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let b = bucketed(&idx, &lengths, 16, &mut rng);
        let mut seen: Vec<usize> = b.iter().flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, idx);
        // Padding waste is far below that of random batches.
        let waste = |bs: &[Vec<usize>]| -> usize {
            bs.iter()
                .map(|b| {
                    let m = b.iter().map(|&i| lengths[i]).max().unwrap();
                    b.iter().map(|&i| m - lengths[i]).sum::<usize>()
                })
                .sum()
        };
        let random: Vec<Vec<usize>> = idx.chunks(16).map(<[usize]>::to_vec).collect();
        assert!(waste(&b) * 5 < waste(&random));
    }
}
