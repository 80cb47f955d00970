//! What the relay refuses and why: the allowlist applied to a CONNECT, the kernel's own port,
//! the byte quota and the stream cap of one machine. Each refusal is a [`Refusal`] carrying the
//! Wisp close reason it is answered with and the `kernel.stats` counter it is audited under.
//! This module decides; it opens no socket and sends no packet.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};

use super::wisp::CloseReason;
use crate::guard::audit::Reason;

/// Why a stream was refused or ended early.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(
        "`{host}:{port}` is not in compute.v86.egress.allow; add a pattern for it if the guest should reach it"
    )]
    NotAllowed { host: String, port: u16 },
    #[error(
        "`{addr}` (for `{host}`) is this kernel's own port; the guest network never connects to the kernel"
    )]
    Kernel { host: String, addr: SocketAddr },
    #[error(
        "the machine has {max} streams open (compute.v86.egress.max_connections); close some or raise the cap"
    )]
    TooManyStreams { max: u32 },
    #[error(
        "the machine used its {quota_bytes} bytes (compute.v86.egress.quota_bytes); power the machine off and on, or raise the quota"
    )]
    Quota { quota_bytes: u64 },
    #[error("only TCP streams to a port 1-65535, and UDP to port 53 (DNS), are relayed")]
    Unsupported,
    #[error("`{host}` did not resolve: {why}")]
    Unresolved { host: String, why: String },
    #[error(
        "`{host}:{port}` did not answer within compute.v86.egress.connect_timeout_ms ({timeout_ms} ms)"
    )]
    Timeout {
        host: String,
        port: u16,
        timeout_ms: u64,
    },
    #[error("`{host}:{port}` refused the connection: {source}")]
    Connect {
        host: String,
        port: u16,
        source: std::io::Error,
    },
    #[error("the connection to `{host}:{port}` failed: {source}")]
    Network {
        host: String,
        port: u16,
        source: std::io::Error,
    },
}

impl Refusal {
    /// The Wisp CLOSE reason the stream ends with.
    pub fn close_reason(&self) -> CloseReason {
        match self {
            Refusal::NotAllowed { .. } | Refusal::Kernel { .. } => CloseReason::Blocked,
            Refusal::TooManyStreams { .. } | Refusal::Quota { .. } => CloseReason::Throttled,
            Refusal::Unsupported => CloseReason::InvalidInfo,
            Refusal::Unresolved { .. } => CloseReason::Unreachable,
            Refusal::Timeout { .. } => CloseReason::ConnectTimeout,
            Refusal::Connect { .. } => CloseReason::ConnectionRefused,
            Refusal::Network { .. } => CloseReason::NetworkError,
        }
    }

    /// The audit counter of a refusal by the rules; `None` for a failure of the destination.
    pub fn audit_reason(&self) -> Option<Reason> {
        match self {
            Refusal::NotAllowed { .. } | Refusal::Kernel { .. } => Some(Reason::EgressDenied),
            Refusal::TooManyStreams { .. } => Some(Reason::EgressConnectionLimit),
            Refusal::Quota { .. } => Some(Reason::EgressQuota),
            _ => None,
        }
    }
}

/// The kernel's own listening ports, which no stream may reach.
#[derive(Clone, Copy, Debug)]
pub struct KernelPorts {
    /// `listen` from the config (port 0 when the system picks one).
    pub listen: SocketAddr,
    /// The port the machine reached the kernel on (its `Host` header), if it named one.
    pub reached_on: Option<u16>,
}

