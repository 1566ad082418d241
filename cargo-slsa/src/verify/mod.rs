//! `cargo slsa verify`: check artifacts against their attestation before deploying them.
//!
//! Order matters: the signature is checked first, over the PAE of the envelope's exact payload
//! bytes, with only the key (or keyless policy) the caller trusts; the statement is parsed from
//! those verified bytes and nothing else. Every failed check is a finding with its own code and
//! the run exits 1. `--rebuild` repeats the recorded build through [`crate::build`] (never through
//! `attest`).

mod codes;
mod lambda;
mod recorded;
mod signature;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

use crate::Ctx;
use crate::build::{self, BuildSpec, Toolchain};
use crate::cli::VerifyArgs;
use crate::error::InputError;
use crate::provenance::{
    self, AttestationFile, Envelope, PAYLOAD_TYPE, PublicKey, SLSA_PROVENANCE_V1, STATEMENT_TYPE,
    Statement,
};
use crate::report::{Finding, Report};
pub use codes::VerifyCode;
use recorded::*;
use signature::*;

/// The verified statements and what vouched for them.
struct Verified {
    /// (line, statement) of every envelope whose signature verified and that parsed.
    statements: Vec<(Option<usize>, Statement)>,
    /// "key <id>" or "certificate <identity> issued by <issuer>".
    signer: String,
    /// Claims of the keyless certificate (source repo, ref, digest), when keyless.
    cert_claims: Option<sigstore_verify::crypto::x509::FulcioCiClaims>,
}

/// `github.com/o/r` from any spelling of a repository URI (`git+https://github.com/o/r@ref`,
/// `https://github.com/o/r.git`, `github.com/o/r`), lowercased host.
pub fn repo_key(uri: &str) -> String {
    let s = uri.trim();
    let s = s.strip_prefix("git+").unwrap_or(s);
    let s = s.split_once("://").map(|(_, r)| r).unwrap_or(s);
    // `@ref` after the path (not user@host, which has no '/' before it).
    let s = match s.rfind('@') {
        Some(i) if s[..i].contains('/') => &s[..i],
        _ => s,
    };
    let s = s.trim_end_matches('/');
    let s = s.strip_suffix(".git").unwrap_or(s);
    match s.split_once('/') {
        Some((host, path)) => format!("{}/{}", host.to_ascii_lowercase(), path),
        None => s.to_ascii_lowercase(),
    }
}

