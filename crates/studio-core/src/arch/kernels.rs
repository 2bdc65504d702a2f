//! Fused CPU kernels with a hand-written backward: LayerNorm, GELU (erf), the scaled and
//! masked attention softmax, and the AdamW update.
//!
//! candle's composite versions of these make many passes over memory (and allocate a
//! tensor per pass) in the forward and even more in the backward; each op here makes one
//! or two. Every backward is checked against finite differences in f64
//! (`tests/kernels_grad.rs`).
//!
//! The ops run on CPU storage (f32 and f64). On another device the callers in
//! [`super::layers`] and [`super::model`] use the composite ops instead (see
//! [`fused_available`]); calling these ops on a GPU tensor gives candle's "no cuda
//! implementation" error rather than a wrong result.

use candle_core::backend::BackendStorage;
use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Device, InplaceOp2, Layout, Result, Shape,
    Storage, Tensor, WithDType,
};
use rayon::prelude::*;
use std::sync::Mutex;

/// Whether the fused kernels serve tensors on `device` (the CPU), so callers can fall back
/// to composite ops elsewhere.
pub fn fused_available(device: &Device) -> bool {
    device.is_cpu()
}

/// The float types the kernels are written for.
trait Real:
    WithDType
    + From<f32>
    + Send
    + Sync
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
    + std::ops::AddAssign
    + std::ops::MulAssign
    + PartialOrd
{
    fn of(x: f64) -> Self;
    fn sqrt(self) -> Self;
    fn exp(self) -> Self;
    /// `(gelu(x), gelu'(x))` for the erf GELU.
    fn gelu_and_grad(self) -> (Self, Self);
}

const SQRT_2_PI_INV: f64 = 0.398_942_280_401_432_7; // 1/sqrt(2π)
const FRAC_1_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;

impl Real for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    fn exp(self) -> Self {
        f32::exp(self)
    }
    #[inline]
    fn gelu_and_grad(self) -> (Self, Self) {
        // erf by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7, below f32's resolution of
        // the result); its exp(-z²) is also the Gaussian density needed by the derivative.
        let x = self;
        let z = (x * FRAC_1_SQRT_2 as f32).abs();
        let t = 1.0 / (1.0 + 0.327_591_1 * z);
        let poly = t
            * (0.254_829_6
                + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152_1 + t * 1.061_405_4))));
        let e = (-z * z).exp();
        let erf_abs = 1.0 - poly * e;
        let erf = if x < 0.0 { -erf_abs } else { erf_abs };
        let cdf = 0.5 * (1.0 + erf);
        let pdf = SQRT_2_PI_INV as f32 * e;
        (x * cdf, cdf + x * pdf)
    }
}

impl Real for f64 {
    fn of(x: f64) -> Self {
        x
    }
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    fn exp(self) -> Self {
        f64::exp(self)
    }
    fn gelu_and_grad(self) -> (Self, Self) {
        let x = self;
        let cdf = 0.5 * (1.0 + candle_core::cpu::erf::erf_f64(x * FRAC_1_SQRT_2));
        let pdf = SQRT_2_PI_INV * (-0.5 * x * x).exp();
        (x * cdf, cdf + x * pdf)
    }
}

/// Elements handed to one rayon task: enough work to amortise scheduling.
const CHUNK: usize = 16_384;

/// Rows handed to one rayon task: about [`CHUNK`] elements.
fn rows_per_task(row_len: usize) -> usize {
    (CHUNK / row_len.max(1)).max(1)
}

/// `f` of every element, in parallel chunks.
fn par_map<T: Real>(x: &[T], f: impl Fn(T) -> T + Sync) -> Vec<T> {
    let mut y = vec![T::of(0.0); x.len()];
    y.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(yc, xc)| {
            for (o, &v) in yc.iter_mut().zip(xc) {
                *o = f(v);
            }
        });
    y
}

