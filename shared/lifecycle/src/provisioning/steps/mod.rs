//! The steps of provisioning. Each is an idempotent "ensure": it looks before it creates, records
//! what it created before it returns, and can be run again after a crash at any point.

mod allow_lists;
mod connectors;
mod grants;
pub mod groups;
mod role;
mod rules;
mod tenant;

use chrono::{DateTime, Utc};

use super::{context::StepContext, error::StepError, plan::StepKind};

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done; an optional note for the operator (e.g. what was already there).
    Done(Option<String>),
    /// Microsoft has not caught up yet: look again at `until`.
    Wait {
        /// When to look again.
        until: DateTime<Utc>,
        /// What is awaited.
        reason: String,
    },
}

/// Runs the step named `name` (as recorded on the task).
pub async fn run_named(name: String, ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    match StepKind::from_name(&name) {
        Some(kind) => run(kind, ctx).await,
        None => Err(StepError::Failed(format!("{name:?} is not a provisioning step"))),
    }
}

/// Runs one step.
pub async fn run(kind: StepKind, ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    match kind {
        StepKind::Preflight => tenant::preflight(ctx).await,
        StepKind::PromoteDelegates => tenant::promote_delegates(ctx).await,
        StepKind::AssignExchangeRole => role::assign_exchange_role(ctx).await,
        StepKind::CheckExchange => role::check_exchange(ctx).await,
        StepKind::CreateGroups => groups::create_groups(ctx).await,
        StepKind::SetGroupMembers => groups::set_group_members(ctx).await,
        StepKind::WaitForGroups => groups::wait_for_groups(ctx).await,
        StepKind::CreateConnectors => connectors::create_connectors(ctx).await,
        StepKind::CreateRules => rules::create_rules(ctx).await,
        StepKind::AddSpoofPair => allow_lists::add_spoof_pair(ctx).await,
        StepKind::AddAllowedIps => allow_lists::add_allowed_ips(ctx).await,
        StepKind::EnableRules => rules::enable_rules(ctx).await,
        StepKind::CheckSharepoint => grants::check_sharepoint(ctx).await,
        StepKind::CheckOnedrive => grants::check_onedrive(ctx).await,
    }
}

/// Entra's role template ids used here.
pub mod roles {
    /// Exchange Administrator.
    pub const EXCHANGE_ADMINISTRATOR: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";
    /// Global Administrator.
    pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
}
