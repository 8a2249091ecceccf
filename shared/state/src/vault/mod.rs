//! The token vault: one Secrets Manager secret per tenant, plus the app's own credentials.
//!
//! Tenant secrets are named `{prefix}/tenants/{tenant_id}` and tagged with the tenant and site.
//! Values are held in `secrecy` types so they cannot be printed by accident.

mod credentials;
mod error;
mod tokens;

use aws_sdk_secretsmanager::{Client, error::ProvideErrorMetadata, types::Tag};
use microsoft::identity::AppCredentials;
use model::{
    cloud::Cloud,
    config::{ConfigError, Source},
    sites::Site,
    tenant::TenantId,
};
use serde::de::DeserializeOwned;

use self::error::{describe_json_error, from_sdk};
pub use self::{error::VaultError, tokens::TenantTokens};
use crate::{
    config::{CredentialKind, VaultConfig},
    signing::KmsKey,
};

/// The staging label of a version written but not yet made current.
const STAGED: &str = "M365INLINE_STAGED";

/// Result of a vault operation.
pub type Result<T, E = VaultError> = std::result::Result<T, E>;

/// A tenant's tokens with the secret version they were read from.
#[derive(Debug, Clone)]
pub struct StoredTokens {
    /// The tokens.
    pub tokens: TenantTokens,
    /// The Secrets Manager version id that held them.
    pub version_id: String,
}

/// Handle on the tenants' secrets and the app-credentials secret.
#[derive(Debug, Clone)]
pub struct Vault {
    client: Client,
    /// The app's certificate key, when it is in KMS (`kms-certificate`): it signs the assertions.
    signing_key: Option<std::sync::Arc<KmsKey>>,
    config: VaultConfig,
}

impl Vault {
    /// A vault through the shared SDK configuration, configured by `config`.
    pub fn new(sdk: &aws_config::SdkConfig, config: &VaultConfig) -> Self {
        Self {
            client: Client::new(sdk),
            signing_key: match &config.credential_kind {
                CredentialKind::KmsCertificate { key_id } => Some(std::sync::Arc::new(KmsKey::new(
                    aws_sdk_kms::Client::new(sdk),
                    key_id,
                ))),
                CredentialKind::Certificate | CredentialKind::ClientSecret => None,
            },
            config: config.clone(),
        }
    }

