//! Verify: a read-only check of what a tenant granted the vendor's app, any time. Each permission
//! the manifest requires is proven twice, by the `roles` claim of a token minted for the check
//! (never stored) and by a call that needs it; then the Exchange Administrator role (Exchange
//! answers the app) and other vendors' mail routing that would conflict. The answer is a
//! checklist of items, each ok, missing, or an action for the tenant's admin.

use std::collections::BTreeSet;

use microsoft::{
    exchange::{Cmdlet, ExchangeError, InvokeCommandClient, Kind},
    fields::text,
    graph::{BatchRequest, GraphClient, GraphError},
    identity::{AccessToken, Resource},
};
use model::{
    cloud::Cloud,
    permissions::{Permission, roles},
    service::Service,
    tenant::TenantId,
    vendor::ManagedNames,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{calls::CallError, clients::Microsoft};

/// Where the tenant's admin assigns the role (Microsoft Entra admin center).
pub const ROLE_PORTAL_PATH: &str =
    "Microsoft Entra admin center > Roles & admins > Exchange Administrator > Add assignments";

/// The check's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checklist {
    /// The tenant checked.
    pub tenant_id: TenantId,
    /// Every item is ok.
    pub ok: bool,
    /// What was checked, in order.
    pub items: Vec<Item>,
}

/// One checked thing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// What: `consent`, `permission <name>`, `exchange_administrator`, `mail_routing`.
    pub name: String,
    /// Its state.
    pub status: Status,
    /// What was seen, or what to do.
    pub detail: String,
}

/// An item's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// As needed.
    Ok,
    /// Not granted: the admin grants admin consent again.
    Missing,
    /// The tenant's admin has something to do (the detail says what and where).
    Action,
}

impl Checklist {
    fn new(tenant_id: TenantId, items: Vec<Item>) -> Self {
        Self {
            tenant_id,
            ok: items.iter().all(|i| i.status == Status::Ok),
            items,
        }
    }

    /// Whether the grant itself holds (consent and every permission); the admin's actions (the
    /// role, a conflict) are what provisioning waits for or reports.
    pub fn grant_holds(&self) -> bool {
        self.items.iter().all(|i| i.status != Status::Missing)
    }

    /// Points every missing item to `reconsent`, the link that grants it again.
    pub fn point_to(&mut self, reconsent: &str) {
        for item in self.items.iter_mut().filter(|i| i.status == Status::Missing) {
            item.detail.push_str(&format!(" with this link: {reconsent}"));
        }
    }

    /// The names of what is missing.
    pub fn missing(&self) -> Vec<&str> {
        self.items
            .iter()
            .filter(|i| i.status == Status::Missing)
            .map(|i| i.name.as_str())
            .collect()
    }
}

impl Item {
    fn new(name: impl Into<String>, status: Status, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            status,
            detail: detail.into(),
        }
    }
}

/// The permissions the manifest requires of a tenant protecting `services`: the default set,
/// a service's own only when that service is asked for. Preflight checks the same set.
pub fn required(services: &[Service]) -> Vec<&'static Permission> {
    model::permissions::all()
        .iter()
        .filter(|p| p.default)
        .filter(|p| {
            p.service
                .as_deref()
                .is_none_or(|code| services.iter().any(|s| s.code() == code))
        })
        .collect()
}

/// Of `wanted`, those `granted` does not hold (matched by name or by app role id).
pub fn lacking<'p>(wanted: &[&'p Permission], granted: &[&str]) -> Vec<&'p Permission> {
    wanted
        .iter()
        .filter(|p| {
            !granted
                .iter()
                .any(|g| g.eq_ignore_ascii_case(&p.name) || g.eq_ignore_ascii_case(&p.id))
        })
        .copied()
        .collect()
}

/// The listings that show mail routing: connectors (their smart hosts) and transport rules (a
/// rule routing to a connector).
pub const MAIL_ROUTING: [&str; 3] = [
    "Get-InboundConnector",
    "Get-OutboundConnector",
    "Get-TransportRule",
];

