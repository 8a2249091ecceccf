//! Delta records carry "at least the properties that have been updated": a renamed user whose
//! record lacks the unchanged properties is merged into the snapshot, not dropped or blanked.

use integration_tests::lab::Lab;
use lifecycle::sync::state::{DirectoryEntry, EntryKind};
use serde_json::json;

use crate::functions::sync::{message, synced};

/// The snapshot's (name, detail) of the user `id`.
async fn entry(lab: &Lab, tenant: model::tenant::TenantId, id: &str) -> (String, Option<String>) {
    let entries = lab.syncer().snapshot.entries(tenant).await.expect("snapshot");
    let entry: &DirectoryEntry = entries
        .iter()
        .find(|e| e.kind == EntryKind::User && e.id == id)
        .expect("the user is in the snapshot");
    (entry.name.clone(), entry.detail.clone())
}

#[tokio::test]
async fn a_rename_whose_record_has_only_the_changed_properties_is_merged() {
    let lab = Lab::start().await;
    let (tenant, syncer, _) = synced(&lab).await;
    let bob = syncer
        .snapshot
        .entries(tenant)
        .await
        .expect("snapshot")
        .into_iter()
        .find(|e| e.name == "bob@contoso.com")
        .expect("bob")
        .id;
    lab.sim
        .tenant_settings(
            &tenant.to_string(),
            &serde_json::from_value(json!({"delta_changed_properties_only": true})).expect("settings"),
        )
        .expect("settings");
    let rename = |change: serde_json::Value| {
        let mut r = json!({"user": bob});
        r.as_object_mut()
            .expect("o")
            .extend(change.as_object().cloned().unwrap_or_default());
        lab.sim
            .patch_directory(
                &tenant.to_string(),
                &serde_json::from_value(json!({"rename_users": [r]})).expect("patch"),
            )
            .expect("renamed");
    };

    rename(json!({"display_name": "Robert Builder"}));
    syncer.sync_tenant(&message(tenant, "d2")).await.expect("sync");
    assert_eq!(
        entry(&lab, tenant, &bob).await,
        ("bob@contoso.com".to_owned(), Some("Robert Builder".to_owned())),
        "a record without userPrincipalName updates the display name"
    );

    rename(json!({"user_principal_name": "robert@contoso.com"}));
    syncer.sync_tenant(&message(tenant, "d3")).await.expect("sync");
    assert_eq!(
        entry(&lab, tenant, &bob).await,
        ("robert@contoso.com".to_owned(), Some("Robert Builder".to_owned())),
        "a record without displayName keeps it"
    );
}
