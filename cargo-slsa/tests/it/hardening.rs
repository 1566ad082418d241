//! Regression tests for security fixes in `attest`, `verify` and `keygen`, each written as an
//! attacker trying to get around the fix: edits hidden from `git status`, a repository without a
//! commit, secrets and machine paths in the recorded environment, an ignored cargo
//! configuration, a ref smuggled in `--source-uri`, validly signed statements whose fields
//! disagree, empty policy values, half-written outputs, keyless runs without a token, closed
//! output streams, keygen traps, and a build script reading the signer's `/proc/PID/environ`.
//!
//! Statements that cargo-slsa would never write are signed with openssl (an independent signer
//! holding the trusted key), so each rejection is the verifier's judgement of the content, not
//! a signature failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use slsa_tests::{Env, Project, RunOutput};

use crate::{codes, git, json, keygen, slsa};

const MAIN_RS: &str = "fn main() { println!(\"hello\"); }\n";
const REMOTE: &str = "https://github.com/acme/app";

/// A git-committed bin crate `app` without dependencies (so builds stay short), locked and
/// fetched; `remote` becomes `origin` so the recorded source names no machine path. `extra`
/// files are committed with it.
fn committed_project(env: &Env, remote: bool, extra: &[(&str, &str)]) -> Project {
    let mut builder = Project::new()
        .file(
            "Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .file("src/main.rs", MAIN_RS)
        .file(".gitignore", "/target\n/dist\n/att\n");
    for (rel, text) in extra {
        builder = builder.file(rel, text);
    }
    let project = builder.build();
    crate::lock_and_fetch(env, &project);
    git(project.path(), &["init", "-q"]);
    if remote {
        git(project.path(), &["remote", "add", "origin", REMOTE]);
    }
    git(project.path(), &["add", "-A"]);
    git(project.path(), &["commit", "-qm", "app"]);
    project
}

fn utf8(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The payload bytes of a DSSE envelope line.
fn payload_of(line: &str) -> Vec<u8> {
    let env: Value = serde_json::from_str(line).expect("envelope");
    B64.decode(env["payload"].as_str().expect("payload"))
        .expect("base64")
}

fn statement_of(line: &str) -> Value {
    serde_json::from_slice(&payload_of(line)).expect("statement")
}

/// `attest --offline --key KEY --format json EXTRA` in `project`.
fn attest(env: &Env, project: &Project, key: &Path, extra: &[&str]) -> RunOutput {
    let mut args = vec![
        "attest",
        "--offline",
        "--key",
        utf8(key),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    slsa(env, project.path(), &args)
}

/// The first finding's `file` in a JSON report.
fn first_file(report: &Value) -> String {
    report["findings"][0]["file"]
        .as_str()
        .unwrap_or_else(|| panic!("the finding names a file: {report}"))
        .to_string()
}

/// Sign `statement` (PAE over `payload_type`) with `private` through openssl, as a holder of
/// the trusted key (or a confused signer) could; the DSSE envelope as JSON.
fn openssl_sign(scratch: &Path, private: &Path, payload_type: &str, statement: &[u8]) -> Value {
    let pae = [
        format!(
            "DSSEv1 {} {} {} ",
            payload_type.len(),
            payload_type,
            statement.len()
        )
        .into_bytes(),
        statement.to_vec(),
    ]
    .concat();
    let pae_path = scratch.join("pae.bin");
    let sig_path = scratch.join("sig.der");
    std::fs::write(&pae_path, &pae).expect("write pae");
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(private)
        .arg("-out")
        .arg(&sig_path)
        .arg(&pae_path)
        .output()
        .expect("run openssl");
    assert!(out.status.success(), "{out:?}");
    serde_json::json!({
        "payload": B64.encode(statement),
        "payloadType": payload_type,
        "signatures": [{"keyid": "", "sig": B64.encode(std::fs::read(&sig_path).expect("sig"))}],
    })
}

/// A committed project with an `origin` remote and a prebuilt file `dist/tool.bin` attested
/// with a key into `att/` (no build: the source checks of `verify` are the same).
struct Signed {
    env: Env,
    project: Project,
    keys: tempfile::TempDir,
    private: PathBuf,
    public: PathBuf,
}

const ATTESTATION: &str = "att/tool.bin.intoto.jsonl";

fn signed() -> Signed {
    let env = Env::new();
    let project = committed_project(&env, true, &[]);
    project.write("dist/tool.bin", "\x7fELF pretend this is a release binary");
    let keys = tempfile::tempdir().expect("tmp");
    let (private, public) = keygen(&env, keys.path());
    slsa(
        &env,
        project.path(),
        &[
            "attest",
            "--artifact",
            "dist/tool.bin",
            "--key",
            utf8(&private),
            "--output",
            "att",
        ],
    )
    .assert_success();
    Signed {
        env,
        project,
        keys,
        private,
        public,
    }
}

impl Signed {
    /// `verify dist/tool.bin --attestation FILE --key PUB --format json EXTRA`.
    fn verify(&self, attestation: &str, extra: &[&str]) -> RunOutput {
        let mut args = vec![
            "verify",
            "dist/tool.bin",
            "--attestation",
            attestation,
            "--key",
            utf8(&self.public),
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        slsa(&self.env, self.project.path(), &args)
    }

    fn statement(&self) -> Value {
        statement_of(self.project.read(ATTESTATION).trim())
    }

    /// `statement` signed by openssl with the trusted key, written to `att/NAME`.
    fn resign(&self, name: &str, statement: &Value) -> String {
        let bytes = serde_json::to_vec(statement).expect("json");
        let envelope = openssl_sign(
            self.keys.path(),
            &self.private,
            "application/vnd.in-toto+json",
            &bytes,
        );
        let rel = format!("att/{name}");
        self.project.write(&rel, format!("{envelope}\n"));
        rel
    }
}

#[test]
fn edits_hidden_from_git_status_make_the_source_dirty_and_nothing_is_built() {
    let env = Env::new();
    let project = committed_project(&env, false, &[]);
    let keys = tempfile::tempdir().expect("tmp");
    let (key, _) = keygen(&env, keys.path());
    // The attacker's edit, then git told not to look at the file: `git status` says clean.
    project.write("src/main.rs", "fn main() { println!(\"backdoor\"); }\n");
    for (flag, extra) in [
        ("assume-unchanged", &[][..]),
        ("skip-worktree", &[][..]),
        ("assume-unchanged", &["--reproducible"][..]),
        ("skip-worktree", &["--reproducible"][..]),
    ] {
        git(
            project.path(),
            &["update-index", &format!("--{flag}"), "src/main.rs"],
        );
        assert_eq!(
            git(project.path(), &["status", "--porcelain"]),
            "",
            "--{flag} hides the edit from git status"
        );
        let out = attest(&env, &project, &key, extra).assert_code(1);
        let report = json(&out);
        assert_eq!(
            codes(&report),
            ["source-dirty"],
            "--{flag} {extra:?}: {out:?}"
        );
        assert!(
            first_file(&report).ends_with("src/main.rs"),
            "the finding names the hidden file: {report}"
        );
        assert!(!project.exists("target/release/app"), "nothing built");
        assert!(!project.exists("target/slsa"), "nothing written");
        git(
            project.path(),
            &["update-index", &format!("--no-{flag}"), "src/main.rs"],
        );
    }
    // Flags cleared and the edit undone: the same command attests.
    git(project.path(), &["checkout", "--", "src/main.rs"]);
    let out = attest(&env, &project, &key, &[]).assert_success();
    assert_eq!(codes(&json(&out)), Vec::<String>::new(), "{out:?}");
    assert!(project.exists("target/slsa/app.intoto.jsonl"));
}

#[test]
fn a_repository_without_a_commit_names_no_source_and_no_source_policy_passes() {
    let env = Env::new();
    let project = Project::new()
        .file(
            "Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .file("src/main.rs", MAIN_RS)
        .build();
    crate::lock_and_fetch(&env, &project);
    git(project.path(), &["init", "-q"]);
    // An origin that looks like the real project: with no commit, it must not be claimed.
    git(project.path(), &["remote", "add", "origin", REMOTE]);
    let keys = tempfile::tempdir().expect("tmp");
    let (key, public) = keygen(&env, keys.path());
    let out = attest(&env, &project, &key, &["--allow-dirty"]).assert_success();
    let report = json(&out);
    assert!(
        codes(&report).contains(&"source-unknown".to_string()),
        "{report}"
    );
    let st = statement_of(project.read("target/slsa/app.intoto.jsonl").trim());
    let ext = &st["predicate"]["buildDefinition"]["externalParameters"];
    for field in ["source", "repository", "ref"] {
        assert!(ext.get(field).is_none(), "no {field} recorded: {ext}");
    }

    let verify = |extra: &[&str]| {
        let mut args = vec![
            "verify",
            "target/release/app",
            "--attestation",
            "target/slsa/app.intoto.jsonl",
            "--key",
            utf8(&public),
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        slsa(&env, project.path(), &args)
    };
    let out = verify(&["--source-uri", "github.com/acme/app"]).assert_code(1);
    assert_eq!(codes(&json(&out)), ["source-mismatch"], "{out:?}");
    let out = verify(&["--source-ref", "refs/heads/main"]).assert_code(1);
    assert_eq!(codes(&json(&out)), ["ref-mismatch"], "{out:?}");
}

#[test]
fn the_recorded_environment_holds_no_secrets_and_no_machine_paths() {
    let env = Env::new();
    let project = committed_project(&env, true, &[]);
    let keys = tempfile::tempdir().expect("tmp");
    let (key, _) = keygen(&env, keys.path());
    // A home directory of our own, so "no HOME path" is checked against a path we know.
    let home = env.scratch().join("home");
    std::fs::create_dir_all(home.join("lib")).expect("mkdir home/lib");
    // An empty directory is invisible to git: the tree stays clean.
    std::fs::create_dir_all(project.join("native")).expect("mkdir native");
    let root = utf8(project.path()).to_string();
    let rustflags = format!(
        "--cfg=slsa_user_flag -L native={root}/native -L native={}/lib",
        utf8(&home)
    );
    let mut cmd = env.command(crate::bin(), project.path());
    cmd.args([
        "attest",
        "--offline",
        "--key",
        utf8(&key),
        "--format",
        "json",
    ])
    .env("HOME", &home)
    // Starts like `CC_<triple>` but is a credential.
    .env("CC_TEST_REPORTER_ID", "s3cr3t-reporter")
    .env("CFLAGS", "-DAPI_KEY=s3cr3t-cflags")
    .env("LDFLAGS", "-Wl,-s3cr3t-ldflags")
    .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "3")
    .env("RUSTFLAGS", &rustflags);
    let out = slsa_tests::run(cmd).assert_success();
    assert!(!out.stdout.contains("s3cr3t"), "{out:?}");

    let line = project.read("target/slsa/app.intoto.jsonl");
    let text = String::from_utf8(payload_of(line.trim())).expect("utf-8 statement");
    assert!(!text.contains("s3cr3t"), "a secret was recorded: {text}");
    assert!(
        !text.contains(&root),
        "the project path was recorded: {text}"
    );
    assert!(
        !text.contains(utf8(&home)),
        "the HOME path was recorded: {text}"
    );
    let st: Value = serde_json::from_str(&text).expect("statement");
    let internal = &st["predicate"]["buildDefinition"]["internalParameters"];
    let ambient = &internal["ambientEnv"];
    assert_eq!(ambient["CARGO_PROFILE_RELEASE_OPT_LEVEL"], "3", "{ambient}");
    assert_eq!(ambient["CFLAGS"], "(set)", "{ambient}");
    assert_eq!(ambient["LDFLAGS"], "(set)", "{ambient}");
    assert!(
        ambient.get("CC_TEST_REPORTER_ID").is_none(),
        "not a build variable: {ambient}"
    );
    let flags: Vec<&str> = internal["rustflags"]
        .as_array()
        .expect("rustflags")
        .iter()
        .map(|f| f.as_str().expect("flag"))
        .collect();
    assert_eq!(
        &flags[..5],
        [
            "--cfg=slsa_user_flag",
            "-L",
            "native=$WORKSPACE/native",
            "-L",
            "native=$HOME/lib"
        ],
        "{flags:?}"
    );

    // A prebuilt file outside the repository is recorded by its name alone.
    let outside = tempfile::tempdir().expect("tmp");
    let tool = outside
        .path()
        .canonicalize()
        .expect("canonical")
        .join("tool.bin");
    std::fs::write(&tool, "prebuilt").expect("write tool.bin");
    slsa(
        &env,
        project.path(),
        &["attest", "--artifact", utf8(&tool), "--key", utf8(&key)],
    )
    .assert_success();
    let line = project.read("target/slsa/tool.bin.intoto.jsonl");
    let text = String::from_utf8(payload_of(line.trim())).expect("utf-8 statement");
    assert!(
        !text.contains(utf8(outside.path())),
        "the artifact's directory was recorded: {text}"
    );
    let st: Value = serde_json::from_str(&text).expect("statement");
    assert_eq!(
        st["predicate"]["buildDefinition"]["externalParameters"]["prebuiltArtifacts"],
        serde_json::json!(["tool.bin"])
    );
}

#[test]
fn an_ignored_cargo_config_makes_the_source_dirty() {
    let env = Env::new();
    let project = committed_project(&env, false, &[]);
    let keys = tempfile::tempdir().expect("tmp");
    let (key, _) = keygen(&env, keys.path());
    // Configuration that changes the build, hidden from `git status` by the clone's own
    // exclude file (which is never committed).
    project.write(".cargo/config.toml", "[env]\nSLSA_INJECTED = \"1\"\n");
    let exclude = project.join(".git/info/exclude");
    let mut text = std::fs::read_to_string(&exclude).unwrap_or_default();
    text.push_str("\n.cargo/\n");
    std::fs::write(&exclude, text).expect("write exclude");
    assert_eq!(git(project.path(), &["status", "--porcelain"]), "");

    let out = attest(&env, &project, &key, &[]).assert_code(1);
    let report = json(&out);
    assert_eq!(codes(&report), ["source-dirty"], "{out:?}");
    assert!(
        first_file(&report).ends_with(".cargo/config.toml"),
        "the finding names the configuration file: {report}"
    );
    assert!(!project.exists("target/release/app"), "nothing built");
    assert!(!project.exists("target/slsa"), "nothing written");
}

#[test]
fn a_ref_in_source_uri_is_enforced() {
    let s = signed();
    assert_eq!(
        s.statement()["predicate"]["buildDefinition"]["externalParameters"]["source"],
        "git+https://github.com/acme/app@refs/heads/main"
    );
    let out = s
        .verify(
            ATTESTATION,
            &[
                "--source-uri",
                "git+https://github.com/acme/app@refs/tags/v9",
            ],
        )
        .assert_code(1);
    assert_eq!(codes(&json(&out)), ["ref-mismatch"], "{out:?}");
    let out = s
        .verify(
            ATTESTATION,
            &[
                "--source-uri",
                "git+https://github.com/acme/app@refs/heads/main",
            ],
        )
        .assert_success();
    assert_eq!(json(&out)["summary"]["verified"], true);
    // Two different refs: which one is meant is unclear, so it is an input error.
    s.verify(
        ATTESTATION,
        &[
            "--source-uri",
            "git+https://github.com/acme/app@refs/tags/v9",
            "--source-ref",
            "refs/heads/main",
        ],
    )
    .assert_code(2);
}

#[test]
fn signed_statements_whose_fields_disagree_are_rejected() {
    let s = signed();
    let good = s.statement();
    // Control: the untouched statement signed by openssl verifies, so each rejection below is
    // about the content.
    let f = s.resign("control.jsonl", &good);
    s.verify(&f, &["--source-uri", "github.com/acme/app"])
        .assert_success();

    // (a) A dirty mark as a string, on an entry other than the source's.
    let deps = &good["predicate"]["buildDefinition"]["resolvedDependencies"];
    assert_eq!(
        deps[0]["uri"], good["predicate"]["buildDefinition"]["externalParameters"]["source"],
        "the first entry is the source"
    );
    assert!(deps[0].get("annotations").is_none(), "{deps}");
    let mut st = good.clone();
    st["predicate"]["buildDefinition"]["resolvedDependencies"][1]["annotations"]["dirty"] =
        Value::String("true".into());
    let f = s.resign("dirty-string.jsonl", &st);
    let out = s.verify(&f, &[]).assert_code(1);
    assert_eq!(codes(&json(&out)), ["dirty-build"], "{out:?}");

    // (b) repository says another repo while source is unchanged: neither may be trusted alone.
    let mut st = good.clone();
    st["predicate"]["buildDefinition"]["externalParameters"]["repository"] =
        Value::String("git+https://github.com/evil/app".into());
    let f = s.resign("repository.jsonl", &st);
    for policy in [&[][..], &["--source-uri", "github.com/evil/app"][..]] {
        let out = s.verify(&f, policy).assert_code(1);
        let got = codes(&json(&out));
        assert!(
            !got.is_empty() && got.iter().all(|c| c == "source-mismatch"),
            "{policy:?}: {out:?}"
        );
    }

    // (c) ref says a tag while source says @refs/heads/main.
    let mut st = good.clone();
    st["predicate"]["buildDefinition"]["externalParameters"]["ref"] =
        Value::String("refs/tags/v9".into());
    let f = s.resign("ref.jsonl", &st);
    let out = s.verify(&f, &[]).assert_code(1);
    assert_eq!(codes(&json(&out)), ["source-mismatch"], "{out:?}");
    let out = s
        .verify(&f, &["--source-ref", "refs/tags/v9"])
        .assert_code(1);
    assert!(
        codes(&json(&out)).contains(&"source-mismatch".to_string()),
        "{out:?}"
    );
}

#[test]
fn empty_policy_values_are_input_errors() {
    let s = signed();
    for flag in ["--builder-id", "--source-uri", "--source-ref"] {
        let out = s.verify(ATTESTATION, &[flag, ""]).assert_code(2);
        assert!(out.stderr.contains(&format!("{flag} is empty")), "{out:?}");
    }
}

#[test]
fn outputs_are_staged_and_renamed_together() {
    let env = Env::new();
    let project = committed_project(&env, false, &[]);
    let keys = tempfile::tempdir().expect("tmp");
    let (key, _) = keygen(&env, keys.path());
    attest(&env, &project, &key, &[]).assert_success();
    let before = std::fs::read(project.join("target/slsa/app.intoto.jsonl")).expect("jsonl");
    // The second file of the set cannot be replaced: a directory stands where it goes.
    project.remove("target/slsa/app.sigstore.json");
    std::fs::create_dir(project.join("target/slsa/app.sigstore.json")).expect("mkdir");
    project.write("src/main.rs", "fn main() { println!(\"v2\"); }\n");
    git(project.path(), &["commit", "-qam", "v2"]);

    attest(&env, &project, &key, &[]).assert_code(2);
    // (Compared as a bool: a byte-by-byte diff of two envelopes says nothing more.)
    let after = std::fs::read(project.join("target/slsa/app.intoto.jsonl")).expect("jsonl");
    assert!(
        after == before,
        "app.intoto.jsonl was replaced although its app.sigstore.json could not be"
    );
    assert!(project.join("target/slsa/app.sigstore.json").is_dir());
    let leftovers: Vec<String> = std::fs::read_dir(project.join("target/slsa"))
        .expect("read target/slsa")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".slsa-tmp-") || n.starts_with(".slsa-bak-"))
        .collect();
    assert!(leftovers.is_empty(), "staging files left: {leftovers:?}");
}

#[test]
fn keyless_without_a_usable_token_fails_before_building() {
    let env = Env::new();
    let project = committed_project(&env, false, &[]);
    let keyless = |vars: &[(&str, &str)]| {
        let mut cmd = env.command(crate::bin(), project.path());
        cmd.args(["attest", "--keyless", "--offline"]);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        slsa_tests::run(cmd).assert_code(2)
    };
    let out = keyless(&[]);
    assert!(
        out.stderr.contains("id-token: write") || out.stderr.contains("SIGSTORE_ID_TOKEN"),
        "{out:?}"
    );
    assert!(!project.exists("target/release/app"), "nothing built");

    let out = keyless(&[("SIGSTORE_ID_TOKEN", "not-a-jwt")]);
    assert!(
        !out.stderr.contains("not-a-jwt") && !out.stdout.contains("not-a-jwt"),
        "the token is never echoed: {out:?}"
    );
    assert!(out.stderr.contains("SIGSTORE_ID_TOKEN"), "{out:?}");
    assert!(!project.exists("target/release/app"), "nothing built");

    // Half of GitHub's pair: no token can be requested.
    let out = keyless(&[("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:9/token")]);
    assert!(out.stderr.contains("id-token: write"), "{out:?}");
    assert!(!project.exists("target/release/app"), "nothing built");
    assert!(!project.exists("target/slsa"), "nothing written");
}

/// Run `cmd` with stdout and stderr both on a pipe nobody reads (the read end is closed before
/// the child starts); its exit code. Bounded: killed after two minutes.
fn exit_code_with_closed_output(mut cmd: Command) -> i32 {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    cmd.stdout(writer.try_clone().expect("clone the pipe"))
        .stderr(writer);
    let mut child = cmd.spawn().expect("start cargo-slsa");
    // The parent's copies of the write end went into `cmd`; drop them with it.
    drop(cmd);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            use std::os::unix::process::ExitStatusExt;
            return status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cargo-slsa did not finish within two minutes");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `verify dist/tool.bin --attestation ATTESTATION --key KEY --format FORMAT` with stdout and
/// stderr closed; its exit code.
fn verify_into_closed_output(s: &Signed, attestation: &str, key: &Path, format: &str) -> i32 {
    let mut cmd = s.env.command(crate::bin(), s.project.path());
    cmd.args([
        "verify",
        "dist/tool.bin",
        "--attestation",
        attestation,
        "--key",
        utf8(key),
        "--format",
        format,
    ]);
    exit_code_with_closed_output(cmd)
}

#[test]
fn closed_stdout_and_stderr_do_not_turn_outcomes_into_panics() {
    let s = signed();
    let other = tempfile::tempdir().expect("tmp");
    let (_, other_pub) = keygen(&s.env, other.path());
    // A failing verification (another key): exit 1, not 101 (a panic on the failed write) and
    // not 2.
    assert_eq!(
        verify_into_closed_output(&s, ATTESTATION, &other_pub, "human"),
        1
    );
    // An input error (no such attestation file): exit 2.
    assert_eq!(
        verify_into_closed_output(&s, "att/missing.intoto.jsonl", &s.public, "human"),
        2
    );
}

#[test]
fn closed_stdout_keeps_the_verdict_in_machine_formats() {
    let s = signed();
    let other = tempfile::tempdir().expect("tmp");
    let (_, other_pub) = keygen(&s.env, other.path());
    for format in ["json", "sarif", "github"] {
        assert_eq!(
            verify_into_closed_output(&s, ATTESTATION, &other_pub, format),
            1,
            "--format {format}"
        );
    }
}

#[test]
fn keygen_leaves_no_half_pair_and_warns_about_unignored_keys() {
    let env = Env::new();
    let dir = tempfile::tempdir().expect("tmp");
    let dir = dir.path();
    let names = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };

    // (a) A dangling link where the private key goes (it could point anywhere, and would
    // fail the second write after the public key was written).
    let links = dir.join("links");
    std::fs::create_dir(&links).expect("mkdir");
    std::os::unix::fs::symlink(dir.join("elsewhere.key"), links.join("k.key")).expect("symlink");
    slsa(
        &env,
        dir,
        &["keygen", "--output-prefix", utf8(&links.join("k"))],
    )
    .assert_code(2);
    assert_eq!(names(&links), ["k.key"], "no k.pub written");
    assert!(
        !dir.join("elsewhere.key").exists(),
        "nothing written through the link"
    );

    // (b) A prefix that names a directory: nothing written, nothing created.
    let empty = dir.join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    for prefix in [
        format!("{}/", utf8(&empty)),
        utf8(&empty).to_string(),
        format!("{}/", utf8(&dir.join("new"))),
    ] {
        slsa(&env, dir, &["keygen", "--output-prefix", &prefix]).assert_code(2);
        assert!(names(&empty).is_empty(), "{prefix}: {:?}", names(&empty));
        assert!(
            !dir.join("new").exists(),
            "{prefix}: a directory was created"
        );
        assert!(!dir.join("empty.key").exists() && !dir.join("empty.pub").exists());
    }

    // (c) Into a git work tree that does not ignore keys: a warning, exit 0.
    let repo = dir.join("repo");
    std::fs::create_dir(&repo).expect("mkdir");
    git(&repo, &["init", "-q"]);
    let out = slsa(
        &env,
        &repo,
        &["keygen", "--output-prefix", "k", "--format", "json"],
    )
    .assert_success();
    assert_eq!(codes(&json(&out)), ["key-not-ignored"], "{out:?}");
    assert!(repo.join("k.key").is_file() && repo.join("k.pub").is_file());
    // Ignored: no warning.
    let ignored = dir.join("ignored");
    std::fs::create_dir(&ignored).expect("mkdir");
    git(&ignored, &["init", "-q"]);
    std::fs::write(ignored.join(".gitignore"), "*.key\n").expect("write .gitignore");
    let out = slsa(
        &env,
        &ignored,
        &["keygen", "--output-prefix", "k", "--format", "json"],
    )
    .assert_success();
    assert_eq!(codes(&json(&out)), Vec::<String>::new(), "{out:?}");
}

/// The first `setpriv` on PATH.
fn setpriv() -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("setpriv"))
        .find(|p| p.is_file())
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next().map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// A build script that walks up its ancestors (up to 10) and, for each, tries to read
/// `/proc/PID/environ`, writing `pid<TAB>readable<TAB>holds-key<TAB>comm<TAB>argv0` lines to
/// `report` (outside the project, so the tree stays clean).
fn probing_build_rs(report: &Path) -> String {
    format!(
        r#"fn main() {{
    let mut out = String::new();
    let mut pid = std::process::id();
    for _ in 0..10 {{
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{{pid}}/stat")) else {{ break }};
        // `pid (comm) state ppid ...`; comm may hold spaces, so split after the last ')'.
        let Some(close) = stat.rfind(')') else {{ break }};
        let Some(ppid) = stat[close + 1..].split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()) else {{ break }};
        if ppid == 0 {{ break }}
        pid = ppid;
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{{pid}}/stat")) else {{ break }};
        let comm = match (stat.find('('), stat.rfind(')')) {{
            (Some(a), Some(b)) if a < b => stat[a + 1..b].to_string(),
            _ => String::new(),
        }};
        let cmdline = std::fs::read(format!("/proc/{{pid}}/cmdline")).unwrap_or_default();
        let argv0 = String::from_utf8_lossy(cmdline.split(|b| *b == 0).next().unwrap_or_default()).into_owned();
        let (readable, key) = match std::fs::read(format!("/proc/{{pid}}/environ")) {{
            Ok(env) => (true, env.windows(17).any(|w| w == b"BEGIN PRIVATE KEY")),
            Err(_) => (false, false),
        }};
        out.push_str(&format!("{{pid}}\t{{readable}}\t{{key}}\t{{comm}}\t{{argv0}}\n"));
    }}
    std::fs::write({report:?}, out).expect("write the report");
}}
"#,
        report = utf8(report)
    )
}

