//! Store records → GitHub-compatible objects (compat/github.md §2.6).

use crate::urls::Urls;
use ferry_api_types::github as gh;
use ferry_domain::{RepoSlug, Sha, Timestamp};
use ferry_store::model::{Actor, CommitStatus, Deployment, DeploymentStatus, Environment, Repo};
use serde_json::{json, Value};

/// A `simple-user` for the token that acted. Every URL is absolute, as the schema requires.
pub fn simple_user(urls: &Urls, actor: &Actor) -> gh::SimpleUser {
    let user = format!("{}/users/{}", urls.api, actor.login);
    gh::SimpleUser {
        login: actor.login.clone(),
        id: actor.id,
        node_id: format!("U_{}", actor.id),
        avatar_url: format!("{}/avatars/{}", urls.external, actor.login),
        gravatar_id: String::new(),
        url: user.clone(),
        html_url: format!("{}/{}", urls.external, actor.login),
        followers_url: format!("{user}/followers"),
        following_url: format!("{user}/following{{/other_user}}"),
        gists_url: format!("{user}/gists{{/gist_id}}"),
        starred_url: format!("{user}/starred{{/owner}}{{/repo}}"),
        subscriptions_url: format!("{user}/subscriptions"),
        organizations_url: format!("{user}/orgs"),
        repos_url: format!("{user}/repos"),
        events_url: format!("{user}/events{{/privacy}}"),
        received_events_url: format!("{user}/received_events"),
        kind: if actor.bot { "Bot" } else { "User" }.into(),
        site_admin: false,
    }
}

fn owner_actor(slug: &RepoSlug, repo: &Repo) -> Actor {
    Actor {
        id: repo.id.get(),
        login: slug.owner().to_owned(),
        bot: false,
    }
}

pub fn deployment(urls: &Urls, slug: &RepoSlug, d: &Deployment) -> gh::Deployment {
    let repo_url = urls.repo_api(slug);
    let url = format!("{repo_url}/deployments/{}", d.id);
    gh::Deployment {
        statuses_url: format!("{url}/statuses"),
        url,
        id: d.id.get(),
        node_id: format!("DE_{}", d.id),
        sha: d.sha.to_string(),
        git_ref: d.git_ref.clone(),
        task: d.task.clone(),
        payload: gh::RawJson(d.payload.clone()),
        original_environment: d.original_environment.to_string(),
        environment: d.environment.to_string(),
        description: d.description.clone(),
        creator: simple_user(urls, &d.creator),
        created_at: d.created_at.to_github(),
        updated_at: d.updated_at.to_github(),
        repository_url: repo_url,
        transient_environment: d.transient_environment,
        production_environment: d.production_environment,
        performed_via_github_app: None,
    }
}

pub fn status(urls: &Urls, slug: &RepoSlug, s: &DeploymentStatus) -> gh::DeploymentStatus {
    let repo_url = urls.repo_api(slug);
    let deployment_url = format!("{repo_url}/deployments/{}", s.deployment_id);
    gh::DeploymentStatus {
        url: format!("{deployment_url}/statuses/{}", s.id),
        id: s.id.get(),
        node_id: format!("DES_{}", s.id),
        state: s.state.as_str().into(),
        creator: simple_user(urls, &s.creator),
        description: s.description.clone(),
        environment: s.environment.to_string(),
        target_url: s.target_url.clone(),
        created_at: s.created_at.to_github(),
        updated_at: s.created_at.to_github(),
        deployment_url,
        repository_url: repo_url,
        environment_url: s.environment_url.clone(),
        log_url: s.log_url.clone(),
        performed_via_github_app: None,
    }
}

/// The environment's URL: its name percent-encoded as one path segment.
pub fn environment_url(urls: &Urls, slug: &RepoSlug, name: &str) -> String {
    format!(
        "{}/environments/{}",
        urls.repo_api(slug),
        urlencoding::encode(name)
    )
}

pub fn environment(urls: &Urls, slug: &RepoSlug, e: &Environment) -> gh::Environment {
    gh::Environment {
        id: e.id.get(),
        node_id: format!("EN_{}", e.id),
        name: e.name.to_string(),
        url: environment_url(urls, slug, e.name.as_str()),
        html_url: format!(
            "{}/deployments/activity_log?environments_filter={}",
            urls.repo_html(slug),
            urlencoding::encode(e.name.as_str())
        ),
        created_at: e.created_at.to_github(),
        updated_at: e.updated_at.to_github(),
        protection_rules: Vec::new(),
        deployment_branch_policy: e
            .branch_policy
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok()),
    }
}

/// `{api}/repos/{o}/{r}/statuses/{sha}`: the URL (and `Location`) of a commit's statuses.
pub fn commit_statuses_url(urls: &Urls, slug: &RepoSlug, sha: &Sha) -> String {
    format!("{}/statuses/{sha}", urls.repo_api(slug))
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.clone().filter(|v| !v.is_empty())
}

