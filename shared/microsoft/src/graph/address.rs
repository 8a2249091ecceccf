//! How Graph addresses a user: by user principal name in the path, which Graph's `user-get`
//! page says must be encoded (`#` of a guest's `#EXT#` as `%23`) and, for a name that starts
//! with `$`, given as a key in parentheses (`/users('$x@y.com')`); and by an e-mail address,
//! which is not a key at all and is found through `proxyAddresses`.

/// The path of the user whose principal name is `upn`.
pub fn user_by_principal_name(upn: &str) -> String {
    if upn.starts_with('$') {
        format!("/users('{}')", encode_segment(&upn.replace('\'', "''")))
    } else {
        format!("/users/{}", encode_segment(upn))
    }
}

/// The listing that finds the user who receives mail at `address` (primary or alias: Graph
/// compares proxy addresses without regard to case).
pub fn users_by_address(address: &str) -> String {
    let filter = format!(
        "proxyAddresses/any(p:p eq 'smtp:{}')",
        address.replace('\'', "''")
    );
    let filter: String = form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    format!("/users?$filter={filter}&$select=id")
}

/// Percent-encodes what a path segment cannot carry as is (`#`, `%`, `?`, `/`, spaces, ...).
fn encode_segment(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'@'
            | b'!'
            | b'$'
            | b'\'' => char::from(b).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_names_are_addressed_as_user_get_documents() {
        assert_eq!(
            user_by_principal_name("alice@contoso.com"),
            "/users/alice@contoso.com"
        );
        // user-get: "replace the # symbol with %23".
        assert_eq!(
            user_by_principal_name("adelevance_adatum.com#EXT#@contoso.com"),
            "/users/adelevance_adatum.com%23EXT%23@contoso.com"
        );
        // user-get: "/users('$AdeleVance@contoso.com')".
        assert_eq!(
            user_by_principal_name("$adelevance@contoso.com"),
            "/users('$adelevance@contoso.com')"
        );
        assert_eq!(
            user_by_principal_name("o'brien+x@contoso.com"),
            "/users/o'brien%2Bx@contoso.com"
        );
    }

    #[test]
    fn addresses_are_found_through_proxy_addresses() {
        assert_eq!(
            users_by_address("sales@contoso.com"),
            "/users?$filter=proxyAddresses%2Fany%28p%3Ap+eq+%27smtp%3Asales%40contoso.com%27%29&$select=id"
        );
    }
}
