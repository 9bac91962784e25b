//! Deploy and incident ingestion (compat/ingest.md): integration kinds, DevLake
//! authentication modes, deploy results, issue states, service aliases, and the lenient
//! time formats real senders put on the wire.
//!
//! Parsing of whole payloads is the server's (it knows the wire formats); what lives here are
//! the values those payloads reduce to and the rules on them.

use crate::error::DomainError;
use crate::values::Timestamp;
use std::fmt;
use std::str::FromStr;
use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

macro_rules! closed_set {
    ($(#[$doc:meta])* $name:ident, $field:literal, { $($variant:ident => $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            /// Case-insensitive parse (senders write `success`, `SUCCESS`, `Success`).
            pub fn parse_loose(s: &str) -> Option<$name> {
                let s = s.trim();
                $name::ALL.iter().copied().find(|x| x.as_str().eq_ignore_ascii_case(s))
            }

            /// The accepted values, for error messages.
            pub fn choices() -> String {
                $name::ALL.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = DomainError;

            fn from_str(s: &str) -> Result<Self, DomainError> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|x| x.as_str() == s)
                    .ok_or_else(|| DomainError::invalid($field, format!("unknown value {s:?}")))
            }
        }
    };
}

closed_set!(
    /// Which wire format an integration speaks.
    IntegrationKind, "kind", { OpsLevel => "opslevel", DevLake => "devlake" }
);

closed_set!(
    /// How a DevLake connection authenticates its posts. `None` is an explicit choice.
    DevLakeAuth, "auth", { Bearer => "bearer", Basic => "basic", None => "none" }
);

closed_set!(
    /// What makes two OpsLevel deploys of one integration the same deploy: the `dedup_id`
    /// (as documented), or the `dedup_id` with the `deploy_number` (for senders whose
    /// `dedup_id` is constant across runs, such as the CircleCI orb).
    DedupScope, "dedup_scope", { DedupId => "dedup_id", DedupIdAndNumber => "dedup_id+deploy_number" }
);

closed_set!(
    /// The outcome of an ingested deploy. OpsLevel deploys are always `SUCCESS`.
    DeployResult, "result", {
        Success => "SUCCESS", Failure => "FAILURE", Abort => "ABORT", Manual => "MANUAL",
    }
);

closed_set!(
    /// An ingested issue's state, as DevLake names them.
    IssueStatus, "status", { Todo => "TODO", Done => "DONE", InProgress => "IN_PROGRESS" }
);

/// A service alias: trimmed, 1 to 255 characters, no control characters. May contain `/` and
/// `:` (`acme/api`, `jenkins:deploy-api`). Aliases match case-insensitively, through [`key`].
///
/// [`key`]: ServiceAlias::key
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceAlias(String);

