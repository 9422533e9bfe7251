//! Who is calling. In AWS, API Gateway's Cognito/JWT authorizer has already validated the token
//! and the function reads the claims from the request context; locally the server checks
//! bearer tokens itself (the one local-only path besides the stream poller). The check itself
//! ([`BearerTokens`]) is the local runner's, so the deployed functions carry no token code.
//! Both end in a `Principal`, and no handler reads headers for identity.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use lambda_http::request::RequestContext;
use timeline_model::UserId;

use crate::error::ApiError;

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

/// Checks a bearer token and names its subject: `None` for a token that is invalid or expired.
pub trait BearerTokens: Send + Sync {
    fn subject(&self, token: &str) -> Option<String>;
}

/// Where identities come from.
#[derive(Clone)]
pub enum Authenticator {
    /// API Gateway validated the token; read `sub` from the authorizer's claims.
    ApiGateway,
    /// Check `Authorization: Bearer` tokens here (local runs).
    Bearer(Arc<dyn BearerTokens>),
}

impl Authenticator {
    fn subject(&self, parts: &Parts) -> Result<String, ApiError> {
        match self {
            Authenticator::ApiGateway => authorizer_subject(parts),
            Authenticator::Bearer(tokens) => bearer_subject(parts, tokens.as_ref()),
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

fn bearer_subject(parts: &Parts, tokens: &dyn BearerTokens) -> Result<String, ApiError> {
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
    tokens.subject(token.trim()).ok_or(ApiError::Unauthenticated("the token is invalid or expired"))
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
