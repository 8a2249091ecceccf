//! The connector cmdlets' tables: `Get-`, `New-`, `Set-` and `Remove-InboundConnector` and `-OutboundConnector`.

use super::*;
use crate::exchange::params::{CmdletSpec, Kind::*, opt, req};

/// `Get-InboundConnector`.
pub const GET_INBOUNDCONNECTOR: CmdletSpec = CmdletSpec {
    name: "Get-InboundConnector",
    source: page!("Get-InboundConnector"),
    changed: "0544b4345e8e0e95619461b3935c6e2ccef8c67e",
    parts: &[&[
        opt("Identity", Str), // InboundConnectorIdParameter
        opt("ResultSize", ResultSize),
    ]],
};

/// `New-InboundConnector`.
pub const NEW_INBOUNDCONNECTOR: CmdletSpec = CmdletSpec {
    name: "New-InboundConnector",
    source: page!("New-InboundConnector"),
    changed: "afb37a1cc72e0d1f93318d0f3dd355f4632690a0",
    parts: &[&[
        req("Name", Str),
        req("SenderDomains", List),
        opt("AssociatedAcceptedDomains", List),
        opt("ClientHostNames", List),
        opt("CloudServicesMailEnabled", Bool),
        opt("Comment", Str),
        opt("Confirm", Switch),
        opt("ConnectorSource", CONNECTOR_SOURCE),
        opt("ConnectorType", CONNECTOR_TYPE),
        opt("EFSkipIPs", List),
        opt("EFSkipLastIP", Bool),
        opt("EFSkipMailGateway", List),
        opt("EFTestMode", Bool),
        opt("EFUsers", List),
        opt("Enabled", Bool),
        opt("RequireTls", Bool),
        opt("RestrictDomainsToCertificate", Bool),
        opt("RestrictDomainsToIPAddresses", Bool),
        opt("ScanAndDropRecipients", List),
        opt("SenderIPAddresses", List),
        opt("TlsSenderCertificateName", Str), // TlsCertificate
        opt("TreatMessagesAsInternal", Bool),
        opt("TrustedOrganizations", List),
        opt("WhatIf", Switch),
    ]],
};

/// `Set-InboundConnector`.
pub const SET_INBOUNDCONNECTOR: CmdletSpec = CmdletSpec {
    name: "Set-InboundConnector",
    source: page!("Set-InboundConnector"),
    changed: "57263e9e741054c737c2ea5f5a143685dedeef28",
    parts: &[&[
        req("Identity", Str), // InboundConnectorIdParameter
        opt("AssociatedAcceptedDomains", List),
        opt("CloudServicesMailEnabled", Bool),
        opt("Comment", Str),
        opt("Confirm", Switch),
        opt("ConnectorSource", CONNECTOR_SOURCE),
        opt("ConnectorType", CONNECTOR_TYPE),
        opt("EFSkipIPs", List),
        opt("EFSkipLastIP", Bool),
        opt("EFSkipMailGateway", List),
        opt("EFTestMode", Bool),
        opt("EFUsers", List),
        opt("Enabled", Bool),
        opt("Name", Str),
        opt("RequireTls", Bool),
        opt("RestrictDomainsToCertificate", Bool),
        opt("RestrictDomainsToIPAddresses", Bool),
        opt("ScanAndDropRecipients", List),
        opt("SenderDomains", List),
        opt("SenderIPAddresses", List),
        opt("TlsSenderCertificateName", Str), // TlsCertificate
        opt("TreatMessagesAsInternal", Bool),
        opt("TrustedOrganizations", List),
        opt("WhatIf", Switch),
    ]],
};

/// `Remove-InboundConnector`.
pub const REMOVE_INBOUNDCONNECTOR: CmdletSpec = CmdletSpec {
    name: "Remove-InboundConnector",
    source: page!("Remove-InboundConnector"),
    changed: "b93ee2cb893321cf66bbf64b664d259c712fbf28",
    parts: &[&[
        req("Identity", Str), // InboundConnectorIdParameter
        opt("Confirm", Switch),
        opt("WhatIf", Switch),
    ]],
};

