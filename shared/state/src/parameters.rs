//! The vendor configuration document in SSM Parameter Store (`VENDOR_CONFIG_PARAMETER`): read once
//! per process, when its services are built, checked, and handed to them as `VENDOR_CONFIG`.
//! Per-site smart hosts grow the document past what a template parameter (4 KB) or Lambda's
//! whole environment (4 KB) can hold; an Advanced parameter holds 8 KB.

use aws_config::SdkConfig;
use model::{
    config::{ConfigError, Source, optional},
    vendor::VendorConfig,
};

/// The variable naming the parameter that holds the vendor document.
pub const VENDOR_CONFIG_PARAMETER: &str = "VENDOR_CONFIG_PARAMETER";
/// The variable the services read the document from.
const VENDOR_CONFIG: &str = "VENDOR_CONFIG";

/// A configuration source with the vendor document read from Parameter Store in place of
/// `VENDOR_CONFIG`; every other variable is the base source's.
#[derive(Debug)]
pub struct Resolved<'a, S> {
    base: &'a S,
    vendor: Option<String>,
}

impl<S: Source> Source for Resolved<'_, S> {
    fn get(&self, name: &str) -> Option<String> {
        match &self.vendor {
            Some(document) if name == VENDOR_CONFIG => Some(document.clone()),
            _ => self.base.get(name),
        }
    }
}

/// `base`, with the document of the parameter `VENDOR_CONFIG_PARAMETER` names (one
/// `ssm:GetParameter`), checked field by field; without the variable, `base` as it is (the
/// document, if any, in `VENDOR_CONFIG`).
pub async fn resolve<'a, S: Source>(sdk: &SdkConfig, base: &'a S) -> Result<Resolved<'a, S>, ConfigError> {
    let Some(name) = optional(base, VENDOR_CONFIG_PARAMETER) else {
        return Ok(Resolved { base, vendor: None });
    };
    let invalid = |reason: String| ConfigError::Invalid {
        name: VENDOR_CONFIG_PARAMETER,
        reason,
    };
    let valid = (1..=2048).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_.-".contains(c));
    if !valid {
        return Err(invalid(format!(
            "{name:?} is not a parameter name (A-Z a-z 0-9 / _ . -)"
        )));
    }
    let answer = aws_sdk_ssm::Client::new(sdk)
        .get_parameter()
        .name(&name)
        .send()
        .await
        .map_err(|err| {
            invalid(format!(
                "SSM GetParameter {name} failed: {}; put the vendor configuration document there (README: Deploy)",
                crate::aws::describe(&err)
            ))
        })?;
    let document = answer
        .parameter
        .and_then(|p| p.value)
        .ok_or_else(|| invalid(format!("the parameter {name} holds no value")))?;
    VendorConfig::parse(&document).map_err(|err| {
        invalid(format!(
            "the vendor configuration document in {name} is invalid: {err}"
        ))
    })?;
    Ok(Resolved {
        base,
        vendor: Some(document),
    })
}
