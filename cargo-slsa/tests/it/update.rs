//! `cargo slsa update` against the kit's registry and stateful fake GitHub: the plan (cooldown,
//! MSRV, yanked, pre-releases, breaking, security first, ignore rules, groups), applying it to
//! the work tree, and pull requests (opened, updated in place on a rerun, superseded, limited,
//! rate limits and server errors survived).

use std::process::Command;

use serde_json::Value;
use slsa_tests::github::TOKEN;
use slsa_tests::{Advisory, AdvisoryDb, CrateBuilder, Env, FakeGitHub, Project, RunOutput, run};

use crate::{codes, git, json, slsa, tree};

const OLD: &str = "2020-01-01T00:00:00Z";

fn now_rfc3339() -> String {
    let out = Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

const MANIFEST: &str = r#"[package]
name = "app"
version = "0.1.0"
edition = "2021"
rust-version = "1.80"

[workspace]

[workspace.dependencies]
beta = "0.3" # the workspace's beta

[dependencies]
alpha = "1"
beta = { workspace = true }
gamma = "=0.5.0" # exact, as pin --exact writes
"#;

/// The project, locked at alpha 1.0.0, beta 0.3.0, gamma 0.5.0; then newer versions appear.
fn fixture(extra_manifest: &str) -> (Env, Project) {
    let env = Env::new();
    let r = env.registry();
    r.publish(CrateBuilder::new("delta", "1.0.0").pubtime(OLD));
    r.publish(
        CrateBuilder::new("alpha", "1.0.0")
            .pubtime(OLD)
            .dep("delta", "1"),
    );
    r.publish(CrateBuilder::new("beta", "0.3.0").pubtime(OLD));
    r.publish(CrateBuilder::new("gamma", "0.5.0").pubtime(OLD));
    let project = Project::new()
        .file("Cargo.toml", format!("{MANIFEST}{extra_manifest}"))
        .file("src/main.rs", "fn main() {}\n")
        .file(".gitignore", "/target\n")
        .build();
    crate::lock_and_fetch(&env, &project);
    let fresh = now_rfc3339();
    // alpha 1.1.0 brings a new crate that runs code at build time.
    r.publish(
        CrateBuilder::new("epsilon", "1.0.0")
            .pubtime(OLD)
            .file("build.rs", "fn main() {}\n"),
    );
    r.publish(
        CrateBuilder::new("alpha", "1.1.0")
            .pubtime(OLD)
            .dep("delta", "1")
            .dep("epsilon", "1"),
    );
    r.publish(
        CrateBuilder::new("alpha", "1.1.5")
            .pubtime(OLD)
            .rust_version("1.99"),
    );
    r.publish(CrateBuilder::new("alpha", "1.2.0").pubtime(&fresh));
    r.publish(
        CrateBuilder::new("alpha", "1.3.0")
            .pubtime(OLD)
            .yanked(true),
    );
    r.publish(CrateBuilder::new("alpha", "1.4.0-beta.1").pubtime(OLD));
    r.publish(CrateBuilder::new("alpha", "2.0.0").pubtime(OLD));
    r.publish(CrateBuilder::new("beta", "0.3.4").pubtime(OLD));
    r.publish(CrateBuilder::new("beta", "0.4.0").pubtime(OLD));
    // Inherited through [workspace.dependencies] by a package with rust-version 1.80.
    r.publish(
        CrateBuilder::new("beta", "0.3.9")
            .pubtime(OLD)
            .rust_version("1.99"),
    );
    // Fresh: the cooldown holds it back even where a requirement is raised.
    r.publish(CrateBuilder::new("beta", "0.4.1").pubtime(&fresh));
    r.publish(CrateBuilder::new("gamma", "0.5.1").pubtime(OLD));
    // Only ever a transitive dependency (through alpha).
    r.publish(CrateBuilder::new("delta", "1.0.3").pubtime(OLD));
    r.publish(CrateBuilder::new("delta", "1.0.4").pubtime(&fresh));
    (env, project)
}

fn plan(env: &Env, project: &Project, extra: &[&str]) -> Value {
    let empty = tempfile::tempdir().expect("tmp");
    // An empty advisory database: no security data, and nothing fetched.
    std::fs::create_dir_all(empty.path().join("crates")).expect("db dir");
    let db = empty.path().to_str().expect("utf-8").to_string();
    let mut args = vec![
        "update",
        "--dry-run",
        "--format",
        "json",
        "--advisory-db",
        &db,
    ];
    args.extend_from_slice(extra);
    json(&slsa(env, project.path(), &args).assert_success())
}

fn updates(report: &Value) -> Vec<(String, String, String, String)> {
    report["summary"]["updates"]
        .as_array()
        .expect("updates")
        .iter()
        .map(|u| {
            (
                u["name"].as_str().expect("name").to_string(),
                u["from"].as_str().expect("from").to_string(),
                u["to"].as_str().expect("to").to_string(),
                u["kind"].as_str().expect("kind").to_string(),
            )
        })
        .collect()
}

fn u(n: &str, f: &str, t: &str, k: &str) -> (String, String, String, String) {
    (n.into(), f.into(), t.into(), k.into())
}

#[test]
fn the_plan_respects_cooldown_msrv_yanks_prereleases_and_semver() {
    let (env, project) = fixture("");
    let before = tree(project.path());
    let report = plan(&env, &project, &[]);
    assert_eq!(
        updates(&report),
        [
            u("alpha", "1.0.0", "1.1.0", "minor"),
            u("beta", "0.3.0", "0.3.4", "patch"),
            u("gamma", "0.5.0", "0.5.1", "patch"),
        ],
        "{report}"
    );
    let skipped = &report["summary"]["skipped"];
    assert_eq!(skipped["cooldown"], 1, "alpha 1.2.0 ({report})");
    assert_eq!(
        skipped["msrv"], 2,
        "alpha 1.1.5 and the inherited beta 0.3.9"
    );
    assert_eq!(skipped["yanked"], 1);
    assert_eq!(skipped["prerelease"], 1);
    assert_eq!(report["summary"]["updates"][0]["published"], OLD);
    assert_eq!(tree(project.path()), before, "--dry-run writes nothing");
    // Every held-back version is explained: which rule, and for the cooldown until when.
    let held = report["summary"]["heldBack"].as_array().expect("heldBack");
    let alpha_120 = held
        .iter()
        .find(|h| h["name"] == "alpha" && h["version"] == "1.2.0")
        .expect("alpha 1.2.0 held back");
    assert!(
        alpha_120["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("in the cooldown until 20")),
        "{alpha_120}"
    );
    assert!(
        held.iter().any(|h| h["name"] == "beta"
            && h["reason"]
                .as_str()
                .is_some_and(|r| r.contains("needs Rust"))),
        "{held:?}"
    );
    // And in the human output.
    let empty = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(empty.path().join("crates")).expect("db dir");
    let out = slsa(
        &env,
        project.path(),
        &[
            "update",
            "--dry-run",
            "--advisory-db",
            empty.path().to_str().expect("utf-8"),
        ],
    );
    assert!(
        out.stdout.contains("held back: alpha 1.2.0") && out.stdout.contains("cooldown until"),
        "{out:?}"
    );

    // --breaking: 0.3 -> 0.4 is breaking by cargo's rule.
    let report = plan(&env, &project, &["--breaking"]);
    assert_eq!(
        updates(&report),
        [
            u("alpha", "1.0.0", "2.0.0", "major"),
            u("beta", "0.3.0", "0.4.0", "major"),
            u("gamma", "0.5.0", "0.5.1", "patch"),
        ]
    );
    // The index answers were cached in cargo's cache with their ETags: asked again, the
    // registry can say "not modified".
    env.registry().clear_requests();
    plan(&env, &project, &[]);
    let index_answers: Vec<u16> = env
        .registry()
        .request_log()
        .iter()
        .filter(|r| r.path.starts_with("/index/") && !r.path.ends_with("config.json"))
        .map(|r| r.status)
        .collect();
    assert!(
        !index_answers.is_empty() && index_answers.iter().all(|s| *s == 304),
        "{index_answers:?}"
    );

    // --min-age 0: the fresh 1.2.0 is fine.
    let report = plan(&env, &project, &["--min-age", "0"]);
    assert_eq!(updates(&report)[0], u("alpha", "1.0.0", "1.2.0", "minor"));
}

#[test]
fn security_fixes_come_first_even_inside_the_cooldown() {
    let (env, project) = fixture("");
    let db = AdvisoryDb::new(&[Advisory::new("RUSTSEC-2099-0001", "alpha").patched(">= 1.2.0")]);
    let out = slsa(
        &env,
        project.path(),
        &[
            "update",
            "--dry-run",
            "--format",
            "json",
            "--advisory-db",
            db.path().to_str().expect("utf-8"),
        ],
    )
    .assert_success();
    let report = json(&out);
    let alpha = &report["summary"]["updates"][0];
    assert_eq!(alpha["to"], "1.2.0", "{report}");
    assert_eq!(alpha["security"], serde_json::json!(["RUSTSEC-2099-0001"]));
    assert_eq!(codes(&report), ["security-update"]);
    assert_eq!(
        report["findings"][0]["line"], 13,
        "alpha's line in Cargo.toml"
    );
}

#[test]
fn without_an_advisory_database_it_says_so_once_and_goes_on() {
    let (env, project) = fixture("");
    let out = slsa(
        &env,
        project.path(),
        &["update", "--dry-run", "--offline", "--format", "json"],
    );
    // Offline: the index comes from cargo's cache (filled when the project was locked), so the
    // newer versions are unknown; the advisory database is not there.
    let report = json(&out.assert_success());
    let notes = report["summary"]["messages"].to_string();
    assert!(notes.contains("no security data"), "{report}");
}

#[test]
fn applying_moves_the_lock_and_raises_only_what_must_change() {
    let (env, project) = fixture("");
    let empty = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(empty.path().join("crates")).expect("db");
    let db = empty.path().to_str().expect("utf-8");
    // Applied, then --check-cmd runs in the workspace and fails: exit 1 with the reason (the
    // changes stay for inspection).
    let out = slsa(
        &env,
        project.path(),
        &[
            "update",
            "--advisory-db",
            db,
            "--check-cmd",
            "grep -q 'version = \"1.1.0\"' Cargo.lock && exit 3",
            "--format",
            "json",
        ],
    )
    .assert_code(1);
    assert_eq!(codes(&json(&out)), ["check-failed"]);
    let locked: Vec<(String, String)> = project
        .lock()
        .into_iter()
        .map(|p| (p.name, p.version))
        .collect();
    for want in [("alpha", "1.1.0"), ("beta", "0.3.4"), ("gamma", "0.5.1")] {
        assert!(
            locked.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} in {locked:?}"
        );
    }
    let manifest = project.read("Cargo.toml");
    assert!(
        manifest.contains("alpha = \"1\"\n"),
        "compatible: lock only\n{manifest}"
    );
    assert!(manifest.contains("beta = \"0.3\" # the workspace's beta"));
    assert!(
        manifest.contains("gamma = \"=0.5.1\" # exact, as pin --exact writes"),
        "an exact pin is raised, keeping its comment\n{manifest}"
    );
    // The lock still resolves as it is.
    let mut c = env.cargo(project.path());
    c.args(["metadata", "--locked", "--format-version", "1"]);
    run(c).assert_success();

    // Breaking: the workspace requirement is raised in place.
    let out = slsa(
        &env,
        project.path(),
        &[
            "update",
            "--breaking",
            "--advisory-db",
            db,
            "--format",
            "json",
        ],
    )
    .assert_success();
    assert!(codes(&json(&out)).is_empty(), "{}", out.stdout);
    let manifest = project.read("Cargo.toml");
    assert!(
        manifest.contains("beta = \"0.4.0\" # the workspace's beta"),
        "{manifest}"
    );
    let locked: Vec<(String, String)> = project
        .lock()
        .into_iter()
        .map(|p| (p.name, p.version))
        .collect();
    assert!(
        locked.contains(&("beta".to_string(), "0.4.0".to_string())),
        "0.4.0, not the fresh 0.4.1: {locked:?}"
    );
    assert!(manifest.contains("alpha = \"2.0.0\""), "{manifest}");
}

#[test]
fn ignore_rules_and_groups_come_from_configuration() {
    let (env, project) = fixture(
        "\n[workspace.metadata.slsa.update]\nignore = [{ name = \"alpha\", update-types = [\"major\"], reason = \"2.x needs a migration\" }]\ngroups = [{ name = \"small\", patterns = [\"beta\", \"gam*\"] }]\n",
    );
    let report = plan(&env, &project, &["--breaking"]);
    let list = report["summary"]["updates"].as_array().expect("updates");
    assert_eq!(
        list[0]["to"], "1.1.0",
        "major ignored, minor still proposed"
    );
    assert_eq!(list[0]["group"], "alpha");
    assert_eq!(list[1]["group"], "small");
    assert_eq!(list[2]["group"], "small");
    assert_eq!(report["summary"]["skipped"]["ignored"], 1);

    // A malformed rule is an input error at its line.
    project.write(
        "Cargo.toml",
        format!(
            "{MANIFEST}\n[workspace.metadata.slsa.update]\nignore = [{{ name = \"alpha\", until = \"soon\" }}]\n"
        ),
    );
    let out = slsa(&env, project.path(), &["update", "--dry-run"]).assert_code(2);
    assert!(out.stderr.contains("Cargo.toml:18"), "{out:?}");
}

struct Prs {
    env: Env,
    project: Project,
    gh: FakeGitHub,
    db: tempfile::TempDir,
}

fn prs() -> Prs {
    let (env, project) = fixture("");
    git(project.path(), &["init", "-q"]);
    git(project.path(), &["add", "-A"]);
    git(project.path(), &["commit", "-qm", "app"]);
    let gh = FakeGitHub::start();
    let files: Vec<(String, String)> = ["Cargo.toml", "Cargo.lock", "src/main.rs", ".gitignore"]
        .iter()
        .map(|f| (f.to_string(), project.read(f)))
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(project.path())
        .output()
        .expect("git");
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    gh.repo_at("acme", "app", "main", Some(&head), &refs);
    let db = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(db.path().join("crates")).expect("db");
    Prs {
        env,
        project,
        gh,
        db,
    }
}

impl Prs {
    fn run(&self, extra: &[&str]) -> RunOutput {
        self.run_with_base(Some("main"), extra)
    }

    /// `update --open-pr`, with `--base BASE` or, without, the repository's default branch.
    fn run_with_base(&self, base: Option<&str>, extra: &[&str]) -> RunOutput {
        let mut cmd = self.env.command(crate::bin(), self.project.path());
        cmd.args(["update", "--open-pr", "--repo", "acme/app"]);
        if let Some(b) = base {
            cmd.args(["--base", b]);
        }
        cmd.args([
            "--github-api-url",
            &self.gh.url(),
            "--advisory-db",
            self.db.path().to_str().expect("utf-8"),
            "--format",
            "json",
        ])
        .args(extra)
        .env("GITHUB_TOKEN", TOKEN);
        run(cmd)
    }
}

#[test]
fn without_base_the_pull_requests_target_the_default_branch() {
    // A scheduled workflow's event carries no default branch: the API is asked for it.
    let p = prs();
    let out = p.run_with_base(None, &["--group", "all"]).assert_success();
    let pulls = p.gh.pulls("acme", "app");
    assert!(!pulls.is_empty(), "{out:?}");
    assert!(pulls.iter().all(|pr| pr.base == "main"), "{pulls:?}");
    assert!(
        p.gh.requests()
            .iter()
            .any(|r| r.method == "GET" && r.path == "/repos/acme/app"),
        "the default branch was asked of the API"
    );
}

#[test]
fn pull_requests_are_opened_updated_in_place_and_superseded() {
    let p = prs();
    p.env
        .registry()
        .set_repository("alpha", "https://github.com/acme/alpha");
    let before = tree(p.project.path());
    let out = p.run(&["--group", "all"]).assert_success();
    // Links from the registry's web API, asked at most once a second, identifying ourselves.
    let api: Vec<_> = p
        .env
        .registry()
        .request_log()
        .into_iter()
        // (The crate endpoint; the review asks the version endpoint for publishers.)
        .filter(|r| {
            r.path
                .strip_prefix("/api/v1/crates/")
                .is_some_and(|rest| !rest.contains('/'))
        })
        .collect();
    assert_eq!(api.len(), 3, "{api:?}");
    for pair in api.windows(2) {
        assert!(
            pair[1].at.duration_since(pair[0].at) >= std::time::Duration::from_millis(990),
            "1 request per second"
        );
    }
    assert!(
        api.iter().all(|r| r
            .user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with("cargo-slsa/"))),
        "{api:?}"
    );
    assert!(!out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN));
    assert_eq!(tree(p.project.path()), before, "the work tree is untouched");
    let pulls = p.gh.pulls("acme", "app");
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    let pr = &pulls[0];
    assert_eq!(pr.title, "Bump the all group with 3 updates");
    assert_eq!(pr.head, "cargo-slsa/all");
    assert_eq!(pr.labels, ["dependencies", "rust"]);
    assert!(
        pr.body
            .contains("| [alpha](https://crates.io/crates/alpha) | 1.0.0 | 1.1.0 | minor |"),
        "{}",
        pr.body
    );
    assert!(pr.body.contains("Supply-chain diff"), "{}", pr.body);
    assert!(
        pr.body.contains("[repository](https://github.com/acme/alpha), [releases](https://github.com/acme/alpha/releases), [compare v1.0.0...v1.1.0](https://github.com/acme/alpha/compare/v1.0.0...v1.1.0)"),
        "{}",
        pr.body
    );
    assert!(pr.body.contains("`alpha 1.1.0` sha256 `"), "{}", pr.body);
    assert!(pr.body.contains("`epsilon 1.0.0` sha256 `"), "{}", pr.body);
    assert!(
        pr.body.contains("- `epsilon 1.0.0`: build script"),
        "{}",
        pr.body
    );
    assert!(
        pr.body.contains("Removed from Cargo.lock"),
        "alpha 1.0.0 and friends: {}",
        pr.body
    );
    // The review of the change: a row per crate, the signals folded below.
    assert!(
        pr.body
            .contains("### What the update changes in the crates"),
        "{}",
        pr.body
    );
    assert!(
        pr.body.contains(
            "| `epsilon` | new, 1.0.0 | 3/0/0 | 7/0 | `build-script-added`, `new-dependency` |"
        ),
        "{}",
        pr.body
    );
    assert!(
        pr.body.contains("| `gamma` | 0.5.0 → 0.5.1 | 0/0/1 |"),
        "{}",
        pr.body
    );
    assert!(
        pr.body.contains("- `build-script-added` build.rs:1"),
        "{}",
        pr.body
    );
    assert!(!pr.body.contains(TOKEN));
    let lock =
        p.gh.file("acme", "app", "cargo-slsa/all", "Cargo.lock")
            .expect("lock on the branch");
    assert!(
        lock.contains("name = \"alpha\"\nversion = \"1.1.0\""),
        "{lock}"
    );
    let manifest =
        p.gh.file("acme", "app", "cargo-slsa/all", "Cargo.toml")
            .expect("manifest");
    assert!(
        manifest.contains("gamma = \"=0.5.1\" # exact"),
        "{manifest}"
    );
    let first_head = p.gh.head("acme", "app", "cargo-slsa/all");

    // A rerun (say alpha 1.1.1 appeared) updates the same pull request.
    p.env
        .registry()
        .publish(CrateBuilder::new("alpha", "1.1.1").pubtime(OLD));
    let out = p.run(&["--group", "all"]).assert_success();
    let report = json(&out);
    assert_eq!(
        report["summary"]["pullRequests"][0]["action"], "updated",
        "{report}"
    );
    let pulls = p.gh.pulls("acme", "app");
    assert_eq!(pulls.len(), 1, "no duplicate");
    assert_ne!(
        p.gh.head("acme", "app", "cargo-slsa/all"),
        first_head,
        "branch moved"
    );
    assert!(pulls[0].body.contains("1.1.1"), "{}", pulls[0].body);

    // Per-crate pull requests now: the group's is superseded and closed with a comment.
    let out = p.run(&["--group", "none"]).assert_success();
    let pulls = p.gh.pulls("acme", "app");
    assert_eq!(pulls.len(), 4, "{pulls:?}\n{}", out.stdout);
    assert_eq!(pulls[0].state, "closed");
    assert!(pulls[0].comments[0].contains("Superseded"));
    let titles: Vec<&str> = pulls[1..].iter().map(|p| p.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Bump alpha from 1.0.0 to 1.1.1",
            "Bump beta from 0.3.0 to 0.3.4",
            "Bump gamma from 0.5.0 to 0.5.1"
        ]
    );
}

