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

#[test]
fn configured_ignores_accept_reviewed_findings_of_every_part() {
    let (env, project, db) = fixture();
    let dbp = db.path().to_str().expect("utf-8");
    let manifest = std::fs::read_to_string(project.path().join("Cargo.toml")).expect("manifest");
    let with = |config: &str| format!("{manifest}\n{config}");
    // One entry in harden's own section, one in check's (any part's code), next to an advisory
    // ignore of another id in audit's list.
    project.write(
        "Cargo.toml",
        with(
            "[package.metadata.slsa.harden]\nignore = [\n  { code = \"unpinned-uses\", path = \".github/workflows\", line = 9, reason = \"reviewed\" },\n]\n\n[package.metadata.slsa.audit]\nignore = [{ id = \"RUSTSEC-2000-0001\", reason = \"another crate\" }]\n\n[package.metadata.slsa.check]\nignore = [{ code = \"vulnerability\", path = \"Cargo.lock\", reason = \"not reachable\" }]\n",
        ),
    );
    let report = json(&slsa(
        &env,
        project.path(),
        &["check", "--db", dbp, "--offline", "--format", "json"],
    ));
    assert_eq!(
        codes(&report),
        ["ignore-unused"],
        "the audit ignore of another advisory is unused; nothing else is left: {report:#}"
    );
    let by: Vec<(&str, &str)> = report["summary"]["suppressed"]
        .as_array()
        .expect("suppressed")
        .iter()
        .map(|s| {
            (
                s["code"].as_str().expect("code"),
                s["reason"].as_str().expect("reason"),
            )
        })
        .collect();
    assert_eq!(
        by,
        [
            ("unpinned-uses", "reviewed"),
            ("vulnerability", "not reachable")
        ]
    );
    let sarif = json(&slsa(
        &env,
        project.path(),
        &["check", "--db", dbp, "--offline", "--format", "sarif"],
    ));
    let kinds: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["suppressions"][0]["justification"].as_str())
        .collect();
    assert_eq!(kinds, ["reviewed", "not reachable"]);

    // An expired entry stops accepting and says so; an entry whose line is elsewhere accepts
    // nothing — the finding is back and the entry is reported as unused.
    project.write(
        "Cargo.toml",
        with(
            "[package.metadata.slsa.harden]\nignore = [\n  { code = \"unpinned-uses\", path = \".github/workflows/ci.yml\", line = 11, reason = \"r\" },\n  { code = \"vulnerability\", path = \"Cargo.lock\", reason = \"r\" },\n]\n",
        ),
    );
    let out = slsa(
        &env,
        project.path(),
        &["check", "--db", dbp, "--offline", "--format", "json"],
    )
    .assert_code(2);
    assert!(
        out.stderr.contains("Cargo.toml:")
            && out
                .stderr
                .contains("`vulnerability` is not a finding code of `harden`"),
        "a section names only its command's codes: {out:?}"
    );
    project.write(
        "Cargo.toml",
        with(
            "[package.metadata.slsa.harden]\nignore = [\n  { code = \"unpinned-uses\", path = \".github/workflows/ci.yml\", line = 11, reason = \"r\" },\n]\n[package.metadata.slsa.check]\nignore = [{ code = \"vulnerability\", path = \"Cargo.lock\", reason = \"r\", until = \"2020-01-01\" }]\n",
        ),
    );
    let report = json(
        &slsa(
            &env,
            project.path(),
            &["check", "--db", dbp, "--offline", "--format", "json"],
        )
        .assert_code(1),
    );
    assert_eq!(
        codes(&report),
        [
            "ignore-expired",
            "ignore-unused",
            "unpinned-uses",
            "vulnerability"
        ],
        "{report:#}"
    );
    // A part that was skipped could not have used its entries: not reported as unused.
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
                "harden",
                "--format",
                "json",
            ],
        )
        .assert_code(1),
    );
    assert_eq!(
        codes(&report),
        ["ignore-expired", "vulnerability"],
        "{report:#}"
    );
}
