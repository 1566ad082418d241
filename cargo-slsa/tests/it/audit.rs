//! `cargo slsa audit`: every finding kind, ignores and their expiry, deny levels, offline and
//! no-fetch behaviour, bad input, and agreement with rustsec's own database query.

use std::collections::BTreeSet;

use slsa_tests::{Advisory, AdvisoryDb, CrateBuilder, Env, Project, basic_manifest, run};

use crate::{codes, json, slsa, tree};

/// A registry with a vulnerable crate behind a middle crate, an unmaintained one, an unsound
/// one, one that gets yanked, and a clean one; a project locked to all of them.
fn fixture(extra_manifest: &str) -> (Env, Project) {
    let env = Env::new();
    let r = env.registry();
    r.publish(CrateBuilder::new("vulny", "1.0.0"));
    r.publish(CrateBuilder::new("vulny", "1.2.0"));
    r.publish(CrateBuilder::new("mid", "1.0.0").dep("vulny", "=1.0.0"));
    r.publish(CrateBuilder::new("oldie", "0.1.0"));
    r.publish(CrateBuilder::new("wobbly", "0.3.0"));
    r.publish(CrateBuilder::new("yanky", "1.0.0"));
    r.publish(CrateBuilder::new("safe", "2.0.0"));
    let manifest = basic_manifest(
        "app",
        &[
            ("mid", "1"),
            ("oldie", "0.1"),
            ("wobbly", "0.3"),
            ("yanky", "=1.0.0"),
            ("safe", "2"),
        ],
    ) + extra_manifest;
    let project = Project::new()
        .file("Cargo.toml", manifest)
        .file("src/lib.rs", "")
        .build();
    let mut c = env.cargo(project.path());
    c.arg("generate-lockfile");
    run(c).assert_success();
    r.yank("yanky", "1.0.0");
    (env, project)
}

fn db() -> AdvisoryDb {
    AdvisoryDb::new(&[
        Advisory::new("RUSTSEC-2024-9001", "vulny")
            .title("Vulny overflows its buffer")
            .alias("CVE-2024-99001")
            .alias("GHSA-aaaa-bbbb-cccc")
            .patched(">= 1.2.0")
            .cvss("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
        Advisory::new("RUSTSEC-2024-9002", "oldie")
            .title("oldie is unmaintained")
            .informational("unmaintained"),
        Advisory::new("RUSTSEC-2024-9003", "wobbly")
            .title("wobbly hands out aliasing references")
            .informational("unsound")
            .patched(">= 0.4.0"),
        // Not reported: the locked version is patched, the advisory was withdrawn, a notice.
        Advisory::new("RUSTSEC-2024-9004", "safe").patched(">= 2.0.0"),
        Advisory::new("RUSTSEC-2024-9005", "safe").withdrawn("2024-02-01"),
        Advisory::new("RUSTSEC-2024-9006", "safe").informational("notice"),
        // Not in the lock at all.
        Advisory::new("RUSTSEC-2024-9007", "elsewhere"),
    ])
}

fn audit(env: &Env, project: &Project, db: &AdvisoryDb, extra: &[&str]) -> serde_json::Value {
    let db_path = db.path().to_str().expect("utf-8 path");
    let mut args = vec!["audit", "--db", db_path, "--format", "json"];
    args.extend_from_slice(extra);
    let out = slsa(env, project.path(), &args);
    assert!(matches!(out.code, 0 | 1), "{out:?}");
    json(&out)
}

fn finding<'a>(report: &'a serde_json::Value, code: &str) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} finding in {report:#}"))
}

