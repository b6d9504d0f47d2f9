//! Winograd F(2×2, 3×3) and F(4×4, 3×3) against the f64 reference on
//! awkward shapes, their epilogue, their dispatch, and their determinism.
//!
//! Tolerance: in exact arithmetic both equal the direct convolution. In f32,
//! with `|·|` taken of every matrix and value, `|y - y_exact| ≤ γ_k · S` where
//! `S = Σ_ci |Aᵀ| (|G||g||Gᵀ| ⊙ |Bᵀ||d||B|) |A| + |b|` (the algorithm evaluated
//! on absolute values, `winograd_scale` below) and `k` the roundings on the
//! longest chain (`Mats::roundings`):
//! - F(2,3), `k = c_in + 12`: every coefficient 0, ±1, ±½, so 2 in `V`, 4 in
//!   `U`, 1 product, `c_in` in the channel sum, 4 in the output transform, 1
//!   bias;
//! - F(4,3), `k = c_in + 20`: 6 in `V` (3 per pass: `4d₀ - 5d₂ + d₄`, the 5
//!   rounds), 6 in `U` (2 per pass, then the scale `S_i·S_j` rounded to f32
//!   and the product by it), 1 product, `c_in`, 6 in the output transform
//!   (`(m₁ - m₂) + 8(m₃ - m₄) + m₅` per pass), 1 bias.
//!
//! `S` is the transform's growth over the direct `Σ|x||w|` (it pairs every tap
//! with every pixel of the α×α window, with F(4,3)'s larger coefficients), so
//! the bound is derived, not tuned; the relaxed artifact's fused multiply-add
//! only removes roundings. Measured (`winograd_f4_error_vs_f2`, a 64-channel
//! layer, max error relative to the direct `Σ|x||w| + |b|`): F(2,3) 9.1e-8,
//! F(4,3) 1.45e-6 (16×; f32 epsilon is 1.2e-7).

use super::{plan, plan_any, plan_prepared, prepared_tile, Order, TileSize, WinoPlan, KBLOCK_TILE_ROWS, MIN_CHANNELS, OUT_UNITS, SMALL_BLOCKS, max_tb};
use crate::gemm::{Clamp, Epilogue};
use crate::geom::{Conv2dGeom, Padding};
use crate::reference;
use crate::selftest::util::{assert_bits_eq, assert_dot_close, nan_filled, TestRng};

/// Both tiles, for the tests that hold for either.
pub(super) const TILES: [TileSize; 2] = [TileSize::F2, TileSize::F4];

/// A tile's matrices (`α = A`, `m = M`), in f64, and its roundings beyond the
/// channel sum (module doc).
pub(super) struct Mats<const A: usize, const M: usize> {
    pub bt: [[f64; A]; A],
    pub g: [[f64; 3]; A],
    pub at: [[f64; A]; M],
    roundings: usize,
}

pub(super) const F2_MATS: Mats<4, 2> = Mats {
    bt: [[1.0, 0.0, -1.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, -1.0, 1.0, 0.0], [0.0, 1.0, 0.0, -1.0]],
    g: [[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]],
    at: [[1.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, -1.0]],
    roundings: 12,
};

