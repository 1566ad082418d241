//! Dates and timestamps, through the `time` crate (already in the dependency graph): calendar
//! dates from Unix time (UTC), `YYYY-MM-DD` parsing, RFC 3339 timestamps, and
//! `SOURCE_DATE_EPOCH` for reproducible output.

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
    fn of(date: time::Date) -> Date {
        Date {
            y: date.year(),
            m: u32::from(u8::from(date.month())),
            d: u32::from(date.day()),
        }
    }

    fn calendar(self) -> Option<time::Date> {
        let month = time::Month::try_from(u8::try_from(self.m).ok()?).ok()?;
        time::Date::from_calendar_date(self.y, month, u8::try_from(self.d).ok()?).ok()
    }

    /// Parse `YYYY-MM-DD`, checking that the day exists.
    pub fn parse(s: &str) -> Option<Date> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        // (Four-digit years only, as written in configuration files.)
        if s.len() != 10 {
            return None;
        }
        time::Date::parse(s, format).ok().map(Date::of)
    }

    /// The date of `unix_secs` seconds since the epoch (UTC). Outside the years ±9999 the
    /// nearest representable day.
    pub fn from_unix(unix_secs: i64) -> Date {
        let clamped = unix_secs.clamp(
            time::PrimitiveDateTime::MIN.assume_utc().unix_timestamp(),
            time::PrimitiveDateTime::MAX.assume_utc().unix_timestamp(),
        );
        time::OffsetDateTime::from_unix_timestamp(clamped)
            .map(|t| Date::of(t.date()))
            .unwrap_or(Date {
                y: 1970,
                m: 1,
                d: 1,
            })
    }

    /// Unix seconds at midnight UTC of this date (the inverse of [`Date::from_unix`]).
    pub fn to_unix(self) -> i64 {
        self.calendar()
            .map(|d| d.midnight().assume_utc().unix_timestamp())
            .unwrap_or(0)
    }

    /// Today, UTC.
    pub fn today() -> Date {
        Date::of(time::OffsetDateTime::now_utc().date())
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
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let clamped = unix_secs.clamp(
        time::PrimitiveDateTime::MIN.assume_utc().unix_timestamp(),
        time::PrimitiveDateTime::MAX.assume_utc().unix_timestamp(),
    );
    time::OffsetDateTime::from_unix_timestamp(clamped)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

/// An RFC 3339 timestamp (`2026-11-23T12:00:00Z`, fractions and offsets allowed) as Unix
/// seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
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
