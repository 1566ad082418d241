//! Keyless signing and verification against the kit's loopback Sigstore (OIDC token endpoint,
//! Fulcio with an embedded SCT, Rekor with a signed entry timestamp and inclusion proof): the
//! flow GitHub Actions runs, the identity/issuer policy, the certificate's source claims, and
//! tampering.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use slsa_tests::sigstore::{self, Claims};
use slsa_tests::{Env, FakeSigstore, Project, RunOutput, run};

use crate::{codes, git, json};

pub(crate) struct Fixture {
    pub(crate) env: Env,
    pub(crate) project: Project,
    pub(crate) fake: FakeSigstore,
    head: String,
}

/// The paths of the requests the fakes saw, without `attest`'s check (before the build) that each
/// service answers: GETs of their base URLs.
fn service_calls(fake: &FakeSigstore) -> Vec<String> {
    fake.requests()
        .iter()
        .filter(|r| !(r.method == "GET" && r.path == "/"))
        .map(|r| r.path.clone())
        .collect()
}

pub(crate) fn fixture() -> Fixture {
    let env = Env::new();
    let project = Project::new()
        .file(
            "Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .file("src/main.rs", "fn main() {}\n")
        .file("dist/bootstrap.zip", "PK pretend zip")
        .file(
            ".gitignore",
            "/target\n/trusted_root.json\n/fake_root.json\n",
        )
        .build();
    crate::lock_and_fetch(&env, &project);
    git(project.path(), &["init", "-q"]);
    git(project.path(), &["add", "-A"]);
    git(project.path(), &["commit", "-qm", "app"]);
    let head = git(project.path(), &["rev-parse", "HEAD"]);
    project.write("trusted_root.json", FakeSigstore::start().trusted_root());
    Fixture {
        env,
        project,
        fake: FakeSigstore::start(),
        head,
    }
}

impl Fixture {
    /// `cargo-slsa ARGS` as a GitHub Actions release job for acme/app at tag v1.0.0 would run
    /// it, for commit `sha`; `id_token` gives it the OIDC request variables (`id-token: write`).
    pub(crate) fn actions_job(&self, args: &[&str], sha: &str, id_token: bool) -> RunOutput {
        let mut cmd = self.env.command(crate::bin(), self.project.path());
        cmd.args(args)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_REPOSITORY", "acme/app")
            .env("GITHUB_REF", "refs/tags/v1.0.0")
            .env("GITHUB_SHA", sha)
            .env(
                "GITHUB_WORKFLOW_REF",
                "acme/app/.github/workflows/release.yml@refs/tags/v1.0.0",
            )
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_RUN_ATTEMPT", "1");
        if id_token {
            cmd.env(
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                self.fake.token_request_url(),
            )
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", sigstore::REQUEST_TOKEN);
        }
        run(cmd)
    }

    /// The release job at the fixture's commit, with `id-token: write`.
    pub(crate) fn in_actions(&self, args: &[&str]) -> RunOutput {
        self.actions_job(args, &self.head, true)
    }

    fn attest(&self) -> RunOutput {
        self.attest_with(&[])
    }

    /// `attest --keyless` with the services on the command line (Fulcio and Rekor v1), plus
    /// `extra`.
    pub(crate) fn attest_with(&self, extra: &[&str]) -> RunOutput {
        let url = self.fake.url();
        let mut args = vec![
            "attest",
            "--artifact",
            "dist/bootstrap.zip",
            "--keyless",
            "--fulcio-url",
            &url,
            "--rekor-url",
            &url,
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        self.in_actions(&args)
    }

    fn verify(&self, extra: &[&str], code: i32) -> Value {
        self.project
            .write("fake_root.json", self.fake.trusted_root());
        let mut args = vec![
            "verify",
            "dist/bootstrap.zip",
            "--attestation",
            "target/slsa/dist.sigstore.json",
            "--trusted-root",
            "fake_root.json",
            "--certificate-oidc-issuer",
            sigstore::ISSUER,
            "--format",
            "json",
        ];
        if !extra
            .iter()
            .any(|a| a.starts_with("--certificate-identity"))
        {
            args.extend(["--certificate-identity", sigstore::IDENTITY]);
        }
        args.extend_from_slice(extra);
        let mut cmd = self.env.command(crate::bin(), self.project.path());
        cmd.args(&args);
        json(&run(cmd).assert_code(code))
    }
}

#[test]
fn keyless_attestation_from_actions_verifies_with_identity_and_source_policy() {
    let f = fixture();
    let out = f.attest().assert_success();
    let report = json(&out);
    assert_eq!(
        report["summary"]["builderId"],
        "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0"
    );
    assert_eq!(
        report["summary"]["source"],
        "git+https://github.com/acme/app@refs/tags/v1.0.0"
    );

    // The flow: OIDC token with audience sigstore, then Fulcio, then Rekor (after the checks,
    // before the build, that each service answers: the GETs of their base URLs).
    let paths = service_calls(&f.fake);
    assert_eq!(
        paths,
        ["/oidc/token", "/api/v2/signingCert", "/api/v1/log/entries"]
    );
    // The identity token is a secret: not in any output or file.
    let token_body = f
        .fake
        .requests()
        .iter()
        .find(|r| r.path == "/api/v2/signingCert")
        .map(|r| r.body.clone())
        .expect("a Fulcio request");
    let token: Value = serde_json::from_str(&token_body).expect("fulcio request");
    let jwt = token["credentials"]["oidcIdentityToken"]
        .as_str()
        .expect("token sent to Fulcio");
    let secret_part = jwt.rsplit('.').nth(1).expect("claims part");
    assert!(!out.stdout.contains(secret_part) && !out.stderr.contains(secret_part));
    let bundle_text = f.project.read("target/slsa/dist.sigstore.json");
    assert!(!bundle_text.contains(secret_part));

    let bundle: Value = serde_json::from_str(&bundle_text).expect("bundle");
    assert!(bundle["verificationMaterial"]["certificate"]["rawBytes"].is_string());
    assert_eq!(
        bundle["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"],
        "dsse"
    );
    // The jsonl carries the same envelope.
    let line: Value = serde_json::from_str(f.project.read("target/slsa/dist.intoto.jsonl").trim())
        .expect("envelope line");
    assert_eq!(line["payload"], bundle["dsseEnvelope"]["payload"]);
    let statement: Value = serde_json::from_slice(
        &B64.decode(line["payload"].as_str().expect("payload"))
            .expect("b64"),
    )
    .expect("statement");
    assert_eq!(
        statement["predicate"]["runDetails"]["metadata"]["invocationId"],
        "https://github.com/acme/app/actions/runs/4242/attempts/1"
    );

    let v = f.verify(
        &[
            "--source-uri",
            "github.com/acme/app",
            "--source-ref",
            "refs/tags/v1.0.0",
            "--builder-id",
            "https://github.com/acme/app/.github/workflows/release.yml",
        ],
        0,
    );
    assert_eq!(v["summary"]["verified"], true, "{v}");
    assert!(
        v["summary"]["signer"]
            .as_str()
            .expect("signer")
            .contains(sigstore::IDENTITY)
    );
    // A regular expression for the identity, anchored.
    f.verify(
        &[
            "--certificate-identity-regexp",
            r"https://github\.com/acme/app/\.github/workflows/release\.yml@refs/tags/v.*",
        ],
        0,
    );
    let v = f.verify(&["--certificate-identity-regexp", "acme"], 1);
    assert_eq!(codes(&v), ["certificate-mismatch"]);
}

#[test]
fn keyless_policy_and_tampering_are_rejected() {
    let f = fixture();
    f.attest().assert_success();

    let v = f.verify(
        &[
            "--certificate-identity",
            "https://github.com/evil/app/.github/workflows/release.yml@refs/tags/v1.0.0",
        ],
        1,
    );
    assert_eq!(codes(&v), ["certificate-mismatch"], "{v}");

    // Another issuer.
    let mut cmd = f.env.command(crate::bin(), f.project.path());
    f.project.write("fake_root.json", f.fake.trusted_root());
    cmd.args([
        "verify",
        "dist/bootstrap.zip",
        "--attestation",
        "target/slsa/dist.sigstore.json",
        "--trusted-root",
        "fake_root.json",
        "--certificate-identity",
        sigstore::IDENTITY,
        "--certificate-oidc-issuer",
        "https://accounts.example.com",
        "--format",
        "json",
    ]);
    assert_eq!(
        codes(&json(&run(cmd).assert_code(1))),
        ["certificate-mismatch"]
    );

    // A root that does not trust this Fulcio/Rekor (another instance's).
    let mut cmd = f.env.command(crate::bin(), f.project.path());
    cmd.args([
        "verify",
        "dist/bootstrap.zip",
        "--attestation",
        "target/slsa/dist.sigstore.json",
        "--trusted-root",
        "trusted_root.json",
        "--certificate-identity",
        sigstore::IDENTITY,
        "--certificate-oidc-issuer",
        sigstore::ISSUER,
        "--format",
        "json",
    ]);
    // The log is the first thing it cannot vouch for.
    let v = json(&run(cmd).assert_code(1));
    assert_eq!(codes(&v), ["tlog-untrusted"], "{v}");

    // The payload changed after signing.
    let path = "target/slsa/dist.sigstore.json";
    let original = f.project.read(path);
    let mut bundle: Value = serde_json::from_str(&original).expect("bundle");
    let mut payload = B64
        .decode(bundle["dsseEnvelope"]["payload"].as_str().expect("payload"))
        .expect("b64");
    let i = payload.len() / 2;
    payload[i] ^= 1;
    bundle["dsseEnvelope"]["payload"] = Value::String(B64.encode(&payload));
    f.project.write(path, bundle.to_string());
    let v = f.verify(&[], 1);
    assert_eq!(codes(&v), ["signature-invalid"], "{v}");
    f.project.write(path, &original);

    // Another artifact: the signature holds, but the file is not what it vouches for.
    f.project.write("dist/bootstrap.zip", "PK another zip");
    let v = f.verify(&[], 1);
    assert_eq!(codes(&v), ["subject-missing"], "{v}");
}

#[test]
fn the_certificate_source_claims_are_checked() {
    let f = fixture();
    // Fulcio vouches for another repository than the provenance names.
    f.fake.set_claims(Claims {
        repository: "https://github.com/evil/fork".into(),
        git_ref: "refs/heads/main".into(),
        ..Claims::default()
    });
    f.attest().assert_success();
    let v = f.verify(
        &[
            "--source-uri",
            "github.com/acme/app",
            "--source-ref",
            "refs/tags/v1.0.0",
        ],
        1,
    );
    assert_eq!(codes(&v), ["ref-mismatch", "source-mismatch"], "{v}");
}

#[test]
fn keyless_needs_a_token_and_a_bundle() {
    let f = fixture();
    // No OIDC token in the environment: exit 2 with what to do, nothing written.
    let mut cmd = f.env.command(crate::bin(), f.project.path());
    cmd.args([
        "attest",
        "--artifact",
        "dist/bootstrap.zip",
        "--keyless",
        "--fulcio-url",
        &f.fake.url(),
        "--rekor-url",
        &f.fake.url(),
    ]);
    let out = run(cmd).assert_code(2);
    assert!(out.stderr.contains("id-token: write"), "{out:?}");
    assert!(!f.project.exists("target/slsa"));

    // Keyless verification of a .intoto.jsonl (no certificate in it) is a usage error.
    f.attest().assert_success();
    let mut cmd = f.env.command(crate::bin(), f.project.path());
    cmd.args([
        "verify",
        "dist/bootstrap.zip",
        "--attestation",
        "target/slsa/dist.intoto.jsonl",
        "--certificate-identity",
        sigstore::IDENTITY,
        "--certificate-oidc-issuer",
        sigstore::ISSUER,
    ]);
    let out = run(cmd).assert_code(2);
    assert!(out.stderr.contains(".sigstore.json"), "{out:?}");
}

/// The reusable workflow's identity, as Fulcio certifies a job that runs inside it.
const REUSABLE: &str =
    "https://github.com/cargo-slsa/cargo-slsa/.github/workflows/slsa-build.yml@refs/tags/v1.0.0";

impl Fixture {
    /// The build job: `attest --unsigned` with no id-token, the statement and the binary.
    fn unsigned_build(&self) -> Value {
        json(
            &self
                .actions_job(
                    &["attest", "--unsigned", "--offline", "--format", "json"],
                    &self.head,
                    false,
                )
                .assert_success(),
        )
    }

    /// The provenance job: `attest --from-statement … --keyless` with the fake Sigstore.
    fn sign_statement(&self, statement: &str, artifacts: &[&str]) -> RunOutput {
        self.sign_statements_at(&[statement], artifacts, &self.head)
    }

    /// The provenance job for commit `sha`: `attest --from-statement` for every statement.
    fn sign_statements_at(&self, statements: &[&str], artifacts: &[&str], sha: &str) -> RunOutput {
        let url = self.fake.url();
        let mut args = vec!["attest"];
        for s in statements {
            args.extend(["--from-statement", s]);
        }
        for a in artifacts {
            args.extend(["--artifact", a]);
        }
        args.extend([
            "--keyless",
            "--fulcio-url",
            &url,
            "--rekor-url",
            &url,
            "--output",
            "signed",
            "--format",
            "json",
        ]);
        self.actions_job(&args, sha, true)
    }

    fn verify_signed(&self, extra: &[&str]) -> RunOutput {
        self.project
            .write("fake_root.json", self.fake.trusted_root());
        let mut cmd = self.env.command(crate::bin(), self.project.path());
        cmd.args([
            "verify",
            "target/release/app",
            "--attestation",
            "signed/app.sigstore.json",
            "--trusted-root",
            "fake_root.json",
            "--certificate-identity",
            REUSABLE,
            "--certificate-oidc-issuer",
            sigstore::ISSUER,
            "--format",
            "json",
        ])
        .args(extra);
        run(cmd)
    }
}

#[test]
fn a_statement_from_the_build_job_is_signed_by_the_provenance_job_as_the_reusable_workflow() {
    let f = fixture();
    f.fake.set_claims(Claims {
        identity: REUSABLE.into(),
        ..Claims::default()
    });
    let built = f.unsigned_build();
    assert!(
        f.project.exists("target/slsa/app.statement.json"),
        "{built}"
    );
    let out = f
        .sign_statement("target/slsa/app.statement.json", &["target/release/app"])
        .assert_success();
    let report = json(&out);
    assert_eq!(report["summary"]["builderId"], REUSABLE, "{report}");
    // Only the token endpoint, Fulcio and Rekor were asked (besides the check that each
    // service answers); nothing was built here.
    let paths = service_calls(&f.fake);
    assert_eq!(
        paths,
        ["/oidc/token", "/api/v2/signingCert", "/api/v1/log/entries"]
    );

    let out = f
        .verify_signed(&[
            "--builder-id",
            "https://github.com/cargo-slsa/cargo-slsa/.github/workflows/slsa-build.yml",
            "--source-uri",
            "github.com/acme/app",
            "--source-ref",
            "refs/tags/v1.0.0",
        ])
        .assert_success();
    assert_eq!(json(&out)["summary"]["verified"], true);
    // The caller's own workflow is not the builder: a build outside the reusable workflow
    // cannot pass for one that ran through it.
    let out = f
        .verify_signed(&[
            "--builder-id",
            "https://github.com/acme/app/.github/workflows/release.yml",
        ])
        .assert_code(1);
    assert_eq!(codes(&json(&out)), ["builder-mismatch", "builder-mismatch"]);
}

#[test]
fn from_statement_refuses_what_the_build_job_could_have_forged() {
    let f = fixture();
    f.unsigned_build();
    let original = f.project.read("target/slsa/app.statement.json");
    let edit = |change: &dyn Fn(&mut Value)| {
        let mut st: Value = serde_json::from_str(&original).expect("statement");
        change(&mut st);
        f.project.write("forged/app.statement.json", st.to_string());
    };
    let refused = |what: &str, artifacts: &[&str]| {
        let out = f.sign_statement("forged/app.statement.json", artifacts);
        assert_eq!(out.code, 1, "{what}: {out:?}");
        let report = json(&out);
        assert!(
            codes(&report).iter().all(|c| c == "statement-mismatch") && !codes(&report).is_empty(),
            "{what}: {report}"
        );
        assert!(!f.project.exists("signed"), "{what}: nothing is written");
        assert!(
            service_calls(&f.fake).is_empty(),
            "{what}: no token is fetched for a statement that is refused"
        );
        report
    };
    // A subject that is not the artifact (the build job names another file's digest).
    edit(&|st| st["subject"][0]["digest"]["sha256"] = Value::String("ab".repeat(32)));
    refused("tampered subject", &["target/release/app"]);
    // Another ref than the workflow runs for.
    edit(&|st| {
        st["predicate"]["buildDefinition"]["externalParameters"]["ref"] =
            Value::String("refs/heads/evil".into())
    });
    refused("tampered ref", &["target/release/app"]);
    // Another repository in the source URI.
    edit(&|st| {
        let ext = &mut st["predicate"]["buildDefinition"]["externalParameters"];
        ext["source"] = Value::String("git+https://github.com/evil/app@refs/tags/v1.0.0".into());
    });
    refused("tampered source", &["target/release/app"]);
    // A dependency that is not the checked-out lock's.
    edit(&|st| {
        let deps = st["predicate"]["buildDefinition"]["resolvedDependencies"]
            .as_array_mut()
            .expect("deps");
        deps.push(serde_json::json!({"uri": "pkg:cargo/evil@6.6.6", "digest": {"sha256": "00".repeat(32)}}));
    });
    let report = refused("extra dependency", &["target/release/app"]);
    assert!(
        report.to_string().contains("pkg:cargo/evil@6.6.6"),
        "{report}"
    );
    // A dirty mark anywhere.
    edit(&|st| {
        st["predicate"]["buildDefinition"]["resolvedDependencies"][1]["annotations"]["dirty"] =
            Value::String("true".into())
    });
    refused("dirty mark", &["target/release/app"]);
    // An artifact the statement does not name.
    edit(&|_| {});
    refused(
        "extra artifact",
        &["target/release/app", "dist/bootstrap.zip"],
    );
    // Claims about bytes nobody hashed: a second digest, an uppercase duplicate.
    edit(&|st| st["subject"][0]["digest"]["sha512"] = Value::String("00".repeat(64)));
    refused("second digest", &["target/release/app"]);
    edit(&|st| {
        let mut dup = st["subject"][0].clone();
        dup["name"] = Value::String("other-name".into());
        dup["digest"]["sha256"] = Value::String(
            dup["digest"]["sha256"]
                .as_str()
                .expect("sha")
                .to_uppercase(),
        );
        st["subject"].as_array_mut().expect("subjects").push(dup);
    });
    refused("uppercase duplicate subject", &["target/release/app"]);
    // Another commit claimed first, and a package in another spelling.
    edit(&|st| {
        let deps = st["predicate"]["buildDefinition"]["resolvedDependencies"]
            .as_array_mut()
            .expect("deps");
        deps.insert(
            0,
            serde_json::json!({"uri": "git+https://github.com/acme/app", "digest": {"gitCommit": "dd".repeat(20)}}),
        );
    });
    refused("a second source commit", &["target/release/app"]);
    edit(&|st| {
        let deps = st["predicate"]["buildDefinition"]["resolvedDependencies"]
            .as_array_mut()
            .expect("deps");
        deps.push(serde_json::json!({"uri": "PKG:CARGO/totally-legit@1.0.0", "digest": {"sha256": "00".repeat(32)}}));
    });
    refused("package in capitals", &["target/release/app"]);
    // Another workspace's lock (a directory of the repository with its own Cargo.lock).
    edit(&|st| {
        st["predicate"]["buildDefinition"]["externalParameters"]["workspace"] =
            Value::String("dist".into())
    });
    refused("another workspace", &["target/release/app"]);
    // A malformed runDetails is refused, not a panic.
    edit(&|st| st["predicate"]["runDetails"] = Value::String("x".into()));
    refused("malformed runDetails", &["target/release/app"]);
    // The SBOM slot holds a CycloneDX document, nothing else (say, an old provenance format
    // claiming another source).
    edit(&|_| {});
    let mut other: Value = serde_json::from_str(&original).expect("statement");
    other["predicateType"] = Value::String("https://slsa.dev/provenance/v0.2".into());
    f.project
        .write("forged/app.sbom.statement.json", other.to_string());
    let out = f.sign_statements_at(
        &[
            "forged/app.statement.json",
            "forged/app.sbom.statement.json",
        ],
        &["target/release/app"],
        &f.head,
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(!f.project.exists("signed"));
    assert!(
        service_calls(&f.fake).is_empty(),
        "no token for a refused statement"
    );
    std::fs::remove_file(f.project.join("forged/app.sbom.statement.json")).expect("rm");

    // The source moved on: the statement's commit is not the checkout's.
    f.project.write("README.md", "new\n");
    git(f.project.path(), &["add", "README.md"]);
    git(f.project.path(), &["commit", "-qm", "later"]);
    let head = git(f.project.path(), &["rev-parse", "HEAD"]);
    let out = f.sign_statements_at(
        &["target/slsa/app.statement.json"],
        &["target/release/app"],
        &head,
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains(&f.head) && out.stdout.contains(&head),
        "both commits named: {out:?}"
    );
    assert!(!f.project.exists("signed"));
}

#[test]
fn lambda_packages_sign_keylessly_and_verify_against_what_runs() {
    let f = fixture();
    let url = f.fake.url();
    let out = f
        .in_actions(&[
            "attest",
            "--lambda",
            "--offline",
            "--keyless",
            "--fulcio-url",
            &url,
            "--rekor-url",
            &url,
            "--format",
            "json",
        ])
        .assert_success();
    let report = json(&out);
    let code = report["summary"]["lambda"][0]["codeSha256"]
        .as_str()
        .expect("CodeSha256")
        .to_string();
    f.project.write("fake_root.json", f.fake.trusted_root());
    let keyless = [
        "--attestation",
        "target/slsa/app.sigstore.json",
        "--trusted-root",
        "fake_root.json",
        "--certificate-identity",
        sigstore::IDENTITY,
        "--certificate-oidc-issuer",
        sigstore::ISSUER,
        "--source-ref",
        "refs/tags/v1.0.0",
    ];
    let mut cmd = f.env.command(crate::bin(), f.project.path());
    cmd.args(["verify", "target/lambda/app/bootstrap.zip"])
        .args(keyless);
    run(cmd).assert_success();

    let lambda = slsa_tests::FakeLambda::start();
    lambda.deploy("app", None, slsa_tests::lambda::Function::zip(&code));
    lambda.deploy(
        "stale",
        None,
        slsa_tests::lambda::Function::zip(&B64.encode([7u8; 32])),
    );
    for (function, want) in [("app", 0), ("stale", 1)] {
        let mut cmd = f.env.command(crate::bin(), f.project.path());
        cmd.args(["verify", "--lambda-function", function])
            .args(keyless);
        for (k, v) in lambda.aws_env() {
            cmd.env(k, v);
        }
        let out = run(cmd);
        assert_eq!(out.code, want, "{function}: {out:?}");
    }
}
