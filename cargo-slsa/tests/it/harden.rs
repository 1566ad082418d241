//! `cargo slsa harden`: every finding code at its line, composite actions, `--fix` through a
//! fake GitHub API (lightweight and annotated tags, branches), no token / offline behaviour,
//! secrets never echoed, and bad input.

use std::collections::BTreeSet;

use slsa_tests::{Env, FakeGitHub, Project, RunOutput, github::TOKEN, run};

use crate::{json, slsa, tree};

const CHECKOUT_SHA: &str = "b4ffde65f46336ab88eb53be808477a3936bae11";
const CACHE_SHA: &str = "1111111111111111111111111111111111111111";
const TOOLCHAIN_SHA: &str = "2222222222222222222222222222222222222222";
const TAG_OBJECT: &str = "3333333333333333333333333333333333333333";

/// A release workflow with one of everything. Line numbers matter: tests name them.
const RELEASE: &str = r#"# Release pipeline
name: release

on:
  push:
    tags: ["v*"]
  pull_request_target:

jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: Swatinem/rust-cache@v2
      - uses: dtolnay/rust-toolchain@stable
      - name: Build
        run: |
          echo "building ${{ github.ref_name }}"
          cargo build --release
          cargo test --locked
      - uses: ./local-action
      - uses: docker://alpine:3.19
      - name: Upload
        env:
          AWS_ACCESS_KEY_ID: AKIAIOSFODNN7EXAMPLE
          TOKEN: ${{ secrets.TOKEN }}
        run: echo "${{ github.event.pull_request.number }}"
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
        with:
          persist-credentials: false
      - run: cargo publish --token "$TOKEN" \
          --allow-dirty
"#;

fn findings(report: &serde_json::Value) -> BTreeSet<(String, u64)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["code"].as_str().expect("code").to_string(),
                f["line"].as_u64().expect("line"),
            )
        })
        .collect()
}

/// `harden --fix --format json` against the fake API, with `token` in GITHUB_TOKEN (if any).
fn fix(
    env: &Env,
    project: &Project,
    gh: &FakeGitHub,
    token: Option<&str>,
    extra: &[&str],
) -> RunOutput {
    let mut cmd = env.command(crate::bin(), project.path());
    cmd.args([
        "harden",
        "--fix",
        "--format",
        "json",
        "--github-api-url",
        &gh.url(),
    ])
    .args(extra);
    if let Some(t) = token {
        cmd.env("GITHUB_TOKEN", t);
    }
    run(cmd)
}

fn project_with(workflow: &str) -> Project {
    Project::new()
        .file(".github/workflows/release.yml", workflow)
        .file(".git/HEAD", "ref: refs/heads/main\n")
        // A lock is committed (outside a real git repository, it exists): --locked applies.
        .file("Cargo.lock", "version = 4\n")
        .build()
}

#[test]
fn every_code_is_found_at_its_line() {
    let env = Env::new();
    let project = project_with(RELEASE);
    let out = slsa(&env, project.path(), &["harden", "--format", "json"]).assert_code(1);
    let report = json(&out);
    let expected: BTreeSet<(String, u64)> = [
        ("dangerous-triggers", 7),
        // Two jobs, no permissions anywhere: the workflow (first key) and each job.
        ("excessive-permissions", 2),
        ("excessive-permissions", 10),
        ("excessive-permissions", 28),
        ("unpinned-uses", 13),
        ("unpinned-uses", 14),
        ("unpinned-uses", 15),
        ("unpinned-uses", 22),
        ("artipacked", 13),
        // Tag pushes publish: the cache is restored at line 14.
        ("cache-poisoning", 14),
        ("template-injection", 18),
        ("cargo-unlocked", 19),
        ("cargo-unlocked", 34),
        ("hardcoded-credentials", 25),
    ]
    .iter()
    .map(|(c, l)| (c.to_string(), *l))
    .collect();
    assert_eq!(findings(&report), expected, "{report:#}");
    // The literal key is named, never printed.
    assert!(
        !out.stdout.contains("AKIAIOSFODNN7EXAMPLE"),
        "{}",
        out.stdout
    );
    let human = slsa(&env, project.path(), &["harden"]).assert_code(1);
    assert!(!human.stdout.contains("AKIAIOSFODNN7EXAMPLE"));
    assert!(
        human.stdout.contains(".github/workflows/release.yml:13"),
        "{}",
        human.stdout
    );
}

#[test]
fn composite_actions_are_audited_too() {
    let env = Env::new();
    let action = r#"name: setup
inputs:
  version:
    description: which
runs:
  using: composite
  steps:
    - uses: actions/checkout@v4
    - run: echo "${{ inputs.version }}"
      shell: bash
"#;
    let project = Project::new()
        .file(".github/actions/setup/action.yml", action)
        .file(".git/HEAD", "ref: refs/heads/main\n")
        .build();
    let report = json(&slsa(&env, project.path(), &["harden", "--format", "json"]).assert_code(1));
    let got = findings(&report);
    assert_eq!(
        got,
        [
            ("artipacked", 8),
            ("template-injection", 9),
            ("unpinned-uses", 8)
        ]
        .iter()
        .map(|(c, l)| (c.to_string(), *l))
        .collect::<BTreeSet<_>>()
    );
    assert_eq!(
        report["findings"][0]["file"],
        ".github/actions/setup/action.yml"
    );
}

