//! The transport-rule cmdlets' tables. New- and Set-TransportRule list every parameter their pages document for Exchange Online (one line each, the page's type in a comment where the table takes it as text or a list).

use super::*;
use crate::exchange::params::{CmdletSpec, Kind::*, ParamSpec, opt, req};

/// `Get-TransportRule`.
pub const GET_TRANSPORTRULE: CmdletSpec = CmdletSpec {
    name: "Get-TransportRule",
    source: page!("Get-TransportRule"),
    changed: "0ce0a1b29deae9ee0ade5f2fdc415d04090e6f1a",
    parts: &[&[
        opt("Identity", Str), // RuleIdParameter
        opt("State", RULE_STATE),
        opt("DlpPolicy", Str),
        opt("ExcludeConditionActionDetails", Bool),
        opt("Filter", Str),
        opt("ResultSize", ResultSize),
    ]],
};

/// `New-TransportRule`.
pub const NEW_TRANSPORTRULE: CmdletSpec = CmdletSpec {
    name: "New-TransportRule",
    source: page!("New-TransportRule"),
    changed: "5fff4ea010dd9e196e3d82c00184096e868e5ab5",
    parts: &[NEW_HEAD, RULE_BODY],
};

/// `Set-TransportRule`.
pub const SET_TRANSPORTRULE: CmdletSpec = CmdletSpec {
    name: "Set-TransportRule",
    source: page!("Set-TransportRule"),
    changed: "5fff4ea010dd9e196e3d82c00184096e868e5ab5",
    parts: &[SET_HEAD, RULE_BODY],
};

/// `Remove-TransportRule`.
pub const REMOVE_TRANSPORTRULE: CmdletSpec = CmdletSpec {
    name: "Remove-TransportRule",
    source: page!("Remove-TransportRule"),
    changed: "a7f0817cd6381719c3fca1ad2d0fae244af31fd2",
    parts: &[&[
        req("Identity", Str), // RuleIdParameter
        opt("Confirm", Switch),
        opt("WhatIf", Switch),
    ]],
};

/// `Enable-TransportRule`.
pub const ENABLE_TRANSPORTRULE: CmdletSpec = CmdletSpec {
    name: "Enable-TransportRule",
    source: page!("Enable-TransportRule"),
    changed: "9091368a24a0b2e1709498e1acdd902864b074e9",
    parts: &[&[
        req("Identity", Str), // RuleIdParameter
        opt("Confirm", Switch),
        opt("Mode", RULE_MODE),
        opt("WhatIf", Switch),
    ]],
};

/// `Disable-TransportRule`.
pub const DISABLE_TRANSPORTRULE: CmdletSpec = CmdletSpec {
    name: "Disable-TransportRule",
    source: page!("Disable-TransportRule"),
    changed: "942e8c0254c863cf82faf6d4ca8f782ea25ead4c",
    parts: &[&[
        req("Identity", Str), // RuleIdParameter
        opt("Confirm", Switch),
        opt("WhatIf", Switch),
    ]],
};

const NEW_HEAD: &[ParamSpec] = &[
    req("Name", Str),
    opt("Enabled", Bool),
    opt("UseLegacyRegex", Bool),
];

const SET_HEAD: &[ParamSpec] = &[
    req("Identity", Str), // RuleIdParameter
    opt("Name", Str),
];

