//! `cargo slsa check`: one report and one exit code over pin, audit and harden; SARIF rules of
//! every part; skipping parts; a part that cannot run fails the gate with exit 2.

use slsa_tests::{Advisory, AdvisoryDb, CrateBuilder, Env, Project, basic_manifest};

use crate::{codes, json, slsa, tree};

fn fixture() -> (Env, Project, AdvisoryDb) {
    let env = Env::new();
    env.registry().publish(CrateBuilder::new("vulny", "1.0.0"));
    let project = Project::new()
        .file("Cargo.toml", basic_manifest("app", &[("vulny", "1")]))
        .file("src/lib.rs", "")
        .file("rust-toolchain.toml", "[toolchain]\nchannel = \"1.95.0\"\n")
        .file(".git/HEAD", "ref: refs/heads/main\n")
        .file(
            ".github/workflows/ci.yml",
            "name: ci\non: pull_request\npermissions:\n  contents: read\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          persist-credentials: false\n      - run: cargo test --locked\n",
        )
        .build();
    crate::lock_and_fetch(&env, &project);
    let db = AdvisoryDb::new(&[Advisory::new("RUSTSEC-2024-9001", "vulny").patched(">= 2.0.0")]);
    (env, project, db)
}

#[test]
fn one_report_over_every_part() {
    let (env, project, db) = fixture();
    let dbp = db.path().to_str().expect("utf-8");
    let before = tree(project.path());
    let out = slsa(
        &env,
        project.path(),
        &["check", "--db", dbp, "--offline", "--format", "json"],
    )
    .assert_code(1);
    assert_eq!(tree(project.path()), before, "check writes nothing");
    let report = json(&out);
    assert_eq!(report["command"], "check");
    // harden: the unpinned checkout; audit: the vulnerability; pin: nothing (all pinned).
    assert_eq!(codes(&report), ["unpinned-uses", "vulnerability"]);
    let parts = &report["summary"]["parts"];
    assert_eq!(parts["pin"]["failed"], false);
    assert_eq!(parts["audit"]["failed"], true);
    assert_eq!(parts["harden"]["findings"], 1);

    // SARIF carries the rules of every part.
    let sarif = json(
        &slsa(
            &env,
            project.path(),
            &["check", "--db", dbp, "--offline", "--format", "sarif"],
        )
        .assert_code(1),
    );
    let rules: Vec<&str> = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    for code in [
        "lockfile-missing",
        "vulnerability",
        "unpinned-uses",
        "cargo-unlocked",
    ] {
        assert!(rules.contains(&code), "{code} missing from {rules:?}");
    }
    assert_eq!(
        sarif["runs"][0]["results"]
            .as_array()
            .expect("results")
            .len(),
        2
    );
}

#[test]
fn parts_can_be_skipped_and_a_part_that_cannot_run_fails_the_gate() {
    let (env, project, db) = fixture();
    let dbp = db.path().to_str().expect("utf-8");
    let report = json(
        &slsa(
            &env,
            project.path(),
            &[
                "check",
                "--db",
                dbp,
                "--offline",
                "--skip",
                "audit",
                "--format",
                "json",
            ],
        )
        .assert_code(1),
    );
    assert_eq!(codes(&report), ["unpinned-uses"]);
    slsa(
        &env,
        project.path(),
        &["check", "--offline", "--skip", "audit", "--skip", "harden"],
    )
    .assert_code(0);
    // No database and no way to fetch one: exit 2, not a pass — and the other parts' findings
    // are still reported, in every format.
    let out = slsa(
        &env,
        project.path(),
        &["check", "--no-fetch", "--offline", "--format", "json"],
    )
    .assert_code(2);
    let report = json(&out);
    assert_eq!(codes(&report), ["input-error", "unpinned-uses"], "{report}");
    let parts = &report["summary"]["parts"];
    assert_eq!(parts["audit"]["ran"], false);
    assert!(
        parts["audit"]["error"]
            .as_str()
            .expect("why")
            .contains("advisory-db"),
        "{parts}"
    );
    assert_eq!(parts["harden"]["ran"], true);
    assert_eq!(parts["pin"]["ran"], true);
    let human = slsa(&env, project.path(), &["check", "--no-fetch", "--offline"]).assert_code(2);
    assert!(
        human.stdout.contains("audit could not run") && human.stdout.contains("unpinned-uses"),
        "{human:?}"
    );
    let sarif = json(
        &slsa(
            &env,
            project.path(),
            &["check", "--no-fetch", "--offline", "--format", "sarif"],
        )
        .assert_code(2),
    );
    let ids: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["ruleId"].as_str().expect("rule"))
        .collect();
    assert!(
        ids.contains(&"input-error") && ids.contains(&"unpinned-uses"),
        "{sarif}"
    );
    // A broken workflow among good ones: reported, the rest still audited.
    project.write(
        ".github/workflows/broken.yml",
        "name: b\non: push\njobs:\n  a: [\n",
    );
    let report = json(
        &slsa(
            &env,
            project.path(),
            &["check", "--db", dbp, "--offline", "--format", "json"],
        )
        .assert_code(2),
    );
    assert_eq!(
        codes(&report),
        ["input-error", "unpinned-uses", "vulnerability"],
        "{report}"
    );
}

#[test]
fn warnings_fail_with_deny_warnings() {
    let (env, project, _) = fixture();
    let db = AdvisoryDb::new(&[
        Advisory::new("RUSTSEC-2024-9002", "vulny").informational("unmaintained")
    ]);
    let dbp = db.path().to_str().expect("utf-8");
    slsa(
        &env,
        project.path(),
        &["check", "--db", dbp, "--offline", "--skip", "harden"],
    )
    .assert_code(0);
    slsa(
        &env,
        project.path(),
        &[
            "check",
            "--db",
            dbp,
            "--offline",
            "--skip",
            "harden",
            "--deny",
            "warnings",
        ],
    )
    .assert_code(1);
}

#[test]
fn a_vendor_directory_is_verified() {
    let (env, project, _) = fixture();
    slsa(&env, project.path(), &["vendor", "--offline"]).assert_success();
    slsa(
        &env,
        project.path(),
        &["check", "--offline", "--skip", "audit", "--skip", "harden"],
    )
    .assert_code(0);
    project.write("vendor/vulny/src/lib.rs", "// changed\n");
    let report = json(
        &slsa(
            &env,
            project.path(),
            &[
                "check",
                "--offline",
                "--skip",
                "audit",
                "--skip",
                "harden",
                "--format",
                "json",
            ],
        )
        .assert_code(1),
    );
    assert_eq!(codes(&report), ["vendor-modified"]);
    assert_eq!(report["summary"]["parts"]["vendor"]["failed"], true);
}
