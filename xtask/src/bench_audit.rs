//! `cargo xtask bench audit`: `cargo slsa audit` against cargo-audit on the same lockfiles and
//! database, after checking both report the same advisories.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::bench::*;
use crate::root;

/// The advisory database for `bench audit`: `--db PATH`, else the snapshot shipped beside this
/// repository (`../shared/data/advisory-db`) when it exists.
pub(crate) fn advisory_db(args: &[String]) -> Result<PathBuf> {
    if let Some(i) = args.iter().position(|a| a == "--db") {
        return Ok(PathBuf::from(args.get(i + 1).context("--db needs a path")?));
    }
    let shared = root().join("../shared/data/advisory-db");
    if shared.join("crates").is_dir() {
        return Ok(shared);
    }
    bail!("no advisory database: pass --db PATH (a checkout of RustSec/advisory-db)")
}

/// cargo-audit: `$CARGO_AUDIT`, else `cargo-audit` on PATH.
pub(crate) fn cargo_audit() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("CARGO_AUDIT") {
        return Ok(PathBuf::from(p));
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("cargo-audit"))
            .find(|p| p.is_file())
    });
    found.context(
        "cargo-audit not found: `cargo install cargo-audit --locked` or set CARGO_AUDIT=/path/to/cargo-audit",
    )
}

/// A second workspace pinned to versions with known advisories, so the comparison has
/// something to agree on (the service workspace's fresh lock has few).
pub(crate) const VULNERABLE_MANIFEST: &str = r#"[package]
name = "bench-vulnerable"
version = "0.1.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
ansi_term = "0.12"
h2 = "=0.3.20"
time = "=0.1.44"
chrono = "=0.4.19"
hyper = "=0.14.10"
tokio = { version = "=1.18.0", features = ["full"] }
regex = "=1.5.4"
"#;

pub(crate) fn vulnerable_workspace() -> Result<PathBuf> {
    generated_workspace("vulnerable", VULNERABLE_MANIFEST)
}

/// Advisory ids by kind from cargo-audit's JSON: vulnerabilities, then each warning kind.
pub(crate) fn cargo_audit_ids(
    json: &serde_json::Value,
) -> std::collections::BTreeSet<(String, String)> {
    let mut out = std::collections::BTreeSet::new();
    if let Some(list) = json["vulnerabilities"]["list"].as_array() {
        for v in list {
            if let Some(id) = v["advisory"]["id"].as_str() {
                let pkg = format!(
                    "{} {}",
                    v["package"]["name"].as_str().unwrap_or(""),
                    v["package"]["version"].as_str().unwrap_or("")
                );
                out.insert(("vulnerability".to_string(), format!("{id} {pkg}")));
            }
        }
    }
    if let Some(warnings) = json["warnings"].as_object() {
        for (kind, list) in warnings {
            for w in list.as_array().into_iter().flatten() {
                if let Some(id) = w["advisory"]["id"].as_str() {
                    let pkg = format!(
                        "{} {}",
                        w["package"]["name"].as_str().unwrap_or(""),
                        w["package"]["version"].as_str().unwrap_or("")
                    );
                    out.insert((kind.clone(), format!("{id} {pkg}")));
                }
            }
        }
    }
    out
}

pub(crate) fn our_ids(json: &serde_json::Value) -> std::collections::BTreeSet<(String, String)> {
    json["summary"]["advisories"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            Some((
                a["kind"].as_str()?.to_string(),
                format!(
                    "{} {} {}",
                    a["id"].as_str()?,
                    a["package"].as_str()?,
                    a["version"].as_str()?
                ),
            ))
        })
        .collect()
}

pub(crate) fn bench_audit(args: &[String], runs: usize) -> Result<()> {
    let runs = runs.max(3);
    let db = advisory_db(args)?;
    let audit_bin = cargo_audit()?;
    let ws = service_workspace()?;
    let vulnerable = vulnerable_workspace()?;
    let bin = release_binary()?;
    // cargo-audit reads `.cargo/audit.toml` from the working directory: turn its yanked check
    // off, since ours is off under --offline, so both do the same work (lock + database).
    for dir in [&ws, &vulnerable] {
        std::fs::create_dir_all(dir.join(".cargo"))?;
        std::fs::write(dir.join(".cargo/audit.toml"), "[yanked]\nenabled = false\n")?;
    }
    let anchor_in = |dir: &Path, json: bool| {
        let mut c = Command::new(&audit_bin);
        c.current_dir(dir)
            .args(["audit", "--no-fetch", "--db"])
            .arg(&db)
            .args(["--file", "Cargo.lock"]);
        if json {
            c.arg("--json");
        }
        c
    };
    let ours_in = |dir: &Path, json: bool| {
        let mut c = Command::new(&bin);
        c.current_dir(dir)
            .args(["audit", "--offline", "--db"])
            .arg(&db);
        if json {
            c.args(["--format", "json"]);
        }
        c
    };

    // Same findings first: the timing means nothing otherwise.
    for dir in [&ws, &vulnerable] {
        let theirs = anchor_in(dir, true)
            .output()
            .context("running cargo-audit")?;
        let ours = ours_in(dir, true)
            .output()
            .context("running cargo slsa audit")?;
        let theirs: serde_json::Value =
            serde_json::from_slice(&theirs.stdout).with_context(|| {
                format!(
                    "cargo-audit printed no JSON: {}",
                    String::from_utf8_lossy(&theirs.stderr)
                )
            })?;
        let ours: serde_json::Value = serde_json::from_slice(&ours.stdout).with_context(|| {
            format!(
                "cargo slsa audit printed no JSON: {}",
                String::from_utf8_lossy(&ours.stderr)
            )
        })?;
        let (t, o) = (cargo_audit_ids(&theirs), our_ids(&ours));
        #[allow(clippy::disallowed_macros)] // the comparison is the benchmark's output
        {
            println!(
                "bench audit: {}: cargo-audit {} findings, ours {} ({})",
                dir.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
                t.len(),
                o.len(),
                if t == o { "identical" } else { "DIFFERENT" }
            );
        }
        if t != o {
            bail!(
                "findings differ:\n  only cargo-audit: {:?}\n  only ours: {:?}",
                t.difference(&o).collect::<Vec<_>>(),
                o.difference(&t).collect::<Vec<_>>()
            );
        }
    }

    let anchor = || anchor_in(&ws, false);
    let ours = || ours_in(&ws, false);
    compare(
        &format!("bench audit: {} packages in Cargo.lock", lock_packages(&ws)),
        runs,
        Side {
            label: "cargo audit --no-fetch (yanked off)",
            make: &anchor,
            ok_codes: &[0, 1],
        },
        Side {
            label: "cargo slsa audit --offline",
            make: &ours,
            ok_codes: &[0, 1],
        },
        1.0,
    )
}
