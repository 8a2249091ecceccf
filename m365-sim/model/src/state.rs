//! The whole simulator state shared by every request handler.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock},
};

use crate::{
    assertion::AppCertificate,
    clock::SimClock,
    config::SimConfig,
    error::SimError,
    faults::Faults,
    ids::IdGen,
    registration::Registration,
    stats::Stats,
    tenant::{Tenant, TenantSpec},
    token::{Signer, TokenStore},
};

/// A tenant behind its own lock, so requests to different tenants never contend.
pub type TenantRef = Arc<Mutex<Tenant>>;

#[derive(Debug)]
struct Registry {
    by_id: HashMap<String, TenantRef>,
    by_domain: HashMap<String, String>,
    order: Vec<String>,
    ids: IdGen,
}

/// Shared state: configuration, clock, tenants, tokens, faults and counters.
#[derive(Debug)]
pub struct SimState {
    /// Configuration.
    pub config: SimConfig,
    /// Simulated clock.
    pub clock: SimClock,
    /// Request counters.
    pub stats: Stats,
    /// Injected faults.
    pub faults: Faults,
    /// Issued tokens.
    pub tokens: TokenStore,
    /// Token signer.
    pub signer: Signer,
    /// The app registration's certificate, when configured.
    pub certificate: Option<AppCertificate>,
    base_url: OnceLock<String>,
    registry: RwLock<Registry>,
    registration: RwLock<Registration>,
}

