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
        ("AETHER_ADMIN_TOKEN", "1234567890123456"),
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
    assert_eq!(config.admin_token.as_deref(), Some("1234567890123456"));
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

#[test]
fn the_ai_provider_is_configured_by_file_and_environment() {
    let config = Config::from_yaml(
        "ai:\n  provider:\n    base_url: http://127.0.0.1:8000/v1\n    model: qwen\n    api_key_env: LLM_KEY\n  idle_timeout_ms: 500\n",
    )
    .unwrap();
    let provider = &config.ai.provider;
    assert_eq!(
        provider
            .base_url
            .as_ref()
            .unwrap()
            .join("/chat/completions"),
        "http://127.0.0.1:8000/v1/chat/completions"
    );
    assert_eq!(provider.model.as_deref(), Some("qwen"));
    assert_eq!(provider.api_key_env.as_ref().unwrap().as_str(), "LLM_KEY");
    assert_eq!(config.ai.idle_timeout_ms.get(), 500);

    let env: HashMap<&str, &str> = HashMap::from([
        (
            "AETHER_AI__PROVIDER__BASE_URL",
            "https://api.example.com/v1",
        ),
        ("AETHER_AI__PROVIDER__MODEL", "7"),
        ("AETHER_AI__MAX_CONCURRENT_PER_CLIENT", "2"),
    ]);
    let config = apply_env(Config::default(), |k| env.get(k).map(|v| v.to_string())).unwrap();
    assert!(config.ai.provider.base_url.is_some());
    assert_eq!(config.ai.provider.model.as_deref(), Some("7"));
    assert_eq!(config.ai.max_concurrent_per_client.get(), 2);
}

#[test]
fn a_bad_ai_provider_value_is_refused_with_its_key_and_line() {
    let err = refused("ai:\n  provider:\n    base_url: ftp://x/v1\n");
    assert!(
        err.contains("ai.provider") && err.contains("base_url") && err.contains("line 3"),
        "{err}"
    );
    let err = refused("ai:\n  provider:\n    api_key_env: sk-123\n");
    assert!(
        err.contains("api_key_env") && err.contains("line 3"),
        "{err}"
    );
    let err = refused("ai:\n  provider:\n    key: x\n");
    assert!(err.contains("unknown field"), "{err}");
    let err = apply_env(Config::default(), |k| {
        (k == "AETHER_AI__PROVIDER__BASE_URL").then(|| "nope".to_owned())
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("AETHER_AI__PROVIDER__BASE_URL"), "{err}");
}

#[test]
fn print_config_masks_a_password_in_the_ai_base_url() {
    let config = Config::from_yaml(
        "ai:\n  provider:\n    base_url: https://me:hunter2@api.example.com/v1\n",
    )
    .unwrap();
    let shown = config.masked_yaml();
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("api.example.com"), "{shown}");
}

// ---- Footguns refused at start (issue #13, finding 11) ----

const LONG_TOKEN: &str = "0123456789abcdef-long-enough";

fn env_error(config: Config, name: &str, value: &str) -> String {
    apply_env(config, |k| (k == name).then(|| value.to_owned()))
        .expect_err(value)
        .to_string()
}

#[test]
fn an_empty_or_null_environment_token_is_refused_instead_of_dropping_the_files_token() {
    let from_file = Config {
        client_token: Some(LONG_TOKEN.into()),
        ..Config::default()
    };
    for value in ["", "  ", "~", "null", "Null"] {
        let err = env_error(from_file.clone(), "AETHER_CLIENT_TOKEN", value);
        assert!(err.contains("AETHER_CLIENT_TOKEN"), "{value:?} → {err}");
        assert!(err.contains("unset"), "{value:?} → {err}");
    }
    let err = env_error(Config::default(), "AETHER_ADMIN_TOKEN", "");
    assert!(err.contains("AETHER_ADMIN_TOKEN"), "{err}");
}

#[test]
fn tokens_shorter_than_16_characters_are_refused_with_their_key() {
    let err = refused("client_token: short\n");
    assert!(
        err.contains("client_token") && err.contains("line 1") && err.contains("16"),
        "{err}"
    );
    let err = refused("listen: 127.0.0.1:9000\nadmin_token: \"\"\n");
    assert!(
        err.contains("admin_token") && err.contains("line 2"),
        "{err}"
    );
    let err = env_error(Config::default(), "AETHER_ADMIN_TOKEN", "12345");
    assert!(
        err.contains("AETHER_ADMIN_TOKEN") && err.contains("16"),
        "{err}"
    );
    // Sixteen characters are enough, and a token that looks like a number stays text.
    let config = Config::from_yaml("client_token: \"0123456789abcdef\"\n").unwrap();
    assert_eq!(config.client_token.as_deref(), Some("0123456789abcdef"));
    let config = apply_env(Config::default(), |k| {
        (k == "AETHER_ADMIN_TOKEN").then(|| "1234567890123456".to_owned())
    })
    .unwrap();
    assert_eq!(config.admin_token.as_deref(), Some("1234567890123456"));
}

