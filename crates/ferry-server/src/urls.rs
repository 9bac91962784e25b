//! Absolute URLs. Every URL ferry returns is built from the configured external URL string,
//! kept literally (scheme, host, port as given) because clients such as PyGithub compare
//! them with the base URL they were given.

use ferry_domain::RepoSlug;

#[derive(Debug, Clone)]
pub struct Urls {
    /// e.g. `http://127.0.0.1:8080`, no trailing slash.
    pub external: String,
    /// `external` + `/api/v3`.
    pub api: String,
}

impl Urls {
    pub fn new(external: &str) -> Urls {
        let external = external.trim_end_matches('/').to_owned();
        Urls {
            api: format!("{external}/api/v3"),
            external,
        }
    }

    /// `{api}/repos/{owner}/{name}`.
    pub fn repo_api(&self, slug: &RepoSlug) -> String {
        format!("{}/repos/{}/{}", self.api, slug.owner(), slug.name())
    }

    /// The OpsLevel-compatible deploy URL of an endpoint; `uuid` is its secret.
    pub fn opslevel_deploy(&self, uuid: &str) -> String {
        format!("{}/integrations/deploy/{uuid}", self.external)
    }

    /// The base URL of a DevLake-compatible connection (`…/deployments`, `…/issues` follow).
    pub fn devlake_connection(&self, id: i64) -> String {
        format!("{}/api/rest/plugins/webhook/{id}", self.external)
    }

    /// `{external}/{owner}/{name}`: the repository's page.
    pub fn repo_html(&self, slug: &RepoSlug) -> String {
        format!("{}/{}/{}", self.external, slug.owner(), slug.name())
    }

    /// The `Link` header of a paginated answer, in GitHub's rel order (`prev`, `next`, `last`,
    /// `first`); `None` when everything fits on one page. `path_and_query` is the request's;
    /// every parameter is kept and only `page` changes.
    pub fn link_header(&self, path_and_query: &str, page: u32, last: u32) -> Option<String> {
        if last <= 1 && page <= 1 {
            return None;
        }
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let kept: Vec<&str> = query
            .split('&')
            .filter(|kv| !kv.is_empty() && kv.split('=').next() != Some("page"))
            .collect();
        let url = |p: u32| {
            let mut q = kept.join("&");
            if !q.is_empty() {
                q.push('&');
            }
            format!("<{}{path}?{q}page={p}>", self.external)
        };
        let mut rels = Vec::new();
        if page > 1 {
            rels.push(format!(
                "{}; rel=\"prev\"",
                url(page.saturating_sub(1).min(last))
            ));
        }
        if page < last {
            rels.push(format!("{}; rel=\"next\"", url(page + 1)));
            rels.push(format!("{}; rel=\"last\"", url(last)));
        }
        if page > 1 {
            rels.push(format!("{}; rel=\"first\"", url(1)));
        }
        (!rels.is_empty()).then(|| rels.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_in_github_order() {
        let u = Urls::new("http://127.0.0.1:8080/");
        let pq = "/api/v3/repos/o/r/deployments?environment=qa&per_page=2";
        assert_eq!(
            u.link_header(pq, 1, 5).as_deref(),
            Some("<http://127.0.0.1:8080/api/v3/repos/o/r/deployments?environment=qa&per_page=2&page=2>; rel=\"next\", <http://127.0.0.1:8080/api/v3/repos/o/r/deployments?environment=qa&per_page=2&page=5>; rel=\"last\"")
        );
        let mid = u.link_header(&format!("{pq}&page=3"), 3, 5).expect("link");
        let rels: Vec<&str> = mid
            .split(", ")
            .map(|p| p.rsplit("rel=").next().unwrap_or(""))
            .collect();
        assert_eq!(rels, ["\"prev\"", "\"next\"", "\"last\"", "\"first\""]);
        assert!(mid.contains("page=2>; rel=\"prev\""));
        let last = u.link_header(&format!("{pq}&page=5"), 5, 5).expect("link");
        assert!(
            last.contains("rel=\"prev\"")
                && last.contains("rel=\"first\"")
                && !last.contains("next")
        );
        assert_eq!(u.link_header(pq, 1, 1), None);
    }

    #[test]
    fn page_past_the_end_has_no_next() {
        let u = Urls::new("http://h:1");
        let l = u.link_header("/x?page=9", 9, 3).expect("link");
        assert!(!l.contains("next") && l.contains("page=3>; rel=\"prev\""));
    }
}
