//! Quick open (Ctrl+P): a box that filters this tab's files as you type; Enter opens the first
//! match (or the one picked with ↑/↓), Escape closes. The filter is pure and unit tested.
//!
//! DOM contract: `[data-testid=editor-quick-open]` (the input), `[data-testid=quick-open-item]
//! [data-path]`.

use aether_shared::vfs::EntryKind;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::EditorState;

/// Files matching `query`: every query character in order (case-insensitive), best first:
/// names containing the query, then paths containing it, then the rest; at most `limit`.
pub fn filter(paths: &[String], query: &str, limit: usize) -> Vec<String> {
    let q = query.trim().to_lowercase();
    let mut scored: Vec<(u8, &String)> = paths
        .iter()
        .filter_map(|path| {
            let lower = path.to_lowercase();
            let name = lower.rsplit('/').next().unwrap_or(&lower);
            let rank = if q.is_empty() || name.contains(&q) {
                0
            } else if lower.contains(&q) {
                1
            } else if is_subsequence(&q, &lower) {
                2
            } else {
                return None;
            };
            Some((rank, path))
        })
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.len().cmp(&b.1.len())).then(a.1.cmp(b.1)));
    scored.into_iter().take(limit).map(|(_, p)| p.clone()).collect()
}

fn is_subsequence(needle: &str, hay: &str) -> bool {
    let mut hay = hay.chars();
    needle.chars().all(|c| hay.any(|h| h == c))
}

/// The quick-open box (shown while `state.quick_open` is true).
#[component]
pub fn QuickOpen(state: EditorState) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let picked = RwSignal::new(0usize);
    let files = RwSignal::new(Vec::<String>::new());
    Effect::new(move |_| {
        if state.quick_open.get() {
            query.set(String::new());
            picked.set(0);
            let vfs = state.vfs();
            spawn_local(async move {
                if let Ok(entries) = vfs.walk().await {
                    files.try_set(
                        entries
                            .into_iter()
                            .filter(|e| e.kind == EntryKind::File)
                            .map(|e| e.path)
                            .collect(),
                    );
                }
            });
        }
    });
    let matches = Memo::new(move |_| files.with(|f| filter(f, &query.get(), 12)));
    let open = move |path: String| {
        state.quick_open.set(false);
        state.open(path);
    };
    let on_key = move |ev: web_sys::KeyboardEvent| match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            state.quick_open.set(false);
            state.with_host(|h| h.focus());
        }
        "ArrowDown" => {
            ev.prevent_default();
            picked.update(|p| *p = (*p + 1).min(matches.get_untracked().len().saturating_sub(1)));
        }
        "ArrowUp" => {
            ev.prevent_default();
            picked.update(|p| *p = p.saturating_sub(1));
        }
        "Enter" => {
            ev.prevent_default();
            if let Some(path) = matches.get_untracked().get(picked.get_untracked()).cloned() {
                open(path);
            }
        }
        _ => {}
    };
    let input = NodeRef::<leptos::html::Input>::new();
    input.on_load(|el| {
        let _ = el.focus();
    });
    move || {
        state.quick_open.get().then(|| {
            view! {
                <div class="quick-open" role="dialog" aria-label="Open a file">
                    <input
                        node_ref=input
                        data-testid="editor-quick-open"
                        placeholder="Type a file name…"
                        prop:value=move || query.get()
                        on:input=move |ev| { query.set(event_target_value(&ev)); picked.set(0); }
                        on:keydown=on_key
                        on:blur=move |_| {
                            // Let a click on an item land first.
                            set_timeout(move || { let _ = state.quick_open.try_set(false); }, std::time::Duration::from_millis(150));
                        }
                    />
                    <ul class="quick-open-list">
                        {move || matches.get().into_iter().enumerate().map(|(i, path)| {
                            let (target, shown) = (path.clone(), path.clone());
                            view! {
                                <li
                                    data-testid="quick-open-item"
                                    data-path=path.clone()
                                    class:picked=move || picked.get() == i
                                    on:mousedown=move |ev| { ev.prevent_default(); open(target.clone()); }
                                >{shown}</li>
                            }
                        }).collect_view()}
                    </ul>
                </div>
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_rank_before_paths_before_scattered_letters() {
        let paths: Vec<String> = ["/welcome/hello.wat", "/src/main.rs", "/hello/readme.md", "/x/h-e-l.txt"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            filter(&paths, "hello", 10),
            ["/welcome/hello.wat", "/hello/readme.md"]
        );
        assert_eq!(filter(&paths, "HEL", 10)[0], "/welcome/hello.wat");
        assert_eq!(filter(&paths, "mrs", 10), ["/src/main.rs"]);
        assert_eq!(filter(&paths, "", 2).len(), 2);
        assert!(filter(&paths, "zzz", 10).is_empty());
    }
}
