//! Where a webhook may point. URLs on the subscribe form come from strangers, so by default Vigil
//! only calls public https addresses: a URL naming (or resolving to) loopback, private, link-local,
//! shared or cloud-metadata addresses is refused when it is typed, and again at every delivery by
//! the resolver itself — a name that resolved to a public address yesterday and to 10.0.0.5 today
//! (DNS rebinding) gets no connection. Redirects are never followed.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use reqwest::{
    dns::{Addrs, Name, Resolve, Resolving},
    Url,
};
use vigil_core::model::subscriber::{is_discord_webhook_path, SubscriberKind, DISCORD_HOSTS};

/// Whether Vigil must not connect to `ip` on a stranger's behalf.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => forbidden_v4(a),
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let s = a.segments();
            a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local (fd00:ec2::254 is AWS's metadata)
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated, still routed by some)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64: an IPv4 address in disguise
                || (s[0] == 0x2002) // 6to4: likewise
                || s[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible (deprecated)
        }
    }
}

fn forbidden_v4(a: Ipv4Addr) -> bool {
    let o = a.octets();
    a.is_loopback()
        || a.is_private()
        || a.is_link_local() // 169.254.169.254: the cloud metadata service
        || a.is_unspecified()
        || a.is_broadcast()
        || a.is_multicast()
        || a.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // shared address space (100.100.100.200: Alibaba metadata)
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking
        || o[0] >= 240 // reserved
}

/// A webhook URL checked for its kind. `field` names the form/API field for the error.
pub fn check(kind: SubscriberKind, raw: &str, allow_private: bool) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("`{raw}` is not a URL ({e})"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => return Err("use an https:// URL: updates are not sent in clear text".into()),
        other => {
            return Err(format!(
                "`{other}:` URLs cannot receive webhooks; use https://"
            ))
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("remove the user name and password from the URL".into());
    }
    let host = url
        .host_str()
        .ok_or_else(|| "the URL has no host".to_string())?;
    if kind == SubscriberKind::Discord {
        if !allow_private && !DISCORD_HOSTS.contains(&host.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "`{host}` is not Discord: paste the URL from the channel's Integrations → Webhooks (https://discord.com/api/webhooks/…)"
            ));
        }
        if !is_discord_webhook_path(url.path()) {
            return Err("a Discord webhook URL looks like https://discord.com/api/webhooks/123…/abc…: copy it whole from Integrations → Webhooks".into());
        }
    }
    if !allow_private {
        let literal = match url.host() {
            Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
            Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
            _ => None,
        };
        if literal.is_some_and(is_forbidden)
            || host.eq_ignore_ascii_case("localhost")
            || host.to_ascii_lowercase().ends_with(".localhost")
        {
            return Err(format!(
                "`{host}` is a loopback, private or link-local address; Vigil only calls public addresses"
            ));
        }
    }
    Ok(url)
}

/// As [`check`], and the name must resolve to at least one public address now (refusing early
/// what delivery would refuse anyway).
pub async fn check_resolving(
    kind: SubscriberKind,
    raw: &str,
    allow_private: bool,
) -> Result<Url, String> {
    let url = check(kind, raw, allow_private)?;
    if allow_private
        || url
            .host()
            .is_some_and(|h| !matches!(h, url::Host::Domain(_)))
    {
        return Ok(url);
    }
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    .map_err(|_| format!("`{host}` did not resolve within 5 s"))?
    .map_err(|_| format!("`{host}` does not resolve: check the host name"))?
    .collect();
    if addrs.iter().all(|a| is_forbidden(a.ip())) {
        return Err(format!(
            "`{host}` resolves to a loopback, private or link-local address; Vigil only calls public addresses"
        ));
    }
    Ok(url)
}

/// The resolver deliveries use: it answers only with public addresses, so every connection is
/// checked when it is made, whatever the name resolved to before.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !is_forbidden(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!(
                    "{host} resolves only to loopback, private or link-local addresses"
                )
                .into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client for subscribers' webhooks: no redirects, no proxies from the environment, and
/// (unless private targets are allowed) the public-only resolver.
pub fn client(allow_private: bool) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .user_agent(concat!("Vigil/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        // Strangers' receivers: their answers are read raw and capped, never inflated.
        .no_gzip()
        .pool_max_idle_per_host(64);
    if !allow_private {
        b = b.dns_resolver(Arc::new(PublicOnly));
    }
    b.build().expect("the HTTP client builds")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(is_forbidden(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_are_checked_for_their_kind() {
        let webhook = SubscriberKind::Webhook;
        let discord = SubscriberKind::Discord;
        assert!(check(webhook, "https://hooks.example.org/x", false).is_ok());
        for (kind, url, says) in [
            (webhook, "http://hooks.example.org/x", "https"),
            (webhook, "ftp://hooks.example.org/x", "cannot receive"),
            (webhook, "https://127.0.0.1/x", "loopback"),
            (webhook, "https://[::1]/x", "loopback"),
            (webhook, "https://169.254.169.254/latest", "link-local"),
            (webhook, "https://localhost:8080/x", "loopback"),
            (webhook, "https://u:p@hooks.example.org/x", "user name"),
            (webhook, "not a url", "not a URL"),
            (
                discord,
                "https://hooks.example.org/api/webhooks/1/a",
                "not Discord",
            ),
            (discord, "https://discord.com/channels/1/2", "looks like"),
        ] {
            let e = check(kind, url, false).unwrap_err();
            assert!(e.contains(says), "{url}: {e}");
        }
        assert!(check(
            discord,
            "https://discord.com/api/webhooks/123/abc_DEF",
            false
        )
        .is_ok());
        // Tests and closed networks: the simulator's Discord on loopback, over http.
        assert!(check(discord, "http://127.0.0.1:4201/api/webhooks/1/a", true).is_ok());
        assert!(check(discord, "http://127.0.0.1:4201/hook/a", true).is_err());
    }
}
