//! The results files as types: the keys every scenario writes ([`Results`]) and each scenario's
//! `figures`. Serde makes every field required (a missing figure is the very thing `check` looks
//! for), lets unknown keys through (the suite may export more than this tool reads), and
//! [`Figures::validate`] adds what types cannot say: lists that must not be empty, and the counts
//! that land on a log axis being positive.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Scenario;

/// One scenario's file: the common keys around its figures.
#[derive(Debug, Clone, Deserialize)]
pub struct Results<F> {
    pub scenario: String,
    pub run: String,
    pub base_url: String,
    pub started_at: String,
    pub duration_s: f64,
    /// Every k6 threshold passed.
    pub thresholds_ok: bool,
    /// The thresholds, metric to condition(s).
    #[serde(deserialize_with = "thresholds")]
    pub slo: BTreeMap<String, Vec<String>>,
    pub figures: F,
}

/// A scenario's figures: which scenario writes them and what their types cannot check.
pub trait Figures: DeserializeOwned {
    const SCENARIO: Scenario;

    fn validate(&self) -> Result<(), String>;
}

impl<F: Figures> Results<F> {
    /// The checks beyond the types, for a file of `run`.
    pub fn validate(&self, run: &str) -> Result<(), String> {
        let expected = F::SCENARIO.name();
        if self.scenario != expected {
            return Err(format!("`scenario` is {:?}, expected {expected:?}", self.scenario));
        }
        if self.run != run {
            return Err(format!("`run` is {:?}, expected {run:?}", self.run));
        }
        OffsetDateTime::parse(&self.started_at, &Rfc3339)
            .map_err(|error| format!("`started_at` {:?} is not RFC 3339: {error}", self.started_at))?;
        self.figures.validate().map_err(|problem| format!("`figures`: {problem}"))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReadFigures {
    pub vus: u64,
    pub read_rate: f64,
    pub health_rate: f64,
    pub ratio: f64,
    pub read_p50_ms: f64,
    pub read_p99_ms: f64,
    pub health_p50_ms: f64,
    pub health_p99_ms: f64,
    pub by_followees: Vec<FolloweeFigures>,
}

/// Timeline reads of the readers who follow `followees` accounts.
#[derive(Debug, Clone, Deserialize)]
pub struct FolloweeFigures {
    pub followees: u64,
    pub requests: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Figures for ReadFigures {
    const SCENARIO: Scenario = Scenario::Read;

    fn validate(&self) -> Result<(), String> {
        not_empty("by_followees", &self.by_followees)?;
        positive("followees", self.by_followees.iter().map(|row| row.followees))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct MixFigures {
    pub slo_p99_ms: f64,
    pub step_s: f64,
    pub steps: Vec<MixStep>,
    /// Present but null when no rate qualifies (see [`super::knee`]).
    #[serde(deserialize_with = "required_nullable")]
    pub knee_rate: Option<f64>,
}

/// One step of the mix's rising offered rate.
#[derive(Debug, Clone, Deserialize)]
pub struct MixStep {
    pub offered_rate: f64,
    pub achieved_rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub failed_rate: f64,
    pub within_slo: bool,
}

impl Figures for MixFigures {
    const SCENARIO: Scenario = Scenario::Mix;

    fn validate(&self) -> Result<(), String> {
        not_empty("steps", &self.steps)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct BurstFigures {
    pub posts: u64,
    pub post_rate: f64,
    pub lag_p50_ms: f64,
    pub lag_p99_ms: f64,
    pub lag_max_ms: f64,
    /// The posts' own write, acceptance to 201 (part of the lag); absent from runs before it
    /// was measured.
    #[serde(default)]
    pub write_p99_ms: Option<f64>,
    /// From a probe's 201 to the page showing it (the watchers' own posts): the lag as a client
    /// sees it; absent from runs before probes.
    #[serde(default)]
    pub after_201_p99_ms: Option<f64>,
    pub drain_ms: f64,
    pub missed: u64,
    /// The empirical quantile function of the lag, q ascending in (0, 1].
    pub lag_quantiles: Vec<LagQuantile>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct LagQuantile {
    pub q: f64,
    pub ms: f64,
}

impl Figures for BurstFigures {
    const SCENARIO: Scenario = Scenario::Burst;

    fn validate(&self) -> Result<(), String> {
        not_empty("lag_quantiles", &self.lag_quantiles)?;
        let mut previous = 0.0;
        for quantile in &self.lag_quantiles {
            if !(quantile.q > previous && quantile.q <= 1.0) {
                return Err(format!("lag_quantiles: q {} is not ascending in (0, 1]", quantile.q));
            }
            previous = quantile.q;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CapFigures {
    pub posts: u64,
    pub post_rate: f64,
    /// The timeline length expected: the service's `TIMELINE_CAP`.
    pub cap: u64,
    pub followers: u64,
    /// Followers whose timeline was exactly the author's newest `cap` tweets in the last read.
    pub exact: u64,
    /// From the last 201 until every timeline was exact; present but null when never.
    #[serde(deserialize_with = "required_nullable")]
    pub settled_ms: Option<f64>,
    /// From the last 201 to the first full read: the resolution of `settled_ms`.
    pub first_check_ms: f64,
}

impl Figures for CapFigures {
    const SCENARIO: Scenario = Scenario::Cap;

    /// `settled_ms` says that every follower was exact: the two must agree.
    fn validate(&self) -> Result<(), String> {
        let (exact, followers) = (self.exact, self.followers);
        match self.settled_ms {
            _ if followers == 0 => Err("followers is 0: nothing was checked".to_owned()),
            _ if exact > followers => Err(format!("exact {exact} is more than followers {followers}")),
            Some(_) if exact < followers => {
                Err(format!("settled_ms is set but only {exact} of {followers} followers were exact"))
            }
            None if exact == followers => Err("settled_ms is null but every follower was exact".to_owned()),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct FanoutFigures {
    pub authors: Vec<FanoutAuthor>,
}

/// One tweet of an author with `followers` followers, timed at `sampled` of their timelines.
#[derive(Debug, Clone, Deserialize)]
pub struct FanoutAuthor {
    pub followers: u64,
    pub sampled: u64,
    pub first_ms: f64,
    pub all_ms: f64,
    pub missed: u64,
}

impl Figures for FanoutFigures {
    const SCENARIO: Scenario = Scenario::Fanout;

    fn validate(&self) -> Result<(), String> {
        not_empty("authors", &self.authors)?;
        positive("followers", self.authors.iter().map(|author| author.followers))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct LagFigures {
    pub rate: f64,
    pub posts: u64,
    pub lag_p50_ms: f64,
    pub lag_p95_ms: f64,
    pub lag_p99_ms: f64,
    pub lag_max_ms: f64,
    pub missed: u64,
}

impl Figures for LagFigures {
    const SCENARIO: Scenario = Scenario::Lag;

    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Home-timeline reads with Redis stopped, served from the durable timeline.
#[derive(Debug, Clone, Deserialize)]
pub struct DegradedFigures {
    pub vus: u64,
    pub degraded_rate: f64,
    pub degraded_p50_ms: f64,
    pub degraded_p99_ms: f64,
    /// Reads that were not a 200 with a non-empty page.
    pub degraded_failed: u64,
}

impl Figures for DegradedFigures {
    const SCENARIO: Scenario = Scenario::Degraded;

    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

fn not_empty<T>(name: &str, list: &[T]) -> Result<(), String> {
    if list.is_empty() { Err(format!("{name} is empty")) } else { Ok(()) }
}

/// Counts on a log axis: zero has no place there.
fn positive(name: &str, mut counts: impl Iterator<Item = u64>) -> Result<(), String> {
    if counts.any(|count| count == 0) { Err(format!("a {name} count is 0")) } else { Ok(()) }
}

/// An `Option` that must be present, as null or a value: with `deserialize_with` serde no longer
/// defaults a missing `Option` field to `None`.
fn required_nullable<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    Option::deserialize(deserializer)
}

/// The `slo` object: k6 lets a metric have one threshold or a list, so both are read.
fn thresholds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let map = BTreeMap::<String, OneOrMany>::deserialize(deserializer)?;
    Ok(map
        .into_iter()
        .map(|(metric, conditions)| match conditions {
            OneOrMany::One(condition) => (metric, vec![condition]),
            OneOrMany::Many(conditions) => (metric, conditions),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<F: Figures>(json: &str) -> Result<Results<F>, String> {
        let results: Results<F> = serde_json::from_str(json).map_err(|error| error.to_string())?;
        results.validate("r1").map(|()| results)
    }

    fn file(scenario: &str, figures: &str) -> String {
        format!(
            r#"{{"scenario":"{scenario}","run":"r1","base_url":"http://x","started_at":"2026-12-01T10:00:00Z",
                "duration_s":60,"thresholds_ok":true,"slo":{{"a":"p(99)<200","b":["rate<0.01","count>1"]}},
                "figures":{figures}}}"#
        )
    }

    #[test]
    fn a_lag_file_parses_with_either_form_of_threshold() {
        let figures = r#"{"rate":5,"posts":300,"lag_p50_ms":10,"lag_p95_ms":20.5,"lag_p99_ms":30,
                          "lag_max_ms":90,"missed":0}"#;
        let results = parse::<LagFigures>(&file("lag", figures)).unwrap();
        assert_eq!(results.figures.lag_p95_ms, 20.5);
        assert_eq!(results.slo["a"], ["p(99)<200"]);
        assert_eq!(results.slo["b"], ["rate<0.01", "count>1"]);
    }

    #[test]
    fn a_missing_figure_is_named() {
        let figures = r#"{"rate":5,"posts":300,"lag_p50_ms":10,"lag_p99_ms":30,"lag_max_ms":90,"missed":0}"#;
        let error = parse::<LagFigures>(&file("lag", figures)).unwrap_err();
        assert!(error.contains("missing field `lag_p95_ms`"), "{error}");
    }

    #[test]
    fn a_degraded_file_needs_every_figure() {
        let figures = r#"{"vus":8,"degraded_rate":310.5,"degraded_p50_ms":21,"degraded_p99_ms":64.2,
                          "degraded_failed":0}"#;
        let results = parse::<DegradedFigures>(&file("degraded", figures)).unwrap();
        assert_eq!(results.figures.degraded_p99_ms, 64.2);
        let renamed = figures.replace("\"degraded_failed\"", "\"failed\"");
        let error = parse::<DegradedFigures>(&file("degraded", &renamed)).unwrap_err();
        assert!(error.contains("missing field `degraded_failed`"), "{error}");
        // What k6 exports for a trend without a sample: a run whose reads never came back.
        let no_reads = figures.replace("64.2", "null");
        let error = parse::<DegradedFigures>(&file("degraded", &no_reads)).unwrap_err();
        assert!(error.contains("invalid type: null"), "{error}");
    }

    #[test]
    fn a_null_knee_is_read_but_a_missing_one_is_not() {
        let steps = r#"[{"offered_rate":10,"achieved_rate":10,"p50_ms":5,"p99_ms":9,"failed_rate":0,"within_slo":true}]"#;
        let with_null = format!(r#"{{"slo_p99_ms":200,"step_s":30,"steps":{steps},"knee_rate":null}}"#);
        assert_eq!(parse::<MixFigures>(&file("mix", &with_null)).unwrap().figures.knee_rate, None);
        let without = format!(r#"{{"slo_p99_ms":200,"step_s":30,"steps":{steps}}}"#);
        let error = parse::<MixFigures>(&file("mix", &without)).unwrap_err();
        assert!(error.contains("missing field `knee_rate`"), "{error}");
    }

    #[test]
    fn what_types_cannot_check() {
        let quantiles = |list: &str| {
            format!(
                r#"{{"posts":1,"post_rate":1,"lag_p50_ms":1,"lag_p99_ms":1,"lag_max_ms":1,"drain_ms":1,
                     "missed":0,"lag_quantiles":{list}}}"#
            )
        };
        let descending =
            parse::<BurstFigures>(&file("burst", &quantiles(r#"[{"q":0.5,"ms":1},{"q":0.4,"ms":2}]"#)));
        assert!(descending.unwrap_err().contains("not ascending"));
        let empty = parse::<BurstFigures>(&file("burst", &quantiles("[]")));
        assert_eq!(empty.unwrap_err(), "`figures`: lag_quantiles is empty");
        let zero = r#"{"authors":[{"followers":0,"sampled":0,"first_ms":1,"all_ms":1,"missed":0}]}"#;
        assert!(parse::<FanoutFigures>(&file("fanout", zero)).unwrap_err().contains("followers count is 0"));
    }

    fn cap(exact: u64, settled_ms: &str) -> Result<Results<CapFigures>, String> {
        let figures = format!(
            r#"{{"posts":820,"post_rate":300,"cap":800,"followers":3,"exact":{exact},
                 "settled_ms":{settled_ms},"first_check_ms":90}}"#
        );
        parse::<CapFigures>(&file("cap", &figures))
    }

    #[test]
    fn a_cap_file_says_whether_every_timeline_settled() {
        assert_eq!(cap(3, "640").unwrap().figures.settled_ms, Some(640.0));
        assert_eq!(cap(2, "null").unwrap().figures.settled_ms, None);
        let missing = parse::<CapFigures>(&file(
            "cap",
            r#"{"posts":1,"post_rate":1,"cap":800,"followers":3,"exact":0,"first_check_ms":1}"#,
        ));
        assert!(missing.unwrap_err().contains("missing field `settled_ms`"));
        assert!(cap(2, "640").unwrap_err().contains("only 2 of 3 followers were exact"));
        assert!(cap(3, "null").unwrap_err().contains("settled_ms is null but every follower was exact"));
        assert!(cap(4, "640").unwrap_err().contains("exact 4 is more than followers 3"));
    }

    #[test]
    fn the_common_keys_must_match_the_file() {
        let figures = r#"{"authors":[{"followers":10,"sampled":1,"first_ms":1,"all_ms":1,"missed":0}]}"#;
        let error = parse::<FanoutFigures>(&file("lag", figures)).unwrap_err();
        assert_eq!(error, r#"`scenario` is "lag", expected "fanout""#);
        let late = file("fanout", figures).replace("2026-12-01T10:00:00Z", "yesterday");
        assert!(parse::<FanoutFigures>(&late).unwrap_err().contains("not RFC 3339"));
    }
}
