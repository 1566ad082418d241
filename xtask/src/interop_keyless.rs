//! Keyless bundles for interop: `attest --keyless` of the cargo-slsa binary against the test
//! kit's loopback Sigstore fakes ([`FakeSigstore`]: Fulcio, a CT log, Rekor v1 and v2, an RFC 3161
//! timestamp authority), once per [`VARIANTS`] entry, each bundle then verified by two Sigstore
//! verifiers that share no code with cargo-slsa or with each other:
//!
//! - sigstore-python, through its own CLI (`sigstore --trust-config … verify identity --bundle …`),
//!   which checks the DSSE signature, certificate chain, SCT, log entry, identity and issuer, and
//!   that the in-toto statement names the artifact; a short script then checks that every RFC
//!   3161 timestamp the bundle carries is one sigstore-python verifies (its CLI is satisfied by
//!   any one verified time, so a bad TSA token beside a good Rekor v1 log time would pass it);
//! - sigstore-js (`@sigstore/verify`, from the npm registry, run with node), with a verified-time
//!   threshold of exactly the times the variant provides (the Rekor v1 log's signed entry
//!   timestamp, the TSA's token) and a check that the statement names the artifact.
//!
//! A verifier that rejects a bundle fails the step with its own error message.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use slsa_tests::FakeSigstore;
use slsa_tests::sigstore::{IDENTITY, ISSUER, REQUEST_TOKEN};

use crate::run_step;

/// One way of signing: which Rekor API, and whether an RFC 3161 timestamp authority is used.
pub(crate) struct Variant {
    name: &'static str,
    rekor_v2: bool,
    tsa: bool,
}

impl Variant {
    /// The verified times a bundle of this variant carries: Rekor v1's signed entry timestamp
    /// (Rekor v2 gives none) and the TSA's token.
    fn verified_times(&self) -> usize {
        usize::from(!self.rekor_v2) + usize::from(self.tsa)
    }
}

pub(crate) const VARIANTS: [Variant; 3] = [
    Variant {
        name: "rekor-v1",
        rekor_v2: false,
        tsa: false,
    },
    Variant {
        name: "rekor-v1-tsa",
        rekor_v2: false,
        tsa: true,
    },
    Variant {
        name: "rekor-v2-tsa",
        rekor_v2: true,
        tsa: true,
    },
];

