//! Keyless signing through sigstore-rust's `sigstore-sign`: an OIDC identity token (the
//! `SIGSTORE_ID_TOKEN` variable, or GitHub Actions' token requested with audience `sigstore`)
//! → an ephemeral key and a Fulcio certificate for it → the DSSE envelope signed and logged in
//! Rekor (v1: a `dsse` entry with a signed entry timestamp; v2: a `hashedrekord` entry with an
//! inclusion proof and checkpoint) → an RFC 3161 timestamp when a TSA is in use → a bundle v0.3.
//!
//! The services are chosen the way Sigstore clients choose them: from the signing config the
//! TUF repository delivers (see [`crate::provenance::trust`]), or a `--signing-config` file,
//! with `--fulcio-url`/`--rekor-url`/`--tsa-url` overriding one service each. All of that — the
//! token source, the trust material, that each service answers at all — is settled in
//! [`preflight`], before the build; the token itself is fetched just before signing
//! ([`Session::open`]), since GitHub's tokens are short-lived and a build can be long. Every
//! bundle is then verified against the trusted root before anything is written, so a service
//! that answers with something unverifiable fails the run instead of publishing it.
//!
//! The Actions request variables come from [`crate::secrets`] (they are no longer in the
//! environment), so the request is made here rather than by `ambient-id`. Tokens are secrets:
//! never printed; errors say only which source failed.

use anyhow::{Result, anyhow};
use base64::Engine as _;
use sigstore_sign::oidc::IdentityToken;
use sigstore_sign::rekor::RekorApiVersion;
use sigstore_sign::{SigningContext, SigningServices};
use sigstore_verify::trust_root::TrustedRoot;

use crate::cli::AttestArgs;
use crate::ctx::Ctx;
use crate::provenance::{self, Envelope, Statement, trust};
use crate::secrets;

/// Where the identity token will come from.
#[derive(Debug)]
pub enum TokenSource {
    /// `SIGSTORE_ID_TOKEN` (already parsed and not expired).
    Given,
    /// The GitHub Actions token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL` and `_TOKEN`).
    Actions,
}

/// Everything keyless signing needs except the token, settled before the build.
pub struct Plan {
    source: TokenSource,
    services: SigningServices,
    /// What the bundles must verify against (None: explicit services and no trust given).
    root: Option<TrustedRoot>,
    /// Where the trust material came from, and which services sign.
    pub notes: Vec<String>,
}

/// Check, before building, that a token can be had (`SIGSTORE_ID_TOKEN` parses and has not
/// expired, or the Actions request variables are both set), load the trust material, choose
/// the services, and make sure each of them answers.
pub fn preflight(ctx: &Ctx, args: &AttestArgs) -> Result<Plan> {
    let source = token_source()?;
    let explicit = args.fulcio_url.is_some()
        && args.rekor_url.is_some()
        && args.signing_config.is_none()
        && args.rekor_version.is_none();
    let mut notes = Vec::new();
    let (services, root) = if explicit {
        // Every service named on the command line: the signing config is not needed; the trusted
        // root only when given (a file or a TUF repository).
        let mut s = SigningServices::new(
            args.fulcio_url.clone().unwrap_or_default(),
            args.rekor_url.clone().unwrap_or_default(),
        );
        if let Some(t) = &args.tsa_url {
            s = s.with_tsa_url(t.clone());
        }
        let root = if args.trust.trusted_root.is_some() || args.trust.tuf_url.is_some() {
            let m = trust::load(ctx, &args.trust, None, false)?;
            notes.push(format!("keyless: trusting the {}", m.origin));
            Some(m.root)
        } else {
            notes.push(
                "keyless: services given on the command line and no --trusted-root: the bundles \
                 are not checked against a trusted root before they are written"
                    .into(),
            );
            None
        };
        (s, root)
    } else {
        let m = trust::load(ctx, &args.trust, args.signing_config.as_deref(), true)?;
        notes.push(format!("keyless: trusting the {}", m.origin));
        let config = m
            .signing_config
            .as_ref()
            .ok_or_else(|| anyhow!("no signing config"))?;
        (services_from(config, args)?, Some(m.root))
    };
    services
        .validate()
        .map_err(|e| anyhow!("--keyless cannot sign with these services: {e}"))?;
    notes.push(format!(
        "keyless: Fulcio {}, Rekor v{} {}{}",
        services.fulcio_url(),
        services.rekor_api_version().major(),
        services.rekor_url(),
        services
            .tsa_url()
            .map(|t| format!(", timestamp authority {t}"))
            .unwrap_or_default()
    ));
    probe(&services)?;
    Ok(Plan {
        source,
        services,
        root,
        notes,
    })
}

