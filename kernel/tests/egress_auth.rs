//! Who may use the guest network, and as whom, against a real kernel. A tab's v86 worker opens
//! `/wisp` and posts to `/wisp/dns-query` with the tab's token as `?token=` (browsers set no
//! headers on a WebSocket); the kernel admits both through `hub::admit`, as it admits `/ws`
//! (Host, Origin, then the token: 403, 403, 401), and everything the machine does afterwards is
//! its principal's: its streams' audit lines, its seats (machines per principal), the names it
//! was given by DNS. These tests hold `/wisp` and its DNS to `/ws`'s answer for every way of
//! presenting a token, with a client token configured and without, and show that one
//! principal's machines neither see another's names nor spend another's quota or seats.

#[path = "support/audit_log.rs"]
mod audit_log;
mod support;
#[path = "support/wisp.rs"]
mod wisp;

use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};

use aether_kernel::Config;
use aether_kernel::config::egress::EgressRules;
use aether_kernel::net::wisp::Packet;
use audit_log::{AuditLine, AuditLog};
use support::{Client, Dial};
use tokio_tungstenite::tungstenite::http::StatusCode;
use wisp::{
    BLOCKED, THROTTLED, VOLUNTARY, Wisp, allow, dial_wisp_as, dns_query, doh, doh_as, echo_server,
    flood_server,
};

/// The tab's token (`client_token`): what the desktop and its v86 worker present.
const TAB_TOKEN: &str = "tab-token-0123456789";
/// Another principal's token (`admin_token`).
const ADMIN_TOKEN: &str = "admin-token-0123456789";

/// A kernel with `tokens` (client, admin) and egress `rules` built from the kernel's address.
async fn kernel_with(
    tokens: (Option<&str>, Option<&str>),
    rules: impl FnOnce(SocketAddr) -> EgressRules,
) -> support::TestKernel {
    support::start_with(|addr| {
        let mut config = Config {
            client_token: tokens.0.map(str::to_owned),
            admin_token: tokens.1.map(str::to_owned),
            ..Config::default()
        };
        config.compute.v86.egress = rules(addr);
        config
    })
    .await
}

fn query(token: &str) -> Dial {
    Dial {
        query_token: Some(token.into()),
        ..Dial::default()
    }
}

fn bearer(token: &str) -> Dial {
    Dial {
        bearer: Some(token.into()),
        ..Dial::default()
    }
}

/// A `/ws` client presenting `how`, to read `kernel.stats`.
async fn refusals_as(addr: SocketAddr, how: &Dial, reason: &str) -> u64 {
    let mut client = Client::connect_as(addr, how).await;
    support::refusals(&mut client, reason).await
}

/// Opens a stream of `wisp` to the echo at `echo`, sends `bytes`, reads them back and closes it;
/// returns the stream's audit line.
async fn echo_once(
    wisp: &mut Wisp,
    log: &AuditLog,
    stream: u32,
    echo: SocketAddr,
    bytes: &[u8],
) -> AuditLine {
    wisp.open(stream, "127.0.0.1", echo.port()).await;
    wisp.data(stream, bytes).await;
    assert_eq!(wisp.read_exact(stream, bytes.len()).await, bytes);
    wisp.send(Packet::Close {
        stream,
        reason: VOLUNTARY,
    })
    .await;
    assert_eq!(wisp.read_to_close(stream).await, (vec![], VOLUNTARY));
    let port = echo.port().to_string();
    log.line(|l| {
        l.get("message").map(String::as_str) == Some("guest network connection closed")
            && l.get("port") == Some(&port)
            && l.get("bytes_up") == Some(&bytes.len().to_string())
    })
    .await
}

/// Whether `dial_wisp_as`, `support::dial` (`/ws`) and `doh_as` give one answer for `how`: the
/// status of each (200 for an upgrade or a DNS answer).
async fn answers(addr: SocketAddr, how: &Dial) -> [StatusCode; 3] {
    let ok = |r: Result<_, StatusCode>| r.map_or_else(|status| status, |_| StatusCode::OK);
    [
        ok(support::dial(addr, how).await),
        ok(dial_wisp_as(addr, how).await),
        doh_as(addr, how, dns_query("example.org")).await.0,
    ]
}

