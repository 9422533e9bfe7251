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

/// Checks local tokens against one secret.
pub struct LocalTokens {
    key: DecodingKey,
    validation: Validation,
}

impl LocalTokens {
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        // Only `sub` and `exp` matter locally; other claims (`aud` included) are ignored.
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["sub", "exp"]);
        Self { key: DecodingKey::from_secret(secret.as_bytes()), validation }
    }

    /// The router's authenticator for a local run.
    pub fn authenticator(secret: &str) -> Authenticator {
        Authenticator::Bearer(Arc::new(Self::new(secret)))
    }
}

impl BearerTokens for LocalTokens {
    fn subject(&self, token: &str) -> Option<String> {
        jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).ok().map(|data| data.claims.sub)
    }
}

/// A local token for `user`, valid for `ttl_secs`.
pub fn mint(secret: &str, user: &str, ttl_secs: u64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let claims = Claims { sub: user.to_owned(), exp: now + ttl_secs };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing of plain claims cannot fail")
}
