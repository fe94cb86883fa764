//! `cascade serve`, `cascade load`, `cascade token`: owned by the service work (issue 4).

use clap::{Args, Subcommand};

/// Arguments of `cascade serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {}

/// Arguments of `cascade load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    pub file: std::path::PathBuf,
}

/// `cascade token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {}

pub fn serve(_args: ServeArgs) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("cascade serve is not built yet")
}

pub fn load(_args: LoadArgs) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("cascade load is not built yet")
}

pub fn token(cmd: TokenCommand) -> anyhow::Result<std::process::ExitCode> {
    match cmd {}
}
