//! `sync-worker`: syncs one tenant per SQS message, reporting the messages that failed so SQS
//! delivers only those again.
//!
//! An unchanged tenant costs one Graph `$batch` (users delta, groups delta, domains) and one
//! Exchange `$batch` (rules, connectors, IP allow list, spoof entries): two HTTP round trips.
//!
//! Work never runs into Lambda's hard timeout: a full listing stops at a checkpoint as the
//! deadline nears and the tenant's message is queued again to go on from it, and a message not
//! started by then is queued again untouched. Either way its SQS message succeeds, so a large
//! tenant's first sync takes several invocations, not several receives towards the DLQ.

use std::time::{Duration as StdDuration, SystemTime};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use chrono::Utc;
use futures_util::{StreamExt, stream};
use microsoft::{
    exchange::{Cmdlet, ExchangeAdmin},
    identity::Resource,
};
use model::{
    config::{ConfigError, ProcessEnv, Source},
    event,
    notice::Change,
    tenant::{LifecycleState, TenantId},
    vendor::{ManagedNames, VendorConfig},
};
use serde_json::Value;
use state::{
    bus::EventBus,
    queue::Queue,
    store::{Key, ResourceRecord, Store, StoreError, TenantRecord, decode, key},
};
use tracing::Instrument;

use super::{
    daily::SyncMessage,
    directory::{DirectorySync, Progress, delta_request, is_delta_checkpoint, own_delta},
    dns::MxResolver,
    domains,
    drift::{self, Observed},
    error::SyncError,
    progress,
    report::{Outcome, TenantReport},
    snapshot::Snapshot,
    state::{DriftRecord, EntryKind, ListingCheckpoint, SYNC_SORT_KEY, SyncState},
};
use crate::{
    clients::Microsoft,
    deadline::Deadline,
    meter,
    provisioning::{ProvisionStep, accepted_domains, protected_domains, update_domain_rules},
    span,
    tasks::{Step, StepContext, StepError},
};

/// Tenants one worker syncs at once within an SQS batch.
pub const CONCURRENCY: usize = 4;
/// Time kept back before the deadline: no tenant's sync starts within it, and a full listing
/// stops at a checkpoint when it is reached (what is left fits: a listing page and its writes,
/// or an ordinary tenant's whole sync).
pub const RESERVE: StdDuration = StdDuration::from_secs(30);
/// Prefix of the `attention` text the sync owns (MX problems); other attention is left alone.
pub const MX_ATTENTION_PREFIX: &str = "MX: ";

/// Everything a worker needs.
pub struct Syncer {
    /// The state table.
    pub store: Store,
    /// The directory snapshot writer.
    pub snapshot: Snapshot,
    /// Microsoft clients (the one token path).
    pub ms: Microsoft,
    /// The vendor's facts (for repairs).
    pub vendor: VendorConfig,
    /// Live MX lookups.
    pub dns: MxResolver,
    /// Tenants synced at once within one SQS batch.
    pub concurrency: usize,
    /// The sync queue, where a tenant's message goes again to continue after the deadline.
    pub queue: Queue,
    /// Time kept back before the invocation's deadline ([`RESERVE`]).
    pub reserve: StdDuration,
    /// The time one tenant's MX lookups may take together ([`domains::MX_BUDGET`]).
    pub mx_budget: StdDuration,
    /// Where repaired drift and a tenant found without its grant are announced.
    pub bus: EventBus,
}

impl Syncer {
    /// Handles an SQS batch: each message is one tenant; failed ones are reported by message id.
    /// A body that is not a sync message is reported too (after five receives SQS moves it to
    /// the dead-letter queue, where an operator can read it) and logged with the field at fault.
    /// No tenant's sync starts within [`Self::reserve`] of `deadline`: its message is queued
    /// again instead.
    pub async fn handle_sqs(
        &self,
        event: Value,
        deadline: Option<SystemTime>,
    ) -> Result<SqsBatchResponse, SyncError> {
        let batch: SqsEvent = event::envelope(event)?;
        let deadline = Deadline::of_invocation(deadline, self.reserve);
        let failures: Vec<String> = stream::iter(batch.records)
            .map(|record| {
                let message_id = record.message_id.unwrap_or_default();
                let body = record.body.unwrap_or_default();
                let span = span::message(&message_id);
                async move {
                    let message = match event::parse::<SyncMessage>(body.as_bytes()) {
                        Ok(message) => message,
                        Err(err) => {
                            tracing::error!(error = %err, "malformed sync message");
                            return Some(message_id);
                        }
                    };
                    let sync = span::sync(message.tenant_id, message.site, &message.run_id);
                    let failed = self.sync_message(&message, deadline).instrument(sync).await;
                    failed.then_some(message_id)
                }
                .instrument(span)
            })
            .buffer_unordered(self.concurrency.max(1))
            .filter_map(|failed| async move { failed })
            .collect()
            .await;
        let mut answer = SqsBatchResponse::default();
        for message_id in failures {
            answer.add_failure(message_id);
        }
        Ok(answer)
    }