/// `f` of every pair of elements of two equally long slices, in parallel chunks.
fn par_zip_map<T: Real>(a: &[T], b: &[T], f: impl Fn(T, T) -> T + Sync) -> Vec<T> {
    let mut y = vec![T::of(0.0); a.len()];
    y.par_chunks_mut(CHUNK)
        .zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK)))
        .for_each(|(yc, (ac, bc))| {
            for ((o, &u), &v) in yc.iter_mut().zip(ac).zip(bc) {
                *o = f(u, v);
            }
        });
    y
}

fn contiguous<'a, T: Real>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [T]> {
    let Some((a, b)) = l.contiguous_offsets() else {
        candle_core::bail!("{what}: the input must be contiguous")
    };
    Ok(&s.as_slice::<T>()?[a..b])
}

/// Runs `f` on the contiguous CPU data of `t` (made contiguous first if needed).
fn read<T: Real, R>(t: &Tensor, f: impl FnOnce(&[T]) -> Result<R>) -> Result<R> {
    let t = t.contiguous()?;
    let (s, l) = t.storage_and_layout();
    let Storage::Cpu(cs) = &*s else {
        candle_core::bail!("the fused kernels run on the CPU only")
    };
    f(contiguous::<T>(cs, l, "fused kernel")?)
}

fn dtype_error(op: &str, dt: DType) -> candle_core::Error {
    candle_core::Error::Msg(format!("{op}: unsupported dtype {dt:?} (f32 or f64 only)"))
}

// ---------------------------------------------------------------------------------------
// LayerNorm

struct LayerNormOp {
    eps: f64,
}

/// Mean and 1/std of one row.
#[inline]
fn moments<T: Real>(row: &[T], eps: f64) -> (T, T) {
    let n = T::of(row.len() as f64);
    let mut sum = T::of(0.0);
    for &v in row {
        sum += v;
    }
    let mean = sum / n;
    let mut sq = T::of(0.0);
    for &v in row {
        let d = v - mean;
        sq += d * d;
    }
    let rstd = T::one() / (sq / n + T::of(eps)).sqrt();
    (mean, rstd)
}

fn ln_fwd<T: Real>(x: &[T], g: &[T], b: &[T], eps: f64) -> Vec<T> {
    let d = g.len();
    let mut y = vec![T::of(0.0); x.len()];
    y.par_chunks_mut(d * rows_per_task(d))
        .zip(x.par_chunks(d * rows_per_task(d)))
        .for_each(|(yc, xc)| {
            for (yr, xr) in yc.chunks_mut(d).zip(xc.chunks(d)) {
                let (mean, rstd) = moments(xr, eps);
                for i in 0..d {
                    yr[i] = (xr[i] - mean) * rstd * g[i] + b[i];
                }
            }
        });
    y
}

/// `(dx, dγ, dβ)` of LayerNorm.
fn ln_bwd<T: Real>(x: &[T], g: &[T], dy: &[T], eps: f64) -> (Vec<T>, Vec<T>, Vec<T>) {
    let d = g.len();
    let chunk = d * rows_per_task(d);
    let mut dx = vec![T::of(0.0); x.len()];
    let partial: Vec<(Vec<T>, Vec<T>)> = dx
        .par_chunks_mut(chunk)
        .zip(x.par_chunks(chunk).zip(dy.par_chunks(chunk)))
        .map(|(dxc, (xc, dyc))| {
            let mut dg = vec![T::of(0.0); d];
            let mut db = vec![T::of(0.0); d];
            let mut xhat = vec![T::of(0.0); d];
            let inv_n = T::one() / T::of(d as f64);
            for ((dxr, xr), dyr) in dxc.chunks_mut(d).zip(xc.chunks(d)).zip(dyc.chunks(d)) {
                let (mean, rstd) = moments(xr, eps);
                let mut s1 = T::of(0.0); // Σ g·dy
                let mut s2 = T::of(0.0); // Σ g·dy·x̂
                for i in 0..d {
                    let xh = (xr[i] - mean) * rstd;
                    xhat[i] = xh;
                    dg[i] += dyr[i] * xh;
                    db[i] += dyr[i];
                    let gdy = g[i] * dyr[i];
                    s1 += gdy;
                    s2 += gdy * xh;
                }
                let (m1, m2) = (s1 * inv_n, s2 * inv_n);
                for i in 0..d {
                    dxr[i] = rstd * (g[i] * dyr[i] - m1 - xhat[i] * m2);
                }
            }
            (dg, db)
        })
        .collect();
    let mut dg = vec![T::of(0.0); d];
    let mut db = vec![T::of(0.0); d];
    for (pg, pb) in partial {
        for i in 0..d {
            dg[i] += pg[i];
            db[i] += pb[i];
        }
    }
    (dx, dg, db)
}