#[test]
fn an_update_with_a_denied_signal_is_held_back_with_why() {
    let p = prs();
    // A misspelt code is refused rather than holding nothing back.
    let out = p
        .run(&["--group", "all", "--deny-signal", "process-spawning"])
        .assert_code(2);
    assert!(out.stderr.contains("process-spawning"), "{}", out.stderr);
    assert!(p.gh.pulls("acme", "app").is_empty());
    // alpha 1.1.0 brings epsilon, which has a build script: its group is held back; the
    // others (one pull request each) are opened.
    let out = p
        .run(&["--group", "none", "--deny-signal", "build-script-added"])
        .assert_success();
    let report = json(&out);
    let titles: Vec<String> =
        p.gh.pulls("acme", "app")
            .iter()
            .map(|pr| pr.title.clone())
            .collect();
    assert_eq!(
        titles,
        [
            "Bump beta from 0.3.0 to 0.3.4",
            "Bump gamma from 0.5.0 to 0.5.1"
        ],
        "{report:#}"
    );
    let held = report["summary"]["pullRequests"]
        .as_array()
        .expect("pull requests")
        .iter()
        .find(|r| r["action"] == "held-back")
        .expect("a held-back entry")
        .clone();
    assert_eq!(held["branch"], "cargo-slsa/alpha");
    assert!(
        held["why"][0]
            .as_str()
            .is_some_and(|w| w.contains("epsilon 1.0.0: `build-script-added` at build.rs:1")),
        "{held}"
    );
    assert!(
        out.stdout.contains("held back by deny-signals"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_open_pull_request_limit_holds_and_api_faults_are_retried() {
    let p = prs();
    // A secondary rate limit, then five server errors in a row: retried at once, then with
    // growing pauses.
    p.gh.fail_next(429, Some(1));
    for _ in 0..5 {
        p.gh.fail_next(502, None);
    }
    let out = p.run(&["--group", "none", "--limit", "2"]).assert_success();
    let base_ref_gets =
        p.gh.requests()
            .iter()
            .filter(|r| r.path == "/repos/acme/app/git/ref/heads/main")
            .count();
    assert_eq!(base_ref_gets, 7, "six faults, then the answer");
    let pulls = p.gh.pulls("acme", "app");
    assert_eq!(pulls.len(), 2, "limit 2");
    assert!(out.stdout.contains("limit 2"), "{}", out.stdout);

    // No token: a usage error that says what to use, nothing opened.
    let mut cmd = p.env.command(crate::bin(), p.project.path());
    cmd.args([
        "update",
        "--open-pr",
        "--repo",
        "acme/app",
        "--base",
        "main",
        "--github-api-url",
        &p.gh.url(),
    ]);
    let out = run(cmd).assert_code(2);
    assert!(out.stderr.contains("GITHUB_TOKEN"), "{out:?}");
    assert!(out.stderr.contains("GitHub App"), "{out:?}");
}

#[test]
fn a_run_that_fails_half_way_is_completed_by_the_next() {
    let p = prs();
    // Creating the pull request fails (after the branch was made).
    p.gh.route(
        "POST",
        "/repos/acme/app/pulls",
        422,
        serde_json::json!({"message": "Validation Failed"}),
    );
    let out = p.run(&["--group", "all"]).assert_code(2);
    assert!(out.stderr.contains("422"), "{out:?}");
    assert!(
        p.gh.head("acme", "app", "cargo-slsa/all").is_some(),
        "the branch was made"
    );
    assert!(p.gh.pulls("acme", "app").is_empty());
    p.gh.unroute("POST", "/repos/acme/app/pulls");
    p.run(&["--group", "all"]).assert_success();
    let pulls = p.gh.pulls("acme", "app");
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0].head, "cargo-slsa/all");
}

#[test]
fn forks_and_incomplete_plans_are_left_alone_and_the_checkout_must_be_the_base() {
    let p = prs();
    // A contributor's pull request from a fork, on a branch named like ours.
    p.gh.fork_pull("acme", "app", "someone", "cargo-slsa/all", "main");
    p.run(&["--group", "all"]).assert_success();
    let pulls = p.gh.pulls("acme", "app");
    assert_eq!(pulls.len(), 2, "{pulls:?}");
    assert_eq!(
        pulls[0].title, "a contributor's change",
        "the fork's PR is untouched"
    );
    assert_eq!(pulls[0].state, "open");
    assert_eq!(pulls[1].head_repo, "acme/app");

    // The index cannot answer for one crate: nothing is closed on that evidence.
    p.env
        .registry()
        .replace(CrateBuilder::new("gamma", "0.5.1").pubtime(OLD));
    let mut cmd = p.env.command(crate::bin(), p.project.path());
    cmd.args([
        "update",
        "--open-pr",
        "--repo",
        "acme/app",
        "--base",
        "main",
        "--github-api-url",
        &p.gh.url(),
        "--group",
        "none",
        "--format",
        "json",
    ])
    .env("GITHUB_TOKEN", TOKEN);
    // (No --advisory-db, and the kit's CARGO_HOME has none: security data is missing.)
    let out = run(cmd).assert_success();
    assert!(
        out.stdout.contains("no update pull request was closed"),
        "{}",
        out.stdout
    );
    assert!(
        p.gh.pulls("acme", "app")
            .iter()
            .all(|pr| pr.state == "open"),
        "nothing closed"
    );

    // A checkout that is not the base branch's head is refused.
    p.project
        .write("src/main.rs", "fn main() { println!(); }\n");
    git(p.project.path(), &["commit", "-qam", "local work"]);
    let out = p.run(&["--group", "all"]).assert_code(2);
    assert!(out.stderr.contains("check out main"), "{out:?}");
}

#[test]
fn a_lockfile_refresh_covers_transitive_crates_within_the_requirements() {
    let (env, project) = fixture("");
    let report = plan(&env, &project, &["--lockfile"]);
    let list = updates(&report);
    assert_eq!(
        list,
        [
            u("alpha", "1.0.0", "1.1.0", "minor"),
            u("beta", "0.3.0", "0.3.4", "patch"),
            u("delta", "1.0.0", "1.0.3", "patch"),
        ],
        "gamma is pinned with =0.5.0, which a refresh does not change; delta 1.0.4 is too new\n{report}"
    );
    assert_eq!(report["summary"]["updates"][2]["group"], "lockfile");
    assert_eq!(report["summary"]["skipped"]["requirement"], 1, "{report}");

    let empty = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(empty.path().join("crates")).expect("db");
    let before = project.read("Cargo.toml");
    slsa(
        &env,
        project.path(),
        &[
            "update",
            "--lockfile",
            "--advisory-db",
            empty.path().to_str().expect("utf-8"),
        ],
    )
    .assert_success();
    assert_eq!(project.read("Cargo.toml"), before, "no requirement changes");
    let locked: Vec<(String, String)> = project
        .lock()
        .into_iter()
        .map(|p| (p.name, p.version))
        .collect();
    for want in [
        ("alpha", "1.1.0"),
        ("beta", "0.3.4"),
        ("delta", "1.0.3"),
        ("gamma", "0.5.0"),
    ] {
        assert!(
            locked.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} in {locked:?}"
        );
    }
}

