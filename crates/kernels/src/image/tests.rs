//! Image transforms: hand-computed warps, the f64 reference on random
//! parameters, colour jitter, preprocessing, and reproducibility.

use super::augment::{draw, Affine};
use super::*;
use crate::reference;
use crate::rng::CounterRng;
use crate::selftest::util::{assert_bits_eq, assert_close, nan_filled, TestRng};

const FILLS: [FillMode; 3] = [FillMode::Nearest, FillMode::Reflect, FillMode::Constant];

fn random_u8(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = TestRng::new(seed);
    (0..len).map(|_| (rng.next_u64() >> 56) as u8).collect()
}

fn as_f32(v: &[u8]) -> Vec<f32> {
    v.iter().map(|&b| b as f32).collect()
}

fn warp(p: &AffineParams, fill: FillMode, cval: f32, h: usize, w: usize, c: usize, src: &[u8]) -> Vec<f32> {
    let mut out = nan_filled(h * w * c);
    warp_image(p, fill, cval, h, w, c, src, &mut out);
    out
}

fn spec(n: usize, h: usize, w: usize, c: usize, augment: Option<AugmentConfig>, preprocess: Preprocess) -> TransformSpec {
    let s = TransformSpec { geom: ImageGeom::new(n, h, w, c).unwrap(), seed: 0x5eed_0001_2345, epoch: 3, augment, preprocess };
    s.validate().unwrap();
    s
}

fn run(s: &TransformSpec, src: &[u8], ids: &[u32]) -> Vec<f32> {
    let mut dst = nan_filled(s.geom.len());
    transform_images(s, src, ids, &mut dst);
    dst
}

/// Every geometric parameter drawn (`u` uniform in [0, 1)): rotation up to
/// 180°, shifts up to 0.3 of the size, shear up to 30°, zoom 0.7-1.3, flips.
fn random_affine(u: &mut impl FnMut() -> f64, h: usize, w: usize) -> AffineParams {
    let sym = |u: f64, r: f64| r * (2.0 * u - 1.0);
    AffineParams {
        theta: sym(u(), 180.0),
        tx: sym(u(), 0.3) * h as f64,
        ty: sym(u(), 0.3) * w as f64,
        shear: sym(u(), 30.0),
        zx: 0.7 + 0.6 * u(),
        zy: 0.7 + 0.6 * u(),
        hflip: u() < 0.5,
        vflip: u() < 0.5,
    }
}

/// Every augmentation on, with moderate ranges.
fn full_config(fill_mode: FillMode) -> AugmentConfig {
    AugmentConfig {
        rotation: 30.0,
        width_shift: 0.2,
        height_shift: 0.15,
        shear: 20.0,
        zoom: [0.8, 1.25],
        hflip: true,
        vflip: true,
        fill_mode,
        fill_value: 17.0,
        brightness: 0.3,
        contrast: 0.3,
        saturation: 0.4,
        hue: 0.1,
        stain_scale: 0.0,
        stain_shift: 0.0,
        rand_stain: RandStainConfig::OFF,
    }
}