impl CustomOp3 for LayerNormOp {
    fn name(&self) -> &'static str {
        "studio-layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let shape = l1.shape().clone();
        let out = match s1.dtype() {
            DType::F32 => CpuStorage::F32(ln_fwd::<f32>(
                contiguous(s1, l1, "layer_norm x")?,
                contiguous(s2, l2, "layer_norm γ")?,
                contiguous(s3, l3, "layer_norm β")?,
                self.eps,
            )),
            DType::F64 => CpuStorage::F64(ln_fwd::<f64>(
                contiguous(s1, l1, "layer_norm x")?,
                contiguous(s2, l2, "layer_norm γ")?,
                contiguous(s3, l3, "layer_norm β")?,
                self.eps,
            )),
            dt => return Err(dtype_error("layer_norm", dt)),
        };
        Ok((out, shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        g: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        fn go<T: Real>(x: &Tensor, g: &Tensor, dy: &Tensor, eps: f64) -> Result<[Tensor; 3]> {
            let (dx, dg, db) = read::<T, _>(x, |xs| {
                read::<T, _>(g, |gs| read::<T, _>(dy, |dys| Ok(ln_bwd(xs, gs, dys, eps))))
            })?;
            let dev = x.device();
            Ok([
                Tensor::from_vec(dx, x.shape(), dev)?,
                Tensor::from_vec(dg, g.shape(), dev)?,
                Tensor::from_vec(db, g.shape(), dev)?,
            ])
        }
        let [dx, dg, db] = match x.dtype() {
            DType::F32 => go::<f32>(x, g, dy, self.eps)?,
            DType::F64 => go::<f64>(x, g, dy, self.eps)?,
            dt => return Err(dtype_error("layer_norm", dt)),
        };
        Ok((
            x.track_op().then_some(dx),
            g.track_op().then_some(dg),
            b.track_op().then_some(db),
        ))
    }
}

/// LayerNorm over the last dimension, `γ·(x − mean)/sqrt(var + eps) + β`, in one pass
/// forward and one backward. `x` must be contiguous, `γ` and `β` of the last dim's size.
pub fn layer_norm(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f64) -> Result<Tensor> {
    let d = x.dim(candle_core::D::Minus1)?;
    if gamma.dims() != [d] || beta.dims() != [d] {
        candle_core::bail!(
            "layer_norm: γ {:?} and β {:?} must be [{d}]",
            gamma.dims(),
            beta.dims()
        )
    }
    x.contiguous()?.apply_op3(gamma, beta, LayerNormOp { eps })
}

// ---------------------------------------------------------------------------------------
// Linear: y = x Wᵀ + b

struct LinearOp;

/// `x [rows, k]`, `w [n, k]`, `b [n]` → `[rows, n]`, one gemm writing onto the bias rows.
fn linear_fwd<T: Real>(x: &[T], w: &[T], b: &[T], rows: usize, k: usize, n: usize) -> Vec<T> {
    let mut y = Vec::with_capacity(rows * n);
    for _ in 0..rows {
        y.extend_from_slice(b);
    }
    if rows == 0 || k == 0 {
        return y;
    }
    // y = x·Wᵀ + y, with y holding the bias rows.
    super::blas::gemm_rm(false, true, rows, n, k, x, w, true, &mut y);
    y
}

/// `dx = dy·W` (`[rows, k]`) and `dW = dyᵀ·x` (`[n, k]`), each only when wanted.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn linear_bwd<T: Real>(
    dy: &Tensor,
    x: &Tensor,
    w: &Tensor,
    rows: usize,
    k: usize,
    n: usize,
    want_dx: bool,
    want_dw: bool,
) -> Result<(Option<Tensor>, Option<Tensor>)> {
    read::<T, _>(dy, |dy| {
        let dx = if want_dx {
            read::<T, _>(w, |w| {
                let mut dx = vec![T::of(0.0); rows * k];
                super::blas::gemm_rm(false, false, rows, k, n, dy, w, false, &mut dx);
                Ok(Some(Tensor::from_vec(dx, x.shape(), x.device())?))
            })?
        } else {
            None
        };
        let dw = if want_dw {
            read::<T, _>(x, |x| {
                let mut dw = vec![T::of(0.0); n * k];
                super::blas::gemm_rm(true, false, n, k, rows, dy, x, false, &mut dw);
                Ok(Some(Tensor::from_vec(dw, (n, k), w.device())?))
            })?
        } else {
            None
        };
        Ok((dx, dw))
    })
}