#[test]
fn reports_every_kind_with_ids_paths_and_lock_lines() {
    let (env, project) = fixture("");
    let db = db();
    let before = tree(project.path());
    let out = slsa(
        &env,
        project.path(),
        &[
            "audit",
            "--db",
            db.path().to_str().expect("utf-8"),
            "--format",
            "json",
        ],
    )
    .assert_code(1);
    assert_eq!(tree(project.path()), before, "audit writes nothing");
    let report = json(&out);
    assert_eq!(
        codes(&report),
        ["unmaintained", "unsound", "vulnerability", "yanked"]
    );

    let vuln = finding(&report, "vulnerability");
    let msg = vuln["message"].as_str().expect("message");
    for part in [
        "`vulny 1.0.0`",
        "RUSTSEC-2024-9001",
        "CVE-2024-99001",
        "GHSA-aaaa-bbbb-cccc",
        "Vulny overflows its buffer",
        "app 0.1.0 → mid 1.0.0 → vulny 1.0.0",
    ] {
        assert!(msg.contains(part), "{part:?} missing from {msg}");
    }
    assert!(
        vuln["fix"].as_str().expect("fix").contains(">=1.2.0"),
        "{vuln}"
    );
    assert_eq!(vuln["file"], "Cargo.lock");
    let line = vuln["line"].as_u64().expect("line") as usize;
    let lock = project.read("Cargo.lock");
    assert_eq!(lock.lines().nth(line - 1), Some("name = \"vulny\""));

    assert_eq!(finding(&report, "unmaintained")["severity"], "warning");
    assert!(
        finding(&report, "unsound")["message"]
            .as_str()
            .expect("message")
            .contains("RUSTSEC-2024-9003")
    );
    let yanked = finding(&report, "yanked");
    assert!(
        yanked["message"]
            .as_str()
            .expect("message")
            .contains("`yanky 1.0.0`")
    );

    let summary = &report["summary"];
    assert_eq!(summary["counts"]["vulnerabilities"], 1);
    assert_eq!(summary["yanked_checked"], true);
    let listed = summary["advisories"].as_array().expect("advisories");
    let vulny = listed
        .iter()
        .find(|a| a["id"] == "RUSTSEC-2024-9001")
        .expect("listed");
    assert_eq!(vulny["patched"], serde_json::json!([">=1.2.0"]));
    assert_eq!(
        vulny["path"],
        serde_json::json!(["app 0.1.0", "mid 1.0.0", "vulny 1.0.0"])
    );
    assert!(
        vulny["cvss"]
            .as_str()
            .expect("cvss")
            .starts_with("CVSS:3.1/")
    );
}

#[test]
fn the_same_vulnerabilities_as_rustsec_s_own_query() {
    let (env, project) = fixture("");
    let db = db();
    let report = audit(&env, &project, &db, &["--offline"]);
    let ours: BTreeSet<String> = report["summary"]["advisories"]
        .as_array()
        .expect("advisories")
        .iter()
        .filter(|a| a["kind"] == "vulnerability")
        .map(|a| a["id"].as_str().expect("id").to_string())
        .collect();
    let database = rustsec::Database::open(db.path()).expect("rustsec opens the fixture db");
    let lockfile =
        rustsec::Lockfile::load(project.join("Cargo.lock")).expect("rustsec reads the lock");
    let theirs: BTreeSet<String> = database
        .vulnerabilities(&lockfile)
        .iter()
        .map(|v| v.advisory.id.to_string())
        .collect();
    assert_eq!(ours, theirs);
    assert!(!ours.is_empty());
}

