//! Running the built `cascade` from the repository's root, and reading what
//! it printed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The compute-chain example, from the repository's root.
pub const CHAIN: &str = "examples/compute-chain-2025.toml";

/// The repository's root (examples and fixtures are named from there).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `cascade` with `args` in the repository's root.
pub fn cascade(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run cascade")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Stdout as JSON, whatever the exit status (failures print JSON too).
pub fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(o), stderr(o)))
}

/// Stdout as JSON of a run that must have succeeded.
pub fn json_of(o: &Output) -> Value {
    assert!(o.status.success(), "cascade failed: {}", stderr(o));
    json(o)
}

/// A path for one test's file in this process's temp folder (unique per
/// name within the test binary).
pub fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cascade-cli-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// `toml` written to [`tmp`]`(name)`.
pub fn scenario_file(name: &str, toml: &str) -> PathBuf {
    let p = tmp(name);
    std::fs::write(&p, toml).unwrap();
    p
}
