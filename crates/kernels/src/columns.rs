//! Passes over `[rows, c]` data (NHWC activations, per-channel statistics) a
//! group of up to four channel vectors at a time down all the rows, so the
//! group's sums and per-channel coefficients stay in registers.
//!
//! Why: a row at a time, each row's pass over the channels kept per-channel
//! sums in memory (a load, an add and a store per vector and row, every add
//! waiting on the previous row's store) and reloaded the coefficients for
//! every row. Every element gets exactly the operations it got a row at a
//! time, and every sum still adds the rows in row order, so the results are
//! the same bits.

use crate::simd::F32x4;

/// A pass over channel vectors `j .. j + 4·G` of every row (`run`) or over the
/// single channel `k` (`scalar`, for the last `c mod 4` channels).
pub(crate) trait ColumnPass {
    fn run<const G: usize>(&mut self, j: usize);
    fn scalar(&mut self, k: usize);
}

/// Runs `pass` over all `c` channels: groups of four vectors, one group of
/// the remaining one to three, then the single channels.
pub(crate) fn for_columns(c: usize, pass: &mut impl ColumnPass) {
    let mut j = 0;
    while j + 16 <= c {
        pass.run::<4>(j);
        j += 16;
    }
    match (c - j) / 4 {
        0 => {}
        1 => pass.run::<1>(j),
        2 => pass.run::<2>(j),
        3 => pass.run::<3>(j),
        _ => unreachable!("fewer than four vectors remain"),
    }
    for k in c / 4 * 4..c {
        pass.scalar(k);
    }
}

/// The `G` vectors of `v` from `j` (a group's coefficients, or its channels of one row).
#[inline(always)]
pub(crate) fn load<const G: usize>(v: &[f32], j: usize) -> [F32x4; G] {
    let v = &v[j..j + 4 * G];
    core::array::from_fn(|g| F32x4::load(&v[4 * g..]))
}

/// Stores `G` vectors into `v` from `j`.
#[inline(always)]
pub(crate) fn store<const G: usize>(acc: [F32x4; G], v: &mut [f32], j: usize) {
    let v = &mut v[j..j + 4 * G];
    for (g, a) in acc.into_iter().enumerate() {
        a.store(&mut v[4 * g..]);
    }
}

/// `sums[ch] += Σ_r rows[r][ch]` over the `sums.len()`-wide rows of `rows`,
/// each channel's rows added in row order.
pub fn add_column_sums(sums: &mut [f32], rows: &[f32]) {
    for_columns(sums.len(), &mut Sum { sums, x: rows });
}

/// `sums += Σ x` per channel, in row order.
struct Sum<'a> {
    sums: &'a mut [f32],
    x: &'a [f32],
}

impl ColumnPass for Sum<'_> {
    #[inline(always)]
    fn run<const G: usize>(&mut self, j: usize) {
        let mut acc = load::<G>(self.sums, j);
        for row in self.x.chunks_exact(self.sums.len()) {
            let x = load::<G>(row, j);
            for g in 0..G {
                acc[g] = acc[g].add(x[g]);
            }
        }
        store(acc, self.sums, j);
    }
    fn scalar(&mut self, k: usize) {
        let mut s = self.sums[k];
        for row in self.x.chunks_exact(self.sums.len()) {
            s += row[k];
        }
        self.sums[k] = s;
    }
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests {
    use super::add_column_sums;
    use crate::selftest::util::{assert_bits_eq, TestRng};
    use crate::simd::F32x4;

    crate::kernel_tests! {
        fn column_sums_equal_row_at_a_time_bit_for_bit() {
            // Every group size and scalar tail, rows from one.
            let mut seed = 9200;
            for c in [1usize, 3, 4, 5, 8, 12, 16, 17, 20, 28, 33, 64] {
                for rows in [1usize, 2, 7, 40] {
                    let mut rng = TestRng::new(seed);
                    seed += 1;
                    let (x, start) = (rng.vec(rows * c), rng.vec(c));
                    let mut want = start.clone();
                    for row in x.chunks_exact(c) {
                        // As `vecops::add_assign` adds a row: lanes, then scalars.
                        for ch in 0..c {
                            want[ch] = if ch < c / 4 * 4 {
                                let mut o = [0.0; 4];
                                F32x4::load(&[want[ch]; 4]).add(F32x4::load(&[row[ch]; 4])).store(&mut o);
                                o[0]
                            } else {
                                want[ch] + row[ch]
                            };
                        }
                    }
                    let mut got = start.clone();
                    add_column_sums(&mut got, &x);
                    assert_bits_eq(&got, &want, &format!("add_column_sums c={c} rows={rows}"));
                }
            }
        }
    }
}
