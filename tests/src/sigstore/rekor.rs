//! The fake Rekor logs: v1 (`POST /api/v1/log/entries`, a `dsse` v0.0.1 entry with a signed entry
//! timestamp and a one-leaf inclusion proof) and v2 (`POST /rekor2/api/v2/log/entries`, the
//! tile-based log's API: a `hashedrekord` v0.0.2 entry appended to a real RFC 6962 Merkle tree
//! that already holds other entries, answered with the protobuf-JSON `TransparencyLogEntry`: an
//! inclusion proof and a checkpoint signed as a C2SP signed note — no integrated time and no
//! promise, as Rekor v2 gives neither).

use super::*;

/// The v1 log's name: its checkpoint origin's first word and its note signature's key name. As
/// on the real instances, the name is part of the log's base URL (`rekor.sigstore.dev`), which
/// sigstore-js requires of a checkpoint signer.
pub(super) fn rekor1_name(addr: SocketAddr) -> String {
    addr.to_string()
}

/// The v2 log's origin (its checkpoint's first line and its note signature's key name), part of
/// its base URL like `log2025-1.rekor.sigstore.dev`.
pub(super) fn rekor2_origin(addr: SocketAddr) -> String {
    format!("{addr}/rekor2")
}
/// Entries the v2 log holds before a test's first one, so proofs have real sibling hashes.
pub(super) const REKOR2_PRELOADED: usize = 5;

/// RFC 6962 leaf hash.
pub(super) fn leaf_hash(data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two below `n` (n > 1).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 6962 Merkle tree hash over leaf hashes.
pub(super) fn tree_hash(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&tree_hash(&leaves[..k]), &tree_hash(&leaves[k..]))
        }
    }
}

/// RFC 6962 audit path of leaf `m`, bottom-up.
pub(super) fn audit_path(m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
    let n = leaves.len();
    if n <= 1 {
        return vec![];
    }
    let k = split(n);
    if m < k {
        let mut p = audit_path(m, &leaves[..k]);
        p.push(tree_hash(&leaves[k..]));
        p
    } else {
        let mut p = audit_path(m - k, &leaves[k..]);
        p.push(tree_hash(&leaves[..k]));
        p
    }
}

/// The v2 log's key ID as its trusted-root entry and its note signatures name it (C2SP signed
/// note: SHA-256 over the key name, a newline, the signature type and the key).
pub(super) fn rekor2_key_id(key: &KeyPair, addr: SocketAddr) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(rekor2_origin(addr).as_bytes());
    h.update(b"\n");
    h.update([0x02u8]);
    h.update(spki(key));
    h.finalize().into()
}

/// The public key (an uncompressed EC point) of a DER certificate.
fn public_point(cert_der: &[u8]) -> Result<Vec<u8>, String> {
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(cert_der).map_err(|e| e.to_string())?;
    Ok(cert
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes()
        .to_vec())
}

