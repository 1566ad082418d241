//! `cargo slsa verify`: check artifacts against their attestation before deploying them.
//!
//! Order matters: the signature is checked first, over the PAE of the envelope's exact payload
//! bytes, with only the key (or keyless policy) the caller trusts; the statement is parsed from
//! those verified bytes and nothing else. Every failed check is a finding with its own code and
//! the run exits 1. `--rebuild` repeats the recorded build through [`crate::build`] (never through
//! `attest`).

mod codes;
mod lambda;

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

/// The verified statements and what vouched for them.
struct Verified {
    /// (line, statement) of every envelope whose signature verified and that parsed.
    statements: Vec<(Option<usize>, Statement)>,
    /// "key <id>" or "certificate <identity> issued by <issuer>".
    signer: String,
    /// Claims of the keyless certificate (source repo, ref, digest), when keyless.
    cert_claims: Option<sigstore_verify::crypto::x509::FulcioCiClaims>,
}

fn abs(ctx: &Ctx, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        ctx.cwd.join(p)
    }
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
    let att_path = abs(ctx, &args.attestation);
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
        let p = abs(ctx, a);
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
        let key = provenance::keys::load_public_key(&abs(ctx, key_path))?;
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

/// Parse verified payload bytes as a statement.
fn parse_statement(
    payload_type: &str,
    payload: &[u8],
    line: Option<usize>,
    att_path: &Path,
    report: &mut Report,
) -> Option<Statement> {
    if payload_type != PAYLOAD_TYPE {
        report.findings.push(
            Finding::new(
                VerifyCode::PayloadType.rule(),
                format!("payloadType is {payload_type:?}, expected {PAYLOAD_TYPE}"),
            )
            .at(att_path, line, None),
        );
        return None;
    }
    match serde_json::from_slice::<Statement>(payload) {
        Ok(st) => Some(st),
        Err(e) => {
            report.findings.push(
                Finding::new(
                    VerifyCode::StatementType.rule(),
                    format!("the signed payload is not an in-toto statement: {e}"),
                )
                .at(att_path, line, None),
            );
            None
        }
    }
}

fn verify_with_key(
    att_path: &Path,
    file: &AttestationFile,
    key: &PublicKey,
    report: &mut Report,
) -> Verified {
    let envelopes: Vec<(Option<usize>, Envelope)> = match file {
        AttestationFile::Envelopes(e) => e.iter().map(|(l, e)| (Some(*l), e.clone())).collect(),
        AttestationFile::Bundle(b) => match provenance::bundle_envelope(b) {
            Some(e) => vec![(None, e)],
            None => {
                report.findings.push(
                    Finding::new(
                        VerifyCode::PayloadType.rule(),
                        "the bundle holds a message signature, not a DSSE envelope with a statement",
                    )
                    .at(att_path, None, None),
                );
                vec![]
            }
        },
    };
    let mut statements = Vec::new();
    for (line, env) in envelopes {
        match env.verify(key) {
            Ok(payload) => {
                if let Some(st) =
                    parse_statement(&env.payload_type, &payload, line, att_path, report)
                {
                    statements.push((line, st));
                }
            }
            Err(e) => report.findings.push(
                Finding::new(VerifyCode::SignatureInvalid.rule(), e.to_string())
                    .at(att_path, line, None)
                    .with_fix(
                        "the attestation was changed after signing, or signed by another key",
                    ),
            ),
        }
    }
    Verified {
        statements,
        signer: format!("key {}", key.key_id()),
        cert_claims: None,
    }
}

