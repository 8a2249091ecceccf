//! Delta queries: fixed pages, links, @removed, latest, expiry.

use serde_json::{Value, json};

use crate::common::*;

async fn walk(env: &Env, t: &str, first: &str) -> (Vec<Value>, String, Vec<Value>) {
    let mut items = Vec::new();
    let mut pages = Vec::new();
    let mut url = first.to_owned();
    loop {
        let p = env.graph("GET", &url, t, None).await;
        assert_eq!(p.status, 200, "{}", p.body);
        items.extend(p.body["value"].as_array().expect("v").iter().cloned());
        pages.push(p.body.clone());
        if let Some(n) = p.body["@odata.nextLink"].as_str() {
            url = n.to_owned();
        } else {
            return (
                items,
                p.body["@odata.deltaLink"].as_str().expect("deltaLink").to_owned(),
                pages,
            );
        }
    }
}

#[tokio::test]
async fn users_delta_pages_changes_and_expiry() {
    let env = Env::new(json!({"users": 450})).await;
    let t = env.token(GRAPH).await;
    let (items, delta_link, pages) =
        walk(&env, &t, "/users/delta?$select=displayName,givenName,surname").await;
    assert_eq!(items.len(), 450);
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p["value"].as_array().expect("v").len())
        .collect();
    assert_eq!(sizes, vec![200, 200, 50]);
    assert_shape(&fixture("graph-users-delta-next.json"), &pages[0]);
    assert_shape(&fixture("graph-users-delta-final.json"), &pages[2]);
    assert!(
        pages[0]["@odata.nextLink"]
            .as_str()
            .expect("n")
            .contains("/v1.0/users/delta?$skiptoken=")
    );

    // Nothing changed: an empty round.
    let (none, delta_link2, _) = walk(&env, &t, &delta_link).await;
    assert!(none.is_empty());

    let victim = items[3]["id"].as_str().expect("id").to_owned();
    let patch = json!({"add_users": [{"user_principal_name": "new.person", "display_name": "New Person"}], "remove_users": [victim]});
    assert_eq!(
        env.admin_status(
            "PATCH",
            &format!("/_sim/tenants/{}/directory", env.tenant),
            Some(patch)
        )
        .await,
        200
    );
    let (changes, delta_link3, pages) = walk(&env, &t, &delta_link2).await;
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(
        changes
            .iter()
            .any(|c| c["@removed"]["reason"] == "changed" && c["id"] == json!(victim))
    );
    assert!(changes.iter().any(|c| c["displayName"] == "New Person"));
    assert_shape(
        &fixture("graph-users-delta-final.json"),
        pages.last().expect("page"),
    );

    // $deltatoken=latest: no data, just a link.
    let latest = env
        .graph("GET", "/users/delta?$deltatoken=latest", &t, None)
        .await;
    assert!(latest.body["value"].as_array().expect("v").is_empty());
    assert!(
        latest.body["@odata.deltaLink"]
            .as_str()
            .expect("d")
            .contains("$deltatoken=")
    );

    // Tokens die after 7 simulated days.
    env.sim.advance_clock(8.0 * 86400.0);
    let t = env.token(GRAPH).await;
    let gone = env.graph("GET", &delta_link3, &t, None).await;
    assert_eq!(gone.status, 400);
    assert_eq!(gone.body["error"]["code"], "syncStateNotFound");
    assert_shape(&fixture("graph-error.json"), &gone.body);
    // Unsupported options are refused.
    assert_eq!(
        env.graph("GET", "/users/delta?$top=5", &t, None).await.status,
        400
    );
}

#[tokio::test]
async fn groups_delta_reports_member_changes() {
    let env = Env::new(json!({"users": 10, "groups": 201})).await;
    let t = env.token(GRAPH).await;
    let (items, link, pages) = walk(&env, &t, "/groups/delta?$select=displayName,description,members").await;
    assert_eq!(items.len(), 201);
    assert_eq!(pages.len(), 2);
    assert_eq!(items[0]["members@delta"].as_array().expect("m").len(), 3);
    assert_shape(&fixture("graph-groups-delta.json"), &pages[0]);
    let gid = items[0]["id"].as_str().expect("gid").to_owned();
    let member = items[0]["members@delta"][0]["id"].as_str().expect("m").to_owned();
    let users = env.graph("GET", "/users?$select=id", &t, None).await.body["value"].clone();
    let newcomer = users[9]["id"].as_str().expect("u").to_owned();
    let add = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{newcomer}")});
    assert_eq!(
        env.graph("POST", &format!("/groups/{gid}/members/$ref"), &t, Some(add))
            .await
            .status,
        204
    );
    assert_eq!(
        env.graph(
            "DELETE",
            &format!("/groups/{gid}/members/{member}/$ref"),
            &t,
            None
        )
        .await
        .status,
        204
    );
    let (changes, _, _) = walk(&env, &t, &link).await;
    assert_eq!(changes.len(), 1);
    let md = changes[0]["members@delta"].as_array().expect("md");
    assert!(
        md.iter()
            .any(|m| m["id"] == json!(newcomer) && m.get("@removed").is_none())
    );
    assert!(
        md.iter()
            .any(|m| m["id"] == json!(member) && m["@removed"]["reason"] == "deleted")
    );
}

/// With `delta_changed_properties_only`, a renamed user's record carries its id and only what
/// changed, as the delta overview allows (`graph-users-delta-partial.json`).
#[tokio::test]
async fn a_rename_may_come_with_only_the_changed_property() {
    let env =
        Env::new(json!({"users": [{"user_principal_name": "bob@contoso.com"}], "domains": ["contoso.com"]}))
            .await;
    let t = env.token(GRAPH).await;
    let latest = env
        .graph(
            "GET",
            "/users/delta?$select=id,userPrincipalName,displayName&$deltatoken=latest",
            &t,
            None,
        )
        .await;
    let link = latest.body["@odata.deltaLink"]
        .as_str()
        .expect("deltaLink")
        .to_owned();
    let settings = json!({"delta_changed_properties_only": true});
    assert_eq!(
        env.admin_status("PATCH", &format!("/_sim/tenants/{}", env.tenant), Some(settings))
            .await,
        200
    );
    let rename = json!({"rename_users": [{"user": "bob@contoso.com", "display_name": "Robert Builder"}]});
    assert_eq!(
        env.admin_status(
            "PATCH",
            &format!("/_sim/tenants/{}/directory", env.tenant),
            Some(rename)
        )
        .await,
        200
    );
    let (changes, _, _) = walk(&env, &t, &link).await;
    let expected = fixture("graph-users-delta-partial.json");
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_shape(&expected["value"][0], &changes[0]);
    let keys: Vec<&String> = changes[0].as_object().expect("record").keys().collect();
    assert_eq!(keys.len(), 2, "only the id and what changed: {keys:?}");
}