    /// One message's tenant synced, or queued again when the deadline is near; whether its
    /// message failed.
    async fn sync_message(&self, message: &SyncMessage, deadline: Deadline) -> bool {
        if deadline.is_near() {
            return match self.queue.send(message, StdDuration::ZERO).await {
                Ok(()) => {
                    tracing::info!("deadline near: the tenant's message is queued again, not started");
                    false
                }
                Err(err) => {
                    tracing::error!(error = %err, "deadline near and the message could not be queued again; SQS will deliver it again");
                    true
                }
            };
        }
        match self.sync_within(message, deadline).await {
            Ok(report) => {
                tracing::info!(outcome = ?report.outcome, drift = report.drift.len(), "tenant sync done");
                false
            }
            Err(err) => {
                tracing::error!(error = %err, error_type = err.error_type(), "tenant sync failed; SQS will deliver it again");
                true
            }
        }
    }

    /// Syncs one tenant for one run, with no deadline; a second delivery of the same run
    /// changes nothing.
    pub async fn sync_tenant(&self, message: &SyncMessage) -> Result<TenantReport, SyncError> {
        self.sync_within(message, Deadline::none())
            .instrument(span::sync(message.tenant_id, message.site, &message.run_id))
            .await
    }

    /// Syncs one tenant for one run as far as `deadline` allows (see [`Outcome::Continued`]).
    /// A token Microsoft refuses (401: expired early or revoked) is dropped, and the sync runs
    /// once more with freshly minted tokens; every step of it is idempotent.
    pub async fn sync_within(
        &self,
        message: &SyncMessage,
        deadline: Deadline,
    ) -> Result<TenantReport, SyncError> {
        let result = match self.sync_once(message, deadline).await {
            Err(err) if err.is_unauthorized() => {
                tracing::info!("token refused; minting new tokens and syncing again");
                self.ms.tokens.invalidate(message.tenant_id, Resource::Graph);
                self.ms.tokens.invalidate(message.tenant_id, Resource::Exchange);
                self.sync_once(message, deadline).await
            }
            other => other,
        };
        match &result {
            Ok(report) => {
                match report.outcome {
                    Outcome::Synced => meter::synced(message.site),
                    Outcome::Skipped => meter::skipped(message.site),
                    // Counted when the tenant's sync ends.
                    Outcome::Continued => {}
                }
                meter::sync_findings(message.site, report.drift.len(), report.mx_problems.len());
            }
            Err(_) => meter::sync_failed(message.site),
        }
        // The run's progress: an outcome not kept fails the message, whose next delivery keeps
        // it (a tenant synced already counts as synced).
        match (progress::note(&self.store, message, &result).await, result) {
            (Err(err), Ok(_)) => Err(err.into()),
            (Err(err), Err(failed)) => {
                tracing::warn!(error = %err, "the failure was not kept in the run's progress");
                Err(failed)
            }
            (Ok(()), result) => result,
        }
    }

    /// The tenant's record, its sync state and its resources, in one Query of its partition from
    /// `RES#` on: `RES#…`, `SYNC` and `TENANT` sort there; drift, quarantine and report items
    /// sort before it and are not read.
    async fn read_tenant(
        &self,
        id: TenantId,
    ) -> Result<(Option<TenantRecord>, SyncState, Vec<ResourceRecord>), SyncError> {
        let items = self
            .store
            .query_from(&key::tenant_partition(id), key::RESOURCE_PREFIX)
            .await?;
        let (mut tenant, mut state, mut resources) = (None, SyncState::default(), Vec::new());
        for item in items {
            let sk = item.get(key::SORT_KEY).and_then(|v| v.as_s().ok()).cloned();
            match sk.as_deref() {
                Some(sk) if sk.starts_with(key::RESOURCE_PREFIX) => resources.push(decode(item)?),
                Some(SYNC_SORT_KEY) => state = decode(item)?,
                Some(key::TENANT_SORT_KEY) => tenant = Some(decode(item)?),
                _ => {}
            }
        }
        Ok((tenant, state, resources))
    }

