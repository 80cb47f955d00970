//! The process's open-file limit. Every socket is a file descriptor, and the usual soft limit
//! (1024) is far below what a kernel with many tabs, idle sockets and half-open connections may
//! hold; past it `accept` fails and even `/healthz` stops answering. At start the soft limit is
//! raised to the hard limit (the most an unprivileged process may ask for). Never lowers it.

use std::io;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the soft limit now in force.
/// On platforms without the limit, does nothing.
pub fn raise_open_file_limit() -> io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use rlimit::Resource;

    use super::*;

    #[test]
    fn the_soft_open_file_limit_is_raised_to_the_hard_limit() {
        let (_, hard) = Resource::NOFILE.get().unwrap();
        // Start below the hard limit, as a login shell's 1024 would.
        let lowered = (hard / 2).max(64).min(hard);
        Resource::NOFILE.set(lowered, hard).unwrap();

        let now = raise_open_file_limit().unwrap();

        let (soft, hard_after) = Resource::NOFILE.get().unwrap();
        assert_eq!(hard_after, hard);
        assert_eq!(soft, hard);
        assert_eq!(now, hard);
    }
}
