//! The DynamoDB calls a client makes, counted by operation (every attempt, retries included):
//! what a request really costs, for tests and tools.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;

/// Calls so far per operation (`Query`, `BatchGetItem`, ...), shared by a client's clones.
#[derive(Clone, Debug, Default)]
pub struct Calls(Arc<Mutex<BTreeMap<String, u64>>>);

impl Calls {
    pub fn by_operation(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// The interceptor that counts into these.
    pub(super) fn counter(&self) -> Counter {
        Counter(self.clone())
    }
}

#[derive(Debug)]
pub(super) struct Counter(Calls);

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The JSON protocol names the operation in a header: `DynamoDB_20120810.Query`.
        let target = context.request().headers().get("x-amz-target").unwrap_or("unknown");
        let operation = target.rsplit('.').next().unwrap_or(target).to_owned();
        *self.0.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).entry(operation).or_default() += 1;
        Ok(())
    }
}
