//! Unit tests of routing, back-pressure and the kernel's own requests, on the real bus with
//! in-process clients (the hub's sockets are covered by `kernel/tests/`).

use std::sync::Arc;
use std::time::Duration;

use aether_shared::kernel::{Ping, Pong};
use aether_shared::{Envelope, ErrorCode, ErrorPayload, Pattern, Topic};
use tokio::sync::mpsc;

use super::*;
use crate::guard::Principal;

fn client(bus: &Bus, id: &str, queue: usize, patterns: &[&str]) -> mpsc::Receiver<Queued> {
    let (handle, rx) = ClientHandle::new(id.to_owned(), Principal::Local, queue);
    let patterns: Vec<Pattern> = patterns
        .iter()
        .map(|p| Pattern::parse(p).unwrap())
        .collect();
    handle.subscribe(&patterns, 16).unwrap();
    assert!(bus.attach(Arc::new(handle)));
    rx
}

fn event(topic: &str) -> Envelope {
    Envelope::new(Topic::parse(topic).unwrap())
}

fn received(rx: &mut mpsc::Receiver<Queued>) -> Vec<Envelope> {
    let mut out = Vec::new();
    while let Ok(frame) = rx.try_recv() {
        out.push(Envelope::from_json(&frame).unwrap());
    }
    out
}

#[test]
fn fan_out_reaches_only_matching_subscribers() {
    let bus = Bus::new();
    let mut vm = client(&bus, "c-vm", 8, &["vm.*"]);
    let mut all = client(&bus, "c-all", 8, &["*"]);
    let mut vfs = client(&bus, "c-vfs", 8, &["vfs:*"]);
    assert_eq!(bus.route(&event("vm.stdout")).unwrap(), 2);
    assert_eq!(received(&mut vm).len(), 1);
    assert_eq!(received(&mut all).len(), 1);
    assert!(received(&mut vfs).is_empty());
}

#[test]
fn addressed_envelopes_reach_their_addressee_only() {
    let bus = Bus::new();
    let mut a = client(&bus, "c-a", 8, &["*"]);
    let mut b = client(&bus, "c-b", 8, &["*"]);
    bus.route(&event("vm.stdout").to("c-b")).unwrap();
    assert!(received(&mut a).is_empty());
    assert_eq!(received(&mut b).len(), 1);
    assert_eq!(
        bus.route(&event("vm.stdout").to("c-nobody")),
        Err(RouteError::NoSuchAddress("c-nobody".into()))
    );
}

#[test]
fn a_full_queue_disconnects_that_client_and_not_the_others() {
    let bus = Bus::new();
    let slow = client(&bus, "c-slow", 2, &["*"]);
    let mut fast = client(&bus, "c-fast", 64, &["*"]);
    for _ in 0..10 {
        bus.route(&event("task.event")).unwrap();
        // The fast client keeps draining.
        assert_eq!(received(&mut fast).len(), 1);
    }
    assert!(!bus.is_connected("c-slow"));
    assert!(bus.is_connected("c-fast"));
    assert_eq!(bus.stats().slow_clients(), 1);
    drop(slow);
}

#[test]
fn a_taken_client_id_is_not_attached_twice() {
    let bus = Bus::new();
    let _a = client(&bus, "c-x", 1, &[]);
    let (dup, _rx) = ClientHandle::new("c-x".into(), Principal::Local, 1);
    assert!(!bus.attach(Arc::new(dup)));
}

#[tokio::test]
async fn kernel_requests_resolve_on_the_correlated_reply() {
    let bus = Bus::new();
    let mut peer = client(&bus, "c-peer", 8, &[]);
    let answering = {
        let bus = bus.clone();
        tokio::spawn(async move {
            let frame = peer.recv().await.unwrap();
            let mut req = Envelope::from_json(&frame).unwrap();
            assert_eq!(req.to.as_deref(), Some("c-peer"));
            assert_eq!(req.from.as_deref(), Some("kernel"));
            req.from = Some("kernel".into());
            let mut reply = req.reply(req.topic.resp(), &Pong { uptime_ms: 42 });
            reply.from = Some("c-peer".into());
            // Only the client the request went to may answer it.
            assert_eq!(
                bus.resolve_pending(reply.clone(), "c-other"),
                Answered::WrongPeer
            );
            assert_eq!(
                bus.resolve_pending(reply.clone(), "c-peer"),
                Answered::Settled
            );
            assert_eq!(bus.resolve_pending(reply, "c-peer"), Answered::NoRequest);
        })
    };
    let pong = bus
        .request("c-peer", &Ping {}, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(pong.uptime_ms, 42);
    answering.await.unwrap();
}

#[tokio::test]
async fn kernel_requests_end_with_the_peers_error_or_a_timeout() {
    let bus = Bus::new();
    let mut peer = client(&bus, "c-peer", 8, &[]);
    let refusing = {
        let bus = bus.clone();
        tokio::spawn(async move {
            let frame = peer.recv().await.unwrap();
            let req = Envelope::from_json(&frame).unwrap();
            let err = req.error_reply(ErrorPayload::new(ErrorCode::NotFound, "No such file."));
            assert_eq!(bus.resolve_pending(err, "c-peer"), Answered::Settled);
            peer
        })
    };
    let err = bus
        .request("c-peer", &Ping {}, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RequestError::Remote(ref e) if e.code == ErrorCode::NotFound),
        "{err}"
    );
    let _peer = refusing.await.unwrap();

    let err = bus
        .request("c-peer", &Ping {}, Duration::from_millis(20))
        .await
        .unwrap_err();
    assert!(matches!(err, RequestError::Timeout(_)), "{err}");
    let err = bus
        .request("c-gone", &Ping {}, Duration::from_millis(20))
        .await
        .unwrap_err();
    assert!(matches!(err, RequestError::Unreachable(_)), "{err}");
}

#[tokio::test]
async fn a_kernel_request_to_a_session_ends_when_its_owner_leaves() {
    let bus = Bus::new();
    let (handle, _rx) = ClientHandle::new("c-tab".into(), Principal::Local, 8);
    let handle = Arc::new(handle);
    assert!(bus.attach(Arc::clone(&handle)));
    bus.register_session("s-tab", &handle, 8).unwrap();
    let waiting = {
        let bus = bus.clone();
        tokio::spawn(async move {
            bus.request("s-tab", &Ping {}, Duration::from_secs(30))
                .await
        })
    };
    tokio::task::yield_now().await;
    // Give the request time to be registered before the owner leaves.
    while bus.inner.pending.is_empty() {
        tokio::task::yield_now().await;
    }
    bus.detach("c-tab");
    bus.release("c-tab");
    let err = waiting.await.unwrap().unwrap_err();
    assert!(
        matches!(err, RequestError::Remote(ref e) if e.code == ErrorCode::SessionNotFound),
        "{err}"
    );
    assert!(bus.resolve("s-tab").is_none());
}
