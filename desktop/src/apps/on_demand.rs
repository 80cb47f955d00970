//! Apps whose code loads on demand: the entry of a heavy app sits behind a split point, so its
//! code is a separate wasm chunk fetched the first time one of its windows opens, not part of
//! the desktop's first load.
//!
//! [`on_demand!`] writes an app's `render` (see [`super::AppMeta::render`]): under
//! `cfg(aether_split)` (the release wasm `cargo xtask` builds, see `desktop/build.rs`) the app's view is built by a
//! `wasm_split` function that the splitter run by `cargo xtask` moves, with everything only it
//! reaches, into `split_<chunk>.wasm`; the window shows a short "Loading…" line until the chunk
//! has arrived, then the app, in the window's reactive owner (so `WindowId`, the inbox and every
//! other context are there). Otherwise (dev and native builds) the view is built at once. A
//! chunk that fails to load (the kernel was rebuilt or went away) is said in the window, with a
//! word about reloading, instead of taking the page down; the next window of that app tries
//! again. This module never loads chunks by itself: only opening a window does.

use std::future::Future;

use leptos::prelude::*;
use send_wrapper::SendWrapper;

/// `fn render() -> AnyView` showing `$view` (an expression building the app's view), whose code
/// goes to the on-demand chunk `$chunk` in release wasm builds.
macro_rules! on_demand {
    ($chunk:ident, $view:expr) => {
        fn render() -> ::leptos::prelude::AnyView {
            #[cfg_attr(
                aether_split,
                ::leptos::wasm_split::wasm_split($chunk, wasm_split_path = ::leptos::wasm_split, fallible)
            )]
            fn build() -> Result<::leptos::prelude::AnyView, $crate::apps::on_demand::ChunkError> {
                Ok(::leptos::prelude::IntoAny::into_any($view))
            }
            #[cfg(aether_split)]
            return $crate::apps::on_demand::when_loaded(build());
            #[cfg(not(aether_split))]
            return build().unwrap_or_else(|e| match e {});
        }
    };
}
pub(crate) use on_demand;

/// Why an app's chunk is not there: the fetch or the instantiation failed (the browser console
/// has the details).
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    #[cfg(aether_split)]
    #[error("this app's code did not load (was the desktop rebuilt?): reload the page")]
    Load(#[from] leptos::wasm_split::SplitLoaderError),
}

/// The window's content while `built` (the split function's call) fetches the chunk, then the app.
#[cfg_attr(not(aether_split), allow(dead_code))]
pub fn when_loaded(built: impl Future<Output = Result<AnyView, ChunkError>> + 'static) -> AnyView {
    let built = SendWrapper::new(built);
    view! {
        <Suspense fallback=|| view! { <p class="app-loading" data-testid="app-loading">"Loading…"</p> }>
            {Suspend::new(async move {
                match built.await {
                    Ok(app) => app,
                    Err(error) => view! {
                        <p class="app-loading" data-testid="app-load-error">{error.to_string()}</p>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}
