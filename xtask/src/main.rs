//! `cargo xtask`: the developer workflows CI and laptops share (no shell scripts that drift).
//!
//! - `cargo xtask ci` — fmt check, clippy (deny warnings), the whole test suite, all `--locked`,
//!   then interop.
//! - `cargo xtask docs` — regenerate docs/cli.md from the clap definitions (the test suite fails
//!   while it is out of date).
//! - `cargo xtask interop` — independent validators and verifiers (CycloneDX, SPDX, DSSE,
//!   in-toto, sigstore-python, sigstore-js, workflow linters) check what we emit and ship.
//! - `cargo xtask bench pin|sbom` — against `cargo metadata --locked`; `bench audit` — against
//!   cargo-audit on the same lockfile and database, after checking both find the same
//!   advisories. All on a generated workspace of real registry crates; medians and the ratio.

mod bench;
mod bench_audit;
mod bench_harden;
mod bench_release;
mod bench_review;
mod bench_update;
mod bench_vendor;
mod interop;
mod interop_keyless;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => bench::run(&args[1..]),
        Some("interop") => interop::run(&args[1..]),
        Some("docs") => docs(),
        _ => {
            usage();
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::disallowed_macros)] // xtask's main reports its own failure
            {
                eprintln!("xtask: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

fn usage() {
    #[allow(clippy::disallowed_macros)] // usage text of a developer tool
    {
        eprintln!(
            "usage: cargo xtask ci | docs | interop [--require] | bench pin|sbom|vendor|review|harden|attest|update|lambda [--runs N] | bench audit [--db PATH] [--runs N]"
        );
    }
}

/// The workspace root (xtask lives one level below it).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The cargo that runs us (so the pinned toolchain is used throughout).
pub(crate) fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(program);
    cmd.current_dir(root());
    cmd
}

pub(crate) fn run_step(name: &str, cmd: &mut Command) -> Result<()> {
    #[allow(clippy::disallowed_macros)] // step headers are xtask's output
    {
        eprintln!("==> {name}");
    }
    let status = cmd.status().with_context(|| format!("running {name}"))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok(())
}

fn ci() -> Result<()> {
    run_step(
        "cargo fmt --check",
        cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    run_step(
        "cargo clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    run_step(
        "cargo test",
        cargo().args(["test", "--workspace", "--locked"]),
    )?;
    interop::run(&[])
}

/// Regenerate docs/cli.md: the test that checks it, told to write it.
fn docs() -> Result<()> {
    run_step(
        "docs/cli.md from the clap definitions",
        cargo()
            .args([
                "test",
                "--locked",
                "-p",
                "cargo-slsa",
                "--test",
                "it",
                "tidy::the_cli_reference_is_generated_from_the_clap_definitions",
            ])
            .env("SLSA_UPDATE_DOCS", "1"),
    )
}