#[test]
fn git_dependencies_move_to_newer_release_tags() {
    use slsa_tests::GitRemote;
    let env = Env::new();
    let version = |v: &str, name: &str| {
        format!("[package]\nname = \"{name}\"\nversion = \"{v}\"\nedition = \"2021\"\n")
    };
    let tagged = GitRemote::crate_repo(env.scratch(), "tagged", "0.1.0");
    tagged.annotated_tag("v0.1.0", "0.1.0");
    tagged.commit(&[("Cargo.toml", &version("0.1.2", "tagged"))], "0.1.2");
    tagged.tag("v0.1.2");
    tagged.commit(&[("Cargo.toml", &version("0.2.0", "tagged"))], "0.2.0");
    tagged.tag("v0.2.0");
    let pinned = GitRemote::crate_repo(env.scratch(), "pinned", "1.0.0");
    pinned.tag("v1.0.0");
    let v1 = pinned.head();
    let v11 = pinned.commit(&[("Cargo.toml", &version("1.1.0", "pinned"))], "1.1.0");
    pinned.tag("v1.1.0");
    let project = Project::new()
        .file(
            "Cargo.toml",
            format!(
                "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n\
                 [dependencies]\ntagged = {{ git = \"{}\", tag = \"v0.1.0\" }} # a release tag\n\
                 pinned = {{ git = \"{}\", rev = \"{v1}\" }}\n",
                tagged.url(),
                pinned.url()
            ),
        )
        .file("src/main.rs", "fn main() {}\n")
        .build();
    crate::lock_and_fetch(&env, &project);
    let report = plan(&env, &project, &[]);
    let list = report["summary"]["updates"].as_array().expect("updates");
    assert_eq!(list.len(), 2, "{report}");
    let by_name = |n: &str| {
        list.iter()
            .find(|u| u["name"] == n)
            .unwrap_or_else(|| panic!("{n} in {report}"))
    };
    assert_eq!(by_name("tagged")["git"]["to"], "v0.1.2");
    assert_eq!(by_name("tagged")["kind"], "patch");
    assert_eq!(by_name("pinned")["git"]["key"], "rev");
    assert_eq!(by_name("pinned")["git"]["to"], v11.as_str());
    let report = plan(&env, &project, &["--breaking"]);
    let tagged_to = report["summary"]["updates"]
        .as_array()
        .expect("updates")
        .iter()
        .find(|u| u["name"] == "tagged")
        .map(|u| u["git"]["to"].clone());
    assert_eq!(tagged_to, Some(serde_json::json!("v0.2.0")));

    let empty = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(empty.path().join("crates")).expect("db");
    slsa(
        &env,
        project.path(),
        &[
            "update",
            "--advisory-db",
            empty.path().to_str().expect("utf-8"),
        ],
    )
    .assert_success();
    let manifest = project.read("Cargo.toml");
    assert!(
        manifest.contains("tag = \"v0.1.2\" } # a release tag"),
        "{manifest}"
    );
    assert!(manifest.contains(&format!("rev = \"{v11}\"")), "{manifest}");
    let lock = project.read("Cargo.lock");
    assert!(lock.contains("?tag=v0.1.2#"), "{lock}");
    assert!(lock.contains(&format!("?rev={v11}#{v11}")), "{lock}");
}

