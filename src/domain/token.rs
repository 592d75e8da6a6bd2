//! API token secrets: `khub_` followed by 43 base64url characters (256 random bits). Only the
//! SHA-256 of a secret is stored; a high-entropy secret needs no slow hash.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// Every secret starts with this, so a leaked token is recognisable (and scannable) as ours.
pub const PREFIX: &str = "khub_";
/// How many characters of a secret are kept in clear to tell tokens apart.
const DISPLAY_CHARS: usize = 12;
const SECRET_CHARS: usize = 43;

/// A new secret, shown once.
pub struct NewSecret {
    pub secret: String,
    /// The first characters, safe to store and show.
    pub prefix: String,
    pub hash: String,
}

pub fn generate() -> Result<NewSecret, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let secret = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    Ok(NewSecret { prefix: secret[..DISPLAY_CHARS].to_owned(), hash: hash(&secret), secret })
}

/// Hex SHA-256 of a secret: the only form a token is stored and looked up in.
pub fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a string has the shape of one of our secrets (checked before any database look-up).
pub fn is_well_formed(secret: &str) -> bool {
    secret.strip_prefix(PREFIX).is_some_and(|rest| {
        rest.len() == SECRET_CHARS
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_well_formed_and_hashed() {
        let a = generate().expect("random");
        let b = generate().expect("random");
        assert_ne!(a.secret, b.secret);
        assert!(is_well_formed(&a.secret), "{}", a.secret);
        assert!(a.secret.starts_with(&a.prefix) && a.prefix.starts_with(PREFIX));
        assert_eq!(a.hash, hash(&a.secret));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.secret[PREFIX.len()..]));
        for bad in ["", "khub_", "Bearer x", "khub_short", &format!("xxxx_{}", &a.secret[5..])] {
            assert!(!is_well_formed(bad), "{bad}");
        }
    }
}
