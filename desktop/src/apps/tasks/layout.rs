//! Where each node of a task graph is drawn: one column per depth (the longest chain of
//! dependencies before it), nodes stacked in definition order within a column, edges from the
//! right side of a dependency to the left side of its dependent.

use std::collections::HashMap;

/// Size of a node's box and the gaps, in SVG units (CSS pixels at scale 1). Three columns (the
/// welcome pipeline) fit the graph pane of a Tasks window at its default size; wider graphs
/// scroll in their pane.
pub const NODE_W: f64 = 150.0;
pub const NODE_H: f64 = 46.0;
const GAP_X: f64 = 40.0;
const GAP_Y: f64 = 14.0;
const MARGIN: f64 = 12.0;

/// A node's box.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Place {
    pub x: f64,
    pub y: f64,
}

/// The drawing: a box per node (in input order), the edges as SVG path data, and the size.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub places: Vec<Place>,
    /// `(from, to, path)`: node indexes and a cubic curve between them.
    pub edges: Vec<(usize, usize, String)>,
    pub width: f64,
    pub height: f64,
}

/// Lays out nodes given as `(id, after)`. Unknown dependencies are ignored and a cycle cannot
/// hang it (the kernel refuses both; the drawing of a refused graph may just look odd).
pub fn layout(nodes: &[(String, Vec<String>)]) -> Layout {
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id.as_str(), i))
        .collect();
    // Depth by relaxation, bounded by the node count so a cycle ends.
    let mut depth = vec![0usize; nodes.len()];
    for _ in 0..nodes.len() {
        let mut changed = false;
        for (i, (_, after)) in nodes.iter().enumerate() {
            for dep in after {
                if let Some(&d) = index.get(dep.as_str())
                    && depth[i] < depth[d] + 1
                    && depth[d] < nodes.len()
                {
                    depth[i] = depth[d] + 1;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let mut rows = HashMap::<usize, usize>::new();
    let places: Vec<Place> = depth
        .iter()
        .map(|&col| {
            let row = rows.entry(col).or_default();
            let place = Place {
                x: MARGIN + col as f64 * (NODE_W + GAP_X),
                y: MARGIN + *row as f64 * (NODE_H + GAP_Y),
            };
            *row += 1;
            place
        })
        .collect();
    let mut edges = Vec::new();
    for (i, (_, after)) in nodes.iter().enumerate() {
        for dep in after {
            if let Some(&d) = index.get(dep.as_str()) {
                let (a, b) = (places[d], places[i]);
                let (x1, y1) = (a.x + NODE_W, a.y + NODE_H / 2.0);
                let (x2, y2) = (b.x, b.y + NODE_H / 2.0);
                let bend = ((x2 - x1).abs() / 2.0).max(20.0);
                let path = format!(
                    "M{x1:.1},{y1:.1} C{:.1},{y1:.1} {:.1},{y2:.1} {x2:.1},{y2:.1}",
                    x1 + bend,
                    x2 - bend
                );
                edges.push((d, i, path));
            }
        }
    }
    let columns = depth.iter().max().map_or(0, |d| d + 1);
    let tallest = rows.values().max().copied().unwrap_or(0);
    Layout {
        places,
        edges,
        width: 2.0 * MARGIN + columns as f64 * NODE_W + columns.saturating_sub(1) as f64 * GAP_X,
        height: 2.0 * MARGIN + tallest as f64 * NODE_H + tallest.saturating_sub(1) as f64 * GAP_Y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(spec: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        spec.iter()
            .map(|(id, after)| (id.to_string(), after.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn a_diamond_has_three_columns_and_the_middle_stacked() {
        let l = layout(&graph(&[
            ("a", &[]),
            ("b", &["a"]),
            ("c", &["a"]),
            ("d", &["b", "c"]),
        ]));
        assert!(l.places[0].x < l.places[1].x && l.places[1].x < l.places[3].x);
        assert_eq!(l.places[1].x, l.places[2].x);
        assert!(l.places[1].y < l.places[2].y);
        assert_eq!(l.edges.len(), 4);
        assert!(l.width >= l.places[3].x + NODE_W);
        assert!(l.height >= l.places[2].y + NODE_H);
    }

    #[test]
    fn cycles_and_unknown_dependencies_do_not_hang() {
        let l = layout(&graph(&[("a", &["b"]), ("b", &["a"]), ("c", &["ghost"])]));
        assert_eq!(l.places.len(), 3);
        assert_eq!(l.edges.len(), 2);
    }
}