pub fn commit_status(urls: &Urls, slug: &RepoSlug, s: &CommitStatus) -> gh::CommitStatus {
    let creator = simple_user(urls, &s.creator);
    gh::CommitStatus {
        url: commit_statuses_url(urls, slug, &s.sha),
        avatar_url: Some(creator.avatar_url.clone()),
        id: s.id.get(),
        node_id: format!("SC_{}", s.id),
        state: s.state.as_str().into(),
        description: s.description.clone(),
        target_url: non_empty(&s.target_url),
        context: s.context.clone(),
        created_at: s.created_at.to_github(),
        updated_at: s.created_at.to_github(),
        creator,
    }
}

pub fn simple_commit_status(
    urls: &Urls,
    slug: &RepoSlug,
    s: &CommitStatus,
) -> gh::SimpleCommitStatus {
    let full = commit_status(urls, slug, s);
    gh::SimpleCommitStatus {
        description: full.description,
        id: full.id,
        node_id: full.node_id,
        state: full.state,
        context: full.context,
        target_url: full.target_url,
        avatar_url: full.avatar_url,
        url: full.url,
        created_at: full.created_at,
        updated_at: full.updated_at,
    }
}

/// The repository object: the 75 fields `full-repository` requires plus `has_downloads`.
/// Features ferry does not have are constants (counts 0, flags false, nulls), per
/// compat/github.md §2.6. Built as JSON because it is mostly constants and templates.
pub fn repository(urls: &Urls, repo: &Repo) -> Value {
    let slug = &repo.slug;
    let api = urls.repo_api(slug);
    let html = urls.repo_html(slug);
    let pushed = repo.updated_at.max(repo.created_at);
    let t = |ts: Timestamp| ts.to_github();
    let mut obj = json!({
        "id": repo.id.get(),
        "node_id": format!("R_{}", repo.id),
        "name": slug.name(),
        "full_name": slug.full_name(),
        "owner": simple_user(urls, &owner_actor(slug, repo)),
        "private": false,
        "html_url": html,
        "description": null,
        "fork": false,
        "url": api,
        "clone_url": repo.git_url.clone().unwrap_or_else(|| format!("{html}.git")),
        "git_url": repo.git_url.clone().unwrap_or_else(|| format!("{html}.git")),
        "ssh_url": repo.git_url.clone().unwrap_or_else(|| format!("{html}.git")),
        "svn_url": html,
        "mirror_url": null,
        "homepage": null,
        "language": null,
        "license": null,
        "default_branch": repo.default_branch,
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers": 0,
        "watchers_count": 0,
        "size": 0,
        "open_issues": 0,
        "open_issues_count": 0,
        "network_count": 0,
        "subscribers_count": 0,
        "has_issues": false,
        "has_projects": false,
        "has_wiki": false,
        "has_pages": false,
        "has_downloads": false,
        "has_discussions": false,
        "archived": false,
        "disabled": false,
        "visibility": "public",
        "pushed_at": t(pushed),
        "created_at": t(repo.created_at),
        "updated_at": t(repo.updated_at),
    });
    if let Value::Object(map) = &mut obj {
        for (field, suffix) in REPO_URL_TEMPLATES {
            map.insert((*field).to_owned(), Value::String(format!("{api}{suffix}")));
        }
    }
    obj
}

/// The repository's API URLs, as suffixes of its API URL (templated ones in RFC 6570 form).
const REPO_URL_TEMPLATES: &[(&str, &str)] = &[
    ("archive_url", "/{archive_format}{/ref}"),
    ("assignees_url", "/assignees{/user}"),
    ("blobs_url", "/git/blobs{/sha}"),
    ("branches_url", "/branches{/branch}"),
    ("collaborators_url", "/collaborators{/collaborator}"),
    ("comments_url", "/comments{/number}"),
    ("commits_url", "/commits{/sha}"),
    ("compare_url", "/compare/{base}...{head}"),
    ("contents_url", "/contents/{+path}"),
    ("contributors_url", "/contributors"),
    ("deployments_url", "/deployments"),
    ("downloads_url", "/downloads"),
    ("events_url", "/events"),
    ("forks_url", "/forks"),
    ("git_commits_url", "/git/commits{/sha}"),
    ("git_refs_url", "/git/refs{/sha}"),
    ("git_tags_url", "/git/tags{/sha}"),
    ("hooks_url", "/hooks"),
    ("issue_comment_url", "/issues/comments{/number}"),
    ("issue_events_url", "/issues/events{/number}"),
    ("issues_url", "/issues{/number}"),
    ("keys_url", "/keys{/key_id}"),
    ("labels_url", "/labels{/name}"),
    ("languages_url", "/languages"),
    ("merges_url", "/merges"),
    ("milestones_url", "/milestones{/number}"),
    (
        "notifications_url",
        "/notifications{?since,all,participating}",
    ),
    ("pulls_url", "/pulls{/number}"),
    ("releases_url", "/releases{/id}"),
    ("stargazers_url", "/stargazers"),
    ("statuses_url", "/statuses/{sha}"),
    ("subscribers_url", "/subscribers"),
    ("subscription_url", "/subscription"),
    ("tags_url", "/tags"),
    ("teams_url", "/teams"),
    ("trees_url", "/git/trees{/sha}"),
];
