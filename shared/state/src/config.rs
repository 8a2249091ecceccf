//! Typed configuration from the environment: where the AWS adapters find their resources.

use model::{
    cloud::Cloud,
    config::{ConfigError, Source, http_url, optional, required},
};

/// Where the state lives: the DynamoDB table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// `TABLE_NAME`: the single state table.
    pub table_name: String,
}

impl StoreConfig {
    /// Reads `TABLE_NAME`.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let table_name = required(source, "TABLE_NAME", "set it to the state table's name")?;
        let valid = (3..=255).contains(&table_name.len()) && only(&table_name, "_.-");
        if !valid {
            return Err(ConfigError::Invalid {
                name: "TABLE_NAME",
                reason: format!("{table_name:?} is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)"),
            });
        }
        Ok(Self { table_name })
    }
}

/// Where tokens and the app's credentials live: Secrets Manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultConfig {
    /// `SECRET_PREFIX`: tenant secrets are named `{prefix}/tenants/{tenant_id}`.
    pub secret_prefix: String,
    /// `APP_SECRET_ID`: name or ARN of the secret holding the app's client id and credential
    /// (the app registration of the commercial cloud).
    pub app_secret_id: String,
    /// `APP_SECRET_ID_GCC_HIGH`, `APP_SECRET_ID_DOD`, `APP_SECRET_ID_CHINA`: each national cloud's
    /// own app registration; a cloud without one takes no tenant.
    pub national_app_secret_ids: Vec<(Cloud, String)>,
    /// `SECRETS_KMS_KEY_ID` (optional): the KMS key that encrypts the tenant secrets.
    pub kms_key_id: Option<String>,
    /// `APP_CREDENTIAL_KIND`: which credential the app-credentials secrets hold.
    pub credential_kind: CredentialKind,
}

/// The variable of each national cloud's app-credentials secret.
const NATIONAL_APP_SECRETS: [(Cloud, &str); 3] = [
    (Cloud::GccHigh, "APP_SECRET_ID_GCC_HIGH"),
    (Cloud::Dod, "APP_SECRET_ID_DOD"),
    (Cloud::China, "APP_SECRET_ID_CHINA"),
];

/// Which credential the app proves itself with (`APP_CREDENTIAL_KIND`, template parameter
/// `AppCredentialKind`). A certificate is the default; a client secret must be asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialKind {
    /// `kms-certificate` (default): a certificate whose RSA key is the KMS key `APP_SIGNING_KEY_ID`,
    /// which signs each client assertion with `kms:Sign`; the key never enters Lambda memory.
    KmsCertificate {
        /// `APP_SIGNING_KEY_ID`: the asymmetric (RSA, SIGN_VERIFY) KMS key's id or ARN.
        key_id: String,
    },
    /// `certificate`: a certificate with its private key in the secret (`private_key_pem`).
    Certificate,
    /// `client-secret`: a client secret (`client_secret`).
    ClientSecret,
}

impl CredentialKind {
    /// Reads `APP_CREDENTIAL_KIND` (default `kms-certificate`) and, for it, `APP_SIGNING_KEY_ID`.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        match optional(source, "APP_CREDENTIAL_KIND").as_deref() {
            None | Some("kms-certificate") => Ok(Self::KmsCertificate {
                key_id: required(
                    source,
                    "APP_SIGNING_KEY_ID",
                    "set it to the app's KMS signing key (the stack's AppSigningKey), or choose another APP_CREDENTIAL_KIND",
                )?,
            }),
            Some("certificate") => Ok(Self::Certificate),
            Some("client-secret") => Ok(Self::ClientSecret),
            Some(other) => Err(ConfigError::Invalid {
                name: "APP_CREDENTIAL_KIND",
                reason: format!("{other:?} is none of kms-certificate, certificate, client-secret"),
            }),
        }
    }

    /// The parameter's value, as an operator writes it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::KmsCertificate { .. } => "kms-certificate",
            Self::Certificate => "certificate",
            Self::ClientSecret => "client-secret",
        }
    }
}

