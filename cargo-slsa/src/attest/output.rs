//! What `attest` writes and under which names: units (one attestation file set each: the
//! workspace's, or one per Lambda function), subject and file names, the signed files, and the
//! guard that keeps one run from replacing another artifact's attestation.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};

use super::Subject;
use super::keyless;
use crate::error::InputError;
use crate::provenance::{self, Envelope, PAYLOAD_TYPE, PrivateKey, Statement};

/// One attestation file set: `NAME.intoto.jsonl`, `NAME.sigstore.json` (or
/// `NAME.statement.json`), about `subjects`.
#[derive(Debug, Clone)]
pub struct Unit {
    /// The base name of the files.
    pub name: String,
    /// What the statements are about.
    pub subjects: Vec<Subject>,
}

/// A file to write: path, bytes, what it is.
pub type OutFile = (PathBuf, Vec<u8>, String);

/// Who signs.
pub enum Signer<'a> {
    /// A private key.
    Key(&'a PrivateKey),
    /// Sigstore, with a token in hand.
    Keyless(&'a keyless::Session),
    /// Nobody: the statements are written as they are.
    Unsigned,
}

/// File names a Lambda toolchain gives every function, which say nothing about which one.
fn generic(name: &str) -> bool {
    matches!(name, "bootstrap" | "bootstrap.zip")
}

/// The function a binary is for: its file name, or — for a generic Lambda name (`bootstrap`) —
/// its parent directory's, as in `target/lambda/orders/bootstrap`.
pub fn function_name(path: &Path) -> Option<String> {
    let file = path.file_name()?.to_string_lossy().into_owned();
    if generic(&file) {
        path.parent()?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    } else {
        Some(file)
    }
}

/// Subject names for prebuilt files: the file name, or — when two files share one — the path
/// relative to `base` (or the whole path when outside it), so no two subjects are alike.
pub fn subject_names(paths: &[PathBuf], base: &Path) -> Vec<String> {
    let file_name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    paths
        .iter()
        .map(|p| {
            let name = file_name(p);
            let shared = paths.iter().filter(|q| file_name(q) == name).count() > 1;
            if shared {
                p.strip_prefix(base)
                    .unwrap_or(p)
                    .to_string_lossy()
                    .replace('\\', "/")
            } else {
                name
            }
        })
        .collect()
}

/// The base name of a run's files: `--name`, the package, the single artifact (its parent
/// directory for a generic Lambda name), else the workspace directory's name.
pub fn default_name(
    explicit: Option<&str>,
    package: Option<&str>,
    subjects: &[Subject],
    root: &Path,
) -> Result<String> {
    let name = explicit
        .map(str::to_string)
        .or_else(|| package.map(str::to_string))
        .or_else(|| match subjects {
            [one] => {
                let file = one
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| one.name.clone());
                if generic(&file) {
                    one.path
                        .parent()
                        .and_then(|p| p.file_name())
                        .map(|n| n.to_string_lossy().into_owned())
                } else {
                    Some(file)
                }
            }
            _ => None,
        })
        .or_else(|| root.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "attestation".into());
    check_name(&name)?;
    Ok(name)
}

/// A base name must be a plain file name.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(anyhow!("--name {name:?} is not a plain file name"));
    }
    Ok(())
}

/// The subject names of the statements in an existing attestation file (any of our three
/// forms), or `None` when it cannot be read as one.
fn existing_subjects(path: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(path).ok()?;
    let names =
        |st: Statement| -> Vec<String> { st.subject.into_iter().filter_map(|s| s.name).collect() };
    if let Ok(st) = serde_json::from_str::<Statement>(&text) {
        return Some(names(st));
    }
    let file = provenance::parse_attestation_file(path, &text).ok()?;
    let envelopes: Vec<Envelope> = match file {
        provenance::AttestationFile::Envelopes(e) => e.into_iter().map(|(_, e)| e).collect(),
        provenance::AttestationFile::Bundle(b) => {
            provenance::bundle_envelope(&b).into_iter().collect()
        }
    };
    let mut out = Vec::new();
    for env in envelopes {
        let payload = env.payload_bytes().ok()?;
        out.extend(names(serde_json::from_slice(&payload).ok()?));
    }
    Some(out)
}

