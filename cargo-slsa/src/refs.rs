//! Git references as the commands meet them: whether a string is a full commit id. (Shared by
//! `harden`, `github` and `audit`, so none of them needs another's internals.)

/// A full commit SHA: 40 hexadecimal digits.
pub fn is_sha(r: &str) -> bool {
    r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit())
}
