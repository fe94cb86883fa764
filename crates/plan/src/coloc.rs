//! A plan for when co-location binds and the LP bound proves nothing.
//!
//! Co-location's site binaries (`y`, one per demand segment and site that
//! could hold the co-located H100e) are what leave the LP relaxation loose
//! there: the LP spreads fractions of `y` over many sites, so its bound sits
//! far below every plan, and HiGHS's branch-and-bound finds no plan within
//! the gap for a long time. On the hard family's seed 8 (bench/README.md,
//! "Seed 8"), the root LP is 0.12 % below the optimum; HiGHS on the whole
//! model found no plan within 0.06 % of it in 400 s, while the same LP with
//! the optimum's sites fixed is within 1.2e-4 of its value and the MIP with
//! those sites fixed is solved at its root.
//!
//! So this picks the sites by LP value, with the segments in runs of a few
//! consecutive segments that keep one site (an offer is bought for its
//! whole window, so a plan that changes site every month pays for blocks at
//! every site). In time order, each run takes the site whose LP (the runs
//! before it fixed, the runs after it free) is cheapest. That is done with
//! runs of [`RUN_LENGTHS`] segments; the pattern with the cheaper LP is
//! kept, and the MIP with those `y` fixed gives the plan. Every step is an
//! LP or a node-limited MIP, so the same input gives the same plan.
//!
//! The plan is only a candidate: the caller hands its cost to HiGHS as a
//! cutoff on the whole model, which either proves it within the gap or
//! finds a better one. Nothing is offered when the pattern's LP costs no
//! more than the LP with the sites free (the LP already picks one site per
//! run, and the whole model closes at its root), nor when HiGHS does not
//! close the MIP with the sites fixed within [`MAX_NODES`].
//!
//! The LPs are many (one per run and candidate site: 8 s on a 2,000-offer
//! market with 36 co-located segments), so the search stops as soon as its
//! answer is known: a pattern as cheap as the free LP ends it (nothing will
//! be offered), and a pass stops once its LP, which only rises as runs are
//! fixed, reaches the best pattern so far. The same patterns are found.
//! Under a time limit the LPs take at most [`TIME_SHARE`] of what is left,
//! and a pass the LPs so far say will not end in time is given up at once
//! (a pass cut short is wasted), so that the whole model keeps time to find
//! a plan.

use std::time::Instant as Clock;

use highs::{Col, HighsModelStatus, HighsSolutionStatus, Model, RowProblem};

use crate::PlanError;
use crate::model::{Built, Families, Mode, build_with};
use crate::prep::Prep;
use crate::solve::{remaining, solver_error, to_model};

/// Segments per run of one site, tried in this order (ties keep the first).
const RUN_LENGTHS: [usize; 2] = [6, 3];
/// Branch-and-bound nodes of the MIP with the sites fixed.
const MAX_NODES: i32 = 100;
/// The share of what is left of a time limit that the LPs may use. The MIP
/// with the sites fixed, once a pattern is found, may use all of it: that
/// is where the step pays (hard family, seed 8: 3 s of LPs, 12 s of MIP).
const TIME_SHARE: f64 = 0.1;

/// Whether a `(started, limit)` time limit has run out.
fn out_of_time(deadline: Option<(Clock, f64)>) -> bool {
    deadline.is_some_and(|(t, limit)| t.elapsed().as_secs_f64() >= limit)
}

/// The `y` columns of each co-location segment: (column, site).
fn segments(built: &Built) -> Vec<Vec<(Col, u32)>> {
    let mut segs: Vec<Vec<(Col, u32)>> = Vec::new();
    let mut last = None;
    for &(y, d, s) in &built.y {
        if last != Some(d) {
            segs.push(Vec::new());
            last = Some(d);
        }
        segs.last_mut().expect("just pushed").push((y, s));
    }
    segs
}

/// Sets every `y` of segment `seg` to 1 at `site` and 0 elsewhere, or (no
/// site) frees them.
fn fix(model: &mut Model, seg: &[(Col, u32)], site: Option<u32>) {
    for &(y, s) in seg {
        let v = match site {
            None => 0.0..=1.0,
            Some(c) if c == s => 1.0..=1.0,
            Some(_) => 0.0..=0.0,
        };
        model.change_column_bounds(y, v);
    }
}

/// Solves the LP within what is left of the time limit; its value when
/// optimal. The model comes back with its basis, so the next LP starts
/// from it.
fn lp(mut model: Model, deadline: Option<(Clock, f64)>) -> Result<(Model, Option<f64>), PlanError> {
    if let Some(t) = remaining(deadline) {
        model
            .try_set_option("time_limit", t)
            .map_err(solver_error)?;
    }
    let solved = model.try_solve().map_err(solver_error)?;
    let value = (solved.status() == HighsModelStatus::Optimal).then(|| solved.objective_value());
    Ok((Model::from(solved), value))
}

/// The LP value with every segment's site fixed, and those sites.
type Pattern = (f64, Vec<u32>);