pub(super) const F4_MATS: Mats<6, 4> = Mats {
    bt: [
        [4.0, 0.0, -5.0, 0.0, 1.0, 0.0],
        [0.0, -4.0, -4.0, 1.0, 1.0, 0.0],
        [0.0, 4.0, -4.0, -1.0, 1.0, 0.0],
        [0.0, -2.0, -1.0, 2.0, 1.0, 0.0],
        [0.0, 2.0, -1.0, -2.0, 1.0, 0.0],
        [0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
    ],
    g: [
        [0.25, 0.0, 0.0],
        [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
        [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
        [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
        [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
        [0.0, 0.0, 1.0],
    ],
    at: [[1.0, 1.0, 1.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, 2.0, -2.0, 0.0], [0.0, 1.0, 1.0, 4.0, 4.0, 0.0], [0.0, 1.0, -1.0, 8.0, -8.0, 1.0]],
    roundings: 20,
};

/// `|L| · X · |R|ᵀ` for an `r × c` matrix `X` (all values non-negative).
pub(super) fn abs_sandwich<const R: usize, const C: usize, const I: usize>(l: &[[f64; I]; R], x: &[[f64; I]; I], r: &[[f64; I]; C]) -> [[f64; C]; R] {
    core::array::from_fn(|i| core::array::from_fn(|j| {
        (0..I).map(|a| (0..I).map(|b| l[i][a].abs() * x[a][b] * r[j][b].abs()).sum::<f64>()).sum()
    }))
}

/// `|d|`: the `A×A` input tile of channel `ci` for the output tile at
/// `(n, oh, ow)`, zeros in the padding.
pub(super) fn abs_input_tile<const A: usize>(g: &Conv2dGeom, x: &[f32], (n, oh, ow): (usize, usize, usize), ci: usize) -> [[f64; A]; A] {
    core::array::from_fn(|r| core::array::from_fn(|c| {
        let (ih, iw) = ((oh + r) as isize - g.pad_top as isize, (ow + c) as isize - g.pad_left as isize);
        let inside = ih >= 0 && iw >= 0 && (ih as usize) < g.h_in && (iw as usize) < g.w_in;
        if inside { x[((n * g.h_in + ih as usize) * g.w_in + iw as usize) * g.c_in + ci].abs() as f64 } else { 0.0 }
    }))
}

/// `S` of the module doc for every output element (layout of `y`).
fn winograd_scale<const A: usize, const M: usize>(mats: &Mats<A, M>, g: &Conv2dGeom, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f64> {
    let mut s = vec![0.0; g.y_len()];
    for n in 0..g.n {
        for oh in (0..g.h_out).step_by(M) {
            for ow in (0..g.w_out).step_by(M) {
                for co in 0..g.c_out {
                    let mut m = [[0.0f64; A]; A];
                    for ci in 0..g.c_in {
                        let gk: [[f64; 3]; 3] = core::array::from_fn(|kh| core::array::from_fn(|kw| w[((kh * 3 + kw) * g.c_in + ci) * g.c_out + co].abs() as f64));
                        let d = abs_input_tile::<A>(g, x, (n, oh, ow), ci);
                        let u = abs_sandwich(&mats.g, &gk, &mats.g);
                        let v = abs_sandwich(&mats.bt, &d, &mats.bt);
                        for (mr, (ur, vr)) in m.iter_mut().zip(u.iter().zip(&v)) {
                            for (mv, (uv, vv)) in mr.iter_mut().zip(ur.iter().zip(vr)) {
                                *mv += uv * vv;
                            }
                        }
                    }
                    let out = abs_sandwich(&mats.at, &m, &mats.at);
                    for (dy, row) in out.iter().enumerate() {
                        for (dx, val) in row.iter().enumerate() {
                            if oh + dy < g.h_out && ow + dx < g.w_out {
                                s[((n * g.h_out + oh + dy) * g.w_out + ow + dx) * g.c_out + co] = val + b[co].abs() as f64;
                            }
                        }
                    }
                }
            }
        }
    }
    s
}

/// Asserts `y` (`g`'s forward with `tile`, `k = c + roundings` for a channel
/// sum of `c` terms) within the module doc's bound of `want`.
fn assert_wino_close(tile: TileSize, g: &Conv2dGeom, c: usize, (x, w, b): (&[f32], &[f32], &[f32]), y: &[f32], want: &[f64], context: &str) {
    let (scale, roundings) = match tile {
        TileSize::F2 => (winograd_scale(&F2_MATS, g, x, w, b), F2_MATS.roundings),
        TileSize::F4 => (winograd_scale(&F4_MATS, g, x, w, b), F4_MATS.roundings),
    };
    assert_dot_close(y, want, &scale, c + roundings, context);
}

pub(super) fn geom(n: usize, h: usize, w: usize, ci: usize, co: usize, pad: Padding) -> Conv2dGeom {
    Conv2dGeom::new(n, h, w, ci, co, 3, 3, 1, 1, pad).unwrap()
}

/// Runs the Winograd forward under `p` with NaN-filled output and scratch.
fn run(g: &Conv2dGeom, p: &WinoPlan, x: &[f32], w: &[f32], ep: Epilogue<'_>) -> Vec<f32> {
    let mut y = nan_filled(g.y_len());
    let mut scratch = nan_filled(p.scratch_len(g));
    super::fwd(g, p, x, w, ep, &mut y, &mut scratch);
    y
}

/// Runs the forward from a kept transformed kernel (`prepare_kernel`, then
/// `fwd_prepared`), with NaN-filled `U`, output and scratch.
fn run_prepared(g: &Conv2dGeom, p: &WinoPlan, x: &[f32], w: &[f32], ep: Epilogue<'_>) -> Vec<f32> {
    let mut u = nan_filled(WinoPlan::u_len(p.tile, g));
    super::prepare_kernel(g, p.tile, w, &mut u);
    let mut y = nan_filled(g.y_len());
    let mut scratch = nan_filled(p.prepared_scratch_len(g));
    super::fwd_prepared(g, p, x, &u, ep, &mut y, &mut scratch);
    y
}

fn check(g: &Conv2dGeom, p: &WinoPlan, seed: u64) {
    let mut rng = TestRng::new(seed);
    let (x, w, b) = (rng.vec(g.x_len()), rng.vec(g.w_len()), rng.vec(g.c_out));
    let y = run(g, p, &x, &w, Some(&b[..]).into());
    let want = reference::conv2d_fwd(g, &x, &w, Some(&b));
    assert_wino_close(p.tile, g, g.c_in, (&x, &w, &b), &y, &want, &format!("winograd {g:?} {p:?}"));
    // The kept-kernel forward does the same arithmetic: the same bits.
    assert_bits_eq(&run_prepared(g, p, &x, &w, Some(&b[..]).into()), &y, &format!("winograd prepared {g:?} {p:?}"));
}

/// The tile-row split of `g` with `tile` (even when all its tiles fit one block).
fn tile_rows_plan(g: &Conv2dGeom, tile: TileSize, unit_tile_rows: usize, tb: usize) -> WinoPlan {
    let p = plan_any(g, tile).unwrap();
    let units = (g.n * p.tiles_h).div_ceil(unit_tile_rows);
    WinoPlan { unit_tile_rows, units, tb, order: Order::Blocked, ..p }
}

pub(super) const PADS: [Padding; 5] = [
    Padding::Same,
    Padding::Valid,
    Padding::Explicit { top: 0, bottom: 2, left: 1, right: 0 },
    Padding::Explicit { top: 2, bottom: 1, left: 0, right: 2 },
    // Windows wholly in the padding: those outputs are the bias alone.
    Padding::Explicit { top: 4, bottom: 0, left: 0, right: 3 },
];

/// ResNet-18's 3×3 stride-1 layers (and their dispatch) at batch 1 and 32.
pub(super) const RESNET: [(usize, usize, usize); 4] = [(56, 64, 64), (28, 128, 128), (14, 256, 256), (7, 512, 512)];

crate::kernel_tests! {
    fn winograd_matches_reference_on_awkward_shapes() {
        // Maps 1x1 .. 7x9 (odd sizes cut the last tiles), channels not
        // multiples of 4, batch > 1, every padding kind.
        let maps = [(1, 1), (2, 2), (5, 7), (3, 4), (7, 9), (4, 1)];
        let chans = [(1, 1), (3, 5), (5, 3), (4, 8), (17, 9), (6, 13)];
        // F(4,3) also on maps over one 4x4 tile (6x5, 9x11).
        let maps_f4 = [(6, 5), (9, 11)];
        let mut seed = 100;
        for tile in TILES {
            for (i, &(h, w)) in maps.iter().chain(if tile == TileSize::F4 { &maps_f4[..] } else { &[] }).enumerate() {
                for (j, &pad) in PADS.iter().enumerate() {
                    let (ci, co) = chans[(i + j) % chans.len()];
                    let Ok(g) = Conv2dGeom::new(1 + (i + j) % 3, h, w, ci, co, 3, 3, 1, 1, pad) else { continue };
                    check(&g, &plan_any(&g, tile).unwrap(), seed);
                    seed += 1;
                }
            }
        }
    }

    fn winograd_edge_and_inside_tiles_give_the_same_bits() {
        // Tiles inside the map take the transforms' pointer path, tiles over
        // the padding or the map's end the checked one. A 'same' map and the
        // same map with its zero border written out ('valid') give every
        // tile the same input and every output the same sums: the first runs
        // its border tiles on the checked path, the second (maps a multiple
        // of m) every tile on the pointer path. Channels 6 and 7 leave a
        // partial quad on both sides.
        for tile in TILES {
            let m = tile.m();
            let (n, h, w, ci, co) = (2, 2 * m, 3 * m, 6, 7);
            let same = geom(n, h, w, ci, co, Padding::Same);
            let valid = geom(n, h + 2, w + 2, ci, co, Padding::Valid);
            let mut rng = TestRng::new(300 + m as u64);
            let (x, wt, b) = (rng.vec(same.x_len()), rng.vec(same.w_len()), rng.vec(co));
            let mut bordered = vec![0.0; valid.x_len()];
            for (i, row) in x.chunks_exact(w * ci).enumerate() {
                let (img, r) = (i / h, i % h);
                bordered[((img * (h + 2) + r + 1) * (w + 2) + 1) * ci..][..w * ci].copy_from_slice(row);
            }
            for clamp in [Clamp::None, Clamp::Relu] {
                let ep = Epilogue { bias: Some(&b[..]), clamp };
                let y_same = run(&same, &plan_any(&same, tile).unwrap(), &x, &wt, ep);
                let y_valid = run(&valid, &plan_any(&valid, tile).unwrap(), &bordered, &wt, ep);
                assert_bits_eq(&y_valid, &y_same, &format!("{tile:?} {clamp:?}: bordered 'valid' vs 'same'"));
            }
        }
    }

    fn winograd_blocks_units_and_k_blocks_match_reference() {
        // Several tile blocks and units (small `tb` forced), and input
        // channels over one k-block (KC = 256) with a ragged last one.
        for tile in TILES {
            let g = geom(3, 11, 13, 7, 10, Padding::Same);
            let p = plan_any(&g, tile).unwrap();
            for tb in [4, 8, 12] {
                check(&g, &WinoPlan { tb, order: Order::Blocked, ..p }, 200 + tb as u64);
            }
            let g = geom(1, 5, 6, 261, 6, Padding::Explicit { top: 1, bottom: 0, left: 2, right: 1 });
            check(&g, &plan_any(&g, tile).unwrap(), 210);
            let g = geom(8, 64, 60, 24, 20, Padding::Same);
            let p = plan_any(&g, tile).unwrap();
            assert!(p.units > 1 && p.order == Order::Blocked, "{p:?}");
            check(&g, &p, 211);
        }
    }

    fn winograd_by_position_matches_reference_and_tile_rows() {
        // Few tiles (batch 1 on small maps): one span, the 16 or 36 GEMMs
        // are the units; a parallel call splits the tiles into two blocks
        // (the input transform's units) and its tile rows into output units.
        // Each M element is the same sum as under a tile-row split: same bits.
        for (i, (n, h, w, ci, co, pad)) in [
            (1, 7, 7, 40, 24, Padding::Same),
            (1, 1, 1, 17, 16, Padding::Same),
            (1, 2, 2, 16, 21, Padding::Explicit { top: 0, bottom: 1, left: 2, right: 0 }),
            (2, 5, 9, 19, 18, Padding::Valid),
            (1, 14, 14, 20, 24, Padding::Same),
        ].into_iter().enumerate() {
            let g = geom(n, h, w, ci, co, pad);
            for tile in TILES {
                let p = plan_any(&g, tile).unwrap();
                let (tile_rows, tiles) = (g.n * p.tiles_h, g.n * p.tiles_h * p.tiles_w);
                assert!(matches!(p.order, Order::ByPosition { span_rows } if span_rows == tile_rows) && tiles <= max_tb(tile), "{g:?}: {p:?}");
                let (blocks, units) = (p.span_blocks(tile_rows), p.units);
                if p.parallel {
                    assert!(blocks == SMALL_BLOCKS.min(tiles.div_ceil(KBLOCK_TILE_ROWS)) && units == tile_rows.min(OUT_UNITS), "{g:?}: {p:?}");
                } else {
                    assert!(blocks == 1 && units == 1, "{g:?}: {p:?}");
                }
                check(&g, &p, 250 + i as u64);
                let mut rng = TestRng::new(260 + i as u64);
                let (x, wt, b) = (rng.vec(g.x_len()), rng.vec(g.w_len()), rng.vec(g.c_out));
                let rows = tile_rows_plan(&g, tile, 2, 8);
                assert_bits_eq(&run(&g, &p, &x, &wt, Some(&b[..]).into()), &run(&g, &rows, &x, &wt, Some(&b[..]).into()), &format!("by position vs tile rows {g:?}"));
            }
        }
    }

    fn winograd_by_position_spans_match_reference_and_tile_rows() {
        // The by-position order in spans (large kernels): several spans (the
        // last shorter), several blocks per span (the last shorter), several
        // output units per span; the same bits as the blocked order.
        for (i, (n, h, w, ci, co, pad)) in [
            (3, 11, 13, 7, 10, Padding::Same),
            (2, 9, 9, 261, 6, Padding::Valid),
            (4, 7, 7, 17, 18, Padding::Explicit { top: 0, bottom: 2, left: 1, right: 0 }),
        ].into_iter().enumerate() {
            let g = geom(n, h, w, ci, co, pad);
            for tile in TILES {
                let p = plan_any(&g, tile).unwrap();
                let tile_rows = g.n * p.tiles_h;
                for (span_rows, tb, unit_tile_rows) in [(2, 3, 1), (3, 6, 2), (tile_rows - 1, 9, 3), (tile_rows, 12, 1)] {
                    let units = span_rows.div_ceil(unit_tile_rows);
                    let spans = WinoPlan { tb, unit_tile_rows, units, order: Order::ByPosition { span_rows }, ..p };
                    let seed = 270 + i as u64;
                    check(&g, &spans, seed);
                    let mut rng = TestRng::new(seed);
                    let (x, wt, b) = (rng.vec(g.x_len()), rng.vec(g.w_len()), rng.vec(g.c_out));
                    let rows = tile_rows_plan(&g, tile, 2, 6);
                    let ctx = format!("spans vs tile rows {g:?} {spans:?}");
                    assert_bits_eq(&run(&g, &spans, &x, &wt, Some(&b[..]).into()), &run(&g, &rows, &x, &wt, Some(&b[..]).into()), &ctx);
                }
            }
        }
    }

    fn winograd_orders_by_position_for_small_batches_and_large_kernels() {
        // ResNet-18 at batch 1: every layer by position in one span.
        for (hw, ci, co) in RESNET {
            let g = geom(1, hw, hw, ci, co, Padding::Same);
            let p = plan_prepared(&g).unwrap();
            assert!(matches!(p.order, Order::ByPosition { span_rows } if span_rows == p.tiles_h), "{g:?}: {p:?}");
        }
        // At batch 32: the 56x56 and 28x28 layers keep the blocked
        // order (their U stays in cache), the 14x14 and 7x7 ones go by
        // position in spans of at most SPAN_FLOATS.
        for (hw, ci, co) in RESNET {
            let g = geom(32, hw, hw, ci, co, Padding::Same);
            let p = plan_prepared(&g).unwrap();
            match p.order {
                Order::Blocked => assert!(hw >= 28, "{g:?}: {p:?}"),
                Order::ByPosition { span_rows } => {
                    // A span's V and M stay within SPAN_FLOATS but for its
                    // blocks' rounding up to whole register tiles.
                    let blocks = p.span_blocks(span_rows);
                    assert!(hw <= 14, "{g:?}: {p:?}");
                    let rounding = blocks * super::KBLOCK_TILE_ROWS * p.tile.xi() * (ci + co);
                    assert!(p.prepared_scratch_len(&g) <= super::SPAN_FLOATS + rounding, "{p:?}");
                    assert!(span_rows < g.n * p.tiles_h && blocks > 1, "{p:?}");
                }
            }
        }
    }

    fn winograd_prepared_dispatch_has_no_tile_minimum() {
        // With a kept kernel, ResNet-18's 7x7 maps at batch 1 take Winograd
        // too; F(4,3) on the 56, 28 and 14 maps, F(2,3) on 7x7, at any batch.
        for (hw, ci, co) in RESNET {
            for n in [1, 32] {
                let g = geom(n, hw, hw, ci, co, Padding::Same);
                let p = plan_prepared(&g).unwrap_or_else(|| panic!("batch {n} {hw}x{hw}x{ci}"));
                let tile = if hw > 7 { TileSize::F4 } else { TileSize::F2 };
                assert_eq!((p.tile, prepared_tile(&g)), (tile, tile), "batch {n} {hw}x{hw}x{ci}");
            }
        }
        assert!(plan_prepared(&geom(1, 7, 7, MIN_CHANNELS - 1, 64, Padding::Same)).is_none());
        let strided = Conv2dGeom::new(1, 14, 14, 64, 64, 3, 3, 2, 2, Padding::Same).unwrap();
        assert!(plan_prepared(&strided).is_none());
    }

    fn winograd_input_gradient_matches_reference() {
        // A stride-1 3x3 input gradient is the forward of the transposed
        // convolution (flipped taps, channels swapped): with enough channels
        // and tiles it runs on Winograd, so its bound is the Winograd bound of
        // that forward (`winograd_scale` of dy and the flipped kernel), with
        // k = c_out + 12 roundings.
        use crate::conv2d::{bwd_input::TransposedPlan, conv2d_bwd_input, transposed};
        for (i, (n, h, w, ci, co, pad)) in [
            (2, 8, 8, 16, 16, Padding::Same),
            (1, 13, 11, 17, 20, Padding::Explicit { top: 0, bottom: 2, left: 1, right: 0 }),
            (3, 9, 7, 20, 17, Padding::Valid),
            (1, 14, 14, 24, 36, Padding::Same),
        ].into_iter().enumerate() {
            let g = geom(n, h, w, ci, co, pad);
            let t = transposed(&g).unwrap();
            assert!(matches!(TransposedPlan::of(&t), TransposedPlan::Winograd(_)), "{g:?}");
            let mut rng = TestRng::new(600 + i as u64);
            let (wt, dy) = (rng.vec(g.w_len()), rng.vec(g.y_len()));
            let mut dx = nan_filled(g.x_len());
            conv2d_bwd_input(&g, &wt, &dy, &mut dx, &mut nan_filled(g.im2col_scratch_len()));
            let want = reference::conv2d_bwd_input(&g, &wt, &dy);
            // t's kernel [kh, kw, c_out of g, c_in of g]: g's taps reversed, transposed.
            let flipped: Vec<f32> = (0..g.w_len()).map(|e| {
                let (tap, o, c) = (e / (ci * co), (e / ci) % co, e % ci);
                wt[((8 - tap) * ci + c) * co + o]
            }).collect();
            let TransposedPlan::Winograd(p) = TransposedPlan::of(&t) else { unreachable!() };
            assert_wino_close(p.tile, &t, g.c_out, (&dy, &flipped, &vec![0.0; t.c_out]), &dx, &want, &format!("winograd dx {g:?}"));
        }
    }

    fn winograd_input_gradient_matches_central_differences() {
        // L = sum(y · r) through the f64 reference forward; dx from the kernel fed dy = r.
        use crate::conv2d::conv2d_bwd_input;
        use crate::selftest::gradcheck::{assert_grad_close, numeric_grad, project};
        let g = geom(2, 8, 8, 16, 16, Padding::Explicit { top: 1, bottom: 0, left: 0, right: 1 });
        let mut rng = TestRng::new(700);
        let (x, wt, r) = (rng.vec(g.x_len()), rng.vec(g.w_len()), rng.vec(g.y_len()));
        let w64: Vec<f64> = wt.iter().map(|&v| v as f64).collect();
        let mut dx = nan_filled(g.x_len());
        conv2d_bwd_input(&g, &wt, &r, &mut dx, &mut nan_filled(g.im2col_scratch_len()));
        let num = numeric_grad(&x, 1e-6, |xp| project(&reference::conv2d_fwd(&g, xp, &w64, None), &r));
        assert_grad_close(&dx, &num, 1e-4, 1e-5, &format!("winograd dx {g:?}"));
    }

    fn winograd_epilogue_equals_fwd_then_relu() {
        let g = geom(2, 7, 6, 9, 11, Padding::Same);
        let mut rng = TestRng::new(300);
        let (x, w, b) = (rng.vec(g.x_len()), rng.vec(g.w_len()), rng.vec(g.c_out));
        for tile in TILES {
            let p = plan_any(&g, tile).unwrap();
            let plain = run(&g, &p, &x, &w, Some(&b[..]).into());
            for clamp in [Clamp::Relu, Clamp::BoundedRelu { max: 0.5 }] {
                let fused = run(&g, &p, &x, &w, Epilogue { bias: Some(&b), clamp });
                let mut want = plain.clone();
                clamp.apply_slice(&mut want);
                assert_bits_eq(&fused, &want, &format!("winograd {tile:?} {clamp:?} epilogue"));
            }
        }
    }

    fn winograd_dispatch_is_from_geometry() {
        // ResNet-18's 3x3 stride-1 layers take Winograd except the 7x7 map at
        // batch 1 (16 tiles); thin, strided and non-3x3 convolutions do not.
        for (hw, ci, co) in RESNET {
            assert!(plan(&geom(32, hw, hw, ci, co, Padding::Same)).is_some(), "batch 32 {hw}x{hw}x{ci}");
            assert_eq!(plan(&geom(1, hw, hw, ci, co, Padding::Same)).is_some(), hw > 7, "batch 1 {hw}x{hw}x{ci}");
        }
        // F(4,3) per call from 64 of its tiles on maps of 7x7 and more: 56x56
        // from batch 1, 28x28 from 2, 14x14 from 4, 7x7 from 16; 6x6 never.
        let tile = |n, hw, c| plan(&geom(n, hw, hw, c, c, Padding::Same)).unwrap().tile;
        let tiles = [tile(1, 56, 64), tile(1, 28, 128), tile(2, 28, 128), tile(2, 14, 256), tile(4, 14, 256), tile(8, 7, 512), tile(16, 7, 512), tile(32, 6, 64)];
        assert_eq!(tiles, [TileSize::F4, TileSize::F2, TileSize::F4, TileSize::F2, TileSize::F4, TileSize::F2, TileSize::F4, TileSize::F2]);
        assert!(plan(&geom(8, 32, 32, 3, 64, Padding::Same)).is_none());
        assert!(plan(&geom(8, 32, 32, MIN_CHANNELS, MIN_CHANNELS - 1, Padding::Same)).is_none());
        let strided = Conv2dGeom::new(8, 32, 32, 64, 64, 3, 3, 2, 2, Padding::Same).unwrap();
        let five = Conv2dGeom::new(8, 32, 32, 64, 64, 5, 5, 1, 1, Padding::Same).unwrap();
        assert!(plan(&strided).is_none() && plan(&five).is_none());
    }

    fn winograd_serial_equals_parallel() {
        let g = geom(2, 23, 21, 20, 24, Padding::Same);
        let mut rng = TestRng::new(400);
        let (x, w, b) = (rng.vec(g.x_len()), rng.vec(g.w_len()), rng.vec(g.c_out));
        for tile in TILES {
            // By position in one span (this small batch), and the blocked
            // order's tile-row units.
            for p in [plan_any(&g, tile).unwrap(), tile_rows_plan(&g, tile, 3, 12)] {
                assert!(p.units > 1, "{p:?}");
                let a = run(&g, &WinoPlan { parallel: true, ..p }, &x, &w, Some(&b[..]).into());
                let s = run(&g, &WinoPlan { parallel: false, ..p }, &x, &w, Some(&b[..]).into());
                assert_bits_eq(&a, &s, &format!("winograd {tile:?} {p:?} pool vs serial"));
            }
            let g = geom(1, 7, 7, 24, 20, Padding::Same);
            let p = plan_any(&g, tile).unwrap();
            let a = run(&g, &WinoPlan { parallel: true, ..p }, &x[..g.x_len()], &w[..g.w_len()], Some(&b[..g.c_out]).into());
            let s = run(&g, &WinoPlan { parallel: false, ..p }, &x[..g.x_len()], &w[..g.w_len()], Some(&b[..g.c_out]).into());
            assert_bits_eq(&a, &s, &format!("winograd {tile:?} by position pool vs serial"));
        }
    }

    fn winograd_f4_error_vs_f2() {
        // A ResNet-like layer (64 channels in and out, 'same', values in
        // [-1, 1)): both tiles within their bounds (checked in `check`), and
        // their measured max errors relative to the direct Σ|x||w| + |b|.
        let g = geom(2, 18, 17, 64, 64, Padding::Same);
        let mut rng = TestRng::new(800);
        let (x, w, b) = (rng.vec(g.x_len()), rng.vec(g.w_len()), rng.vec(g.c_out));
        let want = reference::conv2d_fwd(&g, &x, &w, Some(&b));
        let direct = reference::conv2d_fwd(&g, &x.iter().map(|v| v.abs()).collect::<Vec<_>>(), &w.iter().map(|v| v.abs()).collect::<Vec<_>>(), Some(&b.iter().map(|v| v.abs()).collect::<Vec<_>>()));
        let rel_err = |tile| {
            let p = plan_any(&g, tile).unwrap();
            check(&g, &p, 800);
            let y = run(&g, &p, &x, &w, Some(&b[..]).into());
            y.iter().zip(&want).zip(&direct).map(|((&y, &r), &s)| (y as f64 - r).abs() / s).fold(0.0, f64::max)
        };
        let (f2, f4) = (rel_err(TileSize::F2), rel_err(TileSize::F4));
        #[cfg(test)]
        eprintln!("winograd max error / direct sum of |terms|: F(2,3) {f2:.2e}, F(4,3) {f4:.2e} ({:.1}x)", f4 / f2);
        assert!(f2 > 0.0 && f4 > 0.0, "{f2} {f4}");
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn winograd_bit_identical_with_1_and_2_threads() {
    let shapes = [geom(3, 20, 20, 16, 32, Padding::Same), geom(2, 30, 28, 32, 24, Padding::Same), geom(1, 14, 14, 64, 40, Padding::Explicit { top: 1, bottom: 0, left: 0, right: 1 }), geom(1, 7, 7, 64, 48, Padding::Same)];
    for (g, tile) in shapes.iter().flat_map(|g| TILES.map(|tile| (g, tile))) {
        let p = plan_any(g, tile).expect("3x3 stride 1");
        let mut rng = TestRng::new(500);
        let (x, w, b) = (rng.vec(g.x_len()), rng.vec(g.w_len()), rng.vec(g.c_out));
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| (run(g, &p, &x, &w, Some(&b[..]).into()), run_prepared(g, &p, &x, &w, Some(&b[..]).into())))
        };
        let (one, two) = (on(1), on(2));
        assert_bits_eq(&one.0, &two.0, &format!("winograd 1 vs 2 threads {g:?} {p:?}"));
        assert_bits_eq(&one.1, &two.1, &format!("winograd prepared 1 vs 2 threads {g:?} {p:?}"));
    }
}
