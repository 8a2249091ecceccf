//! The state store against DynamoDB on moto.

use chrono::Utc;
use integration_tests::lab::{TestStack, tenant_id};
use model::{
    service::Service,
    sites::Site,
    task::{StepStatus, TaskKind, TaskStatus},
    tenant::LifecycleState,
};
use state::store::{
    Key, Record as _, ResourceKind, ResourceRecord, StepRecord, Store, StoreError, TaskRecord, TenantRecord,
    key,
};

fn tenant(site: Site, state: LifecycleState) -> TenantRecord {
    TenantRecord::new(
        tenant_id(),
        site,
        vec![Service::ExchangeOnline, Service::Onedrive],
        state,
    )
}

#[tokio::test]
async fn tenant_task_steps_and_resources_round_trip() {
    let TestStack { store, .. } = TestStack::new().await;
    let mut record = tenant(Site::Eu, LifecycleState::Provisioning);
    store.create(&mut record).await.expect("create tenant");
    assert_eq!(record.version, 1);
    assert_eq!(
        store.tenant(record.tenant_id).await.expect("read"),
        Some(record.clone())
    );

    let mut task = TaskRecord::new(
        record.tenant_id,
        TaskKind::Provision,
        serde_json::json!({"site": "eu"}),
    );
    store.create(&mut task).await.expect("create task");
    let mut steps = vec![
        StepRecord::new(
            task.task_id,
            Some(Service::ExchangeOnline),
            2,
            "create_connectors",
        ),
        StepRecord::new(task.task_id, None, 0, "preflight"),
        StepRecord::new(task.task_id, Some(Service::ExchangeOnline), 1, "create_groups"),
    ];
    for step in &mut steps {
        store.create(step).await.expect("create step");
    }
    let read = store
        .task_with_steps(task.task_id)
        .await
        .expect("query")
        .expect("task exists");
    assert_eq!(read.task, task);
    let names: Vec<_> = read.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["create_groups", "create_connectors", "preflight"],
        "sorted by service, then order"
    );

    let mut group = ResourceRecord::new(
        record.tenant_id,
        ResourceKind::Group,
        "TMCAS Inline Incoming O365 Virtual Group",
    );
    group.external_id = Some("5d6f2f0e-1111-2222-3333-444455556666".to_owned());
    group.created_by_task = Some(task.task_id);
    let ip = ResourceRecord::new(record.tenant_id, ResourceKind::AllowedIp, "203.0.113.10");
    store.put(&group).await.expect("put group");
    store.put(&ip).await.expect("put ip");
    store
        .put(&ip)
        .await
        .expect("putting the same resource again is harmless");
    let mut resources = store.resources(record.tenant_id).await.expect("resources");
    resources.sort_by_key(|r| r.kind);
    assert_eq!(resources, [group.clone(), ip.clone()]);
    store.delete(&ip.key()).await.expect("delete");
    store
        .delete(&ip.key())
        .await
        .expect("deleting a missing item succeeds");
    assert_eq!(
        store.resources(record.tenant_id).await.expect("resources"),
        [group]
    );
}

