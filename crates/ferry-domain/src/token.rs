//! API token scopes.
//!
//! `admin` ⊇ `write` ⊇ `read`. `ingest` stands apart: it lets a pipeline post deploys and
//! incidents and nothing else, so a leaked CI secret cannot create or read deployments.

use crate::DomainError;
use std::{fmt, str::FromStr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Admin,
    Write,
    Read,
    Ingest,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Admin, Scope::Write, Scope::Read, Scope::Ingest];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Admin => "admin",
            Scope::Write => "write",
            Scope::Read => "read",
            Scope::Ingest => "ingest",
        }
    }

    /// Does a token holding `self` satisfy a requirement of `needed`?
    pub fn grants(self, needed: Scope) -> bool {
        matches!(
            (self, needed),
            (Scope::Admin, _)
                | (Scope::Write, Scope::Write | Scope::Read)
                | (Scope::Read, Scope::Read)
                | (Scope::Ingest, Scope::Ingest)
        )
    }

    /// Does any of `held` satisfy `needed`?
    pub fn any_grants(held: &[Scope], needed: Scope) -> bool {
        held.iter().any(|s| s.grants(needed))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Scope, DomainError> {
        Scope::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| DomainError::invalid("scopes", format!("unknown scope {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchy() {
        assert!(Scope::Admin.grants(Scope::Ingest));
        assert!(Scope::Write.grants(Scope::Read));
        assert!(!Scope::Read.grants(Scope::Write));
        assert!(!Scope::Ingest.grants(Scope::Read));
        assert!(!Scope::Write.grants(Scope::Admin));
        assert_eq!("write".parse::<Scope>(), Ok(Scope::Write));
        assert!("root".parse::<Scope>().is_err());
    }
}
