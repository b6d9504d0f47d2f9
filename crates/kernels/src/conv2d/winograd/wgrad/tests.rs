//! The Winograd weight gradient against the f64 reference on awkward shapes,
//! against central differences, its blocking, dispatch and determinism.
//!
//! Tolerance, derived as the forward's (`winograd/tests.rs`): with `|·|` of
//! every matrix and value, `|dw - dw_exact| ≤ γ_k · S` where
//! `S = Σ_tiles |Gᵀ| (|Bᵀ||d||B| ⊙ |A||dY||Aᵀ|) |G|` (`wgrad_scale`) and
//! `k = tiles + ` the roundings of the transforms and the product (`roundings`):
//! - F(2,3), 9: 2 in `V`, 2 in `Z` (`p + q` per pass), 1 product, and 4 in
//!   `Gᵀ dU G` (`(b + c)·½ + a` per pass);
//! - F(4,3), 19: 6 in `V` (as the forward's), 4 in `Z` (`(p + 4r) + (2q +
//!   8s)` per pass), 1 product, 2 for the scale `S_i·S_j` (rounded to f32,
//!   then the product by it), and 6 in `(G/S)ᵀ dU (G/S)` (`((u₁ + u₂) +
//!   4(u₃ + u₄)) + u₅` per pass).
//!
//! `db` is a plain in-order sum (`k` = output pixels).

use super::{bwd_weight, plan, plan_any, WgradPlan};
use crate::conv2d::winograd::tests::{abs_input_tile, abs_sandwich, geom, Mats, F2_MATS, F4_MATS, PADS, RESNET, TILES};
use crate::conv2d::winograd::{TileSize, WinoPlan};
use crate::geom::{Conv2dGeom, Padding};
use crate::reference::{self, abs64};
use crate::selftest::util::{assert_bits_eq, assert_dot_close, nan_filled, TestRng};

/// Roundings of `tile`'s transforms and product, beyond one per tile (module doc).
fn roundings(tile: TileSize) -> usize {
    match tile {
        TileSize::F2 => 9,
        TileSize::F4 => 19,
    }
}

fn transpose<const R: usize, const C: usize>(m: &[[f64; C]; R]) -> [[f64; R]; C] {
    core::array::from_fn(|c| core::array::from_fn(|r| m[r][c]))
}

/// `S` of the module doc for every element of `dw` (`[kh][kw][ci][co]`) with
/// `tile`'s matrices.
fn wgrad_scale(tile: TileSize, g: &Conv2dGeom, x: &[f32], dy: &[f32]) -> Vec<f64> {
    match tile {
        TileSize::F2 => wgrad_scale_with(&F2_MATS, g, x, dy),
        TileSize::F4 => wgrad_scale_with(&F4_MATS, g, x, dy),
    }
}

fn wgrad_scale_with<const A: usize, const M: usize>(mats: &Mats<A, M>, g: &Conv2dGeom, x: &[f32], dy: &[f32]) -> Vec<f64> {
    let (a, gt) = (transpose(&mats.at), transpose(&mats.g));
    let (ci_n, co_n) = (g.c_in, g.c_out);
    let mut du = vec![[[0.0f64; A]; A]; ci_n * co_n];
    for n in 0..g.n {
        for oh in (0..g.h_out).step_by(M) {
            for ow in (0..g.w_out).step_by(M) {
                let v: Vec<[[f64; A]; A]> = (0..ci_n).map(|ci| abs_sandwich(&mats.bt, &abs_input_tile(g, x, (n, oh, ow), ci), &mats.bt)).collect();
                for co in 0..co_n {
                    let t: [[f64; M]; M] = core::array::from_fn(|r| core::array::from_fn(|c| {
                        let (oy, ox) = (oh + r, ow + c);
                        if oy < g.h_out && ox < g.w_out { dy[((n * g.h_out + oy) * g.w_out + ox) * co_n + co].abs() as f64 } else { 0.0 }
                    }));
                    let z = abs_sandwich(&a, &t, &a);
                    for (ci, v) in v.iter().enumerate() {
                        let s = &mut du[ci * co_n + co];
                        for e in 0..A * A {
                            s[e / A][e % A] += v[e / A][e % A] * z[e / A][e % A];
                        }
                    }
                }
            }
        }
    }
    let mut s = vec![0.0; g.w_len()];
    for (pair, sums) in du.iter().enumerate() {
        let taps = abs_sandwich(&gt, sums, &gt);
        for tap in 0..9 {
            s[tap * ci_n * co_n + pair] = taps[tap / 3][tap % 3];
        }
    }
    s
}

