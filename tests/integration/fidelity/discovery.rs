//! Which tenant a domain names, as Entra's OpenID discovery document answers ("OpenID Connect on
//! the Microsoft identity platform": `{login}/{tenant}/v2.0/.well-known/openid-configuration`,
//! the tenant given by id or by any of its domains; m365-sim serves it the same way).

use m365_sim::{SimConfig, Simulator, TenantSpec};
use microsoft::identity::{DiscoveryError, IdentityClient};
use model::{policy::DomainName, retry::RetryPolicy};

#[tokio::test]
async fn a_tenants_domain_resolves_to_its_guid_and_an_unknown_domain_is_named() {
    let sim = Simulator::start(SimConfig::default())
        .await
        .expect("the simulator starts");
    let tenant = sim
        .create_tenant(&TenantSpec {
            domains: vec!["contoso.com".into(), "contoso.eu".into()],
            ..Default::default()
        })
        .expect("tenant");
    let identity = IdentityClient::new(microsoft::http::loopback_client(), RetryPolicy::default());
    let login = sim.base_url();
    for domain in ["contoso.com", "CONTOSO.eu"] {
        let domain: DomainName = domain.parse().expect("a domain");
        let found = identity.tenant_of(&login, &domain).await.expect("the tenant");
        assert_eq!(found.to_string(), tenant, "{domain:?}");
    }
    let unknown: DomainName = "nowhere.example".parse().expect("a domain");
    let err = identity
        .tenant_of(&login, &unknown)
        .await
        .expect_err("no such tenant");
    assert_eq!(
        err,
        DiscoveryError::UnknownDomain {
            domain: "nowhere.example".to_owned()
        }
    );
    assert!(
        err.to_string().contains("nowhere.example") && err.to_string().contains("AADSTS90002"),
        "{err}"
    );
}
