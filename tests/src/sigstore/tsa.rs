//! `Tsa`: an RFC 3161 Time-Stamp Authority fake for loopback tests.
//!
//! It owns a self-signed P-256 root CA and a P-256 TSA leaf (critical `id-kp-timeStamping`
//! EKU, `digitalSignature` key usage) and answers DER `TimeStampReq`s with DER
//! `TimeStampResp`s carrying a real CMS `SignedData` timestamp token:
//! - the `TSTInfo` echoes the request's message imprint (SHA-256/384/512), policy and nonce,
//!   with a fresh serial number and the current time in whole seconds;
//! - the `SignerInfo` names the leaf by issuer and serial number and signs (ECDSA P-256 with
//!   SHA-256) the signed attributes — content type, message digest, signing time and the
//!   RFC 5816 `signingCertificateV2` — DER-encoded as a `SET OF`, as RFC 5652 §5.4 requires.
//!
//! Every structure is built with RustCrypto's ASN.1 types (`x509-tsp`, `cms`, `cmpv2`,
//! `x509-cert`, `der`); certificates come from rcgen. The tests check the tokens with
//! `openssl ts -verify` and with sigstore-rust's own verifier, independently of this code.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cmpv2::status::{PkiFailureInfo, PkiStatus, PkiStatusInfo};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{GeneralizedTime, Int, OctetString, SetOfVec, Uint, UtcTime, Utf8StringRef};
use der::oid::ObjectIdentifier;
use der::{Any, Decode, Encode, EncodeValue, Sequence, Tagged};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SigningKey,
};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::ext::pkix::name::{GeneralName, GeneralNames};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_tsp::{TimeStampReq, TimeStampResp, TspVersion, TstInfo};

const fn oid(dotted: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(dotted)
}

/// The policy stamped into tokens whose request names none.
pub const DEFAULT_POLICY: ObjectIdentifier = oid("1.3.6.1.4.1.57264.99.1");
const ID_CT_TST_INFO: ObjectIdentifier = oid("1.2.840.113549.1.9.16.1.4");
const ID_SIGNED_DATA: ObjectIdentifier = oid("1.2.840.113549.1.7.2");
const ID_CONTENT_TYPE: ObjectIdentifier = oid("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = oid("1.2.840.113549.1.9.4");
const ID_SIGNING_TIME: ObjectIdentifier = oid("1.2.840.113549.1.9.5");
const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier = oid("1.2.840.113549.1.9.16.2.47");
const ID_SHA256: ObjectIdentifier = oid("2.16.840.1.101.3.4.2.1");
const ID_SHA384: ObjectIdentifier = oid("2.16.840.1.101.3.4.2.2");
const ID_SHA512: ObjectIdentifier = oid("2.16.840.1.101.3.4.2.3");
const ECDSA_WITH_SHA256: ObjectIdentifier = oid("1.2.840.10045.4.3.2");
const ID_CE_EXT_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
const ID_KP_TIME_STAMPING: ObjectIdentifier = oid("1.3.6.1.5.5.7.3.8");

/// RFC 5035 `ESSCertIDv2`. `hashAlgorithm` is `DEFAULT {id-sha256}`, so DER omits it for SHA-256.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

/// RFC 5035 `IssuerSerial`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: GeneralNames,
    serial_number: SerialNumber,
}

/// RFC 5035 `SigningCertificateV2` (the optional `policies` are never sent).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// A fake RFC 3161 timestamp authority: a root CA, a timestamping leaf and its key.
pub struct Tsa {
    leaf_key: KeyPair,
    leaf: Certificate,
    leaf_der: Vec<u8>,
    root_der: Vec<u8>,
    next_serial: AtomicU64,
    /// Seconds added to the current time in `genTime` (a TSA whose clock is off, or lies).
    skew: AtomicI64,
}