#[tokio::test]
async fn two_writers_on_one_version_one_wins_and_the_other_gets_a_conflict() {
    let TestStack { store, .. } = TestStack::new().await;
    let mut original = tenant(Site::Us, LifecycleState::Provisioning);
    store.create(&mut original).await.expect("create");

    let mut first = store
        .tenant(original.tenant_id)
        .await
        .expect("read")
        .expect("exists");
    let mut second = first.clone();
    first.state = LifecycleState::Active;
    second.state = LifecycleState::Deprovisioning;
    store.update(&mut first).await.expect("first writer wins");
    assert_eq!(first.version, 2);

    let err = store
        .update(&mut second)
        .await
        .expect_err("second writer is stale");
    assert!(
        matches!(
            &err,
            StoreError::Conflict {
                entity: "tenant",
                expected_version: 1,
                ..
            }
        ),
        "unexpected error: {err:?}"
    );
    assert!(err.to_string().contains("re-read it and retry"), "{err}");
    assert_eq!(
        second.version, 1,
        "a failed write leaves the caller's version alone"
    );
    let stored = store
        .tenant(original.tenant_id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (stored.state, stored.version),
        (LifecycleState::Active, 2),
        "no silent overwrite"
    );

    let mut again = original.clone();
    again.version = 0;
    let err = store.create(&mut again).await.expect_err("create twice");
    assert!(
        matches!(err, StoreError::AlreadyExists { entity: "tenant", .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn site_index_lists_only_the_active_tenants_of_that_site() {
    let TestStack { store, .. } = TestStack::new().await;
    let mut eu_active = [
        tenant(Site::Eu, LifecycleState::Active),
        tenant(Site::Eu, LifecycleState::Active),
    ];
    let mut others = [
        tenant(Site::Eu, LifecycleState::Provisioning),
        tenant(Site::Eu, LifecycleState::NeedsReconsent),
        tenant(Site::Uk, LifecycleState::Active),
        tenant(Site::Us, LifecycleState::Active),
    ];
    for record in eu_active.iter_mut().chain(others.iter_mut()) {
        store.create(record).await.expect("create");
    }
    // A tenant that leaves the active state leaves the index.
    let mut leaving = tenant(Site::Eu, LifecycleState::Active);
    store.create(&mut leaving).await.expect("create");
    leaving.state = LifecycleState::Deprovisioning;
    store.update(&mut leaving).await.expect("deprovision");

    let mut listed: Vec<_> = store
        .active_tenants(Site::Eu)
        .await
        .expect("query")
        .into_iter()
        .map(|t| t.tenant_id)
        .collect();
    listed.sort();
    let mut expected: Vec<_> = eu_active.iter().map(|t| t.tenant_id).collect();
    expected.sort();
    assert_eq!(listed, expected);
    assert_eq!(store.active_tenants(Site::Uk).await.expect("query").len(), 1);
    assert!(store.active_tenants(Site::Sg).await.expect("query").is_empty());
}

#[tokio::test]
async fn finished_tasks_and_steps_get_a_ttl_and_running_ones_do_not() {
    let TestStack {
        sdk, store, stack, ..
    } = TestStack::new().await;
    let mut task = TaskRecord::new(tenant_id(), TaskKind::Deprovision, serde_json::Value::Null);
    let mut step = StepRecord::new(task.task_id, None, 0, "remove_rules");
    store.create(&mut task).await.expect("create");
    store.create(&mut step).await.expect("create");
    let raw = |key: Key| {
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        let table = stack.table_name.clone();
        async move {
            let item = client
                .get_item()
                .table_name(table)
                .key(
                    key::PARTITION_KEY,
                    aws_sdk_dynamodb::types::AttributeValue::S(key.pk),
                )
                .key(key::SORT_KEY, aws_sdk_dynamodb::types::AttributeValue::S(key.sk))
                .send()
                .await
                .expect("get")
                .item
                .expect("item");
            item.get(key::TTL_ATTRIBUTE)
                .map(|v| v.as_n().expect("number").parse::<i64>().expect("epoch"))
        }
    };
    assert_eq!(raw(task.key()).await, None);
    assert_eq!(raw(step.key()).await, None);

    let finished = Utc::now();
    task.status = TaskStatus::Succeeded;
    task.finished_at = Some(finished);
    step.status = StepStatus::Succeeded;
    step.updated_at = finished;
    store.update(&mut task).await.expect("finish task");
    store.update(&mut step).await.expect("finish step");
    let thirty_days = 30 * 24 * 3600;
    assert_eq!(raw(task.key()).await, Some(finished.timestamp() + thirty_days));
    assert_eq!(raw(step.key()).await, Some(finished.timestamp() + thirty_days));

    let ttl = aws_sdk_dynamodb::Client::new(&sdk)
        .describe_time_to_live()
        .table_name(&stack.table_name)
        .send()
        .await
        .expect("describe ttl")
        .time_to_live_description
        .expect("ttl description");
    assert_eq!(ttl.attribute_name(), Some(key::TTL_ATTRIBUTE));
}

#[tokio::test]
async fn a_transaction_applies_all_writes_or_none() {
    let TestStack { store, .. } = TestStack::new().await;
    let mut record = tenant(Site::Ca, LifecycleState::Deprovisioned);
    store.create(&mut record).await.expect("create");

    // A stale tenant version: the task must not be created either.
    let mut stale = record.clone();
    let mut fresh = record.clone();
    fresh.attention = Some("changed elsewhere".to_owned());
    store.update(&mut fresh).await.expect("concurrent change");
    stale.state = LifecycleState::Provisioning;
    let mut task = TaskRecord::new(record.tenant_id, TaskKind::Provision, serde_json::Value::Null);
    let err = store
        .transaction()
        .update(&mut stale)
        .create(&mut task)
        .commit()
        .await
        .expect_err("stale");
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                entity: "tenant",
                expected_version: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(task.version, 0);
    assert!(
        store
            .task_with_steps(task.task_id)
            .await
            .expect("query")
            .is_none(),
        "nothing half-done"
    );

    // With the current version both land, and both records learn their new versions.
    let mut current = store
        .tenant(record.tenant_id)
        .await
        .expect("read")
        .expect("exists");
    current.state = LifecycleState::Provisioning;
    current.current_task_id = Some(task.task_id);
    store
        .transaction()
        .update(&mut current)
        .create(&mut task)
        .commit()
        .await
        .expect("commit");
    assert_eq!((current.version, task.version), (3, 1));
    let stored = store
        .tenant(record.tenant_id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(stored, current);
    assert!(
        store
            .task_with_steps(task.task_id)
            .await
            .expect("query")
            .is_some()
    );
}

#[tokio::test]
async fn a_missing_table_is_reported_with_what_to_do() {
    let test = TestStack::new().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&test.sdk), "no-such-table");
    let err = store.tenant(tenant_id()).await.expect_err("missing table");
    assert!(matches!(err, StoreError::TableMissing { .. }), "{err:?}");
    assert!(err.to_string().contains("TABLE_NAME"), "{err}");
}

/// 50 tenants in several states, sites and tags: every listing (all, by state, by site, by tag,
/// needing attention, and their combinations) pages through exactly its tenants in site-then-id
/// order, counts agree, and no request scans.
#[tokio::test]
async fn the_fleet_is_listed_and_counted_by_state_and_site_in_pages_without_a_scan() {
    use state::store::{TenantCursor, TenantFilter};

    let TestStack { store, sdk, .. } = TestStack::new().await;
    let states = [
        LifecycleState::Active,
        LifecycleState::Active,
        LifecycleState::NeedsReconsent,
        LifecycleState::Failed,
        LifecycleState::Deprovisioned,
    ];
    let sites = [Site::Eu, Site::Us, Site::Jp];
    let mut all = Vec::new();
    let gold: model::label::Tag = "tier:gold".parse().expect("tag");
    let msp: model::label::Tag = "msp:north".parse().expect("tag");
    for i in 0..50 {
        let mut record = tenant(sites[i % sites.len()], states[i % states.len()]);
        // Labels on some, and an active tenant whose admin must assign a role.
        if i % 3 == 0 {
            record.tags.push(gold.clone());
        }
        if i % 4 == 0 {
            record.tags.push(msp.clone());
        }
        if i % 10 == 1 {
            record.attention = Some("assign the Exchange role".to_owned());
        }
        store.create(&mut record).await.expect("create tenant");
        all.push(record);
    }
    // A state change moves the tenant from one state's partition to the other's.
    all[0].state = LifecycleState::Deprovisioning;
    store.update(&mut all[0]).await.expect("update");
    all.sort_by_key(|t| (t.site.code(), t.tenant_id.to_string()));

    let key = format!("fleet-{}", uuid::Uuid::new_v4().simple());
    let reader = Store::new(
        aws_sdk_dynamodb::Client::new(&integration_tests::aws::as_key(&sdk, &key)),
        store.table(),
    );
    let filters = [
        TenantFilter::default(),
        TenantFilter {
            state: Some(LifecycleState::Active),
            ..TenantFilter::default()
        },
        TenantFilter {
            site: Some(Site::Us),
            ..TenantFilter::default()
        },
        TenantFilter {
            state: Some(LifecycleState::NeedsReconsent),
            site: Some(Site::Jp),
            ..TenantFilter::default()
        },
        TenantFilter {
            state: Some(LifecycleState::Provisioning),
            ..TenantFilter::default()
        },
        // A tag filters the same queries, so its pages fill across several.
        TenantFilter {
            tag: Some(gold.clone()),
            ..TenantFilter::default()
        },
        TenantFilter {
            tag: Some(msp.clone()),
            site: Some(Site::Eu),
            ..TenantFilter::default()
        },
        TenantFilter {
            tag: Some(gold.clone()),
            state: Some(LifecycleState::Active),
            ..TenantFilter::default()
        },
        // The sparse attention index, alone and within a state.
        TenantFilter {
            attention: true,
            ..TenantFilter::default()
        },
        TenantFilter {
            attention: true,
            state: Some(LifecycleState::Active),
            ..TenantFilter::default()
        },
        TenantFilter {
            attention: true,
            site: Some(Site::Eu),
            tag: Some(gold.clone()),
            ..TenantFilter::default()
        },
    ];
    for filter in &filters {
        let expected: Vec<&TenantRecord> = all
            .iter()
            .filter(|t| filter.state.is_none_or(|s| t.state == s))
            .filter(|t| filter.site.is_none_or(|s| t.site == s))
            .filter(|t| filter.tag.as_ref().is_none_or(|tag| t.tags.contains(tag)))
            .filter(|t| !filter.attention || t.needs_attention())
            .collect();
        assert!(
            !expected.is_empty() || filter.state == Some(LifecycleState::Provisioning),
            "{filter:?} must select some tenants to test anything"
        );
        let mut listed = Vec::new();
        let mut cursor: Option<TenantCursor> = None;
        let mut pages = 0;
        loop {
            let page = reader.tenants(filter, 7, cursor).await.expect("a page");
            assert!(page.tenants.len() <= 7);
            pages += 1;
            listed.extend(page.tenants);
            match page.cursor {
                // The cursor an operator is handed reads back as itself.
                Some(next) => cursor = Some(next.to_string().parse().expect("cursor")),
                None => break,
            }
            assert!(pages <= 8, "{filter:?}: the listing does not end");
        }
        assert_eq!(listed.iter().collect::<Vec<_>>(), expected, "{filter:?}");
        assert_eq!(pages, expected.len().div_ceil(7).max(1), "{filter:?}");
        assert_eq!(
            reader.count_tenants(filter).await.expect("count"),
            expected.len() as u64,
            "{filter:?}"
        );
    }
    // Only tenants are in the fleet's indexes: steps, tasks and resources beside them are not.
    let mut task = TaskRecord::new(all[1].tenant_id, TaskKind::Provision, serde_json::json!({}));
    store.create(&mut task).await.expect("a task");
    assert_eq!(
        reader
            .count_tenants(&TenantFilter::default())
            .await
            .expect("count"),
        50
    );
    let actions = integration_tests::aws::recorded_actions().await;
    assert_eq!(
        actions
            .get(&key)
            .map(|a| a.iter().map(String::as_str).collect::<Vec<_>>()),
        Some(vec!["dynamodb:Query"]),
        "{actions:?}"
    );
}
