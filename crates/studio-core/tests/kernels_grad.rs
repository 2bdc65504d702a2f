//! The fused CPU kernels (arch/kernels.rs) against finite differences in f64 and against
//! candle's composite ops.

use candle_core::{DType, Device, Tensor, Var, D};
use rand::{Rng, SeedableRng};
use studio_core::arch::kernels;

fn rand_vec(n: usize, seed: u64, scale: f64) -> Vec<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| (rng.random::<f64>() * 2.0 - 1.0) * scale)
        .collect()
}

/// Central differences of `f` at `x`, one coordinate at a time.
fn numeric_grad(x: &[f64], f: &dyn Fn(&[f64]) -> f64) -> Vec<f64> {
    let h = 1e-6;
    (0..x.len())
        .map(|i| {
            let mut p = x.to_vec();
            p[i] += h;
            let up = f(&p);
            p[i] -= 2.0 * h;
            let down = f(&p);
            (up - down) / (2.0 * h)
        })
        .collect()
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: analytic {g} vs numeric {w}"
        );
    }
}

fn t(v: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape, &Device::Cpu).unwrap()
}

fn flat(t: &Tensor) -> Vec<f64> {
    t.flatten_all().unwrap().to_vec1::<f64>().unwrap()
}

#[test]
fn layer_norm_gradients_match_finite_differences() {
    let shape = [3usize, 4, 7];
    let d = 7;
    let n: usize = shape.iter().product();
    let x0 = rand_vec(n, 1, 2.0);
    let g0: Vec<f64> = rand_vec(d, 2, 1.0).iter().map(|v| v + 1.0).collect();
    let b0 = rand_vec(d, 3, 0.5);
    let w = t(&rand_vec(n, 4, 1.0), &shape);
    let eps = 1e-5;
    let loss = |x: &Tensor, g: &Tensor, b: &Tensor| -> Tensor {
        kernels::layer_norm(x, g, b, eps)
            .unwrap()
            .mul(&w)
            .unwrap()
            .sum_all()
            .unwrap()
    };
    let (x, g, b) = (
        Var::from_tensor(&t(&x0, &shape)).unwrap(),
        Var::from_tensor(&t(&g0, &[d])).unwrap(),
        Var::from_tensor(&t(&b0, &[d])).unwrap(),
    );
    let grads = loss(x.as_tensor(), g.as_tensor(), b.as_tensor())
        .backward()
        .unwrap();
    let scalar = |x: &[f64], g: &[f64], b: &[f64]| {
        loss(&t(x, &shape), &t(g, &[d]), &t(b, &[d]))
            .to_scalar::<f64>()
            .unwrap()
    };
    let num_x = numeric_grad(&x0, &|v| scalar(v, &g0, &b0));
    let num_g = numeric_grad(&g0, &|v| scalar(&x0, v, &b0));
    let num_b = numeric_grad(&b0, &|v| scalar(&x0, &g0, v));
    assert_close(&flat(grads.get(x.as_tensor()).unwrap()), &num_x, 1e-6, "dx");
    assert_close(&flat(grads.get(g.as_tensor()).unwrap()), &num_g, 1e-6, "dγ");
    assert_close(&flat(grads.get(b.as_tensor()).unwrap()), &num_b, 1e-6, "dβ");
}

#[test]
fn layer_norm_matches_the_composite_one_in_f32() {
    let shape = [5usize, 3, 384];
    let n: usize = shape.iter().product();
    let to32 = |v: Vec<f64>, s: &[usize]| t(&v, s).to_dtype(DType::F32).unwrap();
    let x = to32(rand_vec(n, 5, 3.0), &shape);
    let g = to32(rand_vec(384, 6, 1.0), &[384]);
    let b = to32(rand_vec(384, 7, 1.0), &[384]);
    let fused = kernels::layer_norm(&x, &g, &b, 1e-12).unwrap();
    let mean = x.mean_keepdim(D::Minus1).unwrap();
    let c = x.broadcast_sub(&mean).unwrap();
    let var = c.sqr().unwrap().mean_keepdim(D::Minus1).unwrap();
    let want = c
        .broadcast_div(&(var + 1e-12).unwrap().sqrt().unwrap())
        .unwrap()
        .broadcast_mul(&g)
        .unwrap()
        .broadcast_add(&b)
        .unwrap();
    let diff = (fused - want)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(diff < 1e-5, "max |Δ| {diff}");
}

