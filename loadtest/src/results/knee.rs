//! The mix scenario's knee: the highest offered rate the service served within its p99 SLO. The
//! suite computes it (`knee_rate`) and this tool never second-guesses a number it was given; when
//! the file's knee is null, the steps tell why, so the plot and the summary can say it.

use super::formats::MixFigures;
use super::number;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Knee {
    /// The suite's knee, in requests per second.
    At(f64),
    /// No knee: every step stayed within the SLO, up to this offered rate.
    NotReached { highest_rate: f64 },
    /// No knee: the lowest step, at this offered rate, was already over the SLO.
    BelowFirstStep { lowest_rate: f64 },
    /// No knee, and the steps do not say why (some within the SLO, the lowest one not).
    Unknown,
}

impl Knee {
    pub fn of(mix: &MixFigures) -> Knee {
        if let Some(rate) = mix.knee_rate {
            return Knee::At(rate);
        }
        let mut steps: Vec<_> = mix.steps.iter().collect();
        steps.sort_by(|a, b| a.offered_rate.total_cmp(&b.offered_rate));
        match (steps.first(), steps.last()) {
            (Some(_), Some(last)) if steps.iter().all(|step| step.within_slo) => {
                Knee::NotReached { highest_rate: last.offered_rate }
            }
            (Some(first), _) if !first.within_slo => Knee::BelowFirstStep { lowest_rate: first.offered_rate },
            _ => Knee::Unknown,
        }
    }

    /// One line for the summary and the plot's legend.
    pub fn describe(self) -> String {
        match self {
            Knee::At(rate) => format!("knee at {} req/s", number(rate)),
            Knee::NotReached { highest_rate } => {
                format!("no knee: within the SLO at every step, up to {} req/s", number(highest_rate))
            }
            Knee::BelowFirstStep { lowest_rate } => {
                format!("no knee: over the SLO from the lowest step, {} req/s", number(lowest_rate))
            }
            Knee::Unknown => "no knee given".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::formats::MixStep;

    fn mix(knee_rate: Option<f64>, within: &[(f64, bool)]) -> MixFigures {
        let step = |&(offered_rate, within_slo): &(f64, bool)| MixStep {
            offered_rate,
            achieved_rate: offered_rate,
            p50_ms: 1.0,
            p99_ms: 2.0,
            failed_rate: 0.0,
            within_slo,
        };
        MixFigures { slo_p99_ms: 200.0, step_s: 30.0, steps: within.iter().map(step).collect(), knee_rate }
    }

    #[test]
    fn the_files_knee_wins() {
        let knee = Knee::of(&mix(Some(400.0), &[(100.0, true), (800.0, false)]));
        assert_eq!(knee, Knee::At(400.0));
        assert_eq!(knee.describe(), "knee at 400 req/s");
    }

    #[test]
    fn a_null_knee_is_explained_by_the_steps() {
        let all_within = Knee::of(&mix(None, &[(200.0, true), (100.0, true)]));
        assert_eq!(all_within, Knee::NotReached { highest_rate: 200.0 });
        assert_eq!(all_within.describe(), "no knee: within the SLO at every step, up to 200 req/s");
        let over_at_once = Knee::of(&mix(None, &[(200.0, false), (100.0, false)]));
        assert_eq!(over_at_once, Knee::BelowFirstStep { lowest_rate: 100.0 });
        assert_eq!(Knee::of(&mix(None, &[(100.0, true), (200.0, false)])), Knee::Unknown);
    }
}
