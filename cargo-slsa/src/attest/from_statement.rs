//! `attest --from-statement`: sign statements that a build job wrote (`attest --unsigned`), in a
//! job that runs no build — the signing half of the SLSA Build L3 reusable workflow.
//!
//! The build job is not trusted: its statement is checked against what this job can see for
//! itself before anything is signed, and a disagreement is `statement-mismatch` (exit 1,
//! nothing written):
//! - **subjects**: every subject is one of the `--artifact` files (by sha256), and every file
//!   is a subject — the files themselves were checked against the build job's outputs, which
//!   GitHub carries, by the workflow;
//! - **source**: the statement's `source`, `repository` and `ref`, and its source entry's
//!   `gitCommit`, are this checkout's (and, in GitHub Actions, `GITHUB_REPOSITORY`,
//!   `GITHUB_REF`, `GITHUB_SHA`); no entry anywhere carries a dirty mark, and this checkout is
//!   clean;
//! - **dependencies**: the `pkg:cargo/…` entries are exactly the checked-out Cargo.lock's (of
//!   the recorded workspace directory).
//!
//! Then the fields only the signer can vouch for are set by the signer: `builder.id` (keyless:
//! the workflow identity in the OIDC token, `job_workflow_ref` — for the reusable workflow, the
//! reusable workflow itself, which is also the certificate's Build Signer URI) and the run's
//! `invocationId`. The rest of the build definition (toolchain, flags, parameters) stays the
//! build job's claim, as the buildType documents.
//!
//! Nothing here runs cargo, rustc or anything from the checkout: only git queries and file
//! reads, so a hostile `rust-toolchain.toml` or `.cargo/config.toml` in the checkout is inert.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use serde_json::{Value, json};

use super::output::{self, OutFile, Signer, Unit};
use super::predicate::{self, Builder};
use super::{AttestCode, Signing, Subject, keyless};
use crate::Ctx;
use crate::build::{self, Source};
use crate::error::InputError;
use crate::provenance::{BUILD_TYPE, SLSA_PROVENANCE_V1, STATEMENT_TYPE, Statement};
use crate::report::{Change, Finding, Report};

/// The base name a statement file belongs to: `app.statement.json` → `app`,
/// `app.sbom.statement.json` → `app` (its SBOM).
fn group_of(path: &Path) -> Result<(String, bool)> {
    let file = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| InputError::at(path, None, None, "not a statement file name"))?;
    let stem = file
        .strip_suffix(".statement.json")
        .or_else(|| file.strip_suffix(".json"))
        .unwrap_or(file);
    Ok(match stem.strip_suffix(".sbom") {
        Some(base) => (base.to_string(), true),
        None => (stem.to_string(), false),
    })
}

/// Read a statement file.
fn read_statement(path: &Path) -> Result<Statement> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::at(path, None, None, format!("cannot read the statement: {e}")))?;
    let st: Statement = serde_json::from_str(&text).map_err(|e| {
        InputError::at(
            path,
            Some(e.line()),
            Some(e.column()),
            format!("not an in-toto statement: {e}"),
        )
    })?;
    if st.type_ != STATEMENT_TYPE {
        return Err(InputError::at(
            path,
            None,
            None,
            format!("_type is {:?}, expected {STATEMENT_TYPE}", st.type_),
        )
        .into());
    }
    Ok(st)
}

