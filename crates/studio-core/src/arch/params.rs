//! Named weights, some trainable, some frozen.
//!
//! candle's `VarMap` silently invents a random variable for a misspelt name and makes
//! every entry trainable. This store errors on a missing name and keeps a trainable flag
//! per entry, so frozen weights are handed to the model as detached tensors and take no
//! part in the backward pass.

use crate::{Result, StudioError};
use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use std::collections::{BTreeMap, HashMap};

struct Entry {
    var: Var,
    trainable: bool,
}

/// Weights by Hugging Face name.
pub struct ParamStore {
    device: Device,
    entries: BTreeMap<String, Entry>,
}

impl ParamStore {
    /// An empty store on `device`.
    pub fn new(device: Device) -> Self {
        Self {
            device,
            entries: BTreeMap::new(),
        }
    }

    /// Builds a store from loaded tensors, all frozen.
    pub fn from_tensors(tensors: HashMap<String, Tensor>, device: &Device) -> Result<Self> {
        let mut store = Self::new(device.clone());
        for (name, t) in tensors {
            store.insert(&name, t, false)?;
        }
        Ok(store)
    }

    /// The device every weight lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Adds or replaces `name`, moved to the store's device as f32.
    pub fn insert(&mut self, name: &str, tensor: Tensor, trainable: bool) -> Result<()> {
        let t = tensor.to_dtype(DType::F32)?.to_device(&self.device)?;
        self.entries.insert(
            name.to_string(),
            Entry {
                var: Var::from_tensor(&t)?,
                trainable,
            },
        );
        Ok(())
    }

    /// Adds a weight drawn from N(0, std²) with the given seed, unless present.
    pub fn insert_normal(
        &mut self,
        name: &str,
        shape: &[usize],
        std: f64,
        seed: u64,
        trainable: bool,
    ) -> Result<()> {
        if self.contains(name) {
            return Ok(());
        }
        let n: usize = shape.iter().product();
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ fxhash(name));
        let normal = Normal::new(0.0, std as f32)
            .map_err(|e| StudioError::InvalidSetting(format!("bad init std: {e}")))?;
        let data: Vec<f32> = (0..n).map(|_| normal.sample(&mut rng)).collect();
        self.insert(
            name,
            Tensor::from_vec(data, shape, &Device::Cpu)?,
            trainable,
        )
    }

    /// Adds a weight filled with zeros, unless present.
    pub fn insert_zeros(&mut self, name: &str, shape: &[usize], trainable: bool) -> Result<()> {
        if self.contains(name) {
            return Ok(());
        }
        self.insert(
            name,
            Tensor::zeros(shape, DType::F32, &Device::Cpu)?,
            trainable,
        )
    }

    /// Overwrites the value of an existing weight `name` (same shape).
    pub fn set(&self, name: &str, value: &Tensor) -> Result<()> {
        let e = self.entries.get(name).ok_or_else(|| {
            StudioError::InvalidSetting(format!("the model has no weight named {name}"))
        })?;
        e.var
            .set(&value.to_device(&self.device)?.to_dtype(DType::F32)?)?;
        Ok(())
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// Removes `name` if present.
    pub fn remove(&mut self, name: &str) {
        self.entries.remove(name);
    }

    /// The weight `name`: tracked by autograd when trainable, detached otherwise.
    pub fn get(&self, name: &str) -> Result<Tensor> {
        let e = self.entries.get(name).ok_or_else(|| {
            StudioError::InvalidSetting(format!("the model has no weight named {name}"))
        })?;
        Ok(if e.trainable {
            e.var.as_tensor().clone()
        } else {
            e.var.as_tensor().detach()
        })
    }

    /// The weight `name` if present.
    pub fn get_opt(&self, name: &str) -> Result<Option<Tensor>> {
        if self.contains(name) {
            self.get(name).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Marks every weight whose name satisfies `pred` as trainable and all others frozen.
    pub fn set_trainable(&mut self, pred: impl Fn(&str) -> bool) {
        for (name, e) in self.entries.iter_mut() {
            e.trainable = pred(name);
        }
    }

    /// Trainable weights, by name.
    pub fn trainable(&self) -> Vec<(String, Var)> {
        self.entries
            .iter()
            .filter(|(_, e)| e.trainable)
            .map(|(n, e)| (n.clone(), e.var.clone()))
            .collect()
    }

    /// All names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    /// Number of weights.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Current values of the trainable weights (a cheap snapshot for "keep the best").
    pub fn snapshot_trainable(&self) -> Result<Vec<(String, Tensor)>> {
        self.entries
            .iter()
            .filter(|(_, e)| e.trainable)
            .map(|(n, e)| Ok((n.clone(), e.var.as_tensor().copy()?)))
            .collect()
    }

    /// Writes a snapshot back.
    pub fn restore(&self, snapshot: &[(String, Tensor)]) -> Result<()> {
        for (n, t) in snapshot {
            if let Some(e) = self.entries.get(n) {
                e.var.set(t)?;
            }
        }
        Ok(())
    }

    /// Every weight's current value (detached), by name.
    pub fn tensors(&self) -> HashMap<String, Tensor> {
        self.entries
            .iter()
            .map(|(n, e)| (n.clone(), e.var.as_tensor().detach()))
            .collect()
    }
}

/// A stable hash of a name (FNV-1a), so each weight gets its own random stream.
fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// A fast seeded generator for dropout masks.
pub type MaskRng = rand::rngs::SmallRng;

/// A new mask generator from a seed.
pub fn mask_rng(seed: u64) -> MaskRng {
    MaskRng::seed_from_u64(seed)
}

/// An inverted-dropout mask: each entry 0 with probability `p`, else `1/(1-p)`.
pub fn dropout_mask(rng: &mut MaskRng, shape: &[usize], p: f32, device: &Device) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let keep = 1.0 / (1.0 - p);
    let data: Vec<f32> = (0..n)
        .map(|_| if rng.random::<f32>() < p { 0.0 } else { keep })
        .collect();
    Ok(Tensor::from_vec(data, shape, device)?)
}
