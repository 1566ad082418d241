//! How `attest` signs: with a key, keylessly (Sigstore, see [`super::keyless`]), or not at
//! all — decided from the flags, with what can be checked before the build checked at once.

use anyhow::{Result, bail};

use super::keyless;
use crate::Ctx;
use crate::cli::AttestArgs;
use crate::provenance::{self, PrivateKey};

/// How the statement gets signed.
pub(super) enum Signing {
    Key(PrivateKey),
    Keyless(Box<keyless::Plan>),
    Unsigned,
}

impl Signing {
    /// Decide from the flags, checking what can be checked now: the key parses, the keyless
    /// token source exists. A process that will hold a key or a token is made non-dumpable at
    /// once (see [`crate::secrets`]).
    pub(super) fn choose(ctx: &Ctx, args: &AttestArgs) -> Result<Signing> {
        let signing = if args.unsigned {
            Signing::Unsigned
        } else if !args.keyless && trust_flags(args) {
            bail!(
                "--trusted-root, --tuf-url, --tuf-root and --tuf-offline are for --keyless \
                 (signing with a key trusts no Sigstore instance)"
            );
        } else if args.keyless {
            Signing::Keyless(Box::new(keyless::preflight(ctx, args)?))
        } else {
            match provenance::keys::load_signing_key(args.key.as_deref())? {
                Some(k) => Signing::Key(k),
                None => bail!(
                    "no signing key: pass --key FILE, set SLSA_SIGNING_KEY to the PEM text, use \
                     --keyless (GitHub Actions with id-token: write), or --unsigned"
                ),
            }
        };
        if !matches!(signing, Signing::Unsigned) {
            crate::secrets::protect_process()?;
        }
        Ok(signing)
    }
}

fn trust_flags(args: &AttestArgs) -> bool {
    let t = &args.trust;
    t.trusted_root.is_some() || t.tuf_url.is_some() || t.tuf_root.is_some() || t.tuf_offline
}

impl Signing {
    /// What the report should say about how signing was set up.
    pub(super) fn notes(&self) -> Vec<String> {
        match self {
            Signing::Keyless(plan) => plan.notes.clone(),
            _ => Vec::new(),
        }
    }
}