#[test]
fn gelu_gradient_matches_finite_differences_and_candle() {
    let mut x0 = rand_vec(64, 8, 4.0);
    x0.extend([0.0, -6.0, 6.0, 1e-3, -1e-3, 12.0, -12.0]);
    let n = x0.len();
    let w = t(&rand_vec(n, 9, 1.0), &[n]);
    let loss = |x: &Tensor| {
        kernels::gelu_erf(x)
            .unwrap()
            .mul(&w)
            .unwrap()
            .sum_all()
            .unwrap()
    };
    let x = Var::from_tensor(&t(&x0, &[n])).unwrap();
    let grads = loss(x.as_tensor()).backward().unwrap();
    let num = numeric_grad(&x0, &|v| loss(&t(v, &[n])).to_scalar::<f64>().unwrap());
    assert_close(&flat(grads.get(x.as_tensor()).unwrap()), &num, 1e-6, "dx");
    // Forward: f64 against candle's exact GELU, f32 (fast erf) against f64.
    let xt = t(&x0, &[n]);
    let ours = flat(&kernels::gelu_erf(&xt).unwrap());
    assert_close(&ours, &flat(&xt.gelu_erf().unwrap()), 1e-12, "gelu f64");
    let ours32 = kernels::gelu_erf(&xt.to_dtype(DType::F32).unwrap())
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap();
    assert_close(&flat(&ours32), &ours, 1e-6, "gelu f32");
    // f32 backward against the f64 one.
    let x32 = Var::from_tensor(&xt.to_dtype(DType::F32).unwrap()).unwrap();
    let g32 = kernels::gelu_erf(x32.as_tensor())
        .unwrap()
        .mul(&w.to_dtype(DType::F32).unwrap())
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let g32 = flat(
        &g32.get(x32.as_tensor())
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap(),
    );
    assert_close(&g32, &num, 1e-5, "dx f32");
}

#[test]
fn masked_softmax_gradient_matches_finite_differences_and_masks() {
    let shape = [2usize, 3, 4, 5];
    let n: usize = shape.iter().product();
    let s0 = rand_vec(n, 10, 3.0);
    // Batch 0 has all 5 keys; batch 1 pads its last two.
    let bias = t(&[0., 0., 0., 0., 0., 0., 0., 0., -1e9, -1e9], &[2, 5]);
    let w = t(&rand_vec(n, 11, 1.0), &shape);
    let scale = 0.35;
    let loss = |s: &Tensor| {
        kernels::masked_softmax(s, &bias, scale)
            .unwrap()
            .mul(&w)
            .unwrap()
            .sum_all()
            .unwrap()
    };
    let s = Var::from_tensor(&t(&s0, &shape)).unwrap();
    let grads = loss(s.as_tensor()).backward().unwrap();
    let num = numeric_grad(&s0, &|v| loss(&t(v, &shape)).to_scalar::<f64>().unwrap());
    assert_close(&flat(grads.get(s.as_tensor()).unwrap()), &num, 1e-6, "ds");
    // Forward equals softmax(scale·s + bias) with candle's ops.
    let st = t(&s0, &shape);
    let p = kernels::masked_softmax(&st, &bias, scale).unwrap();
    let want = candle_nn::ops::softmax(
        &(st * scale)
            .unwrap()
            .broadcast_add(&bias.reshape((2, 1, 1, 5)).unwrap())
            .unwrap(),
        D::Minus1,
    )
    .unwrap();
    assert_close(&flat(&p), &flat(&want), 1e-12, "probs");
    // Padded keys get no probability; rows sum to 1.
    let pf = flat(&p);
    for row in 0..(n / 5) {
        let r = &pf[row * 5..row * 5 + 5];
        assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        if row >= n / 10 {
            assert!(r[3] == 0.0 && r[4] == 0.0, "padding got probability: {r:?}");
        }
    }
}

#[test]
fn fused_adamw_matches_the_textbook_update() {
    use std::sync::Mutex;
    let n = 40_000; // more than one parallel chunk
    let theta0: Vec<f32> = rand_vec(n, 12, 1.0).iter().map(|&v| v as f32).collect();
    let theta = Tensor::from_vec(theta0.clone(), n, &Device::Cpu).unwrap();
    let (mut m, mut v) = (vec![0f32; n], vec![0f32; n]);
    let (mut rm, mut rv, mut rt) = (
        vec![0f64; n],
        vec![0f64; n],
        theta0.iter().map(|&x| x as f64).collect::<Vec<_>>(),
    );
    let (lr, b1, b2, eps, wd, gs) = (1e-2f64, 0.9f64, 0.999f64, 1e-8f64, 0.1f64, 0.5f64);
    for step in 1..=3 {
        let g0: Vec<f32> = rand_vec(n, 100 + step, 1.0)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let g = Tensor::from_vec(g0.clone(), n, &Device::Cpu).unwrap();
        let (bc1, bc2) = (1.0 - b1.powi(step as i32), 1.0 - b2.powi(step as i32));
        let op = kernels::AdamWUpdate {
            m: Mutex::new(m.as_mut_slice()),
            v: Mutex::new(v.as_mut_slice()),
            lr: lr as f32,
            beta1: b1 as f32,
            beta2: b2 as f32,
            eps: eps as f32,
            bc1: bc1 as f32,
            bc2: bc2 as f32,
            weight_decay: wd as f32,
            grad_scale: gs as f32,
        };
        theta.inplace_op2(&g, &op).unwrap();
        for i in 0..n {
            let gi = g0[i] as f64 * gs;
            rm[i] = b1 * rm[i] + (1.0 - b1) * gi;
            rv[i] = b2 * rv[i] + (1.0 - b2) * gi * gi;
            let upd = (rm[i] / bc1) / ((rv[i] / bc2).sqrt() + eps);
            rt[i] = rt[i] * (1.0 - lr * wd) - lr * upd;
        }
    }
    let got = theta.to_vec1::<f32>().unwrap();
    for i in 0..n {
        assert!(
            (got[i] as f64 - rt[i]).abs() < 1e-5,
            "θ[{i}]: {} vs {}",
            got[i],
            rt[i]
        );
    }
    let ss = kernels::sum_squares(&theta).unwrap();
    let want: f64 = got.iter().map(|&x| (x as f64) * (x as f64)).sum();
    assert!((ss - want).abs() < 1e-9 * want);
}

