//! The `cascade` binary end to end, as one test binary (one link of the
//! whole workspace instead of four): commands on files (`commands`),
//! planning and imports (`plan`), the service and its store (`service`),
//! simulation (`simulate`). `common` runs the binary and reads its output.

mod commands;
mod common;
mod plan;
mod service;
mod simulate;
