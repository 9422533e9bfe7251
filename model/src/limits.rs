//! Posting limits and idempotency keys: what a client may repeat, and how often it may post.

use std::time::Duration;

use crate::values::ValidationError;

/// At most `max` posts per user in any sliding `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u32,
    pub window: Duration,
}

impl RateLimit {
    /// The default: 300 tweets per 3 hours.
    pub const DEFAULT: RateLimit = RateLimit { max: 300, window: Duration::from_secs(3 * 3600) };

    /// `N/<count><s|m|h|d>` (e.g. `300/3h`, `10/1m`), or `off` for no limit.
    pub fn parse(raw: &str) -> Result<Option<Self>, ValidationError> {
        let invalid =
            || ValidationError::new("post limit", "must be N/<count><s|m|h|d> (e.g. 300/3h) or off");
        if raw.trim().eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let (max, window) = raw.trim().split_once('/').ok_or_else(invalid)?;
        let max: u32 = max.parse().ok().filter(|n| *n > 0).ok_or_else(invalid)?;
        let window = parse_span(window).ok_or_else(invalid)?;
        Ok(Some(Self { max, window }))
    }
}

/// A span of time as `<count><s|m|h|d>` (`90s`, `3h`, `7d`; a missing count is 1); `None` when
/// it is not one, or is zero.
pub fn parse_span(raw: &str) -> Option<Duration> {
    let unit_at = raw.find(|c: char| !c.is_ascii_digit())?;
    let (count, unit) = raw.split_at(unit_at);
    let count: u64 = if count.is_empty() { 1 } else { count.parse().ok()? };
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    count.checked_mul(unit_secs).filter(|s| *s > 0).map(Duration::from_secs)
}

/// A client's `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.is_empty() || raw.len() > 255 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ValidationError::new("Idempotency-Key", "must be 1 to 255 visible ASCII characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_limits_parse() {
        assert_eq!(RateLimit::parse("300/3h").unwrap(), Some(RateLimit::DEFAULT));
        assert_eq!(RateLimit::parse("off").unwrap(), None);
        assert_eq!(RateLimit::parse("5/m").unwrap().unwrap().window, Duration::from_secs(60));
        assert_eq!(RateLimit::parse("2/90s").unwrap().unwrap().max, 2);
        assert_eq!(parse_span("7d"), Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_span("h"), Some(Duration::from_secs(3600)));
        for bad in ["", "300", "0/1h", "x/1h", "3/1w", "3/0h", "3/h1", "-1/1h"] {
            assert!(RateLimit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn idempotency_keys() {
        assert!(IdempotencyKey::parse("f7a1-22").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }
}
