//! The tab's side of `compute:exec`: a shell command of the kernel's (`vm.exec`, the agent's
//! `shell` tool) for machine `pid` of this tab, run by its worker on the guest's third serial
//! port ([`MachineWorker::exec`](super::worker::MachineWorker::exec)) and answered with its
//! status and output when it ends. The router lets only the kernel send it here; the user's
//! Terminal on the same machine is not touched (its keys and screen are the first port's).

use aether_shared::compute;
use aether_shared::{Envelope, ErrorCode, ErrorPayload};

use super::{V86Host, bad, warn};

impl V86Host {
    /// Answers one `compute:exec` when its command ended.
    pub(super) async fn answer_exec(&self, env: Envelope) {
        let result = match env.decode::<compute::Exec>() {
            Ok(req) => self.exec(&req).await,
            Err(e) => Err(bad(e)),
        };
        let reply = match result {
            Ok(done) => env.reply(env.topic.ack(), &done),
            Err(error) => env.error_reply(error),
        };
        if let Err(e) = self.inner.bus.publish(reply) {
            warn(&format!("could not answer `{}`: {e}", env.topic));
        }
    }

    async fn exec(&self, req: &compute::Exec) -> Result<compute::Executed, ErrorPayload> {
        let waiting = {
            let machines = self.inner.machines.borrow();
            let machine = machines.get(&req.pid).ok_or_else(|| {
                ErrorPayload::new(
                    ErrorCode::NotFound,
                    format!("Machine {} is not running in this tab.", req.pid),
                )
            })?;
            machine.exec(req)
        };
        waiting.await
    }
}
