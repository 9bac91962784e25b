//! Parsed values. Each type has a private field and one fallible constructor, so a value that
//! exists has passed its checks ("parse, don't validate").

use crate::DomainError;
use serde::{Serialize, Serializer};
use std::fmt;
use time::{format_description::well_known::Rfc3339, OffsetDateTime, UtcOffset};

/// A full commit id: 40 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha(String);

impl Sha {
    pub fn parse(s: &str) -> Result<Sha, DomainError> {
        if s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Sha(s.to_ascii_lowercase()))
        } else {
            Err(DomainError::invalid(
                "sha",
                "expected 40 hexadecimal digits",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Sha {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Is `s` a plausible abbreviated or full commit id (7 to 40 hex digits)?
pub fn looks_like_sha_prefix(s: &str) -> bool {
    (7..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `owner/name` of a repository. Both parts keep the case they were created with; lookups
/// are case-insensitive (as on GitHub), which the store handles with a lowercased key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoSlug {
    owner: String,
    name: String,
}

impl RepoSlug {
    pub fn parse(full_name: &str) -> Result<RepoSlug, DomainError> {
        let (owner, name) = full_name
            .split_once('/')
            .ok_or_else(|| DomainError::invalid("full_name", "expected owner/name"))?;
        RepoSlug::new(owner, name)
    }

    pub fn new(owner: &str, name: &str) -> Result<RepoSlug, DomainError> {
        fn part_ok(p: &str) -> bool {
            !p.is_empty()
                && p.len() <= 100
                && p != "."
                && p != ".."
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        if !part_ok(owner) || !part_ok(name) {
            return Err(DomainError::invalid(
                "full_name",
                "owner and name may hold letters, digits, '-', '_' and '.' (at most 100 each)",
            ));
        }
        Ok(RepoSlug {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// The case-insensitive lookup key.
    pub fn key(&self) -> String {
        self.full_name().to_ascii_lowercase()
    }
}

impl fmt::Display for RepoSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// An environment name: non-empty, at most 255 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnvName(String);

impl EnvName {
    pub fn parse(s: &str) -> Result<EnvName, DomainError> {
        if s.trim().is_empty() {
            return Err(DomainError::invalid("environment", "must not be empty"));
        }
        if s.chars().count() > 255 {
            return Err(DomainError::invalid(
                "environment",
                "must be at most 255 characters",
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                "environment",
                "must not contain control characters",
            ));
        }
        Ok(EnvName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// GitHub's default: only an environment called "production" is a production one.
    pub fn is_production_by_default(&self) -> bool {
        self.0 == "production"
    }
}

impl fmt::Display for EnvName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A point in time with whole-second precision, stored as Unix seconds.
///
/// Whole seconds because GitHub's wire format (`YYYY-MM-DDTHH:MM:SSZ`) has no fraction; keeping
/// the stored value equal to the one shown avoids ordering surprises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn from_unix(secs: i64) -> Timestamp {
        Timestamp(secs)
    }

    pub fn now() -> Timestamp {
        Timestamp(OffsetDateTime::now_utc().unix_timestamp())
    }

    pub fn unix(self) -> i64 {
        self.0
    }

    /// Now in Unix milliseconds, for schedules finer than a second (webhook retries).
    pub fn now_millis() -> i64 {
        let ns = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        i64::try_from(ns).unwrap_or(i64::MAX)
    }

    /// Parses RFC 3339 (`2024-05-01T12:00:00Z`, `…+02:00`, with or without fraction).
    pub fn parse_rfc3339(s: &str) -> Result<Timestamp, DomainError> {
        OffsetDateTime::parse(s, &Rfc3339)
            .map(|t| Timestamp(t.unix_timestamp()))
            .map_err(|e| DomainError::invalid("timestamp", e.to_string()))
    }

    /// GitHub's format: `YYYY-MM-DDTHH:MM:SSZ`, always UTC.
    pub fn to_github(self) -> String {
        let t = OffsetDateTime::from_unix_timestamp(self.0)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .to_offset(UtcOffset::UTC);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_github())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha_parse() {
        let s = Sha::parse("A84D88E7554FC1FA21BCBC4EFAE3C782A70D2B9D").expect("valid");
        assert_eq!(s.as_str(), "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d");
        assert!(Sha::parse("a84d88e").is_err());
        assert!(Sha::parse("g84d88e7554fc1fa21bcbc4efae3c782a70d2b9d").is_err());
        assert!(looks_like_sha_prefix("a84d88e"));
        assert!(!looks_like_sha_prefix("a84d88"));
        assert!(!looks_like_sha_prefix("main"));
    }

    #[test]
    fn slug_parse() {
        let s = RepoSlug::parse("Acme/Shop.web").expect("valid");
        assert_eq!((s.owner(), s.name()), ("Acme", "Shop.web"));
        assert_eq!(s.key(), "acme/shop.web");
        for bad in ["acme", "/x", "a/", "a/b/c", "a/..", "a b/c"] {
            assert!(RepoSlug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_name() {
        assert!(EnvName::parse("").is_err());
        assert!(EnvName::parse("  ").is_err());
        assert!(EnvName::parse(&"x".repeat(256)).is_err());
        assert!(EnvName::parse("review/pr-1").is_ok());
        assert!(EnvName::parse("production")
            .expect("valid")
            .is_production_by_default());
    }

    #[test]
    fn timestamps() {
        let t = Timestamp::parse_rfc3339("2024-05-01T14:00:00.750+02:00").expect("valid");
        assert_eq!(t.to_github(), "2024-05-01T12:00:00Z");
        assert!(Timestamp::parse_rfc3339("yesterday").is_err());
    }
}
