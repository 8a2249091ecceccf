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