/// `dw`, `db` of `g` under `p`, with NaN-filled outputs and scratch.
fn run(g: &Conv2dGeom, p: &WgradPlan, x: &[f32], dy: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let (mut dw, mut db) = (nan_filled(g.w_len()), nan_filled(g.c_out));
    bwd_weight(g, p, x, dy, &mut dw, Some(&mut db), &mut nan_filled(p.scratch_len(g)));
    (dw, db)
}

fn check(g: &Conv2dGeom, p: &WgradPlan, seed: u64) {
    let mut rng = TestRng::new(seed);
    let (x, dy) = (rng.vec(g.x_len()), rng.vec(g.y_len()));
    let (dw, db) = run(g, p, &x, &dy);
    let (want_w, want_b) = reference::conv2d_bwd_weight(g, &x, &dy);
    let (_, scale_b) = reference::conv2d_bwd_weight(g, &abs64(&x), &abs64(&dy));
    let tiles = g.n * p.wino.tiles_h * p.wino.tiles_w;
    let ctx = format!("winograd dw {g:?} {p:?}");
    let tile = p.wino.tile;
    assert_dot_close(&dw, &want_w, &wgrad_scale(tile, g, &x, &dy), tiles + roundings(tile), &ctx);
    assert_dot_close(&db, &want_b, &scale_b, g.out_pixels(), &format!("{ctx} db"));
}

/// `plan_any(g, tile)` with `tb` tiles per sub-block and `subs` per block.
fn blocked(g: &Conv2dGeom, tile: TileSize, tb: usize, subs: usize) -> WgradPlan {
    let p = plan_any(g, tile).unwrap();
    WgradPlan { wino: WinoPlan { tb, ..p.wino }, subs }
}

