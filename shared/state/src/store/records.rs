//! The records kept in the state table and how each maps to its key.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use model::{
    cloud::Cloud,
    label::{Labels, Tag},
    policy::PolicyTargets,
    service::{Service, ServiceStatus},
    sites::Site,
    task::{StepErrorKind, StepStatus, TaskId, TaskKind, TaskStatus},
    tenant::{LifecycleState, TenantId},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::key::{FleetEntry, Key};

/// How long finished tasks and their steps stay readable before DynamoDB's TTL removes them.
pub const FINISHED_TASK_RETENTION: Duration = Duration::days(30);

/// A record stored as one item of the state table.
pub trait Record: Serialize + DeserializeOwned {
    /// The record's kind, stored as the item's `entity` attribute and used in errors.
    const ENTITY: &'static str;

    /// The item's primary key.
    fn key(&self) -> Key;

    /// The site whose sparse index should list this item, if any.
    fn index_site(&self) -> Option<Site> {
        None
    }

    /// When DynamoDB may delete the item, if ever.
    fn expires_at(&self) -> Option<DateTime<Utc>> {
        None
    }

    /// Where the fleet's indexes list the item, if they do (tenants only).
    fn fleet_entry(&self) -> Option<FleetEntry> {
        None
    }
}

/// A record written only with a condition on the version last read.
pub trait Versioned: Record {
    /// The version stored with the record; 0 before the first write.
    fn version(&self) -> u64;
    /// Sets the version after a successful write.
    fn set_version(&mut self, version: u64);
}

/// Implements [`Versioned`] for a record with a `version: u64` field.
#[macro_export]
macro_rules! versioned {
    ($ty:ty) => {
        impl $crate::store::Versioned for $ty {
            fn version(&self) -> u64 {
                self.version
            }
            fn set_version(&mut self, version: u64) {
                self.version = version;
            }
        }
    };
}

/// A tenant under management.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantRecord {
    /// The Entra tenant id.
    pub tenant_id: TenantId,
    /// The site whose daily sync covers it.
    pub site: Site,
    /// The Microsoft cloud it lives in.
    #[serde(default)]
    pub cloud: Cloud,
    /// Where it is in its lifecycle.
    pub state: LifecycleState,
    /// The services that were asked for.
    pub services: Vec<Service>,
    /// Where each service stands after the last task that finished on it; empty before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_states: Vec<ServiceStatus>,
    /// What the protection covers.
    #[serde(default)]
    pub policy_targets: PolicyTargets,
    /// The task that last moved its lifecycle.
    #[serde(default)]
    pub current_task_id: Option<TaskId>,
    /// Why the tenant needs the admin (re-consent, a missing role), in words the admin can act on.
    #[serde(default)]
    pub attention: Option<String>,
    /// The name the operator knows the tenant by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The operator's own reference (a customer or contract number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_ref: Option<String>,
    /// The operator's tags, sorted, each once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// Since when its sync and token refresh are paused by the operator (it leaves the site index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_at: Option<DateTime<Utc>>,
    /// When it was first recorded.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    #[serde(default)]
    pub version: u64,
}