    async fn sync_once(&self, message: &SyncMessage, deadline: Deadline) -> Result<TenantReport, SyncError> {
        let id = message.tenant_id;
        let (tenant, mut state, resources) = self.read_tenant(id).await?;
        let Some(tenant) = tenant else {
            return Ok(TenantReport::skipped(id, "not under management".to_owned()));
        };
        if tenant.state != LifecycleState::Active {
            return Ok(TenantReport::skipped(
                id,
                format!("tenant is {:?}", tenant.state).to_lowercase(),
            ));
        }
        // Paused after its message was queued: the operator's pause wins.
        if tenant.paused_at.is_some() {
            return Ok(TenantReport::skipped(id, "paused by the operator".to_owned()));
        }
        state.tenant_id = Some(id);
        if state.last_run_id.as_deref() == Some(message.run_id.as_str()) {
            return Ok(TenantReport::duplicate(id, &message.run_id));
        }
        self.claim(&mut state, &message.run_id).await?;
        let claimed = state.clone();
        match self
            .sync_claimed(&tenant, state, &resources, message, deadline)
            .await
        {
            Ok(report) => Ok(report),
            Err(err) => {
                // Give the tenant back at once, so the message's next delivery can run.
                if let Err(release) = self.release(&mut claimed.clone()).await {
                    tracing::warn!(tenant = %id, error = %release, "could not release the sync claim; it lapses");
                }
                if !err.needs_reconsent() {
                    return Err(err);
                }
                // No retry helps: the tenant waits for its admin, out of the site's runs.
                let reason = format!(
                    "Microsoft refused the tenant's grant ({err}); the tenant's admin must grant admin consent to the app again"
                );
                crate::reconsent::mark(&self.store, Some(&self.bus), id, &reason).await?;
                Ok(TenantReport::skipped(id, format!("needs re-consent: {err}")))
            }
        }
    }