/// `Get-OutboundConnector`.
pub const GET_OUTBOUNDCONNECTOR: CmdletSpec = CmdletSpec {
    name: "Get-OutboundConnector",
    source: page!("Get-OutboundConnector"),
    changed: "daf4424225970147dc8892af410cc006972e8026",
    parts: &[&[
        opt("Identity", Str), // OutboundConnectorIdParameter
        opt("IncludeTestModeConnectors", Bool),
        opt("IsTransportRuleScoped", Bool),
        opt("ResultSize", ResultSize),
    ]],
};

/// `New-OutboundConnector`.
pub const NEW_OUTBOUNDCONNECTOR: CmdletSpec = CmdletSpec {
    name: "New-OutboundConnector",
    source: page!("New-OutboundConnector"),
    changed: "9d1144db5ec003a8e4295a6363dcb68814b3af16",
    parts: &[&[
        req("Name", Str),
        opt("AllAcceptedDomains", Bool),
        opt("CloudServicesMailEnabled", Bool),
        opt("Comment", Str),
        opt("Confirm", Switch),
        opt("ConnectorSource", CONNECTOR_SOURCE),
        opt("ConnectorType", CONNECTOR_TYPE),
        opt("Enabled", Bool),
        opt("IsTransportRuleScoped", Bool),
        opt("LinkForModifiedConnector", Guid),
        opt("MtaStsMode", MTA_STS_MODE),
        opt("RecipientDomains", List),
        opt("RouteAllMessagesViaOnPremises", Bool),
        opt("SenderRewritingEnabled", Bool),
        opt("SmartHosts", List),
        opt("SmtpDaneMode", SMTP_DANE_MODE),
        opt("TestMode", Bool),
        opt("TlsDomain", Str), // SmtpDomainWithSubdomains
        opt("TlsSettings", TLS_AUTH_LEVEL),
        opt("UseMXRecord", Bool),
        opt("WhatIf", Switch),
    ]],
};

/// `Set-OutboundConnector`.
pub const SET_OUTBOUNDCONNECTOR: CmdletSpec = CmdletSpec {
    name: "Set-OutboundConnector",
    source: page!("Set-OutboundConnector"),
    changed: "9d1144db5ec003a8e4295a6363dcb68814b3af16",
    parts: &[&[
        req("Identity", Str), // OutboundConnectorIdParameter
        opt("AllAcceptedDomains", Bool),
        opt("CloudServicesMailEnabled", Bool),
        opt("Comment", Str),
        opt("Confirm", Switch),
        opt("ConnectorSource", CONNECTOR_SOURCE),
        opt("ConnectorType", CONNECTOR_TYPE),
        opt("Enabled", Bool),
        opt("IsTransportRuleScoped", Bool),
        opt("IsValidated", Bool),
        opt("LastValidationTimestamp", Str), // DateTime
        opt("MtaStsMode", MTA_STS_MODE),
        opt("Name", Str),
        opt("RecipientDomains", List),
        opt("RouteAllMessagesViaOnPremises", Bool),
        opt("SenderRewritingEnabled", Bool),
        opt("SmartHosts", List),
        opt("SmtpDaneMode", SMTP_DANE_MODE),
        opt("TestMode", Bool),
        opt("TlsDomain", Str), // SmtpDomainWithSubdomains
        opt("TlsSettings", TLS_AUTH_LEVEL),
        opt("UseMXRecord", Bool),
        opt("ValidationRecipients", List), // String[]
        opt("WhatIf", Switch),
    ]],
};

/// `Remove-OutboundConnector`.
pub const REMOVE_OUTBOUNDCONNECTOR: CmdletSpec = CmdletSpec {
    name: "Remove-OutboundConnector",
    source: page!("Remove-OutboundConnector"),
    changed: "b93ee2cb893321cf66bbf64b664d259c712fbf28",
    parts: &[&[
        req("Identity", Str), // OutboundConnectorIdParameter
        opt("Confirm", Switch),
        opt("WhatIf", Switch),
    ]],
};
