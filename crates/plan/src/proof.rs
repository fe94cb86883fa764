//! The optimal strategy's first attempt: a plan proven within the gap
//! without HiGHS's branch-and-bound on the whole model.
//!
//! On large scenarios almost all of HiGHS's time goes into *finding* a plan
//! within 1e-4 of its bound; given such a plan it proves the gap in well
//! under a second (bench/README.md, "Planner"). The model's LP relaxation,
//! once the ROFR binaries are settled, is within ~1e-4 of the optimum, and
//! the optimum differs from the LP solution mainly among offers the LP is
//! indifferent between (reduced cost ~0, e.g. every offer of a seller whose
//! commitment is not yet met). So:
//!
//! 1. Solve the LP relaxation. Probe each ROFR binary: if the LP is
//!    infeasible with `z = 0` (or `z = 1`), the other value is forced in
//!    every plan. Up to [`MAX_ENUMERATED`] binaries left open are enumerated
//!    (one LP each). The least LP value over the cases is a **valid lower
//!    bound** `L` on every plan's cost.
//! 2. Solve a restricted MIP around the best case's LP solution: offers with
//!    a reduced cost above a small fraction of the gap stay between the
//!    floor and ceiling of their LP value; the others may move (first only
//!    up from the floor, then anywhere). HiGHS stops it as soon as a plan
//!    costs at most `L × (1 + gap)`. Node limits, not time, bound each step,
//!    so the same input always gives the same plan.
//! 3. A plan `U` with `U − L ≤ gap × U` is optimal in the spec's sense (its
//!    relative gap to a proven bound is within 1e-4). `U` is recomputed
//!    exactly from the block counts (`Built::cost`), not taken from HiGHS. Otherwise HiGHS solves
//!    the whole model from scratch (and, where co-location binds and that
//!    takes long, `coloc.rs` offers a plan to prove).
//!
//! No plan is handed to HiGHS as a start (`setSolution`): HiGHS 1.16 can
//! return a start unchanged, with the objective of its presolved form, when
//! presolve removed a column the start uses (seen on a 3-offer scenario:
//! reported $8,268, actual $10,056.48).
//!
//! Every restricted model is the whole model with tighter column bounds, so
//! its plans are plans of the whole model.
//!
//! When the LP bound is loose, this falls short and costs the two
//! restricted runs (node-limited) before the whole model is solved. The
//! bound is loose when whole blocks are large against 1e-4 of the plan's
//! cost, or when co-location binds, because its site binaries are left
//! relaxed.

use std::time::Instant as Clock;

use highs::{Col, HighsModelStatus, HighsSolutionStatus, Model, SolvedModel};

use highs::RowProblem;

use crate::model::{Built, Families, Mode, build_with};
use crate::prep::Prep;
use crate::solve::{remaining, solver_error, to_model};
use crate::{MIP_REL_GAP, PlanError};

/// At most this many open ROFR binaries are enumerated (2^6 LPs).
const MAX_ENUMERATED: usize = 6;
/// At most this many ROFR binaries are probed (two LPs each).
const MAX_PROBED: usize = 64;
/// Branch-and-bound nodes per restricted MIP.
const MAX_NODES: i32 = 20_000;
/// Offers whose reduced cost is at most the gap's worth divided by this
/// may move freely in the restricted MIP.
const FREE_DIVISOR: f64 = 32.0;

pub(crate) enum Guided {
    /// A plan within the gap of the proven bound.
    Proven { x: Vec<f64>, gap: f64 },
    /// No plan proven within the gap (or the LP is infeasible: the whole
    /// model says why), with the ROFR binaries the LP bound settled (for
    /// `coloc::plan`).
    Nothing { settled: Vec<(Col, f64)> },
}

/// One settled case of the open ROFR binaries, with its LP solution.
struct Case {
    lp_value: f64,
    fixed: Vec<(Col, f64)>,
    x: Vec<f64>,
    reduced: Vec<f64>,
}

/// True when, without the offers that holder offer `h`'s ROFR restricts,
/// even buying every other usable offer in full leaves some demand segment
/// uncovered: then `z_h = 0` is impossible, with no LP to solve.
fn coverage_needs_holder(prep: &Prep, h: u32) -> bool {
    let mut banned = vec![false; prep.offers.len()];
    for p in prep.rofr.iter().filter(|p| p.h == h) {
        banned[p.o as usize] = true;
    }
    prep.dsegs.iter().any(|d| {
        let most: f64 = d
            .active
            .iter()
            .filter(|&&oi| !banned[oi as usize])
            .map(|&oi| {
                let o = &prep.offers[oi as usize];
                o.h_block() * f64::from(o.max_blocks)
            })
            .sum();
        // A margin so that rounding never claims a feasible case impossible.
        most < d.demand - d.held - 1e-6 * d.demand.max(1.0)
    })
}

fn solve_lp(model: Model) -> Result<SolvedModel, PlanError> {
    model.try_solve().map_err(solver_error)
}

/// Every column is ≥ 0 with a cost ≥ 0, so the LP is never unbounded and
/// "unbounded or infeasible" means infeasible.
fn lp_infeasible(s: &SolvedModel) -> bool {
    matches!(
        s.status(),
        HighsModelStatus::Infeasible | HighsModelStatus::UnboundedOrInfeasible
    )
}