    /// The sync itself, once this worker holds the tenant.
    async fn sync_claimed(
        &self,
        tenant: &TenantRecord,
        mut state: SyncState,
        resources: &[ResourceRecord],
        message: &SyncMessage,
        deadline: Deadline,
    ) -> Result<TenantReport, SyncError> {
        let id = tenant.tenant_id;
        let tenant = tenant.clone();
        let graph = self.ms.graph(&tenant).await?;
        let mut report = TenantReport::skipped(id, String::new());
        report.outcome = Outcome::Synced;
        report.reason = None;
        let directory = DirectorySync {
            graph: &graph,
            snapshot: &self.snapshot,
            tenant_id: id,
            generation: &message.run_id,
            deadline,
        };

        // A listing an earlier invocation stopped goes on first; once it ends, its kind's
        // from-now link is stored and the delta below brings what changed meanwhile.
        if let Some(checkpoint) = state.listing.take() {
            let kind = checkpoint.kind;
            match directory.resume(checkpoint).await? {
                Progress::Paused(checkpoint) => {
                    return self.pause(state, Some(checkpoint), message, report).await;
                }
                Progress::Done(listed) => {
                    report.full_listing |= listed.full_listing;
                    *state.delta_mut(kind) = own_delta(&graph, kind, listed.delta_link);
                }
            }
        }

        // Graph: users delta, groups delta and domains in one $batch.
        let kinds = [EntryKind::User, EntryKind::Group];
        let mut requests: Vec<_> = kinds
            .iter()
            .map(|kind| delta_request(*kind, state.delta(*kind)))
            .collect();
        requests.push(domains::domains_request());
        let answers = graph.batch(&requests).await?;
        for (kind, answer) in kinds.into_iter().zip(&answers) {
            let stored = state.delta(kind).map(str::to_owned);
            match directory.finish(kind, stored.as_deref(), answer).await? {
                Progress::Done(synced) => {
                    *state.delta_mut(kind) = own_delta(&graph, kind, synced.delta_link.clone());
                    *report.counts(kind) = (synced.upserted, synced.removed);
                    report.full_listing |= synced.full_listing;
                }
                Progress::Paused(checkpoint) => {
                    *report.counts(kind) = (checkpoint.upserted, checkpoint.removed);
                    return self.pause(state, Some(checkpoint), message, report).await;
                }
            }
        }
        if let Some(err) = answers[2].error("GET", "/domains") {
            return Err(err.into());
        }
        if deadline.is_near() {
            // The directory took the time the rest needs (a listing, or a delta of many pages):
            // the rest runs in the next invocation, from the delta links just stored.
            return self.pause(state, None, message, report).await;
        }
        let verified = domains::verified_domains(&answers[2]);
        let domains_changed = verified != state.verified_domains || state.accepted_domains.is_empty();
        report.new_domains = verified
            .iter()
            .filter(|d| !state.verified_domains.contains(d))
            .cloned()
            .collect();
        domains::read_expected_mx(&graph, &verified, &mut state).await?;

        // Exchange: every read in one $batch; accepted domains only when the domains changed.
        let exchange = self.ms.exchange(&tenant).await?;
        let mut cmdlets = drift::read_cmdlets().to_vec();
        if domains_changed {
            cmdlets.push(Cmdlet::new("Get-AcceptedDomain"));
        }
        let mut results = exchange.invoke_batch(&cmdlets).await?.into_iter();
        let mut next = || results.next().unwrap_or_else(|| Ok(Vec::new()));
        let observed = Observed {
            rules: next()?,
            inbound: next()?,
            outbound: next()?,
            filter_policy: next()?,
            spoof_items: next()?,
        };
        let accepted = if domains_changed {
            accepted_domains(&next()?)
        } else {
            state.accepted_domains.clone()
        };

        // Everything so far was read; from here the worker writes. A deprovisioning or a policy
        // update that began after the tenant was read (before this worker's claim) wins: the
        // worker writes nothing and leaves the tenant to it.
        if let Some(changed) = self.changed_since_read(&tenant).await? {
            self.release(&mut state).await?;
            return Ok(TenantReport::skipped(
                id,
                format!("{changed} during the sync; nothing was repaired, the next run looks again"),
            ));
        }
        let names = self.vendor.names();
        let desired = protected_domains(&tenant.policy_targets, &accepted);
        let domain_rules = update_domain_rules(&exchange, &observed.rules, &names, &desired).await?;
        report.rules_updated = domain_rules.updated;
        if domain_rules.reshape {
            // The domains need more or fewer rule parts than the tenant has.
            self.repair(
                &tenant,
                &names,
                &[ProvisionStep::CreateRules, ProvisionStep::EnableRules],
            )
            .await?;
            report
                .rules_updated
                .push(format!("domain rules reshaped for {} domain(s)", desired.len()));
        }

        let hosts = self.vendor.smart_hosts(tenant.site, &id);
        let found = drift::detect(resources, &observed, &self.vendor, &names, &hosts);
        if !found.is_empty() {
            tracing::warn!(tenant = %id, drift = ?found.findings, "drift of our objects found; repairing");
            for fix in &found.fixes {
                exchange.invoke(fix).await?;
            }
            self.repair(&tenant, &names, &found.steps).await?;
            let now = Utc::now();
            self.store
                .put(&DriftRecord {
                    tenant_id: id,
                    repaired_at: now,
                    findings: found.findings.clone(),
                })
                .await?;
            let repaired = found.findings.clone();
            crate::announce::announce(Some(&self.bus), &tenant, Change::DriftRepaired { repaired }).await;
            state.last_drift = found.findings.clone();
            state.last_drift_at = Some(now);
            report.drift = found.findings;
        }
        // After the fixes: a record forgotten first would leave its IP allowed for good.
        for (kind, key) in &found.forget {
            self.store.delete(&Key::resource(id, kind.code(), key)).await?;
        }

        // Reads, rule updates and fixes: repairs by the provisioning steps use their own clients.
        report.exchange_http_requests = exchange.http_requests();

        let suffixes = tenant.cloud.exchange_mx_suffixes();
        state.mx_problems = domains::mx_problems(
            &self.dns,
            &state.expected_mx,
            suffixes,
            &state.mx_problems,
            self.mx_budget,
        )
        .await;
        if !state.mx_problems.is_empty() {
            tracing::warn!(tenant = %id, problems = ?state.mx_problems, "MX does not route to Exchange Online");
        }
        self.note_mx(tenant, &state.mx_problems).await?;
        report.mx_problems = state.mx_problems.clone();

        state.verified_domains = verified;
        state.accepted_domains = accepted;
        state.last_run_id = Some(message.run_id.clone());
        state.synced_at = Some(Utc::now());
        self.release(&mut state).await?;
        Ok(report)
    }