#[test]
fn several_workspaces_in_one_repository_each_get_their_own_pull_requests() {
    let (env, project) = fixture("");
    project.write(
        "tools/Cargo.toml",
        "[package]\nname = \"tool\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n[dependencies]\ngamma = \"0.5\"\n",
    );
    project.write("tools/src/main.rs", "fn main() {}\n");
    // Lock tools at gamma 0.5.0 (0.5.1 exists by now: pin it back).
    let mut c = env.cargo(project.path());
    c.args(["generate-lockfile", "--manifest-path", "tools/Cargo.toml"]);
    run(c).assert_success();
    let mut c = env.cargo(project.path());
    c.args([
        "update",
        "--manifest-path",
        "tools/Cargo.toml",
        "-p",
        "gamma",
        "--precise",
        "0.5.0",
    ]);
    run(c).assert_success();
    git(project.path(), &["init", "-q"]);
    git(project.path(), &["add", "-A"]);
    git(project.path(), &["commit", "-qm", "two workspaces"]);

    let report = plan(&env, &project, &["--all-workspaces"]);
    let list = report["summary"]["updates"].as_array().expect("updates");
    let tool: Vec<&Value> = list
        .iter()
        .filter(|u| {
            u["workspace"]
                .as_str()
                .is_some_and(|w| w.ends_with("tools/Cargo.toml"))
        })
        .collect();
    assert_eq!(tool.len(), 1, "{report}");
    assert_eq!(tool[0]["name"], "gamma");
    assert_eq!(
        list.len(),
        4,
        "3 in the root workspace, 1 in tools: {report}"
    );

    // Pull requests: each workspace on its own branches; one workspace's run leaves the
    // other's alone.
    let gh = FakeGitHub::start();
    let files: Vec<(String, String)> = [
        "Cargo.toml",
        "Cargo.lock",
        "src/main.rs",
        ".gitignore",
        "tools/Cargo.toml",
        "tools/Cargo.lock",
        "tools/src/main.rs",
    ]
    .iter()
    .map(|f| (f.to_string(), project.read(f)))
    .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(project.path())
        .output()
        .expect("git");
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    gh.repo_at("acme", "app", "main", Some(&head), &refs);
    let db = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(db.path().join("crates")).expect("db");
    let pr_run = |extra: &[&str]| {
        let mut cmd = env.command(crate::bin(), project.path());
        cmd.args([
            "update",
            "--open-pr",
            "--repo",
            "acme/app",
            "--base",
            "main",
            "--github-api-url",
            &gh.url(),
            "--advisory-db",
            db.path().to_str().expect("utf-8"),
            "--group",
            "all",
        ])
        .args(extra)
        .env("GITHUB_TOKEN", TOKEN);
        run(cmd)
    };
    pr_run(&["--all-workspaces"]).assert_success();
    let heads: Vec<String> = gh
        .pulls("acme", "app")
        .iter()
        .map(|p| p.head.clone())
        .collect();
    assert_eq!(heads, ["cargo-slsa/all", "cargo-slsa/tools/all"]);
    let tool_lock = gh
        .file("acme", "app", "cargo-slsa/tools/all", "tools/Cargo.lock")
        .expect("tools lock on its branch");
    assert!(
        tool_lock.contains("name = \"gamma\"\nversion = \"0.5.1\""),
        "{tool_lock}"
    );
    // Only the root workspace now: the tools pull request stays open.
    pr_run(&["--manifest-path", "Cargo.toml"]).assert_success();
    assert!(gh.pulls("acme", "app").iter().all(|p| p.state == "open"));
}

