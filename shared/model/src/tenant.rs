//! The tenant's identity and lifecycle.

use serde::Serialize;
use uuid::Uuid;

use crate::validation::{Validated, guid_type, quote, validated_string_type};

/// An Entra ID tenant id: a GUID in its canonical hyphenated form, stored lower-case.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(Uuid);

impl Validated for TenantId {
    const FIELD: &'static str = "tenant_id";

    fn validate(raw: &str) -> Result<Self, String> {
        let expected = "expected a tenant GUID such as 8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11";
        // Only the 36-character hyphenated form: braces, URNs and bare hex are refused so one tenant
        // never appears under two spellings.
        let is_canonical = raw.len() == 36
            && raw.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        if !is_canonical {
            return Err(format!("{expected}, got {}", quote(raw)));
        }
        let id = Uuid::parse_str(raw).map_err(|_| format!("{expected}, got {}", quote(raw)))?;
        if id.is_nil() {
            return Err("the nil GUID is not a tenant".to_owned());
        }
        Ok(Self(id))
    }
}

validated_string_type!(TenantId);
guid_type!(TenantId);

/// Where a tenant is in its lifecycle; every change of it is a conditional write.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum LifecycleState {
    /// Provisioning has started and has not finished.
    Provisioning,
    /// Provisioned: daily sync, token refresh and policy updates run for it.
    Active,
    /// Consent was revoked or a role is missing: work stops until the admin re-consents.
    NeedsReconsent,
    /// Deprovisioning has started and has not finished.
    Deprovisioning,
    /// Deprovisioned; the tenant may be provisioned again or fully cleaned up.
    Deprovisioned,
    /// Provisioning failed permanently; see the task for the reason.
    Failed,
}

impl LifecycleState {
    /// Every state, in lifecycle order.
    pub const ALL: [Self; 6] = [
        Self::Provisioning,
        Self::Active,
        Self::NeedsReconsent,
        Self::Deprovisioning,
        Self::Deprovisioned,
        Self::Failed,
    ];

    /// Whether the daily sync of its site covers the tenant (puts it in the sparse site index).
    pub fn is_synced(self) -> bool {
        matches!(self, Self::Active)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_id_accepts_canonical_guids_and_stores_them_lower_case() {
        let id: TenantId = "8F0C3C5E-6A4F-4C1E-9A57-0D4C2B7F1E11".parse().expect("valid");
        assert_eq!(id.to_string(), "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11");
        assert_eq!(
            serde_json::to_string(&id).expect("json"),
            "\"8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11\""
        );
    }

    #[test]
    fn tenant_id_rejects_everything_else_naming_the_field() {
        let cases = [
            ("", "expected a tenant GUID"),
            ("contoso.onmicrosoft.com", "expected a tenant GUID"),
            ("{8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11}", "expected a tenant GUID"),
            ("8f0c3c5e6a4f4c1e9a570d4c2b7f1e11", "expected a tenant GUID"),
            (
                "urn:uuid:8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11",
                "expected a tenant GUID",
            ),
            ("8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e1g", "expected a tenant GUID"),
            (" 8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11", "expected a tenant GUID"),
            ("00000000-0000-0000-0000-000000000000", "nil GUID"),
            ("8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11\n", "expected a tenant GUID"),
        ];
        for (raw, expected) in cases {
            let err = raw.parse::<TenantId>().expect_err(raw);
            assert_eq!(err.field, "tenant_id", "{raw:?}");
            assert!(err.reason.contains(expected), "{raw:?}: {}", err.reason);
            assert!(err.to_string().starts_with("invalid `tenant_id`:"), "{err}");
        }
    }

    #[test]
    fn only_active_tenants_are_synced() {
        let synced: Vec<_> = [
            LifecycleState::Provisioning,
            LifecycleState::Active,
            LifecycleState::NeedsReconsent,
            LifecycleState::Deprovisioning,
            LifecycleState::Deprovisioned,
            LifecycleState::Failed,
        ]
        .into_iter()
        .filter(|s| s.is_synced())
        .collect();
        assert_eq!(synced, [LifecycleState::Active]);
    }
}
