//! Allow lists: the spoofed-sender pair in the Tenant Allow/Block List, and the vendor's IPs in
//! the Default connection-filter policy. The customer's own entries are never touched: IPs are
//! added with the add/remove form, and only what we added is recorded as ours.

use std::collections::BTreeSet;

use chrono::Utc;
use microsoft::{
    exchange::{Cmdlet, ExchangeAdmin, Kind, allowed_ips, set_allowed_ips},
    fields::text,
};
use model::vendor::ManagedNames;
use serde_json::Value;
use state::store::ResourceKind;

use crate::{
    provisioning::ProvisionRequest,
    tasks::{Outcome, PlannedCall, StepContext, StepError},
};

/// The spoof entries matching the vendor's pair.
async fn matching_spoof_items(
    ctx: &StepContext<'_>,
    exchange: &impl ExchangeAdmin,
) -> Result<Vec<Value>, StepError> {
    let items = exchange
        .invoke(&Cmdlet::new("Get-TenantAllowBlockListSpoofItems").param("Identity", "Default"))
        .await?;
    Ok(items
        .into_iter()
        .filter(|item| ctx.vendor.spoof.matches(item))
        .collect())
}

/// Adds the spoofed-sender allow pair unless present; records the entry's id.
pub async fn add_spoof_pair(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let exchange = ctx.ms.exchange(ctx.tenant).await?;
    let spoof = &ctx.vendor.spoof;
    let key = spoof.key();
    let ours = ctx.recorded(ResourceKind::SpoofItem, &key).await?;
    let found = matching_spoof_items(ctx, &exchange).await?;
    if let Some(item) = found.first() {
        let id = text(item, "Identity").unwrap_or_default();
        return match ours {
            Some(_) => {
                ctx.record(ResourceKind::SpoofItem, &key, Some(id), &[]).await?;
                Ok(Outcome::Done(None))
            }
            // The customer already allows the pair: used, never recorded as ours.
            None => Ok(Outcome::Done(Some(format!(
                "spoof pair already allowed by the tenant ({id}); left as theirs"
            )))),
        };
    }
    // Accepted by an earlier run and not listed yet: Tenant Allow/Block List entries are listed
    // some time after their create, so wait before creating again.
    if let Some(intent) = ours.filter(|r| r.external_id.is_none() && r.details.contains_key(ACCEPTED))
        && Utc::now() - intent.recorded_at < SPOOF_LISTING
    {
        return Ok(listing_wait());
    }
    // Intent first: whatever entry appears for the pair from now on is ours.
    ctx.record(ResourceKind::SpoofItem, &key, None, &[]).await?;
    let new = Cmdlet::new("New-TenantAllowBlockListSpoofItems")
        .param("Identity", "Default")
        .param("Action", "Allow")
        .param("SpoofedUser", spoof.spoofed_user.as_str())
        .param("SendingInfrastructure", spoof.sending_infrastructure.as_str())
        .param("SpoofType", spoof.spoof_type.as_str());
    match exchange.invoke_once(&new).await {
        Ok(_) => {
            ctx.record(ResourceKind::SpoofItem, &key, None, &[(ACCEPTED, "true")])
                .await?
        }
        // Made by an earlier create whose entry is still not listed.
        Err(err) if err.kind() == Some(Kind::AlreadyExists) => return Ok(listing_wait()),
        Err(err) => return Err(err.into()),
    }
    // Read back: success may come with no record, and only the list shows the id.
    let created = matching_spoof_items(ctx, &exchange).await?;
    let Some(id) = created.first().and_then(|item| text(item, "Identity")) else {
        return Ok(listing_wait());
    };
    ctx.record(ResourceKind::SpoofItem, &key, Some(id), &[]).await?;
    Ok(Outcome::Done(Some(format!("spoof pair added ({id})"))))
}

/// The intent's detail saying Exchange accepted the create (an intent without it may never
/// have reached Exchange).
const ACCEPTED: &str = "accepted";

/// How long a created spoof entry may take to be listed before it is created again.
const SPOOF_LISTING: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

fn listing_wait() -> Outcome {
    Outcome::recheck("waiting for the new spoof entry to be listed by Exchange")
}

/// Adds the vendor IPs missing from the IP Allow List and records exactly those as ours.
pub async fn add_allowed_ips(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let exchange = ctx.ms.exchange(ctx.tenant).await?;
    let present: BTreeSet<String> = allowed_ips(&exchange).await?.into_iter().collect();
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut missing = Vec::new();
    for ip in &ctx.vendor.egress_ips {
        let recorded = ctx.recorded(ResourceKind::AllowedIp, ip).await?.is_some();
        match (present.contains(ip), recorded) {
            (true, true) => ours.push(ip.clone()),
            (true, false) => theirs.push(ip.clone()),
            (false, _) => missing.push(ip.clone()),
        }
    }
    // Intent first: an IP recorded here and present later was added by us, even after a crash.
    for ip in &missing {
        ctx.record(ResourceKind::AllowedIp, ip, None, &[]).await?;
    }
    if !missing.is_empty() {
        exchange.invoke(&set_allowed_ips(&missing, &[])).await?;
    }
    let mut note = format!("{} IP(s) added", missing.len());
    if !theirs.is_empty() {
        note.push_str(&format!(
            "; already allowed by the tenant and left as theirs: {}",
            theirs.join(", ")
        ));
    }
    Ok(Outcome::Done(Some(note)))
}

/// The calls of [`add_spoof_pair`].
pub fn add_spoof_pair_calls(_: &ProvisionRequest, _: &ManagedNames) -> Vec<PlannedCall> {
    vec![
        PlannedCall::new("exchange", "Get-TenantAllowBlockListSpoofItems", None, false),
        PlannedCall::new("exchange", "New-TenantAllowBlockListSpoofItems", None, true),
    ]
}

/// The calls of [`add_allowed_ips`].
pub fn add_allowed_ips_calls(_: &ProvisionRequest, _: &ManagedNames) -> Vec<PlannedCall> {
    vec![
        PlannedCall::new(
            "exchange",
            "Get-HostedConnectionFilterPolicy Default",
            None,
            false,
        ),
        PlannedCall::new(
            "exchange",
            "Set-HostedConnectionFilterPolicy Default IPAllowList @{Add=<missing vendor IPs>}",
            None,
            true,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_spoof_entry_is_waited_for_at_least_as_long_as_microsoft_says_it_takes() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../m365-sim/tests/fixtures/exchange-spoof-entry-activation.json"
        );
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
        let documented = doc["active_within_seconds"].as_i64().expect("seconds");
        assert!(
            SPOOF_LISTING >= chrono::TimeDelta::seconds(documented),
            "{SPOOF_LISTING} is shorter than the documented {documented} s"
        );
    }
}
