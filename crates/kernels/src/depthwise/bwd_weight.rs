//! Depthwise weight and bias gradients, a reduction over all `n·h_out·w_out`
//! output pixels (formula in `mod.rs`).
//!
//! Deterministic by construction: the output rows are cut into `plan.groups`
//! fixed groups; each group walks its rows in order and, per row and kernel
//! tap, sums the row's pixels from zero and adds that to its own partial in
//! `scratch`; the partials are then added in group order.

use super::dots::{channel_dots, expand_dots, Grid};
use super::Plan;
use crate::geom::DepthwiseGeom;
use crate::taps;
use crate::{par, vecops};

/// Scratch per group: the `dw` and `db` partials.
pub(super) fn group_scratch_len(g: &DepthwiseGeom) -> usize {
    g.w_len() + g.c_out()
}

pub(super) fn grouped(
    g: &DepthwiseGeom,
    p: &Plan,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    scratch: &mut [f32],
) {
    let (c_in, c_out, dm) = (g.c_in, g.c_out(), g.depth_multiplier);
    let w_len = g.w_len();
    let group_len = group_scratch_len(g);
    let rows_total = g.n * g.h_out;
    let partials = &mut scratch[..p.groups * group_len];
    par::for_each_chunk_mut(partials, group_len, p.parallel, |group, part| {
        let (dw_part, db_part) = part.split_at_mut(w_len);
        dw_part.fill(0.0);
        db_part.fill(0.0);
        for row in group * p.group_rows..((group + 1) * p.group_rows).min(rows_total) {
            let (n, oh) = (row / g.h_out, row % g.h_out);
            let dy_row = row * g.w_out * c_out;
            let (ih0, khs) = taps::inside(oh, g.stride_h, g.pad_top, g.k_h, g.h_in);
            for kh in khs {
                let x_row = (n * g.h_in) as isize + ih0 + kh as isize;
                for kw in 0..g.k_w {
                    // Output pixels ow whose tap kw reads x column ow·stride_w + kw - pad_left.
                    let ows = taps::outputs_reading(kw, g.stride_w, g.pad_left, g.w_in, g.w_out);
                    let iw = (ows.start * g.stride_w + kw) as isize - g.pad_left as isize;
                    let pairs = Grid {
                        rows: 1,
                        cols: ows.len(),
                        start: ((x_row * g.w_in as isize + iw) * c_in as isize, (dy_row + ows.start * c_out) as isize),
                        row_step: (0, 0),
                        col_step: ((g.stride_w * c_in) as isize, c_out as isize),
                    };
                    let tap = &mut dw_part[(kh * g.k_w + kw) * c_out..][..c_out];
                    if dm == 1 {
                        channel_dots::<true>(pairs, x, dy, tap);
                    } else {
                        expand_dots::<true>(pairs, dm, x, dy, tap);
                    }
                }
            }
            crate::columns::add_column_sums(db_part, &dy[dy_row..dy_row + g.w_out * c_out]);
        }
    });
    vecops::sum_partials_in_order(scratch, group_len, p.groups, 0, dw);
    if let Some(db) = db {
        vecops::sum_partials_in_order(scratch, group_len, p.groups, w_len, db);
    }
}