/// Of the objects the [`MAIL_ROUTING`] listings answered, the names of those that route mail and
/// are not ours: another vendor's, which would conflict with ours.
pub fn foreign_mail_routing<'v>(
    objects: impl IntoIterator<Item = &'v Value>,
    names: &ManagedNames,
) -> Vec<String> {
    let ours: BTreeSet<&str> = names
        .rules()
        .into_iter()
        .chain([
            names.outbound_incoming.as_str(),
            names.outbound_outgoing.as_str(),
            names.inbound_incoming.as_str(),
            names.inbound_outgoing.as_str(),
        ])
        .collect();
    objects
        .into_iter()
        .filter(|object| {
            object
                .get("SmartHosts")
                .is_some_and(|h| h.as_array().is_some_and(|a| !a.is_empty()))
                || object
                    .get("RouteMessageOutboundConnector")
                    .is_some_and(|r| !r.is_null())
        })
        .map(|object| {
            text(object, "Name")
                .or_else(|| text(object, "Identity"))
                .unwrap_or_default()
        })
        .filter(|name| !ours.contains(name))
        .map(str::to_owned)
        .collect()
}

/// Other vendors' mail routing in the tenant, read with the [`MAIL_ROUTING`] listings in one
/// Exchange `$batch`.
pub async fn mail_routing(
    exchange: &InvokeCommandClient,
    names: &ManagedNames,
) -> Result<Vec<String>, ExchangeError> {
    let mut objects = Vec::new();
    for listing in exchange.invoke_batch(&MAIL_ROUTING.map(Cmdlet::new)).await? {
        objects.extend(listing?);
    }
    Ok(foreign_mail_routing(&objects, names))
}

/// Checks `tenant_id`'s grant for `services`. Only reads: the tokens minted for it are not
/// stored, nothing in the tenant changes.
pub async fn verify(
    ms: &Microsoft,
    names: &ManagedNames,
    tenant_id: TenantId,
    cloud: Cloud,
    services: &[Service],
) -> Result<Checklist, CallError> {
    let again = "the tenant's admin grants admin consent again";
    let graph_token = match ms.tokens.probe(tenant_id, cloud, Resource::Graph).await {
        Ok(token) => token,
        Err(err) if err.needs_reconsent() => {
            let item = Item::new(
                "consent",
                Status::Missing,
                format!("Entra ID issues the app no token in this tenant ({err}); {again}"),
            );
            return Ok(Checklist::new(tenant_id, vec![item]));
        }
        Err(err) => return Err(err.into()),
    };
    let endpoints = ms.overrides.apply(cloud);
    let graph = GraphClient::new(
        ms.http.clone(),
        &endpoints.graph,
        graph_token.token.clone(),
        ms.retry,
    );
    let app = ms.tokens.app(cloud).await?;
    let mut items = vec![Item::new(
        "consent",
        Status::Ok,
        format!("the app {} has a token in this tenant", app.client_id),
    )];
    let exchange_token = ms.tokens.probe(tenant_id, cloud, Resource::Exchange).await?;
    let exchange = InvokeCommandClient::new(
        ms.http.clone(),
        &endpoints.exchange,
        tenant_id,
        exchange_token.token.clone(),
        ms.retry,
    );
    let proofs = Proofs::read(&graph, &exchange, &app.client_id, services).await?;
    for permission in required(services) {
        let token = match permission.resource.as_str() {
            "exchange" => &exchange_token,
            _ => &graph_token,
        };
        items.push(permission_item(permission, token, &proofs, again));
    }
    let granted = items.iter().all(|i| i.status == Status::Ok);
    items.push(exchange_role(&proofs, granted));
    if let ExchangeAnswer::Accepts(routing) = &proofs.exchange {
        let foreign = foreign_mail_routing(routing, names);
        items.push(if foreign.is_empty() {
            Item::new(
                "mail_routing",
                Status::Ok,
                "no other vendor's connectors or rules route mail",
            )
        } else {
            Item::new(
                "mail_routing",
                Status::Action,
                format!(
                    "other mail routing would conflict with ours: {} (Exchange admin center > Mail flow > \
                     Connectors and Rules: disable or remove them before provisioning)",
                    foreign.join(", ")
                ),
            )
        });
    }
    Ok(Checklist::new(tenant_id, items))
}

