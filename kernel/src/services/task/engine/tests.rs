//! Unit tests of a run against the real services, on an in-process bus.

use std::sync::Arc;
use std::time::Duration;

use aether_shared::task::{Node, NodeState, RunState};
use aether_shared::{ErrorCode, Topic};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::config::Config;
use crate::guard::Guards;
use crate::services::task::store;

/// A run of one program node that loops until it is stopped (node timeout: a minute).
fn looping_run(bus: &Bus, services: &Arc<Services>, config: &Config) -> RunContext {
    let node = Node {
        id: "spin".into(),
        topic: Topic::from_static(aether_shared::vm::SPAWN),
        payload:
            json!({"module": {"wat": r#"(module (func (export "_start") (loop $l (br $l))))"#}})
                .as_object()
                .cloned()
                .unwrap(),
        after: vec![],
        timeout_ms: Some(60_000),
    };
    let task = StoredTask {
        task_id: "t-1".into(),
        name: "spin".into(),
        nodes: vec![node],
        timeout_ms: None,
        keep_on_disconnect: true,
        owner: Principal::Local.as_str().into(),
        defined: String::new(),
    };
    let record = store::fresh_record("r-1", &task, String::new());
    RunContext {
        bus: bus.clone(),
        services: Arc::downgrade(services),
        run_id: "r-1".into(),
        task: Arc::new(task),
        caller_id: "c-gone".into(),
        request_id: None,
        acting_for: "c-gone".into(),
        principal: Principal::Local,
        node_timeout_cap: 60_000,
        run_timeout: Duration::from_secs(120),
        max_parallel: 4,
        max_frame_bytes: config.limits.max_frame_bytes.get(),
        max_result_bytes: config.task.max_result_bytes.get(),
        max_run_result_bytes: config.task.max_run_result_bytes.get(),
        live: Arc::new(Live::new(Principal::Local, "c-gone".into(), true, record)),
        shutdown: CancellationToken::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_agent_is_cut_off_ends_at_once_instead_of_waiting_for_its_timeouts() {
    let dir = std::env::temp_dir().join(format!("aether-engine-{:032x}", rand::random::<u128>()));
    let config = Config {
        data_dir: Some(dir.clone()),
        ..Config::default()
    };
    let bus = Bus::new();
    let guards = Arc::new(Guards::new(&config));
    let services = Services::new(
        bus.clone(),
        Arc::new(config.clone()),
        guards,
        CancellationToken::new(),
    );
    let ctx = looping_run(&bus, &services, &config);
    let live = Arc::clone(&ctx.live);
    let run = tokio::spawn(execute(ctx));
    // Once the program runs, the bus cuts the agent off (as it does one that cannot keep up).
    let running = || live.record.lock().unwrap().nodes[0].state == NodeState::Running;
    while !running() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let agent = bus.resolve("task-r-1").expect("the agent is attached");
    bus.cut_off_slow(&agent, "test: the agent is not reading");
    let (ending, _) = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the run ends without waiting for its node's timeout")
        .unwrap();
    let Ending::Stopped(state, error) = ending else {
        panic!("the run was stopped");
    };
    assert_eq!(state, RunState::Failed);
    assert_eq!(error.code, ErrorCode::ResourceExceeded);
    assert_eq!(
        live.record.lock().unwrap().nodes[0].state,
        NodeState::Cancelled
    );
    let _ = std::fs::remove_dir_all(dir);
}