impl ServiceAlias {
    pub fn parse(s: &str) -> Result<ServiceAlias, DomainError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(DomainError::invalid("alias", "must not be empty"));
        }
        if s.chars().count() > 255 {
            return Err(DomainError::invalid(
                "alias",
                "must be at most 255 characters",
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                "alias",
                "must not contain control characters",
            ));
        }
        Ok(ServiceAlias(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What aliases are matched and kept unique by.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for ServiceAlias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses the time formats ingestion senders use (compat/ingest.md §1.6 and §2.3); a time
/// without a zone is UTC:
///
/// - `YYYY-MM-DD`, `YYYY-MM-DD HH:MM`, `YYYY-MM-DD HH:MM:SS`, also with `T`;
/// - an optional fraction (`.fff`, `.ffffff`), dropped: ferry keeps whole seconds;
/// - an optional zone: `Z`, `±hh:mm`, `±hhmm`, `±hh`.
pub fn parse_ingest_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 10 || !s.is_char_boundary(10) {
        return None;
    }
    let date = parse_date(&s[..10])?;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(Timestamp::from_unix(
            PrimitiveDateTime::new(date, Time::MIDNIGHT)
                .assume_utc()
                .unix_timestamp(),
        ));
    }
    let rest = rest
        .strip_prefix('T')
        .or_else(|| rest.strip_prefix('t'))
        .or_else(|| rest.strip_prefix(' '))?;
    let digits = |t: &str| -> Option<u8> {
        (t.len() == 2 && t.bytes().all(|c| c.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let hour = digits(rest.get(0..2)?)?;
    if rest.get(2..3)? != ":" {
        return None;
    }
    let minute = digits(rest.get(3..5)?)?;
    let mut rest = rest.get(5..)?;
    let mut second = 0;
    if let Some(r) = rest.strip_prefix(':') {
        second = digits(r.get(0..2)?)?;
        rest = r.get(2..)?;
    }
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &r[n..];
    }
    let offset = parse_zone(rest)?;
    let time = Time::from_hms(hour, minute, second).ok()?;
    let t = PrimitiveDateTime::new(date, time).assume_offset(offset);
    Some(Timestamp::from_unix(t.unix_timestamp()))
}

fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())
            .flatten()
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let day = u8::try_from(num(8..10)?).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

fn parse_zone(s: &str) -> Option<UtcOffset> {
    if s.is_empty() || s == "Z" || s == "z" {
        return Some(UtcOffset::UTC);
    }
    let (sign, r) = match s.as_bytes().first()? {
        b'+' => (1i8, &s[1..]),
        b'-' => (-1i8, &s[1..]),
        _ => return None,
    };
    let two = |t: &str| -> Option<i8> {
        (t.len() == 2 && t.bytes().all(|c| c.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let (h, m) = match r.len() {
        2 => (two(r)?, 0),
        4 => (two(r.get(..2)?)?, two(r.get(2..)?)?),
        5 if r.as_bytes()[2] == b':' => (two(r.get(..2)?)?, two(r.get(3..)?)?),
        _ => return None,
    };
    UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

/// The `owner/name` key (lower-cased) a repository URL points at, for matching ingested
/// commits to registered repositories: `https://github.com/Acme/Shop.git/` → `acme/shop`,
/// `git@github.com:acme/shop.git` → `acme/shop`. `None` when the URL has fewer than two path
/// segments (`repo-1`).
pub fn repo_key_from_url(url: &str) -> Option<String> {
    let mut u = url.trim();
    if let Some((_, after)) = u.split_once("://") {
        u = after;
        // Drop the host (and any credentials before it).
        u = u.split_once('/').map_or("", |(_, path)| path);
    } else if let Some((host, path)) = u.split_once(':') {
        if host.contains('@') || host.contains('.') {
            u = path;
        }
    }
    let u = u.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = u.split('/').filter(|s| !s.is_empty()).collect();
    if segments.len() < 2 {
        return None;
    }
    let owner = segments[segments.len() - 2];
    let name = segments[segments.len() - 1];
    let name = name.strip_suffix(".git").unwrap_or(name);
    if name.is_empty() {
        return None;
    }
    Some(format!("{owner}/{name}").to_lowercase())
}

/// Whole minutes from `created` to `resolved` (DevLake's `lead_time_minutes` default), never
/// negative.
pub fn lead_time_minutes(created: Timestamp, resolved: Timestamp) -> i64 {
    ((resolved.unix() - created.unix()) / 60).max(0)
}

/// A `deploy_number` sent by a pipeline counts toward the service's sequence when it is a
/// plain non-negative integer (`"234"`); anything else is kept verbatim and ignored here.
pub fn deploy_number_value(s: &str) -> Option<i64> {
    let t = s.trim();
    if t.is_empty() || t.len() > 18 || !t.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Option<String> {
        parse_ingest_time(s).map(Timestamp::to_github)
    }

    #[test]
    fn times() {
        let want = Some("2019-02-01T13:28:33Z".to_owned());
        assert_eq!(t("2019-02-01 13:28:33"), want);
        assert_eq!(t("2019-02-01T13:28:33"), want);
        assert_eq!(t("2019-02-01T13:28:33Z"), want);
        assert_eq!(t("2019-02-01T13:28:33.123456Z"), want);
        assert_eq!(t("2019-02-01T14:28:33+01:00"), want);
        assert_eq!(t("2019-02-01T14:28:33+0100"), want);
        assert_eq!(t("2019-02-01T12:28:33-01"), want);
        assert_eq!(t("2019-02-01T14:28:33.5+01:00"), want);
        assert_eq!(t("2019-02-01"), Some("2019-02-01T00:00:00Z".to_owned()));
        assert_eq!(
            t("2019-02-01 13:28"),
            Some("2019-02-01T13:28:00Z".to_owned())
        );
        for bad in [
            "",
            "yesterday",
            "2019-02-30 10:00:00",
            "2019-02-01 25:00:00",
            "2019-02-01X13:28:33",
            "2019-02-01T13:28:33+1",
            "2019-02-01T13:28:33.",
            "2019-02-01T13:28:33 junk",
            "２０１９-02-01",
        ] {
            assert_eq!(t(bad), None, "{bad}");
        }
    }

    #[test]
    fn repo_keys() {
        let k = |s| repo_key_from_url(s);
        assert_eq!(
            k("https://github.com/apache/incubator-devlake/"),
            Some("apache/incubator-devlake".into())
        );
        assert_eq!(
            k("https://github.com/Acme/Shop.git"),
            Some("acme/shop".into())
        );
        assert_eq!(k("git@github.com:acme/shop.git"), Some("acme/shop".into()));
        assert_eq!(k("acme/shop"), Some("acme/shop".into()));
        assert_eq!(k("repo-1"), None);
        assert_eq!(k("https://github.com/"), None);
    }

    #[test]
    fn enums_and_aliases() {
        assert_eq!(
            DeployResult::parse_loose("failure"),
            Some(DeployResult::Failure)
        );
        assert_eq!(DeployResult::parse_loose("nope"), None);
        assert_eq!(
            IssueStatus::parse_loose("in_progress"),
            Some(IssueStatus::InProgress)
        );
        assert_eq!(
            "devlake".parse::<IntegrationKind>(),
            Ok(IntegrationKind::DevLake)
        );
        let a = ServiceAlias::parse("  Jenkins:Deploy-API ").expect("valid");
        assert_eq!(a.as_str(), "Jenkins:Deploy-API");
        assert_eq!(a.key(), "jenkins:deploy-api");
        assert!(ServiceAlias::parse(" ").is_err());
        assert_eq!(deploy_number_value("234"), Some(234));
        assert_eq!(deploy_number_value("v1"), None);
        assert_eq!(
            lead_time_minutes(Timestamp::from_unix(0), Timestamp::from_unix(119)),
            1
        );
    }
}
