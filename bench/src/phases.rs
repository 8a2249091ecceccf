//! What each part of a function's init costs, each timed as the first thing a fresh process
//! does (this binary, `bench init-phase <phase>`): the cold-start experiments' evidence for what
//! lazy construction, TLS pre-warming and dropping aws-lc's jitter entropy could buy.

use std::{process::Stdio, time::Instant};

use integration_tests::lab::Lab;

use crate::{
    Plan,
    error::{BenchError, Result},
    report::{median, number},
};

/// The phases, each measured in its own fresh process.
pub const PHASES: [(&str, &str); 6] = [
    (
        "rng",
        "first aws-lc-rs random fill (seeds the DRBG: CPU-jitter entropy)",
    ),
    ("rng-again", "a second random fill in the same process"),
    (
        "http",
        "building the Microsoft HTTP client (`microsoft::http::client`: reqwest + rustls)",
    ),
    (
        "rng-after-http",
        "first random fill after building the HTTP client",
    ),
    (
        "sdk",
        "loading the AWS SDK configuration (`state::aws::sdk_config`)",
    ),
    (
        "from-env",
        "`Lifecycle::from_env` whole (config, SDK, HTTP client, every service)",
    ),
];

/// Runs one phase in this process and returns its time in milliseconds.
pub async fn run(phase: &str) -> Result<f64> {
    let fill = || {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| BenchError::run("rng", "aws-lc-rs refused to fill"))
    };
    let started = Instant::now();
    match phase {
        "rng" => fill()?,
        "rng-again" => {
            fill()?;
            let again = Instant::now();
            fill()?;
            return Ok(again.elapsed().as_secs_f64() * 1000.0);
        }
        "http" => drop(microsoft::http::client()),
        "rng-after-http" => {
            drop(microsoft::http::client());
            let after = Instant::now();
            fill()?;
            return Ok(after.elapsed().as_secs_f64() * 1000.0);
        }
        "sdk" => drop(state::aws::sdk_config().await),
        "from-env" => {
            lifecycle::Lifecycle::from_env()
                .await
                .map_err(|e| BenchError::Setup(e.to_string()))?;
        }
        other => return Err(BenchError::Setup(format!("unknown init phase {other}"))),
    }
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

/// Times `phase` in `runs` fresh processes with the function environment `env`; every sample
/// in milliseconds.
pub async fn sample(
    phase: &str,
    runs: usize,
    env: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<f64>> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let output = crate::child(&[crate::INIT_PHASE, phase], env, Stdio::null()).await?;
        let text = String::from_utf8_lossy(&output.stdout);
        let ms: f64 = text.trim().parse().map_err(|_| {
            BenchError::run(
                format!("init phase {phase}"),
                format!("{}: {text}", output.status),
            )
        })?;
        samples.push(ms);
    }
    Ok(samples)
}

/// The median of `samples`, for the experiments' text.
pub fn typical(samples: &[f64]) -> f64 {
    median(samples)
}

/// The cold-start experiments: each init phase timed in fresh processes, and the notes of
/// `bench/experiments.md`.
pub async fn section(lab: &Lab, plan: &Plan) -> Result<Vec<String>> {
    let env = lab.function_env();
    let mut lines = Vec::new();
    for (phase, what) in PHASES {
        let samples = sample(phase, plan.phase_runs, &env).await?;
        let typical = typical(&samples);
        lines.push(format!(
            "Phase `{phase}` ({what}): {} ms median of {} fresh processes (min {}, max {}).",
            number(typical),
            samples.len(),
            number(samples.iter().copied().fold(f64::INFINITY, f64::min)),
            number(samples.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
        ));
    }
    // What each tried change bought, recorded when it was tried (bench/experiments.md).
    let recorded = std::fs::read_to_string(crate::root().join("bench/experiments.md")).unwrap_or_default();
    lines.extend(bullets(&recorded));
    Ok(lines)
}

/// The Markdown bullets of `text` (`- ` items and their indented continuation lines), each as
/// one line.
fn bullets(text: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    let mut open = false;
    for line in text.lines() {
        if let Some(item) = line.strip_prefix("- ") {
            items.push(item.trim().to_owned());
            open = true;
        } else if open && line.starts_with("  ") && !line.trim().is_empty() {
            if let Some(last) = items.last_mut() {
                last.push(' ');
                last.push_str(line.trim());
            }
        } else {
            open = false;
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::bullets;

    #[test]
    fn bullets_join_their_continuation_lines() {
        let text = "# Title\n\nintro\n- **One.** first\n  second\n- Two\n\nafter\n";
        assert_eq!(bullets(text), ["**One.** first second", "Two"]);
    }
}
