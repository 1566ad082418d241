//! Keyless signing through sigstore-rust's `sigstore-sign`: an OIDC identity token (the
//! `SIGSTORE_ID_TOKEN` variable, or GitHub Actions' token requested with audience `sigstore`)
//! → an ephemeral key and a Fulcio certificate for it → the DSSE envelope signed and logged in
//! Rekor → a bundle v0.3 with the certificate and the log entry.
//!
//! The token source is checked before anything is built ([`preflight`]); the token itself is
//! fetched just before signing ([`Session::open`]), since GitHub's tokens are short-lived and a
//! build can be long. The Actions request variables come from [`crate::secrets`] (they are no
//! longer in the environment), so the request is made here rather than by `ambient-id`.
//!
//! Tokens are secrets: never printed; errors say only which source failed.

use anyhow::{Result, anyhow};
use base64::Engine as _;
use sigstore_sign::oidc::IdentityToken;
use sigstore_sign::{SigningContext, SigningServices, SigstoreInstance};

use crate::cli::AttestArgs;
use crate::provenance::{self, Envelope, Statement};
use crate::secrets;

/// Where the identity token will come from.
#[derive(Debug)]
pub enum TokenSource {
    /// `SIGSTORE_ID_TOKEN` (already parsed and not expired).
    Given,
    /// The GitHub Actions token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL` and `_TOKEN`).
    Actions,
}

/// Check, before building, that a token can be had: `SIGSTORE_ID_TOKEN` parses and has not
/// expired, or the Actions request variables are both set.
pub fn preflight() -> Result<TokenSource> {
    if let Some(jwt) = secrets::get("SIGSTORE_ID_TOKEN") {
        let t = IdentityToken::from_jwt(jwt.trim())
            .map_err(|_| anyhow!("SIGSTORE_ID_TOKEN is not a valid OIDC identity token (JWT)"))?;
        if t.is_expired() {
            return Err(anyhow!(
                "SIGSTORE_ID_TOKEN has expired: get a fresh token and run again"
            ));
        }
        return Ok(TokenSource::Given);
    }
    match (
        secrets::is_set("ACTIONS_ID_TOKEN_REQUEST_URL"),
        secrets::is_set("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) {
        (true, true) => Ok(TokenSource::Actions),
        (false, false) => Err(anyhow!(
            "--keyless needs an OIDC identity token: run in GitHub Actions with `permissions: \
             id-token: write`, or set SIGSTORE_ID_TOKEN"
        )),
        _ => Err(anyhow!(
            "--keyless: only one of ACTIONS_ID_TOKEN_REQUEST_URL and \
             ACTIONS_ID_TOKEN_REQUEST_TOKEN is set (is `permissions: id-token: write` set?)"
        )),
    }
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    value: String,
}

async fn fetch(source: &TokenSource) -> Result<IdentityToken> {
    match source {
        TokenSource::Given => {
            let jwt = secrets::get("SIGSTORE_ID_TOKEN")
                .ok_or_else(|| anyhow!("SIGSTORE_ID_TOKEN disappeared"))?;
            IdentityToken::from_jwt(jwt.trim())
                .map_err(|_| anyhow!("SIGSTORE_ID_TOKEN is not a valid OIDC identity token (JWT)"))
        }
        TokenSource::Actions => {
            let url = secrets::get("ACTIONS_ID_TOKEN_REQUEST_URL").unwrap_or_default();
            let bearer = secrets::get("ACTIONS_ID_TOKEN_REQUEST_TOKEN").unwrap_or_default();
            let fail = |what: &str| {
                anyhow!(
                    "--keyless could not get the GitHub Actions identity token ({what}; is \
                     `permissions: id-token: write` set?)"
                )
            };
            let resp = reqwest::Client::new()
                .get(url.trim())
                .bearer_auth(bearer.trim())
                .query(&[("audience", "sigstore")])
                .timeout(std::time::Duration::from_secs(30))
                .send()
                .await
                .map_err(|e| fail(&format!("request failed: {}", e.without_url())))?;
            let status = resp.status();
            if !status.is_success() {
                return Err(fail(&format!("the endpoint answered {status}")));
            }
            let body: TokenResponse = resp
                .json()
                .await
                .map_err(|_| fail("the answer is not a token response"))?;
            IdentityToken::from_jwt(body.value.trim()).map_err(|_| fail("the answer is not a JWT"))
        }
    }
}

/// A claim of the token (parsed, not authenticated: Fulcio authenticates the token, and the
/// certificate it issues is what `verify` checks).
fn claim(token: &IdentityToken, name: &str) -> Option<String> {
    let payload = token.expose_secret().split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get(name)?.as_str().map(str::to_string)
}

/// A token in hand, ready to sign.
pub struct Session {
    rt: tokio::runtime::Runtime,
    token: IdentityToken,
    services: SigningServices,
}

impl Session {
    /// Fetch the token from `source` and choose the services (`--fulcio-url`, `--rekor-url`, or
    /// the public-good instance).
    pub fn open(args: &AttestArgs, source: &TokenSource) -> Result<Session> {
        let services = match (&args.fulcio_url, &args.rekor_url) {
            (Some(f), Some(r)) => SigningServices::new(f.clone(), r.clone()),
            (f, r) => {
                let mut s =
                    SigningServices::from_embedded(SigstoreInstance::PublicGood).map_err(|e| {
                        anyhow!("the public-good Sigstore configuration is unusable: {e}")
                    })?;
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
        let token = rt.block_on(fetch(source))?;
        Ok(Session {
            rt,
            token,
            services,
        })
    }

    /// The identity of the workflow job that signs, as Fulcio records it in the certificate's
    /// Build Signer URI: `SERVER/` + the token's `job_workflow_ref` (for a reusable workflow,
    /// the reusable workflow itself, not its caller).
    pub fn workflow_identity(&self, server: &str) -> Option<String> {
        claim(&self.token, "job_workflow_ref")
            .filter(|r| !r.is_empty())
            .map(|r| format!("{}/{r}", server.trim_end_matches('/')))
    }

    /// Sign every statement; for each, the envelope and the bundle's JSON bytes.
    pub fn sign(&self, statements: &[(&str, Statement)]) -> Result<Vec<(Envelope, Vec<u8>)>> {
        let signer = SigningContext::new(self.services.clone()).signer(self.token.clone());
        self.rt.block_on(async {
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
}
