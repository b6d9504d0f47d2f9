//! Weight and bias gradients: `dw = colsᵀ · dy` and `db = sum_rows dy`, a
//! reduction over all `n·h_out·w_out` output pixels (formula in `mod.rs`).
//!
//! Deterministic by construction: the rows are cut into `plan.groups` fixed
//! groups (from the geometry, never the thread count); each group sums its rows
//! in order, block by block, into its own partial in `scratch`; the partials
//! are then added in group order. The result is bit-identical with any number
//! of threads.

use super::{im2col, Algo, Plan};
use crate::vecops::{self, add_assign};
use crate::gemm::gemm_tn_serial;
use crate::geom::{Conv2dGeom, GemmGeom};
use crate::par;

/// Scratch per group: an im2col block (if needed), then the `dw` and `db` partials.
pub(super) fn group_scratch_len(g: &Conv2dGeom, p: &Plan) -> usize {
    p.cols_len() + g.w_len() + g.c_out
}

pub(super) fn grouped(
    g: &Conv2dGeom,
    p: &Plan,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    scratch: &mut [f32],
) {
    let (k, n) = (p.patch, g.c_out);
    let cols_len = p.cols_len();
    let group_len = group_scratch_len(g, p);
    let partials = &mut scratch[..p.groups * group_len];
    par::for_each_chunk_mut(partials, group_len, p.parallel, |group, s| {
        let (cols, partial) = s.split_at_mut(cols_len);
        let (dw_part, db_part) = partial.split_at_mut(k * n);
        dw_part.fill(0.0);
        db_part.fill(0.0);
        let row_end = ((group + 1) * p.group_rows).min(p.rows);
        let mut row0 = group * p.group_rows;
        while row0 < row_end {
            let rows = p.block_rows.min(row_end - row0);
            let dy_block = &dy[row0 * n..(row0 + rows) * n];
            let a: &[f32] = match p.algo {
                Algo::Pointwise => &x[row0 * k..(row0 + rows) * k],
                Algo::Im2col | Algo::Implicit => {
                    im2col(g, x, row0, &mut cols[..rows * k]);
                    &cols[..rows * k]
                }
            };
            gemm_tn_serial(&GemmGeom { m: k, k: rows, n }, a, dy_block, dw_part, true);
            for dy_row in dy_block.chunks_exact(n) {
                add_assign(db_part, dy_row);
            }
            row0 += rows;
        }
    });
    vecops::sum_partials_in_order(scratch, group_len, p.groups, cols_len, dw);
    if let Some(db) = db {
        vecops::sum_partials_in_order(scratch, group_len, p.groups, cols_len + k * n, db);
    }
}