fn algorithm(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

fn octets(bytes: impl Into<Vec<u8>>) -> OctetString {
    OctetString::new(bytes.into()).expect("an OCTET STRING of under 4 GiB")
}

/// A signed attribute with one value.
fn attribute(oid: ObjectIdentifier, value: &(impl EncodeValue + Tagged)) -> Attribute {
    let value = Any::encode_from(value).expect("encode attribute value");
    Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).expect("one-element set"),
    }
}

/// Certificate parameters for `O=slsa-tests, CN=<cn>`, valid 2020..2100.
fn params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    let name = &mut params.distinguished_name;
    name.push(DnType::OrganizationName, "slsa-tests");
    name.push(DnType::CommonName, common_name);
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2100, 1, 1);
    params
}

impl Default for Tsa {
    fn default() -> Tsa {
        Tsa::new()
    }
}

impl Tsa {
    /// A fresh TSA: a self-signed P-256 root CA ("slsa-tests fake tsa root", valid 2020..2100)
    /// and a P-256 leaf it signs, with a critical `id-kp-timeStamping` EKU and the
    /// `digitalSignature` key usage.
    pub fn new() -> Tsa {
        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("TSA root key");
        let mut root = params("slsa-tests fake tsa root");
        root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let root_der = root
            .self_signed(&root_key)
            .expect("TSA root")
            .der()
            .to_vec();

        let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("TSA leaf key");
        let mut leaf = params("slsa-tests fake tsa");
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.use_authority_key_identifier_extension = true;
        // RFC 3161 §2.3: the EKU MUST be critical and hold only id-kp-timeStamping; rcgen's
        // `extended_key_usages` writes it non-critical, so it goes in as a custom extension.
        let eku = ExtendedKeyUsage(vec![ID_KP_TIME_STAMPING])
            .to_der()
            .expect("EKU");
        let mut eku = CustomExtension::from_oid_content(ID_CE_EXT_KEY_USAGE, eku);
        eku.set_criticality(true);
        leaf.custom_extensions = vec![eku];
        let issuer = Issuer::new(root, root_key);
        let leaf = leaf.signed_by(&leaf_key, &issuer).expect("TSA leaf");
        let leaf_der = leaf.der().to_vec();
        Tsa {
            leaf: Certificate::from_der(&leaf_der).expect("rcgen made a parsable leaf"),
            leaf_key,
            leaf_der,
            root_der,
            next_serial: AtomicU64::new(1),
            skew: AtomicI64::new(0),
        }
    }

    /// Stamp `secs` away from the current time from now on (negative: backdated).
    pub fn set_skew(&self, secs: i64) {
        self.skew.store(secs, Ordering::Relaxed);
    }

