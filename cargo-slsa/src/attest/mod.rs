//! `cargo slsa attest`: build release artifacts reproducibly (or take prebuilt files), describe
//! the build as SLSA v1 provenance in an in-toto statement, sign it, and write
//! `NAME.intoto.jsonl` and `NAME.sigstore.json`. Also `cargo slsa keygen`.
//!
//! The build itself lives in [`crate::build`] so `verify --rebuild` repeats it without depending
//! on this module; the formats live in [`crate::provenance`].

mod codes;
mod keyless;
mod predicate;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

use crate::Ctx;
use crate::build::{self, BuildSpec, Source, Toolchain};
use crate::cli::{AttestArgs, KeygenArgs, SbomArgs, SbomFormat};
use crate::error::InputError;
use crate::fsx;
use crate::provenance::{self, Envelope, PAYLOAD_TYPE, PrivateKey, Statement};
use crate::report::{Change, Finding, Report};
pub use codes::AttestCode;

/// One attested file.
#[derive(Debug, Clone)]
pub struct Subject {
    /// Name in the statement (the file name).
    pub name: String,
    /// Where it is.
    pub path: PathBuf,
    /// Lowercase hex sha256.
    pub sha256: String,
}

/// How the statement gets signed.
enum Signing {
    Key(PrivateKey),
    Keyless,
    Unsigned,
}

/// The workspace root (directory of the workspace's Cargo.toml) and its manifest.
fn workspace_root(ctx: &Ctx) -> Result<(PathBuf, PathBuf)> {
    let entry = crate::workspace::Workspace::locate(ctx)?;
    let out = std::process::Command::new(build::cargo_program())
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .arg("--manifest-path")
        .arg(&entry)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| anyhow!("cannot run cargo locate-project: {e}"))?;
    if !out.status.success() {
        return Err(InputError::at(
            &entry,
            None,
            None,
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        )
        .into());
    }
    let manifest = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let root = manifest
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| anyhow!("cargo located no workspace root"))?;
    Ok((root, manifest))
}

/// `CARGO_TARGET_DIR` (relative to the working directory, as cargo reads it), else `target/` in
/// the workspace. (`build.target-dir` from cargo configuration is not consulted: the build is
/// always given `--target-dir` explicitly.)
fn target_dir(ctx: &Ctx, root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|v| !v.is_empty())
        .map(|v| abs(ctx, Path::new(&v)))
        .unwrap_or_else(|| root.join("target"))
}

fn abs(ctx: &Ctx, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        ctx.cwd.join(p)
    }
}

