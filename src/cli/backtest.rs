//! `backtest`: would the comparables have been right? (SPEC 4.7), as a table or as the
//! `backtest --json` contract (SPEC 6).

use std::process::ExitCode;

use chrono::NaiveDate;

use keepable::app::error::AppError;
use keepable::domain::backtest::{Backtest, Summary};

use super::{close, Globals};

/// Replays the comparables rule over the firm's history from `from` (YYYY-MM-DD, by default
/// two years before today) and prints how often P50, P80 and P90 held.
pub(super) async fn backtest(
    globals: &Globals,
    from: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let from = match from.map(parse_from).transpose() {
        Ok(from) => from,
        Err(message) => return Ok(refuse(json, &message)),
    };
    let app = globals.open().await?;
    let code = match app.backtest(from).await {
        Ok(result) if json => {
            let mut object = serde_json::to_value(&result)?;
            object["kind"] = "backtest".into();
            out!("{object}");
            ExitCode::SUCCESS
        }
        Ok(result) => {
            out!("{}", table(&result));
            ExitCode::SUCCESS
        }
        Err(AppError::User(error)) => refuse(json, &error.to_string()),
        Err(AppError::Internal(error)) => refuse(json, &format!("{error:#}")),
    };
    close(app, code).await
}

fn parse_from(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        format!(
            "'{text}' is not a date for --from: write YYYY-MM-DD, for example --from 2025-01-01"
        )
    })
}

/// Says what went wrong: as `{"kind":"error","message":…}` with `--json`, else on stderr.
fn refuse(json: bool, message: &str) -> ExitCode {
    if json {
        out!("{}", serde_json::json!({"kind": "error", "message": message}));
    } else {
        eprintln!("error: {message}");
    }
    ExitCode::FAILURE
}

/// The backtest as a person reads it: one row per package, the firm, and what calibrated is.
fn table(result: &Backtest) -> String {
    let mut lines = vec![
        format!(
            "Backtest of the comparables: the projects started {} to {} that had finished, each \
             forecast from the projects that had finished the day before it started.",
            result.from, result.today
        ),
        String::new(),
        format!(
            "{:<28} {:>6} {:>7} {:>5} {:>5} {:>5}",
            "package", "tested", "skipped", "P50", "P80", "P90"
        ),
    ];
    for group in &result.groups {
        lines.push(row(&group.package, &group.summary));
    }
    lines.push(row("all packages", &result.overall));
    lines.push(format!(
        "{:<28} {:>6} {:>7} {:>5} {:>5} {:>5}",
        "calibrated", "", "", "50%", "80%", "90%"
    ));
    lines.push(String::new());
    lines.push(
        "P50, P80 and P90 columns: how often a project took no longer than the percentile its \
         comparables gave. A calibrated firm shows about 50%, 80% and 90%; far lower means its \
         history flatters it, so quote a higher percentile. Skipped projects had fewer than 5 \
         comparables; '-' means none was tested."
            .into(),
    );
    if result.groups.is_empty() {
        lines.push("No finished project started in this window: import history.csv, or give an earlier --from.".into());
    }
    lines.join("\n")
}

fn row(label: &str, summary: &Summary) -> String {
    let rate =
        |r: Option<f64>| r.map(|r| format!("{:.0}%", r * 100.0)).unwrap_or_else(|| "-".into());
    format!(
        "{label:<28} {:>6} {:>7} {:>5} {:>5} {:>5}",
        summary.tested,
        summary.skipped,
        rate(summary.p50_hit_rate),
        rate(summary.p80_hit_rate),
        rate(summary.p90_hit_rate)
    )
}