#[test]
fn crates_from_a_named_registry_are_asked_of_that_registry() {
    let env = Env::new();
    let private = slsa_tests::Registry::start();
    env.cargo_home().append_config(&format!(
        "[registries.private]\nindex = \"{}\"\n",
        private.index_url()
    ));
    private.publish(CrateBuilder::new("secret", "1.0.0").pubtime(OLD));
    env.registry()
        .publish(CrateBuilder::new("public", "1.0.0").pubtime(OLD));
    let project = Project::new()
        .file(
            "Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n\
             [dependencies]\npublic = \"1\"\nsecret = { version = \"1\", registry = \"private\" }\n",
        )
        .file("src/main.rs", "fn main() {}\n")
        .build();
    crate::lock_and_fetch(&env, &project);
    private.publish(CrateBuilder::new("secret", "1.1.0").pubtime(OLD));
    // The same name in the default registry must not be confused with it.
    env.registry()
        .publish(CrateBuilder::new("secret", "9.0.0").pubtime(OLD));
    env.registry()
        .publish(CrateBuilder::new("public", "1.0.1").pubtime(OLD));
    let report = plan(&env, &project, &[]);
    assert_eq!(
        updates(&report),
        [
            u("public", "1.0.0", "1.0.1", "patch"),
            u("secret", "1.0.0", "1.1.0", "minor"),
        ],
        "{report}"
    );
    let empty = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(empty.path().join("crates")).expect("db");
    slsa(
        &env,
        project.path(),
        &[
            "update",
            "--advisory-db",
            empty.path().to_str().expect("utf-8"),
        ],
    )
    .assert_success();
    let locked: Vec<(String, String)> = project
        .lock()
        .into_iter()
        .map(|p| (p.name, p.version))
        .collect();
    assert!(
        locked.contains(&("secret".to_string(), "1.1.0".to_string())),
        "{locked:?}"
    );
}