#[test]
fn template_injection_tells_attacker_text_from_fixed_values() {
    let env = Env::new();
    let wf = r#"name: t
on:
  workflow_dispatch:
    inputs:
      name: {type: string}
      dry: {type: boolean}
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        os: [linux, mac]
    env:
      STATIC: hello
      DYNAMIC: ${{ github.head_ref }}
    steps:
      - run: |
          echo ${{ github.event.issue.title }}
          echo ${{ github.event.issue.number }} ${{ github.sha }} ${{ secrets.X }}
          echo ${{ inputs.name }} ${{ inputs.dry }}
          echo ${{ env.STATIC }} ${{ env.DYNAMIC }} ${{ matrix.os }}
          if [ "${{ github.event_name == 'push' }}" ]; then echo ${{ steps.x.outputs.y }}; fi
      - uses: actions/github-script@60a0d83039c74a4aee543508d2ffcb1c3799cdea
        with:
          script: console.log("${{ github.event.comment.body }}")
"#;
    let project = project_with(wf);
    let report = json(&slsa(&env, project.path(), &["harden", "--format", "json"]).assert_code(1));
    let ti: Vec<(u64, String, String)> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == "template-injection")
        .map(|f| {
            let msg = f["message"].as_str().expect("msg");
            let ctx = msg
                .split('`')
                .nth(1)
                .expect("context in message")
                .to_string();
            (
                f["line"].as_u64().expect("line"),
                ctx,
                f["severity"].as_str().expect("sev").to_string(),
            )
        })
        .collect();
    let expect: Vec<(u64, &str, &str)> = vec![
        (19, "github.event.issue.title", "error"),
        (21, "inputs.name", "error"),
        (22, "env.DYNAMIC", "warning"),
        (23, "steps.x.outputs.y", "note"),
        (26, "github.event.comment.body", "error"),
    ];
    let got: Vec<(u64, &str, &str)> = ti
        .iter()
        .map(|(l, c, s)| (*l, c.as_str(), s.as_str()))
        .collect();
    assert_eq!(got, expect, "{report:#}");
}

#[test]
fn fix_pins_uses_and_adds_permissions_changing_nothing_else() {
    let env = Env::new();
    let gh = FakeGitHub::start();
    gh.tag("actions", "checkout", "v4", CHECKOUT_SHA);
    gh.annotated_tag("Swatinem", "rust-cache", "v2", TAG_OBJECT, CACHE_SHA);
    gh.branch("dtolnay", "rust-toolchain", "stable", TOOLCHAIN_SHA);
    let project = project_with(RELEASE);
    let out = fix(&env, &project, &gh, Some(TOKEN), &[]);
    assert_eq!(out.code, 1, "docker/credential findings remain: {out:?}");
    assert!(!out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN));
    let report = json(&out);
    assert_eq!(report["summary"]["pinned"], 3);
    let after = project.read(".github/workflows/release.yml");
    let mut expected = RELEASE
        .replace(
            "      - uses: actions/checkout@v4\n",
            &format!(
                "      - uses: actions/checkout@{CHECKOUT_SHA} # v4\n        with:\n          persist-credentials: false\n"
            ),
        )
        // The mechanical fixes (a Cargo.lock is committed): --locked after each cargo command.
        .replace("cargo build --release", "cargo build --locked --release")
        // The branch name moves out of the script into the step's environment.
        .replace(
            "      - name: Build\n        run: |\n          echo \"building ${{ github.ref_name }}\"",
            "      - name: Build\n        env:\n          REF_NAME: ${{ github.ref_name }}\n        run: |\n          echo \"building ${REF_NAME}\"",
        )
        .replace("cargo publish --token", "cargo publish --locked --token")
        .replace(
            "Swatinem/rust-cache@v2\n",
            &format!("Swatinem/rust-cache@{CACHE_SHA} # v2\n"),
        )
        .replace(
            "dtolnay/rust-toolchain@stable\n",
            &format!("dtolnay/rust-toolchain@{TOOLCHAIN_SHA} # stable\n"),
        );
    expected = expected.replace("\njobs:\n", "\npermissions:\n  contents: read\n\njobs:\n");
    assert_eq!(after, expected);
    // What is left: the docker image, the trigger, the cache, credentials and the injection.
    let left: BTreeSet<String> = findings(&report).into_iter().map(|(c, _)| c).collect();
    for fixed in [
        "excessive-permissions",
        "artipacked",
        "cargo-unlocked",
        "template-injection",
    ] {
        assert!(!left.contains(fixed), "{fixed}: {report:#}");
    }
    assert_eq!(
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["code"] == "unpinned-uses")
            .count(),
        1,
        "only docker://alpine:3.19 remains"
    );
    assert!(
        gh.requests()
            .iter()
            .all(|r| r.authorized && r.method == "GET")
    );
    assert!(
        gh.requests()
            .iter()
            .any(|r| r.path == format!("/repos/Swatinem/rust-cache/git/tags/{TAG_OBJECT}"))
    );

    // Idempotent: a second run changes nothing.
    let before = tree(project.path());
    let again = json(&fix(&env, &project, &gh, Some(TOKEN), &[]));
    assert_eq!(again["changes"], serde_json::json!([]));
    assert_eq!(tree(project.path()), before);
}

#[test]
fn without_a_token_or_offline_detection_still_works_and_nothing_is_asked() {
    let env = Env::new();
    let gh = FakeGitHub::start();
    let project = project_with(RELEASE);
    let report = json(&fix(&env, &project, &gh, None, &[]).assert_code(1));
    assert!(
        report["summary"]["messages"]
            .to_string()
            .contains("GITHUB_TOKEN"),
        "{report:#}"
    );
    assert!(gh.requests().is_empty());
    // The permissions fix needs no network.
    assert!(
        project
            .read(".github/workflows/release.yml")
            .contains("permissions:\n  contents: read\n")
    );
    assert!(findings(&report).contains(&("unpinned-uses".to_string(), 16)));

    let project = project_with(RELEASE);
    let report = json(&fix(&env, &project, &gh, Some(TOKEN), &["--offline"]).assert_code(1));
    assert!(
        report["summary"]["messages"]
            .to_string()
            .contains("--offline")
    );
    assert!(gh.requests().is_empty());
}

#[test]
fn api_errors_are_reported_and_leave_the_reference() {
    let env = Env::new();
    let gh = FakeGitHub::start();
    // Only checkout resolves; rust-cache@v2 and rust-toolchain@stable are unknown (404).
    gh.tag("actions", "checkout", "v4", CHECKOUT_SHA);
    let project = project_with(RELEASE);
    let report = json(&fix(&env, &project, &gh, Some(TOKEN), &[]).assert_code(1));
    assert_eq!(report["summary"]["pinned"], 1);
    let notes = report["summary"]["messages"].to_string();
    assert!(notes.contains("has no tag or branch `v2`"), "{notes}");
    let after = project.read(".github/workflows/release.yml");
    assert!(after.contains("Swatinem/rust-cache@v2\n"));
    assert!(after.contains(&format!("actions/checkout@{CHECKOUT_SHA} # v4")));

    // A bad token: GitHub's 401 is an error that stops resolving, not a crash.
    let project = project_with(RELEASE);
    let out = fix(&env, &project, &gh, Some("wrong"), &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        json(&out)["summary"]["messages"]
            .to_string()
            .contains("401")
    );
    assert!(!out.stdout.contains("wrong\""));
}

