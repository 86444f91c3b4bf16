//! Dates as text, in UTC, on the `time` crate's calendar: all a records page needs.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// A UTC date or date and time as Unix ms: `2026-12-03`, `2026-12-03T13:05`,
/// `2026-12-03 13:05:30` (a trailing `Z` is allowed). `None` if it is not one.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut parts = date.splitn(3, '-');
    let num = |p: Option<&str>, digits: std::ops::RangeInclusive<usize>| {
        p.filter(|p| digits.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|p| p.parse::<i64>().ok())
    };
    let (y, m, d) = (num(parts.next(), 4..=4)?, num(parts.next(), 1..=2)?, num(parts.next(), 1..=2)?);
    // The calendar refuses a month or a day that does not exist (2023-02-29).
    let month = Month::try_from(u8::try_from(m).ok()?).ok()?;
    let date = Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(d).ok()?).ok()?;
    let (mut h, mut min, mut sec) = (0, 0, 0);
    if let Some(time) = time {
        let mut parts = time.splitn(3, ':');
        h = num(parts.next(), 1..=2)?;
        min = num(parts.next(), 2..=2)?;
        sec = match parts.next() {
            Some(p) => num(Some(p), 2..=2)?,
            None => 0,
        };
    }
    // Two digits each, so they fit a u8; the clock refuses 25:00 and 12:60.
    let time = Time::from_hms(h as u8, min as u8, sec as u8).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc().unix_timestamp() * 1000)
}

/// Unix ms as a UTC date and time: `2026-12-03 13:05:30`. A time outside the calendar's years
/// (-9999 to 9999), which only a hostile results file can give, is shown as its milliseconds.
pub fn format_date(ms: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => format!("{ms} ms after 1970-01-01"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-03-01T00:00:01Z"), Some(951_868_801_000));
        assert_eq!(format_date(951_868_801_000), "2000-03-01 00:00:01");
        assert_eq!(parse_date("2024-02-29 23:59"), Some(1_709_251_140_000));
        for bad in
            ["", "2023-02-29", "2024-13-01", "24-01-01", "2024-01-01T25:00", "2024-1-1x", "２０２４-01-01"]
        {
            assert_eq!(parse_date(bad), None, "{bad:?}");
        }
        let ms = parse_date("2026-12-03 13:05:30").expect("a date");
        assert_eq!(format_date(ms), "2026-12-03 13:05:30");
        assert_eq!(format_date(-1), "1969-12-31 23:59:59");
        assert_eq!(format_date(i64::MIN), format!("{} ms after 1970-01-01", i64::MIN));
    }
}
