//! IP Allow and Block List entries, as Exchange accepts them.

use std::net::Ipv4Addr;

/// Checks an IP Allow/Block List entry: an IPv4 address, an IPv4 range `a-b`, or an IPv4 CIDR
/// range with a /24 to /32 mask. IPv6 is refused.
pub fn check_ipv4_entry(entry: &str) -> Result<(), String> {
    let e = entry.trim();
    let bad = || {
        format!(
            "The value '{entry}' isn't valid for the IP Allow List or IP Block List. Use an IPv4 address, an IPv4 range (192.168.0.1-192.168.0.254) or a CIDR range from /24 to /32. IPv6 addresses aren't supported."
        )
    };
    if let Some((ip, mask)) = e.split_once('/') {
        let ok = ip.parse::<Ipv4Addr>().is_ok() && mask.parse::<u8>().is_ok_and(|m| (24..=32).contains(&m));
        return if ok { Ok(()) } else { Err(bad()) };
    }
    if let Some((a, b)) = e.split_once('-') {
        let ok =
            matches!((a.trim().parse::<Ipv4Addr>(), b.trim().parse::<Ipv4Addr>()), (Ok(x), Ok(y)) if x <= y);
        return if ok { Ok(()) } else { Err(bad()) };
    }
    e.parse::<Ipv4Addr>().map(|_| ()).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_entries() {
        for ok in ["1.2.3.4", "10.0.0.0/24", "10.0.0.1/32", "1.1.1.1-1.1.1.9"] {
            assert!(check_ipv4_entry(ok).is_ok(), "{ok}");
        }
        for bad in [
            "2001:db8::1",
            "2001:db8::/64",
            "10.0.0.0/16",
            "1.2.3",
            "x",
            "1.1.1.9-1.1.1.1",
        ] {
            assert!(check_ipv4_entry(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_ipv4_address_is_accepted(a: u8, b: u8, c: u8, d: u8, mask in 24u8..=32) {
            let ip = format!("{a}.{b}.{c}.{d}");
            let cidr = format!("{ip}/{mask}");
            proptest::prop_assert!(check_ipv4_entry(&ip).is_ok());
            proptest::prop_assert!(check_ipv4_entry(&cidr).is_ok());
        }
    }
}
