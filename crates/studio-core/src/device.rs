//! Choosing where tensors live: CUDA, Metal or the CPU.

use crate::{Result, StudioError};
use candle_core::Device;
use std::fmt;
use std::str::FromStr;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// CUDA if built in and present, then Metal, then CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// The first NVIDIA GPU.
    Cuda,
    /// The Apple GPU.
    Metal,
}

impl FromStr for DeviceChoice {
    type Err = StudioError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda),
            "metal" | "mps" => Ok(Self::Metal),
            _ => Err(StudioError::InvalidSetting(format!(
                "unknown device \"{s}\"; use auto, cpu, cuda or metal"
            ))),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
            Self::Metal => "metal",
        })
    }
}

/// A device that was opened, with a plain sentence about it for the user.
#[derive(Debug, Clone)]
pub struct ChosenDevice {
    /// The candle device.
    pub device: Device,
    /// "cpu", "cuda" or "metal".
    pub kind: &'static str,
    /// Why this one: e.g. "CUDA not available (this build has no CUDA support); using CPU".
    pub explanation: String,
}

/// Opens the device for `choice`. `Auto` never fails: it falls back to the CPU and says
/// why. An explicit `Cuda` or `Metal` that cannot be opened is an error.
pub fn open(choice: DeviceChoice) -> Result<ChosenDevice> {
    let cpu = |why: String| ChosenDevice {
        device: Device::Cpu,
        kind: "cpu",
        explanation: why,
    };
    match choice {
        DeviceChoice::Cpu => Ok(cpu(format!("using CPU ({} threads)", cpu_threads()))),
        DeviceChoice::Cuda => try_cuda().map_err(StudioError::Device),
        DeviceChoice::Metal => try_metal().map_err(StudioError::Device),
        DeviceChoice::Auto => match try_cuda() {
            Ok(d) => Ok(d),
            Err(cuda_why) => match try_metal() {
                Ok(d) => Ok(d),
                Err(metal_why) => Ok(cpu(format!(
                    "{cuda_why}; {metal_why}; using CPU ({} threads)",
                    cpu_threads()
                ))),
            },
        },
    }
}

/// Threads the CPU backend uses (rayon's pool size).
pub fn cpu_threads() -> usize {
    candle_core::utils::get_num_threads()
}

fn try_cuda() -> std::result::Result<ChosenDevice, String> {
    if !candle_core::utils::cuda_is_available() {
        return Err("CUDA not available (this build has no CUDA support)".into());
    }
    Device::new_cuda(0)
        .map(|device| ChosenDevice {
            device,
            kind: "cuda",
            explanation: "using CUDA GPU 0".into(),
        })
        .map_err(|e| format!("CUDA not available: {e}"))
}

fn try_metal() -> std::result::Result<ChosenDevice, String> {
    if !candle_core::utils::metal_is_available() {
        return Err("Metal not available (this build has no Metal support)".into());
    }
    Device::new_metal(0)
        .map(|device| ChosenDevice {
            device,
            kind: "metal",
            explanation: "using the Metal GPU".into(),
        })
        .map_err(|e| format!("Metal not available: {e}"))
}
