//! Dates as text without a date crate: the proleptic Gregorian calendar in UTC (Howard
//! Hinnant's `days_from_civil` and `civil_from_days`), which is all a records page needs.

const MS_PER_DAY: i64 = 86_400_000;

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    days_from_civil(if m == 12 { y + 1 } else { y }, if m == 12 { 1 } else { m + 1 }, 1)
        - days_from_civil(y, m, 1)
}

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
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let mut ms = days_from_civil(y, m, d) * MS_PER_DAY;
    if let Some(time) = time {
        let mut parts = time.splitn(3, ':');
        let h = num(parts.next(), 1..=2)?;
        let min = num(parts.next(), 2..=2)?;
        let sec = match parts.next() {
            Some(p) => num(Some(p), 2..=2)?,
            None => 0,
        };
        if h > 23 || min > 59 || sec > 59 {
            return None;
        }
        ms += ((h * 60 + min) * 60 + sec) * 1000;
    }
    Some(ms)
}

/// Unix ms as a UTC date and time: `2026-12-03 13:05:30`.
pub fn format_date(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    let s = ms.rem_euclid(MS_PER_DAY) / 1000;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
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
    }
}
