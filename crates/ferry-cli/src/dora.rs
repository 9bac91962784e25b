//! `ferry dora`: the DORA report of `GET /api/v1/dora` as a table (or `--json`).

use crate::client::{urlencode, Conn};
use clap::Args;
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use reqwest::Method;
use serde_json::Value;

#[derive(Args)]
pub struct DoraArgs {
    #[command(flatten)]
    conn: Conn,
    /// A service name or alias; repeat for several. Default: every service.
    #[arg(long)]
    service: Vec<String>,
    /// First UTC day (YYYY-MM-DD). Default: 89 days before `--to`.
    #[arg(long)]
    from: Option<String>,
    /// Last UTC day, inclusive. Default: today.
    #[arg(long)]
    to: Option<String>,
    /// One environment instead of every production-class one.
    #[arg(long)]
    environment: Option<String>,
    /// `2023` (default) or `2021`.
    #[arg(long)]
    benchmark: Option<String>,
    /// Print the server's JSON answer as it is.
    #[arg(long)]
    json: bool,
}

pub async fn dora(a: DoraArgs) -> anyhow::Result<()> {
    let mut params: Vec<(&str, &str)> = Vec::new();
    for s in &a.service {
        params.push(("service", s));
    }
    for (key, value) in [
        ("from", &a.from),
        ("to", &a.to),
        ("environment", &a.environment),
        ("benchmark", &a.benchmark),
    ] {
        if let Some(v) = value {
            params.push((key, v));
        }
    }
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    let path = format!("/api/v1/dora?{}", query.join("&"));
    let report: Value = a.conn.call(Method::GET, &path, None).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    print!("{}", render(&report));
    Ok(())
}

/// The report as a heading and a table: metric, value, detail, level.
pub fn render(r: &Value) -> String {
    let services = match r["scope"]["services"].as_array() {
        Some(list) if !list.is_empty() => list
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        _ => "all services".to_owned(),
    };
    let envs = r["scope"]["environments"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let mut out = format!(
        "DORA {} to {} · {} · environments: {} · benchmark {}\n",
        text(&r["from"]),
        text(&r["to"]),
        services,
        envs,
        text(&r["benchmark"])
    );
    let df = &r["deployment_frequency"];
    let lt = &r["lead_time_for_changes"];
    let cfr = &r["change_failure_rate"];
    let (rec_name, rec) = if r.get("time_to_restore_service").is_some() {
        ("Time to restore service", &r["time_to_restore_service"])
    } else {
        (
            "Failed deployment recovery time",
            &r["failed_deployment_recovery_time"],
        )
    };
    let mut table = Table::new();
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_header(vec!["METRIC", "VALUE", "DETAIL", "LEVEL"]);
    table.add_row(vec![
        "Deployment frequency".to_owned(),
        format!(
            "{} days/week",
            df["median_deployment_days_per_week"].as_u64().unwrap_or(0)
        ),
        format!(
            "{} deployments on {} days; median {} days/month",
            df["deployments"].as_u64().unwrap_or(0),
            df["deployment_days"].as_u64().unwrap_or(0),
            df["median_deployment_days_per_month"].as_u64().unwrap_or(0)
        ),
        level(df),
    ]);
    table.add_row(vec![
        "Lead time for changes".to_owned(),
        duration(&lt["median_seconds"]),
        format!(
            "median of {} changes ({} dropped)",
            lt["changes"].as_u64().unwrap_or(0),
            lt["dropped"].as_u64().unwrap_or(0)
        ),
        level(lt),
    ]);
    table.add_row(vec![
        "Change failure rate".to_owned(),
        match cfr["rate"].as_f64() {
            Some(x) => format!("{:.1} %", x * 100.0),
            None => "-".to_owned(),
        },
        format!(
            "{} of {} deployments failed",
            cfr["failed_deployments"].as_u64().unwrap_or(0),
            cfr["deployments"].as_u64().unwrap_or(0)
        ),
        level(cfr),
    ]);
    table.add_row(vec![
        rec_name.to_owned(),
        duration(&rec["median_seconds"]),
        format!(
            "median of {} incidents",
            rec["incidents"].as_u64().unwrap_or(0)
        ),
        level(rec),
    ]);
    out.push_str(&format!("{table}\n"));
    for (name, m) in [
        ("deployment frequency", df),
        ("lead time", lt),
        ("change failure rate", cfr),
        ("recovery", rec),
    ] {
        if let Some(reason) = m["reason"].as_str() {
            out.push_str(&format!("{name}: {reason}\n"));
        }
    }
    out
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

fn level(m: &Value) -> String {
    m["level"].as_str().unwrap_or("-").to_owned()
}

/// Seconds as the largest two units (`3d 4h`, `2h 5m`, `40s`).
fn duration(v: &Value) -> String {
    let Some(s) = v.as_i64() else {
        return "-".to_owned();
    };
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3_600, (s % 3_600) / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m {}s", s % 60),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_levels_values_and_reasons() {
        let r = json!({
            "from": "2026-01-01", "to": "2026-03-31", "benchmark": "2023",
            "scope": {"services": ["cart"], "environments": ["production"]},
            "deployment_frequency": {"deployments": 57, "deployment_days": 41,
                "median_deployment_days_per_week": 3, "median_deployment_days_per_month": 14,
                "level": "high"},
            "lead_time_for_changes": {"changes": 0, "dropped": 0, "median_seconds": null,
                "level": null, "reason": "no change was deployed in the range"},
            "change_failure_rate": {"deployments": 57, "failed_deployments": 4, "rate": 0.0702,
                "level": "high"},
            "failed_deployment_recovery_time": {"incidents": 5, "median_seconds": 5400,
                "level": "high"}
        });
        let out = render(&r);
        assert!(out.contains("cart"), "{out}");
        assert!(out.contains("3 days/week"), "{out}");
        assert!(out.contains("7.0 %"), "{out}");
        assert!(out.contains("1h 30m"), "{out}");
        assert!(out.contains("Failed deployment recovery time"), "{out}");
        assert!(
            out.contains("lead time: no change was deployed in the range"),
            "{out}"
        );
    }
}