impl VaultConfig {
    /// Reads `SECRET_PREFIX`, `APP_SECRET_ID` (and the national clouds'), `SECRETS_KMS_KEY_ID` and
    /// the credential kind.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let secret_prefix = required(
            source,
            "SECRET_PREFIX",
            "set it to the tenant secrets' name prefix, e.g. m365-inline",
        )?;
        let valid = !secret_prefix.ends_with('/')
            && !secret_prefix.starts_with('/')
            && only(&secret_prefix, "/_+=.@-");
        if !valid {
            return Err(ConfigError::Invalid {
                name: "SECRET_PREFIX",
                reason: format!(
                    "{secret_prefix:?} is not a secret name prefix (A-Z a-z 0-9 / _ + = . @ -, no leading or trailing /)"
                ),
            });
        }
        let app_secret_id = required(
            source,
            "APP_SECRET_ID",
            "set it to the name or ARN of the app-credentials secret",
        )?;
        let national: Vec<(Cloud, &'static str, String)> = NATIONAL_APP_SECRETS
            .iter()
            .filter_map(|&(cloud, name)| optional(source, name).map(|id| (cloud, name, id)))
            .collect();
        // The functions may write and delete the tenant secrets: an app secret among them could be
        // overwritten or deleted by any of them.
        let tenant_secrets = format!("{secret_prefix}/tenants/");
        let all_app_secrets = std::iter::once(("APP_SECRET_ID", &app_secret_id))
            .chain(national.iter().map(|(_, name, id)| (*name, id)));
        for (name, id) in all_app_secrets {
            if id.starts_with(&tenant_secrets) || id.contains(&format!(":secret:{tenant_secrets}")) {
                return Err(ConfigError::Invalid {
                    name,
                    reason: format!(
                        "{id:?} lies among the tenant secrets ({tenant_secrets}*): name the app secret outside them"
                    ),
                });
            }
        }
        let kms_key_id = optional(source, "SECRETS_KMS_KEY_ID");
        let credential_kind = CredentialKind::from_source(source)?;
        Ok(Self {
            secret_prefix,
            app_secret_id,
            national_app_secret_ids: national.into_iter().map(|(cloud, _, id)| (cloud, id)).collect(),
            kms_key_id,
            credential_kind,
        })
    }

    /// The app-credentials secret of `cloud`'s app registration, if this deployment has one.
    pub fn app_secret_for(&self, cloud: Cloud) -> Option<&str> {
        match cloud {
            Cloud::Commercial => Some(self.app_secret_id.as_str()),
            national => self
                .national_app_secret_ids
                .iter()
                .find(|(c, _)| *c == national)
                .map(|(_, id)| id.as_str()),
        }
    }
}

/// `SYNC_QUEUE_URL`: per-tenant daily sync work, consumed by `sync-worker`.
pub fn sync_queue_url(source: &impl Source) -> Result<String, ConfigError> {
    queue_url(source, "SYNC_QUEUE_URL")
}

/// `PROVISION_QUEUE_URL`: the task-continuation queue (every kind of task's continuations,
/// consumed by `provision`).
pub fn continuation_queue_url(source: &impl Source) -> Result<String, ConfigError> {
    queue_url(source, "PROVISION_QUEUE_URL")
}

/// `EVENT_BUS_NAME`: the EventBridge bus the lifecycle notices go to.
pub fn event_bus_name(source: &impl Source) -> Result<String, ConfigError> {
    let name = required(
        source,
        "EVENT_BUS_NAME",
        "set it to the stack's LifecycleEventBus name",
    )?;
    // EventBridge takes a bus's name or its ARN.
    let valid = name.starts_with("arn:") || ((1..=256).contains(&name.len()) && only(&name, "/._-"));
    if !valid {
        return Err(ConfigError::Invalid {
            name: "EVENT_BUS_NAME",
            reason: format!("{name:?} is not an event bus name (1-256 of A-Z a-z 0-9 / . _ -) or ARN"),
        });
    }
    Ok(name)
}

fn queue_url(source: &impl Source, name: &'static str) -> Result<String, ConfigError> {
    http_url(source, name)?.ok_or(ConfigError::Missing {
        name,
        hint: "set it to the queue's URL",
    })
}

