//! The signature checks: DSSE over the envelope's exact payload with a trusted key, or a
//! Sigstore bundle under a keyless policy; the statement is parsed from the verified bytes only.

use super::*;

/// Parse verified payload bytes as a statement.
pub(super) fn parse_statement(
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

pub(super) fn verify_with_key(
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

pub(super) fn verify_keyless(
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
    // The trusted root: a file, or what the TUF repository delivers (public-good by default).
    let material = crate::provenance::trust::load(ctx, &args.trust, None, false)?;
    report
        .notes
        .push(format!("keyless: trusting the {}", material.origin));
    let verifier = Verifier::new(&material.root)
        .map_err(|e| anyhow!("the trusted root ({}) is unusable: {e}", material.origin))?;
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
            let code = code_of(&e);
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
    let times = result.verified_timestamps().len();
    if times < args.timestamp_threshold as usize {
        report.findings.push(
            Finding::new(
                VerifyCode::TimestampThreshold.rule(),
                format!(
                    "{times} verified time(s) vouch for the signing certificate, fewer than \
                     --timestamp-threshold {}",
                    args.timestamp_threshold
                ),
            )
            .at(att_path, None, None)
            .with_fix("sign with a timestamp authority (or more of them) in the signing config"),
        );
        return Ok(Verified {
            statements: vec![],
            signer: format!("certificate {identity}"),
            cert_claims: None,
        });
    }
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

/// The finding code of a failed Sigstore verification.
fn code_of(e: &sigstore_verify::Error) -> VerifyCode {
    use sigstore_verify::{Error as E, TransparencyLogError as T};
    match e {
        E::IdentityMismatch { .. } | E::IssuerMismatch { .. } => VerifyCode::CertificateMismatch,
        E::TransparencyLog(T::UnknownLog { .. }) => VerifyCode::TlogUntrusted,
        // The library says "no key for this log" only in its message (v2: the checkpoint's
        // signer; v1: the signed entry timestamp's log ID). Should the wording change, the
        // finding degrades to tlog-invalid — still a failure.
        E::TransparencyLog(T::Checkpoint(m)) if m.contains("No matching Rekor key") => {
            VerifyCode::TlogUntrusted
        }
        E::TransparencyLog(T::InclusionPromise(m)) if m.contains("No log key") => {
            VerifyCode::TlogUntrusted
        }
        // The chain is checked (by webpki) at each verified time first; its time errors come
        // as text only.
        E::Certificate(sigstore_verify::CertificateError::ChainInvalid(m))
            if m.contains("CertNotValidYet") || m.contains("CertExpired") =>
        {
            VerifyCode::CertificateTime
        }
        E::TransparencyLog(T::IntegratedTime(_))
        | E::Certificate(
            sigstore_verify::CertificateError::NotYetValid { .. }
            | sigstore_verify::CertificateError::Expired { .. },
        ) => VerifyCode::CertificateTime,
        E::TransparencyLog(_) => VerifyCode::TlogInvalid,
        // A Rekor v2 entry logs the digest it was given: another signing's entry under this
        // envelope is caught as a digest mismatch "for hashedrekord entry".
        E::ArtifactMismatch(m) if m.contains("entry") => VerifyCode::TlogInvalid,
        E::Timestamp(_) => VerifyCode::TimestampUntrusted,
        _ => VerifyCode::SignatureInvalid,
    }
}
