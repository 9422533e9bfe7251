//! Who is calling. In AWS, API Gateway's Cognito/JWT authorizer has already validated the token
//! and the function reads the claims from the request context; locally the server checks HS256
//! tokens itself (the one local-only path besides the stream poller). Both end in a `Principal`,
//! and no handler reads headers for identity.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lambda_http::request::RequestContext;
use serde::{Deserialize, Serialize};
use timeline_model::UserId;

use crate::error::ApiError;

/// Leeway for clocks that disagree, as docs/API.md allows (at most 60 s).
const LEEWAY_SECS: u64 = 60;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
}

impl Principal {
    /// Refuse to act for anyone else.
    pub fn must_be(&self, user: &UserId) -> Result<(), ApiError> {
        if &self.user_id == user {
            Ok(())
        } else {
            Err(ApiError::Forbidden("you can only do this for yourself"))
        }
    }
}

/// Where identities come from.
#[derive(Clone)]
pub enum Authenticator {
    /// API Gateway validated the token; read `sub` from the authorizer's claims.
    ApiGateway,
    /// Validate `Authorization: Bearer` HS256 tokens with this secret (local runs).
    LocalHs256(Arc<DecodingKey>),
}

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
}

impl Authenticator {
    pub fn local(secret: &str) -> Self {
        Self::LocalHs256(Arc::new(DecodingKey::from_secret(secret.as_bytes())))
    }

    fn subject(&self, parts: &Parts) -> Result<String, ApiError> {
        match self {
            Authenticator::ApiGateway => authorizer_subject(parts),
            Authenticator::LocalHs256(key) => bearer_subject(parts, key),
        }
    }
}

/// `sub` from the REST API's Cognito authorizer (`authorizer.claims.sub`) or the HTTP API's
/// JWT authorizer (`authorizer.jwt.claims.sub`).
fn authorizer_subject(parts: &Parts) -> Result<String, ApiError> {
    let missing = ApiError::Unauthenticated("no authorizer claims on the request");
    let sub = match parts.extensions.get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV1(context)) => context
            .authorizer
            .fields
            .get("claims")
            .and_then(|claims| claims.get("sub"))
            .and_then(|sub| sub.as_str())
            .map(str::to_owned),
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|authorizer| authorizer.jwt.as_ref())
            .and_then(|jwt| jwt.claims.get("sub").cloned()),
        _ => None,
    };
    sub.ok_or(missing)
}

fn bearer_subject(parts: &Parts, key: &DecodingKey) -> Result<String, ApiError> {
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated("missing Authorization: Bearer token"))?;
    // The scheme is case-insensitive (RFC 9110).
    let token = header
        .to_str()
        .ok()
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token)
        .ok_or(ApiError::Unauthenticated("the Authorization header must be: Bearer <token>"))?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = LEEWAY_SECS;
    // Only `sub` and `exp` matter locally; other claims (`aud` included) are ignored.
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["sub", "exp"]);
    let data = jsonwebtoken::decode::<Claims>(token.trim(), key, &validation)
        .map_err(|_| ApiError::Unauthenticated("the token is invalid or expired"))?;
    Ok(data.claims.sub)
}

/// Mint a local HS256 token for `user` valid for `ttl_secs` (the dev token command, tests, k6).
pub fn mint_local_token(secret: &str, user: &str, ttl_secs: u64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let claims = Claims { sub: user.to_owned(), exp: now + ttl_secs };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing of plain claims cannot fail")
}

impl<S: Send + Sync> FromRequestParts<S> for Principal
where
    Authenticator: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let sub = Authenticator::from_ref(state).subject(parts)?;
        let user_id = UserId::parse(&sub)
            .map_err(|_| ApiError::Unauthenticated("the token's subject is not a valid user ID"))?;
        Ok(Principal { user_id })
    }
}