impl CustomOp3 for LinearOp {
    fn name(&self) -> &'static str {
        "studio-linear"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (n, k) = l2.shape().dims2()?;
        let dims = l1.shape().dims();
        if dims.last() != Some(&k) || l3.shape().dims() != [n] {
            candle_core::bail!(
                "linear: x {:?}, weight {:?}, bias {:?} do not fit",
                dims,
                l2.shape().dims(),
                l3.shape().dims()
            )
        }
        let rows = l1.shape().elem_count() / k.max(1);
        let mut out_dims = dims.to_vec();
        *out_dims.last_mut().unwrap_or(&mut 0) = n;
        let out = match s1.dtype() {
            DType::F32 => CpuStorage::F32(linear_fwd::<f32>(
                contiguous(s1, l1, "linear x")?,
                contiguous(s2, l2, "linear weight")?,
                contiguous(s3, l3, "linear bias")?,
                rows,
                k,
                n,
            )),
            DType::F64 => CpuStorage::F64(linear_fwd::<f64>(
                contiguous(s1, l1, "linear x")?,
                contiguous(s2, l2, "linear weight")?,
                contiguous(s3, l3, "linear bias")?,
                rows,
                k,
                n,
            )),
            dt => return Err(dtype_error("linear", dt)),
        };
        Ok((out, Shape::from(out_dims)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (n, k) = w.dims2()?;
        let rows = x.elem_count() / k.max(1);
        let dy2 = dy.contiguous()?.reshape((rows, n))?;
        // Only what is trained: a frozen weight (LoRA, head-only) costs no gemm.
        let (want_dx, want_dw) = (x.track_op(), w.track_op());
        let (dx, dw) = match x.dtype() {
            DType::F32 => linear_bwd::<f32>(&dy2, x, w, rows, k, n, want_dx, want_dw)?,
            DType::F64 => linear_bwd::<f64>(&dy2, x, w, rows, k, n, want_dx, want_dw)?,
            dt => return Err(dtype_error("linear backward", dt)),
        };
        let db = if b.track_op() {
            Some(dy2.sum(0)?)
        } else {
            None
        };
        Ok((dx, dw, db))
    }
}

/// `x Wᵀ + b` over the last dimension of `x` (`W` is `[out, in]` as transformers stores
/// it): the bias is the gemm's starting value, and the backward skips the gradients of
/// whatever is frozen.
pub fn linear(x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
    x.contiguous()?
        .apply_op3(&weight.contiguous()?, &bias.contiguous()?, LinearOp)
}

// ---------------------------------------------------------------------------------------
// GELU (erf)

struct GeluOp;

fn gelu_fwd<T: Real>(x: &[T]) -> Vec<T> {
    par_map(x, |v| v.gelu_and_grad().0)
}

fn gelu_bwd<T: Real>(x: &[T], dy: &[T]) -> Vec<T> {
    par_zip_map(x, dy, |v, g| g * v.gelu_and_grad().1)
}

impl CustomOp1 for GeluOp {
    fn name(&self) -> &'static str {
        "studio-gelu-erf"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let out = match s.dtype() {
            DType::F32 => CpuStorage::F32(gelu_fwd::<f32>(contiguous(s, l, "gelu")?)),
            DType::F64 => CpuStorage::F64(gelu_fwd::<f64>(contiguous(s, l, "gelu")?)),
            dt => return Err(dtype_error("gelu", dt)),
        };
        Ok((out, l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        let dx = match x.dtype() {
            DType::F32 => read::<f32, _>(x, |xs| read::<f32, _>(dy, |g| Ok(gelu_bwd(xs, g))))
                .and_then(|v| Tensor::from_vec(v, x.shape(), x.device()))?,
            DType::F64 => read::<f64, _>(x, |xs| read::<f64, _>(dy, |g| Ok(gelu_bwd(xs, g))))
                .and_then(|v| Tensor::from_vec(v, x.shape(), x.device()))?,
            dt => return Err(dtype_error("gelu", dt)),
        };
        Ok(Some(dx))
    }
}

/// Exact GELU, `x·Φ(x)`, with a one-pass backward.
pub fn gelu_erf(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1(GeluOp)
}

// ---------------------------------------------------------------------------------------
// Attention softmax: softmax(scale · scores + key_bias) over the last dim.

struct MaskedSoftmaxOp {
    scale: f64,
}

/// `scores [b, h, q, k]`, `bias [b, k]`.
fn softmax_fwd<T: Real>(s: &[T], bias: &[T], scale: f64, k: usize, per_batch: usize) -> Vec<T> {
    let mut p = vec![T::of(0.0); s.len()];
    let scale = T::of(scale);
    let chunk = k * rows_per_task(k);
    let rows_per_chunk = chunk / k;
    p.par_chunks_mut(chunk)
        .zip(s.par_chunks(chunk))
        .enumerate()
        .for_each(|(ci, (pc, sc))| {
            for (ri, (pr, sr)) in pc.chunks_mut(k).zip(sc.chunks(k)).enumerate() {
                let row = ci * rows_per_chunk + ri;
                let br = &bias[(row / per_batch) * k..][..k];
                let mut max = T::of(f64::NEG_INFINITY);
                for j in 0..k {
                    let v = sr[j] * scale + br[j];
                    pr[j] = v;
                    if v > max {
                        max = v;
                    }
                }
                let mut sum = T::of(0.0);
                for v in pr.iter_mut() {
                    *v = (*v - max).exp();
                    sum += *v;
                }
                let inv = T::one() / sum;
                for v in pr.iter_mut() {
                    *v *= inv;
                }
            }
        });
    p
}

/// `ds = scale · p ⊙ (dp − Σ p·dp)`.
fn softmax_bwd<T: Real>(p: &[T], dp: &[T], scale: f64, k: usize) -> Vec<T> {
    let mut ds = vec![T::of(0.0); p.len()];
    let scale = T::of(scale);
    let chunk = k * rows_per_task(k);
    ds.par_chunks_mut(chunk)
        .zip(p.par_chunks(chunk).zip(dp.par_chunks(chunk)))
        .for_each(|(dc, (pc, gc))| {
            for ((dr, pr), gr) in dc.chunks_mut(k).zip(pc.chunks(k)).zip(gc.chunks(k)) {
                let mut dot = T::of(0.0);
                for j in 0..k {
                    dot += pr[j] * gr[j];
                }
                for j in 0..k {
                    dr[j] = scale * pr[j] * (gr[j] - dot);
                }
            }
        });
    ds
}

impl CustomOp2 for MaskedSoftmaxOp {
    fn name(&self) -> &'static str {
        "studio-masked-softmax"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (b, h, q, k) = l1.shape().dims4()?;
        if l2.shape().dims() != [b, k] {
            candle_core::bail!(
                "masked_softmax: bias {:?} must be [{b}, {k}]",
                l2.shape().dims()
            )
        }
        let out = match s1.dtype() {
            DType::F32 => CpuStorage::F32(softmax_fwd::<f32>(
                contiguous(s1, l1, "softmax scores")?,
                contiguous(s2, l2, "softmax bias")?,
                self.scale,
                k,
                h * q,
            )),
            DType::F64 => CpuStorage::F64(softmax_fwd::<f64>(
                contiguous(s1, l1, "softmax scores")?,
                contiguous(s2, l2, "softmax bias")?,
                self.scale,
                k,
                h * q,
            )),
            dt => return Err(dtype_error("masked_softmax", dt)),
        };
        Ok((out, l1.shape().clone()))
    }

