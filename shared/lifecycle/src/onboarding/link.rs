//! The admin-consent URL, as "Admin consent on the Microsoft identity platform" documents it.

use model::{cloud::Cloud, tenant::TenantId};

/// `{login}/{tenant}/v2.0/adminconsent?client_id=&scope=&redirect_uri=&state=`. The scope is
/// Graph's `/.default` of the tenant's cloud: Entra then asks for every permission the app
/// registration requires, application permissions of Exchange Online included.
pub fn admin_consent_url(
    login: &str,
    cloud: Cloud,
    tenant_id: TenantId,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
) -> String {
    let (graph_default, _) = cloud.scopes();
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client_id)
        .append_pair("scope", &graph_default)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state)
        .finish();
    format!("{login}/{tenant_id}/v2.0/adminconsent?{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_carries_the_documented_parameters_encoded() {
        let tenant: TenantId = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490".parse().expect("tenant");
        let url = admin_consent_url(
            "https://login.microsoftonline.us",
            Cloud::GccHigh,
            tenant,
            "00001111-aaaa-2222-bbbb-3333cccc4444",
            "https://vendor.example/consent/callback",
            "a.b",
        );
        let (base, query) = url.split_once('?').expect("a query");
        assert_eq!(
            base,
            format!("https://login.microsoftonline.us/{tenant}/v2.0/adminconsent")
        );
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        assert_eq!(
            pairs,
            [
                ("client_id", "00001111-aaaa-2222-bbbb-3333cccc4444"),
                ("scope", "https://graph.microsoft.us/.default"),
                ("redirect_uri", "https://vendor.example/consent/callback"),
                ("state", "a.b"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }
}
