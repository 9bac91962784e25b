//! Property tests of the two ingestion payload parsers (OpsLevel, DevLake deployments and
//! issues) and the lenient time parser: whatever the bytes, no panic; whatever a parser
//! accepts satisfies what the store relies on; whatever it refuses names a problem.

use ferry_domain::ingest::parse_ingest_time;
use ferry_domain::{IntegrationId, Timestamp};
use ferry_server::routes::ingest::{devlake, opslevel};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const NOW: i64 = 1_700_000_000;

/// Keys the parsers look at (both generations, several spellings), and some they do not.
const KEYS: &[&str] = &[
    "service",
    "description",
    "deployed_at",
    "deploy_url",
    "dedup_id",
    "environment",
    "deploy_number",
    "deployer",
    "commit",
    "sha",
    "message",
    "branch",
    "date",
    "email",
    "name",
    "id",
    "pipeline_id",
    "repo_url",
    "commit_sha",
    "commit_msg",
    "ref_name",
    "start_time",
    "end_time",
    "create_time",
    "result",
    "deploymentCommits",
    "deployment_commits",
    "repoUrl",
    "commitSha",
    "startedDate",
    "finishedDate",
    "createdDate",
    "originalEnvironment",
    "displayTitle",
    "issue_key",
    "issueKey",
    "title",
    "status",
    "type",
    "created_date",
    "createdDate",
    "resolution_date",
    "updated_date",
    "lead_time_minutes",
    "leadTimeMinutes",
    "original_status",
    "component",
    "ENVIRONMENT",
    "Result",
    "x",
    "",
];

/// Strings that hit the interesting branches: times in every format, enum values, blanks,
/// NUL, multibyte text, numbers as text.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("   ".to_owned()),
        Just("2019-02-01 13:28:33".to_owned()),
        Just("2020-01-01T12:00:00+00:00".to_owned()),
        Just("2024-06-01T12:05:30.123Z".to_owned()),
        Just("2024-06-01T12:05:30+0530".to_owned()),
        Just("2024-02-30".to_owned()),
        Just("SUCCESS".to_owned()),
        Just("failure".to_owned()),
        Just("INCIDENT".to_owned()),
        Just("DONE".to_owned()),
        Just("in_progress".to_owned()),
        Just("a\u{0}b".to_owned()),
        Just("ß→☃ 2019-02-01".to_owned()),
        Just("-12".to_owned()),
        Just("1e400".to_owned()),
        "[ -~]{0,24}",
        "\\PC{0,12}",
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        text().prop_map(Value::String),
    ]
}

/// JSON values, objects keyed mostly by the parsers' keys, a few levels deep.
fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(KEYS), value()), 0..12).prop_map(|kv| {
        Value::Object(
            kv.into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<Map<_, _>>(),
        )
    })
}

/// The seeds' own payloads, one field replaced by anything.
fn mutated_seed() -> impl Strategy<Value = Value> {
    let seeds = vec![
        json!({"dedup_id":"9ae54794","service":"shopping_cart","deployer":{"id":"1","email":"a@b","name":"M"},
               "deployed_at":"2019-02-01 13:28:33","environment":"Production","description":"Deploy #234",
               "deploy_url":"https://heroku.deploys.com","deploy_number":"234",
               "commit":{"sha":"38d02f1d","message":"m","branch":"master","date":"2019-02-01 09:23:43"}}),
        json!({"pipeline_id":"p","environment":"PRODUCTION","repo_url":"https://github.com/a/b/","commit_sha":"015e",
               "start_time":"2020-01-01T12:00:00+00:00","end_time":"2020-01-02T13:00:00+00:00","result":"FAILURE"}),
        json!({"start_time":"2020-01-01T12:00:00+00:00","deploymentCommits":[{"repo_url":"r1","commit_sha":"c1"},{"repo_url":"r2","commit_sha":"c2"}]}),
        json!({"id":"gha-run-4711","result":"FAILURE","startedDate":"2024-06-01T12:00:00+00:00","finishedDate":"2024-06-01T12:05:30Z",
               "deploymentCommits":[{"repoUrl":"https://github.com/acme/api","commitSha":"015e"}]}),
        json!({"issue_key":"DLK-1234","title":"t","type":"INCIDENT","status":"TODO","created_date":"2020-01-01T12:00:00+00:00"}),
    ];
    (
        prop::sample::select(seeds),
        prop::sample::select(KEYS),
        value(),
    )
        .prop_map(|(mut seed, key, v)| {
            if let Value::Object(map) = &mut seed {
                map.insert(key.to_owned(), v);
            }
            seed
        })
}

