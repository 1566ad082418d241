//! `cargo slsa pin`: every finding code, every fix, idempotence, bad input, output formats.

use std::path::Path;

use slsa_tests::{CrateBuilder, Env, GitRemote, Project, basic_manifest, run, rustc_bin};

use crate::{codes, json, slsa, tree};

/// The release of the real rustc the kit points `RUSTC` at.
fn active_rustc() -> String {
    let out = run({
        let mut c = std::process::Command::new(rustc_bin());
        c.arg("-vV");
        c
    })
    .assert_success();
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix("release: "))
        .expect("release line")
        .trim()
        .to_string()
}

fn generate_lockfile(env: &Env, project: &Project) {
    let mut c = env.cargo(project.path());
    c.arg("generate-lockfile");
    run(c).assert_success();
}

/// A one-package project depending on `serde = "1"`, toolchain pinned, lock generated (crates
/// not yet downloaded).
fn locked_solo_project() -> (Env, Project) {
    let env = Env::new();
    publish_basics(&env);
    let project = Project::new()
        .file("Cargo.toml", basic_manifest("solo", &[("serde", "1")]))
        .file("src/lib.rs", "")
        .file("rust-toolchain.toml", "[toolchain]\nchannel = \"1.95.0\"\n")
        .build();
    generate_lockfile(&env, &project);
    (env, project)
}

fn publish_basics(env: &Env) {
    let r = env.registry();
    r.publish(CrateBuilder::new("serde", "1.0.0"));
    r.publish(CrateBuilder::new("serde", "1.0.5"));
    r.publish(CrateBuilder::new("log", "0.4.20"));
    r.publish(CrateBuilder::new("log", "0.4.21"));
    r.publish(CrateBuilder::new("wild", "0.2.0"));
    r.publish(CrateBuilder::new("anyhow", "1.0.0"));
    r.publish(CrateBuilder::new("patchme", "1.0.0"));
}

/// A two-member workspace exercising every dependency table pin looks at.
struct Fixture {
    env: Env,
    project: Project,
    branch_sha: String,
    tag_sha: String,
    patch_sha: String,
    ws_sha: String,
}

fn fixture(with_allow_list: bool) -> Fixture {
    let env = Env::new();
    publish_basics(&env);
    let branch_repo = GitRemote::crate_repo(env.scratch(), "gitbranch", "0.1.0");
    let branch_sha = branch_repo.head();
    let tag_repo = GitRemote::crate_repo(env.scratch(), "gittag", "1.0.0");
    tag_repo.tag("v1.0.0");
    let tag_sha = tag_repo.head();
    // A later commit on main: the tag must still resolve to the tagged one.
    tag_repo.commit(&[("src/lib.rs", "pub fn later() {}\n")], "after the tag");
    let patch_repo = GitRemote::crate_repo(env.scratch(), "patchme", "1.0.0");
    let patch_sha = patch_repo.head();
    let ws_repo = GitRemote::crate_repo(env.scratch(), "wsgit", "0.3.0");
    let ws_sha = ws_repo.head();

    let allow = if with_allow_list {
        format!(
            "\n[workspace.metadata.slsa.pin]\nallowed-sources = [\"crates.io\", \"file://{}\"]\n",
            env.scratch().display()
        )
    } else {
        String::new()
    };
    let root = format!(
        r#"# Workspace root: comments must survive pin.
[workspace]
resolver = "2"
members = ["app", "helper"]

[workspace.dependencies]
log = "0.4" # shared logger
wsgit = {{ git = "{wsgit}", branch = "main" }}
{allow}
[patch.crates-io]
patchme = {{ git = "{patch}", branch = "main" }}
"#,
        patch = patch_repo.url(),
        wsgit = ws_repo.url()
    );
    let app = format!(
        r#"[package]
name = "app"
version = "0.1.0"
edition = "2021"

[dependencies]
serde = "1.0"
log = {{ workspace = true }}
gitbranch = {{ git = "{branch}", branch = "main" }} # tracks main
patchme = "1"
ah = {{ package = "anyhow", version = "1" }}

[target.'cfg(unix)'.dependencies]
gittag = {{ git = "{tag}", tag = "v1.0.0" }}

[dev-dependencies]
wild = "*"
"#,
        branch = branch_repo.url(),
        tag = tag_repo.url()
    );
    let helper = r#"[package]
name = "helper"
version = "0.1.0"
edition = "2021"

[dependencies]
log.workspace = true
wsgit.workspace = true

[build-dependencies]
anyhow = "1.0"
"#;
    let project = Project::new()
        .file("Cargo.toml", root)
        .file("app/Cargo.toml", app)
        .file("app/src/lib.rs", "")
        .file("helper/Cargo.toml", helper)
        .file("helper/src/lib.rs", "")
        .build();
    Fixture {
        env,
        project,
        branch_sha,
        tag_sha,
        patch_sha,
        ws_sha,
    }
}