/// Run `cargo slsa attest`.
pub fn run(ctx: &Ctx, args: &AttestArgs) -> Result<Report> {
    let started = crate::timefmt::now_unix();
    let progress = ctx.progress();
    // Everything that can be wrong with the input is checked before the (long) build.
    let signing = if args.unsigned {
        Signing::Unsigned
    } else if args.keyless {
        Signing::Keyless
    } else {
        match provenance::keys::load_signing_key(args.key.as_deref())? {
            Some(k) => Signing::Key(k),
            None => bail!(
                "no signing key: pass --key FILE, set SLSA_SIGNING_KEY to the PEM text, use \
                 --keyless (GitHub Actions with id-token: write), or --unsigned"
            ),
        }
    };
    let (root, manifest) = workspace_root(ctx)?;
    let lock_path = root.join("Cargo.lock");
    for a in &args.artifact {
        let p = abs(ctx, a);
        if !p.is_file() {
            return Err(InputError::at(&p, None, None, "--artifact: no such file").into());
        }
    }
    // The lock, the git queries, the toolchain queries and (for prebuilt artifacts) the
    // hashing are independent: run them side by side.
    let prebuilt = !args.artifact.is_empty();
    let (lock, source, toolchain, prebuilt_subjects) = std::thread::scope(|s| {
        let lock = s.spawn(|| crate::workspace::Lockfile::load(&lock_path));
        let source = s.spawn(|| Source::detect(&root));
        let toolchain = s.spawn(|| Toolchain::detect(&root));
        let subjects: Result<Vec<Subject>> = args
            .artifact
            .iter()
            .map(|a| {
                let path = abs(ctx, a);
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Ok(Subject {
                    sha256: build::sha256_file(&path)?,
                    name,
                    path,
                })
            })
            .collect();
        let panicked = || anyhow!("a worker thread panicked");
        (
            lock.join().unwrap_or_else(|_| Err(panicked())),
            source.join().map_err(|_| panicked()),
            toolchain.join().unwrap_or_else(|_| Err(panicked())),
            subjects,
        )
    });
    let lock = lock.map_err(|e| {
        if lock_path.exists() {
            e
        } else {
            InputError::at(
                &lock_path,
                None,
                None,
                "no Cargo.lock: provenance must name every locked package; run `cargo slsa \
                 pin` (or `cargo generate-lockfile`) and commit it",
            )
            .into()
        }
    })?;
    let source = source?;
    let toolchain = toolchain?;
    let prebuilt_subjects = prebuilt_subjects?;
    let epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => Some(
            v.trim()
                .parse::<i64>()
                .map_err(|_| anyhow!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds"))?,
        ),
        _ => source.commit_time,
    };

    // Where the workspace sits in the repository: compared on canonical paths, so a symlinked
    // --manifest-path cannot make the clean rebuild or the record point at the wrong directory.
    let workspace_in_repo = match &source.toplevel {
        Some(top) => {
            let top_c = top.canonicalize().unwrap_or_else(|_| top.clone());
            let root_c = root.canonicalize().unwrap_or_else(|_| root.clone());
            root_c
                .strip_prefix(&top_c)
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .map_err(|_| {
                    anyhow!(
                        "the workspace {} is not inside its git work tree {}",
                        root.display(),
                        top.display()
                    )
                })?
        }
        None => String::new(),
    };

    let mut report = Report::new("attest", AttestCode::rules());
    if source.repo.is_none() {
        report.findings.push(Finding::new(
            AttestCode::SourceUnknown.rule(),
            format!(
                "{} is not in a git repository: the provenance cannot name a source commit",
                root.display()
            ),
        ));
    } else {
        let lock_rel = Path::new(&workspace_in_repo).join("Cargo.lock");
        let lock_untracked = source
            .toplevel
            .as_ref()
            .is_some_and(|top| !build::is_tracked(top, &lock_rel));
        let why = if lock_untracked {
            Some(format!(
                "Cargo.lock is not committed, so commit {} does not pin the dependencies that were \
                 built",
                source.commit.as_deref().unwrap_or("?")
            ))
        } else if source.dirty {
            Some(format!(
                "the work tree has uncommitted changes or untracked files, so the artifacts were \
                 not built from commit {} alone",
                source.commit.as_deref().unwrap_or("?")
            ))
        } else {
            None
        };
        if let Some(why) = why {
            let mut f = Finding::new(AttestCode::SourceDirty.rule(), why).with_fix(
                "commit (or stash, or .gitignore) the changes and attest again; --allow-dirty \
                 attests anyway and records the tree as dirty",
            );
            if args.allow_dirty {
                f.severity = crate::report::Severity::Warning;
                report.findings.push(f);
            } else {
                f.severity = crate::report::Severity::Error;
                report.findings.push(f);
                report
                    .notes
                    .push("nothing was built or written: the source is not a clean commit".into());
                return Ok(report);
            }
        }
    }
    let source = Source {
        dirty: source.dirty || report.findings.iter().any(|f| f.code == "source-dirty"),
        ..source
    };

    let spec = BuildSpec {
        package: args.package.clone(),
        bins: args.bin.clone(),
        target: args.target.clone(),
        features: args
            .features
            .iter()
            .filter(|f| !f.is_empty())
            .cloned()
            .collect(),
        all_features: args.all_features,
        no_default_features: args.no_default_features,
        profile: "release".to_string(),
    };
    let base_rustflags = build::ambient_rustflags();
    let tdir = target_dir(ctx, &root);
    let env = build::repro_env(&root, &tdir, &toolchain, epoch, &base_rustflags);

    let subjects: Vec<Subject> = if prebuilt {
        prebuilt_subjects
    } else {
        let spinner = progress.spinner(format!("building: {}", spec.display_command().join(" ")));
        let built = build::build(&manifest, &tdir, &spec, &env, ctx.offline, ctx.quiet);
        spinner.finish_and_clear();
        built?
            .into_iter()
            .map(|b| {
                Ok(Subject {
                    sha256: build::sha256_file(&b.path)?,
                    name: b.name,
                    path: b.path,
                })
            })
            .collect::<Result<_>>()?
    };
    {
        let mut names: Vec<&str> = subjects.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            bail!(
                "two artifacts are both named `{}`: subjects are named by file name, so attest \
                 them in separate runs (with different --name values) or rename one",
                w[0]
            );
        }
    }

    // --reproducible: the same build from a clean copy at another path and target dir.
    let mut repro: Option<Value> = None;
    if args.reproducible {
        let spinner = progress.spinner("rebuilding from a clean copy to check reproducibility");
        let result = rebuild_clean(
            ctx,
            &source,
            &workspace_in_repo,
            &root,
            &toolchain,
            &spec,
            epoch,
            &base_rustflags,
        );
        spinner.finish_and_clear();
        let rebuilt = result?;
        let mut all_match = true;
        let mut compared = Vec::new();
        for s in &subjects {
            let other = rebuilt.iter().find(|(n, _)| n == &s.name).map(|(_, d)| d);
            let same = other == Some(&s.sha256);
            all_match &= same;
            compared.push(json!({"name": s.name, "sha256": s.sha256, "rebuilt": other}));
            if !same {
                report.findings.push(
                    Finding::new(
                        AttestCode::NotReproducible.rule(),
                        format!(
                            "`{}` is not reproducible: sha256 {} here, {} from a clean copy at \
                             another path",
                            s.name,
                            s.sha256,
                            other.map(String::as_str).unwrap_or("(not built)")
                        ),
                    )
                    .at(&s.path, None, None)
                    .with_fix(
                        "look for absolute paths (env!(\"CARGO_MANIFEST_DIR\"), build scripts \
                         embedding OUT_DIR), timestamps or randomness in the build",
                    ),
                );
            }
        }
        report
            .summary
            .insert("reproducible".into(), json!(all_match));
        if !all_match {
            report.summary.insert("subjects".into(), json!(compared));
            report.notes.push(
                "nothing was written: an attestation is only made for a reproducible build".into(),
            );
            report.sort();
            return Ok(report);
        }
        repro = Some(json!({
            "name": "reproducibility",
            "uri": format!("{}#reproducibility", provenance::BUILD_TYPE),
            "annotations": {
                "result": "PASSED",
                "method": "rebuilt from a clean copy of the source at a different absolute path \
                           with a different target dir; every subject's sha256 matched",
                "subjects": compared.len(),
            }
        }));
    }

    let builder = predicate::Builder::detect();
    let finished = crate::timefmt::now_unix();
    let predicate = predicate::provenance(&predicate::Inputs {
        workspace_in_repo: &workspace_in_repo,
        source: &source,
        toolchain: &toolchain,
        spec: if prebuilt { None } else { Some(&spec) },
        prebuilt: if prebuilt { Some(&subjects) } else { None },
        env: &env,
        lock: &lock,
        builder: &builder,
        started,
        finished,
        reproducibility: repro,
    });
    let statement = Statement::new(
        subjects
            .iter()
            .map(|s| provenance::subject(&s.name, &s.sha256))
            .collect(),
        provenance::SLSA_PROVENANCE_V1,
        predicate,
    );
    let mut statements = vec![("provenance", statement)];
    if args.sbom {
        statements.push(("sbom", sbom_statement(ctx, &spec, &subjects)?));
    }

    let name = args.name.clone().unwrap_or_else(|| {
        spec.package
            .clone()
            .or_else(|| (subjects.len() == 1).then(|| subjects[0].name.clone()))
            .or_else(|| root.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "attestation".into())
    });
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        bail!("--name {name:?} is not a plain file name");
    }
    let out_dir = args
        .output
        .as_ref()
        .map(|o| abs(ctx, o))
        .unwrap_or_else(|| tdir.join("slsa"));

    let mut files: Vec<(PathBuf, Vec<u8>, String)> = Vec::new();
    match &signing {
        Signing::Unsigned => {
            for (kind, st) in &statements {
                let suffix = if *kind == "provenance" { "" } else { ".sbom" };
                let mut bytes = serde_json::to_vec_pretty(st)?;
                bytes.push(b'\n');
                files.push((
                    out_dir.join(format!("{name}{suffix}.statement.json")),
                    bytes,
                    format!("unsigned in-toto statement ({kind})"),
                ));
            }
        }
        Signing::Key(key) => {
            let mut jsonl = String::new();
            for (kind, st) in &statements {
                let env = Envelope::sign(key, PAYLOAD_TYPE, &st.to_bytes()?)?;
                jsonl.push_str(&env.to_line()?);
                jsonl.push('\n');
                let bundle = provenance::key_bundle(&env, &key.public().key_id())?;
                let suffix = if *kind == "provenance" { "" } else { ".sbom" };
                let mut b = bundle
                    .to_json_pretty()
                    .map_err(|e| anyhow!("serialising the bundle: {e}"))?
                    .into_bytes();
                b.push(b'\n');
                files.push((
                    out_dir.join(format!("{name}{suffix}.sigstore.json")),
                    b,
                    format!(
                        "Sigstore bundle v0.3 ({kind}), signed with key {}",
                        key.public().key_id()
                    ),
                ));
            }
            files.insert(
                0,
                (
                    out_dir.join(format!("{name}.intoto.jsonl")),
                    jsonl.into_bytes(),
                    format!(
                        "{} DSSE envelope(s), signed with key {}",
                        statements.len(),
                        key.public().key_id()
                    ),
                ),
            );
        }
        Signing::Keyless => {
            let signed = keyless::sign(args, &statements)?;
            let mut jsonl = String::new();
            for ((kind, _), (env, bundle_json)) in statements.iter().zip(signed) {
                jsonl.push_str(&env.to_line()?);
                jsonl.push('\n');
                let suffix = if *kind == "provenance" { "" } else { ".sbom" };
                files.push((
                    out_dir.join(format!("{name}{suffix}.sigstore.json")),
                    bundle_json,
                    format!(
                        "Sigstore bundle v0.3 ({kind}), keyless (Fulcio certificate, Rekor entry)"
                    ),
                ));
            }
            files.insert(
                0,
                (
                    out_dir.join(format!("{name}.intoto.jsonl")),
                    jsonl.into_bytes(),
                    format!("{} DSSE envelope(s), keyless", statements.len()),
                ),
            );
        }
    }
    // Only now, with everything signed, does anything reach the disk.
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    for (path, bytes, description) in &files {
        fsx::write_atomic(path, bytes)?;
        report.changes.push(Change {
            file: path.clone(),
            description: description.clone(),
        });
    }
    report.summary.insert(
        "subjects".into(),
        json!(
            subjects
                .iter()
                .map(|s| json!({"name": s.name, "path": s.path, "sha256": s.sha256}))
                .collect::<Vec<_>>()
        ),
    );
    report.summary.insert("builderId".into(), json!(builder.id));
    report.summary.insert("source".into(), json!(source.uri()));
    report.summary.insert("commit".into(), json!(source.commit));
    report.summary.insert(
        "resolvedDependencies".into(),
        json!(lock.packages.len() + 2),
    );
    for s in &subjects {
        report.notes.push(format!(
            "{}  {}  sha256:{}",
            s.name,
            s.path.display(),
            s.sha256
        ));
    }
    report.sort();
    Ok(report)
}

