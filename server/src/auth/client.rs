//! Which address a request comes from. Behind a reverse proxy the peer is the proxy; only when the
//! peer is one of the configured `auth.trusted_proxies` is `X-Forwarded-For` believed, read from
//! the right (the proxies' own appends) to the first address that is not a trusted proxy.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in forwarded.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            // Garbage where an address should be: stop believing the header here.
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_proxy;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies() {
        let trusted = vec![
            parse_proxy("10.0.0.0/8").unwrap(),
            parse_proxy("127.0.0.1").unwrap(),
        ];
        let h = headers("203.0.113.9, 10.1.2.3");
        assert_eq!(
            client_ip("127.0.0.1".parse().unwrap(), &h, &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        // A stranger cannot pick their address by sending the header themselves.
        assert_eq!(
            client_ip("198.51.100.7".parse().unwrap(), &h, &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // Spoofed entries to the left of the first untrusted hop are ignored.
        let h = headers("1.1.1.1, 203.0.113.9");
        assert_eq!(
            client_ip("127.0.0.1".parse().unwrap(), &h, &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert!(parse_proxy("nonsense").unwrap_err().contains("nonsense"));
    }
}
