//! Injected faults: the ways a real game's pages misbehave, on demand, for the poller's tests.
//!
//! All are off by default. Their randomness comes from a stream of its own (same seed, another
//! ChaCha stream), so turning faults on does not change how the car drives.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::error::SimError;

/// Which faults to inject, and how often.
///
/// As text (`--faults`): `none`, or a comma-separated list of
/// - `drop=P`: each physics step is, with probability P, computed but not written, so the
///   next written `packetId` jumps by more than 1;
/// - `tear=P`: each physics write is, with probability P, torn: written in two halves with the
///   `packetId` updated between them;
/// - `pause=EVERY/FOR`: about every EVERY seconds of simulated time (0.5 to 1.5 times it), the
///   game pauses for FOR seconds: status `PAUSE`, physics not written, the session clock
///   stopped;
/// - `restart=EVERY`: every EVERY seconds the session restarts: a new static page, the car
///   back in the pits, the `packetId`s starting again from 1.
///
/// For example `drop=0.01,tear=0.05,pause=30/2,restart=120`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Faults {
    /// Probability that a physics step is not written.
    pub drop_rate: f64,
    /// Probability that a physics write is torn.
    pub tear_rate: f64,
    /// Mean time between pauses (simulated), if pauses are on.
    pub pause_every: Option<Duration>,
    /// Length of each pause.
    pub pause_for: Duration,
    /// Time between session restarts (simulated), if restarts are on.
    pub restart_every: Option<Duration>,
}

impl Faults {
    /// No faults.
    pub fn none() -> Faults {
        Faults::default()
    }

    /// Whether no fault is on.
    pub fn is_none(&self) -> bool {
        self.drop_rate == 0.0
            && self.tear_rate == 0.0
            && self.pause_every.is_none()
            && self.restart_every.is_none()
    }

    /// Checks the rates are probabilities below 1 and the times positive.
    pub fn validate(&self) -> Result<(), SimError> {
        for (field, rate) in [("faults.drop_rate", self.drop_rate), ("faults.tear_rate", self.tear_rate)] {
            if !(0.0..1.0).contains(&rate) {
                return Err(SimError::config(field, format!("is {rate}; it must be at least 0 and below 1")));
            }
        }
        if let Some(every) = self.pause_every {
            if every.is_zero() || self.pause_for.is_zero() {
                return Err(SimError::config("faults.pause", "needs a positive interval and length"));
            }
        }
        if self.restart_every.is_some_and(|d| d < Duration::from_secs(1)) {
            return Err(SimError::config("faults.restart_every", "must be at least 1 s"));
        }
        Ok(())
    }
}

impl FromStr for Faults {
    type Err = SimError;

    fn from_str(text: &str) -> Result<Faults, SimError> {
        let mut faults = Faults::none();
        let text = text.trim();
        if text.is_empty() || text == "none" {
            return Ok(faults);
        }
        let bad = |reason: String| SimError::config("faults", reason);
        let seconds = |key: &str, v: &str| -> Result<Duration, SimError> {
            v.trim()
                .parse::<f64>()
                .ok()
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .ok_or_else(|| bad(format!("`{key}`: `{v}` is not a number of seconds")))
        };
        for item in text.split(',') {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| bad(format!("`{item}` is not KEY=VALUE (try drop=0.01)")))?;
            let key = key.trim();
            match key {
                "drop" | "tear" => {
                    let p = value
                        .trim()
                        .parse::<f64>()
                        .map_err(|_| bad(format!("`{key}`: `{value}` is not a probability")))?;
                    if key == "drop" {
                        faults.drop_rate = p;
                    } else {
                        faults.tear_rate = p;
                    }
                }
                "pause" => {
                    let (every, length) = value.split_once('/').ok_or_else(|| {
                        bad(format!("`pause={value}` is not EVERY/FOR seconds (try pause=30/2)"))
                    })?;
                    faults.pause_every = Some(seconds(key, every)?);
                    faults.pause_for = seconds(key, length)?;
                }
                "restart" => faults.restart_every = Some(seconds(key, value)?),
                other => {
                    return Err(bad(format!(
                        "unknown fault `{other}`; the faults are drop, tear, pause and restart"
                    )));
                }
            }
        }
        faults.validate()?;
        Ok(faults)
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_none() {
            return f.write_str("none");
        }
        let mut parts = Vec::new();
        if self.drop_rate > 0.0 {
            parts.push(format!("drop={}", self.drop_rate));
        }
        if self.tear_rate > 0.0 {
            parts.push(format!("tear={}", self.tear_rate));
        }
        if let Some(every) = self.pause_every {
            parts.push(format!("pause={}/{}", every.as_secs_f64(), self.pause_for.as_secs_f64()));
        }
        if let Some(every) = self.restart_every {
            parts.push(format!("restart={}", every.as_secs_f64()));
        }
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        let f: Faults = "drop=0.01, tear=0.05,pause=30/2.5,restart=120".parse().unwrap();
        assert_eq!(f.drop_rate, 0.01);
        assert_eq!(f.tear_rate, 0.05);
        assert_eq!(f.pause_every, Some(Duration::from_secs(30)));
        assert_eq!(f.pause_for, Duration::from_millis(2500));
        assert_eq!(f.restart_every, Some(Duration::from_secs(120)));
        assert_eq!(f.to_string().parse::<Faults>().unwrap(), f);
        assert_eq!("none".parse::<Faults>().unwrap(), Faults::none());
        assert_eq!(Faults::none().to_string(), "none");
    }

    #[test]
    fn bad_text_is_an_error_naming_the_problem() {
        for (text, needle) in [
            ("drop", "KEY=VALUE"),
            ("drop=x", "probability"),
            ("drop=1.5", "below 1"),
            ("pause=30", "EVERY/FOR"),
            ("pause=30/0", "positive"),
            ("restart=-3", "seconds"),
            ("smoke=1", "unknown fault `smoke`"),
        ] {
            let err = text.parse::<Faults>().unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