impl SimState {
    /// New state from a configuration.
    pub fn new(config: SimConfig) -> Result<Self, SimError> {
        let pem = match (&config.certificate_pem, &config.certificate_path) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(path)) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| SimError::Certificate(format!("{}: {e}", path.display())))?,
            ),
            (None, None) => None,
        };
        let certificate = pem.as_deref().map(AppCertificate::from_pem).transpose()?;
        if config.token_lifetime_min_secs == 0
            || config.token_lifetime_min_secs > config.token_lifetime_max_secs
        {
            return Err(SimError::BadRequest(
                "token lifetime bounds must satisfy 0 < min <= max".into(),
            ));
        }
        let ids = IdGen::new(config.seed, "tenants");
        let registration = RwLock::new(Registration {
            redirect_uris: config.redirect_uris.clone(),
            requested_app_roles: config.requested_app_roles.clone(),
        });
        Ok(Self {
            registration,
            faults: Faults::seeded(config.seed),
            config,
            clock: SimClock::default(),
            stats: Stats::default(),
            tokens: TokenStore::default(),
            signer: Signer::new(),
            certificate,
            base_url: OnceLock::new(),
            registry: RwLock::new(Registry {
                by_id: HashMap::new(),
                by_domain: HashMap::new(),
                order: Vec::new(),
                ids,
            }),
        })
    }

    /// Registers a redirect URI on the app registration (once; again changes nothing).
    pub fn register_redirect_uri(&self, uri: &str) {
        let mut registration = self.registration.write().unwrap_or_else(|e| e.into_inner());
        if !registration.redirect_uris.iter().any(|u| u == uri) {
            registration.redirect_uris.push(uri.to_owned());
        }
    }

    /// Whether `uri` is exactly one of the app registration's redirect URIs.
    pub fn is_redirect_uri(&self, uri: &str) -> bool {
        self.registration
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .redirect_uris
            .iter()
            .any(|u| u == uri)
    }

    /// The app roles the registration requires: what consent grants.
    pub fn requested_app_roles(&self) -> Vec<String> {
        self.registration
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .requested_app_roles
            .clone()
    }

    /// Replaces the app registration (its redirect URIs and required app roles).
    pub fn set_registration(&self, registration: Registration) {
        *self.registration.write().unwrap_or_else(|e| e.into_inner()) = registration;
    }

    /// Records the URL the server listens on (set once at start).
    pub fn set_base_url(&self, url: String) {
        let _ = self.base_url.set(url);
    }

    /// `http://127.0.0.1:PORT`, used to build paging links.
    pub fn base_url(&self) -> &str {
        self.base_url
            .get()
            .map(String::as_str)
            .unwrap_or("http://127.0.0.1")
    }

    /// Creates a tenant and returns its id.
    pub fn create_tenant(&self, spec: &TenantSpec) -> Result<String, SimError> {
        let mut reg = self.registry.write().unwrap_or_else(|e| e.into_inner());
        let id = match &spec.tenant_id {
            Some(id) => {
                let u = uuid::Uuid::parse_str(id)
                    .map_err(|_| SimError::BadRequest(format!("tenant_id {id:?} is not a GUID")))?;
                u.to_string()
            }
            None => loop {
                let id = reg.ids.uuid().to_string();
                if !reg.by_id.contains_key(&id) {
                    break id;
                }
            },
        };
        if reg.by_id.contains_key(&id) {
            return Err(SimError::Conflict(format!("tenant {id} already exists")));
        }
        let app = (
            self.config.client_id.as_str(),
            self.config.app_display_name.as_str(),
        );
        let mut tenant = Tenant::new(
            id.clone(),
            spec,
            self.config.seed,
            app,
            self.clock.now(),
            self.config.group_propagation_secs,
        )?;
        for d in &tenant.domains {
            if reg.by_domain.contains_key(&d.name) {
                return Err(SimError::Conflict(format!(
                    "domain {} belongs to another tenant",
                    d.name
                )));
            }
        }
        if let Some(preset) = &spec.exchange {
            crate::exchange::apply_preset(&mut tenant, preset, self.clock.now())
                .map_err(SimError::BadRequest)?;
        }
        for d in &tenant.domains {
            reg.by_domain.insert(d.name.clone(), id.clone());
        }
        reg.by_id.insert(id.clone(), Arc::new(Mutex::new(tenant)));
        reg.order.push(id.clone());
        Ok(id)
    }

    /// Deletes a tenant.
    pub fn delete_tenant(&self, id: &str) -> Result<(), SimError> {
        let mut reg = self.registry.write().unwrap_or_else(|e| e.into_inner());
        let t = reg
            .by_id
            .remove(id)
            .ok_or_else(|| SimError::NotFound(format!("tenant {id}")))?;
        reg.by_domain.retain(|_, v| v != id);
        reg.order.retain(|x| x != id);
        drop(t);
        Ok(())
    }

    /// Tenant by id or by one of its domain names (case-insensitive).
    pub fn tenant(&self, key: &str) -> Option<TenantRef> {
        let reg = self.registry.read().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = reg.by_id.get(key) {
            return Some(t.clone());
        }
        let k = key.to_ascii_lowercase();
        reg.by_id
            .get(&k)
            .or_else(|| reg.by_domain.get(&k).and_then(|id| reg.by_id.get(id)))
            .cloned()
    }

    /// Re-indexes a tenant's domains after they changed.
    pub fn reindex_domains(&self, id: &str, domains: &[String]) -> Result<(), SimError> {
        let mut reg = self.registry.write().unwrap_or_else(|e| e.into_inner());
        for d in domains {
            if reg.by_domain.get(d).is_some_and(|owner| owner != id) {
                return Err(SimError::Conflict(format!(
                    "domain {d} belongs to another tenant"
                )));
            }
        }
        reg.by_domain.retain(|_, v| v != id);
        for d in domains {
            reg.by_domain.insert(d.clone(), id.to_owned());
        }
        Ok(())
    }

    /// Tenant ids in creation order.
    pub fn tenant_ids(&self) -> Vec<String> {
        self.registry
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .order
            .clone()
    }

    /// Whether a domain is owned by some other tenant.
    pub fn domain_owner(&self, domain: &str) -> Option<String> {
        let reg = self.registry.read().unwrap_or_else(|e| e.into_inner());
        reg.by_domain.get(&domain.to_ascii_lowercase()).cloned()
    }
}

/// Locks a tenant, recovering from a poisoned lock (a panicking handler must not wedge the sim).
pub fn lock(t: &TenantRef) -> MutexGuard<'_, Tenant> {
    t.lock().unwrap_or_else(|e| e.into_inner())
}