    /// The vault of `source` ([`VaultConfig::from_source`]), through the shared SDK configuration.
    pub fn from_source(sdk: &aws_config::SdkConfig, source: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self::new(sdk, &VaultConfig::from_source(source)?))
    }

    /// The name of the tenant's secret.
    pub fn tenant_secret_name(&self, tenant_id: TenantId) -> String {
        format!("{}/tenants/{tenant_id}", self.config.secret_prefix)
    }

    /// Reads the tenant's tokens; `None` if it has no secret (or it is scheduled for deletion).
    pub async fn read_tokens(&self, tenant_id: TenantId) -> Result<Option<StoredTokens>> {
        let name = self.tenant_secret_name(tenant_id);
        // The stage is named: it is the documented default, and moto only honours it when named.
        let output = match self
            .client
            .get_secret_value()
            .secret_id(&name)
            .version_stage("AWSCURRENT")
            .send()
            .await
        {
            Ok(output) => output,
            Err(err) if is_absent(&err) => return Ok(None),
            Err(err) => return Err(from_sdk("GetSecretValue", &name, err)),
        };
        let tokens = parse_json::<TenantTokens>(&name, output.secret_string().unwrap_or_default())?;
        Ok(Some(StoredTokens {
            tokens,
            version_id: output.version_id.unwrap_or_default(),
        }))
    }

    /// Stores the tenant's tokens, creating its secret (tagged with tenant and site) on first use,
    /// and returns the new version id.
    ///
    /// `read_version` is the version the tokens were derived from (`None` if there was no secret).
    /// When the tokens hold a refresh token the write is conditional on it: the new version is
    /// staged, then made current only if the version read is still current, so two writers
    /// racing can never lose the newest refresh token ([`VaultError::Conflict`] for the loser).
    pub async fn write_tokens(
        &self,
        tenant_id: TenantId,
        site: Site,
        tokens: &TenantTokens,
        read_version: Option<&str>,
    ) -> Result<String> {
        let name = self.tenant_secret_name(tenant_id);
        let value = tokens.to_secret_json().map_err(|_| VaultError::Malformed {
            secret: name.clone(),
            problem: "tokens cannot be encoded".into(),
        })?;
        let conditional = tokens.refresh_token.is_some();
        if conditional && let Some(read) = read_version {
            return self.replace_current(&name, &value, read).await;
        }
        // Put first: after the first write that is the only call. Create when missing. A secret
        // scheduled for deletion is not brought back here: only provisioning does that (`restore`).
        for _ in 0..3 {
            if read_version.is_some() || !conditional {
                match self
                    .client
                    .put_secret_value()
                    .secret_id(&name)
                    .secret_string(&value)
                    .send()
                    .await
                {
                    Ok(output) => return Ok(output.version_id.unwrap_or_default()),
                    Err(err) if err.code() == Some("ResourceNotFoundException") => {}
                    Err(err) => return Err(from_sdk("PutSecretValue", &name, err)),
                }
            }
            let tags = [
                ("tenant", tenant_id.to_string()),
                ("site", site.code().to_owned()),
                ("managed-by", "m365-inline".into()),
            ];
            let created = self
                .client
                .create_secret()
                .name(&name)
                .description("m365-inline: Graph and Exchange Online tokens of one tenant")
                .secret_string(&value)
                .set_kms_key_id(self.config.kms_key_id.clone())
                .set_tags(Some(
                    tags.into_iter()
                        .map(|(k, v)| Tag::builder().key(k).value(v).build())
                        .collect(),
                ))
                .send()
                .await;
            match created {
                Ok(output) => return Ok(output.version_id.unwrap_or_default()),
                // Someone created it meanwhile: with a refresh token, theirs may be newer.
                Err(err) if err.code() == Some("ResourceExistsException") && conditional => {
                    return Err(VaultError::Conflict { secret: name });
                }
                Err(err) if err.code() == Some("ResourceExistsException") => continue,
                Err(err) => return Err(from_sdk("CreateSecret", &name, err)),
            }
        }
        Err(VaultError::Aws {
            operation: "PutSecretValue",
            secret: name,
            message: "the secret kept appearing and disappearing between calls; retry later".to_owned(),
        })
    }

    /// Stages `value`, then moves `AWSCURRENT` to it from `read` (which must still be current).
    async fn replace_current(&self, name: &str, value: &str, read: &str) -> Result<String> {
        let staged = self
            .client
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .version_stages(STAGED)
            .send()
            .await
            .map_err(|err| from_sdk("PutSecretValue", name, err))?;
        let version = staged.version_id.unwrap_or_default();
        let moved = self
            .client
            .update_secret_version_stage()
            .secret_id(name)
            .version_stage("AWSCURRENT")
            .remove_from_version_id(read)
            .move_to_version_id(&version)
            .send()
            .await;
        match moved {
            Ok(_) => Ok(version),
            // AWSCURRENT is no longer on the version read: another writer won.
            Err(err) if err.code() == Some("InvalidParameterException") => Err(VaultError::Conflict {
                secret: name.to_owned(),
            }),
            Err(err) => Err(from_sdk("UpdateSecretVersionStage", name, err)),
        }
    }

    /// Schedules the tenant's secret for deletion after `recovery_days` (7-30); a missing one is fine.
    pub async fn schedule_deletion(&self, tenant_id: TenantId, recovery_days: i64) -> Result<()> {
        let name = self.tenant_secret_name(tenant_id);
        let request = self
            .client
            .delete_secret()
            .secret_id(&name)
            .recovery_window_in_days(recovery_days.clamp(7, 30));
        match request.send().await {
            Ok(_) => Ok(()),
            Err(err) if is_absent(&err) => Ok(()),
            Err(err) => Err(from_sdk("DeleteSecret", &name, err)),
        }
    }

    /// Cancels a scheduled deletion of the tenant's secret (a tenant provisioned again after a
    /// full deprovision); a secret that is missing or not scheduled for deletion is fine.
    pub async fn restore(&self, tenant_id: TenantId) -> Result<()> {
        let name = self.tenant_secret_name(tenant_id);
        match self.client.restore_secret().secret_id(&name).send().await {
            Ok(_) => Ok(()),
            Err(err) if err.code() == Some("ResourceNotFoundException") => Ok(()),
            // Restoring a secret that is not scheduled for deletion is refused; nothing to do then.
            Err(err) if err.code() == Some("InvalidRequestException") && !is_scheduled_for_deletion(&err) => {
                Ok(())
            }
            Err(err) => Err(from_sdk("RestoreSecret", &name, err)),
        }
    }

    /// Whether this deployment holds app credentials for `cloud` (each national cloud has its
    /// own app registration; a credential is never sent to another cloud's login host).
    pub fn has_app_credentials(&self, cloud: Cloud) -> bool {
        self.config.app_secret_for(cloud).is_some()
    }

    /// Reads the client id and credential of `cloud`'s app registration (`APP_SECRET_ID`, or
    /// `APP_SECRET_ID_<CLOUD>` for a national cloud).
    pub async fn app_credentials(&self, cloud: Cloud) -> Result<AppCredentials> {
        let name = &self
            .config
            .app_secret_for(cloud)
            .ok_or(VaultError::NoCloudCredentials { cloud })?
            .to_owned();
        let output = match self.client.get_secret_value().secret_id(name).send().await {
            Ok(output) => output,
            Err(err) if err.code() == Some("ResourceNotFoundException") => {
                return Err(VaultError::AppSecretMissing { secret: name.clone() });
            }
            Err(err) => return Err(from_sdk("GetSecretValue", name, err)),
        };
        let document = parse_json::<credentials::Document>(name, output.secret_string().unwrap_or_default())?;
        document
            .into_credentials(&self.config.credential_kind, self.signing_key.as_ref())
            .map_err(|problem| VaultError::Malformed {
                secret: name.clone(),
                problem,
            })
    }
}

fn parse_json<T: DeserializeOwned>(secret: &str, json: &str) -> Result<T> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| VaultError::Malformed {
        secret: secret.to_owned(),
        problem: describe_json_error(&err),
    })
}

fn is_absent<E: ProvideErrorMetadata>(err: &E) -> bool {
    err.code() == Some("ResourceNotFoundException") || is_scheduled_for_deletion(err)
}

fn is_scheduled_for_deletion<E: ProvideErrorMetadata>(err: &E) -> bool {
    // AWS says "marked for deletion"; moto says "marked deleted".
    err.code() == Some("InvalidRequestException")
        && err
            .message()
            .is_some_and(|m| m.contains("marked") && m.contains("delet"))
}
