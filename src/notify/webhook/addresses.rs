//! The guard against server-side request forgery: a webhook URL names a host on the public
//! internet, never the hub's own machine or network (loopback, private and link-local addresses,
//! the cloud metadata service at 169.254.169.254, and the other ranges no public host has).
//!
//! A host name is checked by what it resolves to, at registration and again at every delivery;
//! a delivery connects only to the addresses its own resolution checked ([`GuardedResolver`]), so
//! a name that resolves to a public address when checked and to a private one when connecting
//! (DNS rebinding) reaches nothing. The operator's setting
//! `--webhooks-allow-private-addresses` lifts the guard (and allows `http://`), for tests and for
//! hubs whose receivers live on their own network.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

use reqwest::{
    Url,
    dns::{Addrs, Name, Resolve, Resolving},
};

/// The stable message of a URL refused for the address it resolves to.
pub const REFUSED_ADDRESS: &str = "the URL's host is or resolves to a loopback, private, link-local or other internal address, \
     which webhooks may not reach";
/// The stable message of a URL that is not `https://`.
pub const REFUSED_SCHEME: &str = "a webhook URL must start with https://";
/// The stable message of a host that resolves to no address.
pub const UNRESOLVED: &str = "the URL's host resolves to no address";
/// The longest URL taken.
pub const MAX_URL_CHARS: usize = 2_000;

/// Why an address is not for webhooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Internal {
    /// 127.0.0.0/8, ::1: this machine.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16, 100.64/10 (carrier-grade NAT), fc00::/7.
    Private,
    /// 169.254/16 (the cloud metadata service among them), fe80::/10.
    LinkLocal,
    /// 0.0.0.0/8, :: (reaches this machine on many systems).
    Unspecified,
    /// 224/4, ff00::/8.
    Multicast,
    /// Ranges no public host has: IETF protocol assignments, benchmarking, documentation,
    /// 240/4 and broadcast, the deprecated IPv4-compatible IPv6 addresses.
    Reserved,
}

impl std::fmt::Display for Internal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Loopback => "a loopback address",
            Self::Private => "a private address",
            Self::LinkLocal => "a link-local address",
            Self::Unspecified => "an unspecified address",
            Self::Multicast => "a multicast address",
            Self::Reserved => "a reserved address",
        })
    }
}

/// Whether `ip` is internal, and how. IPv6 forms that carry an IPv4 address (mapped
/// `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`) are judged by it.
pub fn classify(ip: IpAddr) -> Option<Internal> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Internal> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, _, _) => Internal::Unspecified,
        (127, _, _) => Internal::Loopback,
        (10, _, _) | (192, 168, _) => Internal::Private,
        (172, 16..=31, _) => Internal::Private,
        (100, 64..=127, _) => Internal::Private,
        (169, 254, _) => Internal::LinkLocal,
        (224..=239, _, _) => Internal::Multicast,
        (240..=255, _, _) => Internal::Reserved,
        (192, 0, 0) | (192, 0, 2) | (198, 18..=19, _) | (198, 51, 100) | (203, 0, 113) => Internal::Reserved,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<Internal> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let segments = ip.segments();
    let embedded = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    match segments {
        [0, 0, 0, 0, 0, 0, 0, 0] => Some(Internal::Unspecified),
        [0, 0, 0, 0, 0, 0, 0, 1] => Some(Internal::Loopback),
        // IPv4-compatible (deprecated): no public host has one.
        [0, 0, 0, 0, 0, 0, _, _] => Some(Internal::Reserved),
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => classify_v4(embedded(high, low)),
        [0x2002, high, low, ..] => classify_v4(embedded(high, low)),
        [0x2001, 0xdb8, ..] => Some(Internal::Reserved),
        [first, ..] if first & 0xfe00 == 0xfc00 => Some(Internal::Private),
        [first, ..] if first & 0xffc0 == 0xfe80 => Some(Internal::LinkLocal),
        // Site-local (deprecated, fec0::/10): private in all but name.
        [first, ..] if first & 0xffc0 == 0xfec0 => Some(Internal::Private),
        [first, ..] if first & 0xff00 == 0xff00 => Some(Internal::Multicast),
        _ => None,
    }
}

/// Why a URL is not a webhook's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Malformed(String),
    #[error("{REFUSED_SCHEME}")]
    Scheme,
    #[error("{REFUSED_ADDRESS} ({0})")]
    Address(Internal),
    #[error("{UNRESOLVED}")]
    Unresolved,
}

