//! ECDSA P-256 signing keys: PKCS#8 PEM private keys (openssl's `genpkey`/`pkcs8 -topk8 -nocrypt`
//! output and `cargo slsa keygen`'s), SubjectPublicKeyInfo PEM public keys, DER signatures over
//! SHA-256 — the formats cosign and sigstore use.
//!
//! Key bytes never reach an error message or a log line: errors name the file and what is wrong
//! with its form, never its content.

use std::path::Path;

use anyhow::{Result, anyhow};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};
use sigstore_verify::crypto::{KeyPair, SigningScheme, VerificationKey};
use sigstore_verify::types::{DerPublicKey, SignatureBytes};

use crate::error::InputError;

/// A private signing key (ECDSA P-256).
pub struct PrivateKey {
    pair: KeyPair,
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(ECDSA P-256, redacted)")
    }
}

/// A public verification key (ECDSA P-256, SPKI DER).
pub struct PublicKey {
    der: DerPublicKey,
    key: VerificationKey,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.key_id())
    }
}

/// The base64 body of the one PEM block labelled `label` in `text`.
fn pem_body(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = text[start..].find(&end)? + start;
    let b64: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    B64.decode(b64).ok()
}

/// The labels of PEM blocks in `text`, for error messages.
fn pem_labels(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("-----BEGIN ")
                .and_then(|r| r.strip_suffix("-----"))
        })
        .collect()
}

impl PrivateKey {
    /// A fresh key.
    pub fn generate() -> Result<PrivateKey> {
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
        let doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                .map_err(|_| anyhow!("could not generate an ECDSA P-256 key"))?;
        Self::from_pkcs8_der(doc.as_ref().to_vec())
            .map_err(|_| anyhow!("the generated key could not be loaded"))
    }

    fn from_pkcs8_der(pkcs8: Vec<u8>) -> Result<PrivateKey, String> {
        let pair = KeyPair::from_pkcs8_der(&pkcs8)
            .map_err(|_| "not an ECDSA P-256 PKCS#8 private key".to_string())?;
        Ok(PrivateKey { pair, pkcs8 })
    }

    /// Parse a PKCS#8 PEM private key; `origin` names where it came from (a file or
    /// `SLSA_SIGNING_KEY`) in errors.
    pub fn from_pem(text: &str, origin: &Path) -> Result<PrivateKey, InputError> {
        let bad = |msg: String| InputError::at(origin, None, None, msg);
        if let Some(der) = pem_body(text, "PRIVATE KEY") {
            return Self::from_pkcs8_der(der).map_err(|m| {
                bad(format!(
                    "{m} (cargo slsa signs with ECDSA P-256; make one with `cargo slsa keygen`)"
                ))
            });
        }
        let labels = pem_labels(text);
        let hint = match labels.first().copied() {
            Some("EC PRIVATE KEY") => {
                "this is a SEC1 key; convert it with `openssl pkcs8 -topk8 -nocrypt -in KEY -out \
                 KEY.pk8.pem`"
            }
            Some("ENCRYPTED PRIVATE KEY") | Some("ENCRYPTED SIGSTORE PRIVATE KEY") => {
                "encrypted keys are not supported; store the key unencrypted in a secret \
                 (SLSA_SIGNING_KEY) or a file only the build can read"
            }
            Some(_) => "expected a `-----BEGIN PRIVATE KEY-----` (PKCS#8) block",
            None => "no PEM block found; expected `-----BEGIN PRIVATE KEY-----` (PKCS#8)",
        };
        Err(bad(format!("not a usable signing key: {hint}")))
    }

    /// The PKCS#8 PEM text of this key.
    pub fn to_pem(&self) -> String {
        pem("PRIVATE KEY", &self.pkcs8)
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        let der = self
            .pair
            .public_key_der()
            .expect("a P-256 key pair always has an SPKI encoding");
        PublicKey::from_der(der).expect("a P-256 key pair's public key is a valid P-256 key")
    }

    /// A DER ECDSA signature over SHA-256 of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        Ok(self
            .pair
            .sign(message)
            .map_err(|e| anyhow!("signing failed: {e}"))?
            .as_bytes()
            .to_vec())
    }

    /// The key as sigstore-rust's key pair.
    pub fn pair(&self) -> &KeyPair {
        &self.pair
    }
}

