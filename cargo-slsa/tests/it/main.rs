//! End-to-end tests: the real `cargo-slsa` binary against the fixture kit (`slsa-tests`, in the
//! repository's top-level `tests/` directory). One integration-test binary for the whole crate,
//! to keep link time down; add new subcommands as modules here.

mod attest;
mod audit;
mod check;
mod cli;
mod harden;
mod hardening;
mod keyless;
mod keyless_trust;
mod lambda;
mod model;
mod pin;
mod review;
mod sbom;
mod tidy;
mod update;
mod vendor;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use slsa_tests::{Env, RunOutput, run};

/// The binary under test.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_cargo-slsa"))
}

/// Run `cargo-slsa ARGS` in `cwd` with the kit's hermetic environment.
pub fn slsa(env: &Env, cwd: &Path, args: &[&str]) -> RunOutput {
    let mut cmd = env.command(bin(), cwd);
    cmd.args(args);
    run(cmd)
}

/// Every file under `dir` (except `target/`) with its bytes, to prove a run wrote nothing or that
/// two runs left identical trees.
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for p in entries {
            let rel = p.strip_prefix(root).expect("under root").to_path_buf();
            if rel == Path::new("target") {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(rel, std::fs::read(&p).expect("read file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// `cargo generate-lockfile` then `cargo fetch` in `project`, so commands can run `--offline`.
pub fn lock_and_fetch(env: &Env, project: &slsa_tests::Project) {
    for step in ["generate-lockfile", "fetch"] {
        let mut c = env.cargo(project.path());
        c.arg(step);
        run(c).assert_success();
    }
}

/// `git ARGS` in `dir` with a fixed identity and date; panics on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = slsa_tests::git_command(dir, "1700000000 +0000")
        .args(args)
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `keygen` into `dir/k`; (private, public) paths.
pub fn keygen(env: &Env, dir: &Path) -> (PathBuf, PathBuf) {
    let prefix = dir.join("k");
    slsa(
        env,
        dir,
        &["keygen", "--output-prefix", prefix.to_str().expect("utf-8")],
    )
    .assert_success();
    (dir.join("k.key"), dir.join("k.pub"))
}

/// Parse stdout as the JSON report.
pub fn json(out: &RunOutput) -> serde_json::Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {out:?}"))
}

/// The `code`s of a JSON report's findings, sorted.
pub fn codes(report: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| f["code"].as_str().expect("code").to_string())
        .collect();
    v.sort();
    v
}