impl TenantRecord {
    /// A new tenant record in `state`, not yet written.
    pub fn new(tenant_id: TenantId, site: Site, services: Vec<Service>, state: LifecycleState) -> Self {
        let now = Utc::now();
        Self {
            tenant_id,
            site,
            cloud: Cloud::default(),
            state,
            services,
            service_states: Vec::new(),
            policy_targets: PolicyTargets::default(),
            current_task_id: None,
            attention: None,
            display_name: None,
            customer_ref: None,
            tags: Vec::new(),
            paused_at: None,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    /// Its labels.
    pub fn labels(&self) -> Labels {
        Labels {
            display_name: self.display_name.clone(),
            customer_ref: self.customer_ref.clone(),
            tags: self.tags.clone(),
        }
    }

    /// Sets its labels.
    pub fn set_labels(&mut self, labels: Labels) {
        self.display_name = labels.display_name;
        self.customer_ref = labels.customer_ref;
        self.tags = labels.tags;
    }

    /// Whether someone must act: its admin (re-consent, a missing role), or the operator (a
    /// failed provisioning). Such a tenant is also in the sparse attention index.
    pub fn needs_attention(&self) -> bool {
        self.attention.is_some()
            || matches!(
                self.state,
                LifecycleState::NeedsReconsent | LifecycleState::Failed
            )
    }
}

impl Record for TenantRecord {
    const ENTITY: &'static str = "tenant";

    fn key(&self) -> Key {
        Key::tenant(self.tenant_id)
    }

    fn index_site(&self) -> Option<Site> {
        (self.state.is_synced() && self.paused_at.is_none()).then_some(self.site)
    }

    fn fleet_entry(&self) -> Option<FleetEntry> {
        Some(FleetEntry {
            state: self.state.to_string(),
            order: super::key::fleet_order(self.site, self.tenant_id),
            attention: self.needs_attention(),
        })
    }
}
versioned!(TenantRecord);

/// A task: provisioning, deprovisioning or a policy update of one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The task's id.
    pub task_id: TaskId,
    /// The tenant it works on.
    pub tenant_id: TenantId,
    /// What it does.
    pub kind: TaskKind,
    /// Where it stands overall.
    pub status: TaskStatus,
    /// The request that started it, as validated (never holds a secret).
    #[serde(default)]
    pub request: serde_json::Value,
    /// The last error that stopped it, in words an operator can act on.
    #[serde(default)]
    pub last_error: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it finished.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// While waiting: when its queued continuation becomes visible.
    #[serde(default)]
    pub wake_at: Option<DateTime<Utc>>,
    /// What is left for a human to remove (standard deprovisioning), each naming the object.
    #[serde(default)]
    pub manual_cleanup: Vec<String>,
    /// Optimistic-concurrency version.
    #[serde(default)]
    pub version: u64,
}

impl TaskRecord {
    /// A new pending task, not yet written.
    pub fn new(tenant_id: TenantId, kind: TaskKind, request: serde_json::Value) -> Self {
        let now = Utc::now();
        Self {
            task_id: TaskId::new(),
            tenant_id,
            kind,
            status: TaskStatus::Pending,
            request,
            last_error: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
            wake_at: None,
            manual_cleanup: Vec::new(),
            version: 0,
        }
    }
}

impl Record for TaskRecord {
    const ENTITY: &'static str = "task";

    fn key(&self) -> Key {
        Key::task(&self.task_id.to_string())
    }

    fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.status
            .is_finished()
            .then(|| self.finished_at.unwrap_or(self.updated_at) + FINISHED_TASK_RETENTION)
    }
}
versioned!(TaskRecord);

/// What a tenant's history keeps of a task after the task itself expires: one item per task in
/// the tenant's history partition, newest first, kept as long as the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSummary {
    /// The tenant it worked on.
    pub tenant_id: TenantId,
    /// The task's id.
    pub task_id: TaskId,
    /// What it did.
    pub kind: TaskKind,
    /// Where it stood when last written.
    pub status: TaskStatus,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it finished.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// The error that stopped it.
    #[serde(default)]
    pub last_error: Option<String>,
}

impl From<&TaskRecord> for TaskSummary {
    fn from(task: &TaskRecord) -> Self {
        Self {
            tenant_id: task.tenant_id,
            task_id: task.task_id,
            kind: task.kind,
            status: task.status,
            created_at: task.created_at,
            finished_at: task.finished_at,
            last_error: task.last_error.clone(),
        }
    }
}

impl Record for TaskSummary {
    const ENTITY: &'static str = "task_summary";

    fn key(&self) -> Key {
        Key::task_summary(self.tenant_id, self.created_at, self.task_id)
    }
}

