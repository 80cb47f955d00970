//! Where a connection comes from: the `Host` header (against DNS rebinding) and the `Origin`
//! header (against cross-site WebSocket hijacking).
//!
//! A `Host` is accepted when it is an IP literal, `localhost`, or listed in `allowed_hosts`: a
//! rebinding attack needs a host *name* that the attacker controls. An `Origin` is accepted when
//! it is the kernel's own (`http(s)://` + the accepted `Host`) or listed in `allowed_origins`. A
//! missing `Origin` is refused: browsers always send one, and tools can send one too.

use std::net::IpAddr;

use crate::config::{Config, Origin};

/// Why the upgrade was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    #[error("the request names no Host; send the kernel's address in the Host header")]
    NoHost,
    #[error(
        "Host `{0}` is not this kernel's address; add it to `allowed_hosts` if you serve Aether under that name"
    )]
    ForeignHost(String),
    #[error(
        "no Origin header: connect from the Aether desktop, or send `Origin: http://<kernel address>`"
    )]
    NoOrigin,
    #[error(
        "pages from `{0}` may not connect to this kernel; add the origin to `allowed_origins` if you trust it"
    )]
    ForeignOrigin(String),
}

/// Checks the `Host` header.
pub fn check_host(config: &Config, host: Option<&str>) -> Result<(), OriginError> {
    let host = host.ok_or(OriginError::NoHost)?;
    let name = host_name(host);
    let is_ip = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok();
    let listed = config
        .allowed_hosts
        .iter()
        .any(|h| h.eq_ignore_ascii_case(host) || h.eq_ignore_ascii_case(name));
    if is_ip || name.eq_ignore_ascii_case("localhost") || listed {
        Ok(())
    } else {
        Err(OriginError::ForeignHost(host.to_owned()))
    }
}

/// Checks the `Origin` header against the (already accepted) `Host`.
pub fn check_origin(config: &Config, host: &str, origin: Option<&str>) -> Result<(), OriginError> {
    let origin = origin.ok_or(OriginError::NoOrigin)?;
    let Ok(parsed) = Origin::parse(origin) else {
        return Err(OriginError::ForeignOrigin(origin.to_owned()));
    };
    let host = host.to_ascii_lowercase();
    let own = [format!("http://{host}"), format!("https://{host}")];
    if own.iter().any(|o| o == parsed.as_str()) || config.allowed_origins.contains(&parsed) {
        Ok(())
    } else {
        Err(OriginError::ForeignOrigin(origin.to_owned()))
    }
}

/// `example.com` of `example.com:8080`, `[::1]` of `[::1]:8080`.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map(|(h, _)| &host[..=h.len()])
            .unwrap_or(host);
    }
    host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literals_and_localhost_are_accepted_hosts_and_names_are_not() {
        let config = Config::default();
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "[::1]:8080",
            "10.0.0.5:80",
            "localhost",
        ] {
            assert_eq!(check_host(&config, Some(ok)), Ok(()), "{ok}");
        }
        for bad in ["evil.example:8080", "rebind.attacker.test"] {
            assert!(check_host(&config, Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(check_host(&config, None), Err(OriginError::NoHost));
        let named = Config {
            allowed_hosts: vec!["aether.lan".into()],
            ..Config::default()
        };
        assert_eq!(check_host(&named, Some("aether.lan:8080")), Ok(()));
    }

    #[test]
    fn only_the_own_origin_and_listed_origins_may_connect() {
        let config = Config {
            allowed_origins: vec![Origin::parse("http://127.0.0.1:8081").unwrap()],
            ..Config::default()
        };
        let host = "127.0.0.1:8080";
        assert_eq!(
            check_origin(&config, host, Some("http://127.0.0.1:8080")),
            Ok(())
        );
        assert_eq!(
            check_origin(&config, host, Some("http://127.0.0.1:8081")),
            Ok(())
        );
        assert!(check_origin(&config, host, Some("http://evil.example")).is_err());
        assert!(check_origin(&config, host, Some("http://127.0.0.1:8082")).is_err());
        assert!(check_origin(&config, host, Some("null")).is_err());
        assert_eq!(
            check_origin(&config, host, None),
            Err(OriginError::NoOrigin)
        );
    }
}
