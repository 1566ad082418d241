//! `FakeSigstore`: loopback stand-ins for what keyless signing talks to — the GitHub Actions OIDC
//! token endpoint, Fulcio (`POST /api/v2/signingCert`), Rekor v1 (`POST /api/v1/log/entries`),
//! Rekor v2 (`POST /rekor2/api/v2/log/entries`, see [`rekor`]), an RFC 3161 timestamp authority
//! (`POST /tsa/api/v1/timestamp`, see [`tsa`]) and a TUF repository (`GET /tuf/…`, see [`tuf`])
//! — plus the `trusted_root.json` and `signing_config.v0.2.json` that name and trust them.
//!
//! The fakes do the real cryptography, written here independently of the client under test:
//! - Fulcio issues a P-256 leaf certificate from its CA with the code-signing EKU, the workflow
//!   identity as a URI SAN, Fulcio's OIDC-issuer and source-repository extensions, and an
//!   embedded SCT (RFC 6962 precertificate form) signed by a fake CT log;
//! - Rekor v1 logs a `dsse` v0.0.1 entry as leaf 0 of a one-leaf tree and answers with a signed
//!   entry timestamp over the canonical entry and an inclusion proof whose checkpoint (signed
//!   note) it signs; Rekor v2 appends a `hashedrekord` v0.0.2 entry to a many-leaf tree.
//!
//! Knobs let a test make the certificate carry another identity or source repository. The
//! server loop is bounded in requests and time, like the other fakes.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD};
use rcgen::{
    CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData, SanType, SerialNumber,
    SignatureAlgorithm, SigningKey,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tiny_http::{Header, Request, Response};

use crate::server::Loopback;

mod rekor;
pub mod tsa;
pub mod tuf;

/// The bearer token the OIDC endpoint expects (`ACTIONS_ID_TOKEN_REQUEST_TOKEN`).
pub const REQUEST_TOKEN: &str = "fake-actions-id-token-request-token";
/// The OIDC issuer the certificate records.
pub const ISSUER: &str = "https://token.actions.githubusercontent.com";
/// The workflow identity the certificate names by default.
pub const IDENTITY: &str =
    "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0";
/// The source repository the certificate names by default.
pub const REPOSITORY: &str = "https://github.com/acme/app";
/// The source ref the certificate names by default.
pub const REF: &str = "refs/tags/v1.0.0";

/// What the certificate says; tests change it to make a mismatching signer.
#[derive(Clone, Debug)]
pub struct Claims {
    pub identity: String,
    pub issuer: String,
    pub repository: String,
    pub git_ref: String,
}

impl Default for Claims {
    fn default() -> Claims {
        Claims {
            identity: IDENTITY.into(),
            issuer: ISSUER.into(),
            repository: REPOSITORY.into(),
            git_ref: REF.into(),
        }
    }
}

/// One request as the fakes saw it.
#[derive(Clone, Debug)]
pub struct SigstoreRequest {
    pub method: String,
    pub path: String,
    pub body: String,
}

struct Keys {
    ca: KeyPair,
    ca_params: CertificateParams,
    ca_der: Vec<u8>,
    ct: KeyPair,
    rekor: KeyPair,
    rekor2: KeyPair,
}

struct State {
    keys: Keys,
    claims: Claims,
    log: Vec<SigstoreRequest>,
    next_serial: u64,
    /// The Rekor v2 log's leaf hashes (preloaded with other entries).
    rekor2_leaves: Vec<[u8; 32]>,
    /// Both logs answer 409 Conflict (the entry already exists).
    conflict: bool,
    tsa: tsa::Tsa,
    /// The TSA answers with a rejection instead of a token.
    tsa_reject: bool,
    tuf: Option<tuf::TufRepo>,
}

pub struct FakeSigstore {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _server: Loopback,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn der_len(len: usize) -> Vec<u8> {
    if len < 0x80 {
        vec![len as u8]
    } else if len < 0x100 {
        vec![0x81, len as u8]
    } else {
        vec![0x82, (len >> 8) as u8, len as u8]
    }
}

/// DER `tag` + length + `content`.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(content.len()));
    out.extend_from_slice(content);
    out
}

fn utf8_string(s: &str) -> Vec<u8> {
    der(0x0c, s.as_bytes())
}

/// A P-256 public key given as SubjectPublicKeyInfo DER, for rcgen.
struct Spki(Vec<u8>);

impl PublicKeyData for Spki {
    fn der_bytes(&self) -> &[u8] {
        // The uncompressed point is the last 65 bytes of a P-256 SPKI.
        &self.0[self.0.len().saturating_sub(65)..]
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ECDSA_P256_SHA256
    }
}

fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>()
        .split_whitespace()
        .collect();
    B64.decode(b64).ok()
}

fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn spki(key: &KeyPair) -> Vec<u8> {
    key.subject_public_key_info()
}

fn fulcio_ext(arc: u64, value: Vec<u8>) -> CustomExtension {
    CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 57264, 1, arc], value)
}

const SCT_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2];

/// The DER TBSCertificate inside a certificate (first element of the outer SEQUENCE).
fn tbs_of(cert_der: &[u8]) -> Vec<u8> {
    use x509_cert::der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(cert_der).expect("rcgen made a parsable cert");
    cert.tbs_certificate.to_der().expect("re-encode the TBS")
}

impl Keys {
    fn new() -> Keys {
        let ca = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("CA key");
        let mut ca_params = CertificateParams::default();
        ca_params.distinguished_name = rcgen::DistinguishedName::new();
        ca_params
            .distinguished_name
            .push(DnType::OrganizationName, "slsa-tests");
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "fake fulcio root");
        ca_params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca_params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        ca_params.not_after = rcgen::date_time_ymd(2100, 1, 1);
        let ca_der = ca_params.self_signed(&ca).expect("CA cert").der().to_vec();
        Keys {
            ca,
            ca_params,
            ca_der,
            ct: KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("CT key"),
            rekor: KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("Rekor key"),
            rekor2: KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("Rekor v2 key"),
        }
    }

    /// Issue the leaf for `leaf_spki` with `claims`, an SCT embedded.
    fn issue(&self, leaf_spki: &[u8], claims: &Claims, serial: u64) -> Vec<u8> {
        let issued = now();
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.serial_number = Some(SerialNumber::from(serial.to_be_bytes().to_vec()));
        params.not_before =
            time::OffsetDateTime::from_unix_timestamp(issued - 60).expect("valid time");
        params.not_after =
            time::OffsetDateTime::from_unix_timestamp(issued + 600).expect("valid time");
        params.subject_alt_names = vec![SanType::URI(
            claims.identity.clone().try_into().expect("ASCII identity"),
        )];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        params.use_authority_key_identifier_extension = true;
        params.custom_extensions = vec![
            // OIDC issuer (v1: raw bytes; v2: UTF8String), source repo URI, ref.
            fulcio_ext(1, claims.issuer.as_bytes().to_vec()),
            fulcio_ext(8, utf8_string(&claims.issuer)),
            // Build Signer URI: the workflow that ran the signing job (for a reusable
            // workflow, itself — like the SAN and the token's job_workflow_ref).
            fulcio_ext(9, utf8_string(&claims.identity)),
            fulcio_ext(12, utf8_string(&claims.repository)),
            fulcio_ext(14, utf8_string(&claims.git_ref)),
        ];
        let issuer = Issuer::from_params(&self.ca_params, &self.ca);
        let leaf_key = Spki(leaf_spki.to_vec());
        // The precertificate TBS: the final certificate minus the SCT extension.
        let pre = params.signed_by(&leaf_key, &issuer).expect("precert");
        let tbs = tbs_of(pre.der());
        let timestamp_ms = (issued as u64) * 1000;
        let issuer_key_hash = Sha256::digest(spki(&self.ca));
        let mut signed = vec![0u8, 0u8]; // v1, certificate_timestamp
        signed.extend(timestamp_ms.to_be_bytes());
        signed.extend([0u8, 1u8]); // precert_entry
        signed.extend_from_slice(&issuer_key_hash);
        let l = tbs.len();
        signed.extend([(l >> 16) as u8, (l >> 8) as u8, l as u8]);
        signed.extend(&tbs);
        signed.extend([0u8, 0u8]); // no extensions
        let sig = self.ct.sign(&signed).expect("SCT signature");
        let log_id = Sha256::digest(spki(&self.ct));
        let mut sct = vec![0u8];
        sct.extend_from_slice(&log_id);
        sct.extend(timestamp_ms.to_be_bytes());
        sct.extend([0u8, 0u8]);
        sct.extend([4u8, 3u8]); // sha256, ecdsa
        sct.extend((sig.len() as u16).to_be_bytes());
        sct.extend(&sig);
        let mut list = (sct.len() as u16).to_be_bytes().to_vec();
        list.extend(&sct);
        let mut tls = (list.len() as u16).to_be_bytes().to_vec();
        tls.extend(&list);
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(SCT_OID, der(0x04, &tls)));
        let cert = params.signed_by(&leaf_key, &issuer).expect("leaf cert");
        assert_eq!(
            {
                // The verifier rebuilds the precert TBS by dropping the SCT extension; make sure
                // rcgen's encoding allows that, so a failure here is the fake's, not the client's.
                use x509_cert::der::{Decode, Encode};
                let mut c = x509_cert::Certificate::from_der(cert.der()).expect("parse leaf");
                c.tbs_certificate.extensions = c.tbs_certificate.extensions.map(|e| {
                    e.into_iter()
                        .filter(|x| x.extn_id.to_string() != "1.3.6.1.4.1.11129.2.4.2")
                        .collect()
                });
                c.tbs_certificate.to_der().expect("encode")
            },
            tbs,
            "precertificate TBS must equal the leaf TBS minus the SCT"
        );
        cert.der().to_vec()
    }
}

