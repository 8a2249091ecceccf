//! What the functions log, kept in memory: the suite's leak checks read it.

/// A log sink that keeps every line written to it, for asserting what reached the logs.
#[derive(Clone, Default)]
pub struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

static GLOBAL_CAPTURE: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();

impl Capture {
    /// The capture of the whole test binary: the functions' own JSON subscriber at trace level,
    /// installed once as the global default. (A per-thread subscriber misses events while tests
    /// run in parallel: tracing caches each call site's interest process-wide.)
    pub fn global() -> &'static Capture {
        GLOBAL_CAPTURE.get_or_init(|| {
            let capture = Capture::default();
            let filter = tracing_subscriber::EnvFilter::new("trace");
            tracing::subscriber::set_global_default(lifecycle::telemetry::subscriber(
                filter,
                capture.clone(),
            ))
            .expect("the only global subscriber of the test binary");
            capture
        })
    }

    /// Where the capture stands now.
    pub fn mark(&self) -> usize {
        self.0.lock().expect("capture lock").len()
    }

    /// Everything captured since `mark` (lines of tests running at the same time included).
    pub fn since(&self, mark: usize) -> String {
        let buffer = self.0.lock().expect("capture lock");
        String::from_utf8_lossy(&buffer[mark.min(buffer.len())..]).into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
