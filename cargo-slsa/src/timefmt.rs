//! Dates and timestamps without a date-time dependency: civil dates from Unix time (proleptic
//! Gregorian, UTC), `YYYY-MM-DD` parsing, RFC 3339 timestamps, and `SOURCE_DATE_EPOCH` for
//! reproducible output.

use anyhow::{Result, anyhow};

/// A calendar date (UTC), ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Year.
    pub y: i32,
    /// Month 1–12.
    pub m: u32,
    /// Day 1–31.
    pub d: u32,
}

impl Date {
    /// Parse `YYYY-MM-DD`, checking that the day exists.
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.split('-');
        let (y, m, d) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let (y, m, d): (i32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days = match m {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days).contains(&d).then_some(Date { y, m, d })
    }

    /// The date of `unix_secs` seconds since the epoch (civil-from-days, proleptic Gregorian).
    pub fn from_unix(unix_secs: i64) -> Date {
        let z = unix_secs.div_euclid(86_400) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
        Date { y, m, d }
    }

    /// Unix seconds at midnight UTC of this date (days-from-civil, the inverse of
    /// [`Date::from_unix`]).
    pub fn to_unix(self) -> i64 {
        let y = i64::from(self.y) - i64::from(self.m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.m);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        (era * 146_097 + doe - 719_468) * 86_400
    }

    /// Today, UTC.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Date::from_unix(secs)
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.y, self.m, self.d)
    }
}

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `SOURCE_DATE_EPOCH` when set (the reproducible-builds convention), else now. A set but
/// malformed value is an error rather than silently ignored.
pub fn source_date_epoch_or_now() -> Result<i64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse::<i64>()
            .map_err(|_| anyhow!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds")),
        _ => Ok(now_unix()),
    }
}

/// RFC 3339 UTC timestamp with second precision: `2026-11-23T12:00:00Z`.
pub fn rfc3339(unix_secs: i64) -> String {
    let d = Date::from_unix(unix_secs);
    let s = unix_secs.rem_euclid(86_400);
    format!("{d}T{:02}:{:02}:{:02}Z", s / 3600, (s % 3600) / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_unix_inverts_from_unix() {
        for secs in [0_i64, 86_400, 951_782_400, 1_709_164_800, 4_102_444_800] {
            assert_eq!(Date::from_unix(secs).to_unix(), secs);
        }
    }

    #[test]
    fn dates_parse_and_order() {
        assert_eq!(
            Date::parse("2024-02-29"),
            Some(Date {
                y: 2024,
                m: 2,
                d: 29
            })
        );
        assert_eq!(Date::parse("2023-02-29"), None);
        assert_eq!(Date::parse("2023-13-01"), None);
        assert_eq!(Date::parse("2023-1-01"), None);
        assert_eq!(Date::parse("tomorrow"), None);
        assert!(Date::parse("2026-01-31") < Date::parse("2026-02-01"));
    }

    #[test]
    fn unix_time_maps_to_civil_dates() {
        assert_eq!(Date::from_unix(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_unix(951_782_400).to_string(), "2000-02-29");
        assert_eq!(Date::from_unix(1_795_392_000).to_string(), "2026-11-23");
        assert_eq!(Date::from_unix(-86_400).to_string(), "1969-12-31");
    }

    #[test]
    fn rfc3339_has_the_time_of_day() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_437_296), "2026-11-23T12:34:56Z");
    }
}
