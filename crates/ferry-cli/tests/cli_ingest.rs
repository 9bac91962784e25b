//! The `ferry` binary's ingestion commands against a real server (SQLite, in this process):
//! `integration create|list`, `service create|suggestions`, `import` (twice: idempotent, bad
//! lines reported with their file line numbers) and `deployments` with filters.

#![cfg(feature = "server")]

use ferry_server::{App, Config, Overrides, Secret};
use std::io::Write;
use std::process::{Command, Output};

const ADMIN: &str = "ferry_cliIngestTestAdminToken00001";

fn ferry(base: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .env("FERRY_SERVER", base)
        .env("FERRY_TOKEN", ADMIN)
        .output()
        .expect("run ferry")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

async fn run(base: String, args: Vec<&'static str>) -> Output {
    tokio::task::spawn_blocking(move || ferry(&base, &args))
        .await
        .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_service_import_and_listing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config::resolve(Overrides {
        listen: Some("127.0.0.1:0".into()),
        database_url: Some(format!(
            "sqlite://{}",
            dir.path().join("ferry.db").display()
        )),
        external_url: None,
        admin_token: Some(Secret::new(ADMIN.to_owned())),
        data_dir: Some(dir.path().join("data")),
        config: None,
        ..Default::default()
    })
    .expect("config");
    let app = App::build(config).await.expect("server");
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = app
            .run_until(async {
                let _ = stopped.await;
            })
            .await;
    });

    let o = run(
        base.clone(),
        vec![
            "integration",
            "create",
            "--kind",
            "opslevel",
            "--name",
            "backfill",
        ],
    )
    .await;
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    assert!(
        out.contains("created opslevel integration 1 (backfill)"),
        "{out}"
    );
    assert!(out.contains("/integrations/deploy/"), "{out}");
    let o = run(
        base.clone(),
        vec!["service", "create", "shop", "--alias", "shop-svc"],
    )
    .await;
    assert!(o.status.success(), "{o:?}");
    assert!(
        stdout(&o).contains("aliases: shop, shop-svc"),
        "{}",
        stdout(&o)
    );

    // 2,500 deploys over three requests, one bad line, one blank line.
    let file = dir.path().join("deploys.ndjson");
    let mut f = std::fs::File::create(&file).expect("file");
    for i in 0..2_500 {
        if i == 1_200 {
            writeln!(f, "{{\"service\":\"shop\"}}").expect("write");
            writeln!(f).expect("write");
        }
        writeln!(
            f,
            r#"{{"service":"shop-svc","description":"deploy {i}","deployed_at":"2023-03-01T10:00:00Z","dedup_id":"run-{i}"}}"#
        )
        .expect("write");
    }
    drop(f);
    let path: &'static str = Box::leak(file.display().to_string().into_boxed_str());
    let o = run(base.clone(), vec!["import", "--integration", "1", path]).await;
    assert!(!o.status.success(), "a refused line fails the command");
    assert!(
        stdout(&o).contains("2501 lines: 2500 created, 0 updated, 0 already there, 1 refused"),
        "{}",
        stdout(&o)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 1201: Description Error"), "{err}");
    let o = run(base.clone(), vec!["import", "--integration", "1", path]).await;
    assert!(
        stdout(&o).contains("2501 lines: 0 created, 0 updated, 2500 already there, 1 refused"),
        "{}",
        stdout(&o)
    );

    let o = run(
        base.clone(),
        vec![
            "deployments",
            "--source",
            "opslevel",
            "--service",
            "shop",
            "--limit",
            "3",
        ],
    )
    .await;
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    assert_eq!(out.matches("opslevel").count(), 3, "{out}");
    let o = run(base.clone(), vec!["service", "suggestions"]).await;
    assert!(stdout(&o).contains("no suggestions"), "{}", stdout(&o));
    let o = run(base.clone(), vec!["integration", "list"]).await;
    assert!(stdout(&o).contains("backfill"), "{}", stdout(&o));
    let o = run(base.clone(), vec!["integration", "delete", "1"]).await;
    assert!(o.status.success(), "{o:?}");
    let o = run(base.clone(), vec!["import", "--integration", "1", path]).await;
    assert!(!o.status.success());

    let _ = stop.send(());
    let _ = server.await;
}
