//! Unit tests of the door and the access rules, on a real bus with in-process clients.

use std::sync::Arc;

use aether_shared::catalog::TopicKind;
use aether_shared::{Envelope, ErrorCode, ErrorPayload, ReplyKind, Topic};
use serde_json::json;
use tokio::sync::mpsc;

use super::*;
use crate::bus::Queued;
use crate::config::{Action, Config, PermissionRule, TopicPrefix};
use crate::guard::Principal;

const REQUEST: TopicKind = TopicKind::Request(ReplyKind::Resp);

fn connect(
    bus: &Bus,
    id: &str,
    principal: Principal,
) -> (Arc<ClientHandle>, mpsc::Receiver<Queued>) {
    let (handle, rx) = ClientHandle::new(id.to_owned(), principal, 16);
    let handle = Arc::new(handle);
    assert!(bus.attach(Arc::clone(&handle)));
    (handle, rx)
}

fn received(rx: &mut mpsc::Receiver<Queued>) -> Vec<Envelope> {
    std::iter::from_fn(|| rx.try_recv().ok())
        .map(|frame| Envelope::from_json(&frame).unwrap())
        .collect()
}

fn envelope(topic: &'static str, to: Option<&str>) -> Envelope {
    let mut env =
        Envelope::new(Topic::from_static(topic)).with_payload(&json!({"_request_id": "r-1"}));
    env.to = to.map(str::to_owned);
    env
}

/// The id of the client `sender` reaches at `to`, or why not.
fn reach(
    bus: &Bus,
    sender: &ClientHandle,
    to: &str,
    topic: &Topic,
    kind: TopicKind,
) -> Result<String, RouteError> {
    bus.reach(sender, to, topic, kind)
        .map(|owner| owner.id().to_owned())
}

fn read() -> Topic {
    Topic::from_static(aether_shared::vfs::Read::TOPIC)
}

/// A bus where tab `c-tab` (local) serves VFS session `s-tab` and compute session `s-box`.
fn bus_with_tab() -> (Bus, Arc<ClientHandle>) {
    let bus = Bus::new();
    let (tab, _) = connect(&bus, "c-tab", Principal::Local);
    bus.register_session("s-tab", &tab, 8).unwrap();
    bus.register_session("s-box", &tab, 8).unwrap();
    (bus, tab)
}

#[test]
fn a_tabs_file_session_answers_only_that_tab_and_the_kernel_acting_for_it() {
    let (bus, tab) = bus_with_tab();
    let (sibling, _) = connect(&bus, "c-sibling", Principal::Local);
    let (admin, _) = connect(&bus, "c-admin", Principal::Admin);
    let (agent, _inbox) = ClientHandle::agent("task-r".into(), Principal::Local, "c-tab".into(), 4);
    for address in ["s-tab", "c-tab"] {
        assert_eq!(
            reach(&bus, &tab, address, &read(), REQUEST).unwrap(),
            "c-tab"
        );
        assert_eq!(
            reach(&bus, &agent, address, &read(), REQUEST).unwrap(),
            "c-tab"
        );
        for other in [&sibling, &admin] {
            let refused = reach(&bus, other, address, &read(), REQUEST).unwrap_err();
            assert_eq!(refused, RouteError::PrivateSession(address.into()));
            assert_eq!(refused.code(), ErrorCode::PermissionDenied);
        }
    }
    // The tab's answers to other clients are not requests: they pass.
    let reply = Topic::from_static("vfs:read:resp");
    assert!(reach(&bus, &tab, "c-sibling", &reply, TopicKind::Reply).is_ok());
}

#[test]
fn a_compute_session_answers_every_client_of_its_principal() {
    let (bus, _tab) = bus_with_tab();
    let (sibling, _) = connect(&bus, "c-sibling", Principal::Local);
    let spawn = Topic::from_static(aether_shared::compute::Spawn::TOPIC);
    let kind = TopicKind::Request(ReplyKind::Ack);
    assert_eq!(
        reach(&bus, &sibling, "s-box", &spawn, kind).unwrap(),
        "c-tab"
    );
}