impl FakeSigstore {
    pub fn start() -> FakeSigstore {
        let state = Arc::new(Mutex::new(State {
            keys: Keys::new(),
            claims: Claims::default(),
            log: Vec::new(),
            next_serial: 1,
            rekor2_leaves: (0..rekor::REKOR2_PRELOADED)
                .map(|i| rekor::leaf_hash(format!("an earlier entry {i}").as_bytes()))
                .collect(),
            conflict: false,
            tsa: tsa::Tsa::new(),
            tsa_reject: false,
            tuf: None,
        }));
        let server = {
            let state = Arc::clone(&state);
            Loopback::start("slsa-tests-sigstore", move |request, addr| {
                respond(request, addr, &state)
            })
        };
        FakeSigstore {
            addr: server.addr(),
            state,
            _server: server,
        }
    }

    /// `http://127.0.0.1:PORT` (Fulcio and Rekor both live here).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_URL`.
    pub fn token_request_url(&self) -> String {
        format!("http://{}/oidc/token?api-version=2.0", self.addr)
    }

    /// What the next certificates say.
    pub fn set_claims(&self, claims: Claims) {
        self.state.lock().expect("state").claims = claims;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<SigstoreRequest> {
        self.state.lock().expect("state").log.clone()
    }

    /// The Rekor v2 log's base URL.
    pub fn rekor2_url(&self) -> String {
        format!("http://{}/rekor2", self.addr)
    }

    /// The timestamp authority's endpoint (what a signing config names).
    pub fn tsa_url(&self) -> String {
        format!("http://{}/tsa/api/v1/timestamp", self.addr)
    }

    /// The TUF repository's base URL (serving what [`FakeSigstore::publish_tuf`] published).
    pub fn tuf_url(&self) -> String {
        format!("http://{}/tuf", self.addr)
    }

    /// Make both logs answer 409 Conflict, as Rekor does for an entry it already holds.
    pub fn set_conflict(&self, on: bool) {
        self.state.lock().expect("state").conflict = on;
    }

    /// Make the TSA stamp `secs` away from the current time (negative: backdated).
    pub fn set_tsa_skew(&self, secs: i64) {
        self.state.lock().expect("state").tsa.set_skew(secs);
    }

    /// Make the TSA answer with a rejection status instead of a token.
    pub fn set_tsa_reject(&self, on: bool) {
        self.state.lock().expect("state").tsa_reject = on;
    }

    /// A `signing_config.v0.2.json` naming this fake's Fulcio, one Rekor (v1 or v2), and the
    /// TSA when `tsa` is true.
    pub fn signing_config(&self, rekor_v2: bool, tsa: bool) -> String {
        let endpoint = |url: String, major: u32| {
            json!({"url": url, "majorApiVersion": major, "operator": "slsa-tests",
                   "validFor": {"start": "2020-01-01T00:00:00Z"}})
        };
        let rekor = if rekor_v2 {
            endpoint(self.rekor2_url(), 2)
        } else {
            endpoint(self.url(), 1)
        };
        let tsa_urls = if tsa {
            vec![endpoint(self.tsa_url(), 1)]
        } else {
            vec![]
        };
        let doc = json!({
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [endpoint(self.url(), 1)],
            "oidcUrls": [],
            "rekorTlogUrls": [rekor],
            "tsaUrls": tsa_urls,
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        });
        serde_json::to_string_pretty(&doc).expect("json")
    }

    /// Publish `trusted_root.json` and `signing_config` (as `signing_config.v0.2.json`) in the
    /// TUF repository (a new one the first time, new versions after); returns the repository's
    /// `1.root.json`, the root a client bootstraps from.
    pub fn publish_tuf(&self, signing_config: &str) -> Vec<u8> {
        let root = self.trusted_root().into_bytes();
        let mut st = self.state.lock().expect("state");
        let targets = [
            ("trusted_root.json", root),
            (
                "signing_config.v0.2.json",
                signing_config.as_bytes().to_vec(),
            ),
        ];
        match &mut st.tuf {
            Some(repo) => repo.set_targets(&targets),
            None => st.tuf = Some(tuf::TufRepo::new(&targets)),
        }
        st.tuf.as_ref().map(|r| r.root_json()).unwrap_or_default()
    }

    /// Change the TUF repository in place: `f` gets it (after [`FakeSigstore::publish_tuf`]).
    pub fn with_tuf(&self, f: impl FnOnce(&mut tuf::TufRepo)) {
        if let Some(repo) = self.state.lock().expect("state").tuf.as_mut() {
            f(repo);
        }
    }

    /// A `trusted_root.json` trusting this fake's CA, CT log, both Rekor logs and the TSA.
    pub fn trusted_root(&self) -> String {
        let st = self.state.lock().expect("state");
        let key = |k: &KeyPair| {
            let der = spki(k);
            json!({
                "rawBytes": B64.encode(&der),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": "2020-01-01T00:00:00Z"},
            })
        };
        let log_id = |k: &KeyPair| json!({"keyId": B64.encode(Sha256::digest(spki(k)))});
        let doc = json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [{
                "baseUrl": self.url(),
                "hashAlgorithm": "SHA2_256",
                "publicKey": key(&st.keys.rekor),
                "logId": log_id(&st.keys.rekor),
            }, {
                "baseUrl": self.rekor2_url(),
                "hashAlgorithm": "SHA2_256",
                "publicKey": key(&st.keys.rekor2),
                "logId": {"keyId": B64.encode(rekor::rekor2_key_id(&st.keys.rekor2, self.addr))},
            }],
            "certificateAuthorities": [{
                "subject": {"organization": "slsa-tests", "commonName": "fake fulcio root"},
                "uri": self.url(),
                "certChain": {"certificates": [{"rawBytes": B64.encode(&st.keys.ca_der)}]},
                "validFor": {"start": "2020-01-01T00:00:00Z"},
            }],
            "ctlogs": [{
                "baseUrl": self.url(),
                "hashAlgorithm": "SHA2_256",
                "publicKey": key(&st.keys.ct),
                "logId": log_id(&st.keys.ct),
            }],
            "timestampAuthorities": [{
                "subject": {"organization": "slsa-tests", "commonName": "fake tsa"},
                "uri": self.tsa_url(),
                "certChain": {"certificates": st.tsa.chain_der().iter()
                    .map(|c| json!({"rawBytes": B64.encode(c)})).collect::<Vec<_>>()},
                "validFor": {"start": "2020-01-01T00:00:00Z"},
            }],
        });
        serde_json::to_string_pretty(&doc).expect("json")
    }
}