/// The operator's setting, applied to URLs and addresses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Guard {
    /// `--webhooks-allow-private-addresses`: any address, and `http://`, are allowed.
    pub allow_private: bool,
}

impl Guard {
    /// Refuses an internal address unless the setting allows it.
    pub fn address(self, ip: IpAddr) -> Result<(), Refusal> {
        match classify(ip) {
            Some(internal) if !self.allow_private => Err(Refusal::Address(internal)),
            _ => Ok(()),
        }
    }

    /// The URL, if its shape is a webhook's: `https://` (or `http://` when the setting allows
    /// internal addresses), a host, no user name or password (the signature authenticates), and
    /// an IP literal host must be allowed. A host name is not resolved here (see [`Self::check`]).
    pub fn parse(self, raw: &str) -> Result<Url, Refusal> {
        if raw.chars().count() > MAX_URL_CHARS {
            return Err(Refusal::Malformed(format!("a webhook URL has at most {MAX_URL_CHARS} characters")));
        }
        let url = Url::parse(raw.trim()).map_err(|e| Refusal::Malformed(format!("not a URL: {e}")))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            _ => return Err(Refusal::Scheme),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::Malformed("a webhook URL carries no user name or password".into()));
        }
        match url.host() {
            None => return Err(Refusal::Malformed("a webhook URL needs a host".into())),
            Some(url::Host::Ipv4(ip)) => self.address(IpAddr::V4(ip))?,
            Some(url::Host::Ipv6(ip)) => self.address(IpAddr::V6(ip))?,
            Some(url::Host::Domain(_)) => {}
        }
        Ok(url)
    }

    /// [`Self::parse`], then the host resolved: every address it resolves to must be allowed (one
    /// internal address among public ones is as suspect as all of them). Registration asks this.
    pub async fn check(self, raw: &str) -> Result<Url, Refusal> {
        let url = self.parse(raw)?;
        if let Some(url::Host::Domain(name)) = url.host() {
            self.resolve(name).await?;
        }
        Ok(url)
    }

    /// The addresses of `name`, each allowed (port 0: the connection sets the URL's).
    pub async fn resolve(self, name: &str) -> Result<Vec<SocketAddr>, Refusal> {
        let addrs: Vec<SocketAddr> =
            tokio::net::lookup_host((name, 0)).await.map_err(|_| Refusal::Unresolved)?.collect();
        if addrs.is_empty() {
            return Err(Refusal::Unresolved);
        }
        for addr in &addrs {
            self.address(addr.ip())?;
        }
        Ok(addrs)
    }
}

/// The HTTP client's resolver: a delivery connects only to the addresses this resolution
/// checked, so no later look-up can swap in another (DNS rebinding).
pub struct GuardedResolver(pub Guard);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.0;
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = guard.resolve(&name).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

