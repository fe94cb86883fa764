//! HiGHS runs: a built model handed to HiGHS with the plan's options, one
//! run and what it found. Depends on `model` only.

use std::time::Instant as Clock;

use highs::{HighsModelStatus, Model, RowProblem};

use crate::model::{Built, Families, Mode, build};
use crate::prep::Prep;
use crate::{MIP_REL_GAP, PlanError};

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

pub(crate) fn run(model: Model) -> Result<Run, PlanError> {
    let solved = model
        .try_solve()
        .map_err(|e| PlanError::Solver(format!("{e:?}")))?;
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
    let run = run(to_model(problem)?)?;
    Ok((built, run))
}
