//! The `status` function's logic: a task's view by `task_id`, or a tenant's view by `tenant_id`.

use model::{
    event::{self, EventError},
    task::TaskId,
    tenant::TenantId,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use state::store::Store;

use crate::tasks::{TaskError, TaskView, TenantView};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(default)]
    task_id: Option<TaskId>,
    #[serde(default)]
    tenant_id: Option<TenantId>,
}

/// The answer of `status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum StatusAnswer {
    /// A task.
    Task(TaskView),
    /// A tenant.
    Tenant(Box<TenantView>),
}

/// Answers `{"task_id"}` or `{"tenant_id"}` (exactly one of them).
pub async fn status(store: &Store, event: Value) -> Result<StatusAnswer, TaskError> {
    let request: Request = event::from_value(event)?;
    match (request.task_id, request.tenant_id) {
        (Some(task_id), None) => {
            let task = store
                .task_with_steps(task_id)
                .await?
                .ok_or_else(|| TaskError::UnknownTask(task_id.to_string()))?;
            Ok(StatusAnswer::Task(TaskView::from(&task)))
        }
        (None, Some(tenant_id)) => {
            let tenant = store
                .tenant(tenant_id)
                .await?
                .ok_or_else(|| TaskError::UnknownTenant(tenant_id.to_string()))?;
            let last_task = match tenant.current_task_id {
                Some(task_id) => store.task_with_steps(task_id).await?.as_ref().map(TaskView::from),
                None => None,
            };
            let resources = store.resources(tenant_id).await?;
            Ok(StatusAnswer::Tenant(Box::new(TenantView::new(
                &tenant, last_task, resources,
            ))))
        }
        _ => Err(EventError::Invalid {
            field: ".".to_owned(),
            reason: "give exactly one of `task_id` and `tenant_id`".to_owned(),
        }
        .into()),
    }
}
