//! Keyless signing as public-good Sigstore runs it, against the kit's fakes: the trusted root and
//! signing config delivered by a TUF repository, Rekor v1 or v2 chosen by the signing config, RFC
//! 3161 timestamps from a TSA — and every way that can go wrong failing before anything is
//! written. Verification checks what the bundle carries: inclusion proofs and checkpoints from a
//! trusted log, timestamps from a trusted TSA, the threshold of verified times.

use serde_json::Value;
use slsa_tests::sigstore;

use crate::keyless::{Fixture, fixture};
use crate::{codes, json};

const BUNDLE: &str = "target/slsa/dist.sigstore.json";

/// Publish `signing_config` through the fake's TUF repository; write its bootstrap root.
fn publish(f: &Fixture, rekor_v2: bool, tsa: bool) {
    let root = f.fake.publish_tuf(&f.fake.signing_config(rekor_v2, tsa));
    f.project.write(
        "target/tuf-root.json",
        String::from_utf8(root).expect("utf-8 root"),
    );
}

fn tuf_flags(f: &Fixture) -> Vec<String> {
    vec![
        "--tuf-url".into(),
        f.fake.tuf_url(),
        "--tuf-root".into(),
        "target/tuf-root.json".into(),
    ]
}

/// `attest --keyless` in the release job, trust from the TUF fake, plus `extra`.
fn attest(f: &Fixture, extra: &[&str]) -> slsa_tests::RunOutput {
    let tuf = tuf_flags(f);
    let mut args = vec![
        "attest",
        "--artifact",
        "dist/bootstrap.zip",
        "--keyless",
        "--format",
        "json",
    ];
    args.extend(tuf.iter().map(String::as_str));
    args.extend_from_slice(extra);
    f.in_actions(&args)
}

/// `verify` of the bundle with the trusted root from the TUF fake (or `trust` flags).
fn verify(f: &Fixture, trust: &[&str], extra: &[&str], code: i32) -> Value {
    let tuf = tuf_flags(f);
    let mut args = vec![
        "verify",
        "dist/bootstrap.zip",
        "--attestation",
        BUNDLE,
        "--certificate-identity",
        sigstore::IDENTITY,
        "--certificate-oidc-issuer",
        sigstore::ISSUER,
        "--format",
        "json",
    ];
    if trust.is_empty() {
        args.extend(tuf.iter().map(String::as_str));
    } else {
        args.extend_from_slice(trust);
    }
    args.extend_from_slice(extra);
    let mut cmd = f.env.command(crate::bin(), f.project.path());
    cmd.args(&args);
    json(&slsa_tests::run(cmd).assert_code(code))
}

fn bundle(f: &Fixture) -> Value {
    serde_json::from_str(&f.project.read(BUNDLE)).expect("bundle json")
}

fn posted(f: &Fixture) -> Vec<String> {
    f.fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path.clone())
        .collect()
}

