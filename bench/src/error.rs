//! What can stop a benchmark run.

/// A benchmark could not be run (not a missed budget: those are results).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The local stack (moto) or the simulator could not be set up.
    #[error("set-up failed: {0}")]
    Setup(String),
    /// A function or a child process did not behave as the benchmark needs.
    #[error("{what}: {detail}")]
    Run {
        /// What was being measured.
        what: String,
        /// What went wrong.
        detail: String,
    },
    /// Reading or writing a file or a process failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl BenchError {
    /// A run error for `what`.
    pub fn run(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Self::Run {
            what: what.into(),
            detail: detail.to_string(),
        }
    }

    /// An I/O error while doing `context`.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }
}

/// The benchmark's result type.
pub type Result<T> = std::result::Result<T, BenchError>;
