//! The cmdlet reference as tables: for every cmdlet the simulator answers, its documented
//! Exchange Online parameters (name, type, `Required`, parameter set, accepted values), taken from
//! Microsoft's cmdlet reference, `MicrosoftDocs/office-docs-powershell`
//! `exchange/exchange-ps/ExchangePowerShell/<Cmdlet>.md` at the commit in [`COMMIT`]. Parameters
//! the pages mark as on-premises only (not "Applicable: Exchange Online", e.g. `DomainController`)
//! are left out, so Exchange Online's binder refuses them as unknown.

mod connectors;
mod policies;
mod rules;

use super::params::{CmdletSpec, Kind};

/// The `office-docs-powershell` commit the tables were read at.
pub const COMMIT: &str = "93336da2bca96c31c0fc8acc52658a30ef8a6c94";

/// A page of the reference at [`COMMIT`].
macro_rules! page {
    ($cmdlet:literal) => {
        concat!(
            "ExchangePowerShell/",
            $cmdlet,
            ".md @ 93336da2bca96c31c0fc8acc52658a30ef8a6c94"
        )
    };
}
use page;

/// Every cmdlet the simulator answers.
pub const CMDLETS: &[&CmdletSpec] = &[
    &connectors::GET_INBOUNDCONNECTOR,
    &connectors::NEW_INBOUNDCONNECTOR,
    &connectors::SET_INBOUNDCONNECTOR,
    &connectors::REMOVE_INBOUNDCONNECTOR,
    &connectors::GET_OUTBOUNDCONNECTOR,
    &connectors::NEW_OUTBOUNDCONNECTOR,
    &connectors::SET_OUTBOUNDCONNECTOR,
    &connectors::REMOVE_OUTBOUNDCONNECTOR,
    &rules::GET_TRANSPORTRULE,
    &rules::NEW_TRANSPORTRULE,
    &rules::SET_TRANSPORTRULE,
    &rules::REMOVE_TRANSPORTRULE,
    &rules::ENABLE_TRANSPORTRULE,
    &rules::DISABLE_TRANSPORTRULE,
    &policies::GET_HOSTEDCONNECTIONFILTERPOLICY,
    &policies::SET_HOSTEDCONNECTIONFILTERPOLICY,
    &policies::GET_TENANTALLOWBLOCKLISTSPOOFITEMS,
    &policies::NEW_TENANTALLOWBLOCKLISTSPOOFITEMS,
    &policies::REMOVE_TENANTALLOWBLOCKLISTSPOOFITEMS,
    &policies::GET_ACCEPTEDDOMAIN,
    &policies::GET_UNIFIEDGROUP,
];

/// The table of `cmdlet` (case-insensitive, as PowerShell resolves names).
pub fn find(cmdlet: &str) -> Option<&'static CmdletSpec> {
    CMDLETS
        .iter()
        .copied()
        .find(|c| c.name.eq_ignore_ascii_case(cmdlet))
}

// The enumerations, with the values the pages list (type names as the pages spell them). Values
// a page marks "available only in on-premises Exchange" stay: they belong to the type, so the
// binder takes them.

const CONNECTOR_SOURCE: Kind = Kind::Enum("TenantConnectorSource", &["Default", "HybridWizard", "Migrated"]);
const CONNECTOR_TYPE: Kind = Kind::Enum("TenantConnectorType", &["Partner", "OnPremises"]);
const MTA_STS_MODE: Kind = Kind::Enum("MtaStsMode", &["Opportunistic", "None"]);
const SMTP_DANE_MODE: Kind = Kind::Enum("SmtpDaneMode", &["Opportunistic", "Mandatory", "None"]);
/// `$null` (blank, the default) is the fourth documented value; a null always binds.
const TLS_AUTH_LEVEL: Kind = Kind::Enum(
    "TlsAuthLevel",
    &["EncryptionOnly", "CertificateValidation", "DomainValidation"],
);
const RULE_STATE: Kind = Kind::Enum("RuleState", &["Enabled", "Disabled"]);
const RULE_MODE: Kind = Kind::Enum("RuleMode", &["Audit", "AuditAndNotify", "Enforce"]);
const AD_ATTRIBUTE: Kind = Kind::Enum(
    "ADAttribute",
    &[
        "City",
        "Company",
        "Country",
        "CustomAttribute1",
        "CustomAttribute2",
        "CustomAttribute3",
        "CustomAttribute4",
        "CustomAttribute5",
        "CustomAttribute6",
        "CustomAttribute7",
        "CustomAttribute8",
        "CustomAttribute9",
        "CustomAttribute10",
        "CustomAttribute11",
        "CustomAttribute12",
        "CustomAttribute13",
        "CustomAttribute14",
        "CustomAttribute15",
        "Department",
        "DisplayName",
        "Email",
        "FaxNumber",
        "FirstName",
        "HomePhoneNumber",
        "Initials",
        "LastName",
        "Manager",
        "MobileNumber",
        "Notes",
        "Office",
        "OtherFaxNumber",
        "OtherHomePhoneNumber",
        "OtherPhoneNumber",
        "PagerNumber",
        "PhoneNumber",
        "POBox",
        "State",
        "Street",
        "Title",
        "UserLogonName",
        "ZipCode",
    ],
);
const EVALUATION: Kind = Kind::Enum("Evaluation", &["Equal", "NotEqual"]);
const ADDED_RECIPIENT_TYPE: Kind = Kind::Enum("AddedRecipientType", &["To", "Cc", "Bcc", "Redirect"]);
const DISCLAIMER_FALLBACK_ACTION: Kind =
    Kind::Enum("DisclaimerFallbackAction", &["Wrap", "Ignore", "Reject"]);
