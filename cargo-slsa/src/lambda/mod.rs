//! AWS Lambda: deterministic `bootstrap.zip` packages ([`package`]), the architectures and
//! targets they are built for ([`arch`]), and what Lambda says a function runs ([`aws`]).
//!
//! Shared by `attest --lambda` (which packages and attests) and `verify` (which reads zips and
//! asks AWS); neither calls the other.

pub mod arch;
pub mod aws;
pub mod package;

use base64::Engine as _;

pub use arch::Arch;

/// Lambda's `CodeSha256` form of a hex sha256: the base64 of the raw digest.
pub fn code_sha256(hex_sha256: &str) -> Option<String> {
    let raw = hex::decode(hex_sha256).ok()?;
    (raw.len() == 32).then(|| base64::engine::general_purpose::STANDARD.encode(raw))
}

/// The hex sha256 of a `CodeSha256` (base64 of 32 bytes), if it is one.
pub fn hex_of_code_sha256(b64: &str) -> Option<String> {
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()
        .filter(|r| r.len() == 32)
        .map(hex::encode)
}

/// The path of a function's package inside the target dir: `lambda/<bin>/bootstrap.zip`.
pub fn zip_path(target_dir: &std::path::Path, bin: &str) -> std::path::PathBuf {
    target_dir.join("lambda").join(bin).join("bootstrap.zip")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_sha256_round_trips() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let b64 = code_sha256(hex).expect("b64");
        assert_eq!(b64, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        assert_eq!(hex_of_code_sha256(&b64).as_deref(), Some(hex));
        assert!(hex_of_code_sha256("abc").is_none());
    }
}
