//! Keyless signing through sigstore-rust's `sigstore-sign`: an OIDC identity token (the
//! `SIGSTORE_ID_TOKEN` environment variable, or the ambient GitHub Actions token requested with
//! audience `sigstore`) → an ephemeral key and a Fulcio certificate for it → the DSSE envelope
//! signed and logged in Rekor → a bundle v0.3 with the certificate and the log entry.
//!
//! The token is a secret: it is never printed, and errors mention only which source failed.

use anyhow::{Result, anyhow};
use sigstore_sign::oidc::IdentityToken;
use sigstore_sign::{SigningContext, SigningServices, SigstoreInstance};

use crate::cli::AttestArgs;
use crate::provenance::{self, Envelope, Statement};

async fn token() -> Result<IdentityToken> {
    if let Ok(jwt) = std::env::var("SIGSTORE_ID_TOKEN")
        && !jwt.trim().is_empty()
    {
        return IdentityToken::from_jwt(jwt.trim())
            .map_err(|_| anyhow!("SIGSTORE_ID_TOKEN is not a valid OIDC identity token (JWT)"));
    }
    match IdentityToken::detect_ambient().await {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(anyhow!(
            "--keyless needs an OIDC identity token: run in GitHub Actions with `permissions: \
             id-token: write`, or set SIGSTORE_ID_TOKEN"
        )),
        Err(e) => Err(anyhow!(
            "--keyless could not get the GitHub Actions identity token (is `permissions: \
             id-token: write` set?): {e}"
        )),
    }
}

/// Sign every statement keylessly; for each, the envelope and the bundle's JSON bytes.
pub fn sign(
    args: &AttestArgs,
    statements: &[(&str, Statement)],
) -> Result<Vec<(Envelope, Vec<u8>)>> {
    let services = match (&args.fulcio_url, &args.rekor_url) {
        (Some(f), Some(r)) => SigningServices::new(f.clone(), r.clone()),
        (f, r) => {
            let mut s = SigningServices::from_embedded(SigstoreInstance::PublicGood)
                .map_err(|e| anyhow!("the public-good Sigstore configuration is unusable: {e}"))?;
            if f.is_some() || r.is_some() {
                s = SigningServices::new(
                    f.clone().unwrap_or_else(|| s.fulcio_url().to_string()),
                    r.clone().unwrap_or_else(|| s.rekor_url().to_string()),
                );
            }
            s
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow!("cannot start the async runtime: {e}"))?;
    rt.block_on(async {
        let token = token().await?;
        let signer = SigningContext::new(services).signer(token);
        let mut out = Vec::new();
        for (kind, st) in statements {
            let bundle = signer
                .sign_raw_statement(&st.to_bytes()?)
                .await
                .map_err(|e| anyhow!("keyless signing of the {kind} statement failed: {e}"))?;
            let env = provenance::bundle_envelope(&bundle)
                .ok_or_else(|| anyhow!("the signed bundle holds no DSSE envelope"))?;
            let mut json = bundle
                .to_json_pretty()
                .map_err(|e| anyhow!("serialising the bundle: {e}"))?
                .into_bytes();
            json.push(b'\n');
            out.push((env, json));
        }
        Ok(out)
    })
}
