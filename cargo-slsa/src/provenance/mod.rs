//! What attestations are made of, shared by `attest`, `verify` and SBOM attestations: the in-toto
//! Statement v1, the SLSA provenance v1 predicate, DSSE envelopes and their pre-authentication
//! encoding (PAE), Sigstore bundles v0.3, and ECDSA P-256 keys.
//!
//! Specs followed (exact field names come from them):
//! - in-toto Statement v1: <https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md>
//! - DSSE v1 envelope and PAE: <https://github.com/secure-systems-lab/dsse/blob/master/protocol.md>
//! - SLSA provenance v1: <https://slsa.dev/spec/v1.0/provenance>
//! - Sigstore bundle v0.3: `application/vnd.dev.sigstore.bundle.v0.3+json` (protobuf-specs)
//!
//! Why the sigstore-rust crates (`sigstore-sign`, `sigstore-verify` and the types, crypto and
//! bundle crates they re-export): they are the Sigstore project's own Rust client. Signing keys
//! and signatures go through `sigstore-crypto` (aws-lc-rs underneath, already in our tree for
//! rustls), bundles are built and parsed with `sigstore-bundle`/`sigstore-types`, and keyless
//! signing and verification (Fulcio, Rekor, trusted roots) use `sigstore-sign`/`sigstore-verify`
//! rather than a hand-written client.
//!
//! Verification rules kept here: a signature is checked over the PAE of the envelope's exact
//! payload bytes with the key the caller trusts — never a key chosen by the envelope's `keyid` —
//! and only those verified bytes are parsed afterwards.

pub mod keys;
pub mod trust;

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sigstore_verify::types::{
    Bundle, DsseEnvelope, DsseSignature, KeyId, PayloadBytes, SignatureBytes, SignatureContent,
};

pub use keys::{PrivateKey, PublicKey};

/// in-toto Statement v1 `_type`.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// DSSE payloadType of in-toto statements.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// SLSA provenance v1 predicateType.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// CycloneDX predicateType (SBOM attestations).
pub const CYCLONEDX_PREDICATE: &str = "https://cyclonedx.org/bom";
/// Our buildType, versioned; documented in docs/build-type/v1.md.
pub const BUILD_TYPE: &str =
    "https://github.com/cargo-slsa/cargo-slsa/blob/main/docs/build-type/v1.md";
/// builder.id of builds run outside GitHub Actions (documented in docs/attest.md).
pub const LOCAL_BUILDER_ID: &str = "https://github.com/cargo-slsa/cargo-slsa/builders/local@v1";
/// Sigstore bundle v0.3 media type.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// One subject (or resolved dependency, or byproduct) — an in-toto ResourceDescriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ResourceDescriptor {
    /// Name (subjects: the artifact's file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// URI (dependencies: a purl or `git+URL@REF`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Algorithm → lowercase hex digest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
    /// Free-form extra data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
}

/// An in-toto Statement v1 with any predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// Always [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub type_: String,
    /// The artifacts the statement is about.
    pub subject: Vec<ResourceDescriptor>,
    /// What kind of predicate this is.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The predicate.
    pub predicate: Value,
}

impl Statement {
    /// A statement about `subjects`.
    pub fn new(subjects: Vec<ResourceDescriptor>, predicate_type: &str, predicate: Value) -> Self {
        Statement {
            type_: STATEMENT_TYPE.to_string(),
            subject: subjects,
            predicate_type: predicate_type.to_string(),
            predicate,
        }
    }

    /// The statement's canonical bytes as signed (compact JSON, our field order).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        Ok(serde_json::to_vec(self)?)
    }
}

/// Whether any `resolvedDependencies` entry of an SLSA provenance predicate carries a dirty
/// mark other than JSON `false` — any entry, any value: a reader must not be able to hide
/// `"dirty": "true"` behind a clean first entry.
pub fn any_dirty_mark(predicate: &Value) -> bool {
    predicate
        .pointer("/buildDefinition/resolvedDependencies")
        .and_then(Value::as_array)
        .is_some_and(|deps| {
            deps.iter().any(|d| {
                d.pointer("/annotations/dirty")
                    .is_some_and(|v| v != &Value::Bool(false))
            })
        })
}

