//! Lambda packages in `verify`: a zip accounted for entry by entry, and what AWS says a function
//! runs (`--lambda-function`), both held against the verified statements.

use std::path::Path;

use anyhow::{Result, anyhow};
use serde_json::{Value, json};

use super::VerifyCode;
use crate::lambda::{self, aws};
use crate::provenance::Statement;
use crate::report::{Finding, Report};

/// How a zip that is not itself a subject is accounted for: the statements that name its
/// entries, or the findings that say why it is not.
pub struct ZipAccount {
    /// Indices (into the provenance list) of statements that name the zip's files.
    pub statements: Vec<usize>,
    /// The entries and what named them, for the summary.
    pub entries: Vec<Value>,
}

/// Account for every file in the zip at `path`: `bootstrap` must be an attested subject, and
/// so must every other file (`lambda-extra-entry` otherwise).
pub fn account_zip(
    path: &Path,
    naming: &dyn Fn(&str) -> Vec<usize>,
    report: &mut Report,
) -> Result<ZipAccount> {
    let entries = lambda::package::read_entries(path)?;
    let mut statements = Vec::new();
    let mut shown = Vec::new();
    let files: Vec<_> = entries.iter().filter(|e| !e.dir).collect();
    if !files.iter().any(|e| e.name == lambda::package::BOOTSTRAP) {
        report.findings.push(
            Finding::new(
                VerifyCode::SubjectMissing.rule(),
                format!(
                    "{} is not a subject of the attestation, and it has no `bootstrap` entry \
                     that could be",
                    path.display()
                ),
            )
            .at(path, None, None),
        );
    }
    for e in files {
        let idx = naming(&e.sha256);
        shown.push(json!({"name": e.name, "sha256": e.sha256, "attested": !idx.is_empty()}));
        if idx.is_empty() {
            let (code, what) = if e.name == lambda::package::BOOTSTRAP {
                (
                    VerifyCode::SubjectMissing,
                    "its `bootstrap` (the code Lambda runs) is not an attested binary",
                )
            } else {
                (
                    VerifyCode::LambdaExtraEntry,
                    "it holds a file that no statement attests",
                )
            };
            report.findings.push(
                Finding::new(
                    code.rule(),
                    format!(
                        "{}: {what}: `{}` (sha256 {})",
                        path.display(),
                        e.name,
                        e.sha256
                    ),
                )
                .at(path, None, None),
            );
        }
        statements.extend(idx);
    }
    Ok(ZipAccount {
        statements,
        entries: shown,
    })
}

/// Ask AWS about every `--lambda-function`; `(reference, what is deployed)`.
pub fn deployed(
    functions: &[String],
    region: Option<&str>,
) -> Result<Vec<(aws::FunctionRef, aws::Deployed)>> {
    let refs = functions
        .iter()
        .map(|f| aws::FunctionRef::parse(f))
        .collect::<Result<Vec<_>>>()?;
    let answers = aws::get_functions(&refs, region)?;
    Ok(refs.into_iter().zip(answers).collect())
}

/// The architecture a statement recorded with `attest --lambda`, if it did.
pub fn recorded_arch(st: &Statement) -> Option<String> {
    st.predicate
        .pointer("/buildDefinition/externalParameters/lambda/architecture")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Check one deployed function: its code must be a subject (`lambda-mismatch`), and its
/// architecture the recorded one (`lambda-arch-mismatch`). Returns the statements that name
/// its code.
pub fn check_function(
    f: &aws::FunctionRef,
    d: &aws::Deployed,
    provenances: &[(Option<usize>, &Statement)],
    naming: &dyn Fn(&str) -> Vec<usize>,
    att_path: &Path,
    report: &mut Report,
) -> Result<(Vec<usize>, Value)> {
    let hex = lambda::hex_of_code_sha256(&d.code_sha256).ok_or_else(|| {
        anyhow!(
            "AWS reported CodeSha256 {:?} for {}, which is not a base64 SHA-256",
            d.code_sha256,
            f.display()
        )
    })?;
    let idx = naming(&hex);
    let name = match &d.version {
        Some(v) => format!("{} (version {v})", f.display()),
        None => f.display(),
    };
    if idx.is_empty() {
        let mut attested: Vec<String> = provenances
            .iter()
            .flat_map(|(_, st)| st.subject.iter())
            .filter(|s| s.name.as_deref().is_some_and(|n| n.ends_with(".zip")))
            .filter_map(|s| {
                let sha = s.digest.get("sha256")?;
                Some(format!(
                    "{} {}",
                    s.name.as_deref().unwrap_or_default(),
                    lambda::code_sha256(sha).unwrap_or_else(|| sha.clone())
                ))
            })
            .collect();
        attested.dedup();
        report.findings.push(
            Finding::new(
                VerifyCode::LambdaMismatch.rule(),
                format!(
                    "Lambda function {name} runs code with CodeSha256 {} (sha256 {hex}), which \
                     is not an attested subject; attested packages: {}",
                    d.code_sha256,
                    if attested.is_empty() {
                        "none (the attestation names no .zip)".to_string()
                    } else {
                        attested.join(", ")
                    }
                ),
            )
            .at(att_path, None, None)
            .with_fix("deploy the verified bootstrap.zip, or find out who deployed this code"),
        );
    }
    for &i in &idx {
        let (line, st) = provenances[i];
        if let Some(arch) = recorded_arch(st)
            && !d.architectures.is_empty()
            && !d.architectures.iter().any(|a| a == &arch)
        {
            report.findings.push(
                Finding::new(
                    VerifyCode::LambdaArchMismatch.rule(),
                    format!(
                        "Lambda function {name} runs on {}, but the package was attested for {arch}",
                        d.architectures.join(", ")
                    ),
                )
                .at(att_path, line, None),
            );
        }
    }
    if !d.layers.is_empty() || !d.exec_env.is_empty() {
        let mut what = Vec::new();
        if !d.layers.is_empty() {
            what.push(format!("layers {}", d.layers.join(", ")));
        }
        if !d.exec_env.is_empty() {
            what.push(format!("environment variables {}", d.exec_env.join(", ")));
        }
        report.findings.push(
            Finding::new(
                VerifyCode::LambdaUnattestedCode.rule(),
                format!(
                    "Lambda function {name} also runs code the attestation does not cover: {}",
                    what.join("; ")
                ),
            )
            .at(att_path, None, None)
            .with_fix("attest the layers too, or remove them and the variables"),
        );
    }
    let row = json!({
        "function": f.display(),
        "layers": d.layers,
        "arn": d.arn,
        "version": d.version,
        "codeSha256": d.code_sha256,
        "sha256": hex,
        "architectures": d.architectures,
        "attested": !idx.is_empty(),
    });
    Ok((idx, row))
}
