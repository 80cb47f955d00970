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

/// A kernel process on a free loopback port with `data_dir`; stopped when dropped.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_second_kernel_on_the_same_data_dir_refuses_to_start_and_names_it() {
    let data = std::env::temp_dir().join(format!("aether-two-kernels-{}", free_port()));
    let port = free_port();
    let first = Running(
        Command::new(env!("CARGO_BIN_EXE_aether"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(&data)
            .env("AETHER_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first kernel did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Same folder, another port: refused before it listens.
    let mut second = Command::new(env!("CARGO_BIN_EXE_aether"));
    second
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .arg("--data-dir")
        .arg(&data)
        .env("RUST_BACKTRACE", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let (ok, stderr) = ends_within(&mut second, std::time::Duration::from_secs(20));
    assert!(!ok, "the second kernel started");
    assert!(stderr.contains("another Aether kernel"), "{stderr}");
    assert!(stderr.contains(&data.display().to_string()), "{stderr}");
    assert!(stderr.contains("--data-dir"), "{stderr}");
    // The same through the environment.
    let mut third = Command::new(env!("CARGO_BIN_EXE_aether"));
    third
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .env("AETHER_DATA_DIR", &data)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let (ok, stderr) = ends_within(&mut third, std::time::Duration::from_secs(20));
    assert!(!ok, "the third kernel started");
    assert!(stderr.contains("another Aether kernel"), "{stderr}");
    drop(first);
    let _ = std::fs::remove_dir_all(&data);
}

/// Runs `command` and waits for it to end; a kernel still running after `limit` is stopped and
/// the test fails (it started when it should have refused).
fn ends_within(command: &mut Command, limit: std::time::Duration) -> (bool, String) {
    use std::io::Read as _;
    let mut child = Running(command.spawn().unwrap());
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.0.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            return (status.success(), stderr);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the kernel kept running on a data folder another kernel holds"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