/// One step of a task, per service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The task it belongs to.
    pub task_id: TaskId,
    /// The service it serves; `None` for tenant-wide steps such as preflight.
    #[serde(default)]
    pub service: Option<Service>,
    /// Position within its service.
    pub order: u16,
    /// The step's name, e.g. `create_connectors`.
    pub name: String,
    /// Where it stands.
    pub status: StepStatus,
    /// How many times it has been started.
    #[serde(default)]
    pub attempts: u32,
    /// The last error it met.
    #[serde(default)]
    pub last_error: Option<String>,
    /// What kind of problem the last error is.
    #[serde(default)]
    pub error_kind: Option<StepErrorKind>,
    /// What it found or did, for the operator (e.g. what was already there).
    #[serde(default)]
    pub outcome: Option<String>,
    /// While waiting: when to look again.
    #[serde(default)]
    pub not_before: Option<DateTime<Utc>>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    #[serde(default)]
    pub version: u64,
}

impl StepRecord {
    /// A new pending step, not yet written.
    pub fn new(task_id: TaskId, service: Option<Service>, order: u16, name: impl Into<String>) -> Self {
        Self {
            task_id,
            service,
            order,
            name: name.into(),
            status: StepStatus::Pending,
            attempts: 0,
            last_error: None,
            error_kind: None,
            outcome: None,
            not_before: None,
            updated_at: Utc::now(),
            version: 0,
        }
    }
}

impl Record for StepRecord {
    const ENTITY: &'static str = "step";

    fn key(&self) -> Key {
        Key::step(&self.task_id.to_string(), self.service, self.order, &self.name)
    }

    fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.status
            .is_finished()
            .then(|| self.updated_at + FINISHED_TASK_RETENTION)
    }
}
versioned!(StepRecord);

/// The kinds of object this product creates or adds in a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// The app's service principal (consented by the admin).
    ServicePrincipal,
    /// The Exchange Administrator role assignment we made.
    RoleAssignment,
    /// A Microsoft 365 "virtual group".
    Group,
    /// An outbound connector.
    OutboundConnector,
    /// An inbound connector.
    InboundConnector,
    /// A transport rule.
    TransportRule,
    /// A spoofed-sender allow entry.
    SpoofItem,
    /// An IP we added to the connection-filter IP Allow List.
    AllowedIp,
}

impl ResourceKind {
    /// The kind's name in keys and views.
    pub fn code(self) -> &'static str {
        match self {
            Self::ServicePrincipal => "service_principal",
            Self::RoleAssignment => "role_assignment",
            Self::Group => "group",
            Self::OutboundConnector => "outbound_connector",
            Self::InboundConnector => "inbound_connector",
            Self::TransportRule => "transport_rule",
            Self::SpoofItem => "spoof_item",
            Self::AllowedIp => "allowed_ip",
        }
    }
}

/// An object we created or added in a tenant: the only things deprovisioning may remove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRecord {
    /// The tenant it lives in.
    pub tenant_id: TenantId,
    /// What it is.
    pub kind: ResourceKind,
    /// Its identity within its kind: the object's name, or the IP for allow-list entries.
    pub key: String,
    /// Microsoft's id for it, where it has one (group object id, spoof entry GUID).
    #[serde(default)]
    pub external_id: Option<String>,
    /// The task that created it.
    #[serde(default)]
    pub created_by_task: Option<TaskId>,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Other facts worth keeping (e.g. an SMTP address).
    #[serde(default)]
    pub details: BTreeMap<String, String>,
}

impl ResourceRecord {
    /// A record of `kind` named `key`, recorded now.
    pub fn new(tenant_id: TenantId, kind: ResourceKind, key: impl Into<String>) -> Self {
        Self {
            tenant_id,
            kind,
            key: key.into(),
            external_id: None,
            created_by_task: None,
            recorded_at: Utc::now(),
            details: BTreeMap::new(),
        }
    }
}

impl Record for ResourceRecord {
    const ENTITY: &'static str = "resource";

    fn key(&self) -> Key {
        Key::resource(self.tenant_id, self.kind.code(), &self.key)
    }
}