/// Rebuild in a clean copy at another path; `(artifact file name, sha256)` of what it built.
#[allow(clippy::too_many_arguments)]
fn rebuild_clean(
    ctx: &Ctx,
    source: &Source,
    workspace_in_repo: &str,
    root: &Path,
    toolchain: &Toolchain,
    spec: &BuildSpec,
    epoch: Option<i64>,
    base_rustflags: &[String],
) -> Result<Vec<(String, String)>> {
    let tmp = tempfile::Builder::new()
        .prefix("cargo-slsa-rebuild-")
        .tempdir()
        .context("creating a directory for the clean rebuild")?;
    let (top, with_git) = match &source.toplevel {
        Some(t) => (t.clone(), true),
        None => (root.to_path_buf(), false),
    };
    let copy_top = tmp.path().join("src");
    build::copy_clean_tree(&top, &copy_top, with_git)?;
    let copy_root = copy_top.join(workspace_in_repo);
    let copy_target = tmp.path().join("other-target");
    let env = build::repro_env(&copy_root, &copy_target, toolchain, epoch, base_rustflags);
    let built = build::build(
        &copy_root.join("Cargo.toml"),
        &copy_target,
        spec,
        &env,
        ctx.offline,
        ctx.quiet,
    )?;
    built
        .into_iter()
        .map(|b| Ok((b.name, build::sha256_file(&b.path)?)))
        .collect()
}

