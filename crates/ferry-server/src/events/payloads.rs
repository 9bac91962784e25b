//! Webhook bodies (compat/github.md §6): GitHub's `deployment`, `deployment_status` and `ping`
//! payloads, built from the rows the outbox names.

use crate::urls::Urls;
use crate::wire::github as wire;
use ferry_store::model::{Actor, Deployment, DeploymentStatus, Repo, Webhook};
use serde_json::{json, Value};

/// The id of ferry's own bot user: positive (GitHub's schema requires it) and far from the
/// token ids that name other actors.
pub const FERRY_BOT_ID: i64 = i32::MAX as i64;

/// Who the `ping` and other system events come from, and who auto-deploys.
pub fn ferry_actor() -> Actor {
    Actor {
        id: FERRY_BOT_ID,
        login: "ferry".into(),
        bot: true,
    }
}

fn value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// The deployment as it was when created: later statuses may have moved its environment
/// (decision D2) and its `updated_at`.
fn deployment_at_creation(urls: &Urls, repo: &Repo, d: &Deployment) -> Value {
    let mut v = value(&wire::deployment(urls, &repo.slug, d));
    v["environment"] = Value::String(d.original_environment.to_string());
    v["updated_at"] = Value::String(d.created_at.to_github());
    v
}

pub fn deployment_created(urls: &Urls, repo: &Repo, d: &Deployment) -> Value {
    json!({
        "action": "created",
        "deployment": deployment_at_creation(urls, repo, d),
        "workflow": null,
        "workflow_run": null,
        "repository": wire::repository(urls, repo),
        "sender": value(&wire::simple_user(urls, &d.creator)),
    })
}

pub fn status_created(urls: &Urls, repo: &Repo, d: &Deployment, s: &DeploymentStatus) -> Value {
    let mut status = value(&wire::status(urls, &repo.slug, s));
    // `format: uri` in the webhook schema: an empty one is left out, not sent as "".
    if let Some(obj) = status.as_object_mut() {
        for key in ["log_url", "environment_url"] {
            if obj.get(key).and_then(Value::as_str) == Some("") {
                obj.remove(key);
            }
        }
    }
    let mut deployment = value(&wire::deployment(urls, &repo.slug, d));
    deployment["environment"] = Value::String(s.environment.to_string());
    deployment["updated_at"] = Value::String(s.created_at.to_github());
    json!({
        "action": "created",
        "deployment_status": status,
        "deployment": deployment,
        "check_run": null,
        "workflow": null,
        "workflow_run": null,
        "repository": wire::repository(urls, repo),
        "sender": value(&wire::simple_user(urls, &s.creator)),
    })
}

pub fn ping(urls: &Urls, hook: &Webhook, repo: Option<&Repo>) -> Value {
    let events: Vec<&str> = hook.events.iter().map(|e| e.as_str()).collect();
    let mut v = json!({
        "zen": "Keep it logically awesome.",
        "hook_id": hook.id,
        "hook": {
            "type": "Repository",
            "id": hook.id,
            "name": "web",
            "active": hook.active,
            "events": events,
            "config": {
                "content_type": "json",
                "insecure_ssl": "0",
                "url": hook.url,
            },
            "created_at": hook.created_at.to_github(),
            "updated_at": hook.updated_at.to_github(),
        },
        "sender": value(&wire::simple_user(urls, &ferry_actor())),
    });
    if let Some(r) = repo {
        v["repository"] = wire::repository(urls, r);
    }
    v
}