/// How Exchange answered the app's first cmdlet.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ExchangeAnswer {
    /// It ran: the permission and the role hold. With the objects the [`MAIL_ROUTING`]
    /// listings answered.
    Accepts(Vec<Value>),
    /// The app holds no Exchange role (the permission may still be granted).
    RoleMissing,
    /// The token was refused.
    Refused(String),
}

/// The answers of the calls that prove the permissions, each made once: two Graph `$batch`es
/// (the second needs the first's answers) and, beside them, one Exchange `$batch`.
struct Proofs {
    /// The app's service principal (`Application.Read.All`), when readable.
    principal: Result<Value, GraphError>,
    /// `GET` path -> the call's answer, for the permissions a read proves.
    reads: Vec<(String, Result<Value, GraphError>)>,
    /// Exchange's answer to `Get-AcceptedDomain`.
    exchange: ExchangeAnswer,
    /// Whether Entra lists the app as Exchange Administrator (`None`: the listing was refused).
    role_listed: Option<bool>,
}

/// The read that proves each Graph permission: it fails without it.
fn proving_read(permission: &str) -> Option<&'static str> {
    Some(match permission {
        "Organization.Read.All" => "/organization?$select=id",
        "Domain.Read.All" => "/domains?$select=id",
        "User.Read.All" => "/users?$top=1&$select=id",
        // Writes are not tried: the read of the same objects and the claim prove the grant.
        "Group.ReadWrite.All" | "GroupMember.ReadWrite.All" => "/groups?$top=1&$select=id",
        "Sites.Read.All" => "/sites/root?$select=id",
        _ => return None,
    })
}

/// The keys of the reads that are not a permission's [`proving_read`].
const PRINCIPAL: &str = "principal";
const DRIVE: &str = "drive";
const ROLES: &str = "roles";

impl Proofs {
    async fn read(
        graph: &GraphClient,
        exchange: &InvokeCommandClient,
        client_id: &str,
        services: &[Service],
    ) -> Result<Self, CallError> {
        // Exchange's answers need none of Graph's: both surfaces are asked at once.
        let ((principal, reads, role_listed), exchange) = futures_util::future::try_join(
            graph_proofs(graph, client_id, services),
            exchange_answer(exchange),
        )
        .await?;
        Ok(Self {
            principal,
            reads,
            exchange,
            role_listed,
        })
    }

    fn read_of(&self, path: &str) -> Option<&Result<Value, GraphError>> {
        self.reads.iter().find(|(p, _)| p == path).map(|(_, r)| r)
    }
}

