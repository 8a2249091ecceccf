//! The allow-list and directory cmdlets' tables: the connection filter policy, the spoofed-sender entries, accepted domains and unified groups.

use super::*;
use crate::exchange::params::{CmdletSpec, Kind::*, only, opt, req};

/// `Get-HostedConnectionFilterPolicy`.
pub const GET_HOSTEDCONNECTIONFILTERPOLICY: CmdletSpec = CmdletSpec {
    name: "Get-HostedConnectionFilterPolicy",
    source: page!("Get-HostedConnectionFilterPolicy"),
    changed: "0544b4345e8e0e95619461b3935c6e2ccef8c67e",
    parts: &[&[
        opt("Identity", Str), // HostedConnectionFilterPolicyIdParameter
    ]],
};

/// `Set-HostedConnectionFilterPolicy`.
pub const SET_HOSTEDCONNECTIONFILTERPOLICY: CmdletSpec = CmdletSpec {
    name: "Set-HostedConnectionFilterPolicy",
    source: page!("Set-HostedConnectionFilterPolicy"),
    changed: "0ce92c7b67bb08a4e0ddc014c4cc2ae81f24dcf8",
    parts: &[&[
        req("Identity", Str), // HostedConnectionFilterPolicyIdParameter
        opt("AdminDisplayName", Str),
        opt("ConfigurationXmlRaw", Str),
        opt("Confirm", Switch),
        opt("EnableSafeList", Bool),
        opt("IPAllowList", List),
        opt("IPBlockList", List),
        opt("MakeDefault", Switch),
        opt("WhatIf", Switch),
    ]],
};

/// `Get-TenantAllowBlockListSpoofItems`.
pub const GET_TENANTALLOWBLOCKLISTSPOOFITEMS: CmdletSpec = CmdletSpec {
    name: "Get-TenantAllowBlockListSpoofItems",
    source: page!("Get-TenantAllowBlockListSpoofItems"),
    changed: "0ce0a1b29deae9ee0ade5f2fdc415d04090e6f1a",
    parts: &[&[
        opt("Identity", Str), // HostedConnectionFilterPolicyIdParameter
        opt("Action", SPOOF_ACTION),
        opt("SpoofType", SPOOF_TYPE),
    ]],
};

/// `New-TenantAllowBlockListSpoofItems`.
pub const NEW_TENANTALLOWBLOCKLISTSPOOFITEMS: CmdletSpec = CmdletSpec {
    name: "New-TenantAllowBlockListSpoofItems",
    source: page!("New-TenantAllowBlockListSpoofItems"),
    changed: "eda2c42b9b7ab27352dc773176c89e6dee6df78e",
    parts: &[&[
        req("Identity", Str), // HostedConnectionFilterPolicyIdParameter
        req("SendingInfrastructure", Str),
        req("SpoofedUser", Str),
        req("SpoofType", SPOOF_TYPE),
        req("Action", SPOOF_ACTION),
        opt("Confirm", Switch),
        opt("WhatIf", Switch),
    ]],
};

/// `Remove-TenantAllowBlockListSpoofItems`.
pub const REMOVE_TENANTALLOWBLOCKLISTSPOOFITEMS: CmdletSpec = CmdletSpec {
    name: "Remove-TenantAllowBlockListSpoofItems",
    source: page!("Remove-TenantAllowBlockListSpoofItems"),
    changed: "a7f0817cd6381719c3fca1ad2d0fae244af31fd2",
    parts: &[&[
        req("Identity", Str), // HostedConnectionFilterPolicyIdParameter
        req("Ids", List),     // String[]
        opt("Confirm", Switch),
        opt("WhatIf", Switch),
    ]],
};

/// `Get-AcceptedDomain`.
pub const GET_ACCEPTEDDOMAIN: CmdletSpec = CmdletSpec {
    name: "Get-AcceptedDomain",
    source: page!("Get-AcceptedDomain"),
    changed: "1123e49b6758d6d84ee7babe4a35aab8569dd41f",
    parts: &[&[
        opt("Identity", Str), // AcceptedDomainIdParameter
        opt("ResultSize", ResultSize),
    ]],
};

/// `Get-UnifiedGroup`.
pub const GET_UNIFIEDGROUP: CmdletSpec = CmdletSpec {
    name: "Get-UnifiedGroup",
    source: page!("Get-UnifiedGroup"),
    changed: "0ce0a1b29deae9ee0ade5f2fdc415d04090e6f1a",
    parts: &[&[
        only("Identity", "Identity", Str), // UnifiedGroupIdParameter
        only("AnrSet", "Anr", Str),
        opt("Filter", Str),
        opt(
            "IncludeAcceptMessagesOnlyFromSendersOrMembersWithDisplayNames",
            Switch,
        ),
        opt("IncludeAllProperties", Switch),
        opt(
            "IncludeBypassModerationFromSendersOrMembersWithDisplayNames",
            Switch,
        ),
        opt("IncludeGrantSendOnBehalfToWithDisplayNames", Switch),
        opt("IncludeModeratedByWithDisplayNames", Switch),
        opt(
            "IncludeRejectMessagesFromSendersOrMembersWithDisplayNames",
            Switch,
        ),
        opt("IncludeSoftDeletedGroups", Switch),
        opt("ResultSize", ResultSize),
        opt("SortBy", Str),
    ]],
};
