//! Opaque pagination cursors. A cursor carries the sort key where the next page starts,
//! sealed with an HMAC over the listing it belongs to, so a forged, garbled or borrowed cursor
//! is refused (400 `invalid_cursor`) instead of reaching the stores. Pages leave through
//! [`page_response`], which seals their next position.

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use timeline_model::{Page, TweetId, UserId};

use crate::error::ApiError;
use crate::response::json_response;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the MAC kept in a cursor: 128 bits is plenty against forgery and keeps URLs short.
const TAG_BYTES: usize = 16;

/// The listing a cursor belongs to. A cursor opens only for the listing it was sealed for, so
/// one reader's cursor cannot page another's timeline.
#[derive(Debug, Clone, Copy)]
pub enum CursorScope<'a> {
    HomeTimeline(&'a UserId),
    AuthorTweets(&'a UserId),
    Followers(&'a UserId),
    Following(&'a UserId),
}

impl CursorScope<'_> {
    /// The bytes the MAC covers. Fixed strings, not type names: every cursor already handed
    /// out must keep opening after a rename (a test pins them).
    fn label(&self) -> String {
        match self {
            CursorScope::HomeTimeline(owner) => format!("timeline:{owner}"),
            CursorScope::AuthorTweets(author) => format!("tweets:{author}"),
            CursorScope::Followers(user) => format!("Followers:{user}"),
            CursorScope::Following(user) => format!("Following:{user}"),
        }
    }
}

/// The key cursors are sealed with: the HMAC already keyed, so a page's seal copies it rather
/// than hashing the secret again.
#[derive(Clone)]
pub struct CursorKey(HmacSha256);

impl CursorKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length"))
    }

    fn mac(&self, scope: &CursorScope<'_>, position: &str) -> HmacSha256 {
        let mut mac = self.0.clone();
        mac.update(scope.label().as_bytes());
        mac.update(&[0]);
        mac.update(position.as_bytes());
        mac
    }

    /// Seal `position` for the listing `scope`.
    pub fn seal(&self, scope: &CursorScope<'_>, position: &str) -> String {
        let tag = self.mac(scope, position).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(position), URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES]))
    }

    /// The position inside a cursor this server sealed for `scope`.
    pub fn open(&self, scope: &CursorScope<'_>, cursor: &str) -> Result<String, ApiError> {
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

    /// The tweet a tweet listing's cursor points after, if a cursor was given.
    pub fn open_tweet_id(
        &self,
        scope: &CursorScope<'_>,
        cursor: Option<&str>,
    ) -> Result<Option<TweetId>, ApiError> {
        self.open_as(scope, cursor, TweetId::parse)
    }

    /// The user a user listing's cursor points after, if a cursor was given.
    pub fn open_user_id(
        &self,
        scope: &CursorScope<'_>,
        cursor: Option<&str>,
    ) -> Result<Option<UserId>, ApiError> {
        self.open_as(scope, cursor, UserId::parse)
    }

    /// A position that parses as `T`: a sealed cursor whose position does not is refused too.
    fn open_as<T, E>(
        &self,
        scope: &CursorScope<'_>,
        cursor: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, ApiError> {
        let Some(cursor) = cursor else { return Ok(None) };
        parse(&self.open(scope, cursor)?).map(Some).map_err(|_| ApiError::InvalidCursor)
    }
}

/// The body of every paged response.
#[derive(Serialize)]
struct PageBody<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

/// Serve a page, sealing its next position for the listing it belongs to.
pub fn page_response<T: Serialize>(cursors: &CursorKey, scope: &CursorScope<'_>, page: Page<T>) -> Response {
    let next_cursor = page.next.map(|position| cursors.seal(scope, &position));
    json_response(StatusCode::OK, &PageBody { items: page.items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(raw: &str) -> UserId {
        UserId::parse(raw).unwrap()
    }

    #[test]
    fn a_sealed_cursor_opens_only_for_its_own_listing_and_key() {
        let key = CursorKey::new(b"secret");
        let (ann, bob) = (user("ann"), user("bob"));
        let cursor = key.seal(&CursorScope::HomeTimeline(&ann), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assert_eq!(
            key.open(&CursorScope::HomeTimeline(&ann), &cursor).unwrap(),
            "01ARZ3NDEKTSV4RRFFQ69G5FAV"
        );
        assert!(key.open(&CursorScope::HomeTimeline(&bob), &cursor).is_err());
        assert!(key.open(&CursorScope::AuthorTweets(&ann), &cursor).is_err());
        assert!(CursorKey::new(b"other").open(&CursorScope::HomeTimeline(&ann), &cursor).is_err());
    }

    #[test]
    fn garbled_or_forged_cursors_are_refused() {
        let key = CursorKey::new(b"secret");
        let ann = user("ann");
        let scope = CursorScope::Followers(&ann);
        let cursor = key.seal(&scope, "position");
        let (position, tag) = cursor.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("other"));
        for bad in ["", ".", "abc", "%%%.%%%", &forged, position, &format!("{position}.{}", &tag[..4])] {
            assert!(key.open(&scope, bad).is_err(), "{bad:?}");
        }
    }

    /// Cursors handed out before must keep opening: the sealed bytes of each scope are fixed.
    #[test]
    fn scope_labels_never_change() {
        let ann = user("ann");
        let labels = [
            CursorScope::HomeTimeline(&ann),
            CursorScope::AuthorTweets(&ann),
            CursorScope::Followers(&ann),
            CursorScope::Following(&ann),
        ]
        .map(|scope| scope.label());
        assert_eq!(labels, ["timeline:ann", "tweets:ann", "Followers:ann", "Following:ann"]);
        let sealed =
            CursorKey::new(b"secret").seal(&CursorScope::HomeTimeline(&ann), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assert_eq!(sealed, "MDFBUlozTkRFS1RTVjRSUkZGUTY5RzVGQVY.TeOl6B7t0_-FVZzyOduPbg");
    }
}
