//! Signed tokens: `base64url(payload) . base64url(mac)`, where the mac is HMAC-SHA256 under the
//! hub's signing key (`db::notify::keys`, made once and shared by every instance) of a purpose
//! and the payload. Every link the hub signs (unsubscribing in a mail, downloading an export) is
//! made and checked here, so there is one piece of code to get right. The check is in constant
//! time; what a payload means is its caller's business.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The hub's signing key. Its `Debug` never shows it.
#[derive(Clone)]
pub struct SigningKey(std::sync::Arc<[u8]>);

/// A token that was not made by this hub for this purpose, or was changed since.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the signed token is not valid")]
pub struct Forged;

impl SigningKey {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes.into())
    }

    /// The MAC of `payload` for `purpose`. The purpose goes first, so a key signing one kind of
    /// token cannot be made to sign another: a purpose ends with `\0`, which no purpose contains.
    fn mac(&self, purpose: &[u8], payload: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(purpose);
        mac.update(payload);
        mac
    }

    /// `payload` signed for `purpose`, as URL-safe text.
    pub fn sign(&self, purpose: &[u8], payload: &[u8]) -> String {
        let tag = self.mac(purpose, payload).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The payload of `token`, if this key signed it for `purpose` exactly so.
    pub fn verify(&self, purpose: &[u8], token: &str) -> Result<Vec<u8>, Forged> {
        let (payload, tag) = token.split_once('.').ok_or(Forged)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| Forged)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| Forged)?;
        self.mac(purpose, &payload).verify_slice(&tag).map_err(|_| Forged)?;
        Ok(payload)
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PURPOSE: &[u8] = b"test v1\0";

    fn key(byte: u8) -> SigningKey {
        SigningKey::new(vec![byte; 32])
    }

    #[test]
    fn a_token_reads_back_only_with_its_key_and_purpose() {
        let token = key(1).sign(PURPOSE, b"payload");
        assert_eq!(key(1).verify(PURPOSE, &token), Ok(b"payload".to_vec()));
        assert_eq!(key(2).verify(PURPOSE, &token), Err(Forged));
        assert_eq!(key(1).verify(b"other v1\0", &token), Err(Forged));
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)), "URL-safe: {token}");
    }

    #[test]
    fn an_altered_payload_or_mac_or_garbage_is_forged() {
        let token = key(1).sign(PURPOSE, b"payload");
        let (payload, tag) = token.split_once('.').expect("two parts");
        let other = URL_SAFE_NO_PAD.encode("payloae");
        assert_eq!(key(1).verify(PURPOSE, &format!("{other}.{tag}")), Err(Forged));
        let mut bent = URL_SAFE_NO_PAD.decode(tag).expect("base64");
        bent[0] ^= 1;
        assert_eq!(
            key(1).verify(PURPOSE, &format!("{payload}.{}", URL_SAFE_NO_PAD.encode(bent))),
            Err(Forged)
        );
        for garbage in ["", ".", "abc", "abc.def", &format!("{payload}."), &format!(".{tag}")] {
            assert_eq!(key(1).verify(PURPOSE, garbage), Err(Forged), "{garbage}");
        }
    }

    #[test]
    fn the_key_is_never_shown() {
        assert_eq!(format!("{:?}", key(7)), "SigningKey(..)");
    }
}
