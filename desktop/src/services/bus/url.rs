//! Where the bus lives: the WebSocket URL derived from the page's own location, and the access
//! token carried on it.
//!
//! The kernel serves the desktop and the hub from one origin, so the URL is
//! `ws://<host>/ws` (or `wss://` on an https page). `trunk serve` serves the page from another
//! port; for that case a build-time `AETHER_WS_URL` replaces the derived URL. A browser cannot
//! set an `Authorization` header on a WebSocket, so the token (SPEC §6) rides as `?token=`.
//! [`take_token`] lifts it out of the page's query string (the caller then keeps it for the tab
//! and cleans the address bar, see `page_token`). Pure string work, testable natively.

/// The path of the kernel's WebSocket hub.
pub const WS_PATH: &str = "/ws";

/// The parts of the page location the URL is derived from (`window.location`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageLocation {
    /// `http:` or `https:`.
    pub protocol: String,
    /// `host[:port]`.
    pub host: String,
}

/// The hub URL for a page at `page`; `override_url` (non-empty) wins over the derived one.
/// `token` (raw, still percent-encoded) is appended unless the override already carries one.
pub fn ws_url(page: &PageLocation, override_url: Option<&str>, token: Option<&str>) -> String {
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
    match token.filter(|t| !t.is_empty()) {
        Some(token) if !base.contains("token=") => {
            let sep = if base.contains('?') { '&' } else { '?' };
            format!("{base}{sep}token={token}")
        }
        _ => base,
    }
}

/// A page query string with the token taken out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TakenToken {
    /// The raw (still percent-encoded) token, when the query had a non-empty one.
    pub token: Option<String>,
    /// The query without any `token` parameter: `?a=1&b=2`, or empty.
    pub remaining_search: String,
    /// True when the query mentioned `token` at all, so the address bar should be cleaned.
    pub found: bool,
}

/// Splits `search` (`?x=1&token=…`) into the token and the rest.
pub fn take_token(search: &str) -> TakenToken {
    let mut token = None;
    let mut found = false;
    let rest: Vec<&str> = search
        .trim_start_matches('?')
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let value = pair
                .strip_prefix("token=")
                .or_else(|| (*pair == "token").then_some(""));
            match value {
                Some(value) => {
                    found = true;
                    if !value.is_empty() && token.is_none() {
                        token = Some(value.to_owned());
                    }
                    false
                }
                None => true,
            }
        })
        .collect();
    TakenToken {
        token,
        remaining_search: if rest.is_empty() {
            String::new()
        } else {
            format!("?{}", rest.join("&"))
        },
        found,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(protocol: &str, host: &str) -> PageLocation {
        PageLocation {
            protocol: protocol.into(),
            host: host.into(),
        }
    }

    #[test]
    fn the_url_follows_the_page_origin_and_scheme() {
        assert_eq!(
            ws_url(&page("http:", "127.0.0.1:8080"), None, None),
            "ws://127.0.0.1:8080/ws"
        );
        assert_eq!(
            ws_url(&page("https:", "aether.example"), None, None),
            "wss://aether.example/ws"
        );
    }

    #[test]
    fn a_build_time_override_wins_unless_empty() {
        let dev = page("http:", "127.0.0.1:8081");
        assert_eq!(
            ws_url(&dev, Some("ws://127.0.0.1:8080/ws"), None),
            "ws://127.0.0.1:8080/ws"
        );
        assert_eq!(ws_url(&dev, Some(""), None), "ws://127.0.0.1:8081/ws");
    }

    #[test]
    fn the_tab_token_is_forwarded_to_the_socket() {
        let host = page("http:", "h:1");
        assert_eq!(
            ws_url(&host, None, Some("s%3Dcret")),
            "ws://h:1/ws?token=s%3Dcret"
        );
        assert_eq!(
            ws_url(&host, Some("ws://k/ws?a=b"), Some("s%3Dcret")),
            "ws://k/ws?a=b&token=s%3Dcret"
        );
        assert_eq!(
            ws_url(&host, Some("ws://k/ws?token=mine"), Some("s%3Dcret")),
            "ws://k/ws?token=mine"
        );
        assert_eq!(ws_url(&host, None, Some("")), "ws://h:1/ws");
    }

    #[test]
    fn the_token_is_taken_out_of_the_query_and_the_rest_kept_in_order() {
        let taken = take_token("?x=1&token=s%3Dcret&y=2");
        assert_eq!(taken.token.as_deref(), Some("s%3Dcret"));
        assert_eq!(taken.remaining_search, "?x=1&y=2");
        assert!(taken.found);

        let only = take_token("?token=abc");
        assert_eq!(only.token.as_deref(), Some("abc"));
        assert_eq!(only.remaining_search, "");

        let none = take_token("?tokens=1&x=token=2");
        assert_eq!(none.token, None);
        assert_eq!(none.remaining_search, "?tokens=1&x=token=2");
        assert!(!none.found);

        // An empty token is removed from the address bar but gives no token.
        let empty = take_token("?token=&a=1&token");
        assert_eq!((empty.token, empty.found), (None, true));
        assert_eq!(empty.remaining_search, "?a=1");

        assert_eq!(take_token("").remaining_search, "");
        assert!(!take_token("?").found);
    }
}
