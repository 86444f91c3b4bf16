//! Lap times as text: the one formatter the CLI's timing board, event lines and page views share.

use acsp::NO_TIME;

/// What [`format_lap_time`] writes for "no time".
pub const NO_LAP_TIME: &str = "-";

/// A lap time in milliseconds as a timing screen shows it: `m:ss.mmm`, e.g. `1:23.456`. Minutes
/// are not carried into hours (an hour-long stint reads `60:00.000`), so any `u32` formats.
///
/// `None` is "no time" and reads [`NO_LAP_TIME`]; so does ACSP's [`NO_TIME`] sentinel wherever
/// it comes from, since a leaderboard time passed through unchecked is the usual way it gets
/// here. Sources with other sentinels turn them into `None` first: [`time_from_wire`] for ACSP,
/// and for the shared-memory pages (whose `int` times are 0 before the first lap) the reader.
pub fn format_lap_time(ms: Option<u32>) -> String {
    match ms {
        None | Some(NO_TIME) => NO_LAP_TIME.to_owned(),
        Some(ms) => format!("{}:{:02}.{:03}", ms / 60_000, ms / 1000 % 60, ms % 1000),
    }
}

/// A time from the ACSP wire (a lap time, a leaderboard's best lap or race time), with the
/// protocol's [`NO_TIME`] sentinel as `None`.
pub fn time_from_wire(ms: u32) -> Option<u32> {
    (ms != NO_TIME).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lap_times_read_like_a_timing_screen() {
        assert_eq!(format_lap_time(Some(80_902)), "1:20.902");
        assert_eq!(format_lap_time(Some(5_004)), "0:05.004");
        assert_eq!(format_lap_time(Some(59_999)), "0:59.999");
        assert_eq!(format_lap_time(Some(0)), "0:00.000");
        assert_eq!(format_lap_time(Some(3_600_000)), "60:00.000");
    }

    #[test]
    fn no_time_reads_as_a_dash_whatever_its_sentinel() {
        assert_eq!(format_lap_time(None), "-");
        assert_eq!(format_lap_time(Some(NO_TIME)), "-");
        assert_eq!(format_lap_time(time_from_wire(NO_TIME)), "-");
        assert_eq!(time_from_wire(80_902), Some(80_902));
    }

    /// The largest values of every caller's type format without overflow: `u32::MAX`, and
    /// `i32::MAX` from a shared-memory page.
    #[test]
    fn extreme_values_format() {
        assert_eq!(format_lap_time(Some(u32::MAX)), "71582:47.295");
        assert_eq!(format_lap_time(u32::try_from(i32::MAX).ok()), "35791:23.647");
    }
}
