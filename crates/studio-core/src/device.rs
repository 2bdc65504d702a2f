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
    /// Why the GPU is or is not used, as a code a front end can word in its language.
    pub gpu: GpuStatus,
    /// Why this one, in English: e.g. "No NVIDIA GPU found; using CPU (2 threads, OpenBLAS)".
    pub explanation: String,
}

/// Whether training can use a GPU here and, if not, what the user could do about it.
///
/// Why codes rather than the backend's own error: "this build has no CUDA support" tells
/// an NVIDIA owner nothing they can act on, while "install the CUDA build" does, and the
/// app words each code in the user's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum GpuStatus {
    /// A GPU is in use.
    InUse,
    /// The user asked for the CPU.
    CpuChosen,
    /// No GPU this build could use, and no NVIDIA GPU on the machine.
    NoGpu,
    /// The machine has an NVIDIA GPU, but this build was made without CUDA.
    NeedsCudaBuild,
    /// This is a Mac, but this build was made without Metal.
    NeedsMetalBuild,
    /// The CUDA build found no usable NVIDIA GPU or driver.
    CudaFailed,
    /// The Metal build could not open the GPU.
    MetalFailed,
}

impl GpuStatus {
    /// Every status, for the front ends' checks that each has its words.
    pub const ALL: [GpuStatus; 7] = [
        Self::InUse,
        Self::CpuChosen,
        Self::NoGpu,
        Self::NeedsCudaBuild,
        Self::NeedsMetalBuild,
        Self::CudaFailed,
        Self::MetalFailed,
    ];

    /// A stable code for the front ends (the serde name).
    pub fn code(self) -> &'static str {
        match self {
            Self::InUse => "inUse",
            Self::CpuChosen => "cpuChosen",
            Self::NoGpu => "noGpu",
            Self::NeedsCudaBuild => "needsCudaBuild",
            Self::NeedsMetalBuild => "needsMetalBuild",
            Self::CudaFailed => "cudaFailed",
            Self::MetalFailed => "metalFailed",
        }
    }

    /// The English sentence for it (the CLI's words; the app has its own per language).
    pub fn sentence(self) -> &'static str {
        match self {
            Self::InUse => "using the GPU",
            Self::CpuChosen => "the CPU was asked for",
            Self::NoGpu => "No NVIDIA GPU found",
            Self::NeedsCudaBuild => "This build cannot use your NVIDIA GPU: install the CUDA build",
            Self::NeedsMetalBuild => {
                "This build cannot use your Mac's GPU: install the macOS build with Metal"
            }
            Self::CudaFailed => {
                "Your NVIDIA GPU could not be opened: update its driver (CUDA 12 or newer)"
            }
            Self::MetalFailed => "Your Mac's GPU could not be opened",
        }
    }
}

/// Whether this machine has an NVIDIA GPU with its driver loaded, whatever this build
/// supports: the driver's files on Linux, its command-line tool on Windows.
fn nvidia_gpu_present() -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new("/proc/driver/nvidia/version").exists()
            || std::path::Path::new("/dev/nvidia0").exists()
    } else if cfg!(windows) {
        std::env::var_os("SystemRoot")
            .map(|root| {
                std::path::Path::new(&root)
                    .join("System32/nvidia-smi.exe")
                    .exists()
            })
            .unwrap_or(false)
    } else {
        false
    }
}

/// Why the GPU is not used when neither CUDA nor Metal could be opened.
fn no_gpu_status(cuda_built: bool, metal_built: bool) -> GpuStatus {
    no_gpu_status_on(cuda_built, metal_built, nvidia_gpu_present())
}

/// [`no_gpu_status`] for a machine that does or does not have an NVIDIA GPU.
///
/// Why the CUDA build asks too: on a machine without an NVIDIA GPU, "update its driver"
/// would send the user looking for a driver for hardware they do not have.
fn no_gpu_status_on(cuda_built: bool, metal_built: bool, nvidia_present: bool) -> GpuStatus {
    if cuda_built && nvidia_present {
        GpuStatus::CudaFailed
    } else if cuda_built {
        GpuStatus::NoGpu
    } else if nvidia_present {
        GpuStatus::NeedsCudaBuild
    } else if cfg!(target_os = "macos") {
        if metal_built {
            GpuStatus::MetalFailed
        } else {
            GpuStatus::NeedsMetalBuild
        }
    } else {
        GpuStatus::NoGpu
    }
}