/// What Graph answers for the proofs: the service principal, the reads by key, and whether the
/// principal's role assignments list Exchange Administrator. Two `$batch`es: the second (a
/// user's drive, the role assignments) needs the first's answers.
async fn graph_proofs(
    graph: &GraphClient,
    client_id: &str,
    services: &[Service],
) -> Result<GraphProofs, CallError> {
    let mut first: Vec<(String, String)> = Vec::new();
    for permission in required(services) {
        if let Some(path) = proving_read(&permission.name)
            && first.iter().all(|(key, _)| key != path)
        {
            first.push((path.to_owned(), path.to_owned()));
        }
    }
    first.push((
        PRINCIPAL.to_owned(),
        format!("/servicePrincipals(appId='{client_id}')?$select=id,displayName"),
    ));
    let mut reads = read_all(graph, first).await?;
    let principal = take(&mut reads, PRINCIPAL).unwrap_or(Ok(Value::Null));

    // What needs the first answers: OneDrive's grant is proven on a user's drive (a user
    // without a licence has none: 404), the role on the principal's assignments.
    let mut second = Vec::new();
    let user = reads
        .iter()
        .find(|(p, _)| p.starts_with("/users?"))
        .and_then(|(_, r)| r.as_ref().ok())
        .and_then(|users| users["value"][0]["id"].as_str());
    if let (true, Some(user)) = (services.contains(&Service::Onedrive), user) {
        second.push((DRIVE.to_owned(), format!("/users/{user}/drive?$select=id")));
    }
    if let Some(sp) = principal.as_ref().ok().and_then(|sp| text(sp, "id")) {
        second.push((
            ROLES.to_owned(),
            format!(
                "/roleManagement/directory/roleAssignments?$filter=principalId%20eq%20'{sp}'&$select=id,roleDefinitionId"
            ),
        ));
    }
    reads.extend(read_all(graph, second).await?);
    let role_listed = reads
        .iter()
        .find(|(key, _)| key == ROLES)
        .and_then(|(_, listed)| listed.as_ref().ok())
        .map(|listed| {
            listed["value"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| a["roleDefinitionId"].as_str() == Some(roles::EXCHANGE_ADMINISTRATOR))
        });
    Ok((principal, reads, role_listed))
}

/// The service principal, the reads by key, and whether the role is listed.
type GraphProofs = (
    Result<Value, GraphError>,
    Vec<(String, Result<Value, GraphError>)>,
    Option<bool>,
);

/// `Get-AcceptedDomain` and the [`MAIL_ROUTING`] listings in one Exchange `$batch`: the first
/// answer says whether Exchange accepts the app, the others what routes mail.
async fn exchange_answer(exchange: &InvokeCommandClient) -> Result<ExchangeAnswer, CallError> {
    let cmdlets: Vec<Cmdlet> = std::iter::once("Get-AcceptedDomain")
        .chain(MAIL_ROUTING)
        .map(Cmdlet::new)
        .collect();
    let classify = |err: ExchangeError| match err {
        err if err.kind() == Some(Kind::RoleMissing) => Ok(ExchangeAnswer::RoleMissing),
        err if err.token_refused() => Ok(ExchangeAnswer::Refused(err.to_string())),
        err => Err(CallError::from(err)),
    };
    let mut answers = match exchange.invoke_batch(&cmdlets).await {
        Ok(answers) => answers.into_iter(),
        Err(err) => return classify(err),
    };
    if let Some(Err(err)) = answers.next() {
        return classify(err);
    }
    let mut routing = Vec::new();
    for listing in answers {
        routing.extend(listing?);
    }
    Ok(ExchangeAnswer::Accepts(routing))
}

/// Reads `(key, path)` in one Graph `$batch` (none for no reads); answers `(key, answer)`.
/// A refusal (401, 403, 404) is an answer the check reports; anything else (throttling past the
/// retries, a transport fault) fails the check, to be tried again.
async fn read_all(
    graph: &GraphClient,
    reads: Vec<(String, String)>,
) -> Result<Vec<(String, Result<Value, GraphError>)>, CallError> {
    if reads.is_empty() {
        return Ok(Vec::new());
    }
    let requests: Vec<BatchRequest> = reads
        .iter()
        .enumerate()
        .map(|(i, (_, path))| BatchRequest::new(i.to_string(), "GET", path.as_str()))
        .collect();
    let answers: Vec<Result<Value, GraphError>> = match graph.batch(&requests).await {
        Ok(answers) => answers
            .into_iter()
            .zip(&requests)
            .map(|(answer, request)| match answer.error("GET", &request.url) {
                Some(err) => Err(err),
                None => Ok(answer.body.unwrap_or(Value::Null)),
            })
            .collect(),
        // The batch itself refused: every read in it is.
        Err(err) if matches!(err.status(), Some(401 | 403)) => {
            requests.iter().map(|_| Err(err.clone())).collect()
        }
        Err(err) => return Err(err.into()),
    };
    reads
        .into_iter()
        .zip(answers)
        .map(|((key, _), answer)| match answer {
            Err(err) if !matches!(err.status(), Some(401 | 403 | 404)) => Err(err.into()),
            answer => Ok((key, answer)),
        })
        .collect()
}

