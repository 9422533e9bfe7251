//! SDK errors classified by their code, never by their message.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use timeline_model::ports::{Backend, StoreError};

/// Codes that mean "slow down": worth a later retry.
const THROTTLING: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "LimitExceededException",
];

/// Map any operation's SDK error into the port's error.
pub fn classify<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let throttled = error.code().is_some_and(|code| THROTTLING.contains(&code));
    let source = Box::new(error);
    if throttled {
        StoreError::Throttled { backend: Backend::DynamoDb, source }
    } else {
        StoreError::Unavailable { backend: Backend::DynamoDb, source }
    }
}

/// An item, or a value in one, that does not decode into the domain.
pub fn corrupt(what: &'static str, error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Corrupt { what, source: Box::new(error) }
}

/// Whether a service error carries this code (conditional check failures, conflicts).
pub fn has_code<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>, code: &str) -> bool {
    error.code() == Some(code)
}
