//! Embeds the schema migrations, `migrations/<backend>/<VERSION>_<name>.sql`,
//! as `$OUT_DIR/migrations.rs`: one `&[(version, description, sql)]` per
//! backend, read by `backend::migrator`.
//!
//! This does what `sqlx::migrate!` does without sqlx's `macros` feature:
//! that feature builds a host copy of sqlx-core whose features (`either/serde`)
//! unify with bindgen's, which rebuilds bindgen and with it HiGHS (about ten
//! minutes) in every target directory of the workspace.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read at run time, not with env!(): a build script compiled in one
    // checkout is reused by cargo for another checkout of the same package in
    // a shared target directory, and a baked-in path would point at the first.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("migrations");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut out = String::new();
    for backend in ["sqlite", "postgres"] {
        let dir = root.join(backend);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a readable directory entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let Some(stem) = name.strip_suffix(".sql") else {
                continue;
            };
            let (version, description) = stem
                .split_once('_')
                .unwrap_or_else(|| panic!("{}: name it <VERSION>_<name>.sql", path.display()));
            let version: i64 = version
                .parse()
                .unwrap_or_else(|_| panic!("{}: the version must be a number", path.display()));
            assert!(
                !description.ends_with(".up") && !description.ends_with(".down"),
                "{}: reversible migrations are not used here",
                path.display()
            );
            found.push((version, description.replace('_', " "), path.clone()));
        }
        found.sort();
        for w in found.windows(2) {
            assert!(
                w[0].0 != w[1].0,
                "two {backend} migrations have version {}",
                w[0].0
            );
        }
        writeln!(
            out,
            "pub(crate) const {}: &[(i64, &str, &str)] = &[",
            backend.to_uppercase()
        )
        .unwrap();
        for (version, description, path) in found {
            writeln!(
                out,
                "    ({version}, {description:?}, include_str!({:?})),",
                path.display().to_string()
            )
            .unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    let dest =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("migrations.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
}
