//! Opaque pagination cursors. A cursor carries the sort key where the next page starts,
//! sealed with an HMAC over the listing it belongs to, so a forged, garbled or borrowed cursor
//! is refused (400 `invalid_cursor`) instead of reaching the stores.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::ApiError;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the MAC kept in a cursor: 128 bits is plenty against forgery and keeps URLs short.
const TAG_BYTES: usize = 16;

/// The key cursors are sealed with.
#[derive(Clone)]
pub struct CursorKey(Vec<u8>);

impl CursorKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(secret.to_vec())
    }

    fn mac(&self, scope: &str, position: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(scope.as_bytes());
        mac.update(&[0]);
        mac.update(position.as_bytes());
        mac
    }

    /// Seal `position` for the listing named `scope` (e.g. `timeline:<owner>`).
    pub fn seal(&self, scope: &str, position: &str) -> String {
        let tag = self.mac(scope, position).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(position), URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES]))
    }

    /// The position inside a cursor this server sealed for `scope`.
    pub fn open(&self, scope: &str, cursor: &str) -> Result<String, ApiError> {
        let (position, tag) = cursor.split_once('.').ok_or(ApiError::InvalidCursor)?;
        let position = URL_SAFE_NO_PAD.decode(position).map_err(|_| ApiError::InvalidCursor)?;
        let position = String::from_utf8(position).map_err(|_| ApiError::InvalidCursor)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| ApiError::InvalidCursor)?;
        if tag.len() != TAG_BYTES {
            return Err(ApiError::InvalidCursor);
        }
        // Constant-time comparison of the truncated tag.
        self.mac(scope, &position).verify_truncated_left(&tag).map_err(|_| ApiError::InvalidCursor)?;
        Ok(position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_cursor_opens_only_for_its_own_listing_and_key() {
        let key = CursorKey::new(b"secret");
        let cursor = key.seal("timeline:ann", "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assert_eq!(key.open("timeline:ann", &cursor).unwrap(), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assert!(key.open("timeline:bob", &cursor).is_err());
        assert!(CursorKey::new(b"other").open("timeline:ann", &cursor).is_err());
    }

    #[test]
    fn garbled_or_forged_cursors_are_refused() {
        let key = CursorKey::new(b"secret");
        let cursor = key.seal("s", "position");
        let (position, tag) = cursor.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("other"));
        for bad in ["", ".", "abc", "%%%.%%%", &forged, position, &format!("{position}.{}", &tag[..4])] {
            assert!(key.open("s", bad).is_err(), "{bad:?}");
        }
    }
}
