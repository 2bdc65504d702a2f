//! Process-wide CPU tuning that every binary applies first thing in `main`, before any
//! thread starts (the studio CLI, the app, the bench).
//!
//! Why here and not in each binary: the settings change measured speed, so the bench
//! must run with exactly what users get.

/// Applies [`tune_allocator`], [`tune_elementwise_threads`] and [`use_openblas`].
pub fn tune_process() {
    tune_allocator();
    tune_elementwise_threads();
    use_openblas();
}

/// Runs the linear layers on the system OpenBLAS when there is one (see
/// [`crate::arch::blas`]): about 1.45× faster training steps here.
///
/// OpenBLAS 0.3.21 (Debian 12) does not know AMD's AVX-512 CPUs and falls back to its
/// AVX2 kernels; its AVX-512 ("SkylakeX") kernels run on any CPU with AVX-512 F, BW, DQ
/// and VL. So when the CPU has those and `OPENBLAS_CORETYPE` is unset, this sets it
/// before the library loads (OpenBLAS reads it once, when it is loaded). Measured on the
/// AMD EPYC machines here: a full step 0.52 s with the AVX2 kernels, 0.40 s with these.
///
/// `STUDIO_BLAS=gemm` leaves OpenBLAS unloaded: what a user without it gets (Windows,
/// macOS, a Linux without libopenblas0), and what `scripts/bench --blas gemm` measures.
pub fn use_openblas() -> bool {
    if std::env::var("STUDIO_BLAS").is_ok_and(|v| v == "gemm") {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    if std::env::var_os("OPENBLAS_CORETYPE").is_none()
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("avx512vl")
    {
        // Before any thread exists (see the module doc).
        std::env::set_var("OPENBLAS_CORETYPE", "SkylakeX");
    }
    crate::arch::blas::use_system_openblas(candle_core::utils::get_num_threads())
}

/// glibc's malloc returns large blocks to the OS at every free and maps fresh ones at
/// every allocation; activations are freed and reallocated every step, so each step
/// paid for page faults. Keeping up to 256 MiB blocks in the heap removes them.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning knobs; called before any threads.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// At or below this many compute threads, element-wise ops run on one thread.
pub const SMALL_MACHINE_THREADS: usize = 4;

/// candle runs element-wise ops on its own spinning thread pool, separate from the
/// rayon pool that runs matrix products. On a small machine the two pools fight for the
/// same cores: after every element-wise op its workers spin while the next matrix
/// product wants those cores. Measured with 2 threads (all-MiniLM-L6-v2, batch 16 × 64
/// tokens, `studio-bench task full|lora|infer`): with element-wise ops on one thread a
/// full step took 0.59 s instead of 0.70 s, a LoRA step 0.37 s instead of 0.44 s, and
/// batch-32 inference ran 135 instead of 117 sentences/s. Leaves an explicit
/// `CANDLE_NUM_THREADS` alone; bigger machines keep candle's default (not measured here).
pub fn tune_elementwise_threads() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_some() {
        return;
    }
    // RAYON_NUM_THREADS, else the machine's cores (what candle and rayon will use).
    let threads = candle_core::utils::get_num_threads();
    if threads <= SMALL_MACHINE_THREADS {
        // Called before any thread exists (see the module doc), so no other thread can
        // be reading the environment.
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}

/// Whether process `pid` runs. Where that cannot be told (not Linux), assume it does:
/// callers use this to clean up after dead processes, and must never remove what may be
/// in use.
pub fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}
