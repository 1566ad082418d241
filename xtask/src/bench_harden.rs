//! `cargo xtask bench harden`: `cargo slsa harden` against zizmor on real workflows, after
//! checking how many of zizmor's findings we report at the same place.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::bench::*;
use crate::root;

pub(crate) const SHARED_AUDITS: &[&str] = &[
    "unpinned-uses",
    "excessive-permissions",
    "dangerous-triggers",
    "template-injection",
    "artipacked",
    "cache-poisoning",
];

/// The workflow corpus: `--corpus DIR`, else the real workflows shipped beside this repository.
pub(crate) fn workflow_corpus(args: &[String]) -> Result<PathBuf> {
    if let Some(i) = args.iter().position(|a| a == "--corpus") {
        return Ok(PathBuf::from(
            args.get(i + 1).context("--corpus needs a directory")?,
        ));
    }
    let shared = root().join("../shared/data/workflows");
    if shared.is_dir() {
        return Ok(shared);
    }
    bail!("no workflow corpus: pass --corpus DIR (a directory of *.yml workflows)")
}

pub(crate) fn zizmor() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("ZIZMOR") {
        return Ok(PathBuf::from(p));
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("zizmor"))
                .find(|p| p.is_file())
        })
        .context("zizmor not found: `pip install zizmor==1.32.0` or set ZIZMOR=/path/to/zizmor")
}

pub(crate) fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            yaml_files(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(p);
        }
    }
    Ok(())
}

pub(crate) fn bench_harden(args: &[String], runs: usize) -> Result<()> {
    let runs = runs.max(3);
    let corpus = workflow_corpus(args)?;
    let zizmor = zizmor()?;
    let bin = release_binary()?;
    let mut all = Vec::new();
    yaml_files(&corpus, &mut all)?;
    all.sort();
    // Files both tools accept (zizmor skips invalid YAML with a warning; we exit 2 on it).
    let mut files = Vec::new();
    let mut ours: std::collections::BTreeSet<(String, String, u64)> = Default::default();
    for f in &all {
        let out = Command::new(&bin)
            .args(["harden", "--format", "json"])
            .arg(f)
            .output()
            .context("running cargo slsa harden")?;
        if !matches!(out.status.code(), Some(0 | 1)) {
            #[allow(clippy::disallowed_macros)]
            {
                println!(
                    "bench harden: skipping {} (not a valid workflow)",
                    f.display()
                );
            }
            continue;
        }
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        for finding in report["findings"].as_array().into_iter().flatten() {
            let code = finding["code"].as_str().unwrap_or("");
            if SHARED_AUDITS.contains(&code) {
                ours.insert((
                    f.display().to_string(),
                    code.to_string(),
                    finding["line"].as_u64().unwrap_or(0),
                ));
            }
        }
        files.push(f.clone());
    }
    let out = Command::new(&zizmor)
        .args(["--offline", "--format", "json", "--no-progress"])
        .args(&files)
        .stderr(Stdio::null())
        .output()
        .context("running zizmor")?;
    let theirs_json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .context("zizmor printed no JSON (is it zizmor 1.x?)")?;
    let mut theirs: std::collections::BTreeSet<(String, String, u64)> = Default::default();
    for f in theirs_json.as_array().into_iter().flatten() {
        let ident = f["ident"].as_str().unwrap_or("");
        if !SHARED_AUDITS.contains(&ident) {
            continue;
        }
        for l in f["locations"].as_array().into_iter().flatten() {
            if l["symbolic"]["kind"] != "Primary" {
                continue;
            }
            let path = l["symbolic"]["key"]["Local"]["given_path"]
                .as_str()
                .or_else(|| l["symbolic"]["key"]["Local"]["verbatim_path"].as_str())
                .unwrap_or("");
            let row = l["concrete"]["location"]["start_point"]["row"]
                .as_u64()
                .unwrap_or(0);
            theirs.insert((path.to_string(), ident.to_string(), row + 1));
        }
    }
    let matched = theirs.intersection(&ours).count();
    let recall = matched as f64 / theirs.len().max(1) as f64;
    #[allow(clippy::disallowed_macros)]
    {
        println!(
            "bench harden: {} workflows; zizmor {} findings of the six shared audits, ours {}, matched by file+code+line {} ({:.1}% of zizmor's; target >= 95%)",
            files.len(),
            theirs.len(),
            ours.len(),
            matched,
            recall * 100.0
        );
        for missed in theirs.difference(&ours).take(20) {
            println!("  missed: {missed:?}");
        }
    }
    if recall < 0.95 {
        bail!(
            "harden matches only {:.1}% of zizmor's findings",
            recall * 100.0
        );
    }
    let anchor = || {
        let mut c = Command::new(&zizmor);
        c.args(["--offline", "--format", "json", "--no-progress"])
            .args(&files);
        c
    };
    let ours_cmd = || {
        let mut c = Command::new(&bin);
        c.args(["harden", "--format", "json"]).args(&files);
        c
    };
    compare(
        &format!("bench harden: {} workflows", files.len()),
        runs,
        Side {
            label: "zizmor --offline",
            make: &anchor,
            ok_codes: &[0, 10, 11, 12, 13, 14],
        },
        Side {
            label: "cargo slsa harden",
            make: &ours_cmd,
            ok_codes: &[0, 1],
        },
        1.0,
    )
}
