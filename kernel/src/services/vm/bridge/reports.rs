//! The host's side of the bridge: what the tab running a machine reports, un-addressed, to the
//! kernel. `compute:output` becomes the requester's next `vm.stdout` (with its `seq`);
//! `compute:exit` takes the machine out of the table and becomes its one `vm.exit`, or its
//! `vm.error` when the tab reports one (its stats count the output the tab delivered straight to
//! the requesting window of its own, `direct_output_bytes`). A tab reports only on machines it
//! runs: anything else is `not_found` on `compute:error`. The report is acknowledged before the
//! requester hears of it. A machine started for `vm.exec` has no requester's stream: its output
//! is counted and dropped.

use std::sync::atomic::Ordering;

use aether_shared::vm::{self, Accepted, Exit, ExitStats, Output};
use aether_shared::{Envelope, Topic, compute};

use super::Bridge;
use crate::bus::ClientHandle;
use crate::services::request::{Answer, serve, unknown};
use crate::services::vm::error::VmError;

impl Bridge {
    /// Handles `compute:output` or `compute:exit` from `host`, the tab hosting a machine.
    pub fn report(&self, host: &ClientHandle, env: Envelope) {
        match env.topic.as_str() {
            compute::OUTPUT => serve(&self.bus, env, |out, _| self.output(host, out)),
            compute::EXIT => serve(&self.bus, env, |exit, _| self.exit(host, exit)),
            _ => unknown(&self.bus, &env),
        }
    }

    /// Serial output of a machine: the requester's next `vm.stdout`.
    fn output(
        &self,
        host: &ClientHandle,
        out: compute::Output,
    ) -> Result<Answer<Accepted>, VmError> {
        let machine = self
            .machines
            .hosted(out.pid, host.id())
            .ok_or(VmError::NotHosted { pid: out.pid })?;
        let bus = self.bus.clone();
        Ok(Answer::ReplyThen(
            Accepted {},
            Box::new(move |_| {
                machine
                    .output_bytes
                    .fetch_add(out.data.len() as u64, Ordering::Relaxed);
                // A machine started for `vm.exec` has no stream to number its output into.
                let Some(spawn) = &machine.spawn else {
                    return;
                };
                let seq = machine.seq.fetch_add(1, Ordering::Relaxed);
                let chunk = Output {
                    pid: out.pid,
                    seq,
                    data: out.data,
                };
                let stdout = spawn.reply(Topic::from_static(vm::STDOUT), &chunk);
                let _ = bus.publish_from_kernel(stdout);
            }),
        ))
    }

    /// A machine stopped: its one `vm.exit`, or the tab's error as its `vm.error`.
    fn exit(&self, host: &ClientHandle, exit: compute::Exit) -> Result<Answer<Accepted>, VmError> {
        let machine = self
            .machines
            .take_hosted(exit.pid, host.id())
            .ok_or(VmError::NotHosted { pid: exit.pid })?;
        let bus = self.bus.clone();
        Ok(Answer::ReplyThen(
            Accepted {},
            Box::new(move |_| {
                if let Some(error) = exit.error {
                    machine.end(&bus, &VmError::Relayed(error));
                    return;
                }
                let done = Exit {
                    pid: machine.pid,
                    code: exit.code,
                    duration_ms: machine.started.elapsed().as_millis() as u64,
                    stats: ExitStats {
                        output_bytes: machine.output_bytes.load(Ordering::Relaxed)
                            + exit.direct_output_bytes,
                        ..ExitStats::default()
                    },
                };
                if let Some(spawn) = &machine.spawn {
                    let _ =
                        bus.publish_from_kernel(spawn.reply(Topic::from_static(vm::EXIT), &done));
                }
            }),
        ))
    }
}
