//! `cargo slsa attest`: build release artifacts reproducibly (or take prebuilt files), describe
//! the build as SLSA v1 provenance in an in-toto statement, sign it, and write
//! `NAME.intoto.jsonl` and `NAME.sigstore.json`. With `--lambda`, also a deterministic
//! `bootstrap.zip` per binary and one attestation per function. With `--from-statement`, sign a
//! statement an earlier job wrote, after checking it (see [`from_statement`]). Also `keygen`.
//!
//! The build itself lives in [`crate::build`] so `verify --rebuild` repeats it without depending
//! on this module; the formats live in [`crate::provenance`]; zips in [`crate::lambda`].
//!
//! Order: every input is checked before the (long) build — the key read, the keyless token
//! source present, the Lambda target installed, the source clean — and nothing is written until
//! everything is signed; then all files (zips included) are staged and renamed together.

mod clean;
mod codes;
mod from_statement;
mod keygen;
mod keyless;
mod output;
mod package;
mod predicate;
mod repro;
mod signing;

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use serde_json::{Value, json};

use crate::Ctx;
use crate::build::{self, BuildSpec, Source, Toolchain};
use crate::cli::{AttestArgs, SbomArgs, SbomFormat};
use crate::error::InputError;
use crate::lambda::{self, Arch};
use crate::provenance::{self, Statement};
use crate::report::{Change, Finding, Report, Severity};
pub use codes::AttestCode;
pub use keygen::keygen;
use output::{OutFile, Signer, Unit};
use signing::Signing;

/// One attested file.
#[derive(Debug, Clone)]
pub struct Subject {
    /// Name in the statement (the file name, or for a Lambda zip its path in the workspace).
    pub name: String,
    /// Where it is.
    pub path: PathBuf,
    /// Lowercase hex sha256.
    pub sha256: String,
}

/// The workspace root (directory of the workspace's Cargo.toml) and its manifest.
fn workspace_root(ctx: &Ctx) -> Result<(PathBuf, PathBuf)> {
    let entry = crate::workspace::Workspace::locate(ctx)?;
    let out = build::scrub(&mut std::process::Command::new(build::cargo_program()))
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
        .map(|v| ctx.abs(Path::new(&v)))
        .unwrap_or_else(|| root.join("target"))
}

/// Where the workspace sits in the repository ("" at the top), compared on canonical paths so
/// a symlinked --manifest-path cannot make the record point at the wrong directory.
fn workspace_in_repo(source: &Source, root: &Path) -> Result<String> {
    let Some(top) = &source.toplevel else {
        return Ok(String::new());
    };
    let top_c = top.canonicalize().unwrap_or_else(|_| top.clone());
    let root_c = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    root_c
        .strip_prefix(&top_c)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .map_err(|_| {
            anyhow!(
                "the workspace {} is not inside its git work tree {}",
                root.display(),
                top.display()
            )
        })
}

