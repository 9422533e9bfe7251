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

/// Codes that mean "this request can never succeed": retrying it only holds up what follows
/// (a stream record that gets one is skipped, not retried until the shard's retries run out).
/// Not the codes of a misconfigured stack (ResourceNotFoundException, AccessDeniedException):
/// those fail every request alike, and skipping records for them would drop them all, so
/// they count as unavailable and the shard waits, with its IteratorAge alarm, for a fix.
const REJECTED: &[&str] = &["ValidationException", "SerializationException"];

/// Map any operation's SDK error into the port's error.
pub fn classify<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = error.code().map(str::to_owned);
    let source = Box::new(error);
    let backend = Backend::DynamoDb;
    match code.as_deref() {
        Some(code) if THROTTLING.contains(&code) => StoreError::Throttled { backend, source },
        Some(code) if REJECTED.contains(&code) => StoreError::Rejected { backend, source },
        _ => StoreError::Unavailable { backend, source },
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
