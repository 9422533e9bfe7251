//! Jittered, capped exponential backoff for partial failures (unprocessed batch items,
//! conflicting transactions). "Full jitter": a random delay up to the exponential bound, so that
//! many writers retrying at once spread out instead of colliding again.

use std::time::Duration;

use rand::Rng;

/// How hard to retry.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    pub max_attempts: u32,
}

impl Backoff {
    /// For writes on the fan-out path: about 6 s of patience in all.
    pub const WRITES: Backoff =
        Backoff { base: Duration::from_millis(25), cap: Duration::from_secs(2), max_attempts: 8 };

    /// The delay before retry number `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponential = self.base.saturating_mul(1u32 << attempt.min(16));
        let bound = exponential.min(self.cap);
        let millis = u64::try_from(bound.as_millis()).unwrap_or(u64::MAX).max(1);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }

    /// Sleep before retry number `attempt`.
    pub async fn wait(&self, attempt: u32) {
        tokio::time::sleep(self.delay(attempt)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_but_never_pass_the_cap() {
        let backoff =
            Backoff { base: Duration::from_millis(10), cap: Duration::from_millis(300), max_attempts: 20 };
        for attempt in 1..20 {
            assert!(backoff.delay(attempt) <= Duration::from_millis(300));
        }
        let early_max = (0..200).map(|_| backoff.delay(1)).max().unwrap();
        assert!(early_max <= Duration::from_millis(20));
    }
}
