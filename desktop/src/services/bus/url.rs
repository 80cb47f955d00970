//! Where the bus lives: the WebSocket URL derived from the page's own location.
//!
//! The kernel serves the desktop and the hub from one origin, so the URL is
//! `ws://<host>/ws` (or `wss://` on an https page). `trunk serve` serves the page from another
//! port; for that case a build-time `AETHER_WS_URL` replaces the derived URL. A `token` in the
//! page's query string (`?token=…`, SPEC §6) is forwarded to the socket, since a browser cannot
//! set an `Authorization` header on a WebSocket. Pure string work, testable natively.

/// The path of the kernel's WebSocket hub.
pub const WS_PATH: &str = "/ws";

/// The parts of the page location the URL is derived from (`window.location`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageLocation {
    /// `http:` or `https:`.
    pub protocol: String,
    /// `host[:port]`.
    pub host: String,
    /// The query string with its leading `?`, or empty.
    pub search: String,
}

/// The hub URL for a page at `page`; `override_url` (non-empty) wins over the derived one.
pub fn ws_url(page: &PageLocation, override_url: Option<&str>) -> String {
    let base = match override_url.filter(|url| !url.is_empty()) {
        Some(url) => url.to_owned(),
        None => {
            let scheme = if page.protocol == "https:" {
                "wss"
            } else {
                "ws"
            };
            format!("{scheme}://{}{WS_PATH}", page.host)
        }
    };
    match token(&page.search) {
        Some(token) if !base.contains("token=") => {
            let sep = if base.contains('?') { '&' } else { '?' };
            format!("{base}{sep}token={token}")
        }
        _ => base,
    }
}

/// The raw (still percent-encoded) value of the `token` query parameter.
fn token(search: &str) -> Option<&str> {
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(protocol: &str, host: &str, search: &str) -> PageLocation {
        PageLocation {
            protocol: protocol.into(),
            host: host.into(),
            search: search.into(),
        }
    }

    #[test]
    fn the_url_follows_the_page_origin_and_scheme() {
        assert_eq!(
            ws_url(&page("http:", "127.0.0.1:8080", ""), None),
            "ws://127.0.0.1:8080/ws"
        );
        assert_eq!(
            ws_url(&page("https:", "aether.example", ""), None),
            "wss://aether.example/ws"
        );
    }

    #[test]
    fn a_build_time_override_wins_unless_empty() {
        let dev = page("http:", "127.0.0.1:8081", "");
        assert_eq!(
            ws_url(&dev, Some("ws://127.0.0.1:8080/ws")),
            "ws://127.0.0.1:8080/ws"
        );
        assert_eq!(ws_url(&dev, Some("")), "ws://127.0.0.1:8081/ws");
    }

    #[test]
    fn a_page_token_is_forwarded_to_the_socket() {
        let with_token = page("http:", "h:1", "?x=1&token=s%3Dcret&y=2");
        assert_eq!(ws_url(&with_token, None), "ws://h:1/ws?token=s%3Dcret");
        assert_eq!(
            ws_url(&with_token, Some("ws://k/ws?a=b")),
            "ws://k/ws?a=b&token=s%3Dcret"
        );
        assert_eq!(
            ws_url(&with_token, Some("ws://k/ws?token=mine")),
            "ws://k/ws?token=mine"
        );
        assert_eq!(
            ws_url(&page("http:", "h:1", "?token="), None),
            "ws://h:1/ws"
        );
    }
}