const DISCLAIMER_LOCATION: Kind = Kind::Enum("DisclaimerLocation", &["Append", "Prepend"]);
const FROM_USER_SCOPE: Kind = Kind::Enum("FromUserScope", &["InOrganization", "NotInOrganization"]);
/// ExternalPartner and ExternalNonPartner are "available only in on-premises Exchange".
const TO_USER_SCOPE: Kind = Kind::Enum(
    "ToUserScope",
    &[
        "InOrganization",
        "NotInOrganization",
        "ExternalPartner",
        "ExternalNonPartner",
    ],
);
const EVALUATED_USER: Kind = Kind::Enum("EvaluatedUser", &["Recipient", "Sender"]);
const MESSAGE_TYPE: Kind = Kind::Enum(
    "MessageType",
    &[
        "OOF",
        "AutoForward",
        "Encrypted",
        "Calendaring",
        "PermissionControlled",
        "Voicemail",
        "Signed",
        "ApprovalRequest",
        "ReadReceipt",
    ],
);
const MANAGEMENT_RELATIONSHIP: Kind = Kind::Enum("ManagementRelationship", &["Manager", "DirectReport"]);
const IMPORTANCE: Kind = Kind::Enum("Importance", &["Low", "Normal", "High"]);
const INCIDENT_REPORT_CONTENT: Kind = Kind::EnumList(
    "IncidentReportContent",
    &[
        "Sender",
        "Recipients",
        "Subject",
        "CC",
        "BCC",
        "Severity",
        "RuleDetections",
        "FalsePositive",
        "IdMatch",
        "AttachOriginalMail",
    ],
);
const NOTIFY_SENDER_TYPE: Kind = Kind::Enum(
    "NotifySenderType",
    &[
        "NotifyOnly",
        "RejectMessage",
        "RejectUnlessFalsePositiveOverride",
        "RejectUnlessSilentOverride",
        "RejectUnlessExplicitOverride",
    ],
);
const RECIPIENT_ADDRESS_TYPE: Kind = Kind::Enum("RecipientAddressType", &["Original", "Resolved"]);
const RULE_ERROR_ACTION: Kind = Kind::Enum("RuleErrorAction", &["Ignore", "Defer"]);
/// Dlp is "available only in on-premises Exchange".
const RULE_SUB_TYPE: Kind = Kind::Enum("RuleSubType", &["Dlp", "None"]);
const SENDER_ADDRESS_LOCATION: Kind = Kind::Enum(
    "SenderAddressLocation",
    &["Header", "Envelope", "HeaderOrEnvelope"],
);
/// "An SCL value of -1 or an integer from 0 through 9."
const SCL: Kind = Kind::Range("Microsoft.Exchange.Data.SclValue", -1, 9);
/// "The integers 400 through 500" (functional only on Edge Transport servers).
const REJECT_STATUS_CODE: Kind = Kind::Range("RejectStatusCode", 400, 500);
// Strings whose documented values the cmdlets check.
const AUDIT_SEVERITY: Kind = Kind::Choice(&["DoNotAudit", "Low", "Medium", "High"]);
const SPOOF_ACTION: Kind = Kind::Choice(&["Allow", "Block"]);
const SPOOF_TYPE: Kind = Kind::Choice(&["External", "Internal"]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_names_its_page_and_has_no_duplicate() {
        for c in CMDLETS {
            assert_eq!(c.source, format!("ExchangePowerShell/{}.md @ {COMMIT}", c.name));
            assert_eq!(c.changed.len(), 40, "{}", c.name);
            let names: Vec<&str> = c.params().map(|p| p.name).collect();
            for (i, n) in names.iter().enumerate() {
                assert!(
                    !names[i + 1..].iter().any(|m| m.eq_ignore_ascii_case(n)),
                    "{} {n}",
                    c.name
                );
            }
            assert_eq!(find(&c.name.to_ascii_uppercase()).map(|f| f.name), Some(c.name));
        }
    }

    #[test]
    fn documented_mandatory_parameters() {
        let required = |c: &str| -> Vec<&str> {
            find(c)
                .expect(c)
                .params()
                .filter(|p| p.required)
                .map(|p| p.name)
                .collect()
        };
        assert_eq!(required("New-InboundConnector"), ["Name", "SenderDomains"]);
        assert_eq!(required("Set-TransportRule"), ["Identity"]);
        assert_eq!(
            required("Remove-TenantAllowBlockListSpoofItems"),
            ["Identity", "Ids"]
        );
        assert_eq!(
            required("New-TenantAllowBlockListSpoofItems"),
            [
                "Identity",
                "SendingInfrastructure",
                "SpoofedUser",
                "SpoofType",
                "Action"
            ]
        );
        assert!(required("Get-UnifiedGroup").is_empty());
        let has = |c: &str, p: &str| find(c).expect(c).param(p).is_some();
        assert!(!has("Set-TransportRule", "Enabled"));
        assert!(has("New-TransportRule", "Enabled"));
        assert!(!has("Get-HostedConnectionFilterPolicy", "ResultSize"));
        assert!(!has("Get-TenantAllowBlockListSpoofItems", "ResultSize"));
        assert!(!has("New-TransportRule", "DomainController"));
    }
}