#[test]
fn a_shell_command_reaches_a_compute_session_only_from_its_own_tab() {
    let (bus, tab) = bus_with_tab();
    let (sibling, _) = connect(&bus, "c-sibling", Principal::Local);
    let (admin, _) = connect(&bus, "c-admin", Principal::Admin);
    let (stranger, _) = connect(&bus, "c-stranger", Principal::TokenHolder);
    let (agent, _inbox) =
        ClientHandle::agent("agent-r".into(), Principal::Local, "c-tab".into(), 4);
    let exec = Topic::from_static(aether_shared::compute::Exec::TOPIC);
    let kind = TopicKind::Request(ReplyKind::Ack);
    assert_eq!(reach(&bus, &tab, "s-box", &exec, kind).unwrap(), "c-tab");
    assert_eq!(reach(&bus, &agent, "s-box", &exec, kind).unwrap(), "c-tab");
    for other in [&sibling, &admin] {
        let refused = reach(&bus, other, "s-box", &exec, kind).unwrap_err();
        assert_eq!(refused, RouteError::PrivateMachine("s-box".into()));
        assert_eq!(refused.code(), ErrorCode::PermissionDenied);
    }
    assert_eq!(
        reach(&bus, &stranger, "s-box", &exec, kind).unwrap_err(),
        RouteError::NoSuchAddress("s-box".into())
    );
    // The tab's answer to the kernel is no request: it passes.
    let answer = Topic::from_static("compute:exec:ack");
    assert!(reach(&bus, &tab, "c-sibling", &answer, TopicKind::Reply).is_ok());
}

#[test]
fn another_principals_session_answers_exactly_as_an_absent_one() {
    let (bus, _tab) = bus_with_tab();
    let (stranger, _) = connect(&bus, "c-stranger", Principal::TokenHolder);
    let spawn = Topic::from_static(aether_shared::compute::Spawn::TOPIC);
    let kind = TopicKind::Request(ReplyKind::Ack);
    let theirs = reach(&bus, &stranger, "s-box", &spawn, kind).unwrap_err();
    let absent = reach(&bus, &stranger, "s-none", &spawn, kind).unwrap_err();
    assert_eq!(theirs, RouteError::NoSuchAddress("s-box".into()));
    assert_eq!(
        theirs.to_string().replace("s-box", "X"),
        absent.to_string().replace("s-none", "X")
    );
    assert_eq!(ErrorPayload::from(theirs).code, ErrorCode::SessionNotFound);
    // Nor does a file session change that: absent comes before private.
    let refused = reach(&bus, &stranger, "s-tab", &read(), REQUEST).unwrap_err();
    assert_eq!(refused, RouteError::NoSuchAddress("s-tab".into()));
}

#[test]
fn the_kernel_reads_from_the_first_session_of_the_client_a_requester_acts_for() {
    let (bus, tab) = bus_with_tab();
    let (agent, _inbox) = ClientHandle::agent("task-r".into(), Principal::Local, "c-tab".into(), 4);
    assert_eq!(bus.own_session(&tab).as_deref(), Some("s-box"));
    assert_eq!(bus.own_session(&agent).as_deref(), Some("s-box"));
    let (lonely, _) = connect(&bus, "c-lonely", Principal::Local);
    assert_eq!(bus.own_session(&lonely), None);
}

#[test]
fn a_run_agent_hears_only_the_kernel_and_gets_envelopes_as_values() {
    let bus = Bus::new();
    let guards = Guards::new(&Config::default());
    let (agent, mut inbox) =
        ClientHandle::agent("task-r".into(), Principal::Local, "c-caller".into(), 4);
    let agent = Arc::new(agent);
    assert!(bus.attach(Arc::clone(&agent)));
    let (forger, _) = connect(&bus, "c-forger", Principal::Local);
    let forged = envelope("kernel.ping:resp", Some("task-r"));
    assert!(matches!(
        bus.submit(&guards, &forger, forged),
        Ok(Routed::Handled)
    ));
    assert!(
        inbox.try_recv().is_err(),
        "a client's envelope never reaches the agent"
    );
    assert_eq!(bus.stats().refusals()[Reason::ForgedAnswer.as_str()], 1);

    let answer = envelope("kernel.ping:resp", Some("task-r"));
    assert_eq!(bus.publish_from_kernel(answer).unwrap(), 1);
    let got = inbox.try_recv().unwrap();
    assert_eq!(got.from.as_deref(), Some(KERNEL_ADDRESS));
    assert_eq!(got.request_id(), Some("r-1"));
    assert_eq!(agent.queued_bytes(), 0, "nothing was serialized");
}

