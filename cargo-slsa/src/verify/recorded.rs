//! What a verified statement records — its source, builder and subjects — and `--rebuild`,
//! which repeats the recorded build and compares the result.

use super::*;

/// What a provenance statement says about its source and builder.
pub(super) struct Recorded {
    pub(super) source: Option<String>,
    pub(super) repository: Option<String>,
    pub(super) git_ref: Option<String>,
    pub(super) commit: Option<String>,
    pub(super) dirty: bool,
    pub(super) builder_id: String,
    /// Why the statement's own fields disagree, if they do (source vs repository/ref, several
    /// source entries with different commits).
    pub(super) inconsistent: Option<String>,
}

/// `(repository, ref)` of a `git+URL@REF` source URI (the ref after the last `@` that follows
/// the path, so `user@host` is not taken for one).
pub(super) fn split_source(source: &str) -> (String, Option<String>) {
    let s = source.strip_prefix("git+").unwrap_or(source);
    match s.rfind('@') {
        Some(i) if s[..i].contains('/') => (s[..i].to_string(), Some(s[i + 1..].to_string())),
        _ => (s.to_string(), None),
    }
}

/// The ref a `--source-uri` names after `@`, if any.
pub(super) fn uri_ref(uri: &str) -> Option<String> {
    let s = uri.trim();
    let s = s.split_once("://").map(|(_, r)| r).unwrap_or(s);
    split_source(s).1.filter(|r| !r.is_empty())
}