fn verify_keyless(
    ctx: &Ctx,
    args: &VerifyArgs,
    att_path: &Path,
    file: &AttestationFile,
    artifacts: &[(PathBuf, String)],
    deployed: &[(
        crate::lambda::aws::FunctionRef,
        crate::lambda::aws::Deployed,
    )],
    report: &mut Report,
) -> Result<Verified> {
    use sigstore_verify::trust_root::{SIGSTORE_PRODUCTION_TRUSTED_ROOT, TrustedRoot};
    use sigstore_verify::types::Sha256Hash;
    use sigstore_verify::{VerificationPolicy, Verifier};

    let AttestationFile::Bundle(bundle) = file else {
        return Err(InputError::at(
            att_path,
            None,
            None,
            "keyless verification needs the Sigstore bundle (NAME.sigstore.json): a .intoto.jsonl \
             file carries no certificate",
        )
        .into());
    };
    let root_path = args.trusted_root.as_ref().map(|p| abs(ctx, p));
    let root = match &root_path {
        Some(p) => {
            let p = p.clone();
            let text = std::fs::read_to_string(&p).map_err(|e| {
                InputError::at(&p, None, None, format!("cannot read the trusted root: {e}"))
            })?;
            TrustedRoot::from_json(&text).map_err(|e| {
                InputError::at(&p, None, None, format!("not a Sigstore trusted root: {e}"))
            })?
        }
        None => TrustedRoot::from_json(SIGSTORE_PRODUCTION_TRUSTED_ROOT)
            .map_err(|e| anyhow!("the built-in Sigstore trusted root is unusable: {e}"))?,
    };
    let verifier = Verifier::new(&root).map_err(|e| match &root_path {
        Some(p) => anyhow::Error::from(InputError::at(
            p,
            None,
            None,
            format!("the trusted root is unusable: {e}"),
        )),
        None => anyhow!("the built-in trusted root is unusable: {e}"),
    })?;
    let issuer = args.certificate_oidc_issuer.clone().unwrap_or_default();
    let policy = match &args.certificate_identity {
        Some(id) => VerificationPolicy::new(id.as_str(), issuer.clone()),
        None => VerificationPolicy::any_identity().require_issuer(issuer.clone()),
    };
    let regex = match &args.certificate_identity_regexp {
        Some(r) => Some(
            regex::Regex::new(&format!("^(?:{r})$"))
                .map_err(|e| anyhow!("--certificate-identity-regexp is not a valid regex: {e}"))?,
        ),
        None => None,
    };
    // sigstore-verify binds the bundle to one digest among the statement's subjects. Which one
    // does not change what it proves (chain, log entry, signature over the exact payload); the
    // subjects are checked afterwards, on the verified bytes, for every artifact. So: an
    // artifact's or the deployed code's digest when the statement names it, else its first
    // subject (and the later checks then say what is missing).
    let claimed: Vec<String> = provenance::bundle_envelope(bundle)
        .and_then(|env| env.payload_bytes().ok())
        .and_then(|bytes| serde_json::from_slice::<Statement>(&bytes).ok())
        .map(|st| {
            st.subject
                .iter()
                .filter_map(|s| s.digest.get("sha256").map(|d| d.to_ascii_lowercase()))
                .collect()
        })
        .unwrap_or_default();
    let wanted: Vec<String> = artifacts
        .iter()
        .map(|(_, sha)| sha.clone())
        .chain(
            deployed
                .iter()
                .filter_map(|(_, d)| crate::lambda::hex_of_code_sha256(&d.code_sha256)),
        )
        .collect();
    let chosen = wanted
        .iter()
        .find(|w| claimed.contains(w))
        .or_else(|| claimed.first())
        .or_else(|| wanted.first())
        .ok_or_else(|| anyhow!("the bundle's statement names no sha256 subject"))?;
    let digest = Sha256Hash::from_hex(chosen).map_err(|e| anyhow!("bad digest: {e}"))?;
    let result = match verifier.verify(digest, bundle, &policy) {
        Ok(r) => r,
        Err(e) => {
            let msg = e.to_string();
            let code = if matches!(
                e,
                sigstore_verify::Error::IdentityMismatch { .. }
                    | sigstore_verify::Error::IssuerMismatch { .. }
            ) {
                VerifyCode::CertificateMismatch
            } else {
                VerifyCode::SignatureInvalid
            };
            report.findings.push(
                Finding::new(code.rule(), format!("Sigstore verification failed: {msg}"))
                    .at(att_path, None, None),
            );
            return Ok(Verified {
                statements: vec![],
                signer: "nobody (verification failed)".into(),
                cert_claims: None,
            });
        }
    };
    let identity = result.identity().map(|i| i.to_string()).unwrap_or_default();
    if let Some(re) = &regex
        && !re.is_match(&identity)
    {
        report.findings.push(
            Finding::new(
                VerifyCode::CertificateMismatch.rule(),
                format!(
                    "the certificate's identity {identity:?} does not match --certificate-identity-regexp"
                ),
            )
            .at(att_path, None, None),
        );
        return Ok(Verified {
            statements: vec![],
            signer: format!("certificate {identity}"),
            cert_claims: None,
        });
    }
    // The library verified the envelope's signature over these exact bytes.
    let mut statements = Vec::new();
    if let Some(env) = provenance::bundle_envelope(bundle) {
        let payload = env.payload_bytes()?;
        if let Some(st) = parse_statement(&env.payload_type, &payload, None, att_path, report) {
            statements.push((None, st));
        }
    }
    Ok(Verified {
        statements,
        signer: format!(
            "certificate {identity} issued by {}",
            result.issuer().unwrap_or(&issuer)
        ),
        cert_claims: result.certificate().map(|c| c.ci_claims.clone()),
    })
}

/// What a provenance statement says about its source and builder.
struct Recorded {
    source: Option<String>,
    repository: Option<String>,
    git_ref: Option<String>,
    commit: Option<String>,
    dirty: bool,
    builder_id: String,
    /// Why the statement's own fields disagree, if they do (source vs repository/ref, several
    /// source entries with different commits).
    inconsistent: Option<String>,
}

/// `(repository, ref)` of a `git+URL@REF` source URI (the ref after the last `@` that follows
/// the path, so `user@host` is not taken for one).
fn split_source(source: &str) -> (String, Option<String>) {
    let s = source.strip_prefix("git+").unwrap_or(source);
    match s.rfind('@') {
        Some(i) if s[..i].contains('/') => (s[..i].to_string(), Some(s[i + 1..].to_string())),
        _ => (s.to_string(), None),
    }
}

/// The ref a `--source-uri` names after `@`, if any.
fn uri_ref(uri: &str) -> Option<String> {
    let s = uri.trim();
    let s = s.split_once("://").map(|(_, r)| r).unwrap_or(s);
    split_source(s).1.filter(|r| !r.is_empty())
}

impl Recorded {
    fn of(st: &Statement) -> Recorded {
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
fn subject_name(st: &Statement, sha: &str) -> Option<String> {
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
fn rebuild(
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

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
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