#[test]
fn a_build_script_cannot_read_the_signing_key_from_proc() {
    let Some(setpriv) = setpriv().filter(|_| running_as_root()) else {
        #[allow(clippy::disallowed_macros)]
        {
            eprintln!(
                "skipped: needs root and setpriv(1) to run cargo-slsa without capabilities \
                 (a same-user attacker without CAP_SYS_PTRACE)"
            );
        }
        return;
    };
    let env = Env::new();
    let probe = tempfile::tempdir().expect("tmp");
    let report = probe.path().join("leak-report.txt");
    let project = committed_project(&env, false, &[("build.rs", &probing_build_rs(&report))]);
    let keys = tempfile::tempdir().expect("tmp");
    let (private, _) = keygen(&env, keys.path());
    let pem = std::fs::read_to_string(&private).expect("pem");
    assert!(
        pem.contains("BEGIN PRIVATE KEY"),
        "the marker the probe looks for"
    );

    // Root without any capability: as strong as another process of the same user.
    let mut cmd = env.command(&setpriv, project.path());
    cmd.args(["--inh-caps=-all", "--bounding-set=-all", "--"])
        .arg(crate::bin())
        .args(["attest", "--offline", "--format", "json"])
        .env("SLSA_SIGNING_KEY", &pem);
    let out = slsa_tests::run(cmd).assert_success();
    assert!(project.exists("target/slsa/app.intoto.jsonl"), "{out:?}");

    let text = std::fs::read_to_string(&report).expect("the build script ran and reported");
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert!(
        rows.iter().all(|r| r.len() == 5),
        "malformed report:\n{text}"
    );
    assert!(
        rows.iter().any(|r| r[1] == "true"),
        "no ancestor's environ was readable (cargo's should be): the probe proves nothing:\n{text}"
    );
    assert!(
        rows.iter().all(|r| r[2] == "false"),
        "an ancestor's environ holds the private key:\n{text}"
    );
    let signer: Vec<&Vec<&str>> = rows
        .iter()
        .filter(|r| r[3] == "cargo-slsa" || r[4].ends_with("/cargo-slsa"))
        .collect();
    assert!(
        !signer.is_empty(),
        "cargo-slsa is not among the ancestors:\n{text}"
    );
    assert!(
        signer.iter().all(|r| r[1] == "false"),
        "cargo-slsa's environ was readable without CAP_SYS_PTRACE:\n{text}"
    );
}
