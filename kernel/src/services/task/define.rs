//! `task.define`: what a definition must be to be kept, and keeping it. Checks, in order: a name,
//! `task.max_definition_bytes`, `task.max_nodes`, the graph (ids, dependencies, cycles), its
//! `${…}` references, that every node is a request a run may send (`kernel.*`, `vm.*`, `wasm.*`,
//! `ai.*`), and that the guardrails would admit each node from the caller
//! ([`Guards::admissible`]: the same rules as the request itself, without taking a rate token).
//! A node refused there is in the audit trail.

use aether_shared::catalog::{TopicKind, classify};
use aether_shared::task::{Define, Defined, graph, refs};
use aether_shared::{BusRequest as _, Namespace};

use super::error::TaskError;
use super::store::StoredTask;
use super::{TaskService, fit, fresh_id};
use crate::bus::ClientHandle;
use crate::clock::now_rfc3339;
use crate::guard::audit;

impl TaskService {
    /// Checks and keeps a definition (each principal keeps its newest `task.max_definitions`).
    pub(super) async fn define(
        &self,
        client: &ClientHandle,
        req: Define,
    ) -> Result<Defined, TaskError> {
        self.check_definition(client, &req)?;
        let task = StoredTask {
            task_id: fresh_id(&self.inner.bus, "t"),
            name: req.name,
            nodes: req.nodes,
            timeout_ms: req.timeout_ms,
            keep_on_disconnect: req.keep_on_disconnect,
            owner: client.principal().as_str().to_owned(),
            defined: now_rfc3339(),
        };
        let task_id = task.task_id.clone();
        let kept = self.inner.limits.max_definitions.get() as usize;
        self.with_store(move |store| store.put_task(&task, kept))
            .await?;
        Ok(Defined { task_id })
    }

    /// Everything `task.define` refuses.
    fn check_definition(&self, client: &ClientHandle, req: &Define) -> Result<(), TaskError> {
        if req.name.trim().is_empty() || req.name.len() > 128 {
            return Err(TaskError::BadName);
        }
        let max = self.inner.limits.max_definition_bytes.get();
        let bytes = fit::json_len(req);
        if bytes > max {
            return Err(TaskError::DefinitionTooLarge { bytes, max });
        }
        let max = self.inner.limits.max_nodes.get() as usize;
        if req.nodes.len() > max {
            return Err(TaskError::TooManyNodes {
                nodes: req.nodes.len(),
                max,
            });
        }
        graph::check(&req.nodes).map_err(|e| TaskError::BadGraph(e.to_string()))?;
        refs::check(&req.nodes).map_err(|e| TaskError::BadGraph(e.to_string()))?;
        let principal = client.principal();
        for node in &req.nodes {
            let topic = &node.topic;
            // Requests of the services a run can use on the caller's behalf; not `task.*` (no
            // runs inside runs), `bus.*` (the agent's subscriptions are nobody's) or the tab-only
            // `vfs:` and `compute:` namespaces.
            let nestable = matches!(classify(topic), Some(TopicKind::Request(_)))
                && matches!(
                    topic.namespace(),
                    Namespace::Kernel | Namespace::Vm | Namespace::Wasm | Namespace::Ai
                );
            if !nestable {
                return Err(TaskError::NotANode {
                    node: node.id.clone(),
                    topic: topic.clone(),
                });
            }
            if let Err(refusal) = self.inner.guards.admissible(principal, topic) {
                let reason = refusal.reason();
                let error = TaskError::NodeRefused {
                    node: node.id.clone(),
                    refusal,
                };
                // Logged here; counted once, when the refusal is answered.
                if let Some(reason) = reason {
                    audit::log(
                        reason,
                        Some(client.id()),
                        principal.as_str(),
                        Some(Define::TOPIC),
                        &error.to_string(),
                    );
                }
                return Err(error);
            }
        }
        Ok(())
    }
}
