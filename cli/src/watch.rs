//! `--watch`: a task followed until it ends, each step printed as it finishes (or starts waiting,
//! or fails), with a live bar per service on a terminal.

use std::{
    collections::{BTreeMap, HashMap},
    io::{IsTerminal as _, Write},
    time::Duration,
};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

use crate::{CliError, api::ApiClient, output::shown};

/// A step's statuses after which it does not change again in this run.
const DONE: [&str; 3] = ["succeeded", "failed", "skipped"];

/// Follows the task until it succeeds or fails; answers its last view.
pub async fn watch(
    api: &ApiClient,
    task_id: &str,
    every: Duration,
    out: &mut dyn Write,
) -> Result<Value, CliError> {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let progress = MultiProgress::with_draw_target(target);
    let style = ProgressStyle::with_template("{prefix:>18} [{bar:24}] {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let mut bars: BTreeMap<String, ProgressBar> = BTreeMap::new();
    let mut seen: HashMap<(String, String), String> = HashMap::new();
    loop {
        let task = api.get(&format!("/tasks/{task_id}")).await?;
        for (service, view) in task["services"].as_object().into_iter().flatten() {
            let steps = view["steps"].as_array().cloned().unwrap_or_default();
            let bar = bars.entry(service.clone()).or_insert_with(|| {
                progress
                    .add(ProgressBar::new(steps.len() as u64))
                    .with_style(style.clone())
                    .with_prefix(service.clone())
            });
            let status_of = |s: &Value| s["status"].as_str().unwrap_or_default().to_owned();
            bar.set_position(
                steps
                    .iter()
                    .filter(|s| DONE.contains(&status_of(s).as_str()))
                    .count() as u64,
            );
            if let Some(current) = steps.iter().find(|s| !DONE.contains(&status_of(s).as_str())) {
                bar.set_message(format!("{} {}", shown(&current["name"]), status_of(current)));
            }
            for step in &steps {
                let (name, status) = (
                    step["name"].as_str().unwrap_or_default().to_owned(),
                    status_of(step),
                );
                let key = (service.clone(), name.clone());
                if seen.get(&key) == Some(&status)
                    || !(DONE.contains(&status.as_str()) || status == "waiting")
                {
                    continue;
                }
                seen.insert(key, status.clone());
                let detail = match status.as_str() {
                    "failed" => format!(": {}", shown(&step["last_error"])),
                    "waiting" => format!(
                        " until {}: {}",
                        shown(&step["not_before"]),
                        shown(&step["last_error"])
                    ),
                    _ if step["outcome"].is_string() => format!(": {}", shown(&step["outcome"])),
                    _ => String::new(),
                };
                let line = format!("{service:<17} {:<34} {status}{detail}", shown(&step["name"]));
                progress
                    .suspend(|| writeln!(out, "{line}"))
                    .map_err(CliError::Output)?;
            }
        }
        let status = task["status"].as_str().unwrap_or_default();
        if matches!(status, "succeeded" | "failed") {
            for bar in bars.values() {
                bar.finish_and_clear();
            }
            writeln!(out, "task {task_id} {status}").map_err(CliError::Output)?;
            if let Some(error) = task["last_error"].as_str() {
                writeln!(out, "  {}", shown(&Value::from(error))).map_err(CliError::Output)?;
            }
            return Ok(task);
        }
        tokio::time::sleep(every).await;
    }
}