/// Run `cargo slsa verify`.
pub fn run(ctx: &Ctx, args: &VerifyArgs) -> Result<Report> {
    let att_path = ctx.abs(&args.attestation);
    let text = std::fs::read_to_string(&att_path).map_err(|e| {
        InputError::at(
            &att_path,
            None,
            None,
            format!("cannot read the attestation: {e}"),
        )
    })?;
    let file = provenance::parse_attestation_file(&att_path, &text)?;
    // A policy value that is empty would match an empty field: refuse it.
    for (flag, value) in [
        ("--builder-id", &args.builder_id),
        ("--source-uri", &args.source_uri),
        ("--source-ref", &args.source_ref),
        ("--certificate-identity", &args.certificate_identity),
        (
            "--certificate-identity-regexp",
            &args.certificate_identity_regexp,
        ),
        ("--certificate-oidc-issuer", &args.certificate_oidc_issuer),
        ("--region", &args.region),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            bail!("{flag} is empty: give the value to require, or leave the flag out");
        }
    }
    // `--source-uri git+https://host/o/r@refs/tags/v1` carries a ref: it is required too.
    let source_ref = match (
        args.source_uri.as_deref().and_then(uri_ref),
        &args.source_ref,
    ) {
        (Some(r), Some(given)) if r != *given => bail!(
            "--source-uri names ref {r} but --source-ref says {given}: give the ref once, with \
             --source-ref"
        ),
        (Some(r), _) => Some(r),
        (None, given) => given.clone(),
    };
    let mut artifacts = Vec::new();
    for a in &args.artifacts {
        let p = ctx.abs(a);
        if !p.is_file() {
            return Err(InputError::at(&p, None, None, "no such artifact file").into());
        }
        let sha = build::sha256_file(&p)?;
        artifacts.push((p, sha));
    }
    let lambda_hex = match &args.lambda_code_sha256 {
        Some(b64) => Some(crate::lambda::hex_of_code_sha256(b64).ok_or_else(|| {
            anyhow!(
                "--lambda-code-sha256 {b64:?} is not a base64 SHA-256 (44 characters, as \
                 `aws lambda get-function --query Configuration.CodeSha256` prints)"
            )
        })?),
        None => None,
    };
    let keyless = args.certificate_identity.is_some() || args.certificate_identity_regexp.is_some();
    if args.key.is_none() && !keyless {
        bail!(
            "say whom to trust: --key PUB.pem, or --certificate-identity (or \
             --certificate-identity-regexp) with --certificate-oidc-issuer"
        );
    }
    if keyless && args.certificate_oidc_issuer.is_none() {
        bail!("keyless verification needs --certificate-oidc-issuer");
    }
    // What AWS runs: asked before anything is judged, so a failure there is exit 2, never a
    // pass. The SDK holds AWS credentials in this process from here on.
    // AWS credentials (for --lambda-function) and the code --rebuild runs share this process's
    // user: nothing of ours is readable through /proc from here on.
    if args.rebuild || !args.lambda_function.is_empty() {
        crate::secrets::protect_process()?;
    }
    let deployed = if args.lambda_function.is_empty() {
        Vec::new()
    } else {
        let spinner = ctx
            .progress()
            .spinner("asking AWS Lambda what the functions run");
        let d = lambda::deployed(&args.lambda_function, args.region.as_deref());
        spinner.finish_and_clear();
        d?
    };

    let mut report = Report::new("verify", VerifyCode::rules());
    let verified = if let Some(key_path) = &args.key {
        let key = provenance::keys::load_public_key(&ctx.abs(key_path))?;
        verify_with_key(&att_path, &file, &key, &mut report)
    } else {
        verify_keyless(
            ctx,
            args,
            &att_path,
            &file,
            &artifacts,
            &deployed,
            &mut report,
        )?
    };

    // Checks on the verified statements.
    let mut provenances: Vec<(Option<usize>, &Statement)> = Vec::new();
    for (line, st) in &verified.statements {
        if st.type_ != STATEMENT_TYPE {
            report.findings.push(
                Finding::new(
                    VerifyCode::StatementType.rule(),
                    format!(
                        "statement _type is {:?}, expected {STATEMENT_TYPE}",
                        st.type_
                    ),
                )
                .at(&att_path, *line, None),
            );
            continue;
        }
        if st.predicate_type == SLSA_PROVENANCE_V1 {
            provenances.push((*line, st));
        }
    }
    // Without a verified provenance statement nothing below can pass: said when nothing else
    // already failed the run (findings of verify are never suppressed).
    if provenances.is_empty() && report.findings.is_empty() {
        report.findings.push(
            Finding::new(
                VerifyCode::PredicateType.rule(),
                format!(
                    "no verified statement has predicateType {SLSA_PROVENANCE_V1} (found: {})",
                    verified
                        .statements
                        .iter()
                        .map(|(_, s)| s.predicate_type.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .at(&att_path, None, None),
        );
    }

    // Which provenance statements name each artifact. Every policy check below applies to
    // every statement that names something being verified — not just the first statement in
    // the file — so appending another validly signed statement cannot lend an artifact a
    // source or builder it does not have.
    let naming = |sha: &str| -> Vec<usize> {
        provenances
            .iter()
            .enumerate()
            .filter(|(_, (_, st))| subject_name(st, sha).is_some())
            .map(|(i, _)| i)
            .collect()
    };
    let mut relevant: Vec<usize> = Vec::new();
    let mut shown = Vec::new();
    let mut per_artifact: Vec<(usize, Vec<usize>)> = Vec::new();
    for (k, (path, sha)) in artifacts.iter().enumerate() {
        let idx = naming(sha);
        let subject = idx
            .first()
            .and_then(|&i| subject_name(provenances[i].1, sha));
        let mut entries = None;
        if idx.is_empty() && !provenances.is_empty() {
            if crate::lambda::package::looks_like_zip(path) {
                // Not attested as a whole: accounted for file by file.
                let account = lambda::account_zip(path, &naming, &mut report)?;
                relevant.extend(&account.statements);
                entries = Some(account.entries);
            } else {
                report.findings.push(
                    Finding::new(
                        VerifyCode::SubjectMissing.rule(),
                        format!(
                            "{} (sha256 {sha}) is not a subject of the attestation: it is not \
                             the file that was attested",
                            path.display()
                        ),
                    )
                    .at(path, None, None),
                );
            }
        }
        relevant.extend(&idx);
        let mut row = json!({"path": path, "sha256": sha, "subject": subject});
        if let Some(e) = entries {
            row["zipEntries"] = json!(e);
        }
        shown.push(row);
        per_artifact.push((k, idx));
    }
    if let Some(hex) = &lambda_hex
        && !provenances.is_empty()
    {
        let idx = naming(hex);
        if idx.is_empty() {
            report.findings.push(Finding::new(
                VerifyCode::LambdaMismatch.rule(),
                format!(
                    "the deployed Lambda package (CodeSha256 {}, sha256 {hex}) is not one of the \
                     attested subjects: do not deploy it",
                    args.lambda_code_sha256.as_deref().unwrap_or_default()
                ),
            ));
        }
        relevant.extend(idx);
    }
    let mut functions = Vec::new();
    if !provenances.is_empty() {
        for (f, d) in &deployed {
            let (idx, row) =
                lambda::check_function(f, d, &provenances, &naming, &att_path, &mut report)?;
            relevant.extend(idx);
            functions.push(row);
        }
    }
    relevant.sort_unstable();
    relevant.dedup();

    let mut summary_prov = Vec::new();
    for &i in &relevant {
        let (line, st) = provenances[i];
        let rec = Recorded::of(st);
        let at = |f: Finding| f.at(&att_path, line, None);
        if rec.dirty {
            report.findings.push(at(Finding::new(
                VerifyCode::DirtyBuild.rule(),
                format!(
                    "the attested build used uncommitted changes (the source {} is marked dirty), \
                     so commit {} does not describe it",
                    rec.source.as_deref().unwrap_or("?"),
                    rec.commit.as_deref().unwrap_or("?")
                ),
            )));
        }
        if let Some(want) = &args.builder_id {
            let ok = rec.builder_id == *want
                || (!want.contains('@')
                    && rec.builder_id.split_once('@').map(|(b, _)| b) == Some(want.as_str()));
            if !ok {
                report.findings.push(at(Finding::new(
                    VerifyCode::BuilderMismatch.rule(),
                    format!("builder.id is {:?}, expected {want:?}", rec.builder_id),
                )));
            }
            if let Some(signer) = verified
                .cert_claims
                .as_ref()
                .and_then(|c| c.build_signer_uri.as_ref())
                && signer != want
                && signer.split_once('@').map(|(b, _)| b) != Some(want.as_str())
            {
                report.findings.push(at(Finding::new(
                    VerifyCode::BuilderMismatch.rule(),
                    format!("the signing certificate's build signer is {signer}, expected {want}"),
                )));
            }
        }
        if let Some(want) = &args.source_uri {
            if rec.repository.as_deref().map(repo_key) != Some(repo_key(want)) {
                report.findings.push(at(Finding::new(
                    VerifyCode::SourceMismatch.rule(),
                    format!(
                        "the provenance's source is {}, expected {want}",
                        rec.repository.as_deref().unwrap_or("not recorded")
                    ),
                )));
            }
            if let Some(cert_repo) = verified
                .cert_claims
                .as_ref()
                .and_then(|c| c.source_repository_uri.as_ref())
                && repo_key(cert_repo) != repo_key(want)
            {
                report.findings.push(at(Finding::new(
                    VerifyCode::SourceMismatch.rule(),
                    format!(
                        "the signing certificate's source repository is {cert_repo}, expected {want}"
                    ),
                )));
            }
        }
        if let Some(problem) = &rec.inconsistent {
            report.findings.push(at(Finding::new(
                VerifyCode::SourceMismatch.rule(),
                format!("the provenance contradicts itself: {problem}"),
            )));
        }
        if let Some(want) = &source_ref {
            if rec.git_ref.as_deref() != Some(want.as_str()) {
                report.findings.push(at(Finding::new(
                    VerifyCode::RefMismatch.rule(),
                    format!(
                        "the provenance's source ref is {}, expected {want}",
                        rec.git_ref.as_deref().unwrap_or("not recorded")
                    ),
                )));
            }
            if let Some(cert_ref) = verified
                .cert_claims
                .as_ref()
                .and_then(|c| c.source_repository_ref.as_ref())
                && cert_ref != want
            {
                report.findings.push(at(Finding::new(
                    VerifyCode::RefMismatch.rule(),
                    format!("the signing certificate's source ref is {cert_ref}, expected {want}"),
                )));
            }
        }
        // Keyless: the commit Fulcio vouched for must be the one the provenance names.
        if let (Some(cert_commit), Some(commit)) = (
            verified
                .cert_claims
                .as_ref()
                .and_then(|c| c.source_repository_digest.as_ref()),
            &rec.commit,
        ) && !cert_commit.eq_ignore_ascii_case(commit)
        {
            report.findings.push(at(Finding::new(
                VerifyCode::SourceMismatch.rule(),
                format!(
                    "the signing certificate vouches for commit {cert_commit}, but the provenance \
                     names {commit}"
                ),
            )));
        }
        summary_prov.push(json!({
            "line": line,
            "builderId": rec.builder_id,
            "source": rec.source,
            "commit": rec.commit,
            "buildType": st.predicate.pointer("/buildDefinition/buildType"),
        }));
    }
    if args.rebuild && !report.failed() {
        for &i in &relevant {
            let (line, st) = provenances[i];
            let mine: Vec<(PathBuf, String)> = per_artifact
                .iter()
                .filter(|(_, idx)| idx.contains(&i))
                .map(|(k, _)| artifacts[*k].clone())
                .collect();
            if !mine.is_empty() {
                rebuild(ctx, &att_path, line, st, &mine, &mut report)?;
            }
        }
    }
    let summary_prov = summary_prov.into_iter().next();

    report.summary.insert("attestation".into(), json!(att_path));
    report
        .summary
        .insert("signer".into(), json!(verified.signer));
    report.summary.insert("artifacts".into(), json!(shown));
    if !functions.is_empty() {
        report.summary.insert("lambda".into(), json!(functions));
    }
    if let Some(p) = summary_prov {
        report.summary.insert("provenance".into(), p);
    }
    report
        .summary
        .insert("verified".into(), json!(!report.failed()));
    if !report.failed() {
        if !deployed.is_empty() {
            report.notes.push(format!(
                "AWS Lambda runs attested code: {}",
                deployed
                    .iter()
                    .map(|(f, d)| format!("{} (CodeSha256 {})", f.display(), d.code_sha256))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        report.notes.push(format!(
            "verified {} artifact(s) against {} (signed by {})",
            artifacts.len(),
            att_path.display(),
            verified.signer
        ));
    }
    report.sort();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_keys_compare_spellings() {
        let k = repo_key("github.com/o/r");
        for s in [
            "git+https://github.com/o/r@refs/tags/v1",
            "https://GitHub.com/o/r.git",
            "https://github.com/o/r/",
            "github.com/o/r",
        ] {
            assert_eq!(repo_key(s), k, "{s}");
        }
        assert_ne!(repo_key("github.com/o/r2"), k);
    }
}