impl Keys {
    /// Log a DSSE proposal: the Rekor v1 response map.
    pub(super) fn log_dsse(&self, request: &Value, addr: SocketAddr) -> Result<Value, String> {
        let content = &request["spec"]["proposedContent"];
        let envelope_text = content["envelope"]
            .as_str()
            .ok_or("spec.proposedContent.envelope missing")?;
        let envelope: Value =
            serde_json::from_str(envelope_text).map_err(|e| format!("envelope: {e}"))?;
        let verifier_b64 = content["verifiers"][0]
            .as_str()
            .ok_or("spec.proposedContent.verifiers missing")?;
        let payload = B64
            .decode(envelope["payload"].as_str().ok_or("payload")?)
            .map_err(|e| format!("payload: {e}"))?;
        let sig = envelope["signatures"][0]["sig"]
            .as_str()
            .ok_or("signature")?
            .to_string();
        // Check the signature over PAE with the certificate's key, as Rekor does.
        let cert_pem = String::from_utf8(B64.decode(verifier_b64).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        let cert_der = pem_to_der(&cert_pem).ok_or("verifier PEM")?;
        let point = public_point(&cert_der)?;
        let payload_type = envelope["payloadType"].as_str().ok_or("payloadType")?;
        let mut pae = format!(
            "DSSEv1 {} {} {} ",
            payload_type.len(),
            payload_type,
            payload.len()
        )
        .into_bytes();
        pae.extend(&payload);
        let key = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
            point,
        );
        key.verify(&pae, &B64.decode(&sig).map_err(|e| e.to_string())?)
            .map_err(|_| "signature does not verify with the verifier's key".to_string())?;

        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(envelope_text.as_bytes()))},
                "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(&payload))},
                // Rekor stores the verifier in its canonical form (PEM with LF line ends, as
                // Go's pem package writes it), whatever line ends the client sent.
                "signatures": [{"signature": sig, "verifier": B64.encode(to_pem("CERTIFICATE", &cert_der))}],
            }
        });
        // Rekor's canonical JSON: sorted keys, no spaces (serde_json's map is sorted).
        let body_bytes = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        let body_b64 = B64.encode(&body_bytes);
        let log_id = hex::encode(Sha256::digest(spki(&self.rekor)));
        let integrated = now();
        let set_payload = json!({
            "body": body_b64,
            "integratedTime": integrated,
            "logID": log_id,
            "logIndex": 0,
        });
        let set = self
            .rekor
            .sign(&serde_json::to_vec(&set_payload).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        // One-leaf tree: the root is the leaf hash.
        let mut leaf = vec![0u8];
        leaf.extend(&body_bytes);
        let root = Sha256::digest(&leaf);
        // The origin line is "<log name> - <tree id>"; the signature line names the key by
        // the log name alone.
        let name = rekor1_name(addr);
        let origin = format!("{name} - 1");
        let note = format!("{origin}\n1\n{}\n", B64.encode(root));
        let note_sig = self
            .rekor
            .sign(note.as_bytes())
            .map_err(|e| e.to_string())?;
        let hint = &Sha256::digest(spki(&self.rekor))[..4];
        let mut sig_blob = hint.to_vec();
        sig_blob.extend(&note_sig);
        let checkpoint = format!("{note}\n\u{2014} {name} {}\n", B64.encode(sig_blob));
        let uuid = hex::encode(Sha256::digest(&leaf));
        let mut answer = serde_json::Map::new();
        answer.insert(
            uuid,
            json!({
                    "body": body_b64,
                    "integratedTime": integrated,
                    "logID": log_id,
                    "logIndex": 0,
                    "verification": {
                        "signedEntryTimestamp": B64.encode(set),
                        "inclusionProof": {
                            "checkpoint": checkpoint,
                            "hashes": [],
                            "logIndex": 0,
                            "rootHash": hex::encode(root),
                            "treeSize": 1,
                        }
                    }
            }),
        );
        Ok(Value::Object(answer))
    }

    /// Log a Rekor v2 `hashedRekordRequestV002`: check the signature over the digest with the
    /// certificate's key, append the canonical entry to `leaves`, and answer with the bundle's
    /// `TransparencyLogEntry`.
    pub(super) fn log_v2(
        &self,
        request: &Value,
        leaves: &mut Vec<[u8; 32]>,
        addr: SocketAddr,
    ) -> Result<Value, String> {
        let req = &request["hashedRekordRequestV002"];
        let digest_b64 = req["digest"]
            .as_str()
            .ok_or("hashedRekordRequestV002.digest missing")?;
        let digest = B64.decode(digest_b64).map_err(|e| format!("digest: {e}"))?;
        if digest.len() != 32 {
            return Err("digest is not SHA-256".into());
        }
        let sig_b64 = req["signature"]["content"]
            .as_str()
            .ok_or("signature.content missing")?;
        let sig = B64.decode(sig_b64).map_err(|e| format!("signature: {e}"))?;
        let verifier = &req["signature"]["verifier"];
        let key_details = verifier["keyDetails"]
            .as_str()
            .ok_or("verifier.keyDetails missing")?;
        if key_details != "PKIX_ECDSA_P256_SHA_256" {
            return Err(format!("unsupported keyDetails {key_details}"));
        }
        let cert_b64 = verifier["x509Certificate"]["rawBytes"]
            .as_str()
            .ok_or("verifier.x509Certificate.rawBytes missing")?;
        let cert_der = B64
            .decode(cert_b64)
            .map_err(|e| format!("certificate: {e}"))?;
        let point = public_point(&cert_der)?;
        // The signature is over the digest itself (a prehashed ECDSA signature).
        let key = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
            point,
        );
        key.verify_digest(
            &aws_lc_rs::digest::Digest::import_less_safe(&digest, &aws_lc_rs::digest::SHA256)
                .map_err(|_| "digest".to_string())?,
            &sig,
        )
        .map_err(|_| "signature does not verify with the certificate's key".to_string())?;
        let body = json!({
            "apiVersion": "0.0.2",
            "kind": "hashedrekord",
            "spec": {"hashedRekordV002": {
                "data": {"algorithm": "SHA2_256", "digest": digest_b64},
                "signature": {"content": sig_b64, "verifier": {
                    "keyDetails": key_details,
                    "x509Certificate": {"rawBytes": cert_b64},
                }},
            }},
        });
        let body_bytes = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        let index = leaves.len();
        leaves.push(leaf_hash(&body_bytes));
        let size = leaves.len();
        let root = tree_hash(leaves);
        let proof = audit_path(index, leaves);
        let key_id = rekor2_key_id(&self.rekor2, addr);
        let origin = rekor2_origin(addr);
        let note = format!("{origin}\n{size}\n{}\n", B64.encode(root));
        let note_sig = self
            .rekor2
            .sign(note.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut sig_blob = key_id[..4].to_vec();
        sig_blob.extend(&note_sig);
        let checkpoint = format!("{note}\n\u{2014} {origin} {}\n", B64.encode(sig_blob));
        Ok(json!({
            "logIndex": index.to_string(),
            "logId": {"keyId": B64.encode(key_id)},
            "kindVersion": {"kind": "hashedrekord", "version": "0.0.2"},
            "inclusionProof": {
                "logIndex": index.to_string(),
                "rootHash": B64.encode(root),
                "treeSize": size.to_string(),
                "hashes": proof.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
                "checkpoint": {"envelope": checkpoint},
            },
            "canonicalizedBody": B64.encode(&body_bytes),
        }))
    }
}