/// `built` is the whole model's column map; `problem` its rows (the caller
/// keeps them for the whole-model solve).
pub(crate) fn solve(
    prep: &Prep,
    fams: Families,
    built: &Built,
    problem: &RowProblem,
    deadline: Option<(Clock, f64)>,
) -> Result<Guided, PlanError> {
    // 1. LP relaxation, probing, enumeration.
    let lp = build_with(prep, fams, Mode::Cost, true);
    let t = Clock::now();
    let solved = solve_lp(to_model(lp.problem)?)?;
    prep.hooks.trace("LP relaxation", t, &solved);
    if solved.status() != HighsModelStatus::Optimal {
        return Ok(Guided::Nothing {
            settled: Vec::new(),
        });
    }
    // Later LPs change bounds and start from the last basis.
    let mut model = Model::from(solved);
    let mut forced: Vec<(Col, f64)> = Vec::new();
    let mut open: Vec<Col> = Vec::new();
    if built.z.len() <= MAX_PROBED {
        for &(z, h) in &built.z {
            if coverage_needs_holder(prep, h) {
                forced.push((z, 1.0));
                continue;
            }
            let mut infeasible = [false; 2];
            for v in 0..2 {
                if v == 1 && infeasible[0] {
                    // z = 0 is impossible, so z = 1 is the case to solve
                    // (its own LP below says if it is impossible too).
                    break;
                }
                model.change_column_bounds(z, v as f64..=v as f64);
                let solved = solve_lp(model)?;
                infeasible[v] = lp_infeasible(&solved);
                model = Model::from(solved);
                model.change_column_bounds(z, 0.0..=1.0);
            }
            match infeasible {
                [true, _] => forced.push((z, 1.0)),
                [false, true] => forced.push((z, 0.0)),
                [false, false] => open.push(z),
            }
        }
    }
    if open.len() > MAX_ENUMERATED {
        open.clear(); // left relaxed: the bound stays valid, only weaker
    }
    let mut cases: Vec<Case> = Vec::new();
    for bits in 0u32..(1 << open.len()) {
        let mut fixed = forced.clone();
        fixed.extend(
            open.iter()
                .enumerate()
                .map(|(k, &z)| (z, f64::from((bits >> k) & 1))),
        );
        for &(c, v) in &fixed {
            model.change_column_bounds(c, v..=v);
        }
        let solved = solve_lp(model)?;
        if solved.status() != HighsModelStatus::Optimal && !lp_infeasible(&solved) {
            // Unsolved: the bound would not be proven. (An infeasible case
            // holds no plan and bounds nothing.)
            return Ok(Guided::Nothing {
                settled: Vec::new(),
            });
        }
        if solved.status() == HighsModelStatus::Optimal {
            let sol = solved.get_solution();
            cases.push(Case {
                lp_value: solved.objective_value(),
                fixed,
                x: sol.columns().to_vec(),
                reduced: sol.dual_columns().to_vec(),
            });
        }
        model = Model::from(solved);
    }

    cases.sort_by(|a, b| a.lp_value.total_cmp(&b.lp_value));
    let Some(best_case) = cases.first() else {
        return Ok(Guided::Nothing {
            settled: Vec::new(),
        });
    };
    let bound = best_case.lp_value;
    let target = bound * (1.0 + 0.99 * MIP_REL_GAP);
    let within = |u: f64| u - bound <= MIP_REL_GAP * u.abs();
    // The largest cost `within` accepts (bound ≥ 0: costs are ≥ 0).
    let cutoff = bound.max(0.0) / (1.0 - MIP_REL_GAP) + 1e-9 * bound.abs().max(1.0);

    // 2. Restricted MIPs around the best case.
    let free_below = MIP_REL_GAP * bound.abs() / FREE_DIVISOR;
    let mut best: Option<(f64, Vec<f64>)> = None;
    for free_down in [false, true] {
        let mut model = to_model(problem.clone())?;
        for &(c, v) in &best_case.fixed {
            model.change_column_bounds(c, v..=v);
        }
        for (o, &c) in prep.offers.iter().zip(&built.n) {
            let i = c.index();
            let (x, r) = (best_case.x[i], best_case.reduced[i]);
            let ub = f64::from(o.max_blocks);
            let floor = (x + 1e-9).floor().clamp(0.0, ub);
            let (lo, hi) = if r.abs() <= free_below {
                (if free_down { 0.0 } else { floor }, ub)
            } else {
                (floor, (x - 1e-9).ceil().clamp(floor, ub))
            };
            model.change_column_bounds(c, lo..=hi);
        }
        let set = |m: &mut Model, k: &str, v: f64| m.try_set_option(k, v).map_err(solver_error);
        set(&mut model, "objective_target", target)?;
        // Only plans within the gap of the LP bound are of use here: HiGHS
        // prunes every node whose bound is above that. Where the LP bound is
        // loose (large blocks, binding co-location), the restricted runs
        // then end at the root instead of exploring their whole tree
        // (21 s each on a 600-offer instance of the hard family).
        if !prep.hooks.experiment("no-cutoff") {
            set(&mut model, "objective_bound", cutoff)?;
        }
        let step = if free_down {
            "restricted MIP (free down)"
        } else {
            "restricted MIP"
        };
        let solved = crate::solve::node_limited(
            model,
            MAX_NODES,
            deadline,
            ("restricted MIP around the LP bound", step),
            prep,
        )?;
        if solved.primal_solution_status() == HighsSolutionStatus::Feasible {
            let x = solved.get_solution().columns().to_vec();
            let u = built.cost(prep, &x);
            if best.as_ref().is_none_or(|(b, _)| u < *b) {
                best = Some((u, x));
            }
        }
        if let Some((u, x)) = &best
            && within(*u)
        {
            let gap = if *u == 0.0 {
                0.0
            } else {
                ((u - bound) / u.abs()).max(0.0)
            };
            return Ok(Guided::Proven { x: x.clone(), gap });
        }
        if remaining(deadline).is_some_and(|t| t <= 1e-3) {
            break;
        }
    }
    Ok(Guided::Nothing {
        settled: best_case.fixed.clone(),
    })
}
