//! A small circuit breaker in front of Redis, one per process (per Lambda container).
//!
//! While Redis is unreachable every call would wait out its time-out (a second), and a read
//! makes several: the page, the merged authors' lists, the bodies. After one call fails to reach
//! Redis, the breaker fails every call at once for `OPEN_FOR`, so a read in an outage costs about
//! one DynamoDB query; then calls go through again, and the first to fail opens it again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long calls fail fast after Redis could not be reached.
const OPEN_FOR: Duration = Duration::from_secs(2);

/// Shared by every clone of the cache.
#[derive(Clone)]
pub struct Breaker {
    /// When the breaker was made: the clock the times below count from.
    epoch: Instant,
    /// Milliseconds after `epoch` until which calls fail fast (0: closed).
    open_until_ms: Arc<AtomicU64>,
}

impl Breaker {
    pub fn new() -> Self {
        Self { epoch: Instant::now(), open_until_ms: Arc::new(AtomicU64::new(0)) }
    }

    /// Whether calls may go to Redis now.
    pub fn is_closed(&self) -> bool {
        self.now_ms() >= self.open_until_ms.load(Ordering::Relaxed)
    }

    /// Redis could not be reached: fail fast for a while.
    pub fn trip(&self) {
        let until = self.now_ms() + OPEN_FOR.as_millis() as u64;
        let before = self.open_until_ms.swap(until, Ordering::Relaxed);
        if before <= self.now_ms() {
            tracing::warn!(
                seconds = OPEN_FOR.as_secs(),
                "Redis unreachable: cache calls fail fast for a while"
            );
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trip_opens_the_breaker_for_a_while() {
        let breaker = Breaker::new();
        assert!(breaker.is_closed());
        breaker.trip();
        assert!(!breaker.clone().is_closed(), "clones share the state");
        breaker.open_until_ms.store(breaker.now_ms(), Ordering::Relaxed);
        assert!(breaker.is_closed(), "closed again once the time is up");
    }
}