impl PublicKey {
    fn from_der(der: DerPublicKey) -> Result<PublicKey, String> {
        let key = VerificationKey::from_spki_with_scheme(&der, SigningScheme::EcdsaP256Sha256)
            .map_err(|_| "not an ECDSA P-256 public key".to_string())?;
        Ok(PublicKey { der, key })
    }

    /// Parse a SubjectPublicKeyInfo PEM public key.
    pub fn from_pem(text: &str, origin: &Path) -> Result<PublicKey, InputError> {
        let bad = |msg: String| InputError::at(origin, None, None, msg);
        let Some(der) = pem_body(text, "PUBLIC KEY") else {
            let found = pem_labels(text);
            return Err(bad(if found.iter().any(|l| l.contains("PRIVATE")) {
                "this is a private key; verify with the public key (`.pub`) only".to_string()
            } else {
                "expected a `-----BEGIN PUBLIC KEY-----` block (SubjectPublicKeyInfo)".to_string()
            }));
        };
        Self::from_der(DerPublicKey::new(der)).map_err(bad)
    }

    /// SPKI PEM text.
    pub fn to_pem(&self) -> String {
        pem("PUBLIC KEY", self.der.as_bytes())
    }

    /// SPKI DER bytes.
    pub fn der(&self) -> &DerPublicKey {
        &self.der
    }

    /// A hint naming the key: lowercase hex SHA-256 of its SPKI DER.
    pub fn key_id(&self) -> String {
        hex::encode(Sha256::digest(self.der.as_bytes()))
    }

    /// Check a DER ECDSA P-256/SHA-256 signature over `message`.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> Result<()> {
        self.key
            .verify(message, &SignatureBytes::new(sig.to_vec()))
            .map_err(|_| anyhow!("signature does not verify"))
    }
}

/// PEM text: `label`, base64 in 64-column lines.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Where the signing key comes from: `--key FILE`, else the `SLSA_SIGNING_KEY` environment
/// variable (PEM text). Never argv.
pub fn load_signing_key(file: Option<&Path>) -> Result<Option<PrivateKey>> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file).map_err(|e| {
            InputError::at(
                file,
                None,
                None,
                format!("cannot read the signing key: {e}"),
            )
        })?;
        return Ok(Some(PrivateKey::from_pem(&text, file)?));
    }
    match crate::secrets::get("SLSA_SIGNING_KEY") {
        Some(text) => Ok(Some(PrivateKey::from_pem(
            &text,
            Path::new("$SLSA_SIGNING_KEY"),
        )?)),
        None => Ok(None),
    }
}

/// Read a public key file.
pub fn load_public_key(file: &Path) -> Result<PublicKey> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        InputError::at(file, None, None, format!("cannot read the public key: {e}"))
    })?;
    Ok(PublicKey::from_pem(&text, file)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_and_sign() {
        let k = PrivateKey::generate().expect("keygen");
        let pem = k.to_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let k2 = PrivateKey::from_pem(&pem, Path::new("k")).expect("parse");
        let sig = k2.sign(b"msg").expect("sign");
        assert_eq!(sig[0], 0x30, "DER SEQUENCE");
        let pubk = PublicKey::from_pem(&k.public().to_pem(), Path::new("p")).expect("pub");
        pubk.verify(b"msg", &sig).expect("verifies");
        assert!(pubk.verify(b"msh", &sig).is_err());
        assert_eq!(pubk.key_id(), k.public().key_id());
    }

    #[test]
    fn bad_keys_are_explained_without_their_content() {
        let e = PrivateKey::from_pem(
            "-----BEGIN EC PRIVATE KEY-----\nSECRETSTUFF\n-----END EC PRIVATE KEY-----\n",
            Path::new("k.pem"),
        )
        .expect_err("sec1 refused");
        let msg = e.to_string();
        assert!(msg.contains("openssl pkcs8"), "{msg}");
        assert!(!msg.contains("SECRETSTUFF"), "{msg}");
        let e = PrivateKey::from_pem(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            Path::new("k.pem"),
        )
        .expect_err("garbage refused");
        assert!(e.to_string().contains("P-256"), "{e}");
        let k = PrivateKey::generate().expect("keygen");
        assert!(PublicKey::from_pem(&k.to_pem(), Path::new("p")).is_err());
    }
}