#[test]
fn cargo_without_locked_is_found_in_any_script_shape() {
    let env = Env::new();
    let wf = "name: c\non: push\npermissions: {}\njobs:\n  a:\n    runs-on: x\n    steps:\n      \
              - run: cargo build && cargo test --locked\n      \
              - run: cargo +nightly install cargo-audit\n      \
              - run: |\n          cargo run -p app -- --locked\n          cargo check\n          cargo build \\\n            --frozen\n          # cargo build\n";
    let project = project_with(wf);
    let report = json(&slsa(&env, project.path(), &["harden", "--format", "json"]).assert_code(1));
    let lines: Vec<u64> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == "cargo-unlocked")
        .map(|f| f["line"].as_u64().expect("line"))
        .collect();
    // `cargo run -p app -- --locked` passes --locked to the program, not to cargo… we accept it
    // as locked only when it comes before `--`; here it does not, so it is reported. `cargo
    // check` resolves too.
    assert_eq!(lines, [8, 9, 11, 12], "{report:#}");
}

#[test]
fn bad_input_exits_2_with_a_location_and_writes_nothing() {
    let env = Env::new();
    let project = project_with("name: x\non: push\njobs:\n  a:\n    steps: [\n");
    let before = tree(project.path());
    let out = slsa(&env, project.path(), &["harden", "--fix"]).assert_code(2);
    // Reported as an input-error finding at its file and line, with whatever else was found.
    assert!(
        out.stdout.contains("input-error") && out.stdout.contains("release.yml:"),
        "{out:?}"
    );
    assert_eq!(tree(project.path()), before);
    let out = slsa(&env, project.path(), &["harden", "nope.yml"]).assert_code(2);
    assert!(out.stderr.contains("nope.yml"), "{}", out.stderr);

    // Not a workflow (schema): jobs must be a mapping.
    let project = project_with("name: x\non: push\njobs: 3\n");
    let out = slsa(&env, project.path(), &["harden"]).assert_code(2);
    assert!(out.stdout.contains("release.yml"), "{out:?}");
}

#[test]
fn no_workflows_is_a_note_not_an_error() {
    let env = Env::new();
    let project = Project::new().file(".git/HEAD", "x").build();
    let report =
        json(&slsa(&env, project.path(), &["harden", "--format", "json"]).assert_success());
    assert_eq!(report["summary"]["files"], 0);
    assert!(
        report["summary"]["messages"]
            .to_string()
            .contains("no workflows found")
    );
}

#[test]
fn only_what_github_runs_is_collected() {
    let env = Env::new();
    let project = Project::new()
        .file(".git/HEAD", "x")
        .file(".github/workflows/ci.yml", "name: c\non: push\npermissions: {}\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo\n")
        // GitHub ignores subdirectories of .github/workflows; data files there are not workflows.
        .file(".github/workflows/data/matrix.yml", "- a\n- b\n")
        .file("tests/fixtures/broken/action.yml", "not: [valid\n")
        .build();
    let report =
        json(&slsa(&env, project.path(), &["harden", "--format", "json"]).assert_success());
    assert_eq!(report["summary"]["files"], 1);
}

#[test]
fn secrets_are_masked_in_every_snippet_and_odd_values_do_not_crash() {
    let env = Env::new();
    let token_a = format!("ghp_{}", "A".repeat(36));
    let token_b = format!("ghp_{}", "B".repeat(36));
    let wf = format!(
        "name: s\non: push\npermissions: {{}}\njobs:\n  a:\n    runs-on: x\n    env: {{X_TOKEN: {token_a}, Y_TOKEN: {token_b}}}\n    steps:\n      - {{uses: actions/checkout@v4, with: {{token: {token_a}}}}}\n      - run: echo\n        env:\n          Z_TOKEN: ghp_{}é{}\n",
        "a".repeat(35),
        "b".repeat(4)
    );
    let project = project_with(&wf);
    for format in ["human", "json", "sarif", "github"] {
        let out = slsa(&env, project.path(), &["harden", "--format", format]).assert_code(1);
        for t in [&token_a, &token_b] {
            assert!(!out.stdout.contains(t.as_str()), "{format}: {}", out.stdout);
        }
    }
}

#[test]
fn fix_leaves_what_it_cannot_edit_safely() {
    let env = Env::new();
    let gh = FakeGitHub::start();
    gh.tag("actions", "checkout", "v4", CHECKOUT_SHA);
    gh.tag("actions", "setup-node", "v4", CACHE_SHA);
    // A flow-style workflow: no permissions block can be inserted before `jobs:`.
    let flow = "{name: f, on: push, jobs: {a: {runs-on: x, steps: [{run: echo}]}}}\n";
    // A block-scalar `uses:` (no trailing comment inside the scalar), an alias to the same node
    // (edited once), and a ref with a space (not resolved).
    let block = "name: b\non: push\npermissions: {}\njobs:\n  a:\n    runs-on: x\n    steps:\n      - &co\n        uses: >-\n          actions/setup-node@v4\n      - *co\n      - uses: actions/checkout@v4\n      - uses: aaa/bbb@has space\n";
    let project = Project::new()
        .file(".git/HEAD", "x")
        .file(".github/workflows/flow.yml", flow)
        .file(".github/workflows/block.yml", block)
        .build();
    let report = json(&fix(&env, &project, &gh, Some(TOKEN), &[]).assert_code(1));
    assert_eq!(
        project.read(".github/workflows/flow.yml"),
        flow,
        "flow style left alone"
    );
    let after = project.read(".github/workflows/block.yml");
    assert!(
        after.contains(&format!("          actions/setup-node@{CACHE_SHA}\n")),
        "{after}"
    );
    assert!(
        after.contains(&format!("actions/checkout@{CHECKOUT_SHA} # v4\n")),
        "{after}"
    );
    assert!(after.contains("aaa/bbb@has space"), "{after}");
    assert_eq!(after.matches(CACHE_SHA).count(), 1, "{after}");
    assert_eq!(report["summary"]["pinned"], 2, "{report:#}");
    let notes = report["summary"]["messages"].to_string();
    assert!(notes.contains("is not a tag or branch name"), "{notes}");
    assert!(gh.requests().iter().all(|r| !r.path.contains("bbb")));
}