/// One forward pass with runs of `len` segments: the site of each run and
/// the LP value with every run fixed. None when some run has no site, when
/// time runs out, or when the pattern cannot cost less than `beat` (the
/// LP's value only rises as runs are fixed, so the pass stops there).
fn forward(
    mut model: Model,
    segs: &[Vec<(Col, u32)>],
    len: usize,
    deadline: Option<(Clock, f64)>,
    beat: Option<f64>,
) -> Result<(Model, Option<Pattern>), PlanError> {
    let mut chosen: Vec<u32> = Vec::with_capacity(segs.len());
    let mut value = f64::INFINITY;
    // Sites that could hold the co-located H100e in every segment of a run.
    let runs: Vec<_> = segs
        .chunks(len)
        .map(|run| {
            let mut sites: Vec<u32> = run[0].iter().map(|&(_, s)| s).collect();
            sites.retain(|s| run.iter().all(|seg| seg.iter().any(|&(_, t)| t == *s)));
            (run, sites)
        })
        .collect();
    let lps: usize = runs.iter().map(|(_, sites)| sites.len()).sum();
    let pass = Clock::now();
    let mut done = 0usize;
    for (run, sites) in &runs {
        let mut best: Option<(f64, u32)> = None;
        for &s in sites {
            for seg in *run {
                fix(&mut model, seg, Some(s));
            }
            let (m, v) = lp(model, deadline)?;
            model = m;
            done += 1;
            // A pass cut short is wasted time: stop at once when the LPs
            // so far say it will not end before the time limit (said once
            // a twentieth of them are done: the first ones are the slowest).
            if let Some((t0, limit)) = deadline {
                let elapsed = pass.elapsed().as_secs_f64();
                let projected = if done * 20 >= lps {
                    elapsed * lps as f64 / done as f64
                } else {
                    elapsed
                };
                if (pass - t0).as_secs_f64() + projected > limit {
                    best = None;
                    break;
                }
            }
            if let Some(v) = v
                && best.is_none_or(|(b, _)| v < b)
            {
                best = Some((v, s));
            }
        }
        let Some((v, s)) = best.filter(|&(v, _)| beat.is_none_or(|b| v < b)) else {
            for seg in segs {
                fix(&mut model, seg, None);
            }
            return Ok((model, None));
        };
        for seg in *run {
            fix(&mut model, seg, Some(s));
        }
        chosen.extend(std::iter::repeat_n(s, run.len()));
        value = v;
    }
    for seg in segs {
        fix(&mut model, seg, None);
    }
    Ok((model, Some((value, chosen))))
}

/// A plan (its cost in the model's money unit and the whole model's column
/// values) with the co-location sites chosen as above, or None when the
/// model has no co-location binaries or no pattern of sites is feasible.
/// `fixed` are the ROFR binaries the LP bound settled.
pub(crate) fn plan(
    prep: &Prep,
    fams: Families,
    built: &Built,
    problem: &RowProblem,
    fixed: &[(Col, f64)],
    deadline: Option<(Clock, f64)>,
) -> Result<Option<(f64, Vec<f64>)>, PlanError> {
    let segs = segments(built);
    if segs.is_empty() {
        return Ok(None);
    }
    let t = Clock::now();
    let lps_deadline = remaining(deadline).map(|left| (t, left * TIME_SHARE));
    let relaxed = build_with(prep, fams, Mode::Cost, true);
    let mut model = to_model(relaxed.problem)?;
    for &(c, v) in fixed {
        model.change_column_bounds(c, v..=v);
    }
    // The LP with every site free: when fixing the sites costs it nothing,
    // the LP already picks one site per run and the whole model does not
    // need this (its root closes the gap, as on two of the hard family's
    // 600-offer instances).
    let (m, free) = lp(model, lps_deadline)?;
    model = m;
    let as_free = |v: f64| free.is_some_and(|f| v <= f + 1e-9 * f.abs());
    let mut best: Option<Pattern> = None;
    for len in RUN_LENGTHS {
        let (m, found) = forward(model, &segs, len, lps_deadline, best.as_ref().map(|b| b.0))?;
        model = m;
        if found.is_some() {
            best = found;
        }
        if best.as_ref().is_some_and(|b| as_free(b.0)) || out_of_time(lps_deadline) {
            break;
        }
    }
    prep.hooks
        .note("co-location sites by LP", t, best.as_ref().map(|b| b.0));
    let Some((value, sites)) = best else {
        return Ok(None);
    };
    if as_free(value) || out_of_time(lps_deadline) {
        return Ok(None);
    }
    let mut model = to_model(problem.clone())?;
    for (seg, &s) in segs.iter().zip(&sites) {
        fix(&mut model, seg, Some(s));
    }
    let solved = crate::solve::node_limited(
        model,
        MAX_NODES,
        deadline,
        (
            "MIP with the co-location sites fixed",
            "MIP, co-location sites fixed",
        ),
        prep,
    )?;
    // Only a plan HiGHS closed within the gap of the fixed-site MIP is
    // offered: a weaker cutoff can send the whole model's search far astray
    // (bench/README.md, "Co-location sites by LP").
    if solved.status() != HighsModelStatus::Optimal
        || solved.primal_solution_status() != HighsSolutionStatus::Feasible
    {
        return Ok(None);
    }
    let x = solved.get_solution().columns().to_vec();
    let u = built.cost(prep, &x);
    Ok(Some((u, x)))
}
