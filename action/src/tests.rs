//! The action on a simulated runner: `INPUT_*` variables, and temporary files standing in for
//! `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY`.

use std::collections::HashMap;
use std::path::Path;

use slsa_tests::Project;

use super::*;

fn workflow(uses: usize) -> String {
    let mut s = String::from(
        "name: ci\non: pull_request\npermissions:\n  contents: read\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n",
    );
    for i in 0..uses {
        s.push_str(&format!("      - uses: someone/action{i}@v1\n"));
    }
    s
}

fn repo(uses: usize) -> Project {
    Project::new()
        .file(".git/HEAD", "ref: refs/heads/main\n")
        .file(".github/workflows/ci.yml", workflow(uses))
        .build()
}

struct Runner {
    env: HashMap<String, String>,
    _dir: tempfile::TempDir,
    output: std::path::PathBuf,
    summary: std::path::PathBuf,
}

fn runner(inputs: &[(&str, &str)]) -> Runner {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = dir.path().join("github_output");
    let summary = dir.path().join("step_summary");
    let mut env: HashMap<String, String> = inputs
        .iter()
        .map(|(k, v)| (format!("INPUT_{k}"), v.to_string()))
        .collect();
    env.insert("GITHUB_OUTPUT".into(), output.display().to_string());
    env.insert("GITHUB_STEP_SUMMARY".into(), summary.display().to_string());
    Runner {
        env,
        _dir: dir,
        output,
        summary,
    }
}

fn run_in(r: &Runner, cwd: &Path) -> (i32, String) {
    let mut out = Vec::new();
    let code = run(&r.env, cwd, &mut out);
    (code, String::from_utf8(out).expect("utf-8 output"))
}

#[test]
fn harden_on_a_simulated_runner_writes_outputs_summary_annotations_and_sarif() {
    let project = repo(2);
    let r = runner(&[
        ("COMMAND", "harden"),
        ("SARIF_FILE", "reports/harden.sarif"),
    ]);
    let (code, stdout) = run_in(&r, project.path());
    assert_eq!(code, 1, "{stdout}");
    let annotations: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert_eq!(annotations.len(), 2, "{stdout}");
    assert!(
        annotations[0].contains("file=.github/workflows/ci.yml,line=9"),
        "{stdout}"
    );

    let sarif_path = project.join("reports/harden.sarif");
    let outputs = std::fs::read_to_string(&r.output).expect("GITHUB_OUTPUT written");
    assert_eq!(
        outputs,
        format!(
            "findings=2\nsarif-file={}\nattestations<<CARGO_SLSA_EOF\nCARGO_SLSA_EOF\n",
            sarif_path.display()
        )
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif_path).expect("sarif")).expect("json");
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["runs"][0]["results"]
            .as_array()
            .expect("results")
            .len(),
        2
    );
    let summary = std::fs::read_to_string(&r.summary).expect("summary");
    assert!(summary.contains("unpinned-uses"), "{summary}");
    assert!(summary.contains('|'), "a markdown table: {summary}");
}

#[test]
fn fail_on_decides_the_exit_code() {
    let project = repo(1);
    let (code, _) = run_in(
        &runner(&[("COMMAND", "harden"), ("FAIL_ON", "never")]),
        project.path(),
    );
    assert_eq!(code, 0);
    let (code, _) = run_in(
        &runner(&[("COMMAND", "harden"), ("FAIL_ON", "error")]),
        project.path(),
    );
    assert_eq!(code, 1);
    // A clean workflow passes even at `warning`.
    let clean = Project::new()
        .file(".git/HEAD", "x")
        .file(
            ".github/workflows/ci.yml",
            workflow(0).replace("    steps:\n", "    steps:\n      - run: echo ok\n"),
        )
        .build();
    let (code, out) = run_in(
        &runner(&[("COMMAND", "harden"), ("FAIL_ON", "warning")]),
        clean.path(),
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn annotations_are_capped_and_the_rest_is_in_sarif() {
    let project = repo(MAX_ANNOTATIONS + 7);
    let r = runner(&[("COMMAND", "harden")]);
    let (code, stdout) = run_in(&r, project.path());
    assert_eq!(code, 1);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("::error ")).count(),
        MAX_ANNOTATIONS
    );
    assert!(
        stdout.contains("::notice::7 more findings are not annotated"),
        "{stdout}"
    );
    let sarif: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.join("cargo-slsa.sarif")).expect("default sarif path"),
    )
    .expect("json");
    assert_eq!(
        sarif["runs"][0]["results"]
            .as_array()
            .expect("results")
            .len(),
        MAX_ANNOTATIONS + 7
    );
    assert!(
        std::fs::read_to_string(&r.output)
            .expect("outputs")
            .contains(&format!("findings={}", MAX_ANNOTATIONS + 7))
    );
}