/// Opens the device for `choice`. `Auto` never fails: it falls back to the CPU and says
/// why. An explicit `Cuda` or `Metal` that cannot be opened is an error.
pub fn open(choice: DeviceChoice) -> Result<ChosenDevice> {
    let cpu = |gpu: GpuStatus, gpu_error: Option<String>| ChosenDevice {
        device: Device::Cpu,
        kind: "cpu",
        gpu,
        explanation: match gpu_error {
            Some(why) => format!("{} ({why}); using {}", gpu.sentence(), cpu_summary()),
            None => format!("{}; using {}", gpu.sentence(), cpu_summary()),
        },
    };
    match choice {
        DeviceChoice::Cpu => Ok(cpu(GpuStatus::CpuChosen, None)),
        DeviceChoice::Cuda => try_cuda().map_err(StudioError::Device),
        DeviceChoice::Metal => try_metal().map_err(StudioError::Device),
        DeviceChoice::Auto => match try_cuda() {
            Ok(d) => Ok(d),
            Err(cuda_error) => match try_metal() {
                Ok(d) => Ok(d),
                Err(metal_error) => {
                    // A build with GPU support says what its backend answered; a build
                    // without has nothing to add to its status sentence.
                    let why = if cfg!(feature = "cuda") {
                        Some(cuda_error)
                    } else if cfg!(feature = "metal") {
                        Some(metal_error)
                    } else {
                        None
                    };
                    Ok(cpu(
                        no_gpu_status(cfg!(feature = "cuda"), cfg!(feature = "metal")),
                        why,
                    ))
                }
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
            gpu: GpuStatus::InUse,
            explanation: "using CUDA GPU 0".into(),
        })
        // First line only: with RUST_BACKTRACE set, candle appends a backtrace.
        .map_err(|e| {
            let e = e.to_string();
            format!("CUDA: {}", e.lines().next().unwrap_or_default())
        })
}

fn try_metal() -> std::result::Result<ChosenDevice, String> {
    if !candle_core::utils::metal_is_available() {
        return Err("Metal not available (this build has no Metal support)".into());
    }
    Device::new_metal(0)
        .map(|device| ChosenDevice {
            device,
            kind: "metal",
            gpu: GpuStatus::InUse,
            explanation: "using the Metal GPU".into(),
        })
        .map_err(|e| {
            let e = e.to_string();
            format!("Metal: {}", e.lines().next().unwrap_or_default())
        })
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
    fn a_cpu_fallback_says_what_the_user_can_do_about_the_gpu() {
        // This build has no CUDA or Metal: the status follows from the machine alone.
        let chosen = open(DeviceChoice::Auto).unwrap();
        assert_eq!(chosen.kind, "cpu");
        let expected = if nvidia_gpu_present() {
            GpuStatus::NeedsCudaBuild
        } else if cfg!(target_os = "macos") {
            GpuStatus::NeedsMetalBuild
        } else {
            GpuStatus::NoGpu
        };
        if !cfg!(feature = "cuda") && !cfg!(feature = "metal") {
            assert_eq!(chosen.gpu, expected);
        }
        assert!(
            chosen.explanation.starts_with(chosen.gpu.sentence()),
            "{}",
            chosen.explanation
        );
        assert!(
            !chosen.explanation.contains("no CUDA support"),
            "{}",
            chosen.explanation
        );
        assert_eq!(no_gpu_status_on(true, false, true), GpuStatus::CudaFailed);
        assert_eq!(no_gpu_status_on(true, false, false), GpuStatus::NoGpu);
        assert_eq!(
            no_gpu_status_on(false, false, true),
            GpuStatus::NeedsCudaBuild
        );
        assert_eq!(open(DeviceChoice::Cpu).unwrap().gpu, GpuStatus::CpuChosen);
    }

    #[test]
    fn unknown_device_names_say_what_is_accepted() {
        let err = "tpu".parse::<DeviceChoice>().unwrap_err().to_string();
        assert!(err.contains("auto, cpu, cuda or metal"), "{err}");
    }
}
