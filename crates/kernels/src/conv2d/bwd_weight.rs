//! Weight and bias gradients: `dw = colsᵀ · dy` and `db = sum_rows dy`, a
//! reduction over all `n·h_out·w_out` output pixels (formula in `mod.rs`).
//!
//! Deterministic by construction, two ways (chosen in `mod.rs` from the
//! geometry, never the thread count):
//! - `Partials` (small kernels): the rows are cut into fixed groups; each
//!   group sums its rows in order, a sub-block of them at a time, into its
//!   own partial in `scratch`; the partials are then added in group order;
//! - `DwRows` (large kernels, whose partials would not fit in cache or a sane
//!   scratch): each unit owns a range of `dw` rows (patch elements), builds
//!   just those im2col columns block by block and sums every output pixel in
//!   order straight into `dw`; `db` is one in-order sum over the rows.
//!
//! Either way each element's sum order is fixed by the geometry, so the
//! result is bit-identical with any number of threads.

use super::{im2col_range, WgradPlan, WgradSplit};
use crate::gemm::gemm_tn_serial;
use crate::geom::{Conv2dGeom, GemmGeom};
use crate::par;
use crate::columns::add_column_sums;
use crate::vecops;

/// Scratch elements the plan needs.
pub(super) fn scratch_len(g: &Conv2dGeom, p: &WgradPlan) -> usize {
    match p.split {
        WgradSplit::Partials { groups, .. } => groups * partial_len(g, p),
        WgradSplit::DwRows { unit_rows, units } => units * p.block_rows * unit_rows,
    }
}

/// Scratch per group of `Partials`: an im2col sub-block, then the `dw` and `db` partials.
fn partial_len(g: &Conv2dGeom, p: &WgradPlan) -> usize {
    p.sub_rows * p.patch + g.w_len() + g.c_out
}

pub(super) fn run(g: &Conv2dGeom, p: &WgradPlan, x: &[f32], dy: &[f32], dw: &mut [f32], db: Option<&mut [f32]>, scratch: &mut [f32]) {
    match p.split {
        WgradSplit::Partials { group_rows, groups } => partials(g, p, group_rows, groups, x, dy, dw, db, scratch),
        WgradSplit::DwRows { unit_rows, units } => {
            dw_rows(g, p, unit_rows, units, x, dy, dw, scratch);
            if let Some(db) = db {
                vecops::sum_rows(dy, db);
            }
        }
    }
}

/// `dw` rows `u·unit_rows ..` per unit: `cols[:, range]ᵀ · dy`, `block_rows`
/// output pixels at a time, accumulated in row order.
#[allow(clippy::too_many_arguments)]
fn dw_rows(g: &Conv2dGeom, p: &WgradPlan, unit_rows: usize, units: usize, x: &[f32], dy: &[f32], dw: &mut [f32], scratch: &mut [f32]) {
    let n = g.c_out;
    let cols_len = p.block_rows * unit_rows;
    let scratch = &mut scratch[..units * cols_len];
    par::for_each_chunk_pair_mut(dw, unit_rows * n, scratch, cols_len, p.parallel, |u, dw_part, cols| {
        let kc = dw_part.len() / n;
        let mut row0 = 0;
        while row0 < p.rows {
            let rows = p.block_rows.min(p.rows - row0);
            let a = &mut cols[..rows * kc];
            im2col_range(g, x, row0, u * unit_rows, kc, a);
            gemm_tn_serial(&GemmGeom { m: kc, k: rows, n }, a, &dy[row0 * n..(row0 + rows) * n], dw_part, row0 > 0);
            row0 += rows;
        }
    });
}

#[allow(clippy::too_many_arguments)]
fn partials(
    g: &Conv2dGeom,
    p: &WgradPlan,
    group_rows: usize,
    groups: usize,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    scratch: &mut [f32],
) {
    let (k, n) = (p.patch, g.c_out);
    let cols_len = p.sub_rows * k;
    let group_len = partial_len(g, p);
    let parts = &mut scratch[..groups * group_len];
    par::for_each_chunk_mut(parts, group_len, p.parallel, |group, s| {
        let (cols, partial) = s.split_at_mut(cols_len);
        let (dw_part, db_part) = partial.split_at_mut(k * n);
        dw_part.fill(0.0);
        db_part.fill(0.0);
        let row_end = ((group + 1) * group_rows).min(p.rows);
        let mut row0 = group * group_rows;
        while row0 < row_end {
            let rows = p.sub_rows.min(row_end - row0);
            let dy_block = &dy[row0 * n..(row0 + rows) * n];
            let a = &mut cols[..rows * k];
            im2col_range(g, x, row0, 0, k, a);
            gemm_tn_serial(&GemmGeom { m: k, k: rows, n }, a, dy_block, dw_part, true);
            add_column_sums(db_part, dy_block);
            row0 += rows;
        }
    });
    vecops::sum_partials_in_order(scratch, group_len, groups, cols_len, dw);
    if let Some(db) = db {
        vecops::sum_partials_in_order(scratch, group_len, groups, cols_len + k * n, db);
    }
}
