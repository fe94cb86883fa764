//! HiGHS runs: a built model handed to HiGHS with the plan's options, one
//! run and what it found. Depends on `model` only.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant as Clock;

use highs::{HighsModelStatus, Model, RowProblem};

use crate::model::{Built, Families, Mode, build};
use crate::prep::Prep;
use crate::{MIP_REL_GAP, PlanError};

static PROGRESS: AtomicBool = AtomicBool::new(false);

/// Turns the live progress line on stderr on or off (the CLI turns it on
/// when stderr is a terminal and the output is not `--json`).
pub fn set_progress(on: bool) {
    PROGRESS.store(on, Ordering::Relaxed);
}

/// State of the progress line of one HiGHS run.
struct Progress {
    label: &'static str,
    started: Clock,
    last: f64,
    unit: f64,
    printed: bool,
}

fn usd_short(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let hundredths = (v / 1e4).round() as i64; // of a million
    format!(
        "{}${}.{:02}M",
        if hundredths < 0 { "-" } else { "" },
        crate::group_thousands(&(hundredths.abs() / 100).to_string()),
        hundredths.abs() % 100
    )
}

/// HiGHS's MIP interrupt callback: at most twice a second, one line
/// (`\r`, erased and rewritten) with elapsed time, best plan, bound, gap.
unsafe extern "C" fn progress_cb(
    _kind: std::os::raw::c_int,
    _msg: *const std::os::raw::c_char,
    out: *const highs_sys::HighsCallbackDataOut,
    _in: *mut highs_sys::HighsCallbackDataIn,
    user: *mut std::os::raw::c_void,
) {
    // SAFETY: `user` is the `Progress` boxed by `with_progress`, alive for
    // the whole solve; `out` is HiGHS's callback data for this call.
    let (p, o) = unsafe { (&mut *(user as *mut Progress), &*out) };
    let t = p.started.elapsed().as_secs_f64();
    if t - p.last < 0.5 {
        return;
    }
    p.last = t;
    p.printed = true;
    let gap = if o.mip_gap.is_finite() && o.mip_gap < 1e9 {
        format!("{:.2e}", o.mip_gap)
    } else {
        "-".into()
    };
    eprint!(
        "\r\x1b[K{}: {:.0} s, best plan {}, bound {}, gap {}",
        p.label,
        t,
        usd_short(o.mip_primal_bound * p.unit),
        usd_short(o.mip_dual_bound * p.unit),
        gap
    );
}

/// Solves `model`, with the progress line when it is on.
pub(crate) fn solve_with_progress(
    mut model: Model,
    label: &'static str,
    unit: f64,
) -> Result<highs::SolvedModel, highs::HighsStatus> {
    if !PROGRESS.load(Ordering::Relaxed) {
        return model.try_solve();
    }
    let mut p = Box::new(Progress {
        label,
        started: Clock::now(),
        last: 0.0,
        unit,
        printed: false,
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
    if p.printed {
        eprint!("\r\x1b[K");
    }
    solved
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

pub(crate) fn run(model: Model, unit: f64) -> Result<Run, PlanError> {
    let t = Clock::now();
    let solved = solve_with_progress(model, "HiGHS branch-and-bound", unit)
        .map_err(|e| PlanError::Solver(format!("{e:?}")))?;
    crate::trace("MIP", t, &solved);
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
pub(crate) fn solve(prep: &Prep, fams: Families, mode: Mode) -> Result<(Built, Run), PlanError> {
    let mut built = build(prep, fams, mode);
    let problem = std::mem::take(&mut built.problem);
    let run = run(to_model(problem)?, prep.money_unit)?;
    Ok((built, run))
}