/// The checks of one provenance statement against the checkout; each disagreement a message.
fn check_provenance(
    st: &Statement,
    source: &Source,
    top: &Path,
    signer_workspace: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    let p = &st.predicate;
    if p.pointer("/buildDefinition/buildType")
        .and_then(Value::as_str)
        != Some(BUILD_TYPE)
    {
        problems.push(format!("its buildType is not {BUILD_TYPE}"));
    }
    let run = p.get("runDetails");
    if !run.is_some_and(Value::is_object)
        || !run
            .and_then(|r| r.get("metadata"))
            .is_none_or(Value::is_object)
    {
        problems.push("its runDetails (and runDetails.metadata) must be objects".into());
    }
    let ext = p.pointer("/buildDefinition/externalParameters");
    let get = |k: &str| ext.and_then(|e| e.get(k)).and_then(Value::as_str);
    let want_uri = source.uri();
    let fields = [
        ("source", get("source"), want_uri.as_deref()),
        ("repository", get("repository"), source.repo.as_deref()),
        ("ref", get("ref"), source.git_ref.as_deref()),
    ];
    for (field, got, want) in fields {
        if got != want {
            problems.push(format!(
                "externalParameters.{field} is {}, but this checkout's is {}",
                got.map(|g| format!("{g:?}"))
                    .unwrap_or_else(|| "absent".into()),
                want.map(|w| format!("{w:?}"))
                    .unwrap_or_else(|| "unknown".into())
            ));
        }
    }
    let deps = p
        .pointer("/buildDefinition/resolvedDependencies")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let source_entries: Vec<&Value> = deps
        .iter()
        .filter(|d| d.get("uri").and_then(Value::as_str) == want_uri.as_deref())
        .collect();
    let commits: Vec<Option<&str>> = source_entries
        .iter()
        .map(|d| d.pointer("/digest/gitCommit").and_then(Value::as_str))
        .collect();
    if commits.is_empty() || commits.iter().any(|c| *c != source.commit.as_deref()) {
        problems.push(format!(
            "its source commit is {}, but this checkout is at {}",
            if commits.is_empty() {
                "not recorded".to_string()
            } else {
                commits
                    .iter()
                    .map(|c| c.unwrap_or("none"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            source.commit.as_deref().unwrap_or("no commit")
        ));
    }
    if crate::provenance::any_dirty_mark(p) {
        problems.push("it marks a dependency or the source as dirty".into());
    }
    // The dependencies: exactly the checked-out lock's, of the workspace this job was pointed
    // at — the statement cannot choose another directory's lock.
    let workspace = get("workspace").unwrap_or("");
    if workspace != signer_workspace {
        problems.push(format!(
            "its workspace is {workspace:?}, but this job signs for {signer_workspace:?} (run it \
             in the workspace the build job built, or pass that --manifest-path)"
        ));
        return problems;
    }
    let lock_path = top.join(workspace).join("Cargo.lock");
    let top_c = top.canonicalize().unwrap_or_else(|_| top.to_path_buf());
    if !lock_path
        .canonicalize()
        .is_ok_and(|l| l.starts_with(&top_c))
    {
        problems.push(format!(
            "{} is not a file inside the repository",
            lock_path.display()
        ));
        return problems;
    }
    // No other claim of a source commit, and no package entry that only looks unlike the
    // lock's (`PKG:CARGO/…`): every git or cargo entry must be accounted for below.
    for d in &deps {
        let uri = d.get("uri").and_then(Value::as_str).unwrap_or("");
        let is_source = Some(uri) == want_uri.as_deref();
        let lower = uri.to_ascii_lowercase();
        if lower.starts_with("pkg:cargo/") && !uri.starts_with("pkg:cargo/") {
            problems.push(format!("{uri} is a package entry in another spelling"));
        }
        if !is_source
            && !uri.starts_with("pkg:cargo/")
            && !uri.starts_with("pkg:generic/rust@")
            && (lower.starts_with("git+") || d.pointer("/digest/gitCommit").is_some())
        {
            problems.push(format!(
                "{uri} claims a commit but is neither the source nor a locked package"
            ));
        }
    }
    match crate::workspace::Lockfile::load(&lock_path) {
        Ok(lock) => {
            let want: BTreeMap<String, Value> = predicate::lock_dependencies(&lock)
                .into_iter()
                .filter_map(|d| Some((d.get("uri")?.as_str()?.to_string(), d)))
                .collect();
            let got: BTreeMap<String, Value> = deps
                .iter()
                .filter(|d| {
                    d.get("uri")
                        .and_then(Value::as_str)
                        .is_some_and(|u| u.starts_with("pkg:cargo/"))
                })
                .filter_map(|d| Some((d.get("uri")?.as_str()?.to_string(), d.clone())))
                .collect();
            let cargo_entries = deps
                .iter()
                .filter(|d| {
                    d.get("uri")
                        .and_then(Value::as_str)
                        .is_some_and(|u| u.starts_with("pkg:cargo/"))
                })
                .count();
            if cargo_entries != got.len() {
                problems.push("it lists a Cargo.lock package twice".into());
            }
            for (uri, d) in &want {
                match got.get(uri) {
                    None => problems.push(format!(
                        "{uri} is in the checked-out Cargo.lock but not in the statement"
                    )),
                    Some(g) if g != d => problems.push(format!(
                        "{uri} differs from the checked-out Cargo.lock (digest or source)"
                    )),
                    _ => {}
                }
            }
            for uri in got.keys().filter(|u| !want.contains_key(*u)) {
                problems.push(format!(
                    "{uri} is in the statement but not in the checked-out Cargo.lock"
                ));
            }
        }
        Err(e) => problems.push(format!(
            "the checked-out Cargo.lock ({}) cannot be read: {e:#}",
            lock_path.display()
        )),
    }
    problems
}

/// Run `attest --from-statement`.
pub(super) fn run(
    ctx: &Ctx,
    args: &super::AttestArgs,
    signing: &Signing,
    started: i64,
) -> Result<Report> {
    let _ = started;
    let mut report = Report::new("attest", AttestCode::rules());
    report.notes.extend(signing.notes());
    // The checkout: where --manifest-path points, else the working directory.
    let dir = ctx
        .manifest_path
        .as_ref()
        .map(|m| ctx.abs(m))
        .and_then(|m| m.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| ctx.cwd.clone());
    let source = Source::detect(&dir);
    let top = source.toplevel.clone().ok_or_else(|| {
        InputError::at(
            &dir,
            None,
            None,
            "--from-statement must run in a git checkout of the source the statement names",
        )
    })?;
    // The workspace the signer was pointed at, relative to the repository: the statement must
    // name this one (not another directory with a Cargo.lock of its own).
    let top_c = top.canonicalize().unwrap_or_else(|_| top.clone());
    let dir_c = dir.canonicalize().unwrap_or_else(|_| dir.clone());
    let signer_workspace = dir_c
        .strip_prefix(&top_c)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if env("GITHUB_ACTIONS").as_deref() == Some("true")
        && let Some(sha) = env("GITHUB_SHA")
        && source.commit.as_deref() != Some(sha.as_str())
    {
        return Err(anyhow!(
            "the checkout is at {}, but this workflow runs for {sha} (GITHUB_SHA): check out \
             that commit",
            source.commit.as_deref().unwrap_or("no commit")
        ));
    }
    // The artifacts, by digest.
    let mut artifacts: Vec<(PathBuf, String)> = Vec::new();
    for a in &args.artifact {
        let p = ctx.abs(a);
        if !p.is_file() {
            return Err(InputError::at(&p, None, None, "--artifact: no such file").into());
        }
        let sha = build::sha256_file(&p)?;
        artifacts.push((p, sha));
    }
    // The statements, grouped by the name their files share.
    let mut groups: BTreeMap<String, Vec<(PathBuf, bool, Statement)>> = BTreeMap::new();
    for f in &args.from_statement {
        let p = ctx.abs(f);
        let (name, sbom) = group_of(&p)?;
        let st = read_statement(&p)?;
        groups.entry(name).or_default().push((p, sbom, st));
    }
    if args.name.is_some() && groups.len() > 1 {
        return Err(anyhow!(
            "--name names one output, but the statements belong to {} ({}): sign them in \
             separate runs",
            groups.len(),
            groups.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let mut mismatch = |file: &Path, msg: String| {
        report.findings.push(
            Finding::new(
                AttestCode::StatementMismatch.rule(),
                format!("not signed: {msg}"),
            )
            .at(file, None, None),
        );
    };
    if source.repo.is_none() || source.dirty {
        mismatch(
            &top,
            "this checkout is not a clean commit (uncommitted changes, untracked files or no \
             commit), so it cannot vouch for the statement's source"
                .into(),
        );
    }
    let mut covered = vec![false; artifacts.len()];
    for members in groups.values() {
        for (path, sbom, st) in members {
            // Only what this job can vouch for is signed: SLSA v1 provenance, and beside it a
            // CycloneDX SBOM — not another predicate (an old provenance format, a verification
            // summary) whose claims nothing here checks.
            let want = if *sbom {
                crate::provenance::CYCLONEDX_PREDICATE
            } else {
                SLSA_PROVENANCE_V1
            };
            if st.predicate_type != want {
                mismatch(
                    path,
                    format!(
                        "its predicateType is {:?}; this file must hold {want}",
                        st.predicate_type
                    ),
                );
                continue;
            }
            if st.subject.is_empty() {
                mismatch(path, "it has no subjects".into());
            }
            let mut seen = std::collections::BTreeSet::new();
            for s in &st.subject {
                // One lowercase sha256 per subject and nothing else: a second algorithm or a
                // URI would be a claim about bytes nobody here hashed.
                let only_sha256 = s.digest.len() == 1
                    && s.uri.is_none()
                    && s.annotations.is_none()
                    && s.digest.get("sha256").is_some_and(|d| {
                        d.len() == 64
                            && d.bytes()
                                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                    });
                if !only_sha256 {
                    mismatch(
                        path,
                        format!(
                            "subject {} must carry exactly one lowercase sha256 digest and no \
                             uri or annotations",
                            s.name.as_deref().unwrap_or("(unnamed)")
                        ),
                    );
                    continue;
                }
                let sha = s.digest.get("sha256").map(String::as_str).unwrap_or("");
                if !seen.insert(sha.to_string()) {
                    mismatch(path, format!("sha256 {sha} is listed as two subjects"));
                }
                match artifacts.iter().position(|(_, a)| a == sha) {
                    Some(i) => covered[i] = true,
                    None => mismatch(
                        path,
                        format!(
                            "subject {} (sha256 {sha}) is none of the --artifact files",
                            s.name.as_deref().unwrap_or("(unnamed)")
                        ),
                    ),
                }
            }
            if st.predicate_type == SLSA_PROVENANCE_V1 {
                for problem in check_provenance(st, &source, &top, &signer_workspace) {
                    mismatch(path, problem);
                }
            }
        }
        if !members
            .iter()
            .any(|(_, _, st)| st.predicate_type == SLSA_PROVENANCE_V1)
        {
            mismatch(
                &members[0].0,
                "no provenance statement in this group: an SBOM alone is not signed".into(),
            );
        }
    }
    for (i, (path, sha)) in artifacts.iter().enumerate() {
        if !covered[i] {
            mismatch(
                path,
                format!("this file (sha256 {sha}) is a subject of no statement"),
            );
        }
    }
    if report.failed() {
        report.notes.push(
            "nothing was signed or written: a statement disagrees with what this job sees".into(),
        );
        report.sort();
        return Ok(report);
    }

    // The fields the signer vouches for.
    let session = match signing {
        Signing::Keyless(plan) => Some(keyless::Session::open(plan)?),
        _ => None,
    };
    let mut builder = Builder::detect();
    if let (Some(session), Some(server)) = (&session, predicate::actions_server())
        && let Some(id) = session.workflow_identity(&server)
    {
        builder.id = id;
    }
    let signer = match (signing, &session) {
        (Signing::Key(k), _) => Signer::Key(k),
        (Signing::Keyless(_), Some(s)) => Signer::Keyless(s),
        _ => Signer::Unsigned,
    };
    let out_dir = args
        .output
        .as_ref()
        .map(|o| ctx.abs(o))
        .unwrap_or_else(|| ctx.cwd.join("target/slsa"));
    let mut files: Vec<OutFile> = Vec::new();
    let mut subjects_out = Vec::new();
    for (group, members) in &groups {
        let name = args.name.clone().unwrap_or_else(|| group.clone());
        output::check_name(&name)?;
        let mut ordered: Vec<&(PathBuf, bool, Statement)> = members.iter().collect();
        ordered.sort_by_key(|(_, sbom, st)| (*sbom, st.predicate_type != SLSA_PROVENANCE_V1));
        let mut statements: Vec<(&str, Statement)> = Vec::new();
        for (_, sbom, st) in ordered {
            let mut st = st.clone();
            if st.predicate_type == SLSA_PROVENANCE_V1 {
                let run = st
                    .predicate
                    .pointer_mut("/runDetails")
                    .filter(|r| r.is_object())
                    .ok_or_else(|| anyhow!("the provenance has no runDetails object"))?;
                if !run.get("metadata").is_none_or(Value::is_object) {
                    return Err(anyhow!(
                        "the provenance's runDetails.metadata is not an object"
                    ));
                }
                run["builder"] = json!({
                    "id": builder.id,
                    "version": {"cargo-slsa": env!("CARGO_PKG_VERSION")},
                });
                match &builder.invocation_id {
                    Some(id) => run["metadata"]["invocationId"] = json!(id),
                    None => {
                        if let Some(m) = run.get_mut("metadata").and_then(Value::as_object_mut) {
                            m.remove("invocationId");
                        }
                    }
                }
            }
            statements.push((if *sbom { "sbom" } else { "provenance" }, st));
        }
        let unit = Unit {
            name: name.clone(),
            subjects: statements
                .first()
                .map(|(_, st)| {
                    st.subject
                        .iter()
                        .map(|s| Subject {
                            name: s.name.clone().unwrap_or_default(),
                            path: PathBuf::new(),
                            sha256: s.digest.get("sha256").cloned().unwrap_or_default(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        let unit_files = output::signed_files(&signer, &out_dir, &name, &statements)?;
        output::guard_overwrite(&unit_files, &unit)?;
        files.extend(unit_files);
        for s in &unit.subjects {
            subjects_out.push(json!({"name": s.name, "sha256": s.sha256, "attestation": name}));
        }
    }
    output::write_all(&files)?;
    for (path, _, description) in &files {
        report.changes.push(Change {
            file: path.clone(),
            description: description.clone(),
        });
    }
    report
        .summary
        .insert("subjects".into(), json!(subjects_out));
    report.summary.insert("builderId".into(), json!(builder.id));
    report.summary.insert("source".into(), json!(source.uri()));
    report.summary.insert("commit".into(), json!(source.commit));
    report.notes.push(format!(
        "signed {} statement group(s) after checking them against {} artifact(s), commit {} and \
         its Cargo.lock",
        groups.len(),
        artifacts.len(),
        source.commit.as_deref().unwrap_or("?")
    ));
    report.sort();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_files_group_by_name() {
        let g = |s: &str| group_of(Path::new(s)).expect("name");
        assert_eq!(g("/x/app.statement.json"), ("app".into(), false));
        assert_eq!(g("/x/app.sbom.statement.json"), ("app".into(), true));
        assert_eq!(g("fn.json"), ("fn".into(), false));
    }
}