#[test]
fn write_all_and_cargo_global_options_are_caught() {
    let env = Env::new();
    let wf = "name: w\non: push\npermissions: write-all\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: cargo --color always build\n      - run: cargo -C sub test --locked\n";
    let project = project_with(wf);
    let report = json(&slsa(&env, project.path(), &["harden", "--format", "json"]).assert_code(1));
    assert_eq!(
        findings(&report),
        [("cargo-unlocked", 8), ("excessive-permissions", 3)]
            .iter()
            .map(|(c, l)| (c.to_string(), *l))
            .collect::<BTreeSet<_>>()
    );
}

/// A deploy job that uploads Lambda code; `verify_first` puts a verification before it.
fn deploy_workflow(verify_first: &str) -> String {
    format!(
        "name: deploy\non: push\npermissions:\n  contents: read\njobs:\n  check:\n    runs-on: ubuntu-latest\n    steps:\n      - run: cargo slsa verify fn.zip --attestation a.sigstore.json\n  deploy:\n    needs: check\n    runs-on: ubuntu-latest\n    steps:\n{verify_first}      - name: Deploy\n        run: |\n          echo deploying\n          aws lambda update-function-code --function-name f --zip-file fileb://fn.zip\n      - uses: aws-actions/aws-lambda-deploy@0123456789abcdef0123456789abcdef01234567 # v1\n"
    )
}

#[test]
fn lambda_deploys_without_verification_in_the_same_job_are_flagged() {
    let env = Env::new();
    // A verification in another job proves nothing about the bytes this job uploads.
    let project = env
        .project()
        .file(".github/workflows/deploy.yml", deploy_workflow(""))
        .build();
    let out = slsa(&env, project.path(), &["harden", "--format", "json"]);
    let report = json(&out);
    let deploys: Vec<(String, u64)> = findings(&report)
        .into_iter()
        .filter(|(c, _)| c == "deploy-unverified")
        .collect();
    assert_eq!(
        deploys,
        [
            ("deploy-unverified".to_string(), 17),
            ("deploy-unverified".to_string(), 18)
        ],
        "the aws command's line and the action's line: {report}"
    );
    assert_eq!(
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["code"] == "deploy-unverified")
            .expect("finding")["severity"],
        "warning"
    );
    // Verified earlier in the same job, by the CLI or by the action: nothing to say.
    for verify in [
        "      - run: cargo slsa verify fn.zip --attestation a.sigstore.json\n",
        "      - uses: cargo-slsa/cargo-slsa@0123456789abcdef0123456789abcdef01234567 # v1\n        with:\n          command: verify\n          args: fn.zip --attestation a.sigstore.json\n",
    ] {
        let project = env
            .project()
            .file(".github/workflows/deploy.yml", deploy_workflow(verify))
            .build();
        let report = json(&slsa(&env, project.path(), &["harden", "--format", "json"]));
        assert!(
            !findings(&report)
                .iter()
                .any(|(c, _)| c == "deploy-unverified"),
            "{verify}: {report}"
        );
    }
    // A verification allowed to fail gates nothing.
    for weak in [
        "      - run: cargo slsa verify fn.zip --attestation a.sigstore.json || true\n",
        "      - run: cargo slsa verify fn.zip --attestation a.sigstore.json\n        continue-on-error: true\n",
    ] {
        let project = env
            .project()
            .file(".github/workflows/deploy.yml", deploy_workflow(weak))
            .build();
        let report = json(&slsa(&env, project.path(), &["harden", "--format", "json"]));
        assert_eq!(
            findings(&report)
                .iter()
                .filter(|(c, _)| c == "deploy-unverified")
                .count(),
            2,
            "{weak}: {report}"
        );
    }
    // The action with another command does not count.
    let project = env
        .project()
        .file(
            ".github/workflows/deploy.yml",
            deploy_workflow("      - uses: cargo-slsa/cargo-slsa@0123456789abcdef0123456789abcdef01234567 # v1\n        with:\n          command: audit\n"),
        )
        .build();
    let report = json(&slsa(&env, project.path(), &["harden", "--format", "json"]));
    assert_eq!(
        findings(&report)
            .iter()
            .filter(|(c, _)| c == "deploy-unverified")
            .count(),
        2,
        "{report}"
    );
}

fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

#[test]
fn our_own_workflows_are_clean_under_harden() {
    let env = Env::new();
    let root = repo_root();
    let out = slsa(
        &env,
        &root,
        &[
            "harden",
            ".github/workflows",
            "action/workflows",
            "action.yml",
            "--offline",
            "--format",
            "json",
        ],
    );
    let report = json(&out);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(report["findings"], serde_json::json!([]), "{report}");
}

