//! Everything `provision` can be invoked with: a request, `{"task_id"}`, either one inside an
//! EventBridge envelope, or an SQS batch of continuations from the continuation queue. The
//! envelopes are `aws_lambda_events`' types; errors name the field, inside the envelope too.

use aws_lambda_events::{eventbridge::EventBridgeEvent, sqs::SqsEvent};
use model::event::{self, EventError};
use serde_json::Value;

use crate::{provisioning::ProvisionRequest, tasks::Continue};

/// Everything `provision` can be invoked with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Start (or join) provisioning of a tenant.
    Start(Box<ProvisionRequest>),
    /// Continue a task now (a direct invoke).
    Continue(Continue),
    /// Continue the tasks of an SQS batch, each with its message id; a body that is not a
    /// continuation is its error, reported for that message alone.
    Batch(Vec<(String, Result<Continue, EventError>)>),
    /// A start or a continuation that came through EventBridge, with the envelope's `source`
    /// (checked against the deployment's accepted sources before anything runs).
    Event {
        /// The envelope's `source`.
        source: String,
        /// What its `detail` asks: [`Invocation::Start`] or [`Invocation::Continue`].
        inner: Box<Invocation>,
    },
}

impl Invocation {
    /// Recognises the event: an SQS batch has `Records`; an EventBridge envelope has `detail` and
    /// `detail-type`; `{"task_id"}` continues a task; anything else must be a request.
    pub fn parse(value: Value) -> Result<Self, EventError> {
        let Value::Object(object) = &value else {
            return Err(EventError::Invalid {
                field: ".".to_owned(),
                reason: "expected a JSON object".to_owned(),
            });
        };
        if object.contains_key("Records") {
            let batch: SqsEvent = event::envelope(value)?;
            let continuations = batch
                .records
                .into_iter()
                .enumerate()
                .map(|(index, record)| {
                    let body = record.body.unwrap_or_default();
                    let continuation = event::parse::<Continue>(body.as_bytes())
                        .map_err(|err| within(&format!("Records[{index}].body"), err));
                    (record.message_id.unwrap_or_default(), continuation)
                })
                .collect();
            return Ok(Self::Batch(continuations));
        }
        if object.contains_key("detail") && object.contains_key("detail-type") {
            let envelope: EventBridgeEvent = event::from_value(value)?;
            let inner = Self::parse(envelope.detail).map_err(|err| within("detail", err))?;
            if matches!(inner, Self::Batch(_) | Self::Event { .. }) {
                return Err(EventError::Invalid {
                    field: "detail".to_owned(),
                    reason: "an EventBridge event carries one request or one {\"task_id\"}".to_owned(),
                });
            }
            return Ok(Self::Event {
                source: envelope.source,
                inner: Box::new(inner),
            });
        }
        if object.contains_key("task_id") {
            return Ok(Self::Continue(event::from_value(value)?));
        }
        Ok(Self::Start(Box::new(ProvisionRequest::parse(value)?)))
    }
}

/// The error with its field named from the envelope's root.
fn within(outer: &str, err: EventError) -> EventError {
    match err {
        EventError::Invalid { field, reason } => EventError::Invalid {
            field: format!("{outer}.{field}"),
            reason,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use model::{sites::Site, task::TaskId};
    use serde_json::json;

    use super::*;

    const TENANT: &str = "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11";

    #[test]
    fn continuations_come_direct_from_sqs_and_from_eventbridge() {
        let task = TaskId::new();
        assert_eq!(
            Invocation::parse(json!({"task_id": task.to_string()})),
            Ok(Invocation::Continue(Continue { task_id: task }))
        );
        let sqs = json!({"Records": [{"messageId": "m1", "body": json!({"task_id": task.to_string()}).to_string()}]});
        assert_eq!(
            Invocation::parse(sqs),
            Ok(Invocation::Batch(vec![(
                "m1".to_owned(),
                Ok(Continue { task_id: task })
            )]))
        );
        // A bad body is that message's error; the others still run.
        let good = json!({"task_id": task.to_string()}).to_string();
        let bad_sqs = json!({"Records": [
            {"messageId": "m1", "body": "{\"task_id\": 5}"},
            {"messageId": "m2", "body": good}
        ]});
        let Ok(Invocation::Batch(batch)) = Invocation::parse(bad_sqs) else {
            panic!("a batch")
        };
        assert_eq!(
            batch[0].1.as_ref().expect_err("bad").field(),
            Some("Records[0].body.task_id")
        );
        assert_eq!(batch[1].1, Ok(Continue { task_id: task }));
        let not_records = json!({"Records": "m1"});
        assert_eq!(
            Invocation::parse(not_records).expect_err("bad").field(),
            Some("Records")
        );
        let bridge = json!({"detail-type": "Provision", "source": "vendor.portal", "detail": {"tenant_id": TENANT, "site": "sg"}});
        assert!(matches!(
            Invocation::parse(bridge),
            Ok(Invocation::Event { source, inner }) if source == "vendor.portal"
                && matches!(&*inner, Invocation::Start(r) if r.site == Site::Sg)
        ));
        let bad_bridge = json!({"detail-type": "Provision", "source": "vendor.portal", "detail": {"tenant_id": "nope", "site": "sg"}});
        assert_eq!(
            Invocation::parse(bad_bridge).expect_err("bad").field(),
            Some("detail.tenant_id")
        );
    }
}