/// Refuse to replace a file that attests other artifacts: when an attestation already at one of
/// `files` names subjects and none of them is among `unit`'s, it belongs to something else
/// (another function's `bootstrap.zip`, say).
pub fn guard_overwrite(files: &[OutFile], unit: &Unit) -> Result<()> {
    for (path, _, _) in files {
        let Some(old) = existing_subjects(path) else {
            continue;
        };
        if old.is_empty()
            || old
                .iter()
                .any(|o| unit.subjects.iter().any(|s| &s.name == o))
        {
            continue;
        }
        return Err(InputError::at(
            path,
            None,
            None,
            format!(
                "already attests other artifacts ({}), not {}: pass --name (or --output) to keep \
                 both, or remove the file if it is obsolete",
                old.join(", "),
                unit.subjects
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .into());
    }
    Ok(())
}

/// The files of one unit: its statements signed (or not) as `signer` says.
pub fn signed_files(
    signer: &Signer<'_>,
    out_dir: &Path,
    name: &str,
    statements: &[(&str, Statement)],
) -> Result<Vec<OutFile>> {
    let suffix = |kind: &str| if kind == "provenance" { "" } else { ".sbom" };
    let mut files: Vec<OutFile> = Vec::new();
    match signer {
        Signer::Unsigned => {
            for (kind, st) in statements {
                let mut bytes = serde_json::to_vec_pretty(st)?;
                bytes.push(b'\n');
                files.push((
                    out_dir.join(format!("{name}{}.statement.json", suffix(kind))),
                    bytes,
                    format!("unsigned in-toto statement ({kind})"),
                ));
            }
        }
        Signer::Key(key) => {
            let mut jsonl = String::new();
            for (kind, st) in statements {
                let env = Envelope::sign(key, PAYLOAD_TYPE, &st.to_bytes()?)?;
                jsonl.push_str(&env.to_line()?);
                jsonl.push('\n');
                let bundle = provenance::key_bundle(&env, &key.public().key_id())?;
                let mut b = bundle
                    .to_json_pretty()
                    .map_err(|e| anyhow!("serialising the bundle: {e}"))?
                    .into_bytes();
                b.push(b'\n');
                files.push((
                    out_dir.join(format!("{name}{}.sigstore.json", suffix(kind))),
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
        Signer::Keyless(session) => {
            let signed = session.sign(statements)?;
            let mut jsonl = String::new();
            for ((kind, _), (env, bundle_json)) in statements.iter().zip(signed) {
                jsonl.push_str(&env.to_line()?);
                jsonl.push('\n');
                files.push((
                    out_dir.join(format!("{name}{}.sigstore.json", suffix(kind))),
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
    Ok(files)
}

/// Write every file of the run: each to a temporary file beside it first, then all renamed
/// into place, so a failure leaves every old file as it was.
pub fn write_all(files: &[OutFile]) -> Result<()> {
    for (path, _, _) in files {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| anyhow!("creating {}: {e}", dir.display()))?;
        }
    }
    let refs: Vec<(&Path, &[u8])> = files
        .iter()
        .map(|(p, b, _)| (p.as_path(), b.as_slice()))
        .collect();
    crate::fsx::write_all_atomic(&refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(path: &str) -> Subject {
        Subject {
            name: Path::new(path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path: PathBuf::from(path),
            sha256: "00".repeat(32),
        }
    }

    #[test]
    fn lambda_zips_are_named_after_their_function() {
        let root = Path::new("/ws");
        let n = |s: &[Subject]| default_name(None, None, s, root).expect("name");
        assert_eq!(
            n(&[subject("/ws/target/lambda/orders/bootstrap.zip")]),
            "orders"
        );
        assert_eq!(
            n(&[subject("/ws/target/lambda/orders/bootstrap")]),
            "orders"
        );
        assert_eq!(n(&[subject("/ws/dist/app.tar.gz")]), "app.tar.gz");
        assert_eq!(
            n(&[
                subject("/ws/a/bootstrap.zip"),
                subject("/ws/b/bootstrap.zip")
            ]),
            "ws"
        );
        let names = subject_names(
            &[
                PathBuf::from("/ws/target/lambda/a/bootstrap.zip"),
                PathBuf::from("/ws/target/lambda/b/bootstrap.zip"),
                PathBuf::from("/ws/README"),
            ],
            root,
        );
        assert_eq!(
            names,
            [
                "target/lambda/a/bootstrap.zip",
                "target/lambda/b/bootstrap.zip",
                "README"
            ]
        );
    }
}
