//! Configuration from the environment: where values come from, and errors that name the variable.
//!
//! Each crate reads the parts it needs (`StoreConfig`, `VaultConfig`, ... beside their adapters).
//! A missing or malformed variable is an error that names it and says what it should hold.

use std::collections::{BTreeMap, HashMap};

/// A configuration variable is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set or is empty.
    #[error("environment variable {name} is not set: {hint}")]
    Missing {
        /// The variable.
        name: &'static str,
        /// What it should hold.
        hint: &'static str,
    },
    /// A variable is set to a value that cannot be used.
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// Where configuration values come from: the process environment, or a map in tests.
pub trait Source {
    /// The value of `name`, if set.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Source for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Source for HashMap<&str, &str> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).map(|v| (*v).to_owned())
    }
}

impl Source for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        BTreeMap::get(self, name).cloned()
    }
}

/// The trimmed value of `name`, if set and not blank.
pub fn optional(source: &impl Source, name: &'static str) -> Option<String> {
    source
        .get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The trimmed value of `name`; an error naming it and saying what it should hold otherwise.
pub fn required(source: &impl Source, name: &'static str, hint: &'static str) -> Result<String, ConfigError> {
    optional(source, name).ok_or(ConfigError::Missing { name, hint })
}

/// An optional `true`/`false` switch, `default` when unset; anything else is an error naming it.
pub fn switch(source: &impl Source, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match optional(source, name).as_deref() {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(ConfigError::Invalid {
            name,
            reason: format!("expected true or false, got {other:?}"),
        }),
    }
}

/// An optional http(s) URL without its trailing `/`; an error naming the variable if malformed.
pub fn http_url(source: &impl Source, name: &'static str) -> Result<Option<String>, ConfigError> {
    let Some(value) = optional(source, name) else {
        return Ok(None);
    };
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {
            Ok(Some(value.trim_end_matches('/').to_owned()))
        }
        _ => Err(ConfigError::Invalid {
            name,
            reason: format!("expected an http(s) URL such as https://graph.microsoft.com, got {value:?}"),
        }),
    }
}