    /// Stops the tenant's sync for this invocation: stores the checkpoint (if any) and the delta
    /// links so far, gives the tenant back, and queues its message again to go on. If the message
    /// cannot be sent, the error makes SQS deliver this one again, which goes on the same way.
    async fn pause(
        &self,
        mut state: SyncState,
        listing: Option<ListingCheckpoint>,
        message: &SyncMessage,
        mut report: TenantReport,
    ) -> Result<TenantReport, SyncError> {
        state.listing = listing;
        self.release(&mut state).await?;
        self.queue.send(message, StdDuration::ZERO).await?;
        tracing::info!(listing = ?state.listing.as_ref().map(|l| (l.kind, l.pages)), "the sync goes on in a new invocation");
        report.outcome = Outcome::Continued;
        report.full_listing |= state.listing.as_ref().is_some_and(|l| !is_delta_checkpoint(l));
        Ok(report)
    }

    /// How the tenant changed since this worker read it (another state, or new targets), if it
    /// did: a consistent read of its record.
    async fn changed_since_read(&self, read: &TenantRecord) -> Result<Option<String>, SyncError> {
        let now = self.store.tenant(read.tenant_id).await?;
        Ok(match now {
            None => Some("the tenant left management".to_owned()),
            Some(now) if now.state != LifecycleState::Active => {
                Some(format!("the tenant became {:?}", now.state).to_lowercase())
            }
            Some(now) if now.version != read.version => Some("the tenant changed".to_owned()),
            Some(_) => None,
        })
    }

    /// Runs provisioning steps again, outside any task, to restore drifted objects.
    async fn repair(
        &self,
        tenant: &TenantRecord,
        names: &ManagedNames,
        steps: &[ProvisionStep],
    ) -> Result<(), SyncError> {
        let ctx = StepContext {
            tenant,
            task: None,
            vendor: &self.vendor,
            names,
            store: &self.store,
            ms: &self.ms,
            // A repair runs whole: it is a few calls, and the sync's reserve leaves it the time.
            deadline: Deadline::none(),
        };
        for step in steps {
            let run = step.run_alone(&ctx).ok_or_else(|| {
                StepError::Failed(format!(
                    "{} needs its provisioning request and cannot repair drift",
                    step.name()
                ))
            })?;
            let outcome = run.await?;
            tracing::info!(tenant = %tenant.tenant_id, step = step.name(), outcome = ?outcome, "drift repaired");
        }
        Ok(())
    }

    /// Puts MX problems in the tenant's `attention` (only text the sync owns is replaced).
    async fn note_mx(&self, mut tenant: TenantRecord, problems: &[String]) -> Result<(), SyncError> {
        let ours = tenant
            .attention
            .as_deref()
            .is_none_or(|a| a.starts_with(MX_ATTENTION_PREFIX));
        let wanted = (!problems.is_empty()).then(|| format!("{MX_ATTENTION_PREFIX}{}", problems.join("; ")));
        if !ours || tenant.attention == wanted {
            return Ok(());
        }
        tenant.attention = wanted;
        tenant.updated_at = Utc::now();
        match self.store.update(&mut tenant).await {
            // Someone else changed the tenant meanwhile: the next run notes it.
            Err(StoreError::Conflict { .. }) => Ok(()),
            other => Ok(other?),
        }
    }
}

impl Syncer {
    /// Builds every dependency from `source` (README: Configuration, plus `DNS_SERVER`).
    pub fn from_source(sdk: &aws_config::SdkConfig, source: &impl Source) -> Result<Self, ConfigError> {
        let ms = Microsoft::from_source(sdk, source)?;
        let store = Store::from_source(sdk, source)?;
        Ok(Self {
            snapshot: Snapshot::new(aws_sdk_dynamodb::Client::new(sdk), store.clone(), ms.retry),
            store,
            ms,
            vendor: VendorConfig::from_source(source)?,
            dns: MxResolver::from_source(source)?,
            concurrency: CONCURRENCY,
            queue: Queue::sync(sdk, source)?,
            reserve: RESERVE,
            mx_budget: domains::MX_BUDGET,
            bus: EventBus::from_source(sdk, source)?,
        })
    }

    /// Builds every dependency from the process environment.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = state::aws::sdk_config().await;
        Self::from_source(&sdk, &state::parameters::resolve(&sdk, &ProcessEnv).await?)
    }
}
