//! Configuration parsing, validation, environment overrides and masking.

use std::collections::HashMap;

use super::*;

const PAPER_EXAMPLE: &str = r#"
rate_limits:
  - topic: "vm.spawn"
    limit: 5
    burst: 2
    window_ms: 60000
"#;

fn refused(yaml: &str) -> String {
    Config::from_yaml(yaml).expect_err(yaml)
}

#[test]
fn an_empty_file_is_the_default_config() {
    assert_eq!(Config::from_yaml("").unwrap(), Config::default());
}

#[test]
fn the_papers_rate_limit_example_parses_as_written() {
    let config = Config::from_yaml(PAPER_EXAMPLE).unwrap();
    let rule = &config.rate_limits[0];
    assert_eq!(rule.topic.to_string(), "vm.spawn");
    assert_eq!(
        (rule.limit.get(), rule.burst.get(), rule.window_ms.get()),
        (5, 2, 60_000)
    );
    assert_eq!(
        rule.replenish_interval(),
        std::time::Duration::from_secs(12)
    );
}

#[test]
fn keys_override_defaults() {
    let config = Config::from_yaml(
        "listen: 127.0.0.1:9000\nlimits:\n  outbound_queue_len: 8\npermissions:\n  - {topic_prefix: \"vm.\", action: deny}\n",
    )
    .unwrap();
    assert_eq!(config.listen.port(), 9000);
    assert_eq!(config.limits.outbound_queue_len.get(), 8);
    assert_eq!(config.permissions[0].action, Action::Deny);
}

#[test]
fn every_bad_line_is_refused_with_its_key_and_line() {
    let cases = [
        ("listen: 127.0.0.1:9000\nlimitz: {}\n", "limitz", 2),
        ("limits:\n  max_frame_bytes: lots\n", "max_frame_bytes", 2),
        (
            "limits:\n  outbound_queue_len: 0\n",
            "outbound_queue_len",
            2,
        ),
        (
            "rate_limits:\n  - topic: vm.spawn\n    limit: 5\n    burst: 0\n    window_ms: 100\n",
            "burst",
            4,
        ),
        (
            "rate_limits:\n  - topic: vm.spawn\n    limit: 5\n    burst: 1\n    window_ms: -5\n",
            "window_ms",
            5,
        ),
        (
            "rate_limits:\n  - topic: vm.spawn\n    limit: 5\n    burst: 1\n    window_ms: 0\n",
            "window_ms",
            5,
        ),
        (
            "rate_limits:\n  - topic: \"vm.*x\"\n    limit: 1\n    burst: 1\n    window_ms: 9\n",
            "topic",
            2,
        ),
        (
            "permissions:\n  - {topic_prefix: \"VM\", action: allow}\n",
            "topic_prefix",
            2,
        ),
        (
            "permissions:\n  - {topic_prefix: \"vm.\", action: maybe}\n",
            "action",
            2,
        ),
        (
            "allowed_origins: [\"evil.example\"]\n",
            "allowed_origins",
            1,
        ),
        ("listen: nowhere\n", "listen", 1),
    ];
    for (yaml, key, line) in cases {
        let err = refused(yaml);
        assert!(err.contains(key), "{yaml:?} → {err}");
        assert!(err.contains(&format!("line {line}")), "{yaml:?} → {err}");
    }
}

#[test]
fn environment_variables_override_every_key() {
    let env: HashMap<&str, &str> = HashMap::from([
        ("AETHER_LIMITS__MAX_FRAME_BYTES", "2048"),
        ("AETHER_ADMIN_TOKEN", "12345"),
        (
            "AETHER_ALLOWED_ORIGINS",
            "http://a.example, http://b.example:8081",
        ),
        (
            "AETHER_RATE_LIMITS",
            "[{topic: vm.spawn, limit: 5, burst: 2, window_ms: 60000}]",
        ),
    ]);
    let config = apply_env(Config::default(), |k| env.get(k).map(|v| v.to_string())).unwrap();
    assert_eq!(config.limits.max_frame_bytes.get(), 2048);
    assert_eq!(config.admin_token.as_deref(), Some("12345"));
    assert_eq!(config.allowed_origins.len(), 2);
    assert_eq!(config.allowed_origins[1].as_str(), "http://b.example:8081");
    assert_eq!(config.rate_limits.len(), 1);
}

#[test]
fn a_bad_environment_value_names_its_variable() {
    let err = apply_env(Config::default(), |k| {
        (k == "AETHER_LIMITS__MAX_SUBSCRIPTIONS").then(|| "0".to_owned())
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("AETHER_LIMITS__MAX_SUBSCRIPTIONS"), "{err}");
}

#[test]
fn print_config_masks_secrets() {
    let config = Config {
        admin_token: Some("super-secret".into()),
        client_token: Some("also-secret".into()),
        ..Config::default()
    };
    let shown = config.masked_yaml();
    assert!(!shown.contains("secret"), "{shown}");
    assert!(shown.contains("********"));
    assert!(shown.contains("max_frame_bytes"));
}

#[test]
fn a_non_loopback_listen_needs_a_token_unless_insisted() {
    let exposed = Config {
        listen: "0.0.0.0:8080".parse().unwrap(),
        ..Config::default()
    };
    assert!(exposed.check_exposure(false).is_err());
    assert!(exposed.check_exposure(true).is_ok());
    let guarded = Config {
        client_token: Some("t".into()),
        ..exposed
    };
    assert!(guarded.check_exposure(false).is_ok());
    assert!(Config::default().check_exposure(false).is_ok());
}
