//! The `aether` binary refuses to start on a configuration footgun (issue #13, finding 11), with
//! a sentence naming the key or variable, before it listens on anything.

use std::process::Command;

/// Runs `aether --print-config` (it never listens) with `env`; returns (success, stderr).
fn start_with(env: &[(&str, &str)]) -> (bool, String) {
    // A folder of its own: no stray `aether.yaml` is picked up.
    let dir = std::env::temp_dir().join("aether-startup-test");
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_aether"));
    command
        .arg("--print-config")
        .current_dir(&dir)
        .env("RUST_BACKTRACE", "0")
        .env_remove("AETHER_CLIENT_TOKEN")
        .env_remove("AETHER_ADMIN_TOKEN");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("the kernel binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn each_config_footgun_stops_start_up_with_a_sentence_naming_it() {
    let long = "0123456789abcdef-long";
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("AETHER_CLIENT_TOKEN", "")], "AETHER_CLIENT_TOKEN"),
        (&[("AETHER_CLIENT_TOKEN", "~")], "AETHER_CLIENT_TOKEN"),
        (&[("AETHER_ADMIN_TOKEN", "null")], "AETHER_ADMIN_TOKEN"),
        (&[("AETHER_CLIENT_TOKEN", "too-short")], "at least 16"),
        (
            &[("AETHER_ADMIN_TOKEN", long), ("AETHER_CLIENT_TOKEN", long)],
            "admin_token",
        ),
        (
            &[("AETHER_HTTP_RATE_LIMIT__REQUESTS_PER_SECOND", "4294967295")],
            "AETHER_HTTP_RATE_LIMIT__REQUESTS_PER_SECOND",
        ),
        (
            &[("AETHER_LIMITS__MAX_FRAME_BYTES", "18446744073709551615")],
            "AETHER_LIMITS__MAX_FRAME_BYTES",
        ),
    ];
    for (env, named) in cases {
        let (ok, stderr) = start_with(env);
        assert!(!ok, "{env:?} started");
        assert!(stderr.contains(named), "{env:?} → {stderr}");
    }
}

#[test]
fn a_sound_config_starts() {
    let (ok, stderr) = start_with(&[("AETHER_CLIENT_TOKEN", "0123456789abcdef-long")]);
    assert!(ok, "{stderr}");
}
