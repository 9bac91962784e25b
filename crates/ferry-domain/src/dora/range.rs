//! The range of a report and the calendar it is counted in: whole UTC days, both ends
//! inclusive; weeks start on Monday; partial weeks and months at the ends belong to the range.
//!
//! Internally a day is its number since 1970-01-01 (`i64`), so calendar arithmetic never has
//! to handle `Date` overflow at the ends of `time`'s supported years.

use crate::error::DomainError;
use crate::values::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::{Date, Month};

pub(crate) const SECS_PER_DAY: i64 = 86_400;
/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// The longest range, in days (both ends included): five years, leap days included.
pub const MAX_RANGE_DAYS: i64 = 1827;
/// The range when `from` is absent: `to` and the 89 days before it.
pub const DEFAULT_RANGE_DAYS: i64 = 90;

/// `from..=to`, whole UTC days. Exists only valid: `from <= to`, at most [`MAX_RANGE_DAYS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DoraRange {
    from: Date,
    to: Date,
}

impl DoraRange {
    pub fn new(from: Date, to: Date) -> Result<DoraRange, DomainError> {
        if from > to {
            return Err(DomainError::invalid(
                "from",
                format!("{} is after to ({})", day_text(from), day_text(to)),
            ));
        }
        let days = day_number(to) - day_number(from) + 1;
        if days > MAX_RANGE_DAYS {
            return Err(DomainError::invalid(
                "to",
                format!(
                    "the range spans {days} days; at most {MAX_RANGE_DAYS} (5 years) are \
                     allowed, which bounds the work of one request: ask for several ranges"
                ),
            ));
        }
        Ok(DoraRange { from, to })
    }

    /// Parses the query parameters (`YYYY-MM-DD`). Absent `to` is `today`; absent `from` is
    /// 89 days before `to` (a 90-day range).
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        today: Date,
    ) -> Result<DoraRange, DomainError> {
        let from = from.map(|s| parse_day("from", s)).transpose()?;
        let to = match to {
            Some(s) => parse_day("to", s)?,
            None => today,
        };
        let from = match from {
            Some(d) => d,
            // Only `to` within 89 days of year -9999 has no such day; start at the first one.
            None => to
                .checked_sub(time::Duration::days(DEFAULT_RANGE_DAYS - 1))
                .unwrap_or(Date::MIN),
        };
        DoraRange::new(from, to)
    }

    pub fn from(self) -> Date {
        self.from
    }

    pub fn to(self) -> Date {
        self.to
    }

    /// Number of days, both ends included (1 ..= [`MAX_RANGE_DAYS`]).
    pub fn days(self) -> i64 {
        day_number(self.to) - day_number(self.from) + 1
    }

    /// `from` at 00:00:00 UTC.
    pub fn start(self) -> Timestamp {
        Timestamp::from_unix(day_number(self.from) * SECS_PER_DAY)
    }

    /// The day after `to` at 00:00:00 UTC.
    pub fn end_exclusive(self) -> Timestamp {
        Timestamp::from_unix((day_number(self.to) + 1) * SECS_PER_DAY)
    }

    pub fn contains(self, t: Timestamp) -> bool {
        self.start() <= t && t < self.end_exclusive()
    }
}

/// The unit of a series: UTC weeks (Monday to Sunday) or calendar months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    Week,
    Month,
}

impl Bucket {
    pub fn parse(s: &str) -> Result<Bucket, DomainError> {
        match s {
            "week" => Ok(Bucket::Week),
            "month" => Ok(Bucket::Month),
            _ => Err(DomainError::invalid("bucket", "expected week or month")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Week => "week",
            Bucket::Month => "month",
        }
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Bucket {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Bucket, DomainError> {
        Bucket::parse(s)
    }
}

/// Strict `YYYY-MM-DD` (the only form the API documents; no time, no offset).
fn parse_day(field: &'static str, s: &str) -> Result<Date, DomainError> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return Err(DomainError::invalid(field, "expected a date as YYYY-MM-DD"));
    }
    let num = |r: std::ops::Range<usize>| -> i32 {
        b[r].iter().fold(0, |n, c| n * 10 + i32::from(c - b'0'))
    };
    let month = u8::try_from(num(5..7))
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(|| DomainError::invalid(field, format!("{s} has no such month")))?;
    let day = u8::try_from(num(8..10)).unwrap_or(0);
    Date::from_calendar_date(num(0..4), month, day)
        .map_err(|_| DomainError::invalid(field, format!("{s} is not a calendar date")))
}

/// `YYYY-MM-DD`, the wire form of a report's dates.
pub(crate) fn day_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Days since 1970-01-01 (negative before).
pub(crate) fn day_number(d: Date) -> i64 {
    i64::from(d.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY
}

/// The date of a day number. Callers pass days of a valid range, which are valid dates.
pub(crate) fn date_of(day: i64) -> Date {
    i32::try_from(day + UNIX_EPOCH_JULIAN_DAY)
        .ok()
        .and_then(|jd| Date::from_julian_day(jd).ok())
        .expect("a day of a DoraRange is a valid date")
}

/// Monday-start week number: day 0 (1970-01-01) was a Thursday, so day -3 opens week 0.
pub(crate) fn week_of(day: i64) -> i64 {
    (day + 3).div_euclid(7)
}

/// Months since year 0 (`year * 12 + month - 1`), comparable across years.
pub(crate) fn month_of(d: Date) -> i64 {
    i64::from(d.year()) * 12 + i64::from(u8::from(d.month())) - 1
}
