//! Typed values of the domain. Each one can only be built by parsing, so a `TweetText` of 281
//! characters or a `Username` with a space cannot exist anywhere in the program.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Why a value was rejected; the message is safe to show to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    pub field: &'static str,
    pub reason: &'static str,
}

impl ValidationError {
    pub fn new(field: &'static str, reason: &'static str) -> Self {
        Self { field, reason }
    }
}

/// Serialize as the plain string and deserialize through `parse` (or the `decode` given), so
/// stored items that no longer satisfy the rules surface as decode errors instead of invalid
/// values.
macro_rules! string_value {
    ($ty:ident) => {
        string_value!($ty, parse);
    };
    ($ty:ident, $decode:ident) => {
        impl $ty {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Self::$decode(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// The opaque ID of a user: the `sub` claim of their token. Restricted to characters that are
/// safe inside DynamoDB keys, Redis hash tags (`{...}`) and URL path segments.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(String);
string_value!(UserId);

impl UserId {
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@');
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(ValidationError::new("user_id", "must be 1 to 128 characters"));
        }
        if !raw.chars().all(allowed) {
            return Err(ValidationError::new("user_id", "may only contain A-Z a-z 0-9 - _ . : @"));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// A public handle: 1 to 15 characters of `[A-Za-z0-9_]`, unique case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);
string_value!(Username);

impl Username {
    pub const MAX_LEN: usize = 15;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(ValidationError::new("username", "must be 1 to 15 characters"));
        }
        if !raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ValidationError::new("username", "may only contain A-Z a-z 0-9 _"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The form uniqueness and look-ups use: `Alice` and `alice` are the same handle.
    pub fn canonical(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// A display name: 0 to 50 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DisplayName(String);
string_value!(DisplayName);

impl DisplayName {
    pub const MAX_CHARS: usize = 50;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new("display_name", "must be at most 50 characters"));
        }
        if raw.chars().any(char::is_control) {
            return Err(ValidationError::new("display_name", "must not contain control characters"));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// The text of a tweet: 1 to 280 Unicode scalar values with at least one visible character
/// (not whitespace, not default-ignorable: see [`is_invisible`]), no control characters other
/// than a line feed, and every bidirectional embedding, override or isolate it opens closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TweetText(String);
string_value!(TweetText, decode_stored);

impl TweetText {
    pub const MAX_CHARS: usize = 280;

    /// A new tweet's text, under every rule.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let text = Self::decode_stored(raw)?;
        if raw.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
            return Err(ValidationError::new("text", "must contain at least one visible character"));
        }
        if !bidi_controls_balanced(raw) {
            return Err(ValidationError::new(
                "text",
                "must close every bidirectional embedding, override or isolate it opens (U+202A-U+202E, U+2066-U+2069)",
            ));
        }
        Ok(text)
    }

    /// A stored text, under the rules of its day: the visibility and bidirectional rules came
    /// later, and a tweet accepted before them must still be served, fanned out and deleted.
    fn decode_stored(raw: &str) -> Result<Self, ValidationError> {
        if raw.trim().is_empty() {
            return Err(ValidationError::new("text", "must not be empty or only whitespace"));
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new("text", "must be at most 280 characters"));
        }
        if raw.chars().any(|c| c.is_control() && c != '\n') {
            return Err(ValidationError::new("text", "must not contain control characters other than \\n"));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): characters a renderer
/// shows as nothing, such as U+200B ZERO WIDTH SPACE, U+2060 WORD JOINER, U+FEFF, the Hangul
/// fillers and the variation selectors. Written out here because it is 17 ranges that Unicode
/// keeps stable, not worth a dependency.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{AD}'
            | '\u{34F}'
            | '\u{61C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Whether every embedding or override (U+202A-U+202E) is closed by a POP DIRECTIONAL
/// FORMATTING and every isolate (U+2066-U+2068) by a POP DIRECTIONAL ISOLATE, properly nested
/// (and nothing popped that was not opened). A tweet is shown inside other text: an open
/// override would reverse the page after it (the "Trojan Source" trick), a balanced one only
/// lays out right-to-left words.
fn bidi_controls_balanced(text: &str) -> bool {
    const POP_FORMATTING: char = '\u{202C}';
    const POP_ISOLATE: char = '\u{2069}';
    let mut open = Vec::new();
    for c in text.chars() {
        match c {
            '\u{202A}' | '\u{202B}' | '\u{202D}' | '\u{202E}' => open.push(POP_FORMATTING),
            '\u{2066}'..='\u{2068}' => open.push(POP_ISOLATE),
            POP_FORMATTING | POP_ISOLATE if open.pop() != Some(c) => return false,
            _ => {}
        }
    }
    open.is_empty()
}

/// A UTC instant with millisecond precision, written as RFC 3339 (`2026-11-22T13:00:00.123Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_unix_millis(unix_millis(OffsetDateTime::now_utc()))
    }

    pub fn from_unix_millis(millis: u64) -> Self {
        let nanos = i128::from(millis) * 1_000_000;
        Self(OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH))
    }

    pub fn unix_millis(self) -> u64 {
        unix_millis(self.0)
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        OffsetDateTime::parse(raw, &Rfc3339)
            .map(|t| Self::from_unix_millis(unix_millis(t)))
            .map_err(|_| ValidationError::new("timestamp", "must be an RFC 3339 date-time"))
    }
}

fn unix_millis(t: OffsetDateTime) -> u64 {
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

impl Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, written digit by digit: every tweet of every page is
    /// serialised through here, and `write!` with seven formatted fields cost more than the rest
    /// of the tweet (api/benches/home_read.rs).
    fn rfc3339(self) -> [u8; 24] {
        fn digits(out: &mut [u8], mut value: u32) {
            for slot in out.iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        let (year, month, day) = self.0.to_calendar_date();
        let (hour, minute, second, milli) = self.0.to_hms_milli();
        let mut out = *b"0000-00-00T00:00:00.000Z";
        // Years before 0 or after 9999 cannot come from a ULID or a parsed timestamp.
        digits(&mut out[0..4], year.clamp(0, 9999) as u32);
        digits(&mut out[5..7], u8::from(month).into());
        digits(&mut out[8..10], day.into());
        digits(&mut out[11..13], hour.into());
        digits(&mut out[14..16], minute.into());
        digits(&mut out[17..19], second.into());
        digits(&mut out[20..23], milli.into());
        out
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.rfc3339();
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.rfc3339();
        serializer.serialize_str(std::str::from_utf8(&text).map_err(serde::ser::Error::custom)?)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tweet_text_counts_unicode_scalar_values_not_bytes() {
        assert!(TweetText::parse(&"é".repeat(280)).is_ok());
        assert!(TweetText::parse(&"😀".repeat(280)).is_ok());
        assert!(TweetText::parse(&"😀".repeat(281)).is_err());
    }

    #[test]
    fn tweet_text_needs_a_visible_character() {
        for invisible in ["\u{200B}", "\u{FEFF}", "\u{2060}", " \u{200B}\n\u{3164} ", "\u{FE0F}\u{AD}"] {
            let refused = TweetText::parse(invisible).unwrap_err();
            assert_eq!(
                refused.to_string(),
                "text: must contain at least one visible character",
                "{invisible:?}"
            );
        }
        assert!(TweetText::parse("a\u{200B}b").is_ok(), "an invisible character beside visible ones");
        assert!(TweetText::parse("\u{2764}\u{FE0F}").is_ok(), "an emoji with its variation selector");
        assert!(TweetText::parse("\u{301}").is_ok(), "a lone combining mark shows on a dotted circle");
    }

    #[test]
    fn a_stored_tweet_accepted_before_the_visibility_rules_still_decodes() {
        let stored: TweetText = serde_json::from_str("\"\\u202e\"").unwrap();
        assert_eq!(stored.as_str(), "\u{202E}");
        assert!(TweetText::parse("\u{202E}").is_err());
    }

    #[test]
    fn tweet_text_refuses_an_unclosed_bidirectional_control() {
        for unbalanced in [
            "\u{202E}",
            "abc\u{202E}def",
            "a\u{2067}b",
            "a\u{202C}b",
            "\u{202E}a\u{2069}",
            "\u{2066}\u{202A}x\u{2069}\u{202C}",
        ] {
            assert!(TweetText::parse(unbalanced).is_err(), "{unbalanced:?}");
        }
        for balanced in
            ["\u{202E}abc\u{202C} def", "x \u{2067}שלום\u{2069} y", "\u{2066}\u{202B}x\u{202C}\u{2069}"]
        {
            assert!(TweetText::parse(balanced).is_ok(), "{balanced:?}");
        }
    }

    #[test]
    fn tweet_text_rejects_blank_and_control_characters_but_keeps_newlines() {
        assert!(TweetText::parse(" \n\t ").is_err());
        assert!(TweetText::parse("a\tb").is_err());
        assert!(TweetText::parse("a\u{7}").is_err());
        assert!(TweetText::parse("line one\nline two").is_ok());
    }

    #[test]
    fn username_rules() {
        assert!(Username::parse("a").is_ok());
        assert!(Username::parse("Alice_123456789").is_ok());
        assert!(Username::parse("Alice_1234567890").is_err());
        assert!(Username::parse("").is_err());
        assert!(Username::parse("al ice").is_err());
        assert!(Username::parse("alicé").is_err());
        assert_eq!(Username::parse("AliCe").unwrap().canonical(), "alice");
    }

    #[test]
    fn display_name_rules() {
        assert!(DisplayName::parse("").is_ok());
        assert!(DisplayName::parse(&"ü".repeat(50)).is_ok());
        assert!(DisplayName::parse(&"ü".repeat(51)).is_err());
        assert!(DisplayName::parse("a\nb").is_err());
    }

    #[test]
    fn user_id_rejects_hash_tag_braces_and_slashes() {
        assert!(UserId::parse("4f1c-9a:dev@x.y_z").is_ok());
        assert!(UserId::parse("a{b}").is_err());
        assert!(UserId::parse("a/b").is_err());
        assert!(UserId::parse("").is_err());
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        let t = Timestamp::from_unix_millis(1_795_870_800_123);
        assert_eq!(t.to_string(), "2026-11-28T13:00:00.123Z");
        assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn timestamps_print_as_rfc3339_and_parse_back(millis in 0u64..253_402_300_799_999) {
            let t = Timestamp::from_unix_millis(millis);
            let printed = t.to_string();
            let expected = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).unwrap();
            prop_assert_eq!(&printed[..19], expected.format(&time::format_description::well_known::Rfc3339).unwrap()[..19].to_owned());
            prop_assert_eq!(Timestamp::parse(&printed).unwrap(), t);
            prop_assert_eq!(serde_json::to_string(&t).ok(), Some(format!("\"{printed}\"")));
        }

        #[test]
        fn tweet_text_accepts_exactly_1_to_280_scalar_values_of_printable_text(
            text in "[a-zé😀 \\n]{0,300}",
        ) {
            let chars = text.chars().count();
            let expected = chars <= 280 && !text.trim().is_empty();
            prop_assert_eq!(TweetText::parse(&text).is_ok(), expected);
        }

        #[test]
        fn multi_byte_text_is_counted_in_characters_at_the_boundary(c in any::<char>().prop_filter("visible", |c| !c.is_control() && !c.is_whitespace() && !is_invisible(*c))) {
            prop_assert!(TweetText::parse(&c.to_string().repeat(280)).is_ok());
            prop_assert!(TweetText::parse(&c.to_string().repeat(281)).is_err());
        }

        #[test]
        fn any_text_with_a_control_character_other_than_newline_is_refused(
            before in "[a-z]{0,10}",
            control in any::<char>().prop_filter("control, not newline", |c| c.is_control() && *c != '\n'),
            after in "[a-z]{1,10}",
        ) {
            let text = format!("{before}{control}{after}");
            prop_assert!(TweetText::parse(&text).is_err());
        }

        #[test]
        fn usernames_match_the_contract_pattern(name in "\\PC{0,20}") {
            let expected = (1..=15).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            prop_assert_eq!(Username::parse(&name).is_ok(), expected);
        }

        #[test]
        fn display_names_are_at_most_50_characters_without_control_characters(name in "\\PC{0,60}") {
            let expected = name.chars().count() <= 50 && !name.chars().any(char::is_control);
            prop_assert_eq!(DisplayName::parse(&name).is_ok(), expected);
        }

        #[test]
        fn parsing_never_panics_on_arbitrary_input(raw in any::<String>()) {
            let _ = (TweetText::parse(&raw), Username::parse(&raw), DisplayName::parse(&raw), UserId::parse(&raw), Timestamp::parse(&raw));
        }
    }
}
