//! Pagination as GitHub does it: `per_page` defaults to 30 and is capped at 100, `page` starts
//! at 1. Invalid values fall back to the defaults instead of failing, as GitHub does.

pub const DEFAULT_PER_PAGE: u32 = 30;
pub const MAX_PER_PAGE: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub per_page: u32,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl Page {
    /// Builds a page from the raw query strings, applying GitHub's lenient rules.
    pub fn from_query(page: Option<&str>, per_page: Option<&str>) -> Page {
        let per_page = match per_page.and_then(|p| p.trim().parse::<i64>().ok()) {
            Some(n) if n >= 1 => n.min(MAX_PER_PAGE as i64) as u32,
            _ => DEFAULT_PER_PAGE,
        };
        let page = match page.and_then(|p| p.trim().parse::<i64>().ok()) {
            Some(n) if n >= 1 => n.min(u32::MAX as i64) as u32,
            _ => 1,
        };
        Page { page, per_page }
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }

    pub fn offset(&self) -> i64 {
        (i64::from(self.page) - 1) * i64::from(self.per_page)
    }

    /// Number of the last page for `total` items (at least 1).
    pub fn last_page(&self, total: u64) -> u32 {
        let per = u64::from(self.per_page);
        (total.div_ceil(per)).max(1).min(u64::from(u32::MAX)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_caps() {
        assert_eq!(Page::from_query(None, None), Page::default());
        assert_eq!(Page::from_query(Some("2"), Some("500")).per_page, 100);
        assert_eq!(Page::from_query(Some("x"), Some("-1")), Page::default());
        assert_eq!(Page::from_query(Some("0"), Some("0")), Page::default());
        let p = Page::from_query(Some("3"), Some("2"));
        assert_eq!((p.offset(), p.limit()), (4, 2));
    }

    #[test]
    fn last_page() {
        let p = Page::from_query(None, Some("2"));
        assert_eq!(p.last_page(0), 1);
        assert_eq!(p.last_page(5), 3);
        assert_eq!(p.last_page(6), 3);
    }
}
