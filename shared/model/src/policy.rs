//! Policy targets: as operators send them (validated domains, users and groups) and as stored.

use serde::{Deserialize, Serialize};

use crate::validation::{Validated, quote, validated_string_type};

/// The most entries one list may hold.
pub const MAX_TARGETS: usize = 5_000;

/// A DNS domain name, stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);

impl Validated for DomainName {
    const FIELD: &'static str = "domain";

    fn validate(raw: &str) -> Result<Self, String> {
        let lower = raw.to_ascii_lowercase();
        let ok = lower.len() <= 253
            && lower.split('.').count() >= 2
            && lower.split('.').all(|label| {
                (1..=63).contains(&label.len())
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if ok {
            Ok(Self(lower))
        } else {
            Err(format!(
                "expected a domain name such as contoso.com, got {}",
                quote(raw)
            ))
        }
    }
}
validated_string_type!(DomainName);

/// A user principal name (`alice@contoso.com`), stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserPrincipalName(String);

impl Validated for UserPrincipalName {
    const FIELD: &'static str = "user";

    fn validate(raw: &str) -> Result<Self, String> {
        let expected = || {
            format!(
                "expected a user principal name such as alice@contoso.com, got {}",
                quote(raw)
            )
        };
        // Entra's UPN characters, with a guest's `#EXT#` and a synced account's leading `$`;
        // the whole name stays within Entra's 113 characters.
        let (local, domain) = raw.rsplit_once('@').ok_or_else(expected)?;
        let local_ok = !local.is_empty()
            && raw.len() <= 113
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-'+!#^~$&".contains(c));
        if !local_ok || DomainName::validate(domain).is_err() {
            return Err(expected());
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }
}
validated_string_type!(UserPrincipalName);

/// A group's object id (a GUID).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(String);

impl Validated for GroupId {
    const FIELD: &'static str = "group";

    fn validate(raw: &str) -> Result<Self, String> {
        match uuid::Uuid::try_parse(raw) {
            Ok(id) if raw.len() == 36 => Ok(Self(id.hyphenated().to_string())),
            _ => Err(format!("expected a group object id (a GUID), got {}", quote(raw))),
        }
    }
}
validated_string_type!(GroupId);

macro_rules! as_str {
    ($($ty:ty),*) => {$(
        impl $ty {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    )*};
}
as_str!(DomainName, UserPrincipalName, GroupId);

/// Which mailboxes, domains and groups the protection covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyTargets {
    /// Protected domains; `None` means every verified domain, including new ones.
    pub domains: Option<Vec<String>>,
    /// Protected users, by user principal name.
    pub users: Vec<String>,
    /// Groups whose members are protected, by object id.
    pub groups: Vec<String>,
}

/// Policy targets in a request. `domains` absent means every verified domain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyTargetsInput {
    /// Protected domains.
    pub domains: Option<Vec<DomainName>>,
    /// Protected users.
    pub users: Vec<UserPrincipalName>,
    /// Groups whose members are protected.
    pub groups: Vec<GroupId>,
}

impl PolicyTargetsInput {
    /// Checks list sizes; the error names the field.
    pub fn check(&self, field: &str) -> Result<(), crate::event::EventError> {
        let lists = [
            ("domains", self.domains.as_ref().map_or(0, Vec::len)),
            ("users", self.users.len()),
            ("groups", self.groups.len()),
        ];
        for (name, len) in lists {
            if len > MAX_TARGETS {
                return Err(crate::event::EventError::Invalid {
                    field: format!("{field}.{name}"),
                    reason: format!("{len} entries; at most {MAX_TARGETS} are accepted"),
                });
            }
        }
        Ok(())
    }

    /// The stored form, sorted and without duplicates.
    pub fn to_record(&self) -> PolicyTargets {
        fn sorted<T: AsRef<str>>(items: impl Iterator<Item = T>) -> Vec<String> {
            let mut list: Vec<String> = items.map(|i| i.as_ref().to_owned()).collect();
            list.sort();
            list.dedup();
            list
        }
        PolicyTargets {
            domains: self
                .domains
                .as_ref()
                .map(|d| sorted(d.iter().map(DomainName::as_str))),
            users: sorted(self.users.iter().map(UserPrincipalName::as_str)),
            groups: sorted(self.groups.iter().map(GroupId::as_str)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_validate_each_kind() {
        assert_eq!(
            "Contoso.COM".parse::<DomainName>().expect("domain").as_str(),
            "contoso.com"
        );
        assert_eq!(
            "Alice@Contoso.com"
                .parse::<UserPrincipalName>()
                .expect("upn")
                .as_str(),
            "alice@contoso.com"
        );
        // A guest's and a synced account's names are principal names too (Graph's user-get).
        for good in [
            "adelevance_adatum.com#EXT#@contoso.onmicrosoft.com",
            "$adelevance@contoso.com",
        ] {
            assert!(good.parse::<UserPrincipalName>().is_ok(), "{good}");
        }
        for bad in ["contoso", "-a.com", "a..com", "ex ample.com", "é.com", ""] {
            assert_eq!(bad.parse::<DomainName>().expect_err(bad).field, "domain", "{bad}");
        }
        for bad in [
            "alice",
            "@contoso.com",
            "alice@",
            "al ice@contoso.com",
            "alice@contoso",
            "a\n@b.com",
            "a/b@contoso.com",
            "a@b@contoso.com",
        ] {
            assert_eq!(
                bad.parse::<UserPrincipalName>().expect_err(bad).field,
                "user",
                "{bad}"
            );
        }
        assert!("not-a-guid".parse::<GroupId>().is_err());
    }
}