impl Recorded {
    pub(super) fn of(st: &Statement) -> Recorded {
        let p = &st.predicate;
        let ext = p.pointer("/buildDefinition/externalParameters");
        let get = |k: &str| {
            ext.and_then(|e| e.get(k))
                .and_then(Value::as_str)
                .map(String::from)
        };
        let source = get("source");
        // The source's own entries in resolvedDependencies (never "the first one": without a
        // source, the first entry is the toolchain).
        let entries: Vec<&Value> = source
            .as_ref()
            .and_then(|uri| {
                p.pointer("/buildDefinition/resolvedDependencies")
                    .and_then(Value::as_array)
                    .map(|deps| {
                        deps.iter()
                            .filter(|d| d.get("uri").and_then(Value::as_str) == Some(uri))
                            .collect()
                    })
            })
            .unwrap_or_default();
        let commits: Vec<Option<&str>> = entries
            .iter()
            .map(|e| e.pointer("/digest/gitCommit").and_then(Value::as_str))
            .collect();
        let split = source.as_deref().map(split_source);
        let repository = get("repository");
        let git_ref = get("ref");
        let mut inconsistent = None;
        if let Some((repo, r)) = &split {
            if let Some(given) = &repository
                && given.strip_prefix("git+").unwrap_or(given) != repo
            {
                inconsistent = Some(format!(
                    "its repository {given:?} is not the repository of its source {:?}",
                    source.as_deref().unwrap_or_default()
                ));
            }
            if git_ref.is_some() && git_ref != *r {
                inconsistent = Some(format!(
                    "its ref {:?} is not the ref of its source {:?}",
                    git_ref.as_deref().unwrap_or_default(),
                    source.as_deref().unwrap_or_default()
                ));
            }
        } else if repository.is_some() || git_ref.is_some() {
            inconsistent = Some("it names a repository or ref but no source".into());
        }
        if commits.windows(2).any(|w| w[0] != w[1]) {
            inconsistent = Some("its source is listed with different commits".into());
        }
        Recorded {
            repository: repository.or_else(|| split.as_ref().map(|(r, _)| r.clone())),
            git_ref: git_ref.or_else(|| split.and_then(|(_, r)| r)),
            commit: commits.first().copied().flatten().map(String::from),
            dirty: crate::provenance::any_dirty_mark(p),
            builder_id: p
                .pointer("/runDetails/builder/id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            source,
            inconsistent,
        }
    }
}

/// The name of the subject of `st` with sha256 `sha` (case-insensitive hex), if any.
pub(super) fn subject_name(st: &Statement, sha: &str) -> Option<String> {
    st.subject
        .iter()
        .find(|s| {
            s.digest
                .get("sha256")
                .is_some_and(|d| d.eq_ignore_ascii_case(sha))
        })
        .map(|s| s.name.clone().unwrap_or_default())
}

/// `--rebuild`: check out the recorded commit, build it with the recorded parameters, compare.
/// Any artifact named by `st` that the rebuild does not reproduce is a `rebuild-mismatch`.
pub(super) fn rebuild(
    ctx: &Ctx,
    att_path: &Path,
    line: Option<usize>,
    st: &Statement,
    artifacts: &[(PathBuf, String)],
    report: &mut Report,
) -> Result<()> {
    let p = &st.predicate;
    let ext = p
        .pointer("/buildDefinition/externalParameters")
        .cloned()
        .unwrap_or(Value::Null);
    if ext.get("prebuiltArtifacts").is_some() || ext.get("command").is_none() {
        return Err(InputError::at(
            att_path,
            line,
            None,
            "--rebuild: this attestation records prebuilt artifacts, not a build cargo-slsa ran, \
             so there is nothing to repeat",
        )
        .into());
    }
    let rec = Recorded::of(st);
    let commit = rec.commit.clone().ok_or_else(|| {
        InputError::at(
            att_path,
            line,
            None,
            "--rebuild: the provenance records no source commit",
        )
    })?;
    let spec = BuildSpec {
        package: ext.get("package").and_then(Value::as_str).map(String::from),
        bins: strings(ext.get("bins")),
        target: ext.get("target").and_then(Value::as_str).map(String::from),
        features: strings(ext.get("features")),
        all_features: ext
            .get("allFeatures")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        no_default_features: ext
            .get("noDefaultFeatures")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        profile: ext
            .get("profile")
            .and_then(Value::as_str)
            .unwrap_or("release")
            .to_string(),
    };
    let workspace = ext.get("workspace").and_then(Value::as_str).unwrap_or("");
    if workspace.split('/').any(|c| c == "..") || workspace.starts_with('/') {
        return Err(InputError::at(
            att_path,
            line,
            None,
            format!(
                "--rebuild: the recorded workspace path {workspace:?} is not inside the repository"
            ),
        )
        .into());
    }
    let here = crate::workspace::Workspace::locate(ctx)?;
    let top = build::Source::detect(here.parent().unwrap_or(Path::new(".")))
        .toplevel
        .ok_or_else(|| anyhow!("--rebuild must run inside a git clone of the source"))?;
    let tmp = tempfile::Builder::new()
        .prefix("cargo-slsa-verify-")
        .tempdir()
        .context("creating a directory for the rebuild")?;
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src)?;
    build::export_commit(&top, &commit, &src)?;
    let root = src.join(workspace);
    let toolchain = Toolchain::detect(&root)?;
    if let Some(recorded) = p
        .pointer("/buildDefinition/internalParameters/rustc")
        .and_then(Value::as_str)
        && recorded.trim() != toolchain.rustc_vv.trim()
    {
        report.findings.push(Finding::new(
            VerifyCode::ToolchainDiffers.rule(),
            format!(
                "the rebuild uses {} but the attested build used {}",
                toolchain.release,
                recorded
                    .lines()
                    .find_map(|l| l.strip_prefix("release:"))
                    .unwrap_or("another rustc")
                    .trim()
            ),
        ));
    }
    let epoch = p
        .pointer("/buildDefinition/internalParameters/env/SOURCE_DATE_EPOCH")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok());
    let base = build::base_flags_of_record(&strings(
        p.pointer("/buildDefinition/internalParameters/rustflags"),
    ));
    let target_dir = tmp.path().join("target");
    let env = build::repro_env(&root, &target_dir, &toolchain, epoch, &base);
    let built = build::build(
        &root.join("Cargo.toml"),
        &target_dir,
        &spec,
        &env,
        ctx.offline,
        ctx.quiet,
    )?;
    let mut rebuilt = Vec::new();
    for b in &built {
        rebuilt.push((b.name.clone(), build::sha256_file(&b.path)?));
    }
    for (path, sha) in artifacts {
        let name = subject_name(st, sha).unwrap_or_default();
        let got = rebuilt.iter().find(|(n, _)| *n == name).map(|(_, d)| d);
        if !got.is_some_and(|g| g.eq_ignore_ascii_case(sha)) {
            report.findings.push(
                Finding::new(
                    VerifyCode::RebuildMismatch.rule(),
                    format!(
                        "rebuilding `{name}` from commit {commit} gave sha256 {}, but the \
                         artifact's is {sha}",
                        got.map(String::as_str).unwrap_or("(not built)")
                    ),
                )
                .at(path, None, None),
            );
        }
    }
    let n = report
        .summary
        .get("rebuilt")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    report
        .summary
        .insert("rebuilt".into(), json!(n + rebuilt.len() as u64));
    Ok(())
}

pub(super) fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}
