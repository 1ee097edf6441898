//! Which addresses a metadata document may be fetched from (`fetch`): public ones only, loopback
//! when allowed; an IPv4 address inside IPv6 counts as its IPv4.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What an address is, for fetching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Public,
    Loopback,
    /// Private, link-local, multicast, unspecified, documentation, shared (CGNAT) or reserved.
    Internal,
}

/// Classifies an address; IPv4 inside IPv6 (mapped, compatible, NAT64, 6to4) as its IPv4.
pub fn classify(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Reach {
    let [a, b, c, _] = ip.octets();
    if a == 127 {
        return Reach::Loopback;
    }
    let internal = a == 0 // "this network", unspecified
        || a == 10
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254) // link-local
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224; // multicast, reserved, broadcast
    if internal {
        Reach::Internal
    } else {
        Reach::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> Reach {
    if ip.is_loopback() {
        return Reach::Loopback;
    }
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    // IPv4-compatible (deprecated) ::a.b.c.d, and NAT64 64:ff9b::a.b.c.d.
    if s[..6] == [0, 0, 0, 0, 0, 0] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = s;
        return match classify_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo))) {
            Reach::Public if s[0] == 0x64 => Reach::Public,
            _ => Reach::Internal,
        };
    }
    // 6to4 2002:a.b.c.d::/48.
    if s[0] == 0x2002 {
        return match classify_v4(Ipv4Addr::from((u32::from(s[1]) << 16) | u32::from(s[2]))) {
            Reach::Public => Reach::Public,
            _ => Reach::Internal,
        };
    }
    let internal = ip.is_unspecified()
        || s[0] & 0xff00 == 0xff00 // multicast
        || s[0] & 0xffc0 == 0xfe80 // link-local
        || s[0] & 0xffc0 == 0xfec0 // site-local (deprecated)
        || s[0] & 0xfe00 == 0xfc00 // unique local
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0) // Teredo
        || (s[0] == 0x2001 && s[1] & 0xfff0 == 0x0010) // ORCHID
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only
        || s[0] & 0xe000 != 0x2000; // outside global unicast 2000::/3
    if internal {
        Reach::Internal
    } else {
        Reach::Public
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach(ip: &str) -> Reach {
        classify(ip.parse().unwrap())
    }

    #[test]
    fn public_addresses() {
        for ip in [
            "93.184.215.14",
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(reach(ip), Reach::Public, "{ip}");
        }
    }

    #[test]
    fn loopback_addresses() {
        for ip in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(reach(ip), Reach::Loopback, "{ip}");
        }
    }

    #[test]
    fn internal_addresses() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "fe80::1",
            "fec0::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
            "100::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::10.0.0.1",
            "::8.8.8.8",
            "64:ff9b::a00:1",
            "64:ff9b::7f00:1",
            "2002:a00:1::1",
            "2002:7f00:1::1",
            "4000::1",
        ] {
            assert_eq!(reach(ip), Reach::Internal, "{ip}");
        }
    }
}
