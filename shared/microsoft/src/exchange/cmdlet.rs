//! A cmdlet call: name plus parameters, as `InvokeCommand` takes it.

use serde::Serialize;
use serde_json::{Map, Value, json};

/// A cmdlet with its parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cmdlet {
    #[serde(rename = "CmdletName")]
    name: String,
    #[serde(rename = "Parameters")]
    parameters: Map<String, Value>,
}

impl Cmdlet {
    /// A cmdlet without parameters; a destructive one (`Remove-*`, `Disable-*`) with
    /// `Confirm: false`, since those pause for a confirmation nobody can give over REST (CIPP
    /// sends it on every `Remove-TransportRule`).
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        let mut parameters = Map::new();
        if ["Remove-", "Disable-"].iter().any(|verb| name.starts_with(verb)) {
            parameters.insert("Confirm".to_owned(), Value::Bool(false));
        }
        Self { name, parameters }
    }

    /// The same cmdlet with one more parameter.
    pub fn param(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.parameters.insert(name.to_owned(), value.into());
        self
    }

    /// The cmdlet's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value of a parameter.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.parameters.get(name)
    }

    /// The request body: `{"CmdletInput": {"CmdletName", "Parameters"}}`.
    pub fn body(&self) -> Value {
        json!({ "CmdletInput": self })
    }
}

/// A multi-valued parameter edit that adds and removes items without replacing the list
/// (`@{Add=...; Remove=...}` in PowerShell).
pub fn add_remove(add: &[String], remove: &[String]) -> Value {
    let mut table = Map::new();
    table.insert(
        "@odata.type".to_owned(),
        Value::from("#Exchange.GenericHashTable"),
    );
    if !add.is_empty() {
        table.insert("Add".to_owned(), Value::from(add.to_vec()));
    }
    if !remove.is_empty() {
        table.insert("Remove".to_owned(), Value::from(remove.to_vec()));
    }
    Value::Object(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destructive_cmdlets_confirm_up_front() {
        for name in [
            "Remove-TransportRule",
            "Remove-InboundConnector",
            "Remove-OutboundConnector",
            "Remove-TenantAllowBlockListSpoofItems",
            "Disable-TransportRule",
        ] {
            assert_eq!(
                Cmdlet::new(name).get("Confirm"),
                Some(&Value::Bool(false)),
                "{name}"
            );
        }
        assert_eq!(Cmdlet::new("Get-TransportRule").get("Confirm"), None);
        assert_eq!(Cmdlet::new("New-TransportRule").get("Confirm"), None);
    }

    #[test]
    fn cmdlets_and_hash_tables_have_the_documented_shape() {
        let cmdlet = Cmdlet::new("Set-HostedConnectionFilterPolicy")
            .param("Identity", "Default")
            .param("IPAllowList", add_remove(&["203.0.113.10".to_owned()], &[]));
        assert_eq!(
            cmdlet.body(),
            json!({"CmdletInput": {"CmdletName": "Set-HostedConnectionFilterPolicy", "Parameters": {
                "Identity": "Default",
                "IPAllowList": {"@odata.type": "#Exchange.GenericHashTable", "Add": ["203.0.113.10"]}
            }}})
        );
    }
}
