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
        DeviceChoice::Cpu => Ok(cpu(format!("using {}", cpu_summary()))),
        DeviceChoice::Cuda => try_cuda().map_err(StudioError::Device),
        DeviceChoice::Metal => try_metal().map_err(StudioError::Device),
        DeviceChoice::Auto => match try_cuda() {
            Ok(d) => Ok(d),
            Err(cuda_why) => match try_metal() {
                Ok(d) => Ok(d),
                Err(metal_why) => Ok(cpu(format!(
                    "{cuda_why}; {metal_why}; using {}",
                    cpu_summary()
                ))),
            },
        },
    }
}

/// "CPU (2 threads, OpenBLAS)", or without OpenBLAS, how to get it.
///
/// Why the hint: without the system OpenBLAS a training step is about 1.45× slower
/// (see [`crate::arch::blas`]), and nothing else would tell the user that one package
/// makes the difference. Only binaries that ran [`crate::runtime::tune_process`] load it.
fn cpu_summary() -> String {
    let threads = cpu_threads();
    match crate::arch::blas::backend_name() {
        "openblas" => format!("CPU ({threads} threads, OpenBLAS)"),
        _ if cfg!(target_os = "linux") => format!(
            "CPU ({threads} threads); installing OpenBLAS (Debian/Ubuntu: \
             sudo apt install libopenblas0) makes CPU training about 1.4× faster"
        ),
        _ => format!("CPU ({threads} threads)"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_explanation_names_the_matrix_library_or_how_to_get_it() {
        let chosen = open(DeviceChoice::Cpu).unwrap();
        assert_eq!(chosen.kind, "cpu");
        let text = chosen.explanation;
        assert!(
            text.contains(&format!("{} threads", cpu_threads())),
            "{text}"
        );
        match crate::arch::blas::backend_name() {
            "openblas" => assert!(text.ends_with("OpenBLAS)"), "{text}"),
            _ if cfg!(target_os = "linux") => assert!(text.contains("libopenblas0"), "{text}"),
            _ => {}
        }
    }

    #[test]
    fn unknown_device_names_say_what_is_accepted() {
        let err = "tpu".parse::<DeviceChoice>().unwrap_err().to_string();
        assert!(err.contains("auto, cpu, cuda or metal"), "{err}");
    }
}
