//! Figures, their summary over runs (median, min, max), and the two outputs: `BENCHMARKS.md`
//! and `bench/results.json`.

use std::fmt::Write as _;

use serde::Serialize;

/// How a measured value is held against its budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Budget {
    /// The value must not exceed this.
    AtMost(f64),
}

impl Budget {
    fn limit(self) -> f64 {
        match self {
            Self::AtMost(limit) => limit,
        }
    }

    fn met_by(self, value: f64) -> bool {
        match self {
            Self::AtMost(limit) => value <= limit + 1e-9,
        }
    }
}

/// One figure of the report: a name, a unit, every run's value, an optional budget and a note.
#[derive(Debug, Clone)]
pub struct Figure {
    /// What was measured, e.g. `cold start: provision init / hello-world`.
    pub figure: String,
    /// The unit, e.g. `ms`, `MB`, `requests`, `ratio`.
    pub unit: String,
    /// One value per run.
    pub samples: Vec<f64>,
    /// The budget, if the design sets one.
    pub budget: Option<Budget>,
    /// How it was measured and, for a miss, why and what would close it.
    pub notes: String,
}

impl Figure {
    /// A figure without a budget.
    pub fn new(figure: impl Into<String>, unit: impl Into<String>, samples: Vec<f64>) -> Self {
        Self {
            figure: figure.into(),
            unit: unit.into(),
            samples,
            budget: None,
            notes: String::new(),
        }
    }

    /// The same figure held to `budget`.
    pub fn at_most(mut self, limit: f64) -> Self {
        self.budget = Some(Budget::AtMost(limit));
        self
    }

    /// The same figure with `notes`.
    pub fn notes(mut self, notes: impl Into<String>) -> Self {
        self.notes = notes.into();
        self
    }

    /// The median of the samples (the mean of the middle two for an even count).
    pub fn median(&self) -> f64 {
        median(&self.samples)
    }

    /// Whether the median meets the budget (`None` without a budget).
    pub fn met(&self) -> Option<bool> {
        self.budget.map(|b| b.met_by(self.median()))
    }

    /// The row of `bench/results.json`.
    pub fn result(&self) -> ResultRow {
        ResultRow {
            figure: self.figure.clone(),
            unit: self.unit.clone(),
            measured: round(self.median()),
            min: round(self.samples.iter().copied().fold(f64::INFINITY, f64::min)),
            max: round(self.samples.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
            budget: self.budget.map(|b| b.limit()),
            met: self.met(),
            notes: self.notes.clone(),
        }
    }
}

/// The median of `values` (0 for none).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

fn round(value: f64) -> f64 {
    if value.is_finite() {
        (value * 1000.0).round() / 1000.0
    } else {
        0.0
    }
}

/// One object of `bench/results.json`: comparable across commits.
#[derive(Debug, Clone, Serialize)]
pub struct ResultRow {
    /// What was measured.
    pub figure: String,
    /// Its unit.
    pub unit: String,
    /// The median over runs.
    pub measured: f64,
    /// The smallest run.
    pub min: f64,
    /// The largest run.
    pub max: f64,
    /// The budget, or null.
    pub budget: Option<f64>,
    /// Whether the median meets the budget, or null without one.
    pub met: Option<bool>,
    /// How it was measured; for a miss, why and what would close it.
    pub notes: String,
}

/// A titled group of figures (one per section of the issue).
#[derive(Debug, Clone)]
pub struct Section {
    /// The section's title.
    pub title: String,
    /// What the section measures and how (Markdown).
    pub intro: String,
    /// Its figures.
    pub figures: Vec<Figure>,
}

/// Everything one `make bench` run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The sections in order.
    pub sections: Vec<Section>,
    /// The machine and run facts for the header (commit, cores, date, duration).
    pub context: Vec<(String, String)>,
    /// Cold-start experiments: what each tried change bought (Markdown lines).
    pub experiments: Vec<String>,
}

impl Report {
    /// Every figure, in order.
    pub fn figures(&self) -> impl Iterator<Item = &Figure> {
        self.sections.iter().flat_map(|s| s.figures.iter())
    }

    /// `bench/results.json`: a list of result rows.
    pub fn results_json(&self) -> String {
        let rows: Vec<ResultRow> = self.figures().map(Figure::result).collect();
        serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".to_owned()) + "\n"
    }

