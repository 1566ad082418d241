//! `cargo slsa keygen`: a new ECDSA P-256 key pair, written so that no half pair and no
//! silently replaced key can result, with a warning when the private key lands where git
//! would pick it up.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::json;

use super::AttestCode;
use crate::Ctx;
use crate::cli::KeygenArgs;
use crate::error::InputError;
use crate::fsx;
use crate::provenance::PrivateKey;
use crate::report::{Change, Finding, Report};

/// Whether `path` is inside a git work tree that does not ignore it: `Some(top)` then.
fn unignored_in_work_tree(path: &Path) -> Option<PathBuf> {
    let dir = path.parent()?;
    let git = |args: &[&std::ffi::OsStr]| {
        crate::build::scrub(&mut std::process::Command::new("git"))
            .args(args)
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
    };
    let top = git(&["rev-parse".as_ref(), "--show-toplevel".as_ref()])?;
    if !top.status.success() {
        return None;
    }
    let ignored = git(&[
        "check-ignore".as_ref(),
        "-q".as_ref(),
        "--no-index".as_ref(),
        path.as_os_str(),
    ])?;
    // check-ignore: 0 ignored, 1 not ignored, 128 error.
    (ignored.status.code() == Some(1))
        .then(|| PathBuf::from(String::from_utf8_lossy(&top.stdout).trim()))
}

/// Run `cargo slsa keygen`.
pub fn keygen(ctx: &Ctx, args: &KeygenArgs) -> Result<Report> {
    let given = args.output_prefix.as_os_str().to_string_lossy();
    let prefix = if args.output_prefix.is_absolute() {
        args.output_prefix.clone()
    } else {
        ctx.cwd.join(&args.output_prefix)
    };
    if given.is_empty()
        || given.ends_with('/')
        || given.ends_with(std::path::MAIN_SEPARATOR)
        || prefix.is_dir()
    {
        return Err(InputError::at(
            &prefix,
            None,
            None,
            "--output-prefix names a directory: give a file prefix such as release/slsa (which \
             writes release/slsa.key and release/slsa.pub)",
        )
        .into());
    }
    let with_ext = |ext: &str| {
        let mut s = prefix.as_os_str().to_owned();
        s.push(ext);
        PathBuf::from(s)
    };
    let (key_path, pub_path) = (with_ext(".key"), with_ext(".pub"));
    // Any directory entry counts as existing, a dangling link included: writing the public
    // key and then failing on the private one would leave half a pair.
    let present = |p: &Path| std::fs::symlink_metadata(p).is_ok();
    if !args.force {
        for p in [&key_path, &pub_path] {
            if present(p) {
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
    for p in [&key_path, &pub_path] {
        if p.is_dir() {
            return Err(
                InputError::at(p, None, None, "is a directory: a key cannot replace it").into(),
            );
        }
    }
    if let Some(dir) = key_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let key = PrivateKey::generate()?;
    // The public key first: if the private key cannot be written, no pair exists that could be
    // mistaken for a new one (and a public key this run created is removed again). Without
    // --force neither replaces an existing file (the rename is no-clobber: no race).
    let old_pub = std::fs::read(&pub_path).ok();
    fsx::write_new_or_replace(
        &pub_path,
        key.public().to_pem().as_bytes(),
        false,
        args.force,
    )?;
    if let Err(e) = fsx::write_new_or_replace(&key_path, key.to_pem().as_bytes(), true, args.force)
    {
        // Put the pair back as it was: the old public key, or none.
        match &old_pub {
            Some(bytes) => {
                let _ = fsx::write_new_or_replace(&pub_path, bytes, false, true);
            }
            None => {
                let _ = std::fs::remove_file(&pub_path);
            }
        }
        return Err(e);
    }
    let mut report = Report::new("keygen", AttestCode::rules());
    if let Some(top) = unignored_in_work_tree(&key_path) {
        report.findings.push(
            Finding::new(
                AttestCode::KeyNotIgnored.rule(),
                format!(
                    "the private key is inside the git work tree {} and not ignored: a `git add \
                     -A` would commit it",
                    top.display()
                ),
            )
            .at(&key_path, None, None)
            .with_fix("add it to .gitignore, or keep keys outside the repository"),
        );
    }
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
