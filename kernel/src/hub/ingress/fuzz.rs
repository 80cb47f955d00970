//! Property tests of the edge: arbitrary bytes and arbitrary envelopes through parsing and the
//! guardrail path (permissions and rate limits configured). Nothing panics, every frame that is
//! not an envelope gets exactly one `kernel.error`, every binary frame that is not a whole binary
//! envelope (or comes from a connection that did not negotiate binary frames) exactly one
//! `bad_request`, and every request gets exactly one answer carrying its `_request_id` (some
//! services answer from a task: the request cases run on a runtime and wait for the answer).

use std::num::{NonZeroU32, NonZeroU64};

use aether_shared::catalog::{TopicKind, classify, requests};
use aether_shared::{Bytes, Envelope, frame};
use proptest::prelude::*;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{handle_binary, handle_text};
use crate::app::Kernel;
use crate::config::{Action, Config, PermissionRule, RateRule, TopicPrefix};
use crate::guard::Principal;
use crate::hub::Peer;

fn guarded_kernel() -> Kernel {
    let data_dir = std::env::temp_dir().join(format!("aether-fuzz-{:016x}", rand::random::<u64>()));
    let config = Config {
        data_dir: Some(data_dir),
        permissions: vec![
            PermissionRule {
                topic_prefix: TopicPrefix::parse("vm.kill").unwrap(),
                action: Action::Deny,
            },
            PermissionRule {
                topic_prefix: TopicPrefix::parse("").unwrap(),
                action: Action::Allow,
            },
        ],
        rate_limits: vec![RateRule {
            topic: "kernel.*".parse().unwrap(),
            limit: NonZeroU32::new(5).unwrap(),
            burst: NonZeroU32::new(3).unwrap(),
            window_ms: NonZeroU64::new(1_000).unwrap(),
        }],
        ..Config::default()
    };
    Kernel::with_assets(config, CancellationToken::new(), &[])
}

fn peer(kernel: &Kernel) -> (Peer, mpsc::Receiver<crate::bus::Queued>) {
    attach(kernel, false)
}

/// A peer whose connection negotiated binary frames (`binary`) or did not.
fn attach(kernel: &Kernel, binary: bool) -> (Peer, mpsc::Receiver<crate::bus::Queued>) {
    let permit = kernel
        .guards
        .connections
        .acquire(Principal::Local, usize::MAX, std::time::Duration::MAX)
        .unwrap();
    Peer::attach(kernel, Principal::Local, permit, binary)
}

/// Binary frames: arbitrary bytes, and real frames with a few bytes changed or cut.
fn binary_frame() -> impl Strategy<Value = Vec<u8>> {
    let real = (
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
        any::<usize>(),
    )
        .prop_map(|(bytes, flips, cut)| {
            let header = r#"{"topic":"vfs:write","to":"s-nobody","payload":{"_request_id":"r-1","path":"/a","encoding":"binary"}}"#;
            let mut frame = (header.len() as u32).to_be_bytes().to_vec();
            frame.extend_from_slice(header.as_bytes());
            frame.extend_from_slice(&bytes);
            for (at, byte) in flips {
                let at = at % frame.len();
                frame[at] = byte;
            }
            frame.truncate(cut % (frame.len() + 1));
            frame
        });
    prop_oneof![proptest::collection::vec(any::<u8>(), 0..64), real]
}

fn drain(rx: &mut mpsc::Receiver<crate::bus::Queued>) -> Vec<Envelope> {
    let mut out = Vec::new();
    while let Ok(frame) = rx.try_recv() {
        out.push(Envelope::from_json(&frame).expect("the kernel only sends valid envelopes"));
    }
    out
}

fn request_topic() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(requests().map(|(t, _)| t.to_string()).collect::<Vec<_>>()),
        "(kernel|vm|task|ai|bus)\\.[a-z]{1,8}",
        "(vfs|compute):[a-z]{1,8}",
    ]
}

fn payload() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "\\PC{0,12}".prop_map(serde_json::Value::from),
    ];
    proptest::collection::btree_map("[a-z_]{1,10}", leaf, 0..5)
        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics_and_non_envelopes_get_one_error(text in "\\PC{0,200}") {
        let kernel = guarded_kernel();
        let (mut peer, mut rx) = peer(&kernel);
        drain(&mut rx); // nothing yet, but keep the queue honest
        handle_text(&kernel, &mut peer, &text);
        let out = drain(&mut rx);
        if Envelope::from_json(&text).is_err() {
            prop_assert_eq!(out.len(), 1);
            prop_assert_eq!(out[0].topic.as_str(), "kernel.error");
        }
    }

    #[test]
    fn arbitrary_binary_frames_never_panic_and_broken_ones_get_one_bad_request(
        frame in binary_frame(),
        negotiated in any::<bool>(),
    ) {
        let kernel = guarded_kernel();
        let (mut peer, mut rx) = attach(&kernel, negotiated);
        handle_binary(&kernel, &mut peer, Bytes::from(frame.clone()));
        let out = drain(&mut rx);
        if !negotiated || frame::decode(Bytes::from(frame)).is_err() {
            prop_assert_eq!(out.len(), 1, "{:?}", out);
            prop_assert!(out[0].topic.is_error());
            prop_assert_eq!(&out[0].payload.as_ref().unwrap()["code"], "bad_request");
            prop_assert_eq!(out[0].to.as_deref(), Some(peer.id()));
        }
    }

    #[test]
    fn every_request_gets_exactly_one_correlated_answer(
        topic in request_topic(),
        mut body in payload(),
        repeats in 1usize..6,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let kernel = guarded_kernel();
        let data_dir = kernel.config.data_dir.clone();
        let outcome: Result<(), TestCaseError> = runtime.block_on(async {
            let (mut peer, mut rx) = peer(&kernel);
            for i in 0..repeats {
                let id = format!("r-{i}");
                body["_request_id"] = serde_json::Value::from(id.clone());
                let text = serde_json::json!({"topic": topic, "payload": body}).to_string();
                handle_text(&kernel, &mut peer, &text);
                let parsed = Envelope::from_json(&text).ok();
                let is_request = parsed
                    .as_ref()
                    .is_some_and(|e| matches!(classify(&e.topic), Some(TopicKind::Request(_))));
                let is_unknown = parsed.as_ref().is_some_and(|e| classify(&e.topic).is_none());
                if !(is_request || is_unknown || parsed.is_none()) {
                    drain(&mut rx);
                    continue;
                }
                let first = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv()).await;
                let Ok(Some(first)) = first else {
                    return Err(TestCaseError::fail(format!("{text} got no answer")));
                };
                // Let anything else it caused arrive, then nothing more may be there.
                for _ in 0..4 {
                    tokio::task::yield_now().await;
                }
                let mut out = vec![Envelope::from_json(&first).expect("a valid envelope")];
                out.extend(drain(&mut rx));
                prop_assert_eq!(out.len(), 1, "{} → {:?}", text, out);
                prop_assert_eq!(out[0].request_id(), Some(id.as_str()));
                prop_assert_eq!(out[0].to.as_deref(), Some(peer.id()));
            }
            Ok(())
        });
        drop(kernel);
        drop(runtime);
        if let Some(dir) = data_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        outcome?;
    }
}