impl GuardedResolver {
    pub fn shared(guard: Guard) -> Arc<Self> {
        Arc::new(Self(guard))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(ip: &str) -> Option<Internal> {
        classify(ip.parse().expect("an address"))
    }

    #[test]
    fn loopback_private_and_link_local_ipv4_are_internal() {
        for (ip, expected) in [
            ("127.0.0.1", Internal::Loopback),
            ("127.255.255.254", Internal::Loopback),
            ("10.0.0.1", Internal::Private),
            ("10.255.255.255", Internal::Private),
            ("172.16.0.1", Internal::Private),
            ("172.31.255.255", Internal::Private),
            ("192.168.1.1", Internal::Private),
            ("100.64.0.1", Internal::Private),
            ("100.127.255.255", Internal::Private),
            ("169.254.169.254", Internal::LinkLocal),
            ("169.254.0.1", Internal::LinkLocal),
            ("0.0.0.0", Internal::Unspecified),
            ("0.1.2.3", Internal::Unspecified),
            ("224.0.0.1", Internal::Multicast),
            ("239.255.255.250", Internal::Multicast),
            ("255.255.255.255", Internal::Reserved),
            ("240.0.0.1", Internal::Reserved),
            ("192.0.0.8", Internal::Reserved),
            ("192.0.2.1", Internal::Reserved),
            ("198.18.0.1", Internal::Reserved),
            ("198.51.100.7", Internal::Reserved),
            ("203.0.113.9", Internal::Reserved),
        ] {
            assert_eq!(class(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_ipv4_next_to_the_internal_ranges_is_allowed() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.167.255.255",
            "192.169.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "223.255.255.255",
            "198.17.255.255",
            "198.20.0.0",
            "158.37.1.1",
        ] {
            assert_eq!(class(ip), None, "{ip}");
        }
    }

    #[test]
    fn ipv6_loopback_unique_local_link_local_and_multicast_are_internal() {
        for (ip, expected) in [
            ("::1", Internal::Loopback),
            ("::", Internal::Unspecified),
            ("fc00::1", Internal::Private),
            ("fd12:3456:789a::1", Internal::Private),
            ("fec0::1", Internal::Private),
            ("fe80::1", Internal::LinkLocal),
            ("febf:ffff::1", Internal::LinkLocal),
            ("ff02::1", Internal::Multicast),
            ("2001:db8::1", Internal::Reserved),
            ("::7f00:1", Internal::Reserved),
        ] {
            assert_eq!(class(ip), Some(expected), "{ip}");
        }
        for ip in ["2001:4860:4860::8888", "2a00:1450:400f::200e", "fbff::1", "fe7f::1", "2606:4700::1111"] {
            assert_eq!(class(ip), None, "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_carrying_an_ipv4_address_are_judged_by_it() {
        for (ip, expected) in [
            ("::ffff:127.0.0.1", Some(Internal::Loopback)),
            ("::ffff:169.254.169.254", Some(Internal::LinkLocal)),
            ("::ffff:10.1.2.3", Some(Internal::Private)),
            ("::ffff:0.0.0.0", Some(Internal::Unspecified)),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::127.0.0.1", Some(Internal::Loopback)),
            ("64:ff9b::a9fe:a9fe", Some(Internal::LinkLocal)),
            ("64:ff9b::808:808", None),
            ("2002:7f00:1::", Some(Internal::Loopback)),
            ("2002:c0a8:101::1", Some(Internal::Private)),
            ("2002:808:808::1", None),
        ] {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn the_setting_lifts_the_address_guard_and_allows_http() {
        let strict = Guard { allow_private: false };
        let open = Guard { allow_private: true };
        for url in ["http://127.0.0.1:9000/hook", "http://[::1]/", "http://169.254.169.254/latest/meta-data"]
        {
            assert!(strict.parse(url).is_err(), "{url}");
            assert!(open.parse(url).is_ok(), "{url}");
        }
        assert_eq!(strict.parse("http://8.8.8.8/"), Err(Refusal::Scheme));
        assert_eq!(strict.parse("https://127.0.0.1/"), Err(Refusal::Address(Internal::Loopback)));
        assert_eq!(strict.parse("https://[::ffff:7f00:1]/"), Err(Refusal::Address(Internal::Loopback)));
        assert_eq!(strict.parse("https://169.254.169.254/"), Err(Refusal::Address(Internal::LinkLocal)));
        assert!(strict.parse("https://8.8.8.8/hook?x=1").is_ok());
        assert!(strict.parse("https://hooks.example.no/hub").is_ok(), "names are checked when resolved");
    }

    #[test]
    fn urls_that_are_not_a_webhooks_are_refused_whatever_the_setting() {
        let open = Guard { allow_private: true };
        for url in [
            "ftp://example.no/",
            "file:///etc/passwd",
            "not a url",
            "https://user:secret@example.no/",
            "https://",
            "gopher://127.0.0.1/",
        ] {
            assert!(open.parse(url).is_err(), "{url}");
        }
        let long = format!("https://example.no/{}", "a".repeat(MAX_URL_CHARS));
        assert!(matches!(open.parse(&long), Err(Refusal::Malformed(_))));
    }

    #[tokio::test]
    async fn a_name_is_judged_by_what_it_resolves_to() {
        let strict = Guard { allow_private: false };
        assert_eq!(strict.check("https://localhost/hook").await, Err(Refusal::Address(Internal::Loopback)));
        assert!(Guard { allow_private: true }.check("http://localhost:1/").await.is_ok());
        let resolver = GuardedResolver(strict);
        let refused = resolver.resolve("localhost".parse().expect("a name")).await;
        assert!(refused.is_err(), "the delivery's own resolution refuses it too");
        assert_eq!(strict.check("https://no-such-host.invalid/").await, Err(Refusal::Unresolved));
    }
}