/// Whether `value` holds only ASCII letters, digits and the characters of `also`.
fn only(value: &str, also: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || also.contains(c))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn missing_and_malformed_variables_are_named() {
        let cases: Vec<(Result<(), ConfigError>, &str)> = vec![
            (
                StoreConfig::from_source(&env(&[])).map(drop),
                "TABLE_NAME is not set",
            ),
            (
                StoreConfig::from_source(&env(&[("TABLE_NAME", "  ")])).map(drop),
                "TABLE_NAME is not set",
            ),
            (
                StoreConfig::from_source(&env(&[("TABLE_NAME", "a b")])).map(drop),
                "TABLE_NAME is invalid",
            ),
            (
                VaultConfig::from_source(&env(&[("APP_SECRET_ID", "x")])).map(drop),
                "SECRET_PREFIX is not set",
            ),
            (
                VaultConfig::from_source(&env(&[("SECRET_PREFIX", "p/"), ("APP_SECRET_ID", "x")])).map(drop),
                "SECRET_PREFIX is invalid",
            ),
            (
                VaultConfig::from_source(&env(&[("SECRET_PREFIX", "p")])).map(drop),
                "APP_SECRET_ID is not set",
            ),
            (
                continuation_queue_url(&env(&[("SYNC_QUEUE_URL", "http://q/1")])).map(drop),
                "PROVISION_QUEUE_URL is not set",
            ),
            (
                sync_queue_url(&env(&[
                    ("SYNC_QUEUE_URL", "queue-1"),
                    ("PROVISION_QUEUE_URL", "x"),
                ]))
                .map(drop),
                "SYNC_QUEUE_URL is invalid",
            ),
            (event_bus_name(&env(&[])).map(drop), "EVENT_BUS_NAME is not set"),
            (
                event_bus_name(&env(&[("EVENT_BUS_NAME", "my bus")])).map(drop),
                "EVENT_BUS_NAME is invalid",
            ),
        ];
        let vault = |pairs: &[(&'static str, &'static str)]| {
            let mut all = vec![("SECRET_PREFIX", "p"), ("APP_SECRET_ID", "x")];
            all.extend_from_slice(pairs);
            VaultConfig::from_source(&env(&all)).map(drop)
        };
        let cases = cases.into_iter().chain([
            (vault(&[]), "APP_SIGNING_KEY_ID is not set"),
            (
                vault(&[("APP_CREDENTIAL_KIND", "kms-certificate")]),
                "APP_SIGNING_KEY_ID is not set",
            ),
            (
                vault(&[("APP_CREDENTIAL_KIND", "secret")]),
                "APP_CREDENTIAL_KIND is invalid",
            ),
            (
                VaultConfig::from_source(&env(&[
                    ("SECRET_PREFIX", "p"),
                    ("APP_SECRET_ID", "p/tenants/app"),
                ]))
                .map(drop),
                "APP_SECRET_ID is invalid",
            ),
            (
                vault(&[
                    ("APP_CREDENTIAL_KIND", "client-secret"),
                    (
                        "APP_SECRET_ID_DOD",
                        "arn:aws:secretsmanager:us-east-1:1:secret:p/tenants/x",
                    ),
                ]),
                "APP_SECRET_ID_DOD is invalid",
            ),
        ]);
        for (result, expected) in cases {
            let err = result.expect_err(expected).to_string();
            assert!(err.contains(expected), "{err:?} should contain {expected:?}");
        }
    }

    #[test]
    fn valid_configuration_is_read_and_trimmed() {
        let source = env(&[
            ("TABLE_NAME", "m365-inline-state"),
            ("SECRET_PREFIX", "m365-inline/dev"),
            ("APP_SECRET_ID", "m365-inline/app"),
            ("APP_SIGNING_KEY_ID", " alias/m365-inline-app "),
            ("SYNC_QUEUE_URL", "http://127.0.0.1:5000/123/sync"),
            ("PROVISION_QUEUE_URL", "http://127.0.0.1:5000/123/provision"),
        ]);
        assert_eq!(
            StoreConfig::from_source(&source).expect("store").table_name,
            "m365-inline-state"
        );
        let vault = VaultConfig::from_source(&source).expect("vault");
        assert_eq!(
            (vault.secret_prefix.as_str(), vault.kms_key_id),
            ("m365-inline/dev", None)
        );
        assert_eq!(
            vault.credential_kind,
            CredentialKind::KmsCertificate {
                key_id: "alias/m365-inline-app".to_owned()
            },
            "a KMS-held certificate unless told otherwise"
        );
        for (kind, want) in [
            ("certificate", CredentialKind::Certificate),
            ("client-secret", CredentialKind::ClientSecret),
        ] {
            let source = env(&[("APP_CREDENTIAL_KIND", kind)]);
            assert_eq!(CredentialKind::from_source(&source), Ok(want.clone()));
            assert_eq!(want.name(), kind);
        }
        assert_eq!(
            (sync_queue_url(&source), continuation_queue_url(&source)),
            (
                Ok("http://127.0.0.1:5000/123/sync".to_owned()),
                Ok("http://127.0.0.1:5000/123/provision".to_owned())
            )
        );
    }
}
