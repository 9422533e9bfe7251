//! Local bearer tokens: HS256 JWTs with `sub` and `exp`, signed with `TIMELINE_JWT_SECRET`.
//! The local server checks them as API Gateway's authorizer does in AWS (which is why this
//! lives with the local runner: the deployed functions never see a token). `make token` and
//! the tests mint them here; the k6 scripts sign their own with the same secret.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use timeline_api::Authenticator;
use timeline_api::auth::BearerTokens;

/// How long a minted token is valid unless asked otherwise: a working day (`make token`, and
/// the web client's local sign-in).
pub const DEFAULT_TTL_SECS: u64 = 24 * 3600;

/// Leeway for clocks that disagree, as docs/API.md allows (at most 60 s).
const LEEWAY_SECS: u64 = 60;

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
}

/// How many verified tokens are remembered (a few MB at most; only valid tokens are kept).
const VERIFIED_TOKENS: u64 = 10_000;

/// Checks local tokens against one secret.
pub struct LocalTokens {
    key: DecodingKey,
    validation: Validation,
    /// The claims of tokens already verified. A token's signature is checked once, then only its
    /// expiry, as API Gateway's authorizer caches its answer per token in AWS: decoding and
    /// verifying every request's token was 4% of the local server's CPU on a cached read.
    verified: moka::sync::Cache<String, Arc<Claims>>,
}

impl LocalTokens {
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        // Only `sub` and `exp` matter locally; other claims (`aud` included) are ignored.
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["sub", "exp"]);
        Self {
            key: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            verified: moka::sync::Cache::new(VERIFIED_TOKENS),
        }
    }

    /// The subject of `token` if it is valid at `now` (seconds since the epoch).
    fn subject_at(&self, token: &str, now: u64) -> Option<String> {
        let claims = match self.verified.get(token) {
            Some(claims) => claims,
            None => {
                let claims = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).ok()?.claims;
                let claims = Arc::new(claims);
                self.verified.insert(token.to_owned(), Arc::clone(&claims));
                claims
            }
        };
        // jsonwebtoken's rule: expired once `exp` is more than the leeway in the past.
        (claims.exp + LEEWAY_SECS >= now).then(|| claims.sub.clone())
    }

    /// The router's authenticator for a local run.
    pub fn authenticator(secret: &str) -> Authenticator {
        Authenticator::Bearer(Arc::new(Self::new(secret)))
    }
}

impl BearerTokens for LocalTokens {
    fn subject(&self, token: &str) -> Option<String> {
        self.subject_at(token, unix_now())
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A local token for `user`, valid for `ttl_secs`.
pub fn mint(secret: &str, user: &str, ttl_secs: u64) -> String {
    let claims = Claims { sub: user.to_owned(), exp: unix_now() + ttl_secs };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing of plain claims cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verified_token_is_refused_once_it_expired() {
        let tokens = LocalTokens::new("secret");
        let token = mint("secret", "ann", 60);
        let now = unix_now();
        assert_eq!(tokens.subject_at(&token, now).as_deref(), Some("ann"));
        assert_eq!(
            tokens.subject_at(&token, now + 60 + LEEWAY_SECS).as_deref(),
            Some("ann"),
            "within the leeway"
        );
        assert_eq!(tokens.subject_at(&token, now + 60 + LEEWAY_SECS + 2), None, "remembered, but expired");
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused_every_time() {
        let tokens = LocalTokens::new("secret");
        let forged = mint("another secret", "ann", 60);
        assert_eq!(tokens.subject(&forged), None);
        assert_eq!(tokens.subject(&forged), None, "not remembered as valid");
        assert_eq!(tokens.subject(&mint("secret", "ann", 60)).as_deref(), Some("ann"));
    }
}
