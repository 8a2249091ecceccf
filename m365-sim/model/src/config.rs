//! Start-up configuration of a simulator instance.

use serde::Deserialize;

/// Default client id of the simulated multi-tenant app registration.
pub const DEFAULT_CLIENT_ID: &str = "7c6f3a52-2b1e-4c8a-9d4f-5e0b1a2c3d4e";
/// Default client secret of the simulated app registration.
pub const DEFAULT_CLIENT_SECRET: &str = "m365-sim-client-secret";
/// Display name of the simulated app registration.
pub const DEFAULT_APP_NAME: &str = "m365-inline (simulated)";

/// How a simulator instance behaves. Every field has a default; see [`SimConfig::default`].
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Address to bind. Only loopback addresses are accepted.
    pub listen: String,
    /// Client id (appId) of the multi-tenant app registration the simulator knows.
    pub client_id: String,
    /// Client secret accepted for that app.
    pub client_secret: String,
    /// Display name of the app, shown in service principals and error messages.
    pub app_display_name: String,
    /// PEM of the app registration's certificate, used to check certificate client assertions.
    pub certificate_pem: Option<String>,
    /// Path of a PEM file with that certificate (used when `certificate_pem` is absent).
    pub certificate_path: Option<std::path::PathBuf>,
    /// Seed of every generated id and name: the same seed gives the same tenants, users and ids.
    pub seed: u64,
    /// Lower bound of access-token lifetimes in seconds (Entra: 60 min).
    pub token_lifetime_min_secs: u64,
    /// Upper bound of access-token lifetimes in seconds (Entra: 90 min).
    pub token_lifetime_max_secs: u64,
    /// Refresh-token inactivity lifetime in seconds (Entra: 90 days).
    pub refresh_token_inactivity_secs: u64,
    /// Entra keeps a redeemed refresh token valid; the simulator rejects it unless this is true.
    pub refresh_token_keep_valid: bool,
    /// Default delay before a new Graph group becomes visible to Exchange (`Get-UnifiedGroup`).
    pub group_propagation_secs: u64,
    /// Lifetime of Graph delta and skip tokens in simulated seconds (Entra: 7 days).
    pub delta_token_lifetime_secs: u64,
    /// The app registration's redirect URIs: the admin-consent endpoint answers only to one of
    /// them, exactly (more can be registered at run time, `POST /_sim/app/redirect_uris`).
    pub redirect_uris: Vec<String>,
    /// The app roles the registration requires (its `requiredResourceAccess`): what an admin's
    /// consent to `/.default` grants.
    pub requested_app_roles: Vec<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:0".to_owned(),
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            app_display_name: DEFAULT_APP_NAME.to_owned(),
            certificate_pem: None,
            certificate_path: None,
            seed: 0x6d33_3635,
            token_lifetime_min_secs: 60 * 60,
            token_lifetime_max_secs: 90 * 60,
            refresh_token_inactivity_secs: 90 * 24 * 3600,
            refresh_token_keep_valid: false,
            group_propagation_secs: 0,
            delta_token_lifetime_secs: 7 * 24 * 3600,
            redirect_uris: Vec::new(),
            requested_app_roles: crate::catalog::default_app_roles(),
        }
    }
}
