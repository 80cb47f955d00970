//! Checking a task's graph before it is accepted: not empty, ids well-formed and unique, every
//! dependency known, no cycle (the error names the nodes on it). On success, an order in which
//! every node comes after its dependencies.

use std::collections::HashMap;

use super::Node;

/// Most nodes a graph may have here (the kernel's `task.max_nodes` may be lower).
pub const MAX_NODES: usize = 10_000;

/// Why a graph was refused. Each maps to `bad_request`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("the task has no nodes; add at least one")]
    Empty,
    #[error("the task has {0} nodes; at most {MAX_NODES} are allowed")]
    TooLarge(usize),
    #[error("node id `{0}` is not valid: use 1 to 64 of A-Z a-z 0-9 _ -")]
    BadId(String),
    #[error("node id `{0}` is used twice; give every node its own id")]
    Duplicate(String),
    #[error("node `{node}` waits for `{missing}`, which is not a node of this task")]
    UnknownDependency { node: String, missing: String },
    #[error("the nodes {} depend on each other in a cycle; break it", .0.join(" → "))]
    Cycle(Vec<String>),
}

/// Checks the graph; returns node indexes in an order that respects `after`.
pub fn check(nodes: &[Node]) -> Result<Vec<usize>, GraphError> {
    if nodes.is_empty() {
        return Err(GraphError::Empty);
    }
    if nodes.len() > MAX_NODES {
        return Err(GraphError::TooLarge(nodes.len()));
    }
    let mut index = HashMap::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        let ok = !node.id.is_empty()
            && node.id.len() <= 64
            && node
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            return Err(GraphError::BadId(node.id.clone()));
        }
        if index.insert(node.id.as_str(), i).is_some() {
            return Err(GraphError::Duplicate(node.id.clone()));
        }
    }
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(nodes.len());
    for node in nodes {
        let mut mine = Vec::with_capacity(node.after.len());
        for dep in &node.after {
            let &d = index
                .get(dep.as_str())
                .ok_or_else(|| GraphError::UnknownDependency {
                    node: node.id.clone(),
                    missing: dep.clone(),
                })?;
            mine.push(d);
        }
        deps.push(mine);
    }
    topological_order(nodes, &deps)
}

/// Depth-first order; a back edge is a cycle, reported from its first node back to it.
fn topological_order(nodes: &[Node], deps: &[Vec<usize>]) -> Result<Vec<usize>, GraphError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; nodes.len()];
    let mut order = Vec::with_capacity(nodes.len());
    for root in 0..nodes.len() {
        if mark[root] != Mark::New {
            continue;
        }
        // Iterative DFS: (node, next dependency to visit); `path` is the open chain.
        let mut stack = vec![(root, 0usize)];
        mark[root] = Mark::Open;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&dep) = deps[node].get(*next) {
                *next += 1;
                match mark[dep] {
                    Mark::New => {
                        mark[dep] = Mark::Open;
                        stack.push((dep, 0));
                    }
                    Mark::Open => {
                        let start = stack.iter().position(|&(n, _)| n == dep).unwrap_or(0);
                        let mut cycle: Vec<String> = stack[start..]
                            .iter()
                            .map(|&(n, _)| nodes[n].id.clone())
                            .collect();
                        cycle.push(nodes[dep].id.clone());
                        return Err(GraphError::Cycle(cycle));
                    }
                    Mark::Done => {}
                }
            } else {
                mark[node] = Mark::Done;
                order.push(node);
                stack.pop();
            }
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic::Topic;
    use proptest::prelude::*;

    fn node(id: &str, after: &[&str]) -> Node {
        Node {
            id: id.into(),
            topic: Topic::from_static("kernel.ping"),
            payload: Default::default(),
            after: after.iter().map(|s| s.to_string()).collect(),
            timeout_ms: None,
        }
    }

    fn ids(nodes: &[Node], order: &[usize]) -> Vec<String> {
        order.iter().map(|&i| nodes[i].id.clone()).collect()
    }

    #[test]
    fn a_diamond_is_ordered_by_its_dependencies() {
        let nodes = [
            node("d", &["b", "c"]),
            node("b", &["a"]),
            node("c", &["a"]),
            node("a", &[]),
        ];
        let order = ids(&nodes, &check(&nodes).unwrap());
        let pos = |id: &str| order.iter().position(|x| x == id).unwrap();
        assert!(
            pos("a") < pos("b")
                && pos("a") < pos("c")
                && pos("b") < pos("d")
                && pos("c") < pos("d")
        );
    }

    #[test]
    fn bad_graphs_are_refused_with_what_is_wrong() {
        assert_eq!(check(&[]), Err(GraphError::Empty));
        assert_eq!(
            check(&[node("a", &[]), node("a", &[])]),
            Err(GraphError::Duplicate("a".into()))
        );
        assert_eq!(
            check(&[node("a b", &[])]),
            Err(GraphError::BadId("a b".into()))
        );
        assert_eq!(
            check(&[node("a", &["zz"])]),
            Err(GraphError::UnknownDependency {
                node: "a".into(),
                missing: "zz".into()
            })
        );
        let cycle = check(&[
            node("x", &[]),
            node("a", &["c"]),
            node("b", &["a"]),
            node("c", &["b", "x"]),
        ]);
        let Err(GraphError::Cycle(path)) = cycle else {
            panic!("{cycle:?}")
        };
        assert_eq!(path.first(), path.last());
        for id in ["a", "b", "c"] {
            assert!(path.contains(&id.to_string()), "{path:?}");
        }
        assert!(!path.contains(&"x".to_string()));
        assert_eq!(
            check(&[node("self", &["self"])]),
            Err(GraphError::Cycle(vec!["self".into(), "self".into()]))
        );
    }

    proptest! {
        #[test]
        fn edges_only_to_earlier_nodes_always_order(edges in proptest::collection::vec(proptest::collection::vec(any::<proptest::sample::Index>(), 0..4), 1..40)) {
            // Node i may only depend on nodes < i: a DAG by construction.
            let nodes: Vec<Node> = edges.iter().enumerate().map(|(i, deps)| {
                let after: Vec<String> = if i == 0 { vec![] } else { deps.iter().map(|d| format!("n{}", d.index(i))).collect() };
                Node { id: format!("n{i}"), topic: Topic::from_static("kernel.ping"), payload: Default::default(), after, timeout_ms: None }
            }).collect();
            let order = check(&nodes).unwrap();
            prop_assert_eq!(order.len(), nodes.len());
            let mut pos = vec![0; nodes.len()];
            for (p, &n) in order.iter().enumerate() { pos[n] = p; }
            for (i, node) in nodes.iter().enumerate() {
                for dep in &node.after {
                    let d: usize = dep[1..].parse().unwrap();
                    prop_assert!(pos[d] < pos[i]);
                }
            }
        }

        #[test]
        fn a_back_edge_is_always_found(n in 2usize..30, from in any::<proptest::sample::Index>()) {
            // A chain n0 ← n1 ← … plus one edge from an early node to a later one closes a cycle.
            let back = from.index(n - 1);
            let nodes: Vec<Node> = (0..n).map(|i| {
                let mut after = if i == 0 { vec![] } else { vec![format!("n{}", i - 1)] };
                if i == back { after.push(format!("n{}", n - 1)); }
                Node { id: format!("n{i}"), topic: Topic::from_static("kernel.ping"), payload: Default::default(), after, timeout_ms: None }
            }).collect();
            prop_assert!(matches!(check(&nodes), Err(GraphError::Cycle(_))));
        }
    }
}
