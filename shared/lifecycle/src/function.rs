//! The Lambda function process: services built on the first event, then every event handled;
//! and the one conversion of each function's error into the Lambda `Diagnostic`.

use std::{fmt::Display, future::Future};

use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::{
    console::ConsoleError, onboarding::OnboardingError, refresh::RefreshError, sync::SyncError,
    tasks::TaskError,
};

/// Runs the Lambda Runtime API loop: `build` makes the function's services on the first event,
/// `handler` answers every event with them. Installs the JSON log subscriber and the metrics
/// recorder first, and writes each event's metrics after its answer is made.
///
/// Nothing is built during INIT: nothing at init that can wait (see BENCHMARKS.md, cold start).
/// A configuration `build` rejects fails each invocation as `Configuration`, with its message.
pub async fn serve<S, E, B, H, HF, R>(build: B, handler: H) -> Result<(), Error>
where
    S: Send + Sync + 'static,
    E: Display,
    B: AsyncFn() -> Result<S, E>,
    H: Fn(&'static S, LambdaEvent<Value>) -> HF,
    HF: Future<Output = Result<R, Diagnostic>>,
    R: Serialize,
{
    crate::telemetry::init();
    crate::meter::init();
    // One per process, for the life of the process: leaking it gives the handler `&'static S`.
    let services: &'static OnceCell<S> = Box::leak(Box::new(OnceCell::new()));
    let build = &build;
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let services = services
            .get_or_try_init(|| build())
            .await
            .map_err(|err| Diagnostic {
                error_type: "Configuration".to_owned(),
                error_message: err.to_string(),
            })?;
        let request_id = event.context.request_id.clone();
        // Boxed: a handler's future is deep, and inlining it into `main`'s exceeds the compiler's
        // layout depth limit.
        let answer = Box::pin(handler(services, event)).await;
        if let Err(diagnostic) = &answer {
            crate::meter::invocation_failed(&diagnostic.error_type);
        }
        // What the event recorded, before the runtime asks for the next (and may be frozen).
        crate::meter::flush(&request_id);
        answer
    }))
    .await
}

/// `From<E> for Diagnostic` for each error of a function: the error's `error_type()` becomes the
/// Lambda `errorType` (README: Errors) and its message the `errorMessage`, so handlers use `?`.
macro_rules! diagnostic {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for Diagnostic {
            fn from(err: $error) -> Self {
                Self {
                    error_type: err.error_type().to_owned(),
                    error_message: err.to_string(),
                }
            }
        }
    )*};
}

diagnostic!(TaskError, SyncError, RefreshError, OnboardingError, ConsoleError);
