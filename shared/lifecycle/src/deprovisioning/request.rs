//! What `deprovision` is asked to do, validated at the edge.

use model::{
    event::{self, EventError},
    sites::Site,
    tenant::TenantId,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How much to remove.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The predecessor's deprovisioning; the rest is listed for manual cleanup.
    #[default]
    Standard,
    /// Standard plus the manual-cleanup list.
    Full,
}

/// A request to deprovision a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeprovisionRequest {
    /// The tenant.
    pub tenant_id: TenantId,
    /// How much to remove (default `standard`).
    #[serde(default)]
    pub mode: Mode,
    /// Go ahead although messages are held in quarantine.
    #[serde(default)]
    pub acknowledge_quarantine: bool,
    /// Also remove the predecessor's objects found by their exact names (a tenant never provisioned here).
    #[serde(default)]
    pub adopt_existing: bool,
    /// The tenant's site: needed only to adopt a tenant unknown here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<Site>,
}

impl DeprovisionRequest {
    /// Parses a request; errors name the field.
    pub fn parse(value: Value) -> Result<Self, EventError> {
        event::from_value(value)
    }
}