    /// `BENCHMARKS.md`.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str(HEADER);
        out.push_str("\n## This run\n\n");
        for (key, value) in &self.context {
            let _ = writeln!(out, "- {key}: {value}");
        }
        let (met, missed): (Vec<&Figure>, Vec<&Figure>) = self
            .figures()
            .filter(|f| f.budget.is_some())
            .partition(|f| f.met() == Some(true));
        let _ = writeln!(
            out,
            "- budgets: **{} met, {} missed** (of {} figures with a budget)",
            met.len(),
            missed.len(),
            met.len() + missed.len()
        );
        for section in &self.sections {
            let _ = writeln!(out, "\n## {}\n\n{}\n", section.title, section.intro.trim_end());
            out.push_str("| figure | budget | measured (median) | min | max | ratio | |\n");
            out.push_str("|---|---|---|---|---|---|---|\n");
            for figure in &section.figures {
                let row = figure.result();
                let budget = row
                    .budget
                    .map(|b| format!("≤ {} {}", number(b), row.unit))
                    .unwrap_or_else(|| "—".to_owned());
                let ratio = row
                    .budget
                    .filter(|b| *b > 0.0)
                    .map(|b| format!("{:.2}", row.measured / b))
                    .unwrap_or_else(|| "—".to_owned());
                let verdict = match row.met {
                    Some(true) => "met",
                    Some(false) => "**missed**",
                    None => "",
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} {} | {} | {} | {} | {} |",
                    row.figure,
                    budget,
                    number(row.measured),
                    row.unit,
                    number(row.min),
                    number(row.max),
                    ratio,
                    verdict
                );
            }
            let noted: Vec<&Figure> = section.figures.iter().filter(|f| !f.notes.is_empty()).collect();
            if !noted.is_empty() {
                out.push('\n');
                for figure in noted {
                    let _ = writeln!(out, "- *{}*: {}", figure.figure, figure.notes);
                }
            }
        }
        if !self.experiments.is_empty() {
            out.push_str("\n## Cold-start experiments\n\n");
            for line in &self.experiments {
                let _ = writeln!(out, "- {line}");
            }
        }
        out.push_str("\n## Budgets missed\n\n");
        if missed.is_empty() {
            out.push_str("None in this run.\n");
        } else {
            for figure in missed {
                let _ = writeln!(
                    out,
                    "- **{}**: {} {} against ≤ {} {}. {}",
                    figure.figure,
                    number(figure.median()),
                    figure.unit,
                    number(figure.budget.map(Budget::limit).unwrap_or_default()),
                    figure.unit,
                    figure.notes
                );
            }
        }
        out
    }
}

/// A value as a table shows it: integers without decimals, others with up to three significant
/// decimals.
pub fn number(value: f64) -> String {
    if (value - value.round()).abs() < 1e-9 {
        format!("{}", value.round() as i64)
    } else if value.abs() >= 100.0 {
        format!("{value:.1}")
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

const HEADER: &str = "# Benchmarks

Generated by `make bench` (`scripts/bench.sh`, crate `bench/`); do not edit by hand. Budgets are
those of [docs/design.md](docs/design.md#budgets). The benchmark never fails the build: a missed budget is reported here, with why and what would close it.

`make bench` builds the functions and a hello-world `lambda_runtime` binary with cargo-lambda
(release, as `make build`), starts moto (AWS) and m365-sim (Microsoft), and runs every figure
below several times: each row shows the **median** with the **min** and **max** beside it, and the
**ratio** of the median to the budget. The same rows are in `bench/results.json` (keys `figure`,
`unit`, `measured`, `min`, `max`, `budget`, `met`, `notes`) for comparing commits.

What the figures mean:

- **Cold start**: each function's release `bootstrap` (extracted from its `bootstrap.zip`) is
  started as Lambda would start it, with a valid configuration pointing at moto and m365-sim and
  `AWS_LAMBDA_RUNTIME_API` pointing at a local Runtime API (`tests/src/runtime_api.rs`). *Init* is
  the time from spawning the process to its first `GET /2018-06-01/runtime/invocation/next`; *init +
  first event* runs on to the answer of one cheap event; *idle RSS* is `VmRSS` of
  `/proc/<pid>/status` once it waits for the next event; *zip* is the size of
  `target/lambda/<fn>/bootstrap.zip`. The hello-world binary is built in the same run and each
  function's init is given as a ratio to it (budget 1.5x).
- **Requests per tenant**: m365-sim's `/_sim/stats` for one tenant through each lifecycle stage,
  driving the functions' library handlers directly; Graph and Exchange separately, writes
  separately. The simulator counts a Graph `$batch` once for the envelope plus once per
  sub-request, and each cmdlet of an Exchange `$batch`; HTTP requests are given where a budget is
  about them.
- **Sync throughput**: 1,000 active tenants synced (steady state) with 50 ms injected latency on
  every Microsoft request, by workers wired as the template configures them; wall time against the
  bound those settings imply. Peak RSS of a sync worker (`VmHWM`) is taken in a separate process
  syncing a 100,000-user tenant for the first time; the simulator runs in the parent process, so
  its memory is not counted.
- **Token refresh**: a forced refresh of 1,000 tenants through `token-refresh`'s `Refresher`
  (production concurrency and secret-write limit).
- **Provisioning**: one tenant provisioned through `provision`'s handler with 100 ms injected
  latency, against the critical path of its dependent calls.
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn a_figure_meets_or_misses_its_budget_on_the_median() {
        let f = Figure::new("x", "ms", vec![1.0, 10.0, 2.0]).at_most(2.0);
        assert_eq!(f.met(), Some(true));
        let row = f.result();
        assert_eq!((row.min, row.max, row.measured), (1.0, 10.0, 2.0));
        assert_eq!(Figure::new("y", "ms", vec![3.0]).met(), None);
    }

    #[test]
    fn numbers_print_without_noise() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(1.2346), "1.235");
        assert_eq!(number(1234.56), "1234.6");
    }
}

/// `100000` as `100,000`.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

#[cfg(test)]
mod formatting_tests {
    #[test]
    fn thousands_are_separated() {
        assert_eq!(super::thousands(100_000), "100,000");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1_000), "1,000");
    }
}