/// A subject named `name` with sha256 `hex`.
pub fn subject(name: &str, sha256_hex: &str) -> ResourceDescriptor {
    ResourceDescriptor {
        name: Some(name.to_string()),
        digest: BTreeMap::from([("sha256".to_string(), sha256_hex.to_string())]),
        ..ResourceDescriptor::default()
    }
}

/// DSSE pre-authentication encoding: `DSSEv1 SP LEN(type) SP type SP LEN(body) SP body`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    sigstore_verify::types::dsse::pae(payload_type, payload)
}

/// A DSSE envelope as it is written to `.intoto.jsonl` (one per line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Base64 (standard) of the payload bytes.
    pub payload: String,
    /// What the payload is; [`PAYLOAD_TYPE`] for statements.
    pub payload_type: String,
    /// Signatures over the PAE.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One DSSE signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// A hint naming the key; never used to choose the verification key.
    #[serde(default)]
    pub keyid: String,
    /// Base64 (standard) of the DER ECDSA signature.
    pub sig: String,
}

impl Envelope {
    /// Sign `payload` (of `payload_type`) with `key`.
    pub fn sign(key: &PrivateKey, payload_type: &str, payload: &[u8]) -> Result<Envelope> {
        let sig = key.sign(&pae(payload_type, payload))?;
        Ok(Envelope {
            payload: B64.encode(payload),
            payload_type: payload_type.to_string(),
            signatures: vec![EnvelopeSignature {
                keyid: key.public().key_id(),
                sig: B64.encode(sig),
            }],
        })
    }

    /// The decoded payload bytes (not yet verified).
    pub fn payload_bytes(&self) -> Result<Vec<u8>> {
        decode_b64(&self.payload)
            .ok_or_else(|| anyhow!("the envelope's payload is not valid base64"))
    }

    /// Verify that one of the signatures is `key`'s over the PAE of the payload, and return the
    /// verified payload bytes. Key ids are ignored: every signature is tried against `key`.
    pub fn verify(&self, key: &PublicKey) -> Result<Vec<u8>, VerifyError> {
        let payload = self
            .payload_bytes()
            .map_err(|e| VerifyError::Malformed(e.to_string()))?;
        if self.signatures.is_empty() {
            return Err(VerifyError::Signature(
                "the envelope has no signatures".into(),
            ));
        }
        let message = pae(&self.payload_type, &payload);
        for s in &self.signatures {
            let Some(sig) = decode_b64(&s.sig) else {
                continue;
            };
            if key.verify(&message, &sig).is_ok() {
                return Ok(payload);
            }
        }
        Err(VerifyError::Signature(format!(
            "no signature in the envelope verifies with the trusted key {} ({} signature{} tried)",
            key.key_id(),
            self.signatures.len(),
            if self.signatures.len() == 1 { "" } else { "s" }
        )))
    }

    /// One JSON line.
    pub fn to_line(&self) -> Result<String> {
        Ok(serde_json::to_string(self)?)
    }

    /// The envelope as sigstore-rust's type (exactly one signature).
    pub fn to_sigstore(&self) -> Result<DsseEnvelope> {
        let [sig] = self.signatures.as_slice() else {
            return Err(anyhow!(
                "a bundle holds an envelope with exactly one signature"
            ));
        };
        Ok(DsseEnvelope::new(
            self.payload_type.clone(),
            PayloadBytes::new(self.payload_bytes()?),
            DsseSignature::new(
                SignatureBytes::from_base64(&sig.sig)
                    .map_err(|e| anyhow!("signature is not base64: {e}"))?,
                KeyId::new(sig.keyid.clone()),
            ),
        ))
    }

    /// Our envelope from sigstore-rust's type.
    pub fn from_sigstore(env: &DsseEnvelope) -> Envelope {
        Envelope {
            payload: B64.encode(env.payload.as_bytes()),
            payload_type: env.payload_type.clone(),
            signatures: vec![EnvelopeSignature {
                keyid: env.signature.keyid.as_str().to_string(),
                sig: B64.encode(env.signature.sig.as_bytes()),
            }],
        }
    }
}

/// Base64 as DSSE allows it: standard or URL-safe alphabet, padded or not.
fn decode_b64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let s = s.trim();
    B64.decode(s)
        .or_else(|_| URL_SAFE.decode(s))
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .or_else(|_| URL_SAFE_NO_PAD.decode(s))
        .ok()
}