#[tokio::test]
async fn the_tabs_token_in_the_query_opens_the_relay_and_its_streams_are_the_token_principals() {
    let log = AuditLog::capture();
    let echo = echo_server().await;
    let kernel = kernel_with((Some(TAB_TOKEN), Some(ADMIN_TOKEN)), |_| {
        allow(&[echo.to_string()])
    })
    .await;
    // As the worker opens it: `/wisp?token=<the tab's token>`, from the page's origin.
    let mut wisp = Wisp::connect(kernel.addr, Some(TAB_TOKEN)).await;
    let line = echo_once(&mut wisp, log, 1, echo, b"ping").await;
    assert_eq!(line["principal"], "token");
    assert_eq!(line["host"], "127.0.0.1");
    assert_eq!(
        (line["bytes_up"].as_str(), line["bytes_down"].as_str()),
        ("4", "4")
    );
    assert_eq!(line["close"], "voluntary");
    // A refusal of that machine is audited as the same principal, and counted.
    wisp.open(2, "127.0.0.1", echo.port() ^ 1).await;
    assert_eq!(wisp.closed(2).await, BLOCKED);
    let refused = log
        .line(|l| {
            l.get("reason").map(String::as_str) == Some("egress_denied")
                && l["message"].contains(&format!("127.0.0.1:{}", echo.port() ^ 1))
        })
        .await;
    assert_eq!(refused["principal"], "token");
    assert_eq!(refused["client_id"], line["machine"], "the machine's name");
    let tab = query(TAB_TOKEN);
    assert_eq!(refusals_as(kernel.addr, &tab, "egress_denied").await, 1);
    // The admin token opens the relay as the admin, never as the tab.
    let mut admin = Wisp::connect_as(kernel.addr, &bearer(ADMIN_TOKEN)).await;
    let line = echo_once(&mut admin, log, 1, echo, b"admin!").await;
    assert_eq!(line["principal"], "admin");
}

#[tokio::test]
async fn with_a_client_token_the_relay_and_its_dns_answer_every_presented_token_as_ws_does() {
    let kernel = kernel_with((Some(TAB_TOKEN), Some(ADMIN_TOKEN)), |_| {
        EgressRules::default()
    })
    .await;
    let addr = kernel.addr;
    let unauthorized = [StatusCode::UNAUTHORIZED; 3];
    let forbidden = [StatusCode::FORBIDDEN; 3];
    let cases = [
        ("no token", Dial::default(), unauthorized),
        ("an empty token", query(""), unauthorized),
        (
            "a wrong token",
            query("not-the-token-0123456789"),
            unauthorized,
        ),
        (
            "a wrong bearer",
            bearer("not-the-token-0123456789"),
            unauthorized,
        ),
        // The header wins over the query, as on `/ws`: a wrong bearer is not saved by the query.
        (
            "a wrong bearer beside the tab's token",
            Dial {
                bearer: Some("not-the-token-0123456789".into()),
                ..query(TAB_TOKEN)
            },
            unauthorized,
        ),
        (
            "the tab's token in the query",
            query(TAB_TOKEN),
            [StatusCode::OK; 3],
        ),
        (
            "the tab's token as a bearer",
            bearer(TAB_TOKEN),
            [StatusCode::OK; 3],
        ),
        ("the admin token", query(ADMIN_TOKEN), [StatusCode::OK; 3]),
        // Origin and Host come first: the right token from another page is still refused.
        (
            "the tab's token from another origin",
            Dial {
                origin: Some("http://evil.example".into()),
                ..query(TAB_TOKEN)
            },
            forbidden,
        ),
        (
            "the tab's token to another host",
            Dial {
                host: Some("evil.example".into()),
                ..query(TAB_TOKEN)
            },
            forbidden,
        ),
    ];
    for (case, how, expected) in &cases {
        assert_eq!(
            answers(addr, how).await,
            *expected,
            "{case}: /ws, /wisp, /wisp/dns-query"
        );
    }
    // Each refusal is audited and counted once per endpoint, under the hub's reasons.
    let tab = query(TAB_TOKEN);
    assert_eq!(refusals_as(addr, &tab, "unauthorized").await, 5 * 3);
    assert_eq!(refusals_as(addr, &tab, "origin_denied").await, 3);
    assert_eq!(refusals_as(addr, &tab, "host_denied").await, 3);
}

#[tokio::test]
async fn without_a_client_token_no_token_is_the_local_principal_and_a_wrong_one_is_still_refused() {
    let log = AuditLog::capture();
    let echo = echo_server().await;
    let kernel = kernel_with((None, Some(ADMIN_TOKEN)), |_| allow(&[echo.to_string()])).await;
    let addr = kernel.addr;
    for (case, how, expected) in [
        ("no token", Dial::default(), [StatusCode::OK; 3]),
        (
            "a wrong token",
            query("not-the-token-0123456789"),
            [StatusCode::UNAUTHORIZED; 3],
        ),
        ("the admin token", bearer(ADMIN_TOKEN), [StatusCode::OK; 3]),
    ] {
        assert_eq!(
            answers(addr, &how).await,
            expected,
            "{case}: /ws, /wisp, /wisp/dns-query"
        );
    }
    assert_eq!(refusals_as(addr, &Dial::default(), "unauthorized").await, 3);
    // No token: the local principal's machine; the admin token: the admin's.
    let mut local = Wisp::connect(addr, None).await;
    assert_eq!(
        echo_once(&mut local, log, 1, echo, b"l").await["principal"],
        "local"
    );
    let mut admin = Wisp::connect(addr, Some(ADMIN_TOKEN)).await;
    assert_eq!(
        echo_once(&mut admin, log, 1, echo, b"ad").await["principal"],
        "admin"
    );
}