#[test]
fn ignores_need_reasons_expire_and_report_unused_entries() {
    let config = "\n[package.metadata.slsa.audit]\nignore = [\n  \
        { id = \"CVE-2024-99001\", reason = \"only reachable with untrusted input\", until = \"2999-12-31\" },\n  \
        { id = \"RUSTSEC-2024-9002\", reason = \"replacing it next quarter\", until = \"2001-01-01\" },\n  \
        { id = \"RUSTSEC-2000-0001\", reason = \"left over\" },\n]\n";
    let (env, project) = fixture(config);
    let db = db();
    let report = audit(&env, &project, &db, &["--offline"]);
    // The vulnerability is ignored through its CVE alias, so nothing fails.
    assert_eq!(report["summary"]["failed"], false, "{report:#}");
    assert_eq!(
        codes(&report),
        ["ignore-expired", "ignore-unused", "unmaintained", "unsound"]
    );
    let ignored = report["summary"]["ignored"].as_array().expect("ignored");
    assert_eq!(ignored.len(), 1);
    assert_eq!(ignored[0]["id"], "RUSTSEC-2024-9001");
    assert_eq!(ignored[0]["reason"], "only reachable with untrusted input");

    let expired = finding(&report, "ignore-expired");
    assert_eq!(expired["file"], "Cargo.toml");
    let manifest = project.read("Cargo.toml");
    let line = expired["line"].as_u64().expect("line") as usize;
    assert!(
        manifest
            .lines()
            .nth(line - 1)
            .expect("line exists")
            .contains("RUSTSEC-2024-9002")
    );
    assert!(
        expired["message"]
            .as_str()
            .expect("msg")
            .contains("2001-01-01")
    );
    assert_eq!(finding(&report, "ignore-unused")["severity"], "note");
}

#[test]
fn deny_warnings_from_the_flag_or_the_config() {
    let ignore_vuln = "\n[package.metadata.slsa.audit]\nignore = [{ id = \"RUSTSEC-2024-9001\", reason = \"r\" }]\n";
    let (env, project) = fixture(ignore_vuln);
    let db = db();
    let dbp = db.path().to_str().expect("utf-8");
    slsa(&env, project.path(), &["audit", "--db", dbp, "--offline"]).assert_code(0);
    slsa(
        &env,
        project.path(),
        &["audit", "--db", dbp, "--offline", "--deny", "warnings"],
    )
    .assert_code(1);

    let with_config = format!("{ignore_vuln}deny = \"warnings\"\n");
    let manifest = project
        .read("Cargo.toml")
        .replace(ignore_vuln, &with_config);
    project.write("Cargo.toml", manifest);
    slsa(&env, project.path(), &["audit", "--db", dbp, "--offline"]).assert_code(1);
    // The flag overrides the config.
    slsa(
        &env,
        project.path(),
        &["audit", "--db", dbp, "--offline", "--deny", "errors"],
    )
    .assert_code(0);
}

#[test]
fn offline_skips_yanked_with_a_note_and_asks_no_one() {
    let (env, project) = fixture("");
    let db = db();
    env.registry().clear_requests();
    let report = audit(&env, &project, &db, &["--offline"]);
    assert!(
        env.registry().requests().is_empty(),
        "{:?}",
        env.registry().requests()
    );
    assert!(!codes(&report).contains(&"yanked".to_string()));
    assert_eq!(report["summary"]["yanked_checked"], false);
    let notes = report["summary"]["messages"].to_string();
    assert!(notes.contains("--offline"), "{notes}");
}

#[test]
fn no_fetch_uses_the_copy_in_cargo_home() {
    let (env, project) = fixture("");
    let out = slsa(&env, project.path(), &["audit", "--no-fetch", "--offline"]).assert_code(2);
    assert!(out.stderr.contains("advisory-db"), "{}", out.stderr);
    assert!(out.stderr.contains("--db"), "{}", out.stderr);

    db().install(env.cargo_home().path());
    let out = slsa(
        &env,
        project.path(),
        &["audit", "--no-fetch", "--offline", "--format", "json"],
    )
    .assert_code(1);
    let report = json(&out);
    assert!(codes(&report).contains(&"vulnerability".to_string()));
    let db_path = report["summary"]["database"]["path"]
        .as_str()
        .expect("path");
    assert!(db_path.ends_with("advisory-db"), "{db_path}");
}

#[test]
fn a_failing_fetch_is_an_error_that_names_the_url() {
    let (env, project) = fixture("");
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let url = "https://127.0.0.1:1/advisory-db.git";
    let out = slsa(&env, project.path(), &["audit", "--db-url", url]).assert_code(2);
    assert!(out.stderr.contains(url), "{}", out.stderr);
    let out = slsa(
        &env,
        project.path(),
        &["audit", "--db-url", "http://127.0.0.1:1/db.git"],
    )
    .assert_code(2);
    assert!(out.stderr.contains("https://"), "{}", out.stderr);
}

