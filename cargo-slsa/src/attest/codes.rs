//! Finding codes of `cargo slsa attest` (stable API; listed in the README).

crate::finding_codes! {
    /// What `attest` reports.
    pub enum AttestCode {
        /// A rebuild from a clean copy gave different bytes.
        NotReproducible => ("not-reproducible", Error, "An artifact rebuilt from a clean copy of the source at another path has a different sha256."),
        /// Tracked files differ from HEAD.
        SourceDirty => ("source-dirty", Warning, "The work tree has uncommitted changes, so the recorded commit does not fully describe the source."),
        /// Not in a git repository.
        SourceUnknown => ("source-unknown", Warning, "The workspace is not in a git repository, so the provenance names no source commit."),
    }
}
