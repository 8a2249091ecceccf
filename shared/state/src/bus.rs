//! Putting lifecycle notices on the stack's EventBridge bus, where a vendor's rules pick them up.

use aws_config::SdkConfig;
use aws_sdk_eventbridge::{Client, types::PutEventsRequestEntry};
use model::{
    config::{ConfigError, Source},
    notice::{Notice, SOURCE},
};

use crate::config::event_bus_name;

/// A notice did not reach the bus.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// EventBridge refused the call or could not be reached.
    #[error("EventBridge PutEvents to {bus} failed: {message}")]
    Aws {
        /// The bus.
        bus: String,
        /// What EventBridge said.
        message: String,
    },
    /// EventBridge took the call but not the entry.
    #[error("EventBridge did not accept the {detail_type:?} event on {bus}: {code}: {message}")]
    Refused {
        /// The bus.
        bus: String,
        /// The event's detail-type.
        detail_type: &'static str,
        /// EventBridge's error code.
        code: String,
        /// Its message.
        message: String,
    },
    /// The notice could not be encoded; nothing was sent.
    #[error("a {detail_type:?} event cannot be encoded: {reason}")]
    Encode {
        /// The event's detail-type.
        detail_type: &'static str,
        /// Why.
        reason: String,
    },
}

/// Handle on the stack's event bus.
#[derive(Debug, Clone)]
pub struct EventBus {
    client: Client,
    name: String,
}

impl EventBus {
    /// A handle on the bus called `name`.
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    /// The bus of `source` (`EVENT_BUS_NAME`).
    pub fn from_source(sdk: &SdkConfig, source: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self::new(Client::new(sdk), event_bus_name(source)?))
    }

    /// The bus's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Puts one notice on the bus: `source` [`SOURCE`], its change's `detail-type`, the notice as
    /// the detail, and the notice's time as the event's.
    pub async fn publish(&self, notice: &Notice) -> Result<(), BusError> {
        let detail_type = notice.change.detail_type();
        let detail = serde_json::to_string(notice).map_err(|err| BusError::Encode {
            detail_type,
            reason: err.to_string(),
        })?;
        let at = aws_sdk_eventbridge::primitives::DateTime::from_millis(notice.at.timestamp_millis());
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.name)
            .source(SOURCE)
            .detail_type(detail_type)
            .detail(detail)
            .time(at)
            .build();
        let output = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|err| BusError::Aws {
                bus: self.name.clone(),
                message: crate::aws::describe(&err),
            })?;
        if output.failed_entry_count() > 0 {
            let failed = output.entries().first();
            return Err(BusError::Refused {
                bus: self.name.clone(),
                detail_type,
                code: failed
                    .and_then(|e| e.error_code())
                    .unwrap_or("unknown")
                    .to_owned(),
                message: failed
                    .and_then(|e| e.error_message())
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        Ok(())
    }
}