#[test]
fn bad_inputs_exit_2_with_an_error_annotation_and_no_outputs() {
    let project = repo(1);
    for (inputs, needle) in [
        (vec![("FAIL_ON", "sometimes")], "fail-on"),
        (vec![("ARGS", "--format json")], "--format"),
        (vec![("COMMAND", "frobnicate")], "frobnicate"),
        (vec![("ARGS", "'unterminated")], "quote"),
        (vec![("WORKING_DIRECTORY", "nope")], "working-directory"),
    ] {
        let r = runner(&inputs);
        let (code, stdout) = run_in(&r, project.path());
        assert_eq!(code, 2, "{inputs:?}: {stdout}");
        assert!(stdout.starts_with("::error title=cargo slsa::"), "{stdout}");
        assert!(stdout.contains(needle), "{needle}: {stdout}");
        assert!(!r.output.exists(), "no outputs on bad input");
    }
}

#[test]
fn args_split_like_a_shell_without_expansion() {
    assert_eq!(
        split_args(r#"--db "/a b" --skip audit 'x y' a\ b $HOME"#).expect("split"),
        ["--db", "/a b", "--skip", "audit", "x y", "a b", "$HOME"]
    );
    assert_eq!(split_args("  ").expect("split"), Vec::<String>::new());
    assert_eq!(split_args("''").expect("split"), [""]);
    assert!(split_args("\"open").is_err());
}

#[test]
fn the_commands_own_deny_level_fails_the_step_and_paths_are_repository_relative() {
    // A member crate in a subdirectory, audited with `--deny warnings` on an unmaintained crate.
    let env = slsa_tests::Env::new();
    env.registry()
        .publish(slsa_tests::CrateBuilder::new("oldie", "0.1.0"));
    let project = Project::new()
        .file(".git/HEAD", "x")
        .file(
            "svc/Cargo.toml",
            slsa_tests::basic_manifest("svc", &[("oldie", "0.1")]),
        )
        .file("svc/src/lib.rs", "")
        .build();
    let mut c = env.cargo(&project.join("svc"));
    c.arg("generate-lockfile");
    slsa_tests::run(c).assert_success();
    let db =
        slsa_tests::AdvisoryDb::new(&[
            slsa_tests::Advisory::new("RUSTSEC-2024-9002", "oldie").informational("unmaintained")
        ]);
    let args = format!("--offline --db {} --deny warnings", db.path().display());
    let mut r = runner(&[
        ("COMMAND", "audit"),
        ("ARGS", &args),
        ("WORKING_DIRECTORY", "svc"),
    ]);
    r.env.insert(
        "GITHUB_WORKSPACE".into(),
        project.path().display().to_string(),
    );
    let (code, stdout) = run_in(&r, project.path());
    assert_eq!(
        code, 1,
        "deny warnings fails the step even with fail-on: error: {stdout}"
    );
    assert!(
        stdout.contains("::warning file=svc/Cargo.lock,line="),
        "{stdout}"
    );
    let (code, _) = run_in(
        &runner(&[
            ("COMMAND", "audit"),
            ("ARGS", &args),
            ("WORKING_DIRECTORY", "svc"),
            ("FAIL_ON", "never"),
        ]),
        project.path(),
    );
    assert_eq!(code, 0);
}

#[test]
fn attest_lists_the_files_it_wrote_in_the_attestations_output() {
    let project = Project::new()
        .file(
            "Cargo.toml",
            "[package]\nname = \"svc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .file(
            "Cargo.lock",
            "version = 4\n\n[[package]]\nname = \"svc\"\nversion = \"0.1.0\"\n",
        )
        .file("src/main.rs", "fn main() {}\n")
        .file("dist/bootstrap.zip", "PK zip")
        .build();
    let mut r = runner(&[
        ("COMMAND", "attest"),
        ("ARGS", "--artifact dist/bootstrap.zip --unsigned"),
        ("SARIF_FILE", "none"),
    ]);
    r.env.insert(
        "GITHUB_WORKSPACE".into(),
        project.path().display().to_string(),
    );
    let (code, stdout) = run_in(&r, project.path());
    assert_eq!(code, 0, "{stdout}");
    // Not a git repository: said as a warning annotation.
    assert!(stdout.contains("source-unknown"), "{stdout}");
    let outputs = std::fs::read_to_string(&r.output).expect("GITHUB_OUTPUT written");
    assert_eq!(
        outputs,
        "findings=1\nsarif-file=\nattestations<<CARGO_SLSA_EOF\ntarget/slsa/dist.statement.json\nCARGO_SLSA_EOF\n"
    );
    assert!(project.exists("target/slsa/dist.statement.json"));
}

/// `action/install.sh` with a released version, on fake `curl` and `gh` (scripts on PATH that
/// serve a local "release" and record their arguments): the pinned sha256 and the provenance
/// check decide whether the binary is installed.
mod install_script {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    struct Setup {
        dir: tempfile::TempDir,
    }

    impl Setup {
        fn new(pin_right_digest: bool, gh: Option<i32>) -> Setup {
            let dir = tempfile::tempdir().expect("tmp");
            let d = dir.path();
            for sub in ["action", "release", "fakebin", "stage", "tools"] {
                std::fs::create_dir_all(d.join(sub)).expect("dirs");
            }
            // Only the tools the script needs, so a `gh` on this machine cannot interfere.
            let path = std::env::var_os("PATH").unwrap_or_default();
            for tool in [
                "bash",
                "awk",
                "sha256sum",
                "cut",
                "tar",
                "gzip",
                "mktemp",
                "rm",
                "mkdir",
                "install",
                "cp",
                "basename",
                "cat",
                "sh",
            ] {
                if let Some(found) = std::env::split_paths(&path)
                    .map(|p| p.join(tool))
                    .find(|p| p.is_file())
                {
                    std::os::unix::fs::symlink(found, d.join("tools").join(tool)).expect("link");
                }
            }
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            std::fs::copy(root.join("action/install.sh"), d.join("action/install.sh"))
                .expect("copy install.sh");
            std::fs::write(d.join("stage/slsa-action"), "#!/bin/sh\necho fake\n").expect("bin");
            let asset = "slsa-action-x86_64-unknown-linux-gnu.tar.gz";
            let ok = Command::new("tar")
                .args(["-czf"])
                .arg(d.join("release").join(asset))
                .args(["-C"])
                .arg(d.join("stage"))
                .arg("slsa-action")
                .status()
                .expect("tar");
            assert!(ok.success());
            std::fs::write(d.join("release/cargo-slsa.sigstore.json"), "{}").expect("bundle");
            let digest = Command::new("sha256sum")
                .arg(d.join("release").join(asset))
                .output()
                .expect("sha256sum");
            let digest = String::from_utf8_lossy(&digest.stdout)
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_string();
            let pinned = if pin_right_digest {
                digest
            } else {
                "0".repeat(64)
            };
            std::fs::write(
                d.join("action/checksums.txt"),
                format!("1.2.3 {asset} {pinned}\n"),
            )
            .expect("checksums");
            // curl: copy the URL's last path segment from the local release.
            std::fs::write(
                d.join("fakebin/curl"),
                format!(
                    "#!/bin/sh\nout=\"\"\nwhile [ $# -gt 1 ]; do [ \"$1\" = --output ] && out=\"$2\"; shift; done\necho \"$1\" >> {log}\ncp \"{rel}/$(basename \"$1\")\" \"$out\"\n",
                    log = d.join("curl.log").display(),
                    rel = d.join("release").display()
                ),
            )
            .expect("curl");
            if let Some(code) = gh {
                std::fs::write(
                    d.join("fakebin/gh"),
                    format!(
                        "#!/bin/sh\necho \"$@\" >> {log}\nexit {code}\n",
                        log = d.join("gh.log").display()
                    ),
                )
                .expect("gh");
            }
            for tool in ["curl", "gh"] {
                let p = d.join("fakebin").join(tool);
                if p.exists() {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
                        .expect("chmod");
                }
            }
            Setup { dir }
        }

        fn run(&self) -> (i32, String) {
            let d = self.dir.path();
            let out = Command::new(d.join("tools/bash"))
                .arg(d.join("action/install.sh"))
                .env_clear()
                .env(
                    "PATH",
                    format!(
                        "{}:{}",
                        d.join("fakebin").display(),
                        d.join("tools").display()
                    ),
                )
                .env("ACTION_PATH", d)
                .env("ACTION_REPOSITORY", "acme/cargo-slsa")
                .env("INSTALL_ROOT", d.join("root"))
                .env("VERSION", "1.2.3")
                .env("TARGET_OS", "Linux")
                .env("TARGET_ARCH", "X64")
                .output()
                .expect("bash");
            (
                out.status.code().unwrap_or(-1),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            )
        }

        fn installed(&self) -> PathBuf {
            self.dir.path().join("root/bin/slsa-action")
        }

        fn gh_log(&self) -> String {
            std::fs::read_to_string(self.dir.path().join("gh.log")).unwrap_or_default()
        }
    }

    #[test]
    fn a_release_is_installed_only_when_its_digest_and_provenance_verify() {
        let s = Setup::new(true, Some(0));
        let (code, out) = s.run();
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("sha256 and SLSA provenance verified"), "{out}");
        assert!(s.installed().is_file());
        let log = s.gh_log();
        assert!(log.starts_with("attestation verify "), "{log}");
        assert!(log.contains("--repo acme/cargo-slsa"), "{log}");
        assert!(
            log.contains("--signer-workflow acme/cargo-slsa/.github/workflows/slsa-build.yml"),
            "{log}"
        );
        assert!(log.contains("cargo-slsa.sigstore.json"), "{log}");

        let s = Setup::new(true, Some(1));
        let (code, out) = s.run();
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("does not verify"), "{out}");
        assert!(!s.installed().exists(), "nothing installed");

        let s = Setup::new(false, Some(0));
        let (code, out) = s.run();
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("but action/checksums.txt pins"), "{out}");
        assert!(!s.installed().exists());
        assert!(s.gh_log().is_empty(), "the digest is checked first");
    }

    #[test]
    fn without_gh_the_provenance_check_is_skipped_with_a_warning() {
        let s = Setup::new(true, None);
        let (code, out) = s.run();
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("::warning"), "{out}");
        assert!(s.installed().is_file());
    }
}