#[test]
fn the_admin_token_must_differ_from_the_client_token() {
    let same = Config {
        admin_token: Some(LONG_TOKEN.into()),
        client_token: Some(LONG_TOKEN.into()),
        ..Config::default()
    };
    let err = same.validate().unwrap_err().to_string();
    assert!(
        err.contains("admin_token")
            && err.contains("client_token")
            && err.contains("AETHER_ADMIN_TOKEN"),
        "{err}"
    );
    let different = Config {
        client_token: Some(format!("{LONG_TOKEN}-client")),
        ..same
    };
    assert!(different.validate().is_ok());
    assert!(Config::default().validate().is_ok());
}

#[test]
fn requests_per_second_above_a_billion_is_refused_instead_of_panicking() {
    let err = refused("http_rate_limit:\n  requests_per_second: 1000000001\n");
    assert!(
        err.contains("requests_per_second") && err.contains("line 2"),
        "{err}"
    );
    let err = env_error(
        Config::default(),
        "AETHER_HTTP_RATE_LIMIT__REQUESTS_PER_SECOND",
        "4294967295",
    );
    assert!(
        err.contains("AETHER_HTTP_RATE_LIMIT__REQUESTS_PER_SECOND"),
        "{err}"
    );
    let config =
        Config::from_yaml("http_rate_limit:\n  requests_per_second: 1000000000\n").unwrap();
    assert_eq!(
        config.http_rate_limit.requests_per_second.get(),
        1_000_000_000
    );
}

#[test]
fn max_frame_bytes_above_256_mib_is_refused_instead_of_wrapping_the_hard_cap() {
    let err = refused(&format!("limits:\n  max_frame_bytes: {}\n", usize::MAX));
    assert!(
        err.contains("max_frame_bytes") && err.contains("line 2") && err.contains("268435456"),
        "{err}"
    );
    let err = env_error(
        Config::default(),
        "AETHER_LIMITS__MAX_FRAME_BYTES",
        "268435457",
    );
    assert!(err.contains("AETHER_LIMITS__MAX_FRAME_BYTES"), "{err}");
    let config = Config::from_yaml("limits:\n  max_frame_bytes: 268435456\n").unwrap();
    assert_eq!(config.limits.max_frame_bytes.get(), 256 * 1024 * 1024);
}

#[test]
fn the_header_read_timeout_defaults_to_ten_seconds_and_is_configurable() {
    assert_eq!(
        Config::default().limits.header_read_timeout_ms.get(),
        10_000
    );
    let config = Config::from_yaml("limits:\n  header_read_timeout_ms: 250\n").unwrap();
    assert_eq!(config.limits.header_read_timeout_ms.get(), 250);
    let err = refused("limits:\n  header_read_timeout_ms: 0\n");
    assert!(err.contains("header_read_timeout_ms"), "{err}");
}

// ---- Outside MCP servers (issue #17) ----

#[test]
fn mcp_servers_are_configured_under_ai_and_the_policy_may_name_their_tools() {
    let yaml = "ai:\n  agent:\n    policy:\n      - {tool: 'everything__*', action: allow}\n  mcp_servers:\n    everything:\n      command: node\n      args: [server.js, stdio]\n";
    let config = Config::from_yaml(yaml).unwrap();
    assert!(config.ai.mcp_servers.get("everything").is_some());
    assert!(config.validate_with_env(|_| None).is_ok());
    assert_eq!(
        config.ai.agent.action_for("everything__echo"),
        ToolAction::Allow
    );
}

#[test]
fn a_policy_rule_for_a_server_not_configured_is_refused_at_start() {
    let config = Config::from_yaml(
        "ai:\n  agent:\n    policy:\n      - {tool: ghost__echo, action: allow}\n",
    )
    .unwrap();
    let err = config.validate_with_env(|_| None).unwrap_err().to_string();
    assert!(
        err.contains("ai.agent.policy")
            && err.contains("ghost")
            && err.contains("none is configured"),
        "{err}"
    );
}

#[test]
fn a_missing_header_variable_of_an_mcp_server_stops_start_up() {
    let config = Config::from_yaml(
        "ai:\n  mcp_servers:\n    docs:\n      url: http://127.0.0.1:9000/mcp\n      header: {name: Authorization, env: AETHER_TEST_DOCS_AUTH}\n",
    )
    .unwrap();
    let err = config.validate_with_env(|_| None).unwrap_err().to_string();
    assert!(
        err.contains("AETHER_TEST_DOCS_AUTH") && err.contains("docs"),
        "{err}"
    );
    assert!(
        config
            .validate_with_env(|k| (k == "AETHER_TEST_DOCS_AUTH").then(|| "Bearer t".into()))
            .is_ok()
    );
}