/// The conditions, exceptions, actions and settings both New- and Set-TransportRule take.
const RULE_BODY: &[ParamSpec] = &[
    opt("ActivationDate", Str), // DateTime
    opt("ADComparisonAttribute", AD_ATTRIBUTE),
    opt("ADComparisonOperator", EVALUATION),
    opt("AddManagerAsRecipientType", ADDED_RECIPIENT_TYPE),
    opt("AddToRecipients", List),                      // RecipientIdParameter[]
    opt("AnyOfCcHeader", List),                        // RecipientIdParameter[]
    opt("AnyOfCcHeaderMemberOf", List),                // RecipientIdParameter[]
    opt("AnyOfRecipientAddressContainsWords", List),   // Word[]
    opt("AnyOfRecipientAddressMatchesPatterns", List), // Pattern[]
    opt("AnyOfToCcHeader", List),                      // RecipientIdParameter[]
    opt("AnyOfToCcHeaderMemberOf", List),              // RecipientIdParameter[]
    opt("AnyOfToHeader", List),                        // RecipientIdParameter[]
    opt("AnyOfToHeaderMemberOf", List),                // RecipientIdParameter[]
    opt("ApplyClassification", Str),
    opt("ApplyHtmlDisclaimerFallbackAction", DISCLAIMER_FALLBACK_ACTION),
    opt("ApplyHtmlDisclaimerLocation", DISCLAIMER_LOCATION),
    opt("ApplyHtmlDisclaimerText", Str), // DisclaimerText
    opt("ApplyOME", Bool),
    opt("ApplyRightsProtectionCustomizationTemplate", Str), // OMEConfigurationIdParameter
    opt("ApplyRightsProtectionTemplate", Str),              // RmsTemplateIdParameter
    opt("AttachmentContainsWords", List),                   // Word[]
    opt("AttachmentExtensionMatchesWords", List),           // Word[]
    opt("AttachmentHasExecutableContent", Bool),
    opt("AttachmentIsPasswordProtected", Bool),
    opt("AttachmentIsUnsupported", Bool),
    opt("AttachmentMatchesPatterns", List),     // Pattern[]
    opt("AttachmentNameMatchesPatterns", List), // Pattern[]
    opt("AttachmentProcessingLimitExceeded", Bool),
    opt("AttachmentPropertyContainsWords", List), // Word[]
    opt("AttachmentSizeOver", Str),               // ByteQuantifiedSize
    opt("BetweenMemberOf1", List),                // RecipientIdParameter[]
    opt("BetweenMemberOf2", List),                // RecipientIdParameter[]
    opt("BlindCopyTo", List),                     // RecipientIdParameter[]
    opt("Comments", Str),
    opt("Confirm", Switch),
    opt("ContentCharacterSetContainsWords", List), // Word[]
    opt("CopyTo", List),                           // RecipientIdParameter[]
    opt("DeleteMessage", Bool),
    opt("Disconnect", Bool),
    opt("DlpPolicy", Str),
    opt("ExceptIfADComparisonAttribute", AD_ATTRIBUTE),
    opt("ExceptIfADComparisonOperator", EVALUATION),
    opt("ExceptIfAnyOfCcHeader", List),         // RecipientIdParameter[]
    opt("ExceptIfAnyOfCcHeaderMemberOf", List), // RecipientIdParameter[]
    opt("ExceptIfAnyOfRecipientAddressContainsWords", List), // Word[]
    opt("ExceptIfAnyOfRecipientAddressMatchesPatterns", List), // Pattern[]
    opt("ExceptIfAnyOfToCcHeader", List),       // RecipientIdParameter[]
    opt("ExceptIfAnyOfToCcHeaderMemberOf", List), // RecipientIdParameter[]
    opt("ExceptIfAnyOfToHeader", List),         // RecipientIdParameter[]
    opt("ExceptIfAnyOfToHeaderMemberOf", List), // RecipientIdParameter[]
    opt("ExceptIfAttachmentContainsWords", List), // Word[]
    opt("ExceptIfAttachmentExtensionMatchesWords", List), // Word[]
    opt("ExceptIfAttachmentHasExecutableContent", Bool),
    opt("ExceptIfAttachmentIsPasswordProtected", Bool),
    opt("ExceptIfAttachmentIsUnsupported", Bool),
    opt("ExceptIfAttachmentMatchesPatterns", List), // Pattern[]
    opt("ExceptIfAttachmentNameMatchesPatterns", List), // Pattern[]
    opt("ExceptIfAttachmentProcessingLimitExceeded", Bool),
    opt("ExceptIfAttachmentPropertyContainsWords", List), // Word[]
    opt("ExceptIfAttachmentSizeOver", Str),               // ByteQuantifiedSize
    opt("ExceptIfBetweenMemberOf1", List),                // RecipientIdParameter[]
    opt("ExceptIfBetweenMemberOf2", List),                // RecipientIdParameter[]
    opt("ExceptIfContentCharacterSetContainsWords", List), // Word[]
    opt("ExceptIfFrom", List),                            // RecipientIdParameter[]
    opt("ExceptIfFromAddressContainsWords", List),        // Word[]
    opt("ExceptIfFromAddressMatchesPatterns", List),      // Pattern[]
    opt("ExceptIfFromMemberOf", List),                    // RecipientIdParameter[]
    opt("ExceptIfFromScope", FROM_USER_SCOPE),
    opt("ExceptIfHasClassification", Str),
    opt("ExceptIfHasNoClassification", Bool),
    opt("ExceptIfHasSenderOverride", Bool),
    opt("ExceptIfHeaderContainsMessageHeader", Str), // HeaderName
    opt("ExceptIfHeaderContainsWords", List),        // Word[]
    opt("ExceptIfHeaderMatchesMessageHeader", Str),  // HeaderName
    opt("ExceptIfHeaderMatchesPatterns", List),      // Pattern[]
    opt("ExceptIfManagerAddresses", List),           // RecipientIdParameter[]
    opt("ExceptIfManagerForEvaluatedUser", EVALUATED_USER),
    opt("ExceptIfMessageContainsDataClassifications", Tables),
    opt("ExceptIfMessageSizeOver", Str), // ByteQuantifiedSize
    opt("ExceptIfMessageTypeMatches", MESSAGE_TYPE),
    opt("ExceptIfRecipientADAttributeContainsWords", List), // Word[]
    opt("ExceptIfRecipientADAttributeMatchesPatterns", List), // Pattern[]
    opt("ExceptIfRecipientAddressContainsWords", List),     // Word[]
    opt("ExceptIfRecipientAddressMatchesPatterns", List),   // Pattern[]
    opt("ExceptIfRecipientDomainIs", List),                 // Word[]
    opt("ExceptIfRecipientInSenderList", List),             // Word[]
    opt("ExceptIfSCLOver", SCL),
    opt("ExceptIfSenderADAttributeContainsWords", List), // Word[]
    opt("ExceptIfSenderADAttributeMatchesPatterns", List), // Pattern[]
    opt("ExceptIfSenderDomainIs", List),                 // Word[]
    opt("ExceptIfSenderInRecipientList", List),          // Word[]
    opt("ExceptIfSenderIpRanges", List),
    opt("ExceptIfSenderManagementRelationship", MANAGEMENT_RELATIONSHIP),
    opt("ExceptIfSentTo", List),         // RecipientIdParameter[]
    opt("ExceptIfSentToMemberOf", List), // RecipientIdParameter[]
    opt("ExceptIfSentToScope", TO_USER_SCOPE),
    opt("ExceptIfSubjectContainsWords", List),         // Word[]
    opt("ExceptIfSubjectMatchesPatterns", List),       // Pattern[]
    opt("ExceptIfSubjectOrBodyContainsWords", List),   // Word[]
    opt("ExceptIfSubjectOrBodyMatchesPatterns", List), // Pattern[]
    opt("ExceptIfWithImportance", IMPORTANCE),
    opt("ExpiryDate", Str),                  // DateTime
    opt("From", List),                       // RecipientIdParameter[]
    opt("FromAddressContainsWords", List),   // Word[]
    opt("FromAddressMatchesPatterns", List), // Pattern[]
    opt("FromMemberOf", List),               // RecipientIdParameter[]
    opt("FromScope", FROM_USER_SCOPE),
    opt("GenerateIncidentReport", Str), // RecipientIdParameter
    opt("GenerateNotification", Str),   // DisclaimerText
    opt("HasClassification", Str),
    opt("HasNoClassification", Bool),
    opt("HasSenderOverride", Bool),
    opt("HeaderContainsMessageHeader", Str), // HeaderName
    opt("HeaderContainsWords", List),        // Word[]
    opt("HeaderMatchesMessageHeader", Str),  // HeaderName
    opt("HeaderMatchesPatterns", List),      // Pattern[]
    opt("IncidentReportContent", INCIDENT_REPORT_CONTENT),
    opt("LogEventText", Str),      // EventLogText
    opt("ManagerAddresses", List), // RecipientIdParameter[]
    opt("ManagerForEvaluatedUser", EVALUATED_USER),
    opt("MessageContainsDataClassifications", Tables),
    opt("MessageSizeOver", Str), // ByteQuantifiedSize
    opt("MessageTypeMatches", MESSAGE_TYPE),
    opt("Mode", RULE_MODE),
    opt("ModerateMessageByManager", Bool),
    opt("ModerateMessageByUser", List), // RecipientIdParameter[]
    opt("NotifySender", NOTIFY_SENDER_TYPE),
    opt("PrependSubject", Str), // SubjectPrefix
    opt("Priority", Int),
    opt("Quarantine", Bool),
    opt("RecipientADAttributeContainsWords", List),   // Word[]
    opt("RecipientADAttributeMatchesPatterns", List), // Pattern[]
    opt("RecipientAddressContainsWords", List),       // Word[]
    opt("RecipientAddressMatchesPatterns", List),     // Pattern[]
    opt("RecipientAddressType", RECIPIENT_ADDRESS_TYPE),
    opt("RecipientDomainIs", List),              // Word[]
    opt("RecipientInSenderList", List),          // Word[]
    opt("RedirectMessageTo", List),              // RecipientIdParameter[]
    opt("RejectMessageEnhancedStatusCode", Str), // RejectEnhancedStatus
    opt("RejectMessageReasonText", Str),         // RejectText
    opt("RemoveHeader", Str),                    // HeaderName
    opt("RemoveOME", Bool),
    opt("RemoveOMEv2", Bool),
    opt("RemoveRMSAttachmentEncryption", Bool),
    opt("RouteMessageOutboundConnector", Str), // OutboundConnectorIdParameter
    opt("RouteMessageOutboundRequireTls", Bool),
    opt("RuleErrorAction", RULE_ERROR_ACTION),
    opt("RuleSubType", RULE_SUB_TYPE),
    opt("SCLOver", SCL),
    opt("SenderADAttributeContainsWords", List),   // Word[]
    opt("SenderADAttributeMatchesPatterns", List), // Pattern[]
    opt("SenderAddressLocation", SENDER_ADDRESS_LOCATION),
    opt("SenderDomainIs", List),        // Word[]
    opt("SenderInRecipientList", List), // Word[]
    opt("SenderIpRanges", List),
    opt("SenderManagementRelationship", MANAGEMENT_RELATIONSHIP),
    opt("SentTo", List),         // RecipientIdParameter[]
    opt("SentToMemberOf", List), // RecipientIdParameter[]
    opt("SentToScope", TO_USER_SCOPE),
    opt("SetAuditSeverity", AUDIT_SEVERITY),
    opt("SetHeaderName", Str),  // HeaderName
    opt("SetHeaderValue", Str), // HeaderValue
    opt("SetSCL", SCL),
    opt("SmtpRejectMessageRejectStatusCode", REJECT_STATUS_CODE),
    opt("SmtpRejectMessageRejectText", Str), // RejectText
    opt("StopRuleProcessing", Bool),
    opt("SubjectContainsWords", List),         // Word[]
    opt("SubjectMatchesPatterns", List),       // Pattern[]
    opt("SubjectOrBodyContainsWords", List),   // Word[]
    opt("SubjectOrBodyMatchesPatterns", List), // Pattern[]
    opt("WhatIf", Switch),
    opt("WithImportance", IMPORTANCE),
];
