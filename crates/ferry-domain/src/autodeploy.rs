//! Continuous delivery rules of `.ferry.yml` (spec/policies.md §1, "Continuous delivery"):
//! which environments a merge, a push or a tag deploys to, and what CI they wait for.
//!
//! The file is parsed by the caller (YAML) into [`DeployConfig`]; this module decides. Both
//! trigger vocabularies are read: Gitploy's `auto_deploy_on` (a regex over the full pushed
//! ref) and ferry's `auto_deploy.{merge, push, tag}` (regexes over the branch or tag name).
//! `preset: deploybot` adds Deploybot's default workflow to the environments the file lists.

use regex::Regex;
use serde::Deserialize;

/// The parts of `.ferry.yml` continuous delivery reads. Unknown keys are ignored here; the
/// policy checks of other features read their own.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeployConfig {
    #[serde(default)]
    pub preset: Option<String>,
    #[serde(default)]
    pub envs: Vec<EnvConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct EnvConfig {
    pub name: String,
    #[serde(default)]
    pub required_contexts: Option<Vec<String>>,
    #[serde(default)]
    pub production_environment: Option<bool>,
    /// Gitploy: regex over the full pushed ref (`refs/heads/main`, `refs/tags/v.*`).
    #[serde(default)]
    pub auto_deploy_on: Option<String>,
    #[serde(default)]
    pub auto_deploy: Option<AutoDeployConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AutoDeployConfig {
    /// A pull request merged into a branch matching this regex.
    #[serde(default)]
    pub merge: Option<String>,
    /// A push to a branch matching this regex.
    #[serde(default)]
    pub push: Option<String>,
    /// A pushed tag matching this regex.
    #[serde(default)]
    pub tag: Option<String>,
    /// Wait until CI is green (the environment's `required_contexts`, else every reported
    /// context) instead of deploying at once.
    #[serde(default)]
    pub wait_for_ci: bool,
}

/// What happened in the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A pull request merged into `base` (branch name).
    Merge { base: String, number: i64 },
    /// A push to a branch.
    Push { branch: String },
    /// A pushed tag.
    Tag { tag: String },
    /// A pull request opened or updated (Deploybot's `pr<N>` environments).
    PullRequest { number: i64 },
}

impl Trigger {
    /// The full ref Gitploy's `auto_deploy_on` matches against.
    fn full_ref(&self) -> Option<String> {
        match self {
            Trigger::Push { branch } => Some(format!("refs/heads/{branch}")),
            Trigger::Tag { tag } => Some(format!("refs/tags/{tag}")),
            Trigger::Merge { .. } | Trigger::PullRequest { .. } => None,
        }
    }
}

/// What CI an auto-deploy waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CiGate {
    /// Deploy at once.
    None,
    /// Every context reported on the commit must be green (GitHub's rule).
    AllReported,
    /// These contexts must be green.
    Listed(Vec<String>),
}

/// One environment a trigger deploys to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub environment: String,
    pub production: bool,
    pub gate: CiGate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("config_invalid: envs[{index}] ({env}): {field} is not a valid regex: {reason}")]
    BadRegex {
        index: usize,
        env: String,
        field: &'static str,
        reason: String,
    },
    #[error("config_invalid: unknown preset {0:?} (known: deploybot)")]
    UnknownPreset(String),
}

fn matches(
    pattern: Option<&String>,
    subject: &str,
    index: usize,
    env: &str,
    field: &'static str,
) -> Result<bool, ConfigError> {
    let Some(p) = pattern else { return Ok(false) };
    let re = Regex::new(p).map_err(|e| ConfigError::BadRegex {
        index,
        env: env.to_owned(),
        field,
        reason: e.to_string(),
    })?;
    Ok(re.is_match(subject))
}

/// Deploybot's default workflow (seed 002): `main` → preview, `release*` → test, tags →
/// production; open pull requests → `pr<N>` (see [`targets`]).
fn deploybot_envs() -> Vec<EnvConfig> {
    let env = |name: &str, auto: AutoDeployConfig| EnvConfig {
        name: name.into(),
        auto_deploy: Some(auto),
        ..EnvConfig::default()
    };
    vec![
        env(
            "preview",
            AutoDeployConfig {
                push: Some("^main$".into()),
                merge: Some("^main$".into()),
                ..AutoDeployConfig::default()
            },
        ),
        env(
            "test",
            AutoDeployConfig {
                push: Some("^release".into()),
                ..AutoDeployConfig::default()
            },
        ),
        env(
            "production",
            AutoDeployConfig {
                tag: Some(".".into()),
                ..AutoDeployConfig::default()
            },
        ),
    ]
}