impl KernelPorts {
    /// Whether `addr` may be this kernel: its listen port on loopback, the unspecified address or
    /// its listen address (on every address when it listens on all of them), or the port it was
    /// reached on, on loopback, the unspecified address or its listen address.
    pub fn is_kernel(&self, addr: SocketAddr) -> bool {
        let ip = canonical(addr.ip());
        let own_ip = canonical(self.listen.ip());
        let here = ip.is_loopback() || ip.is_unspecified() || ip == own_ip;
        let listen_port = self.listen.port() != 0 && addr.port() == self.listen.port();
        let reached_port = self.reached_on == Some(addr.port());
        (listen_port && (here || own_ip.is_unspecified())) || (reached_port && here)
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The bytes one machine may still move, both directions together.
#[derive(Debug)]
pub struct Quota {
    limit: u64,
    used: AtomicU64,
}

impl Quota {
    pub fn new(limit: u64) -> Quota {
        Quota {
            limit,
            used: AtomicU64::new(0),
        }
    }

    /// Takes up to `wanted` bytes from what is left; returns how many were granted.
    pub fn take(&self, wanted: usize) -> usize {
        let wanted = wanted as u64;
        let before = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                Some(used + wanted.min(self.limit - used))
            })
            .expect("the update always succeeds");
        wanted.min(self.limit - before) as usize
    }

    /// Whether nothing is left.
    pub fn spent(&self) -> bool {
        self.used.load(Ordering::Relaxed) >= self.limit
    }

    /// The refusal a stream ends with once the quota is spent.
    pub fn refusal(&self) -> Refusal {
        Refusal::Quota {
            quota_bytes: self.limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_kernels_port_is_refused_on_loopback_and_its_own_address() {
        let own = KernelPorts {
            listen: addr("127.0.0.1:8080"),
            reached_on: Some(8081),
        };
        assert!(own.is_kernel(addr("127.0.0.1:8080")));
        assert!(own.is_kernel(addr("127.0.0.2:8080")));
        assert!(own.is_kernel(addr("0.0.0.0:8080")));
        assert!(own.is_kernel(addr("[::1]:8080")));
        assert!(own.is_kernel(addr("[::ffff:127.0.0.1]:8080")));
        assert!(own.is_kernel(addr("127.0.0.1:8081")));
        assert!(!own.is_kernel(addr("127.0.0.1:8000")));
        assert!(!own.is_kernel(addr("192.0.2.1:8080")));
    }

    #[test]
    fn a_kernel_listening_everywhere_refuses_its_port_on_every_address() {
        let own = KernelPorts {
            listen: addr("0.0.0.0:8080"),
            reached_on: None,
        };
        assert!(own.is_kernel(addr("192.0.2.1:8080")));
        assert!(!own.is_kernel(addr("192.0.2.1:443")));
        // The port a proxy in front was reached on is the kernel only here.
        let proxied = KernelPorts {
            listen: addr("0.0.0.0:8080"),
            reached_on: Some(8443),
        };
        assert!(proxied.is_kernel(addr("127.0.0.1:8443")));
        assert!(!proxied.is_kernel(addr("192.0.2.1:8443")));
        let picked = KernelPorts {
            listen: addr("127.0.0.1:0"),
            reached_on: None,
        };
        assert!(!picked.is_kernel(addr("127.0.0.1:0")));
    }

    #[test]
    fn the_quota_grants_what_is_left_and_then_nothing() {
        let quota = Quota::new(10);
        assert_eq!(quota.take(4), 4);
        assert!(!quota.spent());
        assert_eq!(quota.take(8), 6);
        assert!(quota.spent());
        assert_eq!(quota.take(1), 0);
        assert_eq!(quota.take(0), 0);
    }

    #[test]
    fn refusals_by_the_rules_are_audited_and_failures_are_not() {
        let denied = Refusal::NotAllowed {
            host: "a".into(),
            port: 1,
        };
        assert_eq!(denied.close_reason(), CloseReason::Blocked);
        assert_eq!(denied.audit_reason(), Some(Reason::EgressDenied));
        assert_eq!(
            Refusal::TooManyStreams { max: 1 }.close_reason(),
            CloseReason::Throttled
        );
        assert_eq!(Refusal::Unsupported.audit_reason(), None);
    }
}