fn check_all(raw: &[u8]) {
    let now = Timestamp::from_unix(NOW);
    match opslevel::parse(raw) {
        Ok(d) => {
            assert!(!d.service.as_str().is_empty());
            assert_eq!(d.service.as_str(), d.service.as_str().trim());
            assert!(!d.description.trim().is_empty());
            assert!(!d.description.contains('\0'));
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            assert!(errors
                .iter()
                .all(|e| e.status == 400 && !e.detail.is_empty()));
        }
    }
    match devlake::parse_deployment(raw, now) {
        Ok(d) => {
            assert!(!d.commits.is_empty());
            assert!(!d.key.is_empty());
            assert!(d
                .commits
                .iter()
                .all(|c| !c.repo_url.is_empty() && !c.sha.is_empty()));
            assert!(!d.environment.is_empty());
        }
        Err(e) => {
            assert_eq!(e.status.as_u16(), 400);
            assert!(!e.message.is_empty());
        }
    }
    match devlake::parse_issue(raw, IntegrationId(1), now) {
        Ok(i) => {
            assert!(!i.issue_key.trim().is_empty());
            assert!(!i.title.is_empty());
            assert!(i.lead_time_minutes.unwrap_or(0) >= 0);
            assert!(serde_json::from_str::<Value>(&i.fields).is_ok());
        }
        Err(e) => {
            assert_eq!(e.status.as_u16(), 400);
            assert!(!e.message.is_empty());
        }
    }
    let _ = devlake::is_issue(raw);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes(raw in prop::collection::vec(any::<u8>(), 0..256)) {
        check_all(&raw);
    }

    #[test]
    fn any_json_object(v in object()) {
        check_all(v.to_string().as_bytes());
    }

    #[test]
    fn mutated_seeds(v in mutated_seed()) {
        check_all(v.to_string().as_bytes());
    }

    #[test]
    fn truncated_seeds(v in mutated_seed(), cut in 0usize..400) {
        let text = v.to_string();
        let bytes = text.as_bytes();
        check_all(&bytes[..cut.min(bytes.len())]);
    }

    #[test]
    fn time_parser_never_panics(s in "\\PC{0,40}") {
        let _ = parse_ingest_time(&s);
    }

    /// Every format the senders use reads back the same instant.
    #[test]
    fn time_formats_agree(
        secs in 0i64..4_102_444_800, // 1970 .. 2100
        offset_min in -720i32..=840,
        frac in 0u32..1_000_000,
    ) {
        let utc = time::OffsetDateTime::from_unix_timestamp(secs).expect("in range");
        let off = time::UtcOffset::from_whole_seconds(offset_min * 60).expect("offset");
        let t = utc.to_offset(off);
        let base = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second()
        );
        let sign = if offset_min < 0 { '-' } else { '+' };
        let (h, m) = (offset_min.abs() / 60, offset_min.abs() % 60);
        for s in [
            format!("{base}{sign}{h:02}:{m:02}"),
            format!("{base}{sign}{h:02}{m:02}"),
            format!("{base}.{frac:06}{sign}{h:02}:{m:02}"),
        ] {
            prop_assert_eq!(parse_ingest_time(&s).map(Timestamp::unix), Some(secs), "{}", s);
        }
        let z = utc;
        let zs = format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            z.year(), u8::from(z.month()), z.day(), z.hour(), z.minute(), z.second()
        );
        prop_assert_eq!(parse_ingest_time(&zs).map(Timestamp::unix), Some(secs));
        prop_assert_eq!(parse_ingest_time(&format!("{}Z", zs.replace(' ', "T"))).map(Timestamp::unix), Some(secs));
    }
}