/// The environments `trigger` deploys to under `config`, in file order, each once.
pub fn targets(config: &DeployConfig, trigger: &Trigger) -> Result<Vec<Target>, ConfigError> {
    let mut envs = config.envs.clone();
    let deploybot = match config.preset.as_deref() {
        None => false,
        Some(p) if p.eq_ignore_ascii_case("deploybot") => true,
        Some(other) => return Err(ConfigError::UnknownPreset(other.to_owned())),
    };
    if deploybot {
        // The file's own entries win over the preset's of the same name.
        for preset in deploybot_envs() {
            if !envs
                .iter()
                .any(|e| e.name.eq_ignore_ascii_case(&preset.name))
            {
                envs.push(preset);
            }
        }
    }
    let mut out: Vec<Target> = Vec::new();
    if let (true, Trigger::PullRequest { number }) = (deploybot, trigger) {
        out.push(Target {
            environment: format!("pr{number}"),
            production: false,
            gate: CiGate::None,
        });
    }
    for (i, env) in envs.iter().enumerate() {
        let auto = env.auto_deploy.clone().unwrap_or_default();
        let name = env.name.as_str();
        let hit = match trigger {
            Trigger::Merge { base, .. } => {
                matches(auto.merge.as_ref(), base, i, name, "auto_deploy.merge")?
            }
            Trigger::Push { branch } => {
                matches(auto.push.as_ref(), branch, i, name, "auto_deploy.push")?
            }
            Trigger::Tag { tag } => matches(auto.tag.as_ref(), tag, i, name, "auto_deploy.tag")?,
            Trigger::PullRequest { .. } => false,
        };
        let gitploy = match trigger.full_ref() {
            Some(full) => matches(
                env.auto_deploy_on.as_ref(),
                &full,
                i,
                name,
                "auto_deploy_on",
            )?,
            None => false,
        };
        if !(hit || gitploy) || out.iter().any(|t| t.environment == env.name) {
            continue;
        }
        let gate = match (&env.required_contexts, auto.wait_for_ci) {
            (Some(list), _) if list.is_empty() => CiGate::None,
            (Some(list), _) => CiGate::Listed(list.clone()),
            (None, true) => CiGate::AllReported,
            (None, false) => CiGate::None,
        };
        out.push(Target {
            environment: env.name.clone(),
            // GitHub's default: production iff the name is `production`.
            production: env
                .production_environment
                .unwrap_or_else(|| env.name.eq_ignore_ascii_case("production")),
            gate,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str, auto: AutoDeployConfig) -> EnvConfig {
        EnvConfig {
            name: name.into(),
            auto_deploy: Some(auto),
            ..EnvConfig::default()
        }
    }

    fn names(t: &[Target]) -> Vec<&str> {
        t.iter().map(|t| t.environment.as_str()).collect()
    }

    #[test]
    fn merge_push_and_tag_rules() {
        let mut preview = env(
            "preview",
            AutoDeployConfig {
                merge: Some("^main$".into()),
                wait_for_ci: true,
                ..Default::default()
            },
        );
        preview.required_contexts = Some(vec!["ci/test".into()]);
        let config = DeployConfig {
            preset: None,
            envs: vec![
                preview,
                env(
                    "staging",
                    AutoDeployConfig {
                        push: Some("^release".into()),
                        wait_for_ci: true,
                        ..Default::default()
                    },
                ),
                env(
                    "production",
                    AutoDeployConfig {
                        tag: Some("^v".into()),
                        ..Default::default()
                    },
                ),
            ],
        };
        let merged = targets(
            &config,
            &Trigger::Merge {
                base: "main".into(),
                number: 3,
            },
        )
        .expect("valid");
        assert_eq!(names(&merged), ["preview"]);
        assert_eq!(merged[0].gate, CiGate::Listed(vec!["ci/test".into()]));
        assert!(!merged[0].production);
        let maint = Trigger::Merge {
            base: "maintenance".into(),
            number: 4,
        };
        assert!(targets(&config, &maint).expect("valid").is_empty());
        let push = targets(
            &config,
            &Trigger::Push {
                branch: "release-1".into(),
            },
        )
        .expect("valid");
        assert_eq!(names(&push), ["staging"]);
        assert_eq!(push[0].gate, CiGate::AllReported);
        let tag = targets(&config, &Trigger::Tag { tag: "v2".into() }).expect("valid");
        assert_eq!(names(&tag), ["production"]);
        assert!(tag[0].production);
        assert_eq!(tag[0].gate, CiGate::None);
    }

    #[test]
    fn gitploy_auto_deploy_on_matches_the_full_ref() {
        let config = DeployConfig {
            preset: None,
            envs: vec![EnvConfig {
                name: "dev".into(),
                auto_deploy_on: Some("refs/heads/main".into()),
                ..Default::default()
            }],
        };
        let t = targets(
            &config,
            &Trigger::Push {
                branch: "main".into(),
            },
        )
        .expect("valid");
        assert_eq!(names(&t), ["dev"]);
        assert!(targets(&config, &Trigger::Tag { tag: "main".into() })
            .expect("valid")
            .is_empty());
    }

    #[test]
    fn deploybot_preset() {
        let config = DeployConfig {
            preset: Some("deploybot".into()),
            envs: vec![],
        };
        let pr = targets(&config, &Trigger::PullRequest { number: 7 }).expect("valid");
        assert_eq!(names(&pr), ["pr7"]);
        let main = Trigger::Push {
            branch: "main".into(),
        };
        assert_eq!(names(&targets(&config, &main).expect("valid")), ["preview"]);
        let rel = Trigger::Push {
            branch: "release-2".into(),
        };
        assert_eq!(names(&targets(&config, &rel).expect("valid")), ["test"]);
        let tag = targets(&config, &Trigger::Tag { tag: "x1".into() }).expect("valid");
        assert_eq!(names(&tag), ["production"]);
        assert!(tag[0].production);
    }

    #[test]
    fn bad_regex_and_preset_are_config_errors() {
        let config = DeployConfig {
            preset: None,
            envs: vec![env(
                "x",
                AutoDeployConfig {
                    push: Some("(".into()),
                    ..Default::default()
                },
            )],
        };
        let err = targets(&config, &Trigger::Push { branch: "a".into() }).expect_err("bad regex");
        assert!(err.to_string().contains("auto_deploy.push"));
        let config = DeployConfig {
            preset: Some("shipit".into()),
            envs: vec![],
        };
        assert!(targets(&config, &Trigger::Push { branch: "a".into() }).is_err());
    }
}