/// The reusable workflow's promise, read from the file itself: the job that can get an OIDC
/// token runs no build and nothing of the caller's; the build job cannot get one.
#[test]
fn the_reusable_workflow_keeps_signing_out_of_the_build() {
    let text = std::fs::read_to_string(repo_root().join(".github/workflows/slsa-build.yml"))
        .expect("slsa-build.yml");
    let doc: yaml_serde::Value = yaml_serde::from_str(&text).expect("yaml");
    assert!(
        doc["on"]["workflow_call"].is_mapping(),
        "a reusable workflow"
    );
    let top = &doc["permissions"];
    assert!(
        top["id-token"].is_null() && top.as_mapping().is_some_and(|m| m.len() == 1),
        "top-level permissions are contents: read only: {top:?}"
    );
    let jobs = doc["jobs"].as_mapping().expect("jobs");
    let build = &doc["jobs"]["build"];
    assert!(build.is_mapping(), "a build job");
    assert!(
        build["permissions"]["id-token"].is_null(),
        "the build job has no id-token: {:?}",
        build["permissions"]
    );
    assert!(
        !text.contains("${{ secrets.") && !text.contains("${{secrets."),
        "no secret reaches any job of the reusable workflow"
    );
    let mut signing_jobs = 0;
    for (name, job) in jobs {
        let name = name.as_str().expect("job name");
        if job["permissions"]["id-token"].as_str() != Some("write") {
            continue;
        }
        assert_ne!(name, "build");
        let steps = job["steps"].as_sequence().expect("steps");
        for step in steps {
            if let Some(uses) = step["uses"].as_str() {
                assert!(
                    !uses.starts_with("./"),
                    "{name}: a local action is the caller's code: {uses}"
                );
            }
            let Some(run) = step["run"].as_str() else {
                continue;
            };
            for forbidden in [
                "cargo build",
                "cargo test",
                "cargo run",
                "cargo xtask",
                "make ",
                "./",
            ] {
                // `cargo install --path <this workflow's own source>` is how cargo-slsa itself
                // gets built; a relative script path would be the caller's.
                assert!(
                    !run.lines()
                        .filter(|l| !l.trim_start().starts_with('#'))
                        .any(|l| l.contains(forbidden) && !l.contains("RUNNER_TEMP")),
                    "{name} runs `{forbidden}`: {run}"
                );
            }
            if run.contains("cargo install") {
                assert!(
                    run.contains("--locked") && run.contains("RUNNER_TEMP"),
                    "{name}: cargo-slsa is built locked, outside the caller's checkout: {run}"
                );
            }
        }
        if name == "provenance" {
            signing_jobs += 1;
            assert!(
                steps.iter().any(|s| s["run"]
                    .as_str()
                    .is_some_and(|r| r.contains("--from-statement") && r.contains("--keyless"))),
                "the provenance job signs with attest --from-statement --keyless"
            );
            assert!(
                steps.iter().any(|s| s["run"]
                    .as_str()
                    .is_some_and(|r| r.contains("sha256sum") && r.contains("-c"))),
                "the provenance job checks the files against the build job's digests"
            );
        }
    }
    assert_eq!(signing_jobs, 1, "one provenance job signs");
    // Our own release goes through it.
    let release = std::fs::read_to_string(repo_root().join(".github/workflows/release.yml"))
        .expect("release.yml");
    assert!(
        release.contains("uses: ./.github/workflows/slsa-build.yml"),
        "{release}"
    );
}

#[test]
fn same_repository_reusable_workflows_and_broken_files_do_not_stop_the_run() {
    let env = Env::new();
    let project = env
        .project()
        .file(
            ".github/workflows/call.yml",
            "name: call\non: push\npermissions: {}\njobs:\n  lint:\n    uses: $/.github/workflows/lint.yml\n  local:\n    uses: \"$/.github/workflows/lint.yml\"\n",
        )
        .file(
            ".github/workflows/lint.yml",
            "name: lint\non: workflow_call\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: cargo build\n",
        )
        .file(".github/workflows/broken.yml", "name: broken\non: push\njobs:\n  a: [\n")
        .file("Cargo.lock", "version = 4\n")
        .build();
    let out = slsa(&env, project.path(), &["harden", "--format", "json"]);
    assert_eq!(out.code, 2, "the broken file is an input error: {out:?}");
    let report = json(&out);
    let got: Vec<(String, String, u64)> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["code"].as_str().expect("code").to_string(),
                f["file"].as_str().expect("file").to_string(),
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "input-error".to_string(),
                ".github/workflows/broken.yml".to_string(),
                5
            ),
            (
                "cargo-unlocked".to_string(),
                ".github/workflows/lint.yml".to_string(),
                8
            ),
        ],
        "`$/` uses parse and are local (not unpinned); the good files are audited: {report}"
    );
    // --fix with a broken input writes nothing.
    let before = tree(project.path());
    let out = slsa(&env, project.path(), &["harden", "--fix", "--offline"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(tree(project.path()), before);
}

#[test]
fn cargo_unlocked_speaks_only_of_cargo_commands_in_repositories_with_a_lock() {
    let env = Env::new();
    let wf = "name: w\non: push\npermissions:\n  contents: read\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: |\n          echo \"next: cargo build\"\n          cargo clippy --all-targets\n          cargo check\n          RUSTFLAGS=-Dwarnings cargo lambda build --release\n          cargo lambda deploy\n          time cargo test\n";
    let project = project_with(wf);
    let report = json(&slsa(&env, project.path(), &["harden", "--format", "json"]).assert_code(1));
    assert_eq!(
        findings(&report)
            .into_iter()
            .filter(|(c, _)| c == "cargo-unlocked")
            .collect::<Vec<_>>(),
        [
            ("cargo-unlocked".to_string(), 11),
            ("cargo-unlocked".to_string(), 12),
            ("cargo-unlocked".to_string(), 13),
            ("cargo-unlocked".to_string(), 15),
        ],
        "clippy, check, lambda build and a timed test; not the echo, not lambda deploy: {report:#}"
    );
    // No committed lock: --locked would make these builds fail, so nothing is said but a note.
    let project = Project::new()
        .file(".github/workflows/release.yml", wf)
        .file(".git/HEAD", "ref: refs/heads/main\n")
        .build();
    let report = json(&slsa(&env, project.path(), &["harden", "--format", "json"]));
    assert!(
        !findings(&report).iter().any(|(c, _)| c == "cargo-unlocked"),
        "{report:#}"
    );
    assert!(
        report["summary"]["messages"]
            .to_string()
            .contains("no Cargo.lock is committed"),
        "{report:#}"
    );
}

#[test]
fn reviewed_findings_are_accepted_by_ignore_comments_and_still_shown() {
    let env = Env::new();
    // A release job that needs write access, reviewed and accepted with zizmor's comment; an
    // unlocked cargo accepted with ours on the line above; one finding left.
    let wf = "name: r\non: push\npermissions: write-all # zizmor: ignore[excessive-permissions]\njobs:\n  a:\n    runs-on: x\n    steps:\n      # cargo-slsa: ignore[cargo-unlocked]\n      - run: cargo build\n      - run: cargo test # zizmor: ignore[cargo-unlocked]\n";
    let project = project_with(wf);
    let report = json(&slsa(&env, project.path(), &["harden", "--format", "json"]).assert_code(1));
    assert_eq!(
        findings(&report).into_iter().collect::<Vec<_>>(),
        [("cargo-unlocked".to_string(), 10)],
        "zizmor's comment speaks only for the audits it shares: {report:#}"
    );
    let suppressed: Vec<(String, u64)> = report["summary"]["suppressed"]
        .as_array()
        .expect("suppressed")
        .iter()
        .map(|f| {
            (
                f["code"].as_str().expect("code").to_string(),
                f["line"].as_u64().expect("line"),
            )
        })
        .collect();
    assert_eq!(
        suppressed,
        [
            ("excessive-permissions".to_string(), 3),
            ("cargo-unlocked".to_string(), 9)
        ]
    );
    // SARIF: the accepted ones are there, marked as suppressed in source.
    let sarif = json(&slsa(&env, project.path(), &["harden", "--format", "sarif"]).assert_code(1));
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    assert_eq!(
        results
            .iter()
            .filter(|r| r["suppressions"][0]["kind"] == "inSource")
            .count(),
        2
    );
    // Human: counted on the summary line, listed with -v.
    let out = slsa(&env, project.path(), &["harden", "-v"]).assert_code(1);
    assert!(out.stdout.contains("2 suppressed"), "{out:?}");
    assert!(
        out.stdout.contains("suppressed: [excessive-permissions]"),
        "{out:?}"
    );
    // Accept the last one too: the run passes, and check with it.
    project.write(
        ".github/workflows/release.yml",
        wf.replace(
            "cargo test # zizmor",
            "cargo test # cargo-slsa: ignore[cargo-unlocked] zizmor",
        ),
    );
    slsa(&env, project.path(), &["harden"]).assert_success();
}

#[test]
fn actions_anywhere_are_found_and_an_empty_directory_is_named() {
    let env = Env::new();
    let action = "name: a\ndescription: d\nruns:\n  using: composite\n  steps:\n    - uses: actions/checkout@v4\n";
    let project = Project::new()
        .file(".git/HEAD", "ref: refs/heads/main\n")
        .file("tools/release/action.yml", action)
        .file("target/debug/action.yml", action)
        .file("node_modules/x/action.yml", action)
        .file("docs/readme.txt", "no yaml here\n")
        .build();
    let report = json(&slsa(&env, project.path(), &["harden", "--format", "json"]).assert_code(1));
    let files: BTreeSet<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["file"].as_str().expect("file").to_string())
        .collect();
    assert_eq!(
        files.into_iter().collect::<Vec<_>>(),
        ["tools/release/action.yml"],
        "an action outside .github/actions is audited; build output and dependencies are not"
    );
    let out = slsa(&env, project.path(), &["harden", "docs"]).assert_code(2);
    assert!(
        out.stderr.contains("docs") && out.stderr.contains("no workflow or action files"),
        "{out:?}"
    );
}