crate::kernel_tests! {
    fn winograd_wgrad_matches_reference_on_awkward_shapes() {
        // Maps 1x1 .. 7x9 (odd sizes cut the last tiles, whose outputs past
        // the edge have no gradient), channels not multiples of 4, batch > 1,
        // every padding kind (one with windows wholly in the padding).
        let maps = [(1, 1), (2, 2), (5, 7), (3, 4), (7, 9), (4, 1)];
        let chans = [(1, 1), (3, 5), (5, 3), (4, 8), (17, 9), (6, 13)];
        let mut seed = 1100;
        for (i, &(h, w)) in maps.iter().enumerate() {
            for (j, &pad) in PADS.iter().enumerate() {
                let (ci, co) = chans[(i + j) % chans.len()];
                let Ok(g) = Conv2dGeom::new(1 + (i + j) % 3, h, w, ci, co, 3, 3, 1, 1, pad) else { continue };
                for tile in TILES {
                    check(&g, &plan_any(&g, tile).unwrap(), seed);
                    seed += 1;
                }
            }
        }
    }

    fn winograd_wgrad_blocks_sub_blocks_and_k_blocks_match_reference() {
        // Several blocks with a ragged last sub-block (tb 5, 2 or 3 per
        // block), one tile per sub-block, and input channels over one k-block
        // of V (KC = 256) with a ragged last one.
        let g = geom(3, 9, 7, 7, 10, Padding::Same);
        let wide = geom(1, 4, 5, 260, 6, Padding::Same);
        for (k, tile) in TILES.into_iter().enumerate() {
            let seed = 1200 + 20 * k as u64;
            for (i, (tb, subs)) in [(5, 2), (5, 3), (1, 4), (7, 1), (60, 4)].into_iter().enumerate() {
                check(&g, &blocked(&g, tile, tb, subs), seed + i as u64);
            }
            check(&wide, &plan_any(&wide, tile).unwrap(), seed + 10);
            check(&wide, &blocked(&wide, tile, 2, 2), seed + 11);
        }
    }

    fn winograd_wgrad_matches_central_differences() {
        // L = sum(y · r) through the f64 reference forward; dw from the
        // dispatched kernel (Winograd for this shape) fed dy = r.
        use crate::conv2d::conv2d_bwd_weight;
        use crate::selftest::gradcheck::{assert_grad_close, numeric_grad, project};
        let g = geom(2, 8, 9, 16, 16, Padding::Explicit { top: 1, bottom: 0, left: 0, right: 1 });
        assert!(plan(&g).is_some(), "{g:?}");
        let mut rng = TestRng::new(1300);
        let (x, wt, b, r) = (rng.vec(g.x_len()), rng.vec(g.w_len()), rng.vec(g.c_out), rng.vec(g.y_len()));
        let to64 = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<f64>>();
        let (x64, b64) = (to64(&x), to64(&b));
        let (mut dw, mut db) = (nan_filled(g.w_len()), nan_filled(g.c_out));
        conv2d_bwd_weight(&g, &x, &r, &mut dw, Some(&mut db), &mut nan_filled(g.im2col_scratch_len()));
        let num = numeric_grad(&wt, 1e-6, |wp| project(&reference::conv2d_fwd(&g, &x64, wp, Some(&b64)), &r));
        assert_grad_close(&dw, &num, 1e-4, 1e-5, &format!("winograd dw {g:?}"));
        let num = numeric_grad(&b, 1e-6, |bp| project(&reference::conv2d_fwd(&g, &x64, &to64(&wt), Some(bp)), &r));
        assert_grad_close(&db, &num, 1e-4, 1e-5, &format!("winograd db {g:?}"));
        // Each tile on a small layer through `bwd_weight` itself (the
        // dispatch above takes F(2,3) for that shape).
        let small = geom(2, 9, 8, 3, 5, Padding::Same);
        let (x, wt, r) = (rng.vec(small.x_len()), rng.vec(small.w_len()), rng.vec(small.y_len()));
        let x64 = to64(&x);
        let num = numeric_grad(&wt, 1e-6, |wp| project(&reference::conv2d_fwd(&small, &x64, wp, None), &r));
        for tile in TILES {
            let (dw, _) = run(&small, &plan_any(&small, tile).unwrap(), &x, &r);
            assert_grad_close(&dw, &num, 1e-4, 1e-5, &format!("winograd dw {tile:?} {small:?}"));
        }
    }

    fn winograd_wgrad_dispatch_is_the_forwards() {
        // The per-call forward's criteria and tile: ResNet-18's 3x3 stride-1
        // layers except the 7x7 map at batch 1 (16 tiles), F(4,3) with many
        // tiles; thin, strided and non-3x3 convolutions stay on im2col.
        for (hw, ci, co) in RESNET {
            for n in [1, 32] {
                let g = geom(n, hw, hw, ci, co, Padding::Same);
                let forward = crate::conv2d::winograd::plan(&g).map(|p| p.tile);
                assert_eq!(plan(&g).map(|p| p.wino.tile), forward, "batch {n} {hw}x{hw}x{ci}");
            }
            assert_eq!(plan(&geom(32, hw, hw, ci, co, Padding::Same)).map(|p| p.wino.tile), Some(TileSize::F4), "batch 32 {hw}x{hw}");
        }
        assert!(plan(&geom(1, 7, 7, 512, 512, Padding::Same)).is_none());
        assert!(plan(&geom(8, 32, 32, 3, 64, Padding::Same)).is_none());
        let strided = Conv2dGeom::new(8, 32, 32, 64, 64, 3, 3, 2, 2, Padding::Same).unwrap();
        let five = Conv2dGeom::new(8, 32, 32, 64, 64, 5, 5, 1, 1, Padding::Same).unwrap();
        assert!(plan(&strided).is_none() && plan(&five).is_none());
    }

    fn winograd_wgrad_serial_equals_parallel() {
        let g = geom(2, 23, 21, 20, 24, Padding::Same);
        let mut rng = TestRng::new(1400);
        let (x, dy) = (rng.vec(g.x_len()), rng.vec(g.y_len()));
        for tile in TILES {
            let p = blocked(&g, tile, 16, 3);
            let par = run(&g, &WgradPlan { wino: WinoPlan { parallel: true, ..p.wino }, ..p }, &x, &dy);
            let ser = run(&g, &WgradPlan { wino: WinoPlan { parallel: false, ..p.wino }, ..p }, &x, &dy);
            assert_bits_eq(&par.0, &ser.0, &format!("winograd dw pool vs serial, {tile:?}"));
            assert_bits_eq(&par.1, &ser.1, &format!("winograd db pool vs serial, {tile:?}"));
        }
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn winograd_wgrad_bit_identical_with_1_and_2_threads() {
    for g in [geom(3, 20, 20, 16, 32, Padding::Same), geom(2, 30, 28, 32, 24, Padding::Same), geom(4, 7, 7, 64, 48, Padding::Same)] {
        let p = plan(&g).expect("Winograd weight gradient");
        let mut rng = TestRng::new(1500);
        let (x, dy) = (rng.vec(g.x_len()), rng.vec(g.y_len()));
        let on = |threads: usize| rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| run(&g, &p, &x, &dy));
        let (one, two) = (on(1), on(2));
        assert_bits_eq(&one.0, &two.0, &format!("winograd dw 1 vs 2 threads {g:?} {p:?}"));
        assert_bits_eq(&one.1, &two.1, &format!("winograd db 1 vs 2 threads {g:?} {p:?}"));
    }
}
