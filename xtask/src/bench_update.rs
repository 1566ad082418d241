//! `cargo xtask bench update`: planning updates against a loopback registry and against
//! `cargo outdated` on the service workspace.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;

use crate::bench::*;

/// `update --dry-run` planning (1) for a workspace with 400 direct dependencies on the kit's
/// loopback registry (target <= 2 s), next to `cargo update --dry-run` on the same registry;
/// (2) on the service workspace against the real index, next to `cargo outdated --workspace
/// --depth 1` (target <= 0.25x; needs CARGO_OUTDATED or cargo-outdated on PATH).
pub(crate) fn bench_update(runs: usize) -> Result<()> {
    use slsa_tests::{CrateBuilder, Env, Project};
    let runs = runs.max(3);
    let bin = release_binary()?;
    let n = 400;
    let env = Env::new();
    let r = env.registry();
    for i in 0..n {
        r.publish(CrateBuilder::new(&format!("dep{i}"), "1.0.0").pubtime("2020-01-01T00:00:00Z"));
    }
    let mut manifest = String::from(
        "[package]\nname = \"wide\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n[dependencies]\n",
    );
    for i in 0..n {
        manifest.push_str(&format!("dep{i} = \"1\"\n"));
    }
    let project = Project::new()
        .file("Cargo.toml", manifest)
        .file("src/main.rs", "fn main() {}\n")
        .build();
    let mut lock = env.cargo(project.path());
    lock.arg("generate-lockfile");
    slsa_tests::run(lock).assert_success();
    for i in 0..n {
        for v in ["1.0.1", "1.1.0", "2.0.0"] {
            r.publish(CrateBuilder::new(&format!("dep{i}"), v).pubtime("2020-06-01T00:00:00Z"));
        }
    }
    let db = bench_dir().join("empty-advisory-db");
    std::fs::create_dir_all(db.join("crates"))?;
    let ours = || {
        let mut c = env.command(&bin, project.path());
        c.args(["update", "--dry-run", "--quiet", "--advisory-db"])
            .arg(&db);
        c
    };
    let anchor = || {
        let mut c = env.cargo(project.path());
        c.args(["update", "--dry-run"]);
        c
    };
    compare(
        &format!(
            "bench update: {n} direct dependencies, loopback sparse registry (target <= 2 s absolute)"
        ),
        runs,
        Side {
            label: "cargo update --dry-run",
            make: &anchor,
            ok_codes: &[0],
        },
        Side {
            label: "cargo slsa update --dry-run",
            make: &ours,
            ok_codes: &[0],
        },
        f64::INFINITY,
    )?;

    let outdated = std::env::var_os("CARGO_OUTDATED")
        .map(PathBuf::from)
        .or_else(|| which("cargo-outdated"));
    let Some(outdated) = outdated else {
        #[allow(clippy::disallowed_macros)] // xtask reports a skipped part
        {
            println!(
                "bench update (real index): SKIPPED — set CARGO_OUTDATED to a cargo-outdated binary"
            );
        }
        return Ok(());
    };
    let ws = service_workspace()?;
    let manifest = ws.join("Cargo.toml");
    let cargo_bin = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let anchor = || {
        let mut c = Command::new(&outdated);
        c.args(["outdated", "--workspace", "--depth", "1", "--manifest-path"])
            .arg(&manifest);
        c
    };
    let ours = || {
        let mut c = Command::new(&bin);
        c.args([
            "update",
            "--dry-run",
            "--breaking",
            "--quiet",
            "--advisory-db",
        ])
        .arg(&db)
        .arg("--manifest-path")
        .arg(&manifest)
        .env("CARGO", &cargo_bin);
        c
    };
    compare(
        &format!(
            "bench update: the service workspace ({} packages in Cargo.lock), the real crates.io index",
            lock_packages(&ws)
        ),
        runs,
        Side {
            label: "cargo outdated --workspace --depth 1",
            make: &anchor,
            ok_codes: &[0],
        },
        Side {
            label: "cargo slsa update --dry-run --breaking",
            make: &ours,
            ok_codes: &[0],
        },
        0.25,
    )
}
