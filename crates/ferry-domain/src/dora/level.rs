//! The two benchmark editions ferry can grade against, and the grades.

use crate::error::DomainError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Which edition of the DORA report the levels come from. 2023 is the default (as DevLake's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Benchmark {
    B2021,
    #[default]
    B2023,
}

impl Benchmark {
    pub fn parse(s: &str) -> Result<Benchmark, DomainError> {
        match s {
            "2021" => Ok(Benchmark::B2021),
            "2023" => Ok(Benchmark::B2023),
            _ => Err(DomainError::invalid("benchmark", "expected 2023 or 2021")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Benchmark::B2021 => "2021",
            Benchmark::B2023 => "2023",
        }
    }

    /// The report key of the fourth metric, which the two editions name differently.
    pub fn recovery_key(self) -> &'static str {
        match self {
            Benchmark::B2021 => "time_to_restore_service",
            Benchmark::B2023 => "failed_deployment_recovery_time",
        }
    }
}

impl fmt::Display for Benchmark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Benchmark {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Benchmark, DomainError> {
        Benchmark::parse(s)
    }
}

impl Serialize for Benchmark {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Benchmark {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Benchmark, D::Error> {
        let s = String::deserialize(d)?;
        Benchmark::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A metric's grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Elite,
    High,
    Medium,
    Low,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Elite => "elite",
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Grades a duration against "below" thresholds: elite if `< elite`, high if `< high`, medium
/// if `< medium`, else low.
pub(crate) fn below(secs: i64, elite: i64, high: i64, medium: i64) -> Level {
    if secs < elite {
        Level::Elite
    } else if secs < high {
        Level::High
    } else if secs < medium {
        Level::Medium
    } else {
        Level::Low
    }
}

pub(crate) const HOUR: i64 = 3_600;
pub(crate) const DAY: i64 = 86_400;