fn no_leftovers(dir: &Path) {
    for path in tree(dir).keys() {
        let name = path.to_string_lossy();
        assert!(
            !name.contains(".slsa-tmp") && !name.contains(".slsa-journal"),
            "left behind: {name}"
        );
    }
}

#[test]
fn check_reports_every_problem_and_writes_nothing() {
    let f = fixture(true);
    let before = tree(f.project.path());
    let out = slsa(
        &f.env,
        f.project.path(),
        &["pin", "--check", "--format", "json"],
    )
    .assert_code(1);
    assert_eq!(tree(f.project.path()), before, "--check wrote something");
    let report = json(&out);
    assert_eq!(report["version"], 1);
    assert_eq!(report["command"], "pin");
    assert_eq!(report["summary"]["lockfile"], "missing");
    assert_eq!(
        codes(&report),
        [
            "git-unpinned",
            "git-unpinned",
            "git-unpinned",
            "git-unpinned",
            "lockfile-missing",
            "toolchain-unpinned",
            "wildcard-requirement"
        ]
    );
    let findings = report["findings"].as_array().expect("findings");
    // --check asks the active rustc when the toolchain is unpinned, so its fix names the
    // version (this toolchain is a stable release) instead of claiming it is not one.
    let toolchain = findings
        .iter()
        .find(|f| f["code"] == "toolchain-unpinned")
        .expect("toolchain finding");
    let fix = toolchain["fix"].as_str().expect("fix");
    assert!(
        fix.contains("channel = \"1.") && !fix.contains("not a stable release"),
        "{toolchain}"
    );
    let branch = findings
        .iter()
        .find(|f| {
            f["message"]
                .as_str()
                .is_some_and(|m| m.contains("`gitbranch`"))
        })
        .expect("gitbranch finding");
    assert_eq!(branch["file"], "app/Cargo.toml");
    assert_eq!(branch["line"], 9);
    assert_eq!(branch["severity"], "error");
    let tag = findings
        .iter()
        .find(|f| {
            f["message"]
                .as_str()
                .is_some_and(|m| m.contains("`gittag`"))
        })
        .expect("gittag finding");
    assert!(
        tag["message"].as_str().is_some_and(
            |m| m.contains("[target.'cfg(unix)'.dependencies]") && m.contains("tag `v1.0.0`")
        ),
        "{tag}"
    );
    let in_root: Vec<&str> = findings
        .iter()
        .filter(|f| f["file"] == "Cargo.toml")
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert_eq!(in_root.len(), 2, "{in_root:?}");
    assert!(
        in_root[0].contains("`wsgit` in [workspace.dependencies]"),
        "{in_root:?}"
    );
    assert!(
        in_root[1].contains("`patchme` in [patch.crates-io]"),
        "{in_root:?}"
    );
    assert!(report["changes"].as_array().is_some_and(Vec::is_empty));
}

