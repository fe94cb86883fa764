//! `cascade plan` and `cascade offers`: owned by the planner work (issue 3).

use clap::{Args, Subcommand};

/// Arguments of `cascade plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Scenario file (TOML, or JSON by extension).
    pub file: std::path::PathBuf,
}

/// `cascade offers ...`
#[derive(Debug, Subcommand)]
pub enum OffersCommand {}

pub fn plan(_args: PlanArgs) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("cascade plan is not built yet")
}

pub fn offers(cmd: OffersCommand) -> anyhow::Result<std::process::ExitCode> {
    match cmd {}
}
