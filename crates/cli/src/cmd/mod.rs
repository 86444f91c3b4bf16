//! One module per subcommand, and what several share: the [`UsageError`] marker, value parsers,
//! [`text`] (strings from outside, made safe for a terminal) and [`stop`] (Ctrl-C and SIGTERM).

pub mod acsp;
pub mod bench;
pub mod bridge;
pub mod convert;
pub mod demo;
pub(crate) mod follow;
pub mod laps;
pub mod records;
pub mod relay;
pub mod serve;
pub mod shm;
pub mod sim;
pub mod sim_game;
pub mod sink;
pub(crate) mod stop;
pub(crate) mod text;
pub mod timing;

/// A command line that parsed but cannot work: flags that contradict each other, or an address
/// no datagram can go to. `main` exits with status 2 for it, as clap does for its own usage
/// errors, so that scripts can tell a wrong command line (2) from a failure at work (1).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A clap value parser for a number of seconds: finite and not negative. Pair it with
/// `allow_negative_numbers = true`, so that `-1` reaches this check instead of being taken
/// for a flag.
pub(crate) fn seconds(s: &str) -> Result<std::time::Duration, String> {
    let value: f64 = s.parse().map_err(|_| format!("`{s}` is not a number of seconds"))?;
    std::time::Duration::try_from_secs_f64(value)
        .map_err(|_| format!("`{s}` is not a number of seconds (it must be finite and at least 0)"))
}

/// A clap value parser for a time acceleration: above 0 and at most `max`.
pub(crate) fn speed(max: f64) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    move |s: &str| {
        let value: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
        if value > 0.0 && value <= max {
            Ok(value)
        } else {
            Err(format!("speed must be > 0 and at most {max}"))
        }
    }
}
