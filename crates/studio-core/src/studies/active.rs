//! The active-learning simulation: labels are revealed from a labelled pool in the order
//! each strategy asks for them, a fast classifier is retrained after every batch, and we
//! record test accuracy against the number of labels.

use crate::active::{pick, Pick};
use crate::classify::probe::{rows_tensor, LinearProbe, ProbeOptions};
use crate::progress::{CancelToken, Event, Observer};
use crate::Result;
use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct ActiveSpec {
    /// Random labels per class to start from.
    pub start_per_class: usize,
    /// Labels added per round.
    pub step: usize,
    /// Rounds after the start.
    pub rounds: usize,
    /// Strategies compared.
    pub strategies: Vec<Pick>,
    /// Seeds (each: a different start and random order).
    pub seeds: Vec<u64>,
    /// How the fast classifier is fitted.
    pub probe: ProbeOptions,
}

/// Accuracy after one round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivePoint {
    /// Strategy.
    pub strategy: Pick,
    /// Seed.
    pub seed: u64,
    /// Labels revealed so far.
    pub n_labels: usize,
    /// Test accuracy of the classifier trained on them.
    pub accuracy: f64,
}

/// Runs the simulation on pre-computed sentence vectors.
#[allow(clippy::too_many_arguments)]
pub fn simulate(
    pool: &[Vec<f32>],
    pool_labels: &[usize],
    test: &Tensor,
    test_labels: &[usize],
    n_classes: usize,
    spec: &ActiveSpec,
    observer: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<Vec<ActivePoint>> {
    let dev = Device::Cpu;
    let pool_t = rows_tensor(pool, &(0..pool.len()).collect::<Vec<_>>(), &dev)?;
    let mut out = Vec::new();
    let total = (spec.strategies.len() * spec.seeds.len() * (spec.rounds + 1)) as u64;
    observer.on_event(&Event::Phase {
        name: "active-learning simulation".into(),
        total: Some(total),
    });
    for &strategy in &spec.strategies {
        for &seed in &spec.seeds {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut labelled: Vec<usize> = Vec::new();
            for c in 0..n_classes {
                let mut idx: Vec<usize> =
                    (0..pool.len()).filter(|&i| pool_labels[i] == c).collect();
                idx.shuffle(&mut rng);
                labelled.extend(idx.into_iter().take(spec.start_per_class));
            }
            let mut is_labelled = vec![false; pool.len()];
            for &i in &labelled {
                is_labelled[i] = true;
            }
            for round in 0..=spec.rounds {
                cancel.check()?;
                let x = rows_tensor(pool, &labelled, &dev)?;
                let y: Vec<usize> = labelled.iter().map(|&i| pool_labels[i]).collect();
                let probe = LinearProbe::fit(&x, &y, n_classes, &spec.probe)?;
                let test_probs = probe.predict_proba(test)?;
                let correct = test_probs
                    .iter()
                    .zip(test_labels)
                    .filter(|(p, &t)| crate::classify::infer::argmax(p) == t)
                    .count();
                out.push(ActivePoint {
                    strategy,
                    seed,
                    n_labels: labelled.len(),
                    accuracy: correct as f64 / test_labels.len().max(1) as f64,
                });
                observer.on_event(&Event::Advance {
                    done: out.len() as u64,
                    total: Some(total),
                });
                if round == spec.rounds {
                    break;
                }
                let candidates: Vec<usize> = (0..pool.len()).filter(|&i| !is_labelled[i]).collect();
                let probs = if matches!(strategy, Pick::Uncertain | Pick::UncertainDiverse) {
                    probe.predict_proba(&pool_t)?
                } else {
                    Vec::new()
                };
                let chosen = pick(
                    strategy,
                    &candidates,
                    &probs,
                    pool,
                    spec.step,
                    seed.wrapping_mul(1000).wrapping_add(round as u64),
                );
                for i in chosen {
                    is_labelled[i] = true;
                    labelled.push(i);
                }
            }
        }
    }
    Ok(out)
}

/// For each strategy: the mean over seeds of the labels needed to first reach `target`
/// accuracy, and how many seeds reached it.
pub fn labels_to_reach(
    points: &[ActivePoint],
    target: f64,
) -> Vec<(Pick, Option<f64>, usize, usize)> {
    let mut strategies: Vec<Pick> = Vec::new();
    for p in points {
        if !strategies.contains(&p.strategy) {
            strategies.push(p.strategy);
        }
    }
    strategies
        .into_iter()
        .map(|s| {
            let mut seeds: Vec<u64> = points
                .iter()
                .filter(|p| p.strategy == s)
                .map(|p| p.seed)
                .collect();
            seeds.sort_unstable();
            seeds.dedup();
            let reached: Vec<usize> = seeds
                .iter()
                .filter_map(|&seed| {
                    points
                        .iter()
                        .filter(|p| p.strategy == s && p.seed == seed)
                        .find(|p| p.accuracy >= target)
                        .map(|p| p.n_labels)
                })
                .collect();
            let mean = (!reached.is_empty())
                .then(|| reached.iter().sum::<usize>() as f64 / reached.len() as f64);
            (s, mean, reached.len(), seeds.len())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_to_reach_takes_the_first_round_at_target() {
        let p = |s, seed, n, a| ActivePoint {
            strategy: s,
            seed,
            n_labels: n,
            accuracy: a,
        };
        let pts = vec![
            p(Pick::Random, 1, 16, 0.6),
            p(Pick::Random, 1, 32, 0.7),
            p(Pick::Random, 1, 48, 0.8),
            p(Pick::Random, 2, 16, 0.6),
            p(Pick::Random, 2, 32, 0.81),
            p(Pick::Uncertain, 1, 16, 0.5),
            p(Pick::Uncertain, 1, 32, 0.6),
        ];
        let r = labels_to_reach(&pts, 0.8);
        assert_eq!(r[0], (Pick::Random, Some(40.0), 2, 2));
        assert_eq!(r[1], (Pick::Uncertain, None, 0, 1));
    }

    #[test]
    fn simulation_runs_every_strategy_and_grows_the_labels() {
        // Two well separated blobs.
        let pool: Vec<Vec<f32>> = (0..60)
            .map(|i| vec![if i % 2 == 0 { 1.0 } else { -1.0 }, (i as f32 * 0.37).sin()])
            .collect();
        let labels: Vec<usize> = (0..60).map(|i| i % 2).collect();
        let test = Tensor::new(&[[1f32, 0.0], [-1.0, 0.2]], &Device::Cpu).unwrap();
        let spec = ActiveSpec {
            start_per_class: 2,
            step: 4,
            rounds: 2,
            strategies: vec![Pick::Random, Pick::UncertainDiverse],
            seeds: vec![1],
            probe: ProbeOptions::LOOP,
        };
        let pts = simulate(
            &pool,
            &labels,
            &test,
            &[0, 1],
            2,
            &spec,
            &mut crate::progress::Silent,
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!(pts.len(), 6);
        assert_eq!(
            pts.iter().map(|p| p.n_labels).collect::<Vec<_>>(),
            vec![4, 8, 12, 4, 8, 12]
        );
        assert!(pts.iter().all(|p| p.accuracy == 1.0));
    }
}