#[test]
fn renamed_and_target_specific_requirements_are_raised_in_place() {
    let env = Env::new();
    env.registry()
        .publish(CrateBuilder::new("alpha", "1.0.0").pubtime(OLD));
    let project = Project::new()
        .file(
            "Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n\
             [target.'cfg(unix)'.dependencies]\nal = { package = \"alpha\", version = \"=1.0.0\" } # renamed\n",
        )
        .file("src/main.rs", "fn main() {}\n")
        .build();
    crate::lock_and_fetch(&env, &project);
    env.registry()
        .publish(CrateBuilder::new("alpha", "1.0.5").pubtime(OLD));
    let empty = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(empty.path().join("crates")).expect("db");
    slsa(
        &env,
        project.path(),
        &[
            "update",
            "--advisory-db",
            empty.path().to_str().expect("utf-8"),
        ],
    )
    .assert_success();
    let manifest = project.read("Cargo.toml");
    assert!(
        manifest.contains("al = { package = \"alpha\", version = \"=1.0.5\" } # renamed"),
        "{manifest}"
    );
    assert!(
        project
            .read("Cargo.lock")
            .contains("name = \"alpha\"\nversion = \"1.0.5\"")
    );
}

#[test]
fn the_workspace_rust_version_binds_only_members_that_inherit_it() {
    let env = Env::new();
    let r = env.registry();
    r.publish(CrateBuilder::new("beta", "0.3.0").pubtime(OLD));
    let root = "[workspace]\nmembers = [\"m\"]\nresolver = \"2\"\n\n[workspace.package]\nrust-version = \"1.80\"\n\n[workspace.dependencies]\nbeta = \"0.3\"\n";
    let member = |rv: &str| {
        format!(
            "[package]\nname = \"m\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{rv}\n[dependencies]\nbeta = {{ workspace = true }}\n"
        )
    };
    let project = Project::new()
        .file("Cargo.toml", root)
        .file("m/Cargo.toml", member(""))
        .file("m/src/main.rs", "fn main() {}\n")
        .build();
    crate::lock_and_fetch(&env, &project);
    r.publish(
        CrateBuilder::new("beta", "0.3.9")
            .pubtime(OLD)
            .rust_version("1.99"),
    );
    // No member declares or inherits a rust-version: cargo holds nothing back, nor do we.
    let report = plan(&env, &project, &[]);
    assert_eq!(
        updates(&report),
        [u("beta", "0.3.0", "0.3.9", "patch")],
        "{report}"
    );
    // A member that inherits it is bound by it.
    project.write("m/Cargo.toml", member("rust-version.workspace = true"));
    let report = plan(&env, &project, &[]);
    assert!(updates(&report).is_empty(), "{report}");
}
