//! The date and time of a log, as the header stores them (`dd/mm/yyyy`, `HH:MM:SS`), without a
//! calendar dependency: the civil date of a Unix time is a few lines of integer arithmetic.

/// A civil date and time (no time zone: the header has none; i2 shows it as it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LdDateTime {
    /// Year, e.g. 2024.
    pub year: i32,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, 1–31.
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–59.
    pub second: u8,
}

impl LdDateTime {
    /// The civil date and time of `unix_seconds` shifted by `offset_seconds` (0 for UTC; a
    /// local time zone's offset to show the driver's clock).
    ///
    /// ```
    /// let t = motec::LdDateTime::from_unix(1_700_000_000, 0);
    /// assert_eq!((t.year, t.month, t.day, t.hour, t.minute, t.second), (2023, 11, 14, 22, 13, 20));
    /// assert_eq!(t.date_text(), "14/11/2023");
    /// assert_eq!(t.time_text(), "22:13:20");
    /// ```
    pub fn from_unix(unix_seconds: i64, offset_seconds: i32) -> LdDateTime {
        let t = unix_seconds.saturating_add(i64::from(offset_seconds));
        let days = t.div_euclid(86_400);
        let secs = t.rem_euclid(86_400);
        // Days since 1970-01-01 to a proleptic Gregorian date (era-based, exact for all i64
        // days that fit the year's i32).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = yoe + era * 400 + i64::from(month <= 2);
        LdDateTime {
            year: year.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
            month,
            day,
            hour: (secs / 3600) as u8,
            minute: (secs / 60 % 60) as u8,
            second: (secs % 60) as u8,
        }
    }

    /// The header's date field, `dd/mm/yyyy`.
    pub fn date_text(&self) -> String {
        format!("{:02}/{:02}/{:04}", self.day, self.month, self.year)
    }

    /// The header's time field, `HH:MM:SS`.
    pub fn time_text(&self) -> String {
        format!("{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_instants() {
        let epoch = LdDateTime::from_unix(0, 0);
        assert_eq!((epoch.year, epoch.month, epoch.day, epoch.hour), (1970, 1, 1, 0));
        // 2000-02-29 12:00:00 UTC, a leap day in a century leap year.
        let leap = LdDateTime::from_unix(951_825_600, 0);
        assert_eq!((leap.year, leap.month, leap.day, leap.hour), (2000, 2, 29, 12));
        // One second before the epoch, and an offset that crosses midnight.
        let before = LdDateTime::from_unix(-1, 0);
        assert_eq!((before.year, before.month, before.day, before.second), (1969, 12, 31, 59));
        let shifted = LdDateTime::from_unix(23 * 3600, 2 * 3600);
        assert_eq!((shifted.day, shifted.hour), (2, 1));
    }
}