crate::kernel_tests! {
    fn identity_warp_reproduces_input() {
        for &(h, w) in &[(1usize, 1usize), (1, 5), (3, 5), (7, 4), (6, 6), (17, 3)] {
            for c in [1usize, 3] {
                let src = random_u8(h * w * c, (h * 31 + w * 7 + c) as u64);
                for fill in FILLS {
                    let out = warp(&AffineParams::IDENTITY, fill, 99.0, h, w, c, &src);
                    assert_bits_eq(&out, &as_f32(&src), &format!("identity warp {h}x{w}x{c} {fill:?}"));
                }
                // Through the batch driver: no augmentation, and augmentation with all ranges zero.
                let n = 3;
                let batch = random_u8(n * h * w * c, 77 + h as u64);
                let ids = [4u32, 0, 9];
                for aug in [None, Some(AugmentConfig::IDENTITY)] {
                    let out = run(&spec(n, h, w, c, aug, Preprocess::None), &batch, &ids);
                    assert_bits_eq(&out, &as_f32(&batch), &format!("identity batch {n}x{h}x{w}x{c} augment={aug:?}"));
                }
            }
        }
    }

    fn flips_mirror_rows_and_columns() {
        let (h, w, c) = (5usize, 4usize, 3usize);
        let src = random_u8(h * w * c, 11);
        let at = |r: usize, col: usize, ch: usize| src[(r * w + col) * c + ch] as f32;
        for (hflip, vflip) in [(true, false), (false, true), (true, true)] {
            let p = AffineParams { hflip, vflip, ..AffineParams::IDENTITY };
            for fill in FILLS {
                let out = warp(&p, fill, 0.0, h, w, c, &src);
                let want: Vec<f32> = (0..h * w * c)
                    .map(|i| {
                        let (r, col, ch) = (i / (w * c), (i / c) % w, i % c);
                        at(if vflip { h - 1 - r } else { r }, if hflip { w - 1 - col } else { col }, ch)
                    })
                    .collect();
                assert_bits_eq(&out, &want, &format!("flip h={hflip} v={vflip} {fill:?} {h}x{w}x{c}"));
            }
        }
    }

    fn rotation_by_90_degrees_hand_computed() {
        // 4×6 image, in[r][c] = 10r + c. Centre o = (1.5, 2.5). θ = 90°:
        // R = [[0, -1], [1, 0]], input = o + R·(p - o) = (4 - c, r + 1).
        let (h, w) = (4usize, 6usize);
        let src: Vec<u8> = (0..h * w).map(|i| (10 * (i / w) + i % w) as u8).collect();
        let p = AffineParams { theta: 90.0, ..AffineParams::IDENTITY };
        let out = warp(&p, FillMode::Constant, 255.0, h, w, 1, &src);
        #[rustfmt::skip]
        let want: [f32; 24] = [
            255.0, 31.0, 21.0, 11.0, 1.0, 255.0,
            255.0, 32.0, 22.0, 12.0, 2.0, 255.0,
            255.0, 33.0, 23.0, 13.0, 3.0, 255.0,
            255.0, 34.0, 24.0, 14.0, 4.0, 255.0,
        ];
        assert_bits_eq(&out, &want, "rotate +90° 4x6 constant 255");
        // θ = -90°: input = (c - 1, 4 - r); nearest fill clamps the rows -1 and 5 to 0 and 3.
        let p = AffineParams { theta: -90.0, ..AffineParams::IDENTITY };
        let out = warp(&p, FillMode::Nearest, 0.0, h, w, 1, &src);
        #[rustfmt::skip]
        let want: [f32; 24] = [
            4.0, 4.0, 14.0, 24.0, 34.0, 34.0,
            3.0, 3.0, 13.0, 23.0, 33.0, 33.0,
            2.0, 2.0, 12.0, 22.0, 32.0, 32.0,
            1.0, 1.0, 11.0, 21.0, 31.0, 31.0,
        ];
        assert_bits_eq(&out, &want, "rotate -90° 4x6 nearest");
    }

    fn whole_pixel_shift_with_each_fill_mode() {
        // 3×4 image, in[r][c] = 10r + c + 1; tx = +1 row, ty = -2 columns:
        // output (r, c) reads input (r + 1, c - 2).
        let (h, w) = (3usize, 4usize);
        let src: Vec<u8> = (0..h * w).map(|i| (10 * (i / w) + i % w + 1) as u8).collect();
        let p = AffineParams { tx: 1.0, ty: -2.0, ..AffineParams::IDENTITY };
        #[rustfmt::skip]
        let cases: [(FillMode, [f32; 12]); 3] = [
            (FillMode::Nearest, [11.0, 11.0, 11.0, 12.0, 21.0, 21.0, 21.0, 22.0, 21.0, 21.0, 21.0, 22.0]),
            (FillMode::Reflect, [12.0, 11.0, 11.0, 12.0, 22.0, 21.0, 21.0, 22.0, 22.0, 21.0, 21.0, 22.0]),
            (FillMode::Constant, [99.0, 99.0, 11.0, 12.0, 99.0, 99.0, 21.0, 22.0, 99.0, 99.0, 99.0, 99.0]),
        ];
        for (fill, want) in cases {
            let out = warp(&p, fill, 99.0, h, w, 1, &src);
            assert_bits_eq(&out, &want, &format!("shift (+1, -2) 3x4 {fill:?}"));
        }
        // Far outside: reflection repeats with period 2n.
        let p = AffineParams { ty: 9.0, ..AffineParams::IDENTITY };
        let out = warp(&p, FillMode::Reflect, 0.0, 1, w, 1, &src[..w]);
        // Columns c + 9 = 9..12; the reflection has period 8: 9 -> 1, 10 -> 2, 11 -> 3, 12 -> 4 -> 3.
        assert_bits_eq(&out, &[2.0, 3.0, 4.0, 4.0], "shift 9 columns reflect");
    }

    fn warp_matches_reference_on_random_parameters() {
        // The kernel computes sample points in f32: error <= ~(|m|·(h + w) + |b|)·2^-24
        // ≈ 1e-5 px here, times a gradient of at most 255 per px, plus f32
        // rounding of the interpolation: 0.02 on the 0-255 scale bounds it.
        let mut rng = TestRng::new(123);
        let mut u = move || (rng.uniform() + 1.0) as f64 / 2.0;
        let mut case = 0;
        for &(h, w) in &[(5usize, 7usize), (8, 3), (16, 16), (13, 21), (1, 6)] {
            for c in [1usize, 3] {
                for fill in FILLS {
                    for kind in 0..3 {
                        case += 1;
                        let sym = |u: f64, r: f64| r * (2.0 * u - 1.0);
                        let mut p = AffineParams::IDENTITY;
                        match kind {
                            0 => p.shear = sym(u(), 40.0),
                            1 => {
                                p.zx = 0.6 + 0.9 * u();
                                p.zy = 0.6 + 0.9 * u();
                            }
                            _ => p = random_affine(&mut u, h, w),
                        }
                        let src = random_u8(h * w * c, case);
                        let out = warp(&p, fill, 42.0, h, w, c, &src);
                        let want = reference::image_warp(&p, fill, 42.0, h, w, c, &src);
                        let ctx = format!("warp {h}x{w}x{c} {fill:?} {p:?}");
                        for i in 0..out.len() {
                            let (r, col) = (i / (w * c), (i / c) % w);
                            if fill == FillMode::Constant {
                                // Within rounding of the edge, the point may fall either side.
                                let (y, x) = reference::image_warp_coord(&p, h, w, r, col);
                                let near = |v: f64, n: usize| v.abs() < 1e-3 || (v - (n - 1) as f64).abs() < 1e-3;
                                if near(y, h) || near(x, w) {
                                    continue;
                                }
                            }
                            let err = (out[i] as f64 - want[i]).abs();
                            assert!(err <= 0.02, "{ctx}: element {i} (r={r}, c={col}): got {}, want {} (error {err:e})", out[i], want[i]);
                        }
                    }
                }
            }
        }
    }

    fn simd_interior_path_is_bit_identical_to_scalar() {
        // Under SIMD128 (the wasm selftests), interior RGB pixels interpolate
        // as f32x4 lanes: results must equal the scalar path's bits, on sizes
        // where the last pixels fall back to scalar (the 4-byte load guard).
        let mut rng = TestRng::new(77);
        let mut u = move || (rng.uniform() + 1.0) as f64 / 2.0;
        let mut case = 100;
        for &(h, w) in &[(2usize, 2usize), (3, 5), (7, 4), (16, 17), (31, 9)] {
            for fill in FILLS {
                for _ in 0..4 {
                    case += 1;
                    let p = random_affine(&mut u, h, w);
                    let src = random_u8(h * w * 3, case);
                    let mut scalar = nan_filled(h * w * 3);
                    super::augment::warp_image_scalar(&p, fill, 9.0, h, w, 3, &src, &mut scalar);
                    assert_bits_eq(&warp(&p, fill, 9.0, h, w, 3, &src), &scalar, &format!("warp {h}x{w}x3 {fill:?} {p:?}: SIMD vs scalar"));
                }
            }
        }
    }

    fn affine_matrix_agrees_with_keras_composition() {
        let p = AffineParams { theta: 17.0, tx: 2.5, ty: -1.25, shear: 11.0, zx: 0.9, zy: 1.2, hflip: false, vflip: false };
        let (h, w) = (9usize, 14usize);
        let a = Affine::new(&p, h, w);
        let m = reference::keras_affine_matrix(&p, h, w);
        for i in 0..2 {
            for j in 0..2 {
                assert!((a.m[i][j] - m[i][j]).abs() < 1e-12, "m[{i}][{j}] {} vs {}", a.m[i][j], m[i][j]);
            }
            assert!((a.b[i] - m[i][2]).abs() < 1e-12, "b[{i}] {} vs {}", a.b[i], m[i][2]);
        }
    }

    fn drawn_parameters_follow_ranges_and_keys() {
        let cfg = full_config(FillMode::Reflect);
        let (h, w) = (20usize, 30usize);
        let rng = CounterRng::new(99, 4);
        let mut flips = [0usize; 2];
        let mut orders = std::collections::HashSet::new();
        for id in 0..400u32 {
            let p = draw_params(&cfg, h, w, &rng, id);
            let a = p.affine;
            assert!(a.theta.abs() <= 30.0 && a.shear.abs() <= 20.0, "id {id}: {a:?}");
            assert!(a.tx.abs() <= 0.15 * h as f64 && a.ty.abs() <= 0.2 * w as f64, "id {id}: {a:?}");
            assert!((0.8..=1.25).contains(&a.zx) && (0.8..=1.25).contains(&a.zy), "id {id}: {a:?}");
            let j = p.jitter;
            assert!((0.7..=1.3).contains(&j.brightness) && (0.7..=1.3).contains(&j.contrast), "id {id}: {j:?}");
            assert!((0.6..=1.4).contains(&j.saturation) && j.hue.abs() <= 0.1, "id {id}: {j:?}");
            let mut sorted = j.order;
            sorted.sort();
            assert_eq!(sorted, [0, 1, 2, 3], "id {id}: order {:?} is a permutation", j.order);
            orders.insert(j.order);
            flips[0] += a.hflip as usize;
            flips[1] += a.vflip as usize;
            // A pure function of (seed, epoch, id).
            assert_eq!(p, draw_params(&cfg, h, w, &CounterRng::new(99, 4), id), "id {id} redraw");
            assert_eq!(a.theta, cfg.rotation as f64 * (2.0 * rng.uniform_f32(id as u64 * DRAWS_PER_SAMPLE + draw::ROTATION) as f64 - 1.0));
        }
        assert!(flips.iter().all(|&f| (140..260).contains(&f)), "flip counts {flips:?} of 400");
        assert_eq!(orders.len(), 24, "all 24 op orders occur");
        assert_ne!(draw_params(&cfg, h, w, &CounterRng::new(99, 5), 7), draw_params(&cfg, h, w, &rng, 7), "epochs differ");
        assert_ne!(draw_params(&cfg, h, w, &rng, 8), draw_params(&cfg, h, w, &rng, 7), "ids differ");
        // Disabled ranges draw the identity.
        let p = draw_params(&AugmentConfig::IDENTITY, h, w, &rng, 3);
        assert_eq!(p.affine, AffineParams::IDENTITY);
        assert_eq!((p.jitter.brightness, p.jitter.contrast, p.jitter.saturation, p.jitter.hue), (1.0, 1.0, 1.0, 0.0));
    }

    fn color_jitter_matches_reference_and_bounds() {
        let mut rng = TestRng::new(5);
        for (k, &(h, w, c)) in [(4usize, 5usize, 3usize), (7, 3, 1), (9, 9, 3), (1, 1, 3)].iter().enumerate() {
            for trial in 0..12u32 {
                let img = as_f32(&random_u8(h * w * c, 1000 + k as u64 * 50 + trial as u64));
                let mut f = || 1.0 + 0.6 * rng.uniform();
                let p = JitterParams {
                    brightness: f(),
                    contrast: f(),
                    saturation: f(),
                    hue: 0.5 * rng.uniform(),
                    order: [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]][trial as usize % 4],
                };
                let mut out = img.clone();
                apply_jitter(&p, c, &mut out);
                let want = reference::color_jitter(&p, c, &reference::widen(&img));
                let ctx = format!("jitter {h}x{w}x{c} {p:?}");
                assert_close(&out, &want, 1e-5, 2e-3, &ctx);
                assert!(out.iter().all(|v| (0.0..=255.0).contains(v)), "{ctx}: values in [0, 255]");
            }
        }
        // Identity factors leave the image bit for bit.
        let img = as_f32(&random_u8(5 * 4 * 3, 8));
        let mut out = img.clone();
        apply_jitter(&JitterParams::IDENTITY, 3, &mut out);
        assert_bits_eq(&out, &img, "identity jitter");
        // Brightness alone scales, then clamps.
        let p = JitterParams { brightness: 1.5, ..JitterParams::IDENTITY };
        let mut out = vec![0.0, 100.0, 200.0];
        apply_jitter(&p, 1, &mut out);
        assert_eq!(out, vec![0.0, 150.0, 255.0], "brightness 1.5");
        // Hue by 1/3 of the wheel: red -> green -> blue; grey is unchanged.
        let p = JitterParams { hue: 1.0 / 3.0, ..JitterParams::IDENTITY };
        let mut out = vec![255.0, 0.0, 0.0, 0.0, 255.0, 0.0, 90.0, 90.0, 90.0];
        apply_jitter(&p, 3, &mut out);
        let want = [0.0, 255.0, 0.0, 0.0, 0.0, 255.0, 90.0, 90.0, 90.0];
        assert_close(&out, &want.map(|v| v as f64), 0.0, 1e-3, "hue +1/3");
        // Saturation 0 turns a pixel grey; contrast 0 turns the image into its mean grey.
        let p = JitterParams { saturation: 0.0, ..JitterParams::IDENTITY };
        let mut out = vec![200.0, 100.0, 50.0];
        apply_jitter(&p, 3, &mut out);
        let g = 0.2989 * 200.0 + 0.587 * 100.0 + 0.114 * 50.0;
        assert_close(&out, &[g, g, g], 1e-6, 1e-4, "saturation 0");
        let p = JitterParams { contrast: 0.0, ..JitterParams::IDENTITY };
        let mut out = vec![10.0, 20.0, 60.0, 70.0];
        apply_jitter(&p, 1, &mut out);
        assert_close(&out, &[40.0; 4], 0.0, 1e-5, "contrast 0, one channel");
        // One channel: saturation and hue do nothing.
        let p = JitterParams { saturation: 0.2, hue: 0.3, ..JitterParams::IDENTITY };
        let mut out = vec![10.0, 20.0, 60.0];
        apply_jitter(&p, 1, &mut out);
        assert_eq!(out, vec![10.0, 20.0, 60.0], "1-channel saturation/hue ignored");
    }

    fn preprocessing_hand_values() {
        // minmax: exactly v / 255 in f32 for every byte.
        let all: Vec<f32> = (0..=255u8).map(|v| v as f32).collect();
        let mut out = all.clone();
        preprocess_image(&Preprocess::MinMax, 1, &mut out);
        for (v, o) in all.iter().zip(&out) {
            assert_eq!(o.to_bits(), (v / 255.0).to_bits(), "minmax {v}");
        }
        assert_eq!((out[0], out[51], out[255]), (0.0, 0.2, 1.0));
        // caffe: (R, G, B) = (10, 20, 30) -> (B - 103.939, G - 116.779, R - 123.68).
        let mean = [103.939f32, 116.779, 123.68];
        let mut out = vec![10.0, 20.0, 30.0];
        preprocess_image(&Preprocess::Caffe { mean }, 3, &mut out);
        assert_eq!(out, vec![30.0 - 103.939, 20.0 - 116.779, 10.0 - 123.68]);
        let mut out = vec![10.0];
        preprocess_image(&Preprocess::Caffe { mean }, 1, &mut out);
        assert_eq!(out, vec![10.0 - 103.939]);
        // standardize: (v / 255 - mean) / std.
        let p = Preprocess::Standardize { mean: [0.5, 0.4, 0.25], std: [0.25, 0.2, 0.5] };
        let mut out = vec![255.0, 51.0, 0.0];
        preprocess_image(&p, 3, &mut out);
        assert_close(&out, &[2.0, -1.0, -0.5], 1e-6, 1e-7, "standardize");
        let want = reference::image_preprocess(&p, 3, &[255.0, 51.0, 0.0]);
        assert_close(&out, &want, 1e-6, 1e-7, "standardize vs reference");
        // From the ABI codes, with validation.
        assert_eq!(Preprocess::from_code(2, mean, [1.0; 3]).unwrap(), Preprocess::Caffe { mean });
        assert!(Preprocess::from_code(4, mean, [1.0; 3]).unwrap_err().message.contains("got 4"));
        let bad = Preprocess::Standardize { mean: [0.0; 3], std: [1.0, 0.0, 1.0] };
        assert!(bad.validate(1).is_ok(), "only the first c channels matter");
        assert!(bad.validate(3).unwrap_err().message.contains("std[1] must be finite and > 0, got 0"));
    }

    fn full_pipeline_matches_reference() {
        // Drawn parameters -> reference warp -> reference jitter -> reference preprocessing.
        for (k, &(n, h, w, c)) in [(3usize, 9usize, 11usize, 3usize), (2, 8, 5, 1)].iter().enumerate() {
            for fill in FILLS {
                let cfg = full_config(fill);
                let pre = if c == 3 {
                    Preprocess::Standardize { mean: [0.5, 0.45, 0.4], std: [0.2, 0.25, 0.3] }
                } else {
                    Preprocess::MinMax
                };
                let s = spec(n, h, w, c, Some(cfg), pre);
                let src = random_u8(n * h * w * c, 300 + k as u64);
                let ids: Vec<u32> = (0..n as u32).map(|i| 1000 + 7 * i).collect();
                let out = run(&s, &src, &ids);
                let plane = h * w * c;
                let rng = CounterRng::new(s.seed, s.epoch as u64);
                for i in 0..n {
                    let p = draw_params(&cfg, h, w, &rng, ids[i]);
                    let warped = reference::image_warp(&p.affine, fill, cfg.fill_value as f64, h, w, c, &src[i * plane..(i + 1) * plane]);
                    // Jitter the kernel's own warp (the warp is checked above) so that
                    // constant-fill edge ambiguity cannot propagate through the contrast mean.
                    let mut kw = nan_filled(plane);
                    warp_image(&p.affine, fill, cfg.fill_value, h, w, c, &src[i * plane..(i + 1) * plane], &mut kw);
                    let near = warped.iter().zip(&kw).all(|(a, b)| (a - *b as f64).abs() <= 0.02);
                    let jittered = reference::color_jitter(&p.jitter, c, &reference::widen(&kw));
                    let want = reference::image_preprocess(&pre, c, &jittered);
                    let ctx = format!("pipeline image {i} {n}x{h}x{w}x{c} {fill:?} {p:?}");
                    assert!(near || fill == FillMode::Constant, "{ctx}: warp vs reference");
                    let scale = if c == 3 { 1.0 / (255.0 * 0.2) } else { 1.0 / 255.0 };
                    assert_close(&out[i * plane..(i + 1) * plane], &want, 1e-5, 2e-3 * scale, &ctx);
                }
            }
        }
    }

    fn same_sample_id_gives_same_output_in_any_batch() {
        let (h, w, c) = (12usize, 10usize, 3usize);
        let plane = h * w * c;
        let img = |id: u32| random_u8(plane, 5000 + id as u64);
        let cfg = full_config(FillMode::Constant);
        let pre = Preprocess::Caffe { mean: [103.939, 116.779, 123.68] };
        let batch = |ids: &[u32]| {
            let src: Vec<u8> = ids.iter().flat_map(|&id| img(id)).collect();
            run(&spec(ids.len(), h, w, c, Some(cfg), pre), &src, ids)
        };
        let a = batch(&[5, 9, 2]);
        let b = batch(&[2]);
        let d = batch(&[9, 7, 1, 5]);
        assert_bits_eq(&a[2 * plane..], &b, "id 2: position 2 of 3 vs alone");
        assert_bits_eq(&a[..plane], &d[3 * plane..], "id 5: position 0 vs position 3");
        assert_bits_eq(&a[plane..2 * plane], &d[..plane], "id 9: position 1 vs position 0");
        // Another epoch gives other draws.
        let mut s = spec(1, h, w, c, Some(cfg), pre);
        s.epoch += 1;
        let e = run(&s, &img(2), &[2]);
        assert!(e.iter().zip(&b).any(|(x, y)| x != y), "epochs differ");
        // Without augmentation the epoch and id are irrelevant.
        let plain = spec(1, h, w, c, None, pre);
        assert_bits_eq(&run(&plain, &img(2), &[2]), &run(&TransformSpec { epoch: 9, ..plain }, &img(2), &[77]), "no augmentation");
    }

    fn large_batch_runs_in_parallel_chunks_like_serial() {
        // Above the parallel threshold: per-image results equal one-image calls.
        let (n, h, w, c) = (6usize, 33usize, 29usize, 3usize);
        let plane = h * w * c;
        let src = random_u8(n * plane, 61);
        let ids: Vec<u32> = (10..10 + n as u32).collect();
        let cfg = full_config(FillMode::Reflect);
        let s = spec(n, h, w, c, Some(cfg), Preprocess::MinMax);
        let all = run(&s, &src, &ids);
        for i in 0..n {
            let mut one = nan_filled(plane);
            transform_one(&s, ids[i], &src[i * plane..(i + 1) * plane], &mut one);
            assert_bits_eq(&all[i * plane..(i + 1) * plane], &one, &format!("image {i} of {n}x{h}x{w}x{c}"));
        }
        assert!(all.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)), "minmax range after jitter");
    }

    fn config_validation_names_field_and_value() {
        assert!(ImageGeom::new(1, 2, 2, 2).unwrap_err().message.contains("c must be 1 or 3, got 2"));
        assert!(ImageGeom::new(0, 2, 2, 3).unwrap_err().message.contains("n must be >= 1, got 0"));
        let bad = |f: fn(&mut AugmentConfig), what: &str| {
            let mut cfg = AugmentConfig::IDENTITY;
            f(&mut cfg);
            let msg = cfg.validate().unwrap_err().message;
            assert!(msg.contains(what), "{msg}");
        };
        bad(|c| c.rotation = -1.0, "rotation must be in [0, 360] degrees, got -1");
        bad(|c| c.width_shift = 1.5, "width_shift must be a fraction in [0, 1], got 1.5");
        bad(|c| c.height_shift = f32::NAN, "height_shift");
        bad(|c| c.shear = 90.0, "shear must be in [0, 89] degrees, got 90");
        bad(|c| c.zoom = [1.2, 0.8], "zoom_hi must be in [zoom_lo = 1.2, 100], got 0.8");
        bad(|c| c.zoom = [0.0, 1.0], "zoom_lo");
        bad(|c| c.hue = 0.6, "hue must be in [0, 0.5], got 0.6");
        bad(|c| c.brightness = -0.1, "brightness");
        bad(|c| c.fill_value = f32::INFINITY, "fill_value must be finite");
        assert!(FillMode::from_code(3).unwrap_err().message.contains("got 3"));
        assert!(full_config(FillMode::Nearest).validate().is_ok());
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn image_transform_bit_identical_with_1_and_2_threads() {
    let (n, h, w, c) = (8usize, 40usize, 37usize, 3usize);
    let src = random_u8(n * h * w * c, 2);
    let ids: Vec<u32> = (0..n as u32).map(|i| i * 3 + 1).collect();
    let s = spec(n, h, w, c, Some(full_config(FillMode::Reflect)), Preprocess::MinMax);
    let run_with = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let mut dst = nan_filled(s.geom.len());
        pool.install(|| transform_images(&s, &src, &ids, &mut dst));
        dst
    };
    assert_bits_eq(&run_with(1), &run_with(2), "image transform 8x40x37x3, 1 vs 2 threads");
}