/// Removes and answers the read under `key`.
fn take(
    reads: &mut Vec<(String, Result<Value, GraphError>)>,
    key: &str,
) -> Option<Result<Value, GraphError>> {
    let index = reads.iter().position(|(k, _)| k == key)?;
    Some(reads.remove(index).1)
}

fn permission_item(permission: &Permission, token: &AccessToken, proofs: &Proofs, again: &str) -> Item {
    let name = format!("permission {}", permission.name);
    // A token that is no readable JWT (Microsoft calls access tokens opaque to clients) proves
    // nothing by its claim: the call decides.
    let roles = token.granted_roles();
    let claimed: Vec<&str> = roles.iter().flatten().map(String::as_str).collect();
    if roles.is_some() && !lacking(&[permission], &claimed).is_empty() {
        return Item::new(
            name,
            Status::Missing,
            format!(
                "not in the token's roles: {} is not granted; {again}",
                permission.name
            ),
        );
    }
    let surface = if permission.resource == "exchange" {
        "Exchange"
    } else {
        "Graph"
    };
    let refused = |err: &dyn std::fmt::Display| {
        Item::new(
            &name,
            Status::Missing,
            format!("in the token's roles, but {surface} refused the call that needs it ({err}); {again}"),
        )
    };
    let graph_refusal = |key: &str| {
        proofs
            .read_of(key)
            .and_then(|read| read.as_ref().err())
            // A tenant without a root site or a user without a drive answers 404 to a granted read.
            .filter(|err| !err.is_not_found())
            .map(|err| refused(err))
    };
    let proof = match permission.name.as_str() {
        "Application.Read.All" => proofs.principal.as_ref().err().map(|e| refused(e)),
        "RoleManagement.Read.Directory" => graph_refusal(ROLES),
        "Files.Read.All" => graph_refusal(DRIVE),
        // Without the role Exchange refuses the app; the permission itself is in the claim.
        "Exchange.ManageAsApp" => match &proofs.exchange {
            ExchangeAnswer::Refused(err) => Some(refused(err)),
            ExchangeAnswer::Accepts(_) | ExchangeAnswer::RoleMissing => None,
        },
        other => proving_read(other).and_then(graph_refusal),
    };
    proof.unwrap_or_else(|| Item::new(&name, Status::Ok, format!("granted ({})", permission.why)))
}

/// The Exchange Administrator role: Exchange answers the app only with it.
fn exchange_role(proofs: &Proofs, granted: bool) -> Item {
    let name = "exchange_administrator";
    let app = proofs
        .principal
        .as_ref()
        .ok()
        .and_then(|sp| text(sp, "displayName"))
        .unwrap_or("the vendor's app");
    match (&proofs.exchange, proofs.role_listed) {
        (ExchangeAnswer::Accepts(_), _) => Item::new(
            name,
            Status::Ok,
            "Exchange accepts the app: it holds the Exchange Administrator role",
        ),
        (_, Some(true)) => Item::new(
            name,
            Status::Action,
            "assigned in Entra ID, not yet seen by Exchange (it can take a while): verify again later",
        ),
        _ if !granted => Item::new(
            name,
            Status::Action,
            "Exchange refuses the app: grant the missing permissions first, then assign the role",
        ),
        _ => Item::new(
            name,
            Status::Action,
            format!(
                "Exchange refuses the app until it holds the Exchange Administrator role: {ROLE_PORTAL_PATH} > \
                 select \"{app}\" (provisioning waits for it)"
            ),
        ),
    }
}