/// Why an envelope did not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Not decodable.
    #[error("{0}")]
    Malformed(String),
    /// No valid signature by the trusted key.
    #[error("{0}")]
    Signature(String),
}

/// A Sigstore bundle v0.3 holding `envelope`, signed by a managed key identified by `hint`
/// (no transparency-log entry: key-signed attestations are not uploaded).
pub fn key_bundle(envelope: &Envelope, hint: &str) -> Result<Bundle> {
    use sigstore_verify::bundle::{BundleV03, VerificationMaterialV03};
    Ok(BundleV03::new(
        VerificationMaterialV03::PublicKey {
            hint: hint.to_string(),
        },
        SignatureContent::DsseEnvelope(envelope.to_sigstore()?),
    )
    .into_bundle())
}

/// The envelope inside a bundle, when it holds one.
pub fn bundle_envelope(bundle: &Bundle) -> Option<Envelope> {
    match &bundle.content {
        SignatureContent::DsseEnvelope(env) => Some(Envelope::from_sigstore(env)),
        _ => None,
    }
}

/// What an attestation file holds.
pub enum AttestationFile {
    /// `.intoto.jsonl`: envelopes, with their 1-based line numbers.
    Envelopes(Vec<(usize, Envelope)>),
    /// A Sigstore bundle.
    Bundle(Box<Bundle>),
}

/// Parse an attestation file: a Sigstore bundle (a JSON object with `mediaType`) or JSON lines
/// of DSSE envelopes. Errors carry the line.
pub fn parse_attestation_file(
    path: &std::path::Path,
    text: &str,
) -> Result<AttestationFile, crate::error::InputError> {
    use crate::error::InputError;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(InputError::at(
            path,
            None,
            None,
            "the attestation file is empty",
        ));
    }
    // A bundle is one JSON object (usually pretty-printed) with a mediaType.
    if let Ok(v) = serde_json::from_str::<Value>(text)
        && v.get("mediaType").is_some()
    {
        let bundle = Bundle::from_json(text).map_err(|e| {
            InputError::at(
                path,
                Some(1),
                None,
                format!("not a valid Sigstore bundle: {e}"),
            )
        })?;
        return Ok(AttestationFile::Bundle(Box::new(bundle)));
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let env: Envelope = serde_json::from_str(line).map_err(|e| {
            InputError::at(
                path,
                Some(i + 1),
                Some(e.column()),
                format!("not a DSSE envelope: {e}"),
            )
        })?;
        out.push((i + 1, env));
    }
    Ok(AttestationFile::Envelopes(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // From the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn envelope_round_trip_and_tamper() {
        let key = PrivateKey::generate().expect("keygen");
        let other = PrivateKey::generate().expect("keygen");
        let env = Envelope::sign(&key, PAYLOAD_TYPE, b"{\"a\":1}").expect("sign");
        assert_eq!(env.verify(&key.public()).expect("verifies"), b"{\"a\":1}");
        assert!(env.verify(&other.public()).is_err());
        let mut bad = env.clone();
        bad.payload = B64.encode(b"{\"a\":2}");
        assert!(bad.verify(&key.public()).is_err());
        let mut bad = env.clone();
        bad.payload_type = "application/json".into();
        assert!(bad.verify(&key.public()).is_err());
        // The keyid is a hint only: changing it changes nothing.
        let mut hinted = env.clone();
        hinted.signatures[0].keyid = "someone-else".into();
        assert!(hinted.verify(&key.public()).is_ok());
    }

    #[test]
    fn bundle_round_trip() {
        let key = PrivateKey::generate().expect("keygen");
        let env = Envelope::sign(&key, PAYLOAD_TYPE, b"{}").expect("sign");
        let bundle = key_bundle(&env, &key.public().key_id()).expect("bundle");
        let json = bundle.to_json_pretty().expect("json");
        assert!(json.contains(BUNDLE_MEDIA_TYPE));
        let parsed = match parse_attestation_file(std::path::Path::new("b.json"), &json) {
            Ok(AttestationFile::Bundle(b)) => b,
            _ => panic!("not parsed as a bundle"),
        };
        let back = bundle_envelope(&parsed).expect("dsse");
        assert_eq!(back, env);
    }
}