/// Why the source is not a clean commit, if it is not: an uncommitted Cargo.lock, files git
/// was told not to watch, uncommitted changes or untracked files, or a cargo configuration
/// file that the commit does not hold.
fn dirty_reason(
    source: &Source,
    workspace_in_repo: &str,
    untracked_configs: &[PathBuf],
    ignored_sources: &[PathBuf],
) -> Option<(String, Option<PathBuf>)> {
    let top = source.toplevel.as_ref()?;
    let commit = source.commit.as_deref().unwrap_or("?");
    let lock_rel = Path::new(workspace_in_repo).join("Cargo.lock");
    if !build::is_tracked(top, &lock_rel) {
        return Some((
            format!(
                "Cargo.lock is not committed, so commit {commit} does not pin the dependencies \
                 that were built"
            ),
            None,
        ));
    }
    if let Some(first) = source.unwatched.first() {
        return Some((
            format!(
                "{} tracked file(s) are marked assume-unchanged or skip-worktree ({first}{}), so \
                 git cannot say whether they match commit {commit}: clear the flags with `git \
                 update-index --no-assume-unchanged --no-skip-worktree -- FILE`",
                source.unwatched.len(),
                if source.unwatched.len() > 1 {
                    ", …"
                } else {
                    ""
                }
            ),
            Some(top.join(first)),
        ));
    }
    if let Some(cfg) = untracked_configs.first() {
        return Some((
            format!(
                "the cargo configuration file {} is not part of commit {commit} (untracked or \
                 ignored), yet it changes the build",
                cfg.display()
            ),
            Some(cfg.clone()),
        ));
    }
    if let Some(first) = ignored_sources.first() {
        return Some((
            format!(
                "{} is ignored by git, so commit {commit} does not hold it, yet cargo reads it \
                 as source{}",
                first.display(),
                if ignored_sources.len() > 1 {
                    format!(" (and {} more)", ignored_sources.len() - 1)
                } else {
                    String::new()
                }
            ),
            Some(first.clone()),
        ));
    }
    if source.dirty {
        let shown: Vec<&str> = source.changed.iter().take(5).map(String::as_str).collect();
        let more = source.changed.len().saturating_sub(shown.len());
        return Some((
            format!(
                "the work tree has uncommitted changes or untracked files ({}{}), so the \
                 artifacts were not built from commit {commit} alone",
                shown.join(", "),
                if more > 0 {
                    format!(", and {more} more")
                } else {
                    String::new()
                }
            ),
            None,
        ));
    }
    None
}

