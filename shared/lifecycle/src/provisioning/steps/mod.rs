//! The steps of provisioning. Each is an idempotent "ensure": it looks before it creates, records
//! what it created before it returns, and can be run again after a crash at any point. Each file
//! is one family of objects, with the calls its steps declare for `dry_run` beside them.

pub(super) mod allow_lists;
pub(super) mod connectors;
pub(super) mod grants;
pub(super) mod groups;
pub(super) mod role;
pub(super) mod rules;
pub(super) mod tenant;

use crate::tasks::StepContext;

/// Tags every object so an administrator can tell who made it (and in which task).
pub fn comment(ctx: &StepContext<'_>) -> String {
    let tenant = ctx.tenant.tenant_id;
    match ctx.task {
        Some(task) => format!("managed-by:m365-inline;tenant:{tenant};task:{task}"),
        None => format!("managed-by:m365-inline;tenant:{tenant}"),
    }
}

pub use model::permissions::roles;
