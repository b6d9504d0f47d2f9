//! GEMM against the f64 reference on awkward shapes.

use crate::geom::GemmGeom;
use crate::reference;
use crate::selftest::util::{assert_bits_eq, assert_dot_close, nan_filled, TestRng};

const SIZES: [usize; 7] = [1, 3, 5, 7, 17, 33, 257];

fn check(m: usize, k: usize, n: usize, with_bias: bool, seed: u64) {
    let g = GemmGeom::new(m, k, n).unwrap();
    let mut rng = TestRng::new(seed);
    let a = rng.vec(g.a_len());
    let b = rng.vec(g.b_len());
    let bias = with_bias.then(|| rng.vec(n));
    let mut c = nan_filled(g.c_len());
    super::gemm(&g, &a, &b, bias.as_deref(), &mut c);
    let want = reference::gemm(m, k, n, &a, &b, bias.as_deref());
    let scale = reference::gemm_abs(m, k, n, &a, &b, bias.as_deref());
    let ctx = format!("gemm m={m} k={k} n={n} bias={with_bias}");
    assert_dot_close(&c, &want, &scale, k + 1, &ctx);
}

crate::kernel_tests! {
    fn gemm_matches_reference_on_awkward_shapes() {
        let mut seed = 1;
        for &m in &SIZES {
            for &k in &SIZES {
                for &n in &SIZES {
                    // The 257³ corner is covered by the targeted cases below.
                    if m == 257 && k == 257 && n == 257 { continue; }
                    check(m, k, n, seed % 2 == 0, seed);
                    seed += 1;
                }
            }
        }
    }

    fn gemm_matches_reference_on_reference_net_shapes() {
        // im2col shapes of the reference nets, with M cut down to keep the f64
        // reference quick; K and N (what the microkernel tiles) are the real ones.
        for (i, &(m, k, n)) in [(203, 27, 16), (97, 144, 32), (61, 288, 64), (32, 2304, 128), (9, 288, 10)].iter().enumerate() {
            check(m, k, n, true, 100 + i as u64);
        }
    }

    fn gemm_large_block_crosses_parallel_threshold() {
        // Big enough to run in parallel with several chunks.
        check(257, 257, 33, true, 7);
        check(300, 64, 129, false, 8);
    }

    fn gemm_known_values() {
        // [[1,2],[3,4]] · [[5,6],[7,8]] + [10,20] = [[29,42],[53,70]]
        let g = GemmGeom::new(2, 2, 2).unwrap();
        let mut c = nan_filled(4);
        super::gemm(&g, &[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0], Some(&[10.0, 20.0]), &mut c);
        assert_eq!(c, vec![29.0, 42.0, 53.0, 70.0]);
    }

    fn gemm_rejects_bad_geometry() {
        assert!(GemmGeom::new(0, 3, 3).is_err());
        assert!(GemmGeom::new(3, 0, 3).is_err());
        assert!(GemmGeom::new(3, 3, 0).is_err());
        assert!(GemmGeom::new(usize::MAX / 2, 4, 4).is_err());
        let msg = GemmGeom::new(2, 0, 5).unwrap_err().message;
        assert!(msg.contains("k must be >= 1") && msg.contains("m=2"), "{msg}");
    }

    fn gemm_clamp_epilogue_equals_gemm_then_activation_bit_for_bit() {
        // Fused inference runs ReLU / ReLU6 as the GEMM stores its outputs; it
        // must give exactly what the separate activation pass gives, NaN
        // included (a NaN input row makes NaN sums, which both turn into 0).
        use super::{gemm_with, Clamp, Epilogue};
        let mut seed = 300;
        for &(m, k, n) in &[(1, 1, 1), (5, 7, 3), (9, 17, 13), (33, 5, 31), (129, 45, 37), (4, 288, 64)] {
            let g = GemmGeom::new(m, k, n).unwrap();
            let mut rng = TestRng::new(seed);
            seed += 1;
            let (mut a, b) = (rng.vec(g.a_len()), rng.vec(g.b_len()));
            a[0] = f32::NAN;
            let bias = rng.vec(n);
            for bias in [None, Some(bias.as_slice())] {
                let mut plain = nan_filled(g.c_len());
                super::gemm(&g, &a, &b, bias, &mut plain);
                for (clamp, name) in [(Clamp::Relu, "relu"), (Clamp::BoundedRelu { max: 0.5 }, "relu_max 0.5")] {
                    let mut want = nan_filled(g.c_len());
                    match clamp {
                        Clamp::Relu => crate::activation::relu_fwd(&plain, &mut want),
                        Clamp::BoundedRelu { max } => crate::activation::relu_max_fwd(max, &plain, &mut want),
                        Clamp::None => unreachable!(),
                    }
                    let mut got = nan_filled(g.c_len());
                    gemm_with(&g, &a, &b, Epilogue { bias, clamp }, &mut got);
                    assert_bits_eq(&got, &want, &format!("gemm {m}x{k}x{n} bias={} {name} epilogue", bias.is_some()));
                }
            }
        }
    }

    fn gemm_kblock_matches_reference_and_packed_b_bit_for_bit() {
        // Column counts with every mix of 12-wide panels, an 8-wide and a
        // 4-wide one and 1-3 tail columns, row counts with every row tail; a
        // second k-block accumulating into C and the bias on it.
        let cases = [(1, 1), (2, 3), (3, 4), (4, 7), (5, 8), (7, 11), (6, 12), (3, 13), (8, 16), (2, 20), (7, 23), (4, 24), (5, 28), (6, 36), (1, 45)];
        for (i, (rows, cols)) in cases.into_iter().enumerate() {
            let kc = 5;
            let mut rng = TestRng::new(900 + i as u64);
            let (a, b, bias) = (rng.vec(2 * rows * kc), rng.vec(2 * kc * cols), rng.vec(cols));
            let k = super::KBlock { rows, kc, cols, ldb: cols, ldc: cols };
            let mut want = nan_filled(rows * cols);
            let mut panel = nan_filled(super::kblock_panel_len(kc));
            let mut got = nan_filled(rows * cols);
            for blk in 0..2 {
                let (a_blk, b_blk) = (&a[blk * rows * kc..][..rows * kc], &b[blk * kc * cols..][..kc * cols]);
                let bias = (blk == 1).then_some(&bias[..]);
                super::gemm_kblock(k, a_blk, b_blk, &mut want, blk == 0, bias, &mut panel);
                let mut packed = nan_filled(kc * cols);
                for q in 0..kc {
                    for col in 0..cols {
                        packed[super::packed_b_index(kc, cols, q, col)] = b_blk[q * cols + col];
                    }
                }
                super::gemm_kblock_packed(k, a_blk, &packed, &mut got, blk == 0, bias);
            }
            assert_bits_eq(&got, &want, &format!("gemm_kblock_packed rows={rows} cols={cols}"));
            // Both k-blocks together are one GEMM of 2·kc: A's blocks side by side, B's stacked.
            let a_full: Vec<f32> = (0..rows).flat_map(|r| (0..2).flat_map(move |blk| (0..kc).map(move |q| (r, blk, q)))).map(|(r, blk, q)| a[blk * rows * kc + r * kc + q]).collect();
            let reference = reference::gemm(rows, 2 * kc, cols, &a_full, &b, Some(&bias));
            let scale = reference::gemm_abs(rows, 2 * kc, cols, &a_full, &b, Some(&bias));
            assert_dot_close(&want, &reference, &scale, 2 * kc + 1, &format!("gemm_kblock rows={rows} cols={cols}"));
        }
    }

    fn packed_b_index_is_a_permutation() {
        for cols in 1..=50 {
            let kc = 3;
            let mut seen = vec![false; kc * cols];
            for q in 0..kc {
                for col in 0..cols {
                    let at = super::packed_b_index(kc, cols, q, col);
                    assert!(!seen[at], "packed_b_index(kc={kc}, cols={cols}) maps two elements to {at}");
                    seen[at] = true;
                }
            }
            // Four consecutive columns from a multiple of 4 are contiguous (Winograd's kernel transform stores them as one vector).
            for q in 0..kc {
                for col in (0..cols / 4 * 4).step_by(4) {
                    let at = super::packed_b_index(kc, cols, q, col);
                    for d in 1..4 {
                        assert_eq!(super::packed_b_index(kc, cols, q, col + d), at + d, "cols={cols} q={q} col={col}");
                    }
                }
            }
        }
    }

    fn gemm_wide_tiles_equal_the_narrow_tiles_bit_for_bit() {
        // C with 16-32 columns takes 2-row × 16-column tiles (then 8-, 4-wide
        // and single columns); every output must have the bits of the 4 × 8
        // tiles and match the reference. Rows 1-7 give every row tail of both
        // tiles; odd k; A packed or in segments with gaps between them (the
        // in-place convolution's layout), with a bias and with a ReLU. Written
        // with a row stride above n (the strided input gradient's phases), the
        // rows have the same bits and the floats between them stay untouched.
        use super::microkernel::{gemm_rows_strided, gemm_rows_with, rows_with, OutRows, RowLayout, MR};
        use super::{Clamp, Epilogue};
        let mut seed = 1000;
        for n in [8, 11, 12, 15, 16, 17, 19, 20, 24, 28, 31, 32, 33, 36, 44, 47, 48, 61] {
            for m in 1..=7 {
                for (segments, seg_len, gap) in [(1, 1, 0), (1, 27, 0), (3, 9, 3), (3, 5, 1), (2, 7, 2)] {
                    let layout = RowLayout { segments, seg_len, seg_stride: seg_len + gap };
                    let (k, row_span) = (segments * seg_len, segments * (seg_len + gap));
                    let mut rng = TestRng::new(seed);
                    seed += 1;
                    let (data, b, bias) = (rng.vec(m * row_span), rng.vec(k * n), rng.vec(n));
                    let a: Vec<f32> = (0..m)
                        .flat_map(|i| (0..segments).flat_map(move |s| (0..seg_len).map(move |q| i * row_span + s * layout.seg_stride + q)))
                        .map(|at| data[at])
                        .collect();
                    let ctx = format!("gemm_rows m={m} k={k} n={n} segments={segments}");
                    for ep in [Epilogue::from(Some(bias.as_slice())), Epilogue { bias: None, clamp: Clamp::Relu }] {
                        let bases = || (0..m).map(|i| i * row_span);
                        let mut got = nan_filled(m * n);
                        gemm_rows_with(layout, &data, bases(), n, &b, ep, &mut got);
                        let mut narrow = nan_filled(m * n);
                        rows_with::<MR, 2>(layout, &data, bases(), n, &b, ep, OutRows { rows: m, stride: n }, &mut narrow);
                        assert_bits_eq(&got, &narrow, &format!("{ctx} {:?}: wide vs 4x8 tiles", ep.clamp));
                        let stride = n + 1 + m % 3 * n;
                        let mut spaced = nan_filled((m - 1) * stride + n);
                        gemm_rows_strided(layout, &data, bases(), n, &b, ep, OutRows { rows: m, stride }, &mut spaced);
                        for (i, row) in spaced.chunks(stride).enumerate() {
                            assert_bits_eq(&row[..n], &got[i * n..(i + 1) * n], &format!("{ctx} {:?}: row {i} at stride {stride}", ep.clamp));
                            assert!(row[n..].iter().all(|v| v.is_nan()), "{ctx}: row {i} wrote past its {n} columns at stride {stride}");
                        }
                        if ep.clamp == Clamp::None {
                            let want = reference::gemm(m, k, n, &a, &b, ep.bias);
                            let scale = reference::gemm_abs(m, k, n, &a, &b, ep.bias);
                            assert_dot_close(&got, &want, &scale, k + 1, &ctx);
                        }
                    }
                }
            }
        }
    }

    fn gemm_result_does_not_depend_on_chunking() {
        // Serial run vs the parallel driver: the same roundings per element.
        let g = GemmGeom::new(129, 45, 37).unwrap();
        let mut rng = TestRng::new(42);
        let (a, b, bias) = (rng.vec(g.a_len()), rng.vec(g.b_len()), rng.vec(g.n));
        let mut c1 = nan_filled(g.c_len());
        super::gemm(&g, &a, &b, Some(&bias), &mut c1);
        let mut c2 = nan_filled(g.c_len());
        for i in 0..g.m {
            super::microkernel::gemm_block(g.k, g.n, &a[i * g.k..(i + 1) * g.k], &b, Some(bias.as_slice()).into(), &mut c2[i * g.n..(i + 1) * g.n]);
        }
        assert_bits_eq(&c1, &c2, "gemm 129x45x37 driver vs row-by-row");
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn gemm_bit_identical_with_1_and_2_threads() {
    let g = GemmGeom::new(257, 144, 32).unwrap();
    let mut rng = TestRng::new(9);
    let (a, b, bias) = (rng.vec(g.a_len()), rng.vec(g.b_len()), rng.vec(g.n));
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let mut c = nan_filled(g.c_len());
        pool.install(|| super::gemm(&g, &a, &b, Some(&bias), &mut c));
        c
    };
    assert_bits_eq(&run(1), &run(2), "gemm 257x144x32, 1 vs 2 threads");
}