    fn bwd(
        &self,
        scores: &Tensor,
        _bias: &Tensor,
        res: &Tensor,
        dp: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let k = scores.dim(candle_core::D::Minus1)?;
        let ds = match res.dtype() {
            DType::F32 => read::<f32, _>(res, |p| {
                read::<f32, _>(dp, |g| Ok(softmax_bwd(p, g, self.scale, k)))
            })
            .and_then(|v| Tensor::from_vec(v, res.shape(), res.device()))?,
            DType::F64 => read::<f64, _>(res, |p| {
                read::<f64, _>(dp, |g| Ok(softmax_bwd(p, g, self.scale, k)))
            })
            .and_then(|v| Tensor::from_vec(v, res.shape(), res.device()))?,
            dt => return Err(dtype_error("masked_softmax", dt)),
        };
        // The bias is a mask, never trained.
        Ok((Some(ds), None))
    }
}

/// Attention probabilities `softmax(scale · scores + bias)` over the last dimension, where
/// `scores` is `[b, heads, q, k]` and `bias` `[b, k]` (0 on real keys, a large negative
/// number on padding). No gradient flows to `bias`.
pub fn masked_softmax(scores: &Tensor, bias: &Tensor, scale: f64) -> Result<Tensor> {
    let bias = bias.to_dtype(scores.dtype())?.contiguous()?.detach();
    scores
        .contiguous()?
        .apply_op2(&bias, MaskedSoftmaxOp { scale })
}

// ---------------------------------------------------------------------------------------
// Dropout: x ⊙ mask, where the mask is a constant.

struct MaskMulOp;

fn mask_mul<T: Real>(x: &[T], m: &[T]) -> Vec<T> {
    par_zip_map(x, m, |a, b| a * b)
}

impl CustomOp2 for MaskMulOp {
    fn name(&self) -> &'static str {
        "studio-mask-mul"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        if l1.shape() != l2.shape() {
            candle_core::bail!("dropout: mask {:?} for x {:?}", l2.shape(), l1.shape())
        }
        let out = match s1.dtype() {
            DType::F32 => CpuStorage::F32(mask_mul::<f32>(
                contiguous(s1, l1, "dropout x")?,
                contiguous(s2, l2, "dropout mask")?,
            )),
            DType::F64 => CpuStorage::F64(mask_mul::<f64>(
                contiguous(s1, l1, "dropout x")?,
                contiguous(s2, l2, "dropout mask")?,
            )),
            dt => return Err(dtype_error("dropout", dt)),
        };
        Ok((out, l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        mask: &Tensor,
        _res: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let dx = dy
            .contiguous()?
            .apply_op2_no_bwd(&mask.detach(), &MaskMulOp)?;
        Ok((Some(dx), None))
    }
}

/// `x ⊙ mask` for a constant `mask` of the same shape (dropout): one pass each way, and
/// no gradient computed for the mask.
pub fn mask_mul_const(x: &Tensor, mask: &Tensor) -> Result<Tensor> {
    x.contiguous()?
        .apply_op2(&mask.to_dtype(x.dtype())?.contiguous()?.detach(), MaskMulOp)
}

// ---------------------------------------------------------------------------------------
// AdamW

/// One fused, in-place AdamW update of a weight from its gradient; `m` and `v` are the
/// moment buffers (same length as the weight), updated in the same pass.
pub struct AdamWUpdate<'a> {
    /// First moment.
    pub m: Mutex<&'a mut [f32]>,
    /// Second moment.
    pub v: Mutex<&'a mut [f32]>,
    /// Learning rate.
    pub lr: f32,
    /// β₁.
    pub beta1: f32,
    /// β₂.
    pub beta2: f32,
    /// ε.
    pub eps: f32,
    /// `1 − β₁ᵗ`.
    pub bc1: f32,
    /// `1 − β₂ᵗ`.
    pub bc2: f32,
    /// Decoupled weight decay (0 for none).
    pub weight_decay: f32,
    /// Multiplies the gradient first (gradient clipping); 1 for none.
    pub grad_scale: f32,
}

impl InplaceOp2 for AdamWUpdate<'_> {
    fn name(&self) -> &'static str {
        "studio-adamw"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<()> {
        let Some((a, b)) = l1.contiguous_offsets() else {
            candle_core::bail!("adamw: the weight must be contiguous")
        };
        let CpuStorage::F32(theta) = s1 else {
            candle_core::bail!("adamw: f32 weights only")
        };
        let theta = &mut theta[a..b];
        let g = contiguous::<f32>(s2, l2, "adamw gradient")?;
        let mut m = self
            .m
            .lock()
            .map_err(|_| candle_core::Error::Msg("adamw: poisoned".into()))?;
        let mut v = self
            .v
            .lock()
            .map_err(|_| candle_core::Error::Msg("adamw: poisoned".into()))?;
        if g.len() != theta.len() || m.len() != theta.len() || v.len() != theta.len() {
            candle_core::bail!("adamw: weight, gradient and moments differ in length")
        }
        let (b1, b2) = (self.beta1, self.beta2);
        let decay = 1.0 - self.lr * self.weight_decay;
        let step = self.lr / self.bc1;
        let inv_bc2 = 1.0 / self.bc2;
        let (eps, gs) = (self.eps, self.grad_scale);
        theta
            .par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(m.par_chunks_mut(CHUNK).zip(v.par_chunks_mut(CHUNK)))
            .for_each(|((tc, gc), (mc, vc))| {
                for i in 0..tc.len() {
                    let gi = gc[i] * gs;
                    let mi = b1 * mc[i] + (1.0 - b1) * gi;
                    let vi = b2 * vc[i] + (1.0 - b2) * gi * gi;
                    mc[i] = mi;
                    vc[i] = vi;
                    tc[i] = tc[i] * decay - step * mi / ((vi * inv_bc2).sqrt() + eps);
                }
            });
        Ok(())
    }
}

/// Σ g² of a CPU f32 tensor in one pass, without allocating (f64 accumulation).
pub fn sum_squares(t: &Tensor) -> Result<f64> {
    match t.dtype() {
        DType::F32 => read::<f32, _>(t, |s| {
            Ok(s.par_chunks(CHUNK)
                .map(|c| c.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>())
                .sum())
        }),
        DType::F64 => read::<f64, _>(t, |s| Ok(s.iter().map(|&x| x * x).sum())),
        dt => Err(dtype_error("sum_squares", dt)),
    }
}