#[test]
fn rekor_v2_and_a_tsa_chosen_by_the_tuf_signing_config_sign_and_verify() {
    let f = fixture();
    publish(&f, true, true);
    let out = attest(&f, &[]).assert_success();
    let report = json(&out);
    let notes = report["summary"]["messages"].to_string();
    assert!(notes.contains("from TUF"), "{notes}");
    assert!(notes.contains("Rekor v2"), "{notes}");
    // The TUF repository was walked (metadata, then the targets by hash), then the services.
    let gets: Vec<String> = f
        .fake
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.path.clone())
        .collect();
    assert!(
        gets.contains(&"/tuf/timestamp.json".to_string()),
        "{gets:?}"
    );
    assert!(
        gets.iter()
            .any(|p| p.starts_with("/tuf/targets/") && p.ends_with(".trusted_root.json")),
        "{gets:?}"
    );
    assert_eq!(
        posted(&f),
        [
            "/api/v2/signingCert",
            "/rekor2/api/v2/log/entries",
            "/tsa/api/v1/timestamp"
        ]
    );
    let b = bundle(&f);
    let entry = &b["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["kindVersion"]["kind"], "hashedrekord");
    assert_eq!(entry["kindVersion"]["version"], "0.0.2");
    // A real proof in a log holding other entries, and no v1-only fields.
    assert!(
        entry["inclusionProof"]["hashes"]
            .as_array()
            .is_some_and(|h| h.len() >= 2),
        "{entry}"
    );
    assert!(entry.get("inclusionPromise").is_none());
    assert!(
        entry["inclusionProof"]["checkpoint"]["envelope"]
            .as_str()
            .is_some_and(|c| c.starts_with(&format!(
                "{}/rekor2\n",
                f.fake.url().trim_start_matches("http://")
            )))
    );
    assert_eq!(
        b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    let v = verify(&f, &[], &[], 0);
    assert_eq!(v["summary"]["verified"], true, "{v}");
    // One verified time (the TSA's): a threshold of two is not met.
    let v = verify(&f, &[], &["--timestamp-threshold", "2"], 1);
    assert_eq!(codes(&v), ["timestamp-threshold"], "{v}");
}

#[test]
fn rekor_v1_with_and_without_a_tsa_from_a_signing_config_file() {
    let f = fixture();
    publish(&f, false, true);
    // v1 with a TSA (from TUF): two verified times, the log's and the TSA's.
    attest(&f, &[]).assert_success();
    assert_eq!(
        posted(&f),
        [
            "/api/v2/signingCert",
            "/api/v1/log/entries",
            "/tsa/api/v1/timestamp"
        ]
    );
    let b = bundle(&f);
    assert_eq!(
        b["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"],
        "dsse"
    );
    verify(&f, &[], &["--timestamp-threshold", "2"], 0);

    // v1 without a TSA, services from a signing config file, trust from a trusted root file:
    // no TUF at all.
    f.project
        .write("target/signing.json", f.fake.signing_config(false, false));
    f.project.write("target/root.json", f.fake.trusted_root());
    let before = f.fake.requests().len();
    f.in_actions(&[
        "attest",
        "--artifact",
        "dist/bootstrap.zip",
        "--keyless",
        "--signing-config",
        "target/signing.json",
        "--trusted-root",
        "target/root.json",
        "--format",
        "json",
    ])
    .assert_success();
    let after = f.fake.requests();
    assert!(
        after[before..]
            .iter()
            .all(|r| !r.path.starts_with("/tuf/") && !r.path.starts_with("/tsa/")),
        "{:?}",
        after[before..].iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert!(
        bundle(&f)["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .is_none_or(Vec::is_empty)
    );
    verify(&f, &["--trusted-root", "target/root.json"], &[], 0);
    let v = verify(
        &f,
        &["--trusted-root", "target/root.json"],
        &["--timestamp-threshold", "2"],
        1,
    );
    assert_eq!(codes(&v), ["timestamp-threshold"]);
}

/// The fake's trusted root with `edit` applied, written to `name`.
fn edited_root(f: &Fixture, name: &str, edit: impl FnOnce(&mut Value)) {
    let mut root: Value = serde_json::from_str(&f.fake.trusted_root()).expect("root");
    edit(&mut root);
    f.project.write(name, root.to_string());
}

#[test]
fn a_log_or_tsa_the_trusted_root_does_not_name_and_a_forged_proof_are_rejected() {
    let f = fixture();
    publish(&f, true, true);
    attest(&f, &[]).assert_success();

    // The Rekor v2 log is not trusted: its checkpoint's signer is unknown.
    edited_root(&f, "target/no-v2.json", |r| {
        r["tlogs"].as_array_mut().expect("tlogs").truncate(1);
    });
    let v = verify(&f, &["--trusted-root", "target/no-v2.json"], &[], 1);
    assert_eq!(codes(&v), ["tlog-untrusted"], "{v}");

    // The TSA is not trusted.
    edited_root(&f, "target/no-tsa.json", |r| {
        r["timestampAuthorities"] = Value::Array(vec![]);
    });
    let v = verify(&f, &["--trusted-root", "target/no-tsa.json"], &[], 1);
    assert_eq!(codes(&v), ["timestamp-untrusted"], "{v}");

    // Another TSA's certificate in the TSA's place: same name, other key.
    let other = sigstore::tsa::Tsa::new();
    edited_root(&f, "target/other-tsa.json", |r| {
        use base64::Engine as _;
        let chain: Vec<Value> = other
            .chain_der()
            .iter()
            .map(|c| serde_json::json!({"rawBytes": base64::engine::general_purpose::STANDARD.encode(c)}))
            .collect();
        r["timestampAuthorities"][0]["certChain"]["certificates"] = Value::Array(chain);
    });
    let v = verify(&f, &["--trusted-root", "target/other-tsa.json"], &[], 1);
    assert_eq!(codes(&v), ["timestamp-untrusted"], "{v}");

    // An inclusion proof edited to place the entry elsewhere in the tree.
    let mut b = bundle(&f);
    let hashes = b["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"]
        .as_array_mut()
        .expect("hashes");
    hashes.swap(0, 1);
    f.project.write(BUNDLE, b.to_string());
    let v = verify(&f, &[], &[], 1);
    assert_eq!(codes(&v), ["tlog-invalid"], "{v}");
}

/// `attest` must fail with exit 2, say `expect`, and write nothing.
fn refused(f: &Fixture, out: slsa_tests::RunOutput, expect: &str) {
    let out = out.assert_code(2);
    assert!(out.stderr.contains(expect), "{}", out.stderr);
    assert!(
        !f.project.path().join("target/slsa").exists(),
        "something was written"
    );
}

#[test]
fn expired_or_tampered_tuf_metadata_is_refused_before_the_build() {
    let f = fixture();
    publish(&f, true, true);
    f.fake.with_tuf(|r| r.expire_timestamp());
    refused(&f, attest(&f, &[]), "expired");
    // Nothing was asked of the signing services.
    assert!(posted(&f).is_empty(), "{:?}", posted(&f));

    let f = fixture();
    publish(&f, true, true);
    f.fake
        .with_tuf(|r| r.tamper_target("signing_config.v0.2.json"));
    refused(
        &f,
        attest(&f, &[]),
        "signing_config.v0.2.json: sha256 mismatch",
    );

    let f = fixture();
    publish(&f, true, true);
    f.fake.with_tuf(|r| r.tamper_targets_metadata());
    refused(
        &f,
        attest(&f, &[]),
        "signature threshold not met for role targets",
    );

    // A bootstrap root that is not the repository's: nothing it signs is believed.
    let f = fixture();
    publish(&f, true, true);
    let other = sigstore::tuf::TufRepo::new(&[]);
    f.project.write(
        "target/tuf-root.json",
        String::from_utf8(other.root_json()).expect("utf-8"),
    );
    refused(&f, attest(&f, &[]), "signature threshold not met");
    assert!(posted(&f).is_empty());
}

#[test]
fn an_unreachable_service_a_failing_tsa_and_a_rekor_conflict_write_nothing() {
    // A signing config naming a port nobody listens on.
    let f = fixture();
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let config = f.fake.signing_config(true, true).replace(
        &f.fake.tsa_url(),
        &format!("http://127.0.0.1:{dead}/api/v1/timestamp"),
    );
    let root = f.fake.publish_tuf(&config);
    f.project.write(
        "target/tuf-root.json",
        String::from_utf8(root).expect("utf-8"),
    );
    refused(&f, attest(&f, &[]), "cannot be reached");
    assert!(posted(&f).is_empty());

    // The TSA answers with a rejection.
    let f = fixture();
    publish(&f, true, true);
    f.fake.set_tsa_reject(true);
    refused(&f, attest(&f, &[]), "timestamp authority at");

    // Rekor already holds the entry (409).
    let f = fixture();
    publish(&f, false, true);
    f.fake.set_conflict(true);
    refused(&f, attest(&f, &[]), "409");
    let f = fixture();
    publish(&f, true, true);
    f.fake.set_conflict(true);
    refused(&f, attest(&f, &[]), "409");
}

#[test]
fn tuf_offline_uses_only_the_verified_cache() {
    let f = fixture();
    publish(&f, true, true);
    attest(&f, &[]).assert_success();
    let before = f.fake.requests().len();
    // The cache the online run filled serves an offline verify, with no request at all.
    let v = verify(&f, &[], &["--tuf-offline"], 0);
    assert_eq!(v["summary"]["verified"], true, "{v}");
    assert_eq!(f.fake.requests().len(), before, "offline made requests");

    // Without a cache there is nothing to trust.
    let g = fixture();
    publish(&g, true, true);
    g.project.write(BUNDLE, f.project.read(BUNDLE));
    let mut cmd = g.env.command(crate::bin(), g.project.path());
    let tuf = tuf_flags(&g);
    cmd.args(["verify", "dist/bootstrap.zip", "--attestation", BUNDLE])
        .args(&tuf)
        .args([
            "--tuf-offline",
            "--certificate-identity",
            sigstore::IDENTITY,
            "--certificate-oidc-issuer",
            sigstore::ISSUER,
        ]);
    let out = slsa_tests::run(cmd).assert_code(2);
    assert!(out.stderr.contains("offline"), "{}", out.stderr);
    assert!(g.fake.requests().is_empty());
}

#[test]
fn a_backdated_timestamp_is_refused_by_attest_and_by_verify() {
    // attest checks each bundle before writing it: a TSA stamping an hour before the
    // certificate existed fails the run.
    let f = fixture();
    publish(&f, true, true);
    f.fake.set_tsa_skew(-3600);
    refused(
        &f,
        attest(&f, &[]),
        "does not verify against the trusted root",
    );

    // A bundle nobody checked before writing (services on the command line, no trusted root):
    // verify refuses it for the same reason.
    let f = fixture();
    f.fake.set_tsa_skew(-3600);
    f.attest_with(&["--tsa-url", &f.fake.tsa_url()])
        .assert_success();
    f.project.write("target/root.json", f.fake.trusted_root());
    let v = verify(&f, &["--trusted-root", "target/root.json"], &[], 1);
    assert_eq!(codes(&v), ["certificate-time"], "{v}");
}

#[test]
fn a_genuine_timestamp_or_checkpoint_from_another_signing_does_not_carry_over() {
    let f = fixture();
    publish(&f, true, true);
    attest(&f, &[]).assert_success();
    attest(&f, &["--output", "target/other"]).assert_success();
    let ours = bundle(&f);
    let other: Value =
        serde_json::from_str(&f.project.read("target/other/dist.sigstore.json")).expect("bundle");

    // The trusted TSA's real token, but over the other signing's signature.
    let mut b = ours.clone();
    b["verificationMaterial"]["timestampVerificationData"] =
        other["verificationMaterial"]["timestampVerificationData"].clone();
    f.project.write(BUNDLE, b.to_string());
    let v = verify(&f, &[], &[], 1);
    assert_eq!(codes(&v), ["timestamp-untrusted"], "{v}");

    // The log's real, signed checkpoint of a later tree, with our entry's proof.
    let mut b = ours.clone();
    b["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"] =
        other["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"].clone();
    f.project.write(BUNDLE, b.to_string());
    let v = verify(&f, &[], &[], 1);
    assert_eq!(codes(&v), ["tlog-invalid"], "{v}");

    // The other signing's whole log entry (a real entry, a real proof) under our envelope. (The
    // two statements differ in their times, or only in their signatures when both signings fell
    // in the same second: either way the entry is not ours.)
    let mut b = ours.clone();
    b["verificationMaterial"]["tlogEntries"] = other["verificationMaterial"]["tlogEntries"].clone();
    f.project.write(BUNDLE, b.to_string());
    let v = verify(&f, &[], &[], 1);
    assert_eq!(codes(&v), ["tlog-invalid"], "{v}");

    // Ours, untouched, still verifies.
    f.project.write(BUNDLE, ours.to_string());
    verify(&f, &[], &[], 0);
}