/// Run `cargo slsa attest`.
pub fn run(ctx: &Ctx, args: &AttestArgs) -> Result<Report> {
    let started = crate::timefmt::now_unix();
    let signing = Signing::choose(ctx, args)?;
    if !args.from_statement.is_empty() {
        return from_statement::run(ctx, args, &signing, started);
    }
    let progress = ctx.progress();
    let (root, manifest) = workspace_root(ctx)?;
    let lock_path = root.join("Cargo.lock");
    let artifact_paths: Vec<PathBuf> = args.artifact.iter().map(|a| ctx.abs(a)).collect();
    for p in &artifact_paths {
        if !p.is_file() {
            return Err(InputError::at(p, None, None, "--artifact: no such file").into());
        }
    }
    for p in &args.lambda_include {
        let p = ctx.abs(p);
        if !p.exists() {
            return Err(InputError::at(&p, None, None, "--lambda-include: no such file").into());
        }
    }
    // The lock, the git queries, the toolchain queries and (for prebuilt artifacts) the
    // hashing are independent: run them side by side.
    let prebuilt = !artifact_paths.is_empty();
    let names = output::subject_names(&artifact_paths, &root);
    let (lock, source, toolchain, prebuilt_subjects) = std::thread::scope(|s| {
        let lock = s.spawn(|| crate::workspace::Lockfile::load(&lock_path));
        let source = s.spawn(|| Source::detect(&root));
        let toolchain = s.spawn(|| Toolchain::detect(&root));
        let subjects: Result<Vec<Subject>> = artifact_paths
            .iter()
            .zip(&names)
            .map(|(path, name)| {
                Ok(Subject {
                    sha256: build::sha256_file(path)?,
                    name: name.clone(),
                    path: path.clone(),
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
    let workspace_in_repo = workspace_in_repo(&source, &root)?;
    let configs = clean::cargo_configs(&root, source.toplevel.as_deref())?;

    // Lambda: the target is settled (and checked to be buildable) before anything is built.
    let base_rustflags = build::ambient_rustflags();
    let lambda_target: Option<(Arch, Option<String>)> = if args.lambda {
        if prebuilt {
            Some((args.lambda_arch.unwrap_or(Arch::X86_64), None))
        } else {
            let (arch, target) = lambda::arch::resolve(args.lambda_arch, args.target.as_deref())?;
            lambda::arch::check_buildable(&root, &target, &toolchain.host, &base_rustflags)?;
            Some((arch, Some(target)))
        }
    } else {
        None
    };

    let mut report = Report::new("attest", AttestCode::rules());
    report.notes.extend(signing.notes());
    if source.repo.is_none() {
        report.findings.push(Finding::new(
            AttestCode::SourceUnknown.rule(),
            if source.toplevel.is_some() {
                format!(
                    "the repository of {} has no commit yet: the provenance names no source, so \
                     no source or ref policy can pass",
                    root.display()
                )
            } else {
                format!(
                    "{} is not in a git repository: the provenance cannot name a source commit",
                    root.display()
                )
            },
        ));
    } else if let Some((why, file)) = dirty_reason(
        &source,
        &workspace_in_repo,
        &configs.untracked,
        &source
            .toplevel
            .as_deref()
            .map(|top| clean::ignored_sources(top, &target_dir(ctx, &root)))
            .unwrap_or_default(),
    ) {
        let mut f = Finding::new(AttestCode::SourceDirty.rule(), why).with_fix(
            "commit (or stash, or .gitignore) the changes and attest again; --allow-dirty \
             attests anyway and records the tree as dirty",
        );
        if let Some(file) = file {
            f = f.at(&file, None, None);
        }
        if args.allow_dirty {
            f.severity = Severity::Warning;
            report.findings.push(f);
        } else {
            f.severity = Severity::Error;
            report.findings.push(f);
            report
                .notes
                .push("nothing was built or written: the source is not a clean commit".into());
            return Ok(report);
        }
    }
    let source = Source {
        dirty: source.dirty || report.findings.iter().any(|f| f.code == "source-dirty"),
        ..source
    };

    let spec = BuildSpec {
        package: args.package.clone(),
        bins: args.bin.clone(),
        target: lambda_target
            .as_ref()
            .and_then(|(_, t)| t.clone())
            .or_else(|| args.target.clone()),
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
    let tdir = target_dir(ctx, &root);
    let env = build::repro_env(&root, &tdir, &toolchain, epoch, &base_rustflags);

    let subjects: Vec<Subject> = if prebuilt {
        prebuilt_subjects
    } else {
        // cargo prints its own progress to the terminal; a spinner beside it would only fill
        // the scrollback. The command goes to -v's detail.
        progress.detail(&format!("running: {}", spec.display_command().join(" ")));
        build::build(&manifest, &tdir, &spec, &env, ctx.offline, ctx.quiet)?
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
                "two artifacts are both named `{}`: attest them in separate runs (with different \
                 --name values) or rename one",
                w[0]
            );
        }
    }

    // --reproducible: the same build from the commit's own tree at another path.
    let mut repro: Option<Value> = None;
    if args.reproducible {
        progress.detail("rebuilding from the commit at another path to check reproducibility");
        let result = repro::rebuild(
            ctx,
            &source,
            &workspace_in_repo,
            &root,
            &toolchain,
            &spec,
            epoch,
            &base_rustflags,
        );
        let rebuilt = result?;
        let (all_match, compared) = repro::compare(&subjects, &rebuilt, &mut report);
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
                "method": if source.dirty {
                    "rebuilt from a copy of the work tree at a different absolute path with a \
                     different target dir; every subject's sha256 matched"
                } else {
                    "rebuilt from the commit's own tree (not the work tree) at a different \
                     absolute path with a different target dir; every subject's sha256 matched"
                },
                "subjects": compared.len(),
            }
        }));
    }

    // Lambda packages, one per binary, written with the attestations.
    let (units, zips, lambda_record, mut lambda_rows) = match &lambda_target {
        Some((arch, target)) => {
            let spinner = progress.spinner(format!(
                "packaging {} Lambda function(s) as bootstrap.zip",
                subjects.len()
            ));
            let includes: Vec<PathBuf> = args.lambda_include.iter().map(|p| ctx.abs(p)).collect();
            let packed = package::package(
                &subjects,
                &includes,
                *arch,
                target.as_deref(),
                epoch,
                &tdir,
                &root,
            );
            spinner.finish_and_clear();
            let p = packed?;
            (p.units, p.zips, Some(p.record), p.rows)
        }
        None => (
            vec![Unit {
                name: output::default_name(
                    args.name.as_deref(),
                    spec.package.as_deref(),
                    &subjects,
                    &root,
                )?,
                subjects: subjects.clone(),
            }],
            Vec::new(),
            None,
            Vec::new(),
        ),
    };

    // The signer's token comes now, just before signing (GitHub's are short-lived); with it,
    // the workflow identity that builder.id names.
    let session = match &signing {
        Signing::Keyless(plan) => Some(keyless::Session::open(plan)?),
        _ => None,
    };
    let mut builder = predicate::Builder::detect();
    if let (Some(session), Some(server)) = (&session, predicate::actions_server())
        && let Some(id) = session.workflow_identity(&server)
    {
        builder.id = id;
    }
    let finished = crate::timefmt::now_unix();
    let triples: Vec<&str> = std::iter::once(toolchain.host.as_str())
        .chain(spec.target.as_deref())
        .collect();
    let predicate = predicate::provenance(&predicate::Inputs {
        workspace_in_repo: &workspace_in_repo,
        source: &source,
        toolchain: &toolchain,
        spec: if prebuilt { None } else { Some(&spec) },
        prebuilt: if prebuilt { Some(&subjects) } else { None },
        root: &root,
        env: &env,
        ambient: build::ambient_build_env(&env, &triples),
        cargo_configs: &configs.outside,
        lambda: lambda_record,
        lock: &lock,
        builder: &builder,
        started,
        finished,
        reproducibility: repro,
    });
    let sbom_doc = if args.sbom {
        Some(sbom_document(ctx, &spec)?)
    } else {
        None
    };

    let out_dir = args
        .output
        .as_ref()
        .map(|o| ctx.abs(o))
        .unwrap_or_else(|| tdir.join("slsa"));
    let signer = match (&signing, &session) {
        (Signing::Key(k), _) => Signer::Key(k),
        (Signing::Keyless(_), Some(s)) => Signer::Keyless(s),
        _ => Signer::Unsigned,
    };
    let mut files: Vec<OutFile> = Vec::new();
    for unit in &units {
        let descriptors: Vec<_> = unit
            .subjects
            .iter()
            .map(|s| provenance::subject(&s.name, &s.sha256))
            .collect();
        let mut statements = vec![(
            "provenance",
            Statement::new(
                descriptors.clone(),
                provenance::SLSA_PROVENANCE_V1,
                predicate.clone(),
            ),
        )];
        if let Some(doc) = &sbom_doc {
            statements.push((
                "sbom",
                Statement::new(descriptors, provenance::CYCLONEDX_PREDICATE, doc.clone()),
            ));
        }
        let unit_files = output::signed_files(&signer, &out_dir, &unit.name, &statements)?;
        output::guard_overwrite(&unit_files, unit)?;
        files.extend(unit_files);
    }
    // Only now, with everything signed, does anything reach the disk — all files together.
    files.extend(zips);
    output::write_all(&files)?;
    for (path, _, description) in &files {
        report.changes.push(Change {
            file: path.clone(),
            description: description.clone(),
        });
    }
    let all_subjects: Vec<&Subject> = units.iter().flat_map(|u| &u.subjects).collect();
    report.summary.insert(
        "subjects".into(),
        json!(
            all_subjects
                .iter()
                .map(|s| json!({"name": s.name, "path": s.path, "sha256": s.sha256}))
                .collect::<Vec<_>>()
        ),
    );
    if !lambda_rows.is_empty() {
        for (row, unit) in lambda_rows.iter_mut().zip(&units) {
            row["attestation"] = json!(out_dir.join(format!("{}.intoto.jsonl", unit.name)));
            report.notes.push(format!(
                "{}: {}  CodeSha256 {}  ({})",
                row["function"].as_str().unwrap_or_default(),
                row["zip"].as_str().unwrap_or_default(),
                row["codeSha256"].as_str().unwrap_or_default(),
                row["architecture"].as_str().unwrap_or_default(),
            ));
        }
        report.summary.insert("lambda".into(), json!(lambda_rows));
    }
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

/// The CycloneDX document for `--sbom`: the `sbom` command's document for the same package and
/// target.
fn sbom_document(ctx: &Ctx, spec: &BuildSpec) -> Result<Value> {
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
    Ok(serde_json::from_slice(&bytes)?)
}
