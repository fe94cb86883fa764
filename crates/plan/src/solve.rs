//! HiGHS runs: a built model handed to HiGHS with the plan's options, one
//! run and what it found. Depends on `model` only.

use std::time::Instant as Clock;

use highs::{HighsModelStatus, Model, RowProblem};

use crate::model::{Built, Families, Mode, build};
use crate::prep::Prep;
use crate::{Hooks, MIP_REL_GAP, PlanError, PlanEvent};

/// State of the progress events of one HiGHS run.
struct Progress {
    label: &'static str,
    started: Clock,
    last: f64,
    unit: f64,
    sent: bool,
    hooks: Hooks,
}

/// HiGHS's MIP interrupt callback: at most twice a second, one
/// `PlanEvent::Progress` with elapsed time, best plan, bound, gap.
unsafe extern "C" fn progress_cb(
    _kind: std::os::raw::c_int,
    _msg: *const std::os::raw::c_char,
    out: *const highs_sys::HighsCallbackDataOut,
    _in: *mut highs_sys::HighsCallbackDataIn,
    user: *mut std::os::raw::c_void,
) {
    // SAFETY: `user` is the `Progress` boxed by `solve_with_progress`, alive
    // for the whole solve; `out` is HiGHS's callback data for this call.
    let (p, o) = unsafe { (&mut *(user as *mut Progress), &*out) };
    let t = p.started.elapsed().as_secs_f64();
    if t - p.last < 0.5 {
        return;
    }
    p.last = t;
    p.sent = true;
    p.hooks.emit(&PlanEvent::Progress {
        run: p.label,
        seconds: t,
        best_usd: o.mip_primal_bound * p.unit,
        bound_usd: o.mip_dual_bound * p.unit,
        gap: o.mip_gap,
    });
}

/// Solves `model`, sending progress events when they are wanted.
pub(crate) fn solve_with_progress(
    mut model: Model,
    label: &'static str,
    unit: f64,
    hooks: &Hooks,
) -> Result<highs::SolvedModel, highs::HighsStatus> {
    if !hooks.progress() {
        return model.try_solve();
    }
    let mut p = Box::new(Progress {
        label,
        started: Clock::now(),
        last: 0.0,
        unit,
        sent: false,
        hooks: hooks.clone(),
    });
    // SAFETY: the callback and its data (the box, alive until the solve
    // returns) are registered on this model's HiGHS instance only.
    unsafe {
        let h = model.as_mut_ptr();
        highs_sys::Highs_setCallback(
            h,
            Some(progress_cb),
            &mut *p as *mut Progress as *mut std::os::raw::c_void,
        );
        highs_sys::Highs_startCallback(h, highs_sys::kHighsCallbackMipInterrupt);
    }
    let solved = model.try_solve();
    if p.sent {
        hooks.emit(&PlanEvent::ProgressEnd);
    }
    solved
}

/// A HiGHS call that failed, as the planner's error.
pub(crate) fn solver_error(e: impl std::fmt::Debug) -> PlanError {
    PlanError::Solver(format!("{e:?}"))
}

/// A run bounded by `max_nodes` (and by what is left of the time limit),
/// so that the same input gives the same plan: shows progress as `label`
/// and traces as `step`.
pub(crate) fn node_limited(
    mut model: Model,
    max_nodes: i32,
    deadline: Option<(Clock, f64)>,
    (label, step): (&'static str, &'static str),
    prep: &Prep,
) -> Result<highs::SolvedModel, PlanError> {
    model
        .try_set_option("mip_max_nodes", max_nodes)
        .map_err(solver_error)?;
    if let Some(t) = remaining(deadline) {
        model
            .try_set_option("time_limit", t)
            .map_err(solver_error)?;
    }
    let t = Clock::now();
    let solved =
        solve_with_progress(model, label, prep.money_unit, &prep.hooks).map_err(solver_error)?;
    prep.hooks.trace(step, t, &solved);
    Ok(solved)
}

/// Seconds left of a `(started, limit)` time limit (at least a millisecond).
pub(crate) fn remaining(deadline: Option<(Clock, f64)>) -> Option<f64> {
    deadline.map(|(t, limit)| (limit - t.elapsed().as_secs_f64()).max(1e-3))
}

/// A model handed to HiGHS with the plan's options.
pub(crate) fn to_model(problem: RowProblem) -> Result<Model, PlanError> {
    let mut model =
        Model::try_new(problem).map_err(|e| PlanError::Solver(format!("model rejected: {e:?}")))?;
    model.make_quiet();
    model
        .try_set_option("mip_rel_gap", MIP_REL_GAP)
        .map_err(|e| PlanError::Solver(e.to_string()))?;
    Ok(model)
}

/// Outcome of one HiGHS run.
pub(crate) struct Run {
    pub status: HighsModelStatus,
    pub x: Vec<f64>,
    pub gap: Option<f64>,
}

impl Run {
    pub fn feasible(&self) -> bool {
        matches!(
            self.status,
            HighsModelStatus::Optimal | HighsModelStatus::ModelEmpty
        )
    }

    pub fn infeasible(&self) -> bool {
        matches!(
            self.status,
            HighsModelStatus::Infeasible | HighsModelStatus::UnboundedOrInfeasible
        )
    }
}

pub(crate) fn run(model: Model, unit: f64, hooks: &Hooks) -> Result<Run, PlanError> {
    let t = Clock::now();
    let solved =
        solve_with_progress(model, "HiGHS branch-and-bound", unit, hooks).map_err(solver_error)?;
    hooks.trace("MIP", t, &solved);
    let status = solved.status();
    let has_solution = status == HighsModelStatus::Optimal
        || (status == HighsModelStatus::ReachedTimeLimit
            && solved.primal_solution_status() == highs::HighsSolutionStatus::Feasible);
    let x = if has_solution {
        solved.get_solution().columns().to_vec()
    } else {
        Vec::new()
    };
    let gap = has_solution
        .then(|| solved.mip_gap())
        .filter(|g| g.is_finite());
    Ok(Run { status, x, gap })
}

/// Builds and solves; `Run::x` is empty unless optimal.
///
/// On tiny models HiGHS 1.16 can end a solve with "MIP solver claims
/// optimality, but with ... primal infeasibilities" (1e-6 over a bound after
/// presolve's reductions) and report an error; the same model is then
/// solved again without presolve (a diagnosis model of the planner's
/// property test hit it).
pub(crate) fn solve(prep: &Prep, fams: Families, mode: Mode) -> Result<(Built, Run), PlanError> {
    let mut built = build(prep, fams, mode);
    let problem = std::mem::take(&mut built.problem);
    match run(to_model(problem.clone())?, prep.money_unit, &prep.hooks) {
        Ok(r) => Ok((built, r)),
        Err(PlanError::Solver(_)) => {
            let mut model = to_model(problem)?;
            model
                .try_set_option("presolve", "off")
                .map_err(|e| PlanError::Solver(e.to_string()))?;
            Ok((built, run(model, prep.money_unit, &prep.hooks)?))
        }
        Err(e) => Err(e),
    }
}