#[test]
fn linear_gradients_match_finite_differences_and_skip_frozen_weights() {
    let (b, s, k, n) = (2usize, 3usize, 5usize, 4usize);
    let x0 = rand_vec(b * s * k, 20, 1.0);
    let w0 = rand_vec(n * k, 21, 1.0);
    let b0 = rand_vec(n, 22, 1.0);
    let wt = t(&rand_vec(b * s * n, 23, 1.0), &[b, s, n]);
    let loss = |x: &Tensor, w: &Tensor, bias: &Tensor| {
        kernels::linear(x, w, bias)
            .unwrap()
            .mul(&wt)
            .unwrap()
            .sum_all()
            .unwrap()
    };
    let (x, w, bias) = (
        Var::from_tensor(&t(&x0, &[b, s, k])).unwrap(),
        Var::from_tensor(&t(&w0, &[n, k])).unwrap(),
        Var::from_tensor(&t(&b0, &[n])).unwrap(),
    );
    // Forward equals x Wᵀ + b.
    let want = x
        .as_tensor()
        .reshape((b * s, k))
        .unwrap()
        .matmul(&w.as_tensor().t().unwrap())
        .unwrap()
        .broadcast_add(bias.as_tensor())
        .unwrap();
    let got = kernels::linear(x.as_tensor(), w.as_tensor(), bias.as_tensor()).unwrap();
    assert_eq!(got.dims(), [b, s, n]);
    assert_close(&flat(&got), &flat(&want), 1e-12, "forward");
    let grads = loss(x.as_tensor(), w.as_tensor(), bias.as_tensor())
        .backward()
        .unwrap();
    let scalar = |x: &[f64], w: &[f64], bb: &[f64]| {
        loss(&t(x, &[b, s, k]), &t(w, &[n, k]), &t(bb, &[n]))
            .to_scalar::<f64>()
            .unwrap()
    };
    let num_x = numeric_grad(&x0, &|v| scalar(v, &w0, &b0));
    let num_w = numeric_grad(&w0, &|v| scalar(&x0, v, &b0));
    let num_b = numeric_grad(&b0, &|v| scalar(&x0, &w0, v));
    assert_close(&flat(grads.get(x.as_tensor()).unwrap()), &num_x, 1e-6, "dx");
    assert_close(&flat(grads.get(w.as_tensor()).unwrap()), &num_w, 1e-6, "dW");
    assert_close(
        &flat(grads.get(bias.as_tensor()).unwrap()),
        &num_b,
        1e-6,
        "db",
    );
    // Frozen weight and bias: only x gets a gradient, and it is the same.
    let g2 = loss(
        x.as_tensor(),
        &w.as_tensor().detach(),
        &bias.as_tensor().detach(),
    )
    .backward()
    .unwrap();
    assert!(g2.get(w.as_tensor()).is_none() && g2.get(bias.as_tensor()).is_none());
    assert_close(
        &flat(g2.get(x.as_tensor()).unwrap()),
        &num_x,
        1e-6,
        "dx frozen",
    );
}

#[test]
fn dropout_mask_multiply_passes_the_gradient_through_the_mask_only() {
    let n = 50;
    let x0 = rand_vec(n, 30, 2.0);
    let m: Vec<f64> = rand_vec(n, 31, 1.0)
        .iter()
        .map(|&v| if v < 0.0 { 0.0 } else { 1.25 })
        .collect();
    let mask = t(&m, &[5, 10]);
    let w = t(&rand_vec(n, 32, 1.0), &[5, 10]);
    let loss = |x: &Tensor| {
        kernels::mask_mul_const(x, &mask)
            .unwrap()
            .mul(&w)
            .unwrap()
            .sum_all()
            .unwrap()
    };
    let x = Var::from_tensor(&t(&x0, &[5, 10])).unwrap();
    let grads = loss(x.as_tensor()).backward().unwrap();
    let num = numeric_grad(&x0, &|v| loss(&t(v, &[5, 10])).to_scalar::<f64>().unwrap());
    assert_close(&flat(grads.get(x.as_tensor()).unwrap()), &num, 1e-6, "dx");
    assert_close(
        &flat(&kernels::mask_mul_const(x.as_tensor(), &mask).unwrap()),
        &x0.iter().zip(&m).map(|(a, b)| a * b).collect::<Vec<_>>(),
        0.0,
        "forward",
    );
}
