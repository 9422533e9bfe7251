//! Secrets read at start-up from SSM Parameter Store (a SecureString), so that they never
//! travel as CloudFormation parameters or sit in a function's configuration.
//!
//! `TIMELINE_CURSOR_SECRET_PARAMETER` names a parameter: it is read once per container, while
//! the clients are built (the init phase), and handed to the settings as
//! `TIMELINE_CURSOR_SECRET`, so everything after start-up is as if that had been set. The read
//! uses the SDK, not the Parameters and Secrets Lambda Extension, because the extension only
//! answers during invocations, and the settings are read before the first.

use aws_sdk_ssm::error::{DisplayErrorContext, ProvideErrorMetadata};

use crate::settings::Environment;

/// The secret settings that may come from Parameter Store.
const FROM_PARAMETERS: &[&str] = &["TIMELINE_CURSOR_SECRET"];

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("set {name} or {name}_PARAMETER, not both")]
    Ambiguous { name: &'static str },
    #[error("{name}: parameter {parameter} cannot be read: {reason}")]
    Unreadable { name: &'static str, parameter: String, reason: String },
    #[error("{name}: parameter {parameter} holds no value")]
    Empty { name: &'static str, parameter: String },
}

/// `env` with every secret that names a parameter read from Parameter Store. Nothing is read
/// (and no client built) when none does: locally and in tests the secrets are set directly.
pub async fn read_secrets(mut env: Environment) -> Result<Environment, SecretError> {
    let mut wanted = Vec::new();
    for &name in FROM_PARAMETERS {
        if let Some(parameter) = parameter_of(&env, name)? {
            wanted.push((name, parameter));
        }
    }
    if wanted.is_empty() {
        return Ok(env);
    }
    let client = aws_sdk_ssm::Client::new(&crate::dynamo::aws_loader().load().await);
    for (name, parameter) in wanted {
        let value = read(&client, name, &parameter).await?;
        env.set(name, value);
    }
    Ok(env)
}

fn parameter_of(env: &Environment, name: &'static str) -> Result<Option<String>, SecretError> {
    match (env.get(name), env.get(&format!("{name}_PARAMETER"))) {
        (_, None) => Ok(None),
        (None, Some(parameter)) => Ok(Some(parameter.to_owned())),
        (Some(_), Some(_)) => Err(SecretError::Ambiguous { name }),
    }
}

async fn read(
    client: &aws_sdk_ssm::Client,
    name: &'static str,
    parameter: &str,
) -> Result<String, SecretError> {
    let read = client.get_parameter().name(parameter).with_decryption(true).send().await;
    let output = read.map_err(|error| {
        // The service's code says it best (ParameterNotFound, AccessDeniedException); the
        // context chain for the rest (no credentials, unreachable endpoint).
        let reason = match error.code() {
            Some(code) => format!("{code}: {}", error.message().unwrap_or_default()),
            None => DisplayErrorContext(&error).to_string(),
        };
        SecretError::Unreadable { name, parameter: parameter.to_owned(), reason }
    })?;
    output
        .parameter
        .and_then(|p| p.value)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| SecretError::Empty { name, parameter: parameter.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_secret_set_directly_needs_no_parameter_and_both_are_refused() {
        let direct = Environment::from_pairs([("TIMELINE_CURSOR_SECRET", "x".repeat(32).leak() as &str)]);
        assert!(read_secrets(direct).await.is_ok(), "nothing to read");
        let both = Environment::from_pairs([
            ("TIMELINE_CURSOR_SECRET", "set"),
            ("TIMELINE_CURSOR_SECRET_PARAMETER", "/timeline/cursor"),
        ]);
        let error = read_secrets(both).await.unwrap_err();
        assert!(matches!(error, SecretError::Ambiguous { .. }), "{error}");
    }
}