/// The CycloneDX statement for `--sbom`: the `sbom` command's document for the same package and
/// target, bound to the same subjects.
fn sbom_statement(ctx: &Ctx, spec: &BuildSpec, subjects: &[Subject]) -> Result<Statement> {
    let args = SbomArgs {
        sbom_format: SbomFormat::CyclonedxJson,
        spec_version: None,
        target: spec.target.clone(),
        package: spec.package.clone(),
        include_dev: false,
        output: None,
    };
    let bytes = match crate::sbom::run(ctx, &args)? {
        crate::sbom::Output::Document(b) => b,
        crate::sbom::Output::Written(_) => bail!("the SBOM was written to a file unexpectedly"),
    };
    let doc: Value = serde_json::from_slice(&bytes)?;
    Ok(Statement::new(
        subjects
            .iter()
            .map(|s| provenance::subject(&s.name, &s.sha256))
            .collect(),
        provenance::CYCLONEDX_PREDICATE,
        doc,
    ))
}

/// Run `cargo slsa keygen`.
pub fn keygen(ctx: &Ctx, args: &KeygenArgs) -> Result<Report> {
    let prefix = abs(ctx, &args.output_prefix);
    let with_ext = |ext: &str| {
        let mut s = prefix.as_os_str().to_owned();
        s.push(ext);
        PathBuf::from(s)
    };
    let (key_path, pub_path) = (with_ext(".key"), with_ext(".pub"));
    if !args.force {
        for p in [&key_path, &pub_path] {
            if p.exists() {
                return Err(InputError::at(
                    p,
                    None,
                    None,
                    "already exists; pass --force to replace the key pair",
                )
                .into());
            }
        }
    }
    if let Some(dir) = key_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let key = PrivateKey::generate()?;
    // The public key first: if the private key cannot be written, no pair exists that could be
    // mistaken for a new one. Without --force neither replaces an existing file (no race).
    fsx::write_new_or_replace(
        &pub_path,
        key.public().to_pem().as_bytes(),
        false,
        args.force,
    )?;
    fsx::write_new_or_replace(&key_path, key.to_pem().as_bytes(), true, args.force)?;
    let mut report = Report::new("keygen", Vec::new());
    report.changes.push(Change {
        file: key_path.clone(),
        description: "ECDSA P-256 private key (PKCS#8 PEM, mode 0600): keep it secret".into(),
    });
    report.changes.push(Change {
        file: pub_path.clone(),
        description: format!("public key {}", key.public().key_id()),
    });
    report
        .summary
        .insert("keyId".into(), json!(key.public().key_id()));
    report.summary.insert("privateKey".into(), json!(key_path));
    report.summary.insert("publicKey".into(), json!(pub_path));
    Ok(report)
}
