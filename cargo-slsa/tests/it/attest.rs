//! `cargo slsa attest`, `verify` and `keygen`: a reproducible build of a registry-kit crate with
//! dependencies, the provenance it records, a tamper matrix where every change is rejected with
//! its own code, statements signed by an independent signer (openssl), keys, and bad input.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use sha2::{Digest, Sha256};
use slsa_tests::{CrateBuilder, Env, Project};

use crate::{codes, git, json, keygen, slsa};

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A git-committed project: bin `app` using registry crates `alpha` → `beta`, locked and
/// fetched.
fn app_project(env: &Env, main_rs: &str) -> Project {
    let r = env.registry();
    r.publish(CrateBuilder::new("beta", "1.2.0").file("src/lib.rs", "pub fn b() -> u32 { 40 }\n"));
    r.publish(
        CrateBuilder::new("alpha", "1.0.0")
            .dep("beta", "1")
            .file("src/lib.rs", "pub fn a() -> u32 { beta::b() + 2 }\n"),
    );
    let project = Project::new()
        .file(
            "Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n\
             [dependencies]\nalpha = \"1\"\n",
        )
        .file("src/main.rs", main_rs)
        .file(".gitignore", "/target\n")
        .build();
    crate::lock_and_fetch(env, &project);
    git(project.path(), &["init", "-q"]);
    git(project.path(), &["add", "-A"]);
    git(project.path(), &["commit", "-qm", "app"]);
    project
}

/// `attest --key KEY` on a source that is not a clean commit: exit 1 with one `source-dirty`
/// finding, nothing built or written; the JSON report.
fn refused_as_dirty(env: &Env, project: &Project, key: &Path) -> Value {
    let out = slsa(
        env,
        project.path(),
        &[
            "attest",
            "--offline",
            "--key",
            key.to_str().expect("utf-8"),
            "--format",
            "json",
        ],
    )
    .assert_code(1);
    let report = json(&out);
    assert_eq!(codes(&report), ["source-dirty"], "{report}");
    assert!(!project.exists("target/slsa"), "nothing written");
    assert!(!project.exists("target/release/app"), "nothing built");
    report
}

fn statement_of(line: &str) -> Value {
    let env: Value = serde_json::from_str(line).expect("envelope");
    let payload = B64
        .decode(env["payload"].as_str().expect("payload"))
        .expect("base64");
    serde_json::from_slice(&payload).expect("statement")
}