/// A JWT as GitHub would issue it (the fakes do not check its signature, nor does Fulcio's
/// client; Fulcio itself would).
fn jwt(claims: &Claims) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(
        json!({
            "iss": claims.issuer,
            "sub": "repo:acme/app:ref:refs/tags/v1.0.0",
            "aud": "sigstore",
            "exp": now() + 600,
            "iat": now(),
            "job_workflow_ref": claims.identity.trim_start_matches("https://github.com/"),
        })
        .to_string(),
    );
    format!(
        "{header}.{body}.{}",
        URL_SAFE_NO_PAD.encode(b"not-a-real-signature")
    )
}

fn respond(mut request: Request, addr: SocketAddr, state: &Mutex<State>) {
    let method = request.method().as_str().to_owned();
    let url = request.url().to_owned();
    let path = url.split('?').next().unwrap_or("").to_owned();
    let auth = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.as_str().to_owned())
        .unwrap_or_default();
    let mut raw = Vec::new();
    let _ = std::io::Read::read_to_end(request.as_reader(), &mut raw);
    let body = String::from_utf8_lossy(&raw).into_owned();
    // The binary endpoints: the TSA (DER in and out) and the TUF repository (files).
    let binary = {
        let mut st = state.lock().expect("fake sigstore state");
        st.log.push(SigstoreRequest {
            method: method.clone(),
            path: path.clone(),
            body: body.clone(),
        });
        match (method.as_str(), path.as_str()) {
            ("POST", "/tsa/api/v1/timestamp") if st.tsa_reject => {
                Some((200, "application/timestamp-reply", st.tsa.reject()))
            }
            ("POST", "/tsa/api/v1/timestamp") => Some(match st.tsa.respond(&raw) {
                Ok(der) => (200, "application/timestamp-reply", der),
                Err(e) => (400, "text/plain", e.into_bytes()),
            }),
            ("GET", p) if p.starts_with("/tuf/") => {
                let file = st.tuf.as_ref().and_then(|r| r.get(&p["/tuf/".len()..]));
                Some(match file {
                    Some(bytes) => (200, "application/octet-stream", bytes),
                    None => (404, "text/plain", b"not found".to_vec()),
                })
            }
            _ => None,
        }
    };
    if let Some((status, content_type, bytes)) = binary {
        let header = Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes())
            .expect("static header");
        let _ = request.respond(
            Response::from_data(bytes)
                .with_status_code(status)
                .with_header(header),
        );
        return;
    }
    let (status, answer) = {
        let mut st = state.lock().expect("fake sigstore state");
        match (method.as_str(), path.as_str()) {
            ("GET", "/oidc/token") => {
                if auth != format!("Bearer {REQUEST_TOKEN}")
                    && auth != format!("bearer {REQUEST_TOKEN}")
                {
                    (401, json!({"message": "bad request token"}))
                } else if !url.contains("audience=sigstore") {
                    (400, json!({"message": "audience must be sigstore"}))
                } else {
                    (200, json!({"value": jwt(&st.claims)}))
                }
            }
            ("POST", "/api/v2/signingCert") => {
                let req: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let pem = req["publicKeyRequest"]["publicKey"]["content"]
                    .as_str()
                    .unwrap_or_default();
                let token = req["credentials"]["oidcIdentityToken"]
                    .as_str()
                    .unwrap_or_default();
                match pem_to_der(pem) {
                    Some(leaf) if !token.is_empty() => {
                        let serial = st.next_serial;
                        st.next_serial += 1;
                        let claims = st.claims.clone();
                        let cert = st.keys.issue(&leaf, &claims, serial);
                        (
                            201,
                            json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": [
                                to_pem("CERTIFICATE", &cert),
                                to_pem("CERTIFICATE", &st.keys.ca_der),
                            ]}}}),
                        )
                    }
                    _ => (
                        400,
                        json!({"message": "publicKeyRequest or credentials missing"}),
                    ),
                }
            }
            ("POST", "/api/v1/log/entries" | "/rekor2/api/v2/log/entries") if st.conflict => (
                409,
                json!({"code": 409, "message": "an equivalent entry already exists in the transparency log"}),
            ),
            ("POST", "/rekor2/api/v2/log/entries") => {
                let req: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let State {
                    keys,
                    rekor2_leaves,
                    ..
                } = &mut *st;
                match keys.log_v2(&req, rekor2_leaves, addr) {
                    Ok(v) => (201, v),
                    Err(e) => (400, json!({"message": e})),
                }
            }
            ("POST", "/api/v1/log/entries") => {
                let req: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                match st.keys.log_dsse(&req, addr) {
                    Ok(v) => (201, v),
                    Err(e) => (400, json!({"message": e})),
                }
            }
            _ => (404, json!({"message": "not found"})),
        }
    };
    let header =
        Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..]).expect("static header");
    let _ = request.respond(
        Response::from_string(answer.to_string())
            .with_status_code(status)
            .with_header(header),
    );
}