/// The signed bundles, and the fakes they were made against (alive until this is dropped).
pub(crate) struct Keyless {
    _fake: FakeSigstore,
    artifact: PathBuf,
    /// Per variant: its directory (`keyless.sigstore.json`, `root.json`, `signing.json`,
    /// `trust_config.json`).
    dirs: Vec<(&'static Variant, PathBuf)>,
}

/// Sign (a copy of) `artifact` with `bin attest --keyless` once per variant, under
/// `dir/keyless/<variant>`.
pub(crate) fn sign(bin: &Path, artifact: &Path, dir: &Path) -> Result<Keyless> {
    // A copy: a concurrent `cargo build` may replace the original between signing and verifying.
    let keyless_dir = dir.join("keyless");
    let _ = std::fs::remove_dir_all(&keyless_dir);
    std::fs::create_dir_all(&keyless_dir)?;
    let copy = keyless_dir.join("cargo-slsa");
    std::fs::copy(artifact, &copy).with_context(|| format!("copying {}", artifact.display()))?;
    let artifact = copy.as_path();
    let fake = FakeSigstore::start();
    let root = fake.trusted_root();
    let mut dirs = Vec::new();
    for variant in &VARIANTS {
        let out = keyless_dir.join(variant.name);
        std::fs::create_dir_all(&out)?;
        let signing = fake.signing_config(variant.rekor_v2, variant.tsa);
        std::fs::write(out.join("signing.json"), &signing)?;
        std::fs::write(out.join("root.json"), &root)?;
        // sigstore-python's trust input: the trusted root and signing config in one document.
        let trust_config = json!({
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": serde_json::from_str::<Value>(&root)?,
            "signingConfig": serde_json::from_str::<Value>(&signing)?,
        });
        std::fs::write(
            out.join("trust_config.json"),
            serde_json::to_string_pretty(&trust_config)?,
        )?;
        let status = Command::new(bin)
            .current_dir(crate::root())
            .arg("attest")
            .arg("--artifact")
            .arg(artifact)
            .arg("--keyless")
            .arg("--signing-config")
            .arg(out.join("signing.json"))
            .arg("--trusted-root")
            .arg(out.join("root.json"))
            .arg("--output")
            .arg(&out)
            .args(["--name", "keyless", "--allow-dirty", "--quiet"])
            .env_remove("SIGSTORE_ID_TOKEN")
            .env("ACTIONS_ID_TOKEN_REQUEST_URL", fake.token_request_url())
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
            .status()
            .context("running cargo-slsa attest --keyless")?;
        if !status.success() {
            bail!(
                "cargo slsa attest --keyless ({}) against the Sigstore fakes failed ({status})",
                variant.name
            );
        }
        let bundle = out.join("keyless.sigstore.json");
        if !bundle.is_file() {
            bail!(
                "attest --keyless ({}) wrote no {}",
                variant.name,
                bundle.display()
            );
        }
        dirs.push((variant, out));
    }
    Ok(Keyless {
        _fake: fake,
        artifact: artifact.to_path_buf(),
        dirs,
    })
}

const PYTHON_DRIVER: &str = r#"
import os, subprocess, sys
from sigstore.models import Bundle, ClientTrustConfig
from sigstore.verify import Verifier

cli, artifact, identity, issuer = sys.argv[1:5]
failed = 0
for name, bundle, trust, tsa in zip(*[iter(sys.argv[5:])] * 4):
    cmd = [cli, "--trust-config", trust, "verify", "identity", "--offline",
           "--bundle", bundle, "--cert-identity", identity, "--cert-oidc-issuer", issuer,
           artifact]
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    problems = []
    if r.returncode != 0:
        problems.append(f"sigstore verify identity exited {r.returncode}:")
        problems += [l.rstrip() for l in (r.stderr + r.stdout).splitlines() if l.strip()][-15:]
    else:
        # The CLI needs one verified time; every RFC 3161 token carried must verify too.
        b = Bundle.from_json(open(bundle, "rb").read())
        v = Verifier(trusted_root=ClientTrustConfig.from_json(open(trust).read()).trusted_root)
        tvd = b.verification_material.timestamp_verification_data
        carried = len(tvd.rfc3161_timestamps) if tvd else 0
        verified = len(v._verify_timestamp_authority(b))
        if carried != int(tsa) or verified != carried:
            problems.append(f"RFC 3161 timestamps: {carried} carried, {verified} verified, "
                            f"{tsa} expected")
    status = "ok" if not problems else "REJECTED"
    print(f"  {status:8} {name}")
    for p in problems:
        print(f"           {p}")
    failed += bool(problems)
sys.exit(1 if failed else 0)
"#;

/// sigstore-python (its CLI, from the interop venv) on each bundle.
pub(crate) fn python(keyless: &Keyless, python: &Path, dir: &Path) -> Result<()> {
    let script = dir.join("keyless_python.py");
    std::fs::write(&script, PYTHON_DRIVER)?;
    let mut cmd = Command::new(python);
    cmd.arg(&script)
        .arg(python.with_file_name("sigstore"))
        .arg(&keyless.artifact)
        .args([IDENTITY, ISSUER]);
    for (variant, out) in &keyless.dirs {
        cmd.arg(variant.name)
            .arg(out.join("keyless.sigstore.json"))
            .arg(out.join("trust_config.json"))
            .arg(usize::from(variant.tsa).to_string());
    }
    run_step(
        "keyless bundles (sigstore-python CLI: Rekor v1, v1+TSA, v2+TSA)",
        &mut cmd,
    )
}

pub(crate) const JS_PACKAGES: &[&str] = &[
    "@sigstore/verify@4.1.3",
    "@sigstore/bundle@5.0.1",
    "@sigstore/protobuf-specs@0.5.2",
];

const JS_VERIFIER: &str = r#"
const fs = require("fs");
const crypto = require("crypto");
const { bundleFromJSON } = require("@sigstore/bundle");
const { TrustedRoot } = require("@sigstore/protobuf-specs");
const { Verifier, toSignedEntity, toTrustMaterial } = require("@sigstore/verify");

const [artifact, identity, issuer, ...cases] = process.argv.slice(2);
const digest = crypto.createHash("sha256").update(fs.readFileSync(artifact)).digest("hex");
let failed = 0;
for (let i = 0; i < cases.length; i += 5) {
  const [name, bundlePath, rootPath, times, rfc3161] = cases.slice(i, i + 5);
  try {
    const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, "utf8")));
    const root = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(rootPath, "utf8")));
    const carried = bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps?.length ?? 0;
    if (carried !== Number(rfc3161)) {
      throw new Error(`the bundle carries ${carried} RFC 3161 timestamp(s), expected ${rfc3161}`);
    }
    // Every timestamp carried must verify; the threshold counts the verified times (the
    // Rekor v1 log's signed entry timestamp and the TSA's token) and must reach all of them.
    const verifier = new Verifier(toTrustMaterial(root), {
      tlogThreshold: 1,
      ctlogThreshold: 1,
      timestampThreshold: Number(times),
    });
    verifier.verify(toSignedEntity(bundle), {
      subjectAlternativeName: identity,
      extensions: { issuer },
    });
    if (bundle.content.$case !== "dsseEnvelope") throw new Error("not a DSSE bundle");
    const env = bundle.content.dsseEnvelope;
    if (env.payloadType !== "application/vnd.in-toto+json") {
      throw new Error(`payload type ${env.payloadType}`);
    }
    const statement = JSON.parse(env.payload.toString("utf8"));
    if (!(statement.subject || []).some((s) => s.digest && s.digest.sha256 === digest)) {
      throw new Error(`the statement has no subject with sha256 ${digest}`);
    }
    console.log(`  ok       ${name}`);
  } catch (e) {
    failed++;
    console.log(`  REJECTED ${name}: ${e.code ? e.code + ": " : ""}${e.message}`);
  }
}
process.exit(failed ? 1 : 0);
"#;

/// sigstore-js (`@sigstore/verify`, installed in `npm_dir`) on each bundle.
pub(crate) fn js(keyless: &Keyless, npm_dir: &Path) -> Result<()> {
    let script = npm_dir.join("verify-bundles.cjs");
    std::fs::write(&script, JS_VERIFIER)?;
    let mut cmd = Command::new("node");
    cmd.arg(&script)
        .arg(&keyless.artifact)
        .args([IDENTITY, ISSUER])
        .current_dir(npm_dir);
    for (variant, out) in &keyless.dirs {
        cmd.arg(variant.name)
            .arg(out.join("keyless.sigstore.json"))
            .arg(out.join("root.json"))
            .arg(variant.verified_times().to_string())
            .arg(usize::from(variant.tsa).to_string());
    }
    run_step(
        "keyless bundles (sigstore-js @sigstore/verify: Rekor v1, v1+TSA, v2+TSA)",
        &mut cmd,
    )
}
