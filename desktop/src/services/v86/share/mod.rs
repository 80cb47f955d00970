//! The guest's live view of the tab's files (and its tools): a 9P2000.L server in the page,
//! reached through v86's `handle9p` hook. The worker hands each request the guest's Linux sends
//! on its virtio 9p device to the page; [`Share`] answers them in order from the tab's VFS, so an
//! Editor save is what the guest reads next, and a file the guest closes is in the Files app.
//!
//! The parts: `wire` (the message format), `fids` (the guest's handles), `tree` (the trees
//! served: the tab's files, and `tools`, the guest's programs fetched lazily), `server` (the
//! semantics, tested natively on memory trees) and `snapshot` (the fid table kept with a saved
//! machine state).

mod fids;
mod server;
pub mod snapshot;
#[cfg(test)]
mod tests;
mod tools;
mod tree;
mod wire;

use server::Server;

/// A Linux error number, as the guest's programs see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub u32);

impl Errno {
    pub const PERM: Errno = Errno(1);
    pub const NOENT: Errno = Errno(2);
    pub const IO: Errno = Errno(5);
    pub const BADF: Errno = Errno(9);
    pub const EXIST: Errno = Errno(17);
    pub const XDEV: Errno = Errno(18);
    pub const NOTDIR: Errno = Errno(20);
    pub const ISDIR: Errno = Errno(21);
    pub const INVAL: Errno = Errno(22);
    pub const NOSPC: Errno = Errno(28);
    pub const ROFS: Errno = Errno(30);
    pub const NOTEMPTY: Errno = Errno(39);
    pub const PROTO: Errno = Errno(71);
    pub const OPNOTSUPP: Errno = Errno(95);
}

pub use page::Share;

mod page {
    //! The server of one machine, running in the page: requests in, replies out, in order.

    use std::future::Future;

    use futures_channel::{mpsc, oneshot};
    use futures_util::StreamExt;

    use super::Server;
    use super::tools::{PageFetch, Tools};
    use crate::services::vfs::VfsProxy;

    enum Job {
        Request(Vec<u8>),
        Save(oneshot::Sender<String>),
    }

    /// The handle on a machine's server; dropping it ends the server.
    pub struct Share {
        jobs: mpsc::UnboundedSender<Job>,
    }

    impl Share {
        /// Starts a server on the tab's files and the tools at `tools_url` (the index named by
        /// the manifest), resuming the fid table `fids` of a saved state; `reply` sends each
        /// answer to the worker.
        pub fn start(
            vfs: VfsProxy,
            tools_url: Option<String>,
            fids: Option<String>,
            reply: impl Fn(Vec<u8>) + 'static,
        ) -> Share {
            let (jobs, mut queue) = mpsc::unbounded();
            let tools = tools_url.map(|url| Tools::new(url, PageFetch));
            let mut server = Server::new(vfs, tools, fids.as_deref());
            wasm_bindgen_futures::spawn_local(async move {
                while let Some(job) = queue.next().await {
                    match job {
                        Job::Request(bytes) => reply(server.handle(&bytes).await),
                        Job::Save(done) => {
                            let _ = done.send(server.save().await);
                        }
                    }
                }
            });
            Share { jobs }
        }

        /// A request from the guest.
        pub fn request(&self, bytes: Vec<u8>) {
            let _ = self.jobs.unbounded_send(Job::Request(bytes));
        }

        /// Writes back what the guest holds and returns the fid table, after the requests
        /// before it.
        pub fn save(&self) -> impl Future<Output = Option<String>> + 'static {
            let (tx, rx) = oneshot::channel();
            let sent = self.jobs.unbounded_send(Job::Save(tx)).is_ok();
            async move {
                if !sent {
                    return None;
                }
                rx.await.ok()
            }
        }
    }
}

/// Runs a future that never waits (the memory trees and fetchers of the tests).
#[cfg(test)]
fn run<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the test's trees never wait"),
    }
}
