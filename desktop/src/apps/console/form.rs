//! The launch form: what to run (WAT text, a VFS path, a sample, or an uploaded file), its
//! arguments, and in a collapsible section its environment and limits; Run opens a new tab.
//!
//! Every source's field stays visible; using a field selects its source (the radio shows which
//! one Run will send). Fields are checked before a tab opens; a problem is shown under the
//! Run button (`[data-testid=console-form-error]`) and nothing is sent.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;

use super::loader;
use super::module::{self, SAMPLES, STARTER_WAT};
use super::request::Fields;
use super::runs::{Pending, Runs};

/// Where the program comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Wat,
    Path,
    Sample,
    Upload,
}

/// An uploaded file: its name and the module read from it, or why it cannot be one.
type Upload = (String, Result<aether_shared::vm::ModuleSource, String>);

/// The form on the Console's left.
#[component]
pub fn LaunchForm(runs: Runs, window: u32) -> impl IntoView {
    let source = RwSignal::new(Source::Wat);
    let wat = RwSignal::new(STARTER_WAT.to_owned());
    let path = RwSignal::new(String::new());
    let sample = RwSignal::new(0_usize);
    let upload = RwSignal::new(None::<Upload>);
    let fields = RwSignal::new(Fields::default());
    let problem = RwSignal::new(None::<String>);

    let submit = move || {
        let options = match fields.with_untracked(Fields::parse) {
            Ok(options) => options,
            Err(e) => return problem.set(Some(e.to_string())),
        };
        let chosen = match source.get_untracked() {
            Source::Wat => wat
                .with_untracked(|text| module::from_wat(text))
                .map(|m| ("wat".to_owned(), Pending::Ready(m)))
                .map_err(|e| e.to_string()),
            Source::Path => path.with_untracked(|text| {
                module::from_path(text)
                    .map(|m| {
                        (
                            module::short_name(text.trim()).to_owned(),
                            Pending::Ready(m),
                        )
                    })
                    .map_err(|e| e.to_string())
            }),
            Source::Sample => {
                let (name, url) = SAMPLES[sample.get_untracked()];
                Ok((name.to_owned(), Pending::Fetch(url)))
            }
            Source::Upload => match upload.get_untracked() {
                Some((name, Ok(m))) => Ok((name, Pending::Ready(m))),
                Some((_, Err(e))) => Err(e),
                None => Err("no file chosen yet; choose a .wasm or .wat file".to_owned()),
            },
        };
        match chosen {
            Ok((label, pending)) => {
                problem.set(None);
                runs.start(label, pending, options);
            }
            Err(e) => problem.set(Some(e)),
        }
    };

    let on_file = move |ev: leptos::ev::Event| {
        source.set(Source::Upload);
        let Some(file) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            .and_then(|input| input.files())
            .and_then(|files| files.get(0))
        else {
            return upload.set(None);
        };
        spawn_local(async move {
            let name = file.name();
            let read = loader::read_file(&file)
                .await
                .map_err(|e| e.to_string())
                .and_then(|bytes| module::from_file(&name, bytes).map_err(|e| e.to_string()));
            let _ = upload.try_set(Some((name, read)));
        });
    };

    let group = format!("console-source-{window}");
    let radio = move |kind: Source, label: &'static str| {
        view! {
            <label class="console-source-label">
                <input
                    type="radio"
                    name=group.clone()
                    prop:checked=move || source.get() == kind
                    on:change=move |_| source.set(kind)
                />
                {label}
            </label>
        }
    };
    let field = move |set: fn(&mut Fields, String)| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            fields.update(|f| set(f, value));
        }
    };
    let samples = SAMPLES
        .iter()
        .enumerate()
        .map(|(index, (name, _))| {
            let pressed = move || source.get() == Source::Sample && sample.get() == index;
            view! {
                <button
                    type="button"
                    class="console-sample"
                    data-testid=format!("console-sample-{name}")
                    aria-pressed=move || pressed().to_string()
                    on:click=move |_| {
                        sample.set(index);
                        source.set(Source::Sample);
                    }
                >
                    {*name}
                </button>
            }
        })
        .collect_view();
    let upload_note = move || {
        upload.with(|u| match u {
            Some((_, Err(e))) => e.clone(),
            Some((name, Ok(_))) => name.clone(),
            None => String::new(),
        })
    };

    view! {
        <form
            class="console-form"
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            <fieldset class="console-sources">
                <legend>"Program"</legend>
                {radio(Source::Wat, "WAT")}
                <textarea
                    class="console-wat"
                    data-testid="console-wat"
                    aria-label="WAT program"
                    rows="7"
                    spellcheck="false"
                    prop:value=STARTER_WAT
                    on:focus=move |_| source.set(Source::Wat)
                    on:input=move |ev| wat.set(event_target_value(&ev))
                ></textarea>
                {radio(Source::Path, "VFS path")}
                <input
                    type="text"
                    data-testid="console-path"
                    aria-label="VFS path"
                    placeholder="/welcome/hello.wasm"
                    spellcheck="false"
                    on:focus=move |_| source.set(Source::Path)
                    on:input=move |ev| path.set(event_target_value(&ev))
                />
                {radio(Source::Sample, "Sample")}
                <div class="console-samples" role="group" aria-label="Samples">
                    {samples}
                </div>
                {radio(Source::Upload, "Upload")}
                <div class="console-upload">
                    <input
                        type="file"
                        accept=".wasm,.wat"
                        data-testid="console-upload"
                        aria-label="Upload a .wasm or .wat file"
                        on:change=on_file
                    />
                    <span class="console-upload-note">{upload_note}</span>
                </div>
            </fieldset>
            <label class="console-field">
                "Arguments"
                <input
                    type="text"
                    data-testid="console-args"
                    placeholder=r#"one "two words""#
                    spellcheck="false"
                    on:input=field(|f, v| f.args = v)
                />
            </label>
            <details class="console-more">
                <summary>"Environment and limits"</summary>
                <label class="console-field">
                    "Environment (KEY=VALUE lines)"
                    <textarea
                        data-testid="console-env"
                        rows="3"
                        spellcheck="false"
                        on:input=field(|f, v| f.env = v)
                    ></textarea>
                </label>
                <div class="console-limits">
                    <label class="console-field">
                        "Wall time (ms)"
                        <input
                            type="text"
                            inputmode="numeric"
                            data-testid="console-limit-wall"
                            on:input=field(|f, v| f.wall_ms = v)
                        />
                    </label>
                    <label class="console-field">
                        "Fuel"
                        <input
                            type="text"
                            inputmode="numeric"
                            data-testid="console-limit-fuel"
                            on:input=field(|f, v| f.fuel = v)
                        />
                    </label>
                    <label class="console-field">
                        "Memory (MiB)"
                        <input
                            type="text"
                            inputmode="numeric"
                            data-testid="console-limit-memory"
                            on:input=field(|f, v| f.memory_mib = v)
                        />
                    </label>
                </div>
            </details>
            <button type="submit" class="console-run" data-testid="console-run">
                "Run"
            </button>
            <p class="console-form-error" data-testid="console-form-error" role="alert">
                {move || problem.get()}
            </p>
        </form>
    }
}
