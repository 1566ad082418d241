//! Finding codes of `cargo slsa verify` (stable API; listed in docs/).

crate::finding_codes! {
    /// Why verification failed.
    pub enum VerifyCode {
        /// The signature does not verify with the trusted key or certificate.
        SignatureInvalid => ("signature-invalid", Error, "No signature verifies over the envelope's payload with the trusted key or certificate."),
        /// The certificate was not valid at a verified signing time.
        CertificateTime => ("certificate-time", Error, "The short-lived signing certificate was not valid at a verified signing time (an RFC 3161 timestamp or a Rekor v1 integration time)."),
        /// The log entry is from a log the trusted root does not name.
        TlogUntrusted => ("tlog-untrusted", Error, "The bundle's transparency-log entry (or its checkpoint's signer) is from a Rekor log the trusted root does not name."),
        /// The log entry's proof does not hold.
        TlogInvalid => ("tlog-invalid", Error, "The bundle's transparency-log entry does not verify: its inclusion proof, signed checkpoint or signed entry timestamp is wrong, or it does not match the bundle."),
        /// A timestamp is not from a trusted TSA or does not verify.
        TimestampUntrusted => ("timestamp-untrusted", Error, "An RFC 3161 timestamp in the bundle is not signed by a timestamp authority the trusted root names, or does not cover this signature."),
        /// Too few verified times.
        TimestampThreshold => ("timestamp-threshold", Error, "Fewer verified times (TSA timestamps, Rekor v1 integration times) vouch for the short-lived certificate than --timestamp-threshold asks."),
        /// The certificate's identity or issuer is not the one required.
        CertificateMismatch => ("certificate-mismatch", Error, "The signing certificate's identity or OIDC issuer does not match the policy."),
        /// Wrong payloadType.
        PayloadType => ("payload-type", Error, "The envelope's payloadType is not application/vnd.in-toto+json."),
        /// Wrong or malformed statement.
        StatementType => ("statement-type", Error, "The signed payload is not an in-toto Statement v1."),
        /// No SLSA provenance statement.
        PredicateType => ("predicate-type", Error, "No verified statement carries SLSA provenance v1."),
        /// An artifact is not a subject.
        SubjectMissing => ("subject-missing", Error, "An artifact's sha256 is not among the attested subjects."),
        /// builder.id differs.
        BuilderMismatch => ("builder-mismatch", Error, "The provenance's builder.id is not the required one."),
        /// The source repository differs.
        SourceMismatch => ("source-mismatch", Error, "The provenance's (or certificate's) source repository is not the required one."),
        /// The source ref differs.
        RefMismatch => ("ref-mismatch", Error, "The provenance's (or certificate's) source ref is not the required one."),
        /// The build used uncommitted changes.
        DirtyBuild => ("dirty-build", Error, "The attested build used uncommitted changes or untracked files, so its source commit does not describe it."),
        /// The Lambda package is not attested.
        LambdaMismatch => ("lambda-mismatch", Error, "The deployed Lambda package's CodeSha256 is not an attested subject."),
        /// A zip holds a file no statement attests.
        LambdaExtraEntry => ("lambda-extra-entry", Error, "A Lambda zip that is not itself attested holds a file that no verified statement names."),
        /// The function's architecture is not the attested one.
        LambdaArchMismatch => ("lambda-arch-mismatch", Error, "The Lambda function's architecture is not the one recorded when the package was attested."),
        /// The function runs code besides its package.
        LambdaUnattestedCode => ("lambda-unattested-code", Warning, "The Lambda function runs code the attestation does not cover: layers, or LD_PRELOAD / LD_LIBRARY_PATH / AWS_LAMBDA_EXEC_WRAPPER in its environment."),
        /// Rebuilding gave other bytes.
        RebuildMismatch => ("rebuild-mismatch", Error, "Rebuilding from the recorded source and parameters gave a different sha256."),
        /// The rebuild's toolchain is not the recorded one.
        ToolchainDiffers => ("toolchain-differs", Warning, "The rebuild used a different rustc than the attested build."),
    }
}