/// The services a signing config names (the newest Rekor, or `--rekor-version`), with the
/// command line's overrides.
fn services_from(
    config: &sigstore_sign::trust_root::SigningConfig,
    args: &AttestArgs,
) -> Result<SigningServices> {
    let force = match args.rekor_version {
        Some(1) => Some(RekorApiVersion::V1),
        Some(2) => Some(RekorApiVersion::V2),
        _ => None,
    };
    let bad = |e: sigstore_sign::Error| anyhow!("the signing config cannot be used: {e}");
    let mut s = if config.tsa_urls.is_empty() {
        // No timestamp authority: sigstore-sign's selection insists on one (Rekor v2 needs it),
        // but a Rekor v1 log's signed entry timestamp is a verified time of its own.
        let fulcio = config
            .fulcio_url()
            .ok_or_else(|| anyhow!("the signing config names no Fulcio"))?;
        let rekor = config
            .rekor_url(force.map(RekorApiVersion::major))
            .ok_or_else(|| anyhow!("the signing config names no usable Rekor log"))?;
        let version = RekorApiVersion::from_major(rekor.major_api_version).ok_or_else(|| {
            anyhow!(
                "the signing config's Rekor speaks API v{}, which is not supported",
                rekor.major_api_version
            )
        })?;
        SigningServices::new(fulcio.url.clone(), rekor.url.clone())
            .with_rekor(rekor.url.clone(), version)
    } else {
        SigningServices::from_signing_config_with_rekor_version(config, force).map_err(bad)?
    };
    if let Some(f) = &args.fulcio_url {
        let (r, v) = (s.rekor_url().to_string(), s.rekor_api_version());
        let tsa = s.tsa_url().map(str::to_string);
        s = SigningServices::new(f.clone(), r.clone()).with_rekor(r, v);
        if let Some(t) = tsa {
            s = s.with_tsa_url(t);
        }
    }
    if let Some(r) = &args.rekor_url {
        s = s.with_rekor(r.clone(), RekorApiVersion::V1);
    }
    if let Some(t) = &args.tsa_url {
        s = s.with_tsa_url(t.clone());
    }
    Ok(s)
}

/// Each service must answer (any HTTP status): a signing config naming a service that is down
/// or mistyped fails now, not after the build.
fn probe(services: &SigningServices) -> Result<()> {
    let rt = crate::async_runtime()?;
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .map_err(|e| anyhow!("cannot build an HTTP client: {e}"))?;
    let mut targets = vec![
        ("Fulcio", services.fulcio_url().to_string()),
        ("Rekor", services.rekor_url().to_string()),
    ];
    if let Some(t) = services.tsa_url() {
        targets.push(("the timestamp authority", t.to_string()));
    }
    rt.block_on(async {
        for (what, url) in targets {
            if let Err(e) = client.get(&url).send().await {
                return Err(anyhow!(
                    "--keyless: {what} at {url} cannot be reached ({}); nothing was built or \
                     signed",
                    e.without_url()
                ));
            }
        }
        Ok(())
    })
}

fn token_source() -> Result<TokenSource> {
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
    root: Option<TrustedRoot>,
}

impl Session {
    /// Fetch the token the plan's source gives.
    pub fn open(plan: &Plan) -> Result<Session> {
        let rt = crate::async_runtime()?;
        let token = rt.block_on(fetch(&plan.source))?;
        Ok(Session {
            rt,
            token,
            services: plan.services.clone(),
            root: plan.root.clone(),
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

    /// Sign every statement; for each, the envelope and the bundle's JSON bytes. Each bundle is
    /// verified against the trusted root (when there is one) before it is returned.
    pub fn sign(&self, statements: &[(&str, Statement)]) -> Result<Vec<(Envelope, Vec<u8>)>> {
        let signer = SigningContext::new(self.services.clone()).signer(self.token.clone());
        let verifier = match &self.root {
            Some(root) => Some(
                sigstore_verify::Verifier::new(root)
                    .map_err(|e| anyhow!("the trusted root cannot verify bundles: {e}"))?,
            ),
            None => None,
        };
        self.rt.block_on(async {
            let mut out = Vec::new();
            for (kind, st) in statements {
                let bytes = st.to_bytes()?;
                let bundle = signer
                    .sign_raw_statement(&bytes)
                    .await
                    .map_err(|e| signing_failed(kind, &self.services, e))?;
                if let Some(v) = &verifier {
                    let digest = st
                        .subject
                        .iter()
                        .find_map(|s| s.digest.get("sha256"))
                        .ok_or_else(|| anyhow!("the {kind} statement has no sha256 subject"))?;
                    let digest = sigstore_verify::types::Sha256Hash::from_hex(digest)
                        .map_err(|e| anyhow!("bad subject digest: {e}"))?;
                    v.verify(
                        digest,
                        &bundle,
                        &sigstore_verify::VerificationPolicy::any_identity(),
                    )
                    .map_err(|e| {
                        anyhow!(
                            "the {kind} bundle the Sigstore services returned does not verify \
                             against the trusted root: {e}; nothing was written"
                        )
                    })?;
                }
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

/// Say which service failed and what it means; nothing has been written when this is returned.
fn signing_failed(
    kind: &str,
    services: &SigningServices,
    e: sigstore_sign::Error,
) -> anyhow::Error {
    use sigstore_sign::Error as E;
    use sigstore_sign::rekor::Error as R;
    let what = match &e {
        E::Rekor(R::Status { status: 409, .. }) => format!(
            "Rekor at {} already holds this entry (409 Conflict): the same signature was logged \
             before; sign again (a fresh key makes a new entry)",
            services.rekor_url()
        ),
        E::Rekor(_) => format!("Rekor at {} failed: {e}", services.rekor_url()),
        E::Fulcio(_) => format!("Fulcio at {} failed: {e}", services.fulcio_url()),
        E::Tsa(_) => format!(
            "the timestamp authority at {} failed: {e}",
            services.tsa_url().unwrap_or("?")
        ),
        _ => e.to_string(),
    };
    anyhow!("keyless signing of the {kind} statement failed: {what}; nothing was written")
}