#[test]
fn fix_pins_everything_and_a_second_run_changes_nothing() {
    let f = fixture(true);
    let out = slsa(&f.env, f.project.path(), &["pin", "--format", "json"]).assert_success();
    let report = json(&out);
    assert!(
        report["findings"].as_array().is_some_and(Vec::is_empty),
        "{out:?}"
    );
    let changed: Vec<&str> = report["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["file"].as_str())
        .collect();
    for file in [
        "Cargo.lock",
        "Cargo.toml",
        "app/Cargo.toml",
        "rust-toolchain.toml",
    ] {
        assert!(changed.contains(&file), "{file} not in {changed:?}");
    }

    let app = f.project.read("app/Cargo.toml");
    assert!(
        app.contains("gitbranch = { git = ")
            && app.contains(&format!("rev = \"{}\" }} # tracks main", f.branch_sha)),
        "{app}"
    );
    assert!(app.contains(&format!("rev = \"{}\"", f.tag_sha)), "{app}");
    assert!(
        !app.contains("branch = \"main\"") && !app.contains("tag = \"v1.0.0\""),
        "{app}"
    );
    assert!(app.contains("wild = \"0.2.0\""), "{app}");
    // Untouched lines stay byte for byte.
    assert!(
        app.contains("serde = \"1.0\"\nlog = { workspace = true }\n"),
        "{app}"
    );
    let root = f.project.read("Cargo.toml");
    assert!(
        root.starts_with("# Workspace root: comments must survive pin.\n"),
        "{root}"
    );
    assert!(root.contains("log = \"0.4\" # shared logger"), "{root}");
    assert!(
        root.contains(&format!("rev = \"{}\"", f.patch_sha)),
        "{root}"
    );
    assert!(
        root.contains("wsgit = { git = \"file://")
            && root.contains(&format!("rev = \"{}\" }}", f.ws_sha)),
        "{root}"
    );
    assert_eq!(
        f.project.read("rust-toolchain.toml"),
        format!("[toolchain]\nchannel = \"{}\"\n", active_rustc())
    );
    let lock = f.project.read("Cargo.lock");
    assert!(
        lock.contains(&format!("?rev={0}#{0}\"", f.branch_sha)),
        "the lock follows the pinned rev: {lock}"
    );

    // The result passes its own check, and cargo agrees the lock is current.
    slsa(&f.env, f.project.path(), &["pin", "--check"]).assert_success();
    let mut metadata = f.env.cargo(f.project.path());
    metadata.args(["metadata", "--locked", "--format-version", "1"]);
    run(metadata).assert_success();

    // Idempotent: a second run writes nothing and reports no change.
    let before = tree(f.project.path());
    let again =
        json(&slsa(&f.env, f.project.path(), &["pin", "--format", "json"]).assert_success());
    assert!(
        again["changes"].as_array().is_some_and(Vec::is_empty),
        "{again}"
    );
    assert_eq!(tree(f.project.path()), before);
    no_leftovers(f.project.path());
}

#[test]
fn exact_pins_registry_requirements_to_the_locked_versions() {
    let f = fixture(true);
    generate_lockfile(&f.env, &f.project);
    let out = slsa(
        &f.env,
        f.project.path(),
        &["pin", "--exact", "--toolchain", "1.95.0"],
    )
    .assert_success();
    assert!(out.stdout.contains("changed app/Cargo.toml"), "{out:?}");

    let app = f.project.read("app/Cargo.toml");
    assert!(app.contains("serde = \"=1.0.5\"\n"), "{app}");
    assert!(
        app.contains("ah = { package = \"anyhow\", version = \"=1.0.0\" }"),
        "{app}"
    );
    assert!(app.contains("wild = \"=0.2.0\""), "{app}");
    assert!(app.contains("patchme = \"=1.0.0\""), "{app}");
    assert!(
        app.contains("log = { workspace = true }"),
        "inherited deps are edited at the root: {app}"
    );
    let root = f.project.read("Cargo.toml");
    assert!(root.contains("log = \"=0.4.21\" # shared logger"), "{root}");
    let helper = f.project.read("helper/Cargo.toml");
    assert!(helper.contains("anyhow = \"=1.0.0\""), "{helper}");
    assert!(helper.contains("log.workspace = true"), "{helper}");
    assert_eq!(
        f.project.read("rust-toolchain.toml"),
        "[toolchain]\nchannel = \"1.95.0\"\n"
    );

    slsa(
        &f.env,
        f.project.path(),
        &["pin", "--check", "--exact", "--toolchain", "1.95.0"],
    )
    .assert_success();
    // Without --exact the same tree is also clean; with a config `exact = true` it is checked.
    slsa(&f.env, f.project.path(), &["pin", "--check"]).assert_success();
}

#[test]
fn inexact_requirements_are_only_reported_with_exact() {
    let (env, project) = locked_solo_project();
    slsa(&env, project.path(), &["pin", "--check"]).assert_success();
    let verbose = slsa(&env, project.path(), &["pin", "--check", "-v"]).assert_success();
    assert!(
        verbose.stderr.contains("running: ")
            && verbose.stderr.contains("metadata --format-version 1"),
        "{verbose:?}"
    );
    let out = slsa(
        &env,
        project.path(),
        &["pin", "--check", "--exact", "--format", "json"],
    )
    .assert_code(1);
    let report = json(&out);
    assert_eq!(codes(&report), ["inexact-requirement"]);
    assert_eq!(report["findings"][0]["line"], 10);
    assert_eq!(
        report["findings"][0]["fix"],
        "version = \"=1.0.5\" (the version Cargo.lock has)"
    );

    // `exact = true` in the config does the same as the flag.
    let manifest = project.read("Cargo.toml");
    project.write(
        "Cargo.toml",
        manifest.replace(
            "[workspace]\n",
            "[workspace]\n\n[workspace.metadata.slsa.pin]\nexact = true\n",
        ),
    );
    slsa(&env, project.path(), &["pin", "--check"]).assert_code(1);
}

#[test]
fn a_stale_lock_is_reported_then_updated_minimally() {
    let (env, project) = locked_solo_project();
    // A newer serde appears; a minimal update must not take it.
    env.registry().publish(CrateBuilder::new("serde", "1.0.9"));
    let manifest = project.read("Cargo.toml");
    project.write("Cargo.toml", format!("{manifest}log = \"0.4\"\n"));

    let before = tree(project.path());
    let out = slsa(
        &env,
        project.path(),
        &["pin", "--check", "--format", "json"],
    )
    .assert_code(1);
    assert_eq!(codes(&json(&out)), ["lockfile-stale"]);
    assert_eq!(tree(project.path()), before);

    let out = slsa(&env, project.path(), &["pin"]).assert_success();
    assert!(
        out.stdout
            .contains("changed Cargo.lock: updated minimally: 1 entries added, 0 removed"),
        "{out:?}"
    );
    let lock = project.lock();
    let version = |name: &str| {
        lock.iter()
            .find(|p| p.name == name)
            .map(|p| p.version.clone())
            .unwrap_or_default()
    };
    assert_eq!(version("serde"), "1.0.5");
    assert_eq!(version("log"), "0.4.21");
    slsa(&env, project.path(), &["pin", "--check"]).assert_success();
    no_leftovers(project.path());
}

#[test]
fn toolchain_channels_are_pinned_exactly() {
    let env = Env::new();
    publish_basics(&env);
    let project = Project::new()
        .file("Cargo.toml", basic_manifest("solo", &[]))
        .file("src/lib.rs", "")
        .file(
            "rust-toolchain.toml",
            "[toolchain]\n# moving target\nchannel = \"stable\"\ncomponents = [\"clippy\", \"rustfmt\"]\ntargets = [\"wasm32-unknown-unknown\"]\n",
        )
        .build();
    generate_lockfile(&env, &project);
    let out = slsa(&env, project.path(), &["pin", "--check"]).assert_code(1);
    assert!(
        out.stdout.contains(
            "error[toolchain-unpinned]: toolchain channel `stable` is not an exact version"
        ),
        "{out:?}"
    );
    assert!(out.stdout.contains("--> rust-toolchain.toml:3"), "{out:?}");
    assert!(out.stdout.contains("3 | channel = \"stable\""), "{out:?}");

    slsa(&env, project.path(), &["pin"]).assert_success();
    let active = active_rustc();
    assert_eq!(
        project.read("rust-toolchain.toml"),
        format!(
            "[toolchain]\n# moving target\nchannel = \"{active}\"\ncomponents = [\"clippy\", \"rustfmt\"]\ntargets = [\"wasm32-unknown-unknown\"]\n"
        )
    );

    // A required version that differs is a finding, and the fix writes it.
    let out = slsa(
        &env,
        project.path(),
        &["pin", "--check", "--toolchain", "1.90.0"],
    )
    .assert_code(1);
    assert!(
        out.stdout
            .contains(&format!("pinned to `{active}`, but `1.90.0` is required")),
        "{out:?}"
    );
    slsa(&env, project.path(), &["pin", "--toolchain", "1.90.0"]).assert_success();
    assert!(
        project
            .read("rust-toolchain.toml")
            .contains("channel = \"1.90.0\"")
    );
    // `--toolchain` without a value means "the active rustc's".
    slsa(&env, project.path(), &["pin", "--check", "--toolchain"]).assert_code(1);
    slsa(&env, project.path(), &["pin", "--toolchain"]).assert_success();
    assert!(
        project
            .read("rust-toolchain.toml")
            .contains(&format!("channel = \"{active}\""))
    );

    // Not an exact version: usage error, nothing written.
    let before = tree(project.path());
    let out = slsa(&env, project.path(), &["pin", "--toolchain", "1.95"]).assert_code(2);
    assert!(out.stderr.contains("not an exact toolchain"), "{out:?}");
    assert_eq!(tree(project.path()), before);

    // A legacy plain `rust-toolchain` file is kept in its format.
    project.remove("rust-toolchain.toml");
    project.write("rust-toolchain", "nightly\n");
    slsa(&env, project.path(), &["pin", "--check"]).assert_code(1);
    slsa(&env, project.path(), &["pin"]).assert_success();
    assert_eq!(project.read("rust-toolchain"), format!("{active}\n"));
    assert!(!project.exists("rust-toolchain.toml"));
}

#[test]
fn sources_outside_the_allow_list_are_reported() {
    let f = fixture(false);
    slsa(&f.env, f.project.path(), &["pin", "--toolchain", "1.95.0"]).assert_code(1);
    let out = slsa(
        &f.env,
        f.project.path(),
        &["pin", "--check", "--format", "json"],
    )
    .assert_code(1);
    let report = json(&out);
    assert_eq!(
        codes(&report),
        [
            "source-not-allowed",
            "source-not-allowed",
            "source-not-allowed",
            "source-not-allowed"
        ],
        "one finding per repository"
    );
    let first = &report["findings"][0];
    assert_eq!(first["file"], "Cargo.lock");
    let line = first["line"].as_u64().expect("line") as usize;
    let lock = f.project.read("Cargo.lock");
    assert!(
        lock.lines()
            .nth(line - 1)
            .is_some_and(|l| l.starts_with("source = \"git+file://")),
        "{first}"
    );

    // Allow-listing the host clears them; a malformed entry is an input error at the config.
    let root = f.project.read("Cargo.toml");
    f.project.write(
        "Cargo.toml",
        root.replace(
            "[patch.crates-io]",
            &format!("[workspace.metadata.slsa.pin]\nallowed-sources = [\"crates.io\", \"file://{}/\"]\n\n[patch.crates-io]", f.env.scratch().display()),
        ),
    );
    slsa(&f.env, f.project.path(), &["pin", "--check"]).assert_success();
    f.project.write(
        "Cargo.toml",
        root.replace("[patch.crates-io]", "[workspace.metadata.slsa.pin]\nallowed-sources = [\"github.com/me\"]\n\n[patch.crates-io]"),
    );
    let out = slsa(&f.env, f.project.path(), &["pin", "--check"]).assert_code(2);
    assert!(
        out.stderr.contains("must be \"crates.io\" or a URL prefix"),
        "{out:?}"
    );
}

#[test]
fn bad_input_exits_2_with_a_location_and_writes_nothing() {
    let env = Env::new();
    publish_basics(&env);
    let project = Project::new()
        .file(
            "Cargo.toml",
            "[package]\nname = \"solo\"\nversion = \"0.1.0\nedition = \"2021\"\n",
        )
        .file("src/lib.rs", "")
        .build();
    let before = tree(project.path());
    for args in [&["pin", "--check"][..], &["pin"][..]] {
        let out = slsa(&env, project.path(), args).assert_code(2);
        assert!(out.stderr.contains("Cargo.toml:3:"), "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
        assert_eq!(tree(project.path()), before);
    }

    // A malformed member manifest: cargo's message names the file and line.
    let ws = Project::new()
        .file("Cargo.toml", "[workspace]\nmembers = [\"m\"]\n")
        .file(
            "m/Cargo.toml",
            "[package]\nname = \"m\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies\n",
        )
        .file("m/src/lib.rs", "")
        .build();
    let before = tree(ws.path());
    let out = slsa(&env, ws.path(), &["pin"]).assert_code(2);
    assert!(out.stderr.contains("m/Cargo.toml:5:"), "{out:?}");
    assert_eq!(tree(ws.path()), before);

    // A package that is not part of the workspace above it.
    let outside = Project::new()
        .file("Cargo.toml", "[workspace]\nmembers = []\n")
        .file(
            "stray/Cargo.toml",
            "[package]\nname = \"stray\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        )
        .file("stray/src/lib.rs", "")
        .build();
    let out = slsa(&env, &outside.join("stray"), &["pin", "--check"]).assert_code(2);
    assert!(out.stderr.contains("workspace"), "{out:?}");

    // A typo in the configuration is located.
    let typo = Project::new()
        .file(
            "Cargo.toml",
            format!(
                "{}\n[workspace.metadata.slsa.pin]\nallowed-source = []\n",
                basic_manifest("t", &[])
            ),
        )
        .file("src/lib.rs", "")
        .build();
    let out = slsa(&env, typo.path(), &["pin"]).assert_code(2);
    assert!(
        out.stderr.contains("Cargo.toml:10:") && out.stderr.contains("allowed-source"),
        "{out:?}"
    );

    // Missing manifest, missing cargo, malformed lock.
    let good = Project::new()
        .file("Cargo.toml", basic_manifest("g", &[("serde", "1")]))
        .file("src/lib.rs", "")
        .build();
    let out = slsa(
        &env,
        good.path(),
        &["pin", "--manifest-path", "nope/Cargo.toml"],
    )
    .assert_code(2);
    assert!(
        out.stderr.contains("nope/Cargo.toml: no such manifest"),
        "{out:?}"
    );
    let mut no_cargo = env.command(crate::bin(), good.path());
    no_cargo.env("CARGO", "/nonexistent/cargo").args(["pin"]);
    let out = run(no_cargo).assert_code(2);
    assert!(out.stderr.contains("not found"), "{out:?}");
    good.write(
        "Cargo.lock",
        "version = 4\n[[package]]\nname = \"g\"\nversion = \n",
    );
    let before = tree(good.path());
    let out = slsa(&env, good.path(), &["pin"]).assert_code(2);
    assert!(out.stderr.contains("Cargo.lock"), "{out:?}");
    assert_eq!(tree(good.path()), before);
}

#[test]
fn output_formats_share_one_report() {
    let f = fixture(true);
    let summary = f.env.scratch().join("summary.md");
    let mut gh = f.env.command(crate::bin(), f.project.path());
    gh.args(["pin", "--check", "--format", "github"])
        .env("GITHUB_STEP_SUMMARY", &summary);
    let out = run(gh).assert_code(1);
    assert!(
        out.stdout.contains("::error file=app/Cargo.toml,line=9,title=cargo slsa pin%3A git-unpinned::git dependency `gitbranch`"),
        "{out:?}"
    );
    let md = std::fs::read_to_string(&summary).expect("summary written");
    assert!(md.starts_with("## cargo slsa pin\n"), "{md}");
    assert!(
        md.contains("| error | `git-unpinned` | `app/Cargo.toml:9` |"),
        "{md}"
    );

    let out = slsa(
        &f.env,
        f.project.path(),
        &["pin", "--check", "--format", "sarif"],
    )
    .assert_code(1);
    let sarif = json(&out);
    assert_eq!(sarif["version"], "2.1.0");
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    assert_eq!(rules.len(), 7, "one rule per pin code");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 7);
    let located = results
        .iter()
        .find(|r| r["ruleId"] == "git-unpinned")
        .expect("git-unpinned result");
    let loc = &located["locations"][0]["physicalLocation"];
    assert!(loc["region"]["startLine"].as_u64().is_some_and(|l| l >= 1));
    assert!(
        loc["artifactLocation"]["uri"]
            .as_str()
            .is_some_and(|u| u.ends_with("Cargo.toml"))
    );
    let idx = located["ruleIndex"].as_u64().expect("ruleIndex") as usize;
    assert_eq!(rules[idx]["id"], "git-unpinned");

    let out = slsa(&f.env, f.project.path(), &["pin", "--check"]).assert_code(1);
    assert!(out.stdout.contains("error[git-unpinned]: git dependency `gitbranch` in [dependencies] follows branch `main`"), "{out:?}");
    assert!(out.stdout.contains(" --> app/Cargo.toml:9\n"), "{out:?}");
    assert!(out.stdout.contains("9 | gitbranch = { git = "), "{out:?}");
    assert!(
        out.stdout
            .contains("pin: failed: 7 errors, 0 warnings, 0 notes; 0 changes"),
        "{out:?}"
    );
    assert!(
        !out.stdout.contains('\u{1b}'),
        "no colour when NO_COLOR is set: {out:?}"
    );
    let forced = slsa(
        &f.env,
        f.project.path(),
        &["pin", "--check", "--color", "always"],
    )
    .assert_code(1);
    assert!(forced.stdout.contains("\u{1b}["), "{forced:?}");
}

#[test]
fn an_interrupted_lock_write_is_rolled_back() {
    let (env, project) = locked_solo_project();
    let original = project.read("Cargo.lock");
    // What a kill during cargo's in-place write leaves: our journal and half a lock.
    project.write(
        "Cargo.lock.slsa-journal",
        format!("cargo-slsa journal v1: present\n{original}"),
    );
    project.write("Cargo.lock", &original[..original.len() / 2]);
    let out = slsa(&env, project.path(), &["pin", "--check"]).assert_success();
    assert!(out.stdout.contains("restored"), "{out:?}");
    assert_eq!(project.read("Cargo.lock"), original);
    no_leftovers(project.path());
}

#[test]
fn offline_never_touches_the_network() {
    let (env, project) = locked_solo_project();
    // The lock is resolved but serde's .crate is not downloaded yet: offline, that is an error.
    env.registry().clear_requests();
    let out = slsa(&env, project.path(), &["pin", "--check", "--offline"]).assert_code(2);
    assert!(out.stderr.contains("offline"), "{out:?}");
    assert!(
        env.registry().requests().is_empty(),
        "{:?}",
        env.registry().requests()
    );
    // Online the same check downloads it; afterwards offline works and stays silent.
    slsa(&env, project.path(), &["pin", "--check"]).assert_success();
    assert!(!env.registry().requests().is_empty());
    env.registry().clear_requests();
    slsa(&env, project.path(), &["pin", "--check", "--offline"]).assert_success();
    assert!(
        env.registry().requests().is_empty(),
        "{:?}",
        env.registry().requests()
    );
}

#[test]
fn a_configured_ignore_accepts_a_pin_finding_next_to_the_pin_policy() {
    let env = Env::new();
    publish_basics(&env);
    let manifest = format!(
        "{}\n[package.metadata.slsa.pin]\nexact = false\nignore = [{{ code = \"toolchain-unpinned\", path = \"rust-toolchain.toml\", reason = \"a library tested on stable\" }}]\n",
        basic_manifest("solo", &[])
    );
    let project = Project::new()
        .file("Cargo.toml", &manifest)
        .file("src/lib.rs", "")
        .file("rust-toolchain.toml", "[toolchain]\nchannel = \"stable\"\n")
        .build();
    generate_lockfile(&env, &project);
    let out = slsa(&env, project.path(), &["pin", "--check", "-v"]).assert_success();
    assert!(
        out.stdout.contains("1 suppressed")
            && out
                .stdout
                .contains("accepted by the configuration: a library tested on stable"),
        "{out:?}"
    );
    // The policy keys beside it are still checked.
    project.write(
        "Cargo.toml",
        manifest.replace("exact = false", "exactly = false"),
    );
    let out = slsa(&env, project.path(), &["pin", "--check"]).assert_code(2);
    assert!(out.stderr.contains("exactly"), "{out:?}");
}