#[tokio::test]
async fn names_resolved_for_one_principal_open_no_stream_for_another() {
    let echo = echo_server().await;
    let kernel = kernel_with((Some(TAB_TOKEN), Some(ADMIN_TOKEN)), |_| {
        allow(&[format!("localhost:{}", echo.port())])
    })
    .await;
    // The tab's guest resolves the allowed name, with the tab's token; its machine may then reach
    // the address it was given.
    let (status, answer) = doh(kernel.addr, Some(TAB_TOKEN), dns_query("localhost")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&answer[answer.len() - 4..], &[127, 0, 0, 1]);
    let mut tab = Wisp::connect(kernel.addr, Some(TAB_TOKEN)).await;
    tab.open(1, "127.0.0.1", echo.port()).await;
    tab.data(1, b"named").await;
    assert_eq!(tab.read_exact(1, 5).await, b"named");
    // The admin was given no name: the same address is blocked for its machine.
    let mut admin = Wisp::connect(kernel.addr, Some(ADMIN_TOKEN)).await;
    admin.open(1, "127.0.0.1", echo.port()).await;
    assert_eq!(admin.closed(1).await, BLOCKED);
    let how = query(TAB_TOKEN);
    assert_eq!(refusals_as(kernel.addr, &how, "egress_denied").await, 1);
}

#[tokio::test]
async fn another_principals_machine_spends_neither_the_first_ones_quota_nor_its_seats() {
    let flood = flood_server(5000).await;
    let kernel = support::start_with(|_| {
        let mut config = Config {
            client_token: Some(TAB_TOKEN.into()),
            admin_token: Some(ADMIN_TOKEN.into()),
            ..Config::default()
        };
        config.compute.v86.egress = EgressRules {
            quota_bytes: NonZeroU64::new(1000).unwrap(),
            ..allow(&[flood.to_string()])
        };
        // One guest network per principal.
        config.compute.v86.max_machines_per_client = NonZeroU32::new(1).unwrap();
        config.limits.max_connections_per_principal = NonZeroUsize::new(1).unwrap();
        config
    })
    .await;
    let addr = kernel.addr;
    let mut tab = Wisp::connect(addr, Some(TAB_TOKEN)).await;
    // The admin's machine spends all of its quota…
    let mut admin = Wisp::connect(addr, Some(ADMIN_TOKEN)).await;
    admin.open(1, "127.0.0.1", flood.port()).await;
    admin.data(1, b"go").await;
    assert_eq!(admin.read_to_close(1).await.0.len(), 998);
    admin.open(2, "127.0.0.1", flood.port()).await;
    assert_eq!(admin.closed(2).await, THROTTLED);
    // …and the tab's machine still has all of its own.
    tab.open(1, "127.0.0.1", flood.port()).await;
    tab.data(1, b"go").await;
    let (down, reason) = tab.read_to_close(1).await;
    assert_eq!((down.len(), reason), (998, THROTTLED));
    // Seats are per principal: each holds its one; a second of either is refused, the other's
    // seat untouched.
    for token in [TAB_TOKEN, ADMIN_TOKEN] {
        let second = dial_wisp_as(addr, &query(token)).await.err();
        assert_eq!(second, Some(StatusCode::TOO_MANY_REQUESTS), "{token}");
    }
    let how = query(TAB_TOKEN);
    assert_eq!(refusals_as(addr, &how, "egress_quota").await, 3);
    assert_eq!(refusals_as(addr, &how, "connection_limit").await, 2);
}

#[tokio::test]
async fn a_token_carried_percent_encoded_as_the_page_keeps_it_is_read_as_ws_reads_it() {
    // The desktop keeps the page's `?token=` as it came (still percent-encoded) and the worker
    // appends it to `/wisp` and `/wisp/dns-query` unchanged.
    let token = "s=cret+tab/token-0123456789";
    let kernel = kernel_with((Some(token), None), |_| EgressRules::default()).await;
    let encoded = query("s%3Dcret%2Btab%2Ftoken-0123456789");
    assert_eq!(answers(kernel.addr, &encoded).await, [StatusCode::OK; 3]);
    // Not encoded, its `+` reads as a space on all three: the wrong token.
    let raw = query(token);
    assert_eq!(
        answers(kernel.addr, &raw).await,
        [StatusCode::UNAUTHORIZED; 3]
    );
}