#[test]
fn a_head_checkout_says_whether_anything_runs_it() {
    let env = Env::new();
    let wf = |then: &str| {
        format!(
            "name: p\non: pull_request_target\npermissions:\n  contents: read\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@b4ffde65f46336ab88eb53be808477a3936bae11 # v4\n        with:\n          persist-credentials: false\n          ref: ${{{{ github.event.pull_request.head.sha }}}}\n      - run: {then}\n"
        )
    };
    let message = |then: &str| {
        let project = project_with(&wf(then));
        let report = json(&slsa(&env, project.path(), &["harden", "--format", "json"]));
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["code"] == "dangerous-triggers" && f["line"] == 12)
            .map(|f| f["message"].as_str().expect("message").to_string())
            .unwrap_or_else(|| panic!("no head-checkout finding: {report:#}"))
    };
    let git_only = message("git diff --name-only origin/main...HEAD");
    assert!(git_only.contains("only git reads it"), "{git_only}");
    let builds = message("cargo build --locked");
    assert!(
        builds.contains("a later step runs code from it"),
        "{builds}"
    );
}

#[test]
fn fix_keeps_the_tag_in_front_of_an_existing_comment() {
    let env = Env::new();
    let gh = FakeGitHub::start();
    gh.tag("actions", "checkout", "v4", CHECKOUT_SHA);
    let wf = "name: c\non: push\npermissions:\n  contents: read\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4 # the checkout\n        with:\n          persist-credentials: false\n";
    let project = project_with(wf);
    let out = fix(&env, &project, &gh, Some(TOKEN), &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let after = project.read(".github/workflows/release.yml");
    assert!(
        after.contains(&format!(
            "      - uses: actions/checkout@{CHECKOUT_SHA} # v4 the checkout\n"
        )),
        "{after}"
    );
    // Idempotent: a second run changes nothing.
    let again = fix(&env, &project, &gh, Some(TOKEN), &[]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(project.read(".github/workflows/release.yml"), after);
}

#[test]
fn fix_says_which_jobs_need_more_than_contents_read() {
    let env = Env::new();
    let gh = FakeGitHub::start();
    let wf = "name: r\non: push\njobs:\n  build:\n    runs-on: x\n    steps:\n      - run: echo build\n  publish:\n    runs-on: x\n    steps:\n      - run: gh release create \"$TAG\" dist/*\n";
    let project = project_with(wf);
    let out = fix(&env, &project, &gh, Some(TOKEN), &[]);
    let report = json(&out);
    let messages = report["summary"]["messages"].to_string();
    assert!(
        messages.contains("job `publish` probably needs more than `contents: read`")
            && messages.contains("gh release"),
        "{report:#}"
    );
    assert!(!messages.contains("job `build`"), "{report:#}");
    assert!(
        project
            .read(".github/workflows/release.yml")
            .contains("permissions:\n  contents: read\n")
    );
}

#[test]
fn fix_makes_the_mechanical_fixes_and_they_read_back() {
    let env = Env::new();
    let gh = FakeGitHub::start();
    let wf = "name: c\non: push\npermissions:\n  contents: read\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@b4ffde65f46336ab88eb53be808477a3936bae11 # v4\n      - uses: actions/checkout@b4ffde65f46336ab88eb53be808477a3936bae11 # v4\n        with:\n          fetch-depth: 0\n      - run: |\n          cargo build --release\n          cargo lambda build --release\n          echo \"cargo test\"\n      - run: cargo test --workspace\n";
    let project = project_with(wf);
    let out = fix(&env, &project, &gh, None, &[]);
    assert_eq!(out.code, 0, "nothing is left: {out:?}");
    let after = project.read(".github/workflows/release.yml");
    let expected = "name: c\non: push\npermissions:\n  contents: read\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@b4ffde65f46336ab88eb53be808477a3936bae11 # v4\n        with:\n          persist-credentials: false\n      - uses: actions/checkout@b4ffde65f46336ab88eb53be808477a3936bae11 # v4\n        with:\n          persist-credentials: false\n          fetch-depth: 0\n      - run: |\n          cargo build --locked --release\n          cargo lambda build --locked --release\n          echo \"cargo test\"\n      - run: cargo test --locked --workspace\n";
    assert_eq!(after, expected);
    // Idempotent.
    let again = fix(&env, &project, &gh, None, &[]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(project.read(".github/workflows/release.yml"), expected);
    // A job that pushes with the persisted token keeps it (the finding stays, for a person).
    let pushing = "name: c\non: push\npermissions:\n  contents: write\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@b4ffde65f46336ab88eb53be808477a3936bae11 # v4\n      - run: git push origin HEAD:refs/heads/bump\n";
    let project = project_with(pushing);
    fix(&env, &project, &gh, None, &[]);
    assert_eq!(project.read(".github/workflows/release.yml"), pushing);
    // Without a committed lock, --locked is not added (it would break the build).
    let project = Project::new()
        .file(".github/workflows/release.yml", wf)
        .file(".git/HEAD", "ref: refs/heads/main\n")
        .build();
    fix(&env, &project, &gh, None, &[]);
    let after = project.read(".github/workflows/release.yml");
    assert!(
        !after.contains("--locked") && after.contains("persist-credentials: false"),
        "{after}"
    );
}

#[test]
fn configured_ignores_are_validated_before_anything_is_accepted() {
    let env = Env::new();
    let wf = "name: r\non: push\npermissions: write-all\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo hi\n";
    let project = project_with(wf);
    project.write(".github/workflows/other.yml", wf);
    let manifest = |ignore: &str| {
        format!(
            "[workspace]\nmembers = []\n\n[workspace.metadata.slsa.harden]\nignore = [\n  {ignore},\n]\n"
        )
    };
    // Each bad entry is exit 2 at its own line, and --fix writes nothing.
    for (entry, says) in [
        (
            r#"{ code = "excessive-permissions", path = ".github/workflows/release.yml" }"#,
            "no `reason`",
        ),
        (
            r#"{ code = "excessive-permissions", reason = "r" }"#,
            "no `path`",
        ),
        (
            r#"{ code = "excessive-permissions", path = "../elsewhere/release.yml", reason = "r" }"#,
            "stay inside it",
        ),
        (
            r#"{ code = "input-error", path = ".github", reason = "r" }"#,
            "not a finding code of `harden`",
        ),
        (
            r#"{ code = "excessive-permission", path = ".github", reason = "r" }"#,
            "not a finding code of `harden`",
        ),
        (
            r#"{ code = "excessive-permissions", path = ".github", reason = "r", until = "soon" }"#,
            "not a date",
        ),
        (
            r#"{ code = "excessive-permissions", path = ".github", reason = "r", line = 0 }"#,
            "not a line number",
        ),
        (
            r#"{ code = "excessive-permissions", path = ".github", reason = "r", lines = 3 }"#,
            "lines",
        ),
    ] {
        project.write("Cargo.toml", manifest(entry));
        let before = tree(project.path());
        let out = slsa(&env, project.path(), &["harden", "--fix"]).assert_code(2);
        assert!(
            out.stderr.contains("Cargo.toml:6") && out.stderr.contains(says),
            "{entry}: {out:?}"
        );
        assert_eq!(tree(project.path()), before, "{entry}: nothing written");
    }
    // A directory covers both files; with one file named on the command line, an entry for
    // another file is not called unused — that file was not looked at.
    project.write(
        "Cargo.toml",
        manifest(
            r#"{ code = "excessive-permissions", path = ".github/workflows", line = 3, reason = "release jobs tag" },
  { code = "excessive-permissions", path = ".github/workflows/other.yml", reason = "r" }"#,
        ),
    );
    let report = json(&slsa(&env, project.path(), &["harden", "--format", "json"]));
    assert_eq!(
        report["summary"]["suppressed"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        findings(&report).into_iter().collect::<Vec<_>>(),
        [("ignore-unused".to_string(), 7)],
        "the second entry accepted nothing the first did not: {report:#}"
    );
    let report = json(&slsa(
        &env,
        project.path(),
        &[
            "harden",
            ".github/workflows/release.yml",
            "--format",
            "json",
        ],
    ));
    assert!(
        findings(&report).is_empty(),
        "other.yml was not looked at: {report:#}"
    );
    // Human -v says which entry accepted it and why.
    let out = slsa(&env, project.path(), &["harden", "-v"]).assert_success();
    assert!(
        out.stdout
            .contains("accepted by the configuration: release jobs tag"),
        "{out:?}"
    );
}

/// A workflow whose scripts expand an issue title and body in every quoting a script uses.
const INJECTED: &str = "name: t
on: issues
permissions:
  contents: read
env:
  TITLE_FROM: ${{ github.event.issue.title }}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo \"title: ${{ github.event.issue.title }}\"
          echo 'body: ${{ github.event.issue.body }}'
          echo ${{ env.TITLE_FROM }} / ${{ github.event.issue.title }}
      - name: with env
        env:
          ISSUE_TITLE: taken
        run: echo \"${{ github.event.issue.title }}\" $ISSUE_TITLE
      - name: cmd
        shell: cmd
        run: echo ${{ github.event.issue.title }}
      - name: heredoc
        run: |
          cat <<'EOF'
          ${{ github.event.issue.title }}
          EOF
  w:
    runs-on: windows-latest
    steps:
      - run: Write-Output \"${{ github.event.issue.title }}\"
      - run: Write-Output '${{ github.event.issue.title }}'
";

/// What GitHub does with a script: every `${{ github.event.issue.* }}` replaced by its value.
fn expand(script: &str, title: &str, body: &str) -> String {
    script
        .replace("${{ github.event.issue.title }}", title)
        .replace("${{ github.event.issue.body }}", body)
        .replace("${{ env.TITLE_FROM }}", title)
}

fn bash(script: &str, dir: &std::path::Path, env: &[(&str, &str)]) -> String {
    let mut c = std::process::Command::new("bash");
    c.arg("-c").arg(script).current_dir(dir).env_clear();
    for (k, v) in env {
        c.env(k, v);
    }
    let out = run(c).assert_success();
    out.stdout
}

#[test]
fn fix_moves_untrusted_expressions_into_env_and_keeps_what_scripts_print() {
    let env = Env::new();
    let project = project_with(INJECTED);
    let path = ".github/workflows/release.yml";
    // --dry-run: the diff, nothing written.
    let before = tree(project.path());
    let dry = slsa(&env, project.path(), &["harden", "--fix", "--dry-run"]).assert_code(1);
    assert_eq!(tree(project.path()), before, "a dry run writes nothing");
    assert!(
        dry.stdout.contains(&format!("--- a/{path}"))
            && dry
                .stdout
                .contains("+          ISSUE_BODY: ${{ github.event.issue.body }}")
            && dry.stdout.contains("would change"),
        "{dry:?}"
    );
    let diff: String = dry
        .stdout
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();

    slsa(&env, project.path(), &["harden", "--fix"]);
    let fixed = project.read(path);
    let value: yaml_serde::Value = yaml_serde::from_str(&fixed).expect("still YAML");
    let steps = &value["jobs"]["a"]["steps"];
    // The first script reads variables; the title's is named after it, the env reference is
    // read from the environment directly.
    let script = steps[0]["run"].as_str().expect("run");
    assert_eq!(
        script,
        "echo \"title: ${ISSUE_TITLE}\"\necho 'body: '\"${ISSUE_BODY}\"''\necho ${TITLE_FROM} / ${ISSUE_TITLE}\n"
    );
    assert_eq!(
        steps[0]["env"]["ISSUE_TITLE"].as_str(),
        Some("${{ github.event.issue.title }}")
    );
    // A name already in the step's env is not reused for something else.
    assert_eq!(
        steps[1]["run"].as_str(),
        Some("echo \"${ISSUE_TITLE_2}\" $ISSUE_TITLE")
    );
    assert_eq!(steps[1]["env"]["ISSUE_TITLE"].as_str(), Some("taken"));
    // cmd and a here-document are left for a person.
    assert!(steps[2]["run"].as_str().is_some_and(|r| r.contains("${{")));
    assert!(steps[3]["run"].as_str().is_some_and(|r| r.contains("${{")));
    // Windows runners default to PowerShell: `${env:…}`, except inside single quotes.
    let w = &value["jobs"]["w"]["steps"];
    assert_eq!(
        w[0]["run"].as_str(),
        Some("Write-Output \"${env:ISSUE_TITLE}\"")
    );
    assert!(w[1]["run"].as_str().is_some_and(|r| r.contains("${{")));

    // The diff printed by the dry run is exactly what --fix wrote.
    let scratch = Project::new().file(path, INJECTED).build();
    let mut apply = std::process::Command::new("git");
    apply.arg("apply").arg("-").current_dir(scratch.path());
    let mut child = apply
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("git apply");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(diff.as_bytes())
        .expect("diff to git apply");
    assert!(child.wait().expect("git apply").success());
    assert_eq!(scratch.read(path), fixed);

    // The rewritten script prints what GitHub's expansion printed, for an ordinary title...
    let original = value_of(INJECTED, 0);
    let (title, body) = ("Crash on start", "it's broken");
    let vars = [
        ("ISSUE_TITLE", title),
        ("ISSUE_BODY", body),
        ("TITLE_FROM", title),
    ];
    assert_eq!(
        bash(script, project.path(), &vars),
        bash(&expand(&original, title, "its broken"), project.path(), &[])
            .replace("its broken", body)
    );
    // ...and runs nothing an attacker writes into one.
    let evil = "$(touch pwned-title)\"; touch pwned-quote; echo \"";
    let evil_body = "'; touch pwned-body; echo '";
    bash(
        script,
        project.path(),
        &[
            ("ISSUE_TITLE", evil),
            ("ISSUE_BODY", evil_body),
            ("TITLE_FROM", evil),
        ],
    );
    for f in ["pwned-title", "pwned-quote", "pwned-body"] {
        assert!(!project.path().join(f).exists(), "{f} was created");
    }
    // The original is injectable (the test can fail).
    bash(&expand(&original, evil, "x"), project.path(), &[]);
    assert!(project.path().join("pwned-quote").exists());

    // What is left is reported, with why; a second run changes nothing.
    let again = slsa(&env, project.path(), &["harden", "--fix"]);
    assert_eq!(project.read(path), fixed, "idempotent");
    assert!(
        again.stdout.contains("its shell is `cmd`")
            && again.stdout.contains("here-document")
            && again.stdout.contains("PowerShell single-quoted"),
        "{again:?}"
    );
}

/// The `run:` of the first step of job `a` in a workflow.
fn value_of(workflow: &str, step: usize) -> String {
    let v: yaml_serde::Value = yaml_serde::from_str(workflow).expect("yaml");
    v["jobs"]["a"]["steps"][step]["run"]
        .as_str()
        .expect("run")
        .to_string()
}

#[test]
fn fix_leaves_what_a_reviewer_accepted() {
    let env = Env::new();
    let wf = "name: r\non: issues\npermissions:\n  contents: read\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@b4ffde65f46336ab88eb53be808477a3936bae11 # v4 zizmor: ignore[artipacked]\n      - run: |\n          # cargo-slsa: ignore[template-injection] the title is only echoed to the log\n          echo \"${{ github.event.issue.title }}\"\n      - run: cargo build\n      - run: cargo test\n      - run: echo \"${{ github.event.issue.body }}\"\n";
    let project = project_with(wf);
    project.write(
        "Cargo.toml",
        "[workspace]\nmembers = []\n\n[workspace.metadata.slsa.harden]\nignore = [{ code = \"cargo-unlocked\", path = \".github/workflows/release.yml\", line = 13, reason = \"builds whatever resolves today, on purpose\" }]\n",
    );
    slsa(&env, project.path(), &["harden", "--fix"]);
    let after = project.read(".github/workflows/release.yml");
    let expected = wf
        .replace("cargo test", "cargo test --locked")
        .replace(
            "      - run: echo \"${{ github.event.issue.body }}\"\n",
            "      - run: echo \"${ISSUE_BODY}\"\n        env:\n          ISSUE_BODY: ${{ github.event.issue.body }}\n",
        );
    assert_eq!(after, expected, "only what nobody accepted was fixed");
    let report = json(&slsa(&env, project.path(), &["harden", "--format", "json"]));
    assert_eq!(
        report["summary"]["suppressed"].as_array().map(Vec::len),
        Some(3),
        "{report:#}"
    );
}
