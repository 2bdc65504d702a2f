//! Row-major matrix products for the fused linear layer, forward and backward.
//!
//! Why two back ends: the `gemm` crate (what candle uses) runs 8-wide AVX2 kernels on
//! stable Rust. A system OpenBLAS with its AVX-512 kernels is much faster where the CPU
//! has them: on the 2-core AMD EPYC machines here a full MiniLM training step went from
//! 0.58 s to 0.40 s (`studio-bench task full --seq 64`), PyTorch's being 0.49 s.
//!
//! OpenBLAS is loaded at run time (`libopenblas.so.0`; Debian: libopenblas0), so nothing
//! is needed to build and everything works without it. The binaries turn it on with
//! [`crate::runtime::tune_process`] → [`use_system_openblas`]; the engine alone (and so
//! its tests) uses the `gemm` crate unless asked. f64 products (the gradient checks)
//! always use the `gemm` crate.

use std::sync::OnceLock;

static OPENBLAS: OnceLock<Option<openblas::Lib>> = OnceLock::new();

/// Loads the system OpenBLAS for f32 products, with `threads` threads. Returns whether
/// it is in use. The first call decides; later calls report that decision.
pub fn use_system_openblas(threads: usize) -> bool {
    OPENBLAS
        .get_or_init(|| openblas::Lib::load(threads))
        .is_some()
}

/// Which library runs the linear layers' f32 products: "openblas" or "gemm".
pub fn backend_name() -> &'static str {
    match OPENBLAS.get() {
        Some(Some(_)) => "openblas",
        _ => "gemm",
    }
}

/// `c[m×n] = op(a)·op(b)`, plus the old `c` when `accumulate`, all row-major; `op(a)`
/// is `m×k` (stored `[m, k]`, or `[k, m]` when `trans_a`), `op(b)` is `k×n` (stored
/// `[k, n]`, or `[n, k]` when `trans_b`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_rm<T: 'static + Copy + From<f32>>(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    b: &[T],
    accumulate: bool,
    c: &mut [T],
) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    if m == 0 || n == 0 {
        return;
    }
    if std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>() {
        if let Some(Some(lib)) = OPENBLAS.get() {
            // SAFETY: T is f32 (checked above), so the casts only rename the element type.
            unsafe {
                lib.sgemm(
                    trans_a,
                    trans_b,
                    m,
                    n,
                    k,
                    std::slice::from_raw_parts(a.as_ptr().cast::<f32>(), a.len()),
                    std::slice::from_raw_parts(b.as_ptr().cast::<f32>(), b.len()),
                    if accumulate { 1.0 } else { 0.0 },
                    std::slice::from_raw_parts_mut(c.as_mut_ptr().cast::<f32>(), c.len()),
                );
            }
            return;
        }
    }
    let threads = candle_core::utils::get_num_threads();
    let par = if threads > 1 && m * n * k > 32 * 32 * 32 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // (row stride, column stride) of op(a) and op(b) in their storage.
    let (a_rs, a_cs) = if trans_a {
        (1, m as isize)
    } else {
        (k as isize, 1)
    };
    let (b_rs, b_cs) = if trans_b {
        (1, k as isize)
    } else {
        (n as isize, 1)
    };
    let one = T::from(1.0);
    // SAFETY: the assert above bounds every index the strides reach; c is only written,
    // a and b only read. gemm computes dst = alpha·dst + beta·lhs·rhs, reading dst only
    // when asked to.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            one,
            one,
            false,
            false,
            false,
            par,
        );
    }
}

mod openblas {
    use std::os::raw::c_int;

    const ROW_MAJOR: c_int = 101;
    const NO_TRANS: c_int = 111;
    const TRANS: c_int = 112;

    type Sgemm = unsafe extern "C" fn(
        c_int,
        c_int,
        c_int,
        c_int,
        c_int,
        c_int,
        f32,
        *const f32,
        c_int,
        *const f32,
        c_int,
        f32,
        *mut f32,
        c_int,
    );
    type SetThreads = unsafe extern "C" fn(c_int);

    /// The loaded library and the one function we call.
    pub(super) struct Lib {
        sgemm: Sgemm,
        // Kept loaded for the life of the process (the function pointer points into it).
        _lib: libloading::Library,
    }