#[test]
fn bad_input_exits_2_with_a_location_and_writes_nothing() {
    let (env, project) = fixture("");
    let db = db();
    let dbp = db.path().to_str().expect("utf-8").to_string();
    let base = project.read("Cargo.toml");
    let cases = [
        (
            "\n[package.metadata.slsa.audit]\nignore = [\n  { id = \"RUSTSEC-2024-9001\" },\n]\n",
            "no `reason`",
            "Cargo.toml:",
        ),
        (
            "\n[package.metadata.slsa.audit]\nignore = [\n  { id = \"RUSTSEC-2024-9001\", reason = \"  \" },\n]\n",
            "no `reason`",
            "Cargo.toml:",
        ),
        (
            "\n[package.metadata.slsa.audit]\nignore = [\n  { id = \"RUSTSEC-2024-9001\", reason = \"r\", until = \"soon\" },\n]\n",
            "YYYY-MM-DD",
            "Cargo.toml:",
        ),
        (
            "\n[package.metadata.slsa.audit]\nignores = []\n",
            "ignores",
            "Cargo.toml:",
        ),
    ];
    for (extra, needle, location) in cases {
        project.write("Cargo.toml", format!("{base}{extra}"));
        let before = tree(project.path());
        let out = slsa(&env, project.path(), &["audit", "--db", &dbp, "--offline"]).assert_code(2);
        assert!(out.stderr.contains(needle), "{needle}: {}", out.stderr);
        assert!(out.stderr.contains(location), "{location}: {}", out.stderr);
        // Points at the offending line: the number after `Cargo.toml:` is past the package table.
        let line: usize = out
            .stderr
            .split("Cargo.toml:")
            .nth(1)
            .and_then(|s| s.split(':').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no line in {}", out.stderr));
        assert!(line > base.lines().count(), "{}", out.stderr);
        assert_eq!(tree(project.path()), before);
    }
    project.write("Cargo.toml", &base);

    // A malformed advisory is named.
    db.write_raw(
        "crates/mid/RUSTSEC-2024-9999.md",
        "```toml\n[advisory]\nid = 3\n```\n",
    );
    let out = slsa(&env, project.path(), &["audit", "--db", &dbp, "--offline"]).assert_code(2);
    assert!(
        out.stderr.contains("RUSTSEC-2024-9999.md"),
        "{}",
        out.stderr
    );

    // Not a database.
    let out = slsa(
        &env,
        project.path(),
        &[
            "audit",
            "--db",
            project.path().to_str().expect("utf-8"),
            "--offline",
        ],
    )
    .assert_code(2);
    assert!(out.stderr.contains("crates/"), "{}", out.stderr);

    // No lock.
    project.remove("Cargo.lock");
    let out = slsa(&env, project.path(), &["audit", "--db", &dbp, "--offline"]).assert_code(2);
    assert!(out.stderr.contains("Cargo.lock"), "{}", out.stderr);
    assert!(!project.exists("Cargo.lock"));
}

#[test]
fn an_active_ignore_wins_over_an_expired_one_and_lines_ignore_comments() {
    let config = "\n# Reviewed: \"RUSTSEC-2024-9001\" is tracked in #42\n[package.metadata.slsa.audit]\nignore = [\n  \
        { id = 'RUSTSEC-2024-9001', reason = 'old review', until = '2001-01-01' },\n  \
        { id = 'RUSTSEC-2024-9001', reason = 'renewed review', until = '2999-01-01' },\n]\n";
    let (env, project) = fixture(config);
    let db = db();
    let report = audit(&env, &project, &db, &["--offline"]);
    assert!(
        !codes(&report).contains(&"vulnerability".to_string()),
        "{report:#}"
    );
    assert!(
        !codes(&report).contains(&"ignore-unused".to_string()),
        "{report:#}"
    );
    assert_eq!(report["summary"]["ignored"][0]["reason"], "renewed review");
    // The expired entry is still said to have expired, at its own line (not the comment's).
    let expired = finding(&report, "ignore-expired");
    let manifest = project.read("Cargo.toml");
    let line = expired["line"].as_u64().expect("line") as usize;
    assert!(
        manifest
            .lines()
            .nth(line - 1)
            .expect("line")
            .contains("old review"),
        "{line}: {manifest}"
    );

    // A single-quoted id without a reason is located too.
    let base = manifest.replace(", reason = 'renewed review'", "");
    project.write("Cargo.toml", &base);
    let out = slsa(
        &env,
        project.path(),
        &[
            "audit",
            "--db",
            db.path().to_str().expect("utf-8"),
            "--offline",
        ],
    )
    .assert_code(2);
    let want = base
        .lines()
        .position(|l| l.contains("'2999-01-01'"))
        .expect("entry")
        + 1;
    assert!(
        out.stderr.contains(&format!("Cargo.toml:{want}:")),
        "{}",
        out.stderr
    );
}

#[test]
fn cargo_audit_habits_work_and_unknown_lock_formats_are_refused() {
    let (env, project) = fixture("");
    let db = db();
    // `--db X --no-fetch`, as cargo-audit users type it: the same report as `--db X`.
    let with = audit(&env, &project, &db, &["--no-fetch"]);
    let without = audit(&env, &project, &db, &[]);
    assert_eq!(with["findings"], without["findings"]);
    // A fix that `cargo update` cannot reach (0.3 → 0.4) names the dependent to bump instead.
    let wobbly = finding(&without, "unsound");
    let fix = wobbly["fix"].as_str().expect("fix");
    assert!(
        fix.contains("not semver-compatible")
            && fix.contains("`app 0.1.0`")
            && !fix.contains("cargo update -p"),
        "{fix}"
    );
    let vulny = finding(&without, "vulnerability");
    assert!(
        vulny["fix"]
            .as_str()
            .is_some_and(|f| f.contains("cargo update -p vulny@1.0.0")),
        "{vulny}"
    );
    // -f FILE (a lock elsewhere, even outside any workspace), --no-yanked and --stale.
    let elsewhere = tempfile::tempdir().expect("tmp");
    let copy = elsewhere.path().join("Cargo.lock");
    std::fs::copy(project.join("Cargo.lock"), &copy).expect("copy");
    let dbp = db.path().to_str().expect("utf-8");
    let out = slsa(
        &env,
        elsewhere.path(),
        &[
            "audit",
            "-f",
            "Cargo.lock",
            "--db",
            dbp,
            "--no-yanked",
            "--stale",
            "--format",
            "json",
        ],
    );
    assert!(matches!(out.code, 0 | 1), "{out:?}");
    let report = json(&out);
    let not_yanked: Vec<&serde_json::Value> = without["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] != "yanked")
        .collect();
    assert_eq!(
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .collect::<Vec<_>>(),
        not_yanked,
        "the same lock, the same advisories, and no yanked check"
    );
    assert_eq!(report["summary"]["yanked_checked"], false);
    // A lockfile format from the future is refused at its line, not read as if it were v4.
    let lock = project.read("Cargo.lock");
    let bumped = lock.replacen("version = 4", "version = 99", 1);
    assert_ne!(bumped, lock, "the fixture's lock is v4");
    project.write("Cargo.lock", &bumped);
    let out = slsa(
        &env,
        project.path(),
        &["audit", "--db", db.path().to_str().expect("utf-8")],
    )
    .assert_code(2);
    let line = bumped
        .lines()
        .position(|l| l.starts_with("version = 99"))
        .expect("version line")
        + 1;
    assert!(
        out.stderr.contains(&format!("Cargo.lock:{line}:")) && out.stderr.contains("version 99"),
        "{out:?}"
    );
}
