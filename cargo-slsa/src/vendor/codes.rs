//! Finding codes of `cargo slsa vendor --verify` (stable API).

crate::finding_codes! {
    /// What `vendor --verify` reports.
    pub enum VendorCode {
        /// A vendored file's bytes or mode differ from what was vendored.
        Modified => ("vendor-modified", Error,
            "A vendored file differs from what was vendored (content or executable bit)."),
        /// A file that was not vendored is in a crate directory.
        Added => ("vendor-added", Error,
            "A file in a vendored crate's directory was not part of the vendored crate."),
        /// A vendored file or crate directory is gone.
        Missing => ("vendor-missing", Error,
            "A vendored file or crate directory is missing."),
        /// A crate's package checksum differs from Cargo.lock.
        Checksum => ("vendor-checksum", Error,
            "A vendored crate's package checksum differs from the one in Cargo.lock."),
        /// The vendor tree was made for another lockfile.
        Stale => ("vendor-stale", Error,
            "The vendor directory does not match Cargo.lock (crates added, removed or at other versions)."),
    }
}