#[test]
fn a_bad_mcp_server_is_refused_with_its_key() {
    for (yaml, said) in [
        ("ai:\n  mcp_servers:\n    Bad:\n      command: x\n", "Bad"),
        ("ai:\n  mcp_servers:\n    a__b:\n      command: x\n", "a__b"),
        (
            "ai:\n  mcp_servers:\n    x:\n      command: node\n      url: http://a/mcp\n",
            "not both",
        ),
        ("ai:\n  mcp_servers:\n    x: {}\n", "needs `command`"),
    ] {
        let err = refused(yaml);
        assert!(
            err.contains(said) && err.contains("ai.mcp_servers") && err.contains("line 3"),
            "{yaml:?} → {err}"
        );
    }
}

#[test]
fn environment_overrides_reach_an_mcp_servers_keys() {
    let config = Config::from_yaml("ai:\n  mcp_servers:\n    x:\n      command: node\n").unwrap();
    let config = apply_env(config, |k| {
        (k == "AETHER_AI__MCP_SERVERS__X__CALL_TIMEOUT_MS").then(|| "1500".to_owned())
    })
    .unwrap();
    assert_eq!(
        config
            .ai
            .mcp_servers
            .get("x")
            .unwrap()
            .call_timeout_ms
            .get(),
        1500
    );
}

#[test]
fn mcp_servers_may_be_given_whole_in_the_environment_when_the_file_names_none() {
    let config = apply_env(Config::default(), |k| {
        (k == "AETHER_AI__MCP_SERVERS")
            .then(|| "{docs: {url: 'http://127.0.0.1:9000/mcp'}}".to_owned())
    })
    .unwrap();
    assert!(config.ai.mcp_servers.get("docs").is_some());
    let err = apply_env(Config::default(), |k| {
        (k == "AETHER_AI__MCP_SERVERS").then(|| "{Docs: {url: 'http://a/mcp'}}".to_owned())
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("AETHER_AI__MCP_SERVERS") && err.contains("Docs"),
        "{err}"
    );
}

#[test]
fn print_config_masks_the_env_values_and_url_passwords_of_mcp_servers() {
    let config = Config::from_yaml(
        "ai:\n  mcp_servers:\n    x:\n      command: node\n      env: {API_KEY: hunter2}\n",
    )
    .unwrap();
    let shown = config.masked_yaml();
    assert!(
        !shown.contains("hunter2") && shown.contains("API_KEY"),
        "{shown}"
    );
    let config = Config::from_yaml(
        "ai:\n  mcp_servers:\n    x:\n      url: http://me:hunter2@127.0.0.1:9000/mcp\n",
    )
    .unwrap();
    let shown = config.masked_yaml();
    assert!(
        !shown.contains("hunter2") && shown.contains("127.0.0.1:9000"),
        "{shown}"
    );
}

#[test]
fn the_guest_network_is_off_by_default_and_its_rules_parse() {
    assert!(Config::default().compute.v86.egress.allow.is_empty());
    let config = Config::from_yaml(
        "compute:\n  v86:\n    egress:\n      allow: [\"127.0.0.1:8000\", \"*.example.org:443\"]\n      quota_bytes: 1048576\n      max_connections: 4\n      connect_timeout_ms: 2000\n",
    )
    .unwrap();
    let egress = &config.compute.v86.egress;
    assert!(egress.allows("127.0.0.1", 8000));
    assert!(egress.allows("deb.example.org", 443));
    assert!(!egress.allows("example.org", 443));
    assert_eq!(
        (
            egress.quota_bytes.get(),
            egress.max_connections.get(),
            egress.connect_timeout_ms.get()
        ),
        (1_048_576, 4, 2000)
    );
    // The rules print back as they were written.
    let shown = config.masked_yaml();
    assert!(shown.contains("*.example.org:443"), "{shown}");
}

#[test]
fn an_egress_pattern_that_is_not_host_port_is_a_config_error_naming_it() {
    let error = refused("compute:\n  v86:\n    egress:\n      allow: [\"example.org\"]\n");
    assert!(error.contains("`example.org`"), "{error}");
    let error = refused("compute:\n  v86:\n    egress:\n      allow: [\"*:443\"]\n");
    assert!(error.contains("`*:443`"), "{error}");
    let error = refused("compute:\n  v86:\n    egress:\n      quota_bytes: 0\n");
    assert!(error.contains("quota_bytes"), "{error}");
}