#[test]
fn the_door_stamps_the_sender_and_sends_requests_to_their_service() {
    let bus = Bus::new();
    let guards = Guards::new(&Config::default());
    let (client, _) = connect(&bus, "c-1", Principal::Local);
    let (watcher, mut watching) = connect(&bus, "c-2", Principal::Local);
    watcher
        .subscribe(&[aether_shared::Pattern::parse("*").unwrap()], 8)
        .unwrap();
    let mut ping = envelope("kernel.ping", None);
    ping.from = Some("c-2".into());
    ping.time = "1970-01-01T00:00:00.000Z".into();
    let Ok(Routed::Service(ping)) = bus.submit(&guards, &client, ping) else {
        panic!("a request goes to its service");
    };
    assert_eq!(
        ping.from.as_deref(),
        Some("c-1"),
        "the sender cannot pose as another"
    );
    assert_ne!(ping.time, "1970-01-01T00:00:00.000Z");
    assert!(
        received(&mut watching).is_empty(),
        "requests are not fanned out"
    );
    let event = envelope("task.event", None);
    assert!(matches!(
        bus.submit(&guards, &client, event),
        Ok(Routed::Delivered(1))
    ));
    assert_eq!(received(&mut watching)[0].from.as_deref(), Some("c-1"));
}

#[test]
fn the_door_refuses_what_admission_refuses_and_records_it_once() {
    let bus = Bus::new();
    let config = Config {
        permissions: vec![PermissionRule {
            topic_prefix: TopicPrefix::parse("vm.kill").unwrap(),
            action: Action::Deny,
        }],
        ..Config::default()
    };
    let guards = Guards::new(&config);
    let (client, mut rx) = connect(&bus, "c-1", Principal::Local);
    let Err(refused) = bus.submit(&guards, &client, envelope("vm.kill", None)) else {
        panic!("denied");
    };
    assert_eq!(refused.refusal.code(), ErrorCode::PermissionDenied);
    assert_eq!(refused.env.from.as_deref(), Some("c-1"));
    assert!(
        received(&mut rx).is_empty(),
        "the sender answers, not the door"
    );
    let unknown = Envelope::new(Topic::parse("vm.nope").unwrap());
    let Err(refused) = bus.submit(&guards, &client, unknown) else {
        panic!("unknown");
    };
    assert_eq!(refused.refusal.code(), ErrorCode::UnknownTopic);
    let refusals = bus.stats().refusals();
    assert_eq!(refusals[ErrorCode::PermissionDenied.as_str()], 1);
    assert_eq!(refusals[ErrorCode::UnknownTopic.as_str()], 1);
}

#[test]
fn a_refused_relay_is_answered_to_its_sender_and_the_owner_never_sees_it() {
    let bus = Bus::new();
    let guards = Guards::new(&Config::default());
    let (tab, mut tab_rx) = connect(&bus, "c-tab", Principal::Local);
    bus.register_session("s-tab", &tab, 8).unwrap();
    let (sibling, mut sibling_rx) = connect(&bus, "c-sibling", Principal::Local);
    let read = envelope(aether_shared::vfs::Read::TOPIC, Some("s-tab"));
    assert!(matches!(
        bus.submit(&guards, &sibling, read),
        Ok(Routed::Handled)
    ));
    assert!(received(&mut tab_rx).is_empty());
    let answer = &received(&mut sibling_rx)[0];
    assert_eq!(answer.topic.as_str(), "vfs:error");
    assert_eq!(answer.request_id(), Some("r-1"));
    let error: ErrorPayload = answer.decode().unwrap();
    assert_eq!(error.code, ErrorCode::PermissionDenied);
    assert_eq!(
        bus.stats().refusals()[ErrorCode::PermissionDenied.as_str()],
        1
    );
    // The tab itself is relayed to.
    let own = envelope(aether_shared::vfs::Read::TOPIC, Some("s-tab"));
    assert!(matches!(
        bus.submit(&guards, &tab, own),
        Ok(Routed::Delivered(1))
    ));
    assert_eq!(received(&mut tab_rx)[0].from.as_deref(), Some("c-tab"));
}