    impl Lib {
        /// The system OpenBLAS, if there is one.
        pub(super) fn load(threads: usize) -> Option<Self> {
            let names: &[&str] = if cfg!(target_os = "macos") {
                &["libopenblas.dylib"]
            } else if cfg!(windows) {
                &["libopenblas.dll", "openblas.dll"]
            } else {
                &["libopenblas.so.0", "libopenblas.so"]
            };
            names.iter().find_map(|name| {
                // SAFETY: loading OpenBLAS runs only its own initialisers.
                let lib = unsafe { libloading::Library::new(*name) }.ok()?;
                // SAFETY: the symbols have these C signatures in every OpenBLAS (cblas.h).
                let sgemm = unsafe { *lib.get::<Sgemm>(b"cblas_sgemm\0").ok()? };
                if let Ok(set) = unsafe { lib.get::<SetThreads>(b"openblas_set_num_threads\0") } {
                    // SAFETY: sets a global in OpenBLAS; no product runs yet.
                    unsafe { set(threads.max(1) as c_int) };
                }
                Some(Self { sgemm, _lib: lib })
            })
        }

        /// See [`super::gemm_rm`].
        #[allow(clippy::too_many_arguments)]
        pub(super) fn sgemm(
            &self,
            trans_a: bool,
            trans_b: bool,
            m: usize,
            n: usize,
            k: usize,
            a: &[f32],
            b: &[f32],
            beta: f32,
            c: &mut [f32],
        ) {
            let lda = if trans_a { m } else { k };
            let ldb = if trans_b { k } else { n };
            // SAFETY: `gemm_rm` asserted the slices hold m·k, k·n and m·n elements, which
            // is what these leading dimensions address.
            unsafe {
                (self.sgemm)(
                    ROW_MAJOR,
                    if trans_a { TRANS } else { NO_TRANS },
                    if trans_b { TRANS } else { NO_TRANS },
                    m as c_int,
                    n as c_int,
                    k as c_int,
                    1.0,
                    a.as_ptr(),
                    lda.max(1) as c_int,
                    b.as_ptr(),
                    ldb.max(1) as c_int,
                    beta,
                    c.as_mut_ptr(),
                    n.max(1) as c_int,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(ta: bool, tb: bool, m: usize, n: usize, k: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        let at = |i: usize, p: usize| if ta { a[p * m + i] } else { a[i * k + p] };
        let bt = |p: usize, j: usize| if tb { b[j * k + p] } else { b[p * n + j] };
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| at(i, p) * bt(p, j)).sum();
            }
        }
        c
    }

    /// Every transpose combination, in f32 (through OpenBLAS when this machine has it)
    /// and f64, with and without accumulating onto c, against a naive triple loop.
    #[test]
    fn every_layout_matches_the_naive_product() {
        let with_openblas = use_system_openblas(2);
        if std::env::var_os("STUDIO_REQUIRE_OPENBLAS").is_some() {
            assert!(
                with_openblas,
                "STUDIO_REQUIRE_OPENBLAS is set but libopenblas did not load"
            );
        }
        let (m, n, k) = (37, 29, 53);
        let a: Vec<f64> = (0..m * k)
            .map(|i| ((i * 7919) % 97) as f64 / 97.0 - 0.5)
            .collect();
        let b: Vec<f64> = (0..k * n)
            .map(|i| ((i * 104_729) % 89) as f64 / 89.0 - 0.5)
            .collect();
        for ta in [false, true] {
            for tb in [false, true] {
                let want = naive(ta, tb, m, n, k, &a, &b);
                let mut c64 = vec![1.0; m * n];
                gemm_rm(ta, tb, m, n, k, &a, &b, true, &mut c64);
                let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
                let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
                let mut c32 = vec![7.0f32; m * n];
                gemm_rm(ta, tb, m, n, k, &a32, &b32, false, &mut c32);
                for i in 0..m * n {
                    assert!(
                        (c64[i] - 1.0 - want[i]).abs() < 1e-9,
                        "f64 {ta} {tb} at {i}"
                    );
                    assert!(
                        (f64::from(c32[i]) - want[i]).abs() < 1e-4,
                        "f32 {ta} {tb} at {i}"
                    );
                }
            }
        }
    }
}