    /// The chain for `trusted_root.json`'s `timestampAuthorities[].certChain`: `[leaf, root]`,
    /// DER.
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        vec![self.leaf_der.clone(), self.root_der.clone()]
    }

    /// Answers a DER `TimeStampReq` (RFC 3161 §2.4.1) with a DER `TimeStampResp`, status
    /// granted, whose token is a CMS `SignedData` over a `TSTInfo`: the request's policy (or
    /// [`DEFAULT_POLICY`]), message imprint and nonce, a fresh serial number and the current
    /// time. The leaf certificate is included when the request sets `certReq`.
    ///
    /// Err when the request does not parse or its imprint is not a SHA-256/384/512 digest.
    pub fn respond(&self, request_der: &[u8]) -> Result<Vec<u8>, String> {
        let request = TimeStampReq::from_der(request_der)
            .map_err(|e| format!("malformed TimeStampReq: {e}"))?;
        let imprint = &request.message_imprint;
        let digest_len = match imprint.hash_algorithm.oid {
            ID_SHA256 => 32,
            ID_SHA384 => 48,
            ID_SHA512 => 64,
            other => return Err(format!("unsupported imprint hash algorithm {other}")),
        };
        if imprint.hashed_message.as_bytes().len() != digest_len {
            return Err(format!(
                "imprint is {} bytes, want {digest_len}",
                imprint.hashed_message.as_bytes().len()
            ));
        }

        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970");
        let now = Duration::from_secs(
            now.as_secs()
                .saturating_add_signed(self.skew.load(Ordering::Relaxed)),
        );
        let serial = self.next_serial.fetch_add(1, Ordering::Relaxed);
        let tst_info = TstInfo {
            version: TspVersion::V1,
            policy: request.req_policy.unwrap_or(DEFAULT_POLICY),
            message_imprint: request.message_imprint.clone(),
            serial_number: Int::from(Uint::new(&serial.to_be_bytes()).expect("serial")),
            gen_time: GeneralizedTime::from_unix_duration(now).expect("genTime"),
            accuracy: None,
            ordering: false,
            nonce: request.nonce.clone(),
            tsa: None,
            extensions: None,
        };
        let tst_der = tst_info.to_der().expect("encode TSTInfo");

        let leaf = &self.leaf.tbs_certificate;
        let signing_certificate = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                hash_algorithm: None,
                cert_hash: octets(Sha256::digest(&self.leaf_der).to_vec()),
                issuer_serial: Some(IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(leaf.issuer.clone())],
                    serial_number: leaf.serial_number.clone(),
                }),
            }],
        };
        let signed_attrs = SetOfVec::try_from(vec![
            attribute(ID_CONTENT_TYPE, &ID_CT_TST_INFO),
            attribute(
                ID_SIGNING_TIME,
                &UtcTime::from_unix_duration(now).expect("signingTime"),
            ),
            attribute(
                ID_MESSAGE_DIGEST,
                &octets(Sha256::digest(&tst_der).to_vec()),
            ),
            attribute(ID_AA_SIGNING_CERTIFICATE_V2, &signing_certificate),
        ])
        .expect("distinct attributes");
        // RFC 5652 §5.4: the signature covers the attributes' DER as a SET OF (tag 0x31), not
        // the [0] IMPLICIT form they take inside SignerInfo.
        let to_sign = signed_attrs.to_der().expect("encode signed attributes");
        let signature = self.leaf_key.sign(&to_sign).expect("ECDSA signature");

        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: leaf.issuer.clone(),
                serial_number: leaf.serial_number.clone(),
            }),
            digest_alg: algorithm(ID_SHA256),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: algorithm(ECDSA_WITH_SHA256),
            signature: octets(signature),
            unsigned_attrs: None,
        };
        let certificates = request.cert_req.then(|| {
            let leaf = CertificateChoices::Certificate(self.leaf.clone());
            CertificateSet(SetOfVec::try_from(vec![leaf]).expect("one certificate"))
        });
        let signed_data = SignedData {
            // RFC 5652 §5.1: version 3 because eContentType is not id-data.
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![algorithm(ID_SHA256)]).expect("digests"),
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_CT_TST_INFO,
                econtent: Some(Any::encode_from(&octets(tst_der)).expect("eContent")),
            },
            certificates,
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info]).expect("one signer")),
        };
        let token = ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&signed_data).expect("encode SignedData"),
        };
        let response = TimeStampResp {
            status: PkiStatusInfo {
                status: PkiStatus::Accepted,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(token),
        };
        Ok(response.to_der().expect("encode TimeStampResp"))
    }

    /// A `TimeStampResp` with status rejection(2), a status string and failInfo badRequest,
    /// and no token: what a failing TSA answers.
    pub fn reject(&self) -> Vec<u8> {
        // cmpv2 0.2 declares PKIFailureInfo's bit *numbers* as flagset *masks*, so its named
        // values encode the wrong bits; set the mask of RFC 3161 badRequest (bit 2) directly.
        let bad_request = PkiFailureInfo::new(1 << 2).expect("a declared failInfo bit");
        let response = TimeStampResp {
            status: PkiStatusInfo {
                status: PkiStatus::Rejection,
                status_string: Some(vec![
                    Utf8StringRef::new("slsa-tests fake tsa: rejected").expect("UTF8String"),
                ]),
                fail_info: Some(bad_request),
            },
            time_stamp_token: None,
        };
        response.to_der().expect("encode TimeStampResp")
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use sigstore_types::{DerCertificate, SignatureBytes, TimestampToken, TsaAuthority};
    use x509_cert::der::EncodePem;
    use x509_cert::der::pem::LineEnding;
    use x509_tsp::MessageImprint;

    use super::*;

    const NONCE: u64 = 0x0123_4567_89ab_cdef;

    /// A `TimeStampReq` over sha256(`data`) with a nonce and certReq, as sigstore-tsa sends.
    fn request(data: &[u8], policy: Option<ObjectIdentifier>) -> Vec<u8> {
        let hash_algorithm = algorithm(ID_SHA256);
        let hashed_message = octets(Sha256::digest(data).to_vec());
        let nonce = Int::from(Uint::new(&NONCE.to_be_bytes()).expect("nonce"));
        let request = TimeStampReq {
            version: TspVersion::V1,
            message_imprint: MessageImprint {
                hash_algorithm,
                hashed_message,
            },
            req_policy: policy,
            nonce: Some(nonce),
            cert_req: true,
            extensions: None,
        };
        request.to_der().expect("encode request")
    }

    /// Writes `resp.der`, `leaf.pem` and `root.pem` into a fresh directory.
    fn files(tsa: &Tsa, response: &[u8]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("resp.der"), response).expect("write response");
        for (name, der) in ["leaf.pem", "root.pem"].iter().zip(tsa.chain_der()) {
            let cert = Certificate::from_der(&der).expect("parse cert");
            let pem = cert.to_pem(LineEnding::LF).expect("PEM");
            std::fs::write(dir.path().join(name), pem).expect("write PEM");
        }
        dir
    }

    /// Runs `openssl ts <args>` in `dir`: (success, stdout + stderr).
    fn openssl_ts(dir: &Path, args: &[&str]) -> (bool, String) {
        let mut openssl = Command::new("openssl");
        let out = openssl.arg("ts").args(args).current_dir(dir).output();
        let out = out.expect("run openssl");
        let text = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
        (out.status.success(), text)
    }

    /// `openssl ts -verify` of `resp.der` against sha256("hello") and the TSA's chain.
    fn verify_hello(dir: &Path) -> (bool, String) {
        let digest = hex::encode(Sha256::digest(b"hello"));
        let args = [
            "-verify", "-in", "resp.der", "-digest", &digest, "-CAfile", "root.pem",
        ];
        openssl_ts(dir, &[&args[..], &["-untrusted", "leaf.pem"]].concat())
    }

    /// The `TimeStampToken` (ContentInfo) DER, as a bundle's `signedTimestamp` holds it.
    fn token_of(response: &[u8]) -> Vec<u8> {
        let response = TimeStampResp::from_der(response).expect("parse response");
        assert_eq!(response.status.status, PkiStatus::Accepted);
        let token = response.time_stamp_token.expect("granted: a token");
        token.to_der().expect("encode token")
    }

    #[test]
    fn openssl_verifies_the_token() {
        let tsa = Tsa::new();
        let response = tsa.respond(&request(b"hello", None)).expect("respond");
        let dir = files(&tsa, &response);
        let (ok, out) = verify_hello(dir.path());
        assert!(ok && out.contains("Verification: OK"), "{out}");

        let (ok, out) = openssl_ts(dir.path(), &["-reply", "-in", "resp.der", "-text"]);
        assert!(ok, "{out}");
        for want in [
            "Status: Granted.",
            "Policy OID: 1.3.6.1.4.1.57264.99.1",
            "Hash Algorithm: sha256",
            "Nonce: 0x0123456789ABCDEF",
        ] {
            assert!(out.contains(want), "want {want:?} in {out}");
        }
    }

    #[test]
    fn openssl_rejects_a_token_for_other_data() {
        let tsa = Tsa::new();
        let response = tsa.respond(&request(b"goodbye", None)).expect("respond");
        let dir = files(&tsa, &response);
        let (ok, out) = verify_hello(dir.path());
        assert!(!ok && out.contains("Verification: FAILED"), "{out}");
        assert!(out.contains("message imprint mismatch"), "{out}");
    }

    #[test]
    fn token_echoes_the_request() {
        let tsa = Tsa::new();
        let policy = oid("1.2.3.4.5");
        let tst = |policy| {
            let response = tsa.respond(&request(b"hello", policy)).expect("respond");
            let token = ContentInfo::from_der(&token_of(&response)).expect("ContentInfo");
            let signed = token.content.decode_as::<SignedData>().expect("SignedData");
            assert!(signed.certificates.is_some(), "certReq was true");
            let econtent = signed.encap_content_info.econtent.expect("eContent");
            TstInfo::from_der(econtent.value()).expect("TSTInfo")
        };
        let (first, second) = (tst(Some(policy)), tst(None));
        assert_eq!((first.policy, second.policy), (policy, DEFAULT_POLICY));
        let imprint = first.message_imprint.hashed_message;
        assert_eq!(imprint.as_bytes(), &Sha256::digest(b"hello")[..]);
        let nonce = first.nonce.expect("nonce echoed");
        assert_eq!(nonce.as_bytes(), NONCE.to_be_bytes());
        assert_ne!(first.serial_number, second.serial_number);
    }

    #[test]
    fn sigstore_tsa_verifies_the_token() {
        let tsa = Tsa::new();
        let signature = b"an artifact signature".to_vec();
        let response = tsa.respond(&request(&signature, None)).expect("respond");
        let chain = tsa.chain_der();
        let (leaf, root) = (chain[0].clone(), chain[1].clone());
        let authority = TsaAuthority::new(
            DerCertificate::new(leaf),
            vec![],
            DerCertificate::new(root),
            None,
        );
        let verify = |token: Vec<u8>, signature: &[u8]| {
            let token = TimestampToken::new(token);
            let signature = SignatureBytes::from_bytes(signature);
            sigstore_tsa::verify_timestamp_for_authority(&token, &signature, &authority)
        };
        // Both the bare token (a bundle's signedTimestamp) and the whole response (what
        // sigstore-tsa's client hands back) verify.
        let time = verify(token_of(&response), &signature).expect("token verifies");
        let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
        assert!(
            (time.as_second() - now.as_secs() as i64).abs() < 60,
            "{time}"
        );
        verify(response.clone(), &signature).expect("response verifies");
        let err = verify(token_of(&response), b"another signature").expect_err("wrong data");
        assert!(err.to_string().contains("mismatch"), "{err}");
    }

    #[test]
    fn bad_requests_are_errors() {
        let tsa = Tsa::new();
        assert!(tsa.respond(b"not DER at all").is_err());
        assert!(tsa.respond(&[]).is_err());
        let mut sha1 = TimeStampReq::from_der(&request(b"hello", None)).expect("parse");
        sha1.message_imprint.hash_algorithm = algorithm(oid("1.3.14.3.2.26"));
        sha1.message_imprint.hashed_message = octets(vec![0; 20]);
        let err = tsa.respond(&sha1.to_der().expect("encode"));
        assert!(err.expect_err("sha1").contains("unsupported"));
    }

    #[test]
    fn reject_is_a_rejection_without_a_token() {
        let tsa = Tsa::new();
        let response = tsa.reject();
        let parsed = TimeStampResp::from_der(&response).expect("parse rejection");
        assert_eq!(parsed.status.status, PkiStatus::Rejection);
        assert!(parsed.time_stamp_token.is_none());
        let dir = files(&tsa, &response);
        let (ok, out) = openssl_ts(dir.path(), &["-reply", "-in", "resp.der", "-text"]);
        assert!(ok && out.contains("Status: Rejected."), "{out}");
        // RFC 3161 failInfo bit 2, badRequest, in OpenSSL's words.
        assert!(out.contains("transaction not permitted"), "{out}");
    }
}
