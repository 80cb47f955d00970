//! The Settings app: what a person changes for themselves in this browser — the theme (the
//! system's, light or dark), the AI model named in the Editor's and the Agent's requests, the
//! Editor's font size, and whether the agent asks before it reads files.
//!
//! Every control writes the shared [`Preferences`] at once (kept in `localStorage`, so every tab
//! and every reload sees them), and what follows them follows live: the theme, Monaco's font
//! size, the next AI request. The kernel's own settings stay in its YAML; a model name typed
//! here is only a request the kernel answers for (an unknown one fails with the provider's
//! sentence), and asking before reads can only tighten the kernel's agent policy.
//!
//! DOM contract for tests: `[data-testid=settings]`; radios
//! `settings-theme-system|light|dark`; `settings-model` (text, applied on change);
//! `settings-font-size` (number, 9–32) with `settings-font-size-value`; radios
//! `settings-reads-allow|ask`.

use leptos::prelude::*;

use super::AppMeta;
use crate::services::preferences::{
    FONT_SIZE_MAX_PX, FONT_SIZE_MIN_PX, Preferences, ReadApproval, Theme, clamp_font_size,
    clean_model,
};
use crate::shell::geometry::Size;
use crate::shell::theme::ActiveTheme;

/// The registry entry.
pub const META: AppMeta = AppMeta {
    id: "settings",
    title: "Settings",
    icon: "M12 9a3 3 0 1 0 0 6a3 3 0 1 0 0-6Z M12 2v3 M12 19v3 M4.9 4.9l2.1 2.1 M17 17l2.1 2.1 M2 12h3 M19 12h3 M4.9 19.1 7 17 M17 7l2.1-2.1",
    default_size: Size {
        width: 460.0,
        height: 440.0,
    },
    min_size: Size {
        width: 320.0,
        height: 260.0,
    },
    multi_instance: false,
    commands: &[],
    render,
};

// Loaded on demand: the app's code is its own wasm chunk, fetched when its first window opens.
super::on_demand::on_demand!(settings, view! { <Settings /> });

/// The Settings window's content.
#[component]
pub fn Settings() -> impl IntoView {
    let preferences = expect_context::<Preferences>();
    let active = expect_context::<ActiveTheme>();
    let system_now = move || match active.get() {
        Theme::Light => "Follow the system (light now)",
        Theme::Dark => "Follow the system (dark now)",
    };

    view! {
        <form class="settings" data-testid="settings" on:submit=|ev| ev.prevent_default()>
            <fieldset class="settings-group">
                <legend>"Theme"</legend>
                {move || radio(preferences.theme, "settings-theme", None, system_now(), "settings-theme-system")}
                {radio(preferences.theme, "settings-theme", Some(Theme::Light), "Light", "settings-theme-light")}
                {radio(preferences.theme, "settings-theme", Some(Theme::Dark), "Dark", "settings-theme-dark")}
                <p class="settings-note">"Also: Toggle theme in the command palette, or Alt+Shift+T."</p>
            </fieldset>
            <fieldset class="settings-group">
                <legend>"Editor"</legend>
                <label class="settings-field">
                    "Font size"
                    <input
                        type="number"
                        data-testid="settings-font-size"
                        min=FONT_SIZE_MIN_PX
                        max=FONT_SIZE_MAX_PX
                        step="1"
                        prop:value=move || preferences.editor_font_size.get().to_string()
                        on:change=move |ev| {
                            if let Ok(px) = event_target_value(&ev).trim().parse::<u32>() {
                                preferences.editor_font_size.set(clamp_font_size(px));
                            }
                        }
                    />
                    <span class="settings-unit" data-testid="settings-font-size-value">
                        {move || format!("{} px", preferences.editor_font_size.get())}
                    </span>
                </label>
            </fieldset>
            <fieldset class="settings-group">
                <legend>"AI"</legend>
                <label class="settings-field">
                    "Model"
                    <input
                        type="text"
                        data-testid="settings-model"
                        placeholder="The kernel's default"
                        autocomplete="off"
                        spellcheck="false"
                        prop:value=move || preferences.model.get().unwrap_or_default()
                        on:change=move |ev| preferences.model.set(clean_model(&event_target_value(&ev)))
                    />
                </label>
                <p class="settings-note">
                    "Named in the Editor's chat and completions and in the Agent's runs; empty: the model the kernel is configured with."
                </p>
                <p class="settings-label">"When the agent wants to read files"</p>
                {radio(preferences.read_approval, "settings-reads", ReadApproval::Allow, "As the kernel's policy says", "settings-reads-allow")}
                {radio(preferences.read_approval, "settings-reads", ReadApproval::Ask, "Ask me before every read", "settings-reads-ask")}
            </fieldset>
            <p class="settings-note">"Kept in this browser, for every tab."</p>
        </form>
    }
}

/// One radio button of the group `name`: checked while `signal` holds `choice`, and sets it.
fn radio<T>(
    signal: RwSignal<T>,
    name: &'static str,
    choice: T,
    label: &'static str,
    id: &'static str,
) -> impl IntoView
where
    T: PartialEq + Copy + Send + Sync + 'static,
{
    view! {
        <label class="settings-choice">
            <input
                type="radio"
                name=name
                data-testid=id
                prop:checked=move || signal.get() == choice
                on:change=move |_| signal.set(choice)
            />
            {label}
        </label>
    }
}