#[test]
fn attest_builds_reproducibly_records_the_build_and_verifies() {
    let env = Env::new();
    let project = app_project(&env, "fn main() { println!(\"{}\", alpha::a()); }\n");
    let keys = tempfile::tempdir().expect("tmp");
    let (key, public) = keygen(&env, keys.path());
    let head = git(project.path(), &["rev-parse", "HEAD"]);

    // The user's own rustc flags are kept (and recorded, and used again by --rebuild).
    let mut cmd = env.command(crate::bin(), project.path());
    cmd.args([
        "attest",
        "--offline",
        "--reproducible",
        "--sbom",
        "--key",
        key.to_str().expect("utf-8"),
        "--format",
        "json",
    ])
    .env("RUSTFLAGS", "--cfg=slsa_user_flag");
    let out = slsa_tests::run(cmd).assert_success();
    let report = json(&out);
    assert_eq!(report["summary"]["reproducible"], true, "{report}");
    let bin = project.join("target/release/app");
    let bin_sha = sha256_hex(&std::fs::read(&bin).expect("binary where cargo puts it"));
    assert_eq!(report["summary"]["subjects"][0]["sha256"], bin_sha.as_str());

    let jsonl = project.read("target/slsa/app.intoto.jsonl");
    assert_eq!(
        jsonl.lines().count(),
        2,
        "provenance, then the SBOM (--sbom)"
    );
    let st = statement_of(jsonl.lines().next().expect("line"));
    let sbom = statement_of(jsonl.lines().nth(1).expect("sbom line"));
    assert_eq!(sbom["predicateType"], "https://cyclonedx.org/bom");
    assert_eq!(
        sbom["subject"], st["subject"],
        "the SBOM is about the same artifacts"
    );
    assert_eq!(sbom["predicate"]["bomFormat"], "CycloneDX");
    assert!(
        sbom["predicate"]["components"]
            .as_array()
            .expect("components")
            .iter()
            .any(|c| c["purl"] == "pkg:cargo/alpha@1.0.0"),
        "{sbom}"
    );
    assert!(project.exists("target/slsa/app.sbom.sigstore.json"));
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(st["predicateType"], "https://slsa.dev/provenance/v1");
    assert_eq!(st["subject"][0]["name"], "app");
    assert_eq!(st["subject"][0]["digest"]["sha256"], bin_sha.as_str());
    let bd = &st["predicate"]["buildDefinition"];
    assert_eq!(
        bd["externalParameters"]["command"],
        serde_json::json!(["cargo", "build", "--locked", "--release"])
    );
    assert_eq!(
        bd["internalParameters"]["env"]["SOURCE_DATE_EPOCH"], "1700000000",
        "the commit time"
    );
    let rustflags: Vec<&str> = bd["internalParameters"]["rustflags"]
        .as_array()
        .expect("rustflags")
        .iter()
        .map(|f| f.as_str().expect("flag"))
        .collect();
    assert_eq!(
        rustflags[0], "--cfg=slsa_user_flag",
        "the user's flags come first"
    );
    assert!(
        rustflags.contains(&"--remap-path-prefix=$WORKSPACE=/slsa/src"),
        "{rustflags:?}"
    );
    // No machine paths in what was recorded about the build (the source URL of a clone
    // without a remote is a file:// URL, which is the truth).
    let internal = bd["internalParameters"].to_string();
    assert!(
        !internal.contains(project.path().to_str().expect("utf-8")),
        "no machine paths: {internal}"
    );
    let deps = bd["resolvedDependencies"].as_array().expect("deps");
    assert_eq!(deps[0]["digest"]["gitCommit"], head.as_str());
    assert!(
        deps[0]["uri"]
            .as_str()
            .expect("uri")
            .ends_with("@refs/heads/main")
    );
    assert!(
        deps[1]["uri"]
            .as_str()
            .expect("uri")
            .starts_with("pkg:generic/rust@")
    );
    for pkg in project.lock() {
        let uri = format!("pkg:cargo/{}@{}", pkg.name, pkg.version);
        let d = deps
            .iter()
            .find(|d| d["uri"] == uri.as_str())
            .unwrap_or_else(|| panic!("{uri} missing from resolvedDependencies"));
        if let Some(sum) = &pkg.checksum {
            assert_eq!(d["digest"]["sha256"], sum.as_str(), "{uri}");
        }
    }
    let run = &st["predicate"]["runDetails"];
    assert_eq!(
        run["builder"]["id"],
        "https://github.com/cargo-slsa/cargo-slsa/builders/local@v1"
    );
    assert_eq!(run["byproducts"][0]["annotations"]["result"], "PASSED");

    // Both files verify, with every policy check given.
    for file in [
        "target/slsa/app.intoto.jsonl",
        "target/slsa/app.sigstore.json",
    ] {
        let out = slsa(
            &env,
            project.path(),
            &[
                "verify",
                "target/release/app",
                "--attestation",
                file,
                "--key",
                public.to_str().expect("utf-8"),
                "--source-ref",
                "refs/heads/main",
                "--builder-id",
                "https://github.com/cargo-slsa/cargo-slsa/builders/local",
                "--format",
                "json",
            ],
        )
        .assert_success();
        let v = json(&out);
        assert_eq!(v["summary"]["verified"], true, "{v}");
        assert_eq!(v["summary"]["artifacts"][0]["subject"], "app");
    }
    let bundle: Value =
        serde_json::from_str(&project.read("target/slsa/app.sigstore.json")).expect("bundle");
    assert_eq!(
        bundle["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );

    // --rebuild repeats the recorded build from the recorded commit.
    let out = slsa(
        &env,
        project.path(),
        &[
            "verify",
            "target/release/app",
            "--attestation",
            "target/slsa/app.intoto.jsonl",
            "--key",
            public.to_str().expect("utf-8"),
            "--rebuild",
            "--offline",
            "--format",
            "json",
        ],
    )
    .assert_success();
    assert_eq!(json(&out)["summary"]["rebuilt"], 1);
}

#[test]
fn an_irreproducible_build_fails_and_writes_nothing() {
    let env = Env::new();
    // The absolute workspace path ends up in the binary: not reproducible across paths.
    let project = app_project(
        &env,
        "fn main() { println!(\"{} {}\", env!(\"CARGO_MANIFEST_DIR\"), alpha::a()); }\n",
    );
    let keys = tempfile::tempdir().expect("tmp");
    let (key, _) = keygen(&env, keys.path());
    let out = slsa(
        &env,
        project.path(),
        &[
            "attest",
            "--offline",
            "--reproducible",
            "--key",
            key.to_str().expect("utf-8"),
            "--format",
            "json",
        ],
    )
    .assert_code(1);
    let report = json(&out);
    assert_eq!(codes(&report), ["not-reproducible"]);
    assert_eq!(report["summary"]["reproducible"], false);
    assert!(!project.exists("target/slsa"), "nothing written");

    // Attested without the check, a rebuild elsewhere exposes it.
    slsa(
        &env,
        project.path(),
        &["attest", "--offline", "--key", key.to_str().expect("utf-8")],
    )
    .assert_success();
    let public = keys.path().join("k.pub");
    let out = slsa(
        &env,
        project.path(),
        &[
            "verify",
            "target/release/app",
            "--attestation",
            "target/slsa/app.intoto.jsonl",
            "--key",
            public.to_str().expect("utf-8"),
            "--rebuild",
            "--offline",
            "--format",
            "json",
        ],
    )
    .assert_code(1);
    assert_eq!(codes(&json(&out)), ["rebuild-mismatch"]);
}

#[test]
fn a_dirty_tree_is_not_attested_unless_allowed_and_then_fails_verification() {
    let env = Env::new();
    let project = app_project(&env, "fn main() { println!(\"{}\", alpha::a()); }\n");
    let keys = tempfile::tempdir().expect("tmp");
    let (key, public) = keygen(&env, keys.path());
    // An untracked file counts: it could be a .cargo/config.toml or an include_bytes! target.
    project.write("notes.txt", "uncommitted");
    let report = refused_as_dirty(&env, &project, &key);
    assert!(
        report["findings"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("notes.txt")),
        "the finding names what is not committed: {report}"
    );
    assert!(!project.exists("target/slsa"), "nothing written");
    assert!(!project.exists("target/release/app"), "nothing built");

    slsa(
        &env,
        project.path(),
        &[
            "attest",
            "--offline",
            "--allow-dirty",
            "--key",
            key.to_str().expect("utf-8"),
        ],
    )
    .assert_success();
    let out = slsa(
        &env,
        project.path(),
        &[
            "verify",
            "target/release/app",
            "--attestation",
            "target/slsa/app.intoto.jsonl",
            "--key",
            public.to_str().expect("utf-8"),
            "--format",
            "json",
        ],
    )
    .assert_code(1);
    assert_eq!(codes(&json(&out)), ["dirty-build"]);
}

/// A project with a lock and a commit, and a prebuilt "Lambda zip" attested with `--artifact`.
struct Attested {
    env: Env,
    project: Project,
    keys: tempfile::TempDir,
    public: PathBuf,
    private: PathBuf,
    zip: Vec<u8>,
}

fn attested() -> Attested {
    let env = Env::new();
    let project = Project::new()
        .file(
            "Cargo.toml",
            "[package]\nname = \"fn\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .file("src/main.rs", "fn main() {}\n")
        .file(".gitignore", "/target\n/dist\n/att\n")
        .build();
    crate::lock_and_fetch(&env, &project);
    git(project.path(), &["init", "-q"]);
    git(project.path(), &["add", "-A"]);
    git(project.path(), &["commit", "-qm", "fn"]);
    let zip = b"PK\x03\x04 pretend this is bootstrap.zip".to_vec();
    project.write("dist/bootstrap.zip", &zip);
    let keys = tempfile::tempdir().expect("tmp");
    let (private, public) = keygen(&env, keys.path());
    slsa(
        &env,
        project.path(),
        &[
            "attest",
            "--artifact",
            "dist/bootstrap.zip",
            "--key",
            private.to_str().expect("utf-8"),
            "--output",
            "att",
        ],
    )
    .assert_success();
    Attested {
        env,
        project,
        keys,
        public,
        private,
        zip,
    }
}

impl Attested {
    fn verify(&self, attestation: &str, extra: &[&str], code: i32) -> Value {
        let mut args = vec![
            "verify",
            "dist/bootstrap.zip",
            "--attestation",
            attestation,
            "--key",
            self.public.to_str().expect("utf-8"),
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let out = slsa(&self.env, self.project.path(), &args).assert_code(code);
        json(&out)
    }

    fn envelope(&self) -> Value {
        serde_json::from_str(self.project.read("att/dist.intoto.jsonl").trim()).expect("envelope")
    }

    /// Write `envelope` as a one-line attestation file named `name`.
    fn write_envelope(&self, name: &str, envelope: &Value) -> String {
        let rel = format!("att/{name}");
        self.project.write(&rel, format!("{envelope}\n"));
        rel
    }

    /// Sign `statement_bytes` as `payload_type` with the trusted key through openssl (an
    /// independent ECDSA implementation), as an attacker holding the key could not avoid and a
    /// confused signer might do.
    fn openssl_sign(&self, payload_type: &str, statement_bytes: &[u8]) -> Value {
        let pae = [
            format!(
                "DSSEv1 {} {} {} ",
                payload_type.len(),
                payload_type,
                statement_bytes.len()
            )
            .into_bytes(),
            statement_bytes.to_vec(),
        ]
        .concat();
        let pae_path = self.keys.path().join("pae.bin");
        std::fs::write(&pae_path, &pae).expect("write pae");
        let sig_path = self.keys.path().join("sig.der");
        let out = Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&self.private)
            .arg("-out")
            .arg(&sig_path)
            .arg(&pae_path)
            .output()
            .expect("openssl");
        assert!(out.status.success(), "{out:?}");
        serde_json::json!({
            "payload": B64.encode(statement_bytes),
            "payloadType": payload_type,
            "signatures": [{"keyid": "", "sig": B64.encode(std::fs::read(&sig_path).expect("sig"))}],
        })
    }
}

#[test]
fn prebuilt_artifacts_verify_and_the_lambda_digest_is_checked() {
    let a = attested();
    let st = statement_of(a.project.read("att/dist.intoto.jsonl").trim());
    assert_eq!(
        st["predicate"]["buildDefinition"]["externalParameters"]["prebuiltArtifacts"],
        serde_json::json!(["dist/bootstrap.zip"])
    );
    let lambda = B64.encode(Sha256::digest(&a.zip));
    let v = a.verify(
        "att/dist.sigstore.json",
        &["--lambda-code-sha256", &lambda],
        0,
    );
    assert_eq!(v["summary"]["verified"], true);
    // A deployed package that is not the attested one.
    let other = B64.encode(Sha256::digest(b"another zip"));
    let v = a.verify(
        "att/dist.intoto.jsonl",
        &["--lambda-code-sha256", &other],
        1,
    );
    assert_eq!(codes(&v), ["lambda-mismatch"]);
}

#[test]
fn tamper_matrix_each_change_is_rejected_with_its_reason() {
    let a = attested();
    let good = a.envelope();
    let payload = B64
        .decode(good["payload"].as_str().expect("payload"))
        .expect("b64");
    let statement: Value = serde_json::from_slice(&payload).expect("statement");

    // One byte of the payload.
    let mut bad = good.clone();
    let mut p = payload.clone();
    let i = p.len() / 2;
    p[i] ^= 0x01;
    bad["payload"] = Value::String(B64.encode(&p));
    let f = a.write_envelope("payload-byte.jsonl", &bad);
    assert_eq!(codes(&a.verify(&f, &[], 1)), ["signature-invalid"]);

    // The signature.
    let mut bad = good.clone();
    let mut sig = B64
        .decode(good["signatures"][0]["sig"].as_str().expect("sig"))
        .expect("b64");
    let last = sig.len() - 1;
    sig[last] ^= 0x01;
    bad["signatures"][0]["sig"] = Value::String(B64.encode(&sig));
    let f = a.write_envelope("signature.jsonl", &bad);
    assert_eq!(codes(&a.verify(&f, &[], 1)), ["signature-invalid"]);

    // The subject digest, re-encoded with the old signature.
    let mut st = statement.clone();
    st["subject"][0]["digest"]["sha256"] = Value::String(sha256_hex(b"evil"));
    let mut bad = good.clone();
    bad["payload"] = Value::String(B64.encode(serde_json::to_vec(&st).expect("json")));
    let f = a.write_envelope("subject.jsonl", &bad);
    assert_eq!(codes(&a.verify(&f, &[], 1)), ["signature-invalid"]);

    // payloadType changed after signing (PAE covers it).
    let mut bad = good.clone();
    bad["payloadType"] = Value::String("application/json".into());
    let f = a.write_envelope("payload-type.jsonl", &bad);
    assert_eq!(codes(&a.verify(&f, &[], 1)), ["signature-invalid"]);

    // The keyid names another key: a hint, never trusted; the signature still decides.
    let mut hinted = good.clone();
    hinted["signatures"][0]["keyid"] = Value::String("attacker".into());
    let f = a.write_envelope("keyid.jsonl", &hinted);
    a.verify(&f, &[], 0);

    // Another key.
    let other = tempfile::tempdir().expect("tmp");
    let (_, other_pub) = keygen(&a.env, other.path());
    let out = slsa(
        &a.env,
        a.project.path(),
        &[
            "verify",
            "dist/bootstrap.zip",
            "--attestation",
            "att/dist.intoto.jsonl",
            "--key",
            other_pub.to_str().expect("utf-8"),
            "--format",
            "json",
        ],
    )
    .assert_code(1);
    assert_eq!(codes(&json(&out)), ["signature-invalid"]);

    // The artifact's bytes.
    let mut zip = a.zip.clone();
    zip[0] ^= 0x01;
    a.project.write("dist/bootstrap.zip", &zip);
    assert_eq!(
        codes(&a.verify("att/dist.intoto.jsonl", &[], 1)),
        ["subject-missing"]
    );
    a.project.write("dist/bootstrap.zip", &a.zip);

    // Builder, source and ref policies.
    let v = a.verify(
        "att/dist.intoto.jsonl",
        &[
            "--builder-id",
            "https://github.com/o/r/.github/workflows/release.yml",
        ],
        1,
    );
    assert_eq!(codes(&v), ["builder-mismatch"]);
    let v = a.verify(
        "att/dist.intoto.jsonl",
        &["--source-uri", "github.com/o/r"],
        1,
    );
    assert_eq!(codes(&v), ["source-mismatch"]);
    let v = a.verify(
        "att/dist.intoto.jsonl",
        &["--source-ref", "refs/tags/v1.0.0"],
        1,
    );
    assert_eq!(codes(&v), ["ref-mismatch"]);

    // The bundle's payload.
    let mut bundle: Value =
        serde_json::from_str(&a.project.read("att/dist.sigstore.json")).expect("bundle");
    bundle["dsseEnvelope"]["payload"] = Value::String(B64.encode(&p));
    a.project
        .write("att/tampered.sigstore.json", bundle.to_string());
    assert_eq!(
        codes(&a.verify("att/tampered.sigstore.json", &[], 1)),
        ["signature-invalid"]
    );

    // Validly signed by the trusted key, but not what verify accepts.
    let mut st = statement.clone();
    st["predicateType"] = Value::String("https://example.com/other/v1".into());
    let env = a.openssl_sign(
        "application/vnd.in-toto+json",
        &serde_json::to_vec(&st).expect("json"),
    );
    let f = a.write_envelope("predicate-type.jsonl", &env);
    assert_eq!(codes(&a.verify(&f, &[], 1)), ["predicate-type"]);

    let env = a.openssl_sign("application/json", &payload);
    let f = a.write_envelope("signed-payload-type.jsonl", &env);
    assert_eq!(codes(&a.verify(&f, &[], 1)), ["payload-type"]);

    let mut st = statement.clone();
    st["_type"] = Value::String("https://in-toto.io/Statement/v0.1".into());
    let env = a.openssl_sign(
        "application/vnd.in-toto+json",
        &serde_json::to_vec(&st).expect("json"),
    );
    let f = a.write_envelope("statement-type.jsonl", &env);
    assert_eq!(codes(&a.verify(&f, &[], 1)), ["statement-type"]);

    // Another validly signed statement appended to the file (say, a branch build signed by the
    // same key) cannot lend its artifact the release's ref: every statement naming the
    // artifact is held to the policy.
    let evil = b"PK evil branch build".to_vec();
    a.project.write("dist/evil.zip", &evil);
    let mut st = statement.clone();
    st["subject"][0]["digest"]["sha256"] = Value::String(sha256_hex(&evil));
    // A consistent branch statement: ref, source URI and the source's entry all name the branch.
    let text = serde_json::to_string(&st)
        .expect("json")
        .replace("@refs/heads/main", "@refs/heads/evil")
        .replace("\"ref\":\"refs/heads/main\"", "\"ref\":\"refs/heads/evil\"");
    let st: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        st["predicate"]["buildDefinition"]["externalParameters"]["ref"],
        "refs/heads/evil"
    );
    let branch = a.openssl_sign(
        "application/vnd.in-toto+json",
        &serde_json::to_vec(&st).expect("json"),
    );
    a.project.write(
        "att/appended.jsonl",
        format!(
            "{}\n{branch}\n",
            a.project.read("att/dist.intoto.jsonl").trim()
        ),
    );
    let out = slsa(
        &a.env,
        a.project.path(),
        &[
            "verify",
            "dist/evil.zip",
            "--attestation",
            "att/appended.jsonl",
            "--key",
            a.public.to_str().expect("utf-8"),
            "--source-ref",
            "refs/heads/main",
            "--format",
            "json",
        ],
    )
    .assert_code(1);
    assert_eq!(codes(&json(&out)), ["ref-mismatch"]);

    // And the untouched statement signed by openssl verifies: our verifier accepts a signature
    // made by an independent implementation.
    let env = a.openssl_sign("application/vnd.in-toto+json", &payload);
    let f = a.write_envelope("openssl.jsonl", &env);
    a.verify(&f, &[], 0);
}

#[test]
fn our_signatures_verify_with_openssl() {
    let a = attested();
    let env = a.envelope();
    let payload = B64
        .decode(env["payload"].as_str().expect("payload"))
        .expect("b64");
    let pt = env["payloadType"].as_str().expect("type");
    let pae = [
        format!("DSSEv1 {} {} {} ", pt.len(), pt, payload.len()).into_bytes(),
        payload,
    ]
    .concat();
    let dir = a.keys.path();
    std::fs::write(dir.join("pae.bin"), &pae).expect("pae");
    std::fs::write(
        dir.join("sig.der"),
        B64.decode(env["signatures"][0]["sig"].as_str().expect("sig"))
            .expect("b64"),
    )
    .expect("sig");
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(&a.public)
        .arg("-signature")
        .arg(dir.join("sig.der"))
        .arg(dir.join("pae.bin"))
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl rejected our signature: {out:?}"
    );
}

#[test]
fn keys_come_from_files_or_the_environment_and_never_show() {
    let env = Env::new();
    let project = Project::new()
        .file(
            "Cargo.toml",
            "[package]\nname = \"k\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .file("src/main.rs", "fn main() {}\n")
        .file("a.bin", "a")
        .build();
    crate::lock_and_fetch(&env, &project);
    let keys = tempfile::tempdir().expect("tmp");
    let (private, public) = keygen(&env, keys.path());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&private)
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // keygen does not overwrite.
    let prefix = keys.path().join("k");
    let before = std::fs::read(&private).expect("key");
    slsa(
        &env,
        keys.path(),
        &["keygen", "--output-prefix", prefix.to_str().expect("utf-8")],
    )
    .assert_code(2);
    assert_eq!(std::fs::read(&private).expect("key"), before);

    // No key anywhere: exit 2, nothing written.
    let out = slsa(&env, project.path(), &["attest", "--artifact", "a.bin"]).assert_code(2);
    assert!(out.stderr.contains("SLSA_SIGNING_KEY"), "{out:?}");
    assert!(!project.exists("target/slsa"));

    // The key from the environment; its text never appears in any output.
    let pem = std::fs::read_to_string(&private).expect("pem");
    let mut cmd = env.command(crate::bin(), project.path());
    cmd.args(["attest", "--artifact", "a.bin", "-v", "--format", "json"])
        .env("SLSA_SIGNING_KEY", &pem);
    let out = slsa_tests::run(cmd).assert_success();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for chunk in [&body[..20], &body[body.len() - 20..]] {
        assert!(!out.stdout.contains(chunk) && !out.stderr.contains(chunk));
    }
    for f in std::fs::read_dir(project.join("target/slsa")).expect("out dir") {
        let text = std::fs::read_to_string(f.expect("entry").path()).expect("read");
        assert!(!text.contains(&body[..20]));
    }
    slsa(
        &env,
        project.path(),
        &[
            "verify",
            "a.bin",
            "--attestation",
            "target/slsa/a.bin.intoto.jsonl",
            "--key",
            public.to_str().expect("utf-8"),
        ],
    )
    .assert_success();

    // A malformed key in the environment: exit 2, the text not echoed.
    let mut cmd = env.command(crate::bin(), project.path());
    cmd.args(["attest", "--artifact", "a.bin"]).env(
        "SLSA_SIGNING_KEY",
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXN0dWZm\n-----END PRIVATE KEY-----\n",
    );
    let out = slsa_tests::run(cmd).assert_code(2);
    assert!(out.stderr.contains("$SLSA_SIGNING_KEY"), "{out:?}");
    assert!(!out.stderr.contains("c2VjcmV0LXN0dWZm"));
}

#[test]
fn bad_verify_input_exits_2_with_file_and_line() {
    let a = attested();
    a.project.write(
        "att/broken.jsonl",
        format!(
            "{}\n{{\"payload\": 1\n",
            a.project.read("att/dist.intoto.jsonl").trim()
        ),
    );
    let out = slsa(
        &a.env,
        a.project.path(),
        &[
            "verify",
            "dist/bootstrap.zip",
            "--attestation",
            "att/broken.jsonl",
            "--key",
            a.public.to_str().expect("utf-8"),
        ],
    )
    .assert_code(2);
    assert!(out.stderr.contains("att/broken.jsonl:2"), "{out:?}");

    // A private key where the public one belongs.
    let out = slsa(
        &a.env,
        a.project.path(),
        &[
            "verify",
            "dist/bootstrap.zip",
            "--attestation",
            "att/dist.intoto.jsonl",
            "--key",
            a.private.to_str().expect("utf-8"),
        ],
    )
    .assert_code(2);
    assert!(out.stderr.contains("private key"), "{out:?}");

    // No trust anchor.
    slsa(
        &a.env,
        a.project.path(),
        &[
            "verify",
            "dist/bootstrap.zip",
            "--attestation",
            "att/dist.intoto.jsonl",
        ],
    )
    .assert_code(2);

    // Lambda digest that is not base64 of 32 bytes.
    let out = slsa(
        &a.env,
        a.project.path(),
        &[
            "verify",
            "dist/bootstrap.zip",
            "--attestation",
            "att/dist.intoto.jsonl",
            "--key",
            a.public.to_str().expect("utf-8"),
            "--lambda-code-sha256",
            "abc",
        ],
    )
    .assert_code(2);
    assert!(out.stderr.contains("CodeSha256"), "{out:?}");
}

#[test]
fn ignore_comments_inside_an_attestation_suppress_nothing() {
    let a = attested();
    // A forged statement (another subject) in an envelope that carries an ignore comment in a
    // field serde skips: the bad signature must still fail the run, and say why.
    let mut env = a.envelope();
    let mut st: Value = serde_json::from_slice(
        &B64.decode(env["payload"].as_str().expect("payload"))
            .expect("b64"),
    )
    .expect("statement");
    st["subject"][0]["digest"]["sha256"] = Value::String("ab".repeat(32));
    env["payload"] = Value::String(B64.encode(serde_json::to_vec(&st).expect("json")));
    env["note"] = Value::String(
        "# cargo-slsa: ignore[signature-invalid, predicate-type, subject-missing]".into(),
    );
    let f = a.write_envelope("commented.jsonl", &env);
    let report = a.verify(&f, &[], 1);
    assert!(
        codes(&report).contains(&"signature-invalid".to_string()),
        "{report}"
    );
    assert!(report["summary"].get("suppressed").is_none(), "{report}");
    // The same on a validly signed statement: policy findings stay.
    let mut good = a.envelope();
    good["note"] = Value::String("# cargo-slsa: ignore[ref-mismatch]".into());
    let f = a.write_envelope("commented-good.jsonl", &good);
    let report = a.verify(&f, &["--source-ref", "refs/tags/v9"], 1);
    assert_eq!(codes(&report), ["ref-mismatch"], "{report}");
}

#[test]
fn keygen_force_onto_a_directory_keeps_the_old_pair() {
    let env = Env::new();
    let dir = tempfile::tempdir().expect("tmp");
    let (key, public) = keygen(&env, dir.path());
    let old_pub = std::fs::read(&public).expect("pub");
    std::fs::remove_file(&key).expect("rm key");
    std::fs::create_dir_all(key.join("inside")).expect("a directory where the key was");
    let prefix = dir.path().join("k");
    let out = slsa(
        &env,
        dir.path(),
        &[
            "keygen",
            "--force",
            "--output-prefix",
            prefix.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        std::fs::read(&public).expect("pub"),
        old_pub,
        "the public key is untouched"
    );
}

#[test]
fn an_ignored_build_script_makes_the_source_dirty() {
    let env = Env::new();
    let project = app_project(&env, "fn main() { println!(\"{}\", alpha::a()); }\n");
    let keys = tempfile::tempdir().expect("tmp");
    let (key, _) = keygen(&env, keys.path());
    // Hidden from git status through .git/info/exclude, yet cargo compiles and runs it.
    std::fs::write(project.join(".git/info/exclude"), "build.rs\n").expect("exclude");
    project.write("build.rs", "fn main() { /* anything at all */ }\n");
    assert!(git(project.path(), &["status", "--porcelain"]).is_empty());
    let report = refused_as_dirty(&env, &project, &key);
    assert!(
        report["findings"][0]["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("build.rs")),
        "{report}"
    );
    assert!(!project.exists("target/release/app"), "nothing built");
}
