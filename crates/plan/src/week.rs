//! ISO weeks (`YYYY-Www`) and hours of the week, in UTC.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::{Date, ISOWeekDate, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// An ISO 8601 week: weeks start on Monday, week 1 holds the year's first
/// Thursday. Printed and serialized as `YYYY-Www` (`2026-W09`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct IsoWeek {
    /// The ISO week-numbering year (may differ from the calendar year in the
    /// first and last days of January and December).
    pub year: i16,
    /// 1..=53.
    pub week: i8,
}

/// Why a `YYYY-Www` text is not a week.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not an ISO week (expected YYYY-Www, e.g. 2026-W09)")]
pub struct WeekParseError {
    pub text: String,
}

impl IsoWeek {
    /// The week (in UTC) of a Unix time in seconds.
    pub fn of_unix(seconds: i64) -> IsoWeek {
        let ts = Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH);
        let date = ts.to_zoned(TimeZone::UTC).date();
        IsoWeek::of_date(date)
    }

    /// The week of a civil date.
    pub fn of_date(date: Date) -> IsoWeek {
        let iso = date.iso_week_date();
        IsoWeek {
            year: iso.year(),
            week: iso.week(),
        }
    }

    /// Monday of this week.
    pub fn monday(self) -> Date {
        ISOWeekDate::new(self.year, self.week, Weekday::Monday).map_or(Date::MIN, ISOWeekDate::date)
    }

    /// The week after this one.
    #[must_use]
    pub fn next(self) -> IsoWeek {
        self.monday()
            .checked_add(jiff::Span::new().days(7))
            .map_or(self, IsoWeek::of_date)
    }

    /// Weeks from `self` to `later` (0 when equal, negative when `later` is
    /// earlier).
    pub fn weeks_until(self, later: IsoWeek) -> i64 {
        let days = (later.monday() - self.monday()).get_days();
        i64::from(days) / 7
    }

    /// Every week from `first` to `last`, both included.
    pub fn range(first: IsoWeek, last: IsoWeek) -> Vec<IsoWeek> {
        let mut out = Vec::new();
        let mut week = first;
        while week <= last {
            out.push(week);
            let next = week.next();
            if next == week {
                break;
            }
            week = next;
        }
        out
    }
}

/// The hour of the week (UTC) of a Unix time: 0 = Monday 00:00–00:59,
/// 167 = Sunday 23:00–23:59.
pub fn hour_of_week(seconds: i64) -> usize {
    let ts = Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH);
    let dt = ts.to_zoned(TimeZone::UTC).datetime();
    let day = usize::from(dt.weekday().to_monday_zero_offset().unsigned_abs());
    day * 24 + usize::from(dt.hour().unsigned_abs())
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

impl FromStr for IsoWeek {
    type Err = WeekParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || WeekParseError {
            text: text.to_owned(),
        };
        let (year, week) = text.split_once("-W").ok_or_else(err)?;
        if year.len() != 4 || week.len() != 2 {
            return Err(err());
        }
        let year: i16 = year.parse().map_err(|_| err())?;
        let week: i8 = week.parse().map_err(|_| err())?;
        ISOWeekDate::new(year, week, Weekday::Monday).map_err(|_| err())?;
        Ok(IsoWeek { year, week })
    }
}

impl From<IsoWeek> for String {
    fn from(week: IsoWeek) -> String {
        week.to_string()
    }
}

impl TryFrom<String> for IsoWeek {
    type Error = WeekParseError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sunday_late_in_a_negative_offset_is_next_week_in_utc() {
        // 2026-03-01 is a Sunday; 23:30 at -02:00 is Monday 01:30 UTC.
        let ts: Timestamp = "2026-03-01T23:30:00-02:00".parse().unwrap();
        let week = IsoWeek::of_unix(ts.as_second());
        assert_eq!(week.to_string(), "2026-W10");
        assert_eq!(hour_of_week(ts.as_second()), 1);
    }

    #[test]
    fn iso_year_differs_from_calendar_year_at_the_edges() {
        // 2027-01-01 is a Friday: it belongs to 2026-W53.
        let date = Date::new(2027, 1, 1).unwrap();
        assert_eq!(IsoWeek::of_date(date).to_string(), "2026-W53");
    }

    #[test]
    fn parses_what_it_prints_and_rejects_the_rest() {
        let week: IsoWeek = "2026-W09".parse().unwrap();
        assert_eq!(week.to_string(), "2026-W09");
        assert!("2026-W54".parse::<IsoWeek>().is_err());
        assert!("2025-W53".parse::<IsoWeek>().is_err());
        assert!("2026W09".parse::<IsoWeek>().is_err());
        assert!("2026-W9".parse::<IsoWeek>().is_err());
    }

    #[test]
    fn range_crosses_a_year_with_53_weeks() {
        let first: IsoWeek = "2026-W52".parse().unwrap();
        let last: IsoWeek = "2027-W02".parse().unwrap();
        let weeks: Vec<String> = IsoWeek::range(first, last)
            .into_iter()
            .map(|w| w.to_string())
            .collect();
        assert_eq!(weeks, ["2026-W52", "2026-W53", "2027-W01", "2027-W02"]);
        assert_eq!(first.weeks_until(last), 3);
    }
}
