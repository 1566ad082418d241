//! Finding codes of `cargo slsa attest` (stable API; listed in docs/).

crate::finding_codes! {
    /// What `attest` reports.
    pub enum AttestCode {
        /// A rebuild from a clean copy gave different bytes.
        NotReproducible => ("not-reproducible", Error, "An artifact rebuilt from a clean copy of the source at another path has a different sha256."),
        /// Tracked files differ from HEAD.
        SourceDirty => ("source-dirty", Warning, "The work tree has uncommitted changes, so the recorded commit does not fully describe the source."),
        /// Not in a git repository, or a repository without a commit.
        SourceUnknown => ("source-unknown", Warning, "The workspace is not in a git repository (or the repository has no commit), so the provenance names no source."),
        /// `--from-statement`: the statement does not match the artifacts, the checkout or the lock.
        StatementMismatch => ("statement-mismatch", Error, "A statement given to --from-statement disagrees with the artifacts, the checked-out source or its Cargo.lock, so it is not signed."),
        /// `keygen`: the private key is in a git work tree that does not ignore it.
        KeyNotIgnored => ("key-not-ignored", Warning, "The private key was written into a git work tree that does not ignore it, so it could be committed."),
    }
}
