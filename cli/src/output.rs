//! What the CLI prints: tables for people, JSON for scripts. Every value from the API (names an
//! operator or a tenant chose, Microsoft's text) is shown with control characters escaped, so
//! nothing can drive the terminal.

use std::io::Write;

use serde_json::Value;

use crate::CliError;

/// The most characters of one cell.
const CELL: usize = 60;

/// A value as a terminal may show it.
pub fn shown(value: &Value) -> String {
    let text = match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    model::validation::bounded_text(&text, CELL)
}

/// Rows as a table with a header, columns padded to their widest cell.
pub fn table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> Result<(), CliError> {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    writeln!(out, "{}", line(header.iter().map(|h| (*h).to_owned()).collect())).map_err(CliError::Output)?;
    for row in rows {
        writeln!(out, "{}", line(row.clone())).map_err(CliError::Output)?;
    }
    Ok(())
}

/// The tenants of a listing as rows.
pub fn tenant_rows(tenants: &[Value]) -> Vec<Vec<String>> {
    tenants
        .iter()
        .map(|t| {
            let tags: Vec<String> = t["tags"].as_array().into_iter().flatten().map(shown).collect();
            vec![
                shown(&t["tenant_id"]),
                shown(&t["display_name"]),
                shown(&t["site"]),
                shown(&t["state"]),
                if t["paused_at"].is_string() {
                    "paused".to_owned()
                } else {
                    String::new()
                },
                tags.join(","),
                shown(&t["attention"]),
            ]
        })
        .collect()
}

/// The header of [`tenant_rows`].
pub const TENANT_HEADER: [&str; 7] = ["TENANT", "NAME", "SITE", "STATE", "PAUSED", "TAGS", "ATTENTION"];

/// JSON, pretty.
pub fn json(out: &mut dyn Write, value: &Value) -> Result<(), CliError> {
    writeln!(out, "{}", serde_json::to_string_pretty(value).unwrap_or_default()).map_err(CliError::Output)
}

/// A tenant's detail.
pub fn show_tenant(out: &mut dyn Write, tenant: &Value) -> Result<(), CliError> {
    let mut lines = vec![
        format!("tenant      {}", shown(&tenant["tenant_id"])),
        format!("name        {}", shown(&tenant["display_name"])),
        format!("reference   {}", shown(&tenant["customer_ref"])),
        format!(
            "site        {} ({})",
            shown(&tenant["site"]),
            shown(&tenant["cloud"])
        ),
        format!("state       {}", shown(&tenant["state"])),
        format!("services    {}", shown(&tenant["services"])),
        format!("tags        {}", shown(&tenant["tags"])),
    ];
    if tenant["paused_at"].is_string() {
        lines.push(format!("paused      since {}", shown(&tenant["paused_at"])));
    }
    if tenant["attention"].is_string() {
        lines.push(format!("attention   {}", shown(&tenant["attention"])));
    }
    if let Some(sync) = tenant["sync"].as_object() {
        lines.push(format!(
            "last sync   {} (run {}); MX problems {}; last drift {}",
            shown(&sync["synced_at"]),
            shown(&sync["last_run_id"]),
            sync["mx_problems"].as_array().map_or(0, Vec::len),
            shown(&sync["last_drift"])
        ));
    }
    lines.push(format!(
        "resources   {}",
        tenant["managed_resources"].as_array().map_or(0, Vec::len)
    ));
    for line in lines {
        writeln!(out, "{line}").map_err(CliError::Output)?;
    }
    let rows: Vec<Vec<String>> = tenant["recent_tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            vec![
                shown(&t["task_id"]),
                shown(&t["kind"]),
                shown(&t["status"]),
                shown(&t["created_at"]),
                shown(&t["last_error"]),
            ]
        })
        .collect();
    table(out, &["TASK", "KIND", "STATUS", "CREATED", "ERROR"], &rows)
}

/// A task per service and step.
pub fn show_task(out: &mut dyn Write, task: &Value) -> Result<(), CliError> {
    writeln!(
        out,
        "task {} ({} of {}): {}",
        shown(&task["task_id"]),
        shown(&task["kind"]),
        shown(&task["tenant_id"]),
        shown(&task["status"])
    )
    .map_err(CliError::Output)?;
    let mut rows = Vec::new();
    for (service, view) in task["services"].as_object().into_iter().flatten() {
        for step in view["steps"].as_array().into_iter().flatten() {
            rows.push(vec![
                model::validation::bounded_text(service, 40),
                shown(&step["name"]),
                shown(&step["status"]),
                shown(&step["attempts"]),
                shown(&step["last_error"]),
            ]);
        }
    }
    table(out, &["SERVICE", "STEP", "STATUS", "ATTEMPTS", "ERROR"], &rows)
}

/// A site's run.
pub fn show_run(out: &mut dyn Write, run: &Value) -> Result<(), CliError> {
    writeln!(
        out,
        "run {}: queued {}, synced {}, failed {}, skipped {}; {}",
        shown(&run["run"]["run_id"]),
        shown(&run["queued"]),
        shown(&run["synced"]),
        shown(&run["failed"]),
        shown(&run["skipped"]),
        if run["completed_at"].is_string() {
            format!("completed {}", shown(&run["completed_at"]))
        } else {
            "not complete".to_owned()
        }
    )
    .map_err(CliError::Output)?;
    for failure in run["failures"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "  {} {}",
            shown(&failure["tenant_id"]),
            shown(&failure["reason"])
        )
        .map_err(CliError::Output)?;
    }
    Ok(())
}

/// The fleet at a glance.
pub fn show_fleet(out: &mut dyn Write, fleet: &Value) -> Result<(), CliError> {
    let states: Vec<String> = fleet["by_state"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(state, n)| format!("{state} {n}"))
        .collect();
    writeln!(out, "tenants {}: {}", shown(&fleet["tenants"]), states.join(", ")).map_err(CliError::Output)?;
    let rows: Vec<Vec<String>> = fleet["sites"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let run = &s["last_run"];
            let last = if run.is_object() {
                format!(
                    "{}: synced {}, failed {}, skipped {} of {}",
                    shown(&run["run"]["run_date"]),
                    shown(&run["synced"]),
                    shown(&run["failed"]),
                    shown(&run["skipped"]),
                    shown(&run["queued"])
                )
            } else {
                "none today or yesterday".to_owned()
            };
            vec![shown(&s["site"]), shown(&s["tenants"]), last]
        })
        .collect();
    table(out, &["SITE", "TENANTS", "LAST RUN"], &rows)?;
    if let Some(refresh) = fleet["last_refresh"].as_object() {
        writeln!(
            out,
            "last token refresh {}: {} refreshed, {} failed, {} need re-consent",
            shown(&refresh["finished_at"]),
            shown(&refresh["report"]["refreshed"]),
            refresh["report"]["failed"].as_array().map_or(0, Vec::len),
            refresh["report"]["needs_reconsent"]
                .as_array()
                .map_or(0, Vec::len)
        )
        .map_err(CliError::Output)?;
    }
    writeln!(out, "needing attention: {}", shown(&fleet["needing_attention"])).map_err(CliError::Output)?;
    let attention = fleet["attention"].as_array().cloned().unwrap_or_default();
    if !attention.is_empty() {
        table(out, &TENANT_HEADER, &tenant_rows(&attention))?;
    }
    Ok(())
}
