//! The graph of the shown run as SVG: one box per node, coloured by its state, and the edges of
//! `after`. Clicking a box selects the node for the details pane.
//!
//! DOM contract: `svg[data-testid=task-graph]`, nodes `g[data-testid=task-node][data-node]
//! [data-state]`.

use leptos::prelude::*;

use super::board::{Board, node_word};
use super::layout::{NODE_H, NODE_W, layout};

/// The drawing of `board`; `selected` holds the clicked node's id.
#[component]
pub fn Graph(board: Signal<Option<Board>>, selected: RwSignal<Option<String>>) -> impl IntoView {
    // The layout depends on the shape only, not on states: recomputed when the shape changes.
    let shape = Memo::new(move |_| board.with(|b| b.as_ref().map(Board::shape).unwrap_or_default()));
    let drawing = Memo::new(move |_| shape.with(|s| layout(s)));
    let view_box = move || {
        drawing.with(|d| format!("0 0 {:.0} {:.0}", d.width.max(1.0), d.height.max(1.0)))
    };
    let width = move || drawing.with(|d| format!("{:.0}", d.width));
    let height = move || drawing.with(|d| format!("{:.0}", d.height));

    let edges = move || {
        drawing.with(|d| {
            d.edges
                .iter()
                .map(|(_, _, path)| view! { <path class="task-edge" d=path.clone() /> })
                .collect_view()
        })
    };
    let nodes = move || {
        let places = drawing.with(|d| d.places.clone());
        board.with(|b| {
            let Some(b) = b else {
                return Vec::new();
            };
            b.nodes
                .iter()
                .zip(places)
                .map(|(node, place)| {
                    let id = node.id.clone();
                    let word = node_word(node.state);
                    let detail = match node.duration_ms {
                        Some(ms) => format!("{word} · {ms} ms"),
                        None => word.to_owned(),
                    };
                    let click_id = id.clone();
                    let label = id.clone();
                    let is_selected = {
                        let mine = id.clone();
                        move || selected.with(|s| s.as_deref() == Some(mine.as_str()))
                    };
                    view! {
                        <g
                            data-testid="task-node"
                            data-node=id
                            data-state=word
                            class=format!("task-node task-{word}")
                            class:selected=is_selected
                            transform=format!("translate({:.1},{:.1})", place.x, place.y)
                            on:click=move |_| selected.set(Some(click_id.clone()))
                        >
                            <rect width=NODE_W height=NODE_H rx="7" />
                            <text x="10" y="19" class="task-node-id">{label}</text>
                            <text x="10" y="36" class="task-node-state">{detail}</text>
                        </g>
                    }
                })
                .collect::<Vec<_>>()
        })
    };

    view! {
        <svg
            class="task-graph"
            data-testid="task-graph"
            viewBox=view_box
            width=width
            height=height
            role="img"
            aria-label="Task graph"
        >
            <g class="task-edges">{edges}</g>
            {nodes}
        </svg>
    }
}
