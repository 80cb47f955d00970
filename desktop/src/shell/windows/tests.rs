//! The window manager's rules, natively: instances, focus and stacking, minimize, maximize,
//! switching, fitting to a new viewport, and the snapshot that the saved layout is made of.

use super::*;
use crate::apps;
use crate::shell::layout;

const SCREEN: Size = Size {
    width: 1280.0,
    height: 800.0,
};

fn about() -> &'static AppMeta {
    apps::find("about").unwrap()
}

fn notes() -> &'static AppMeta {
    apps::find("notes").unwrap()
}

#[test]
fn a_single_instance_app_is_focused_when_opened_again_and_a_multi_instance_one_is_not() {
    let wm = WindowManager::new(SCREEN);
    let first = wm.open(about());
    assert_eq!(wm.open(about()), first);
    let a = wm.open(notes());
    let b = wm.open(notes());
    assert_ne!(a, b);
    assert_eq!(wm.count("notes").open, 2);
    assert_eq!(wm.windows().len(), 3);
    assert!(wm.is_open("about"));
}

#[test]
fn focus_raises_a_window_above_the_others_and_close_removes_it() {
    let wm = WindowManager::new(SCREEN);
    let a = wm.open(about());
    let b = wm.open(notes());
    assert_eq!(wm.focused(), Some(b));
    assert!(wm.z_index(b) > wm.z_index(a));
    wm.focus(a);
    assert_eq!(wm.focused(), Some(a));
    assert!(wm.z_index(a) > wm.z_index(b));
    wm.close(a);
    assert_eq!(wm.focused(), Some(b));
    assert!(!wm.is_open("about"));
    wm.close(a);
    assert_eq!(wm.windows().len(), 1);
}

#[test]
fn minimizing_hands_the_focus_down_and_focusing_restores() {
    let wm = WindowManager::new(SCREEN);
    let a = wm.open(notes());
    let b = wm.open(notes());
    wm.minimize(b);
    assert_eq!(wm.focused(), Some(a));
    assert_eq!(
        wm.count("notes"),
        WindowCount {
            open: 2,
            minimized: 1
        }
    );
    // The dock brings back the app's frontmost window, which is the minimized one.
    assert_eq!(wm.launch(notes()), b);
    assert_eq!(wm.focused(), Some(b));
    assert_eq!(wm.count("notes").minimized, 0);
    // Clicking again while it is focused moves on to the app's other window.
    assert_eq!(wm.launch(notes()), a);
}

#[test]
fn the_dock_opens_an_app_that_has_no_window() {
    let wm = WindowManager::new(SCREEN);
    let id = wm.launch(about());
    assert_eq!(wm.focused(), Some(id));
    assert_eq!(wm.launch(about()), id);
    assert_eq!(wm.windows().len(), 1);
}

#[test]
fn maximize_keeps_the_normal_place_for_restore() {
    let wm = WindowManager::new(SCREEN);
    let a = wm.open(notes());
    let before = wm.windows()[0].rect.get();
    wm.toggle_maximize(a);
    assert!(wm.windows()[0].maximized.get());
    assert_eq!(wm.windows()[0].rect.get(), before);
    wm.toggle_maximize(a);
    assert!(!wm.windows()[0].maximized.get());
}

#[test]
fn switching_visits_every_visible_window_and_skips_minimized_ones() {
    let wm = WindowManager::new(SCREEN);
    let a = wm.open(notes());
    let b = wm.open(notes());
    let c = wm.open(notes());
    let d = wm.open(about());
    wm.minimize(d);
    assert_eq!(wm.cycle(true), Some(a));
    assert_eq!(wm.cycle(true), Some(b));
    assert_eq!(wm.cycle(true), Some(c));
    assert_eq!(wm.cycle(true), Some(a));
    assert_eq!(wm.cycle(false), Some(c));
    for id in [a, b, c] {
        wm.minimize(id);
    }
    assert_eq!(wm.focused(), None);
    // Everything minimized: switching brings back the most recent window.
    assert!(wm.cycle(true).is_some());
}

#[test]
fn a_smaller_viewport_pulls_every_window_inside() {
    let wm = WindowManager::new(SCREEN);
    for _ in 0..5 {
        wm.open(notes());
    }
    let small = Size {
        width: 500.0,
        height: 400.0,
    };
    wm.fit_to(small);
    assert_eq!(wm.viewport(), small);
    let area = geometry::work_area(small);
    for w in wm.windows() {
        let r = w.rect.get();
        assert!(r.right() <= area.right() && r.x >= 0.0, "{r:?}");
        assert!(r.y >= area.y, "{r:?}");
        assert!(r.width >= w.app.min_size.width && r.height >= w.app.min_size.height);
    }
}

#[test]
fn a_snapshot_restores_to_the_same_desktop() {
    let wm = WindowManager::new(SCREEN);
    let a = wm.open(notes());
    let b = wm.open(about());
    let c = wm.open(notes());
    wm.focus(a);
    wm.minimize(c);
    wm.toggle_maximize(b); // also brings it to the front
    let saved = wm.snapshot();
    let order: Vec<u32> = saved.windows.iter().map(|w| w.id).collect();
    assert_eq!(order, vec![c, a, b]);

    let restored = WindowManager::new(SCREEN);
    restored.restore(layout::plan(&saved, SCREEN, apps::find));
    assert_eq!(restored.snapshot(), saved);
    assert_eq!(restored.focused(), Some(b));
    // New windows never reuse a restored id.
    let next = restored.open(notes());
    assert!(next > a.max(b).max(c));
}

#[test]
fn open_with_posts_the_intent_to_the_single_window_or_a_new_one() {
    use crate::shell::intents::Intent;
    let wm = WindowManager::new(SCREEN);
    let editor = apps::find("editor").unwrap();
    let first = wm.open_with(editor, Intent::OpenFile { path: "/a".into() });
    wm.minimize(first);
    let again = wm.open_with(editor, Intent::OpenFile { path: "/b".into() });
    assert_eq!(
        again, first,
        "a single-instance app receives it in its window"
    );
    assert_eq!(wm.focused(), Some(first), "brought forward and restored");
    let inbox = wm.windows()[0].inbox;
    assert_eq!(
        inbox.take(),
        [
            Intent::OpenFile { path: "/a".into() },
            Intent::OpenFile { path: "/b".into() }
        ]
    );
    let terminal = apps::find("terminal").unwrap();
    let a = wm.open_with(terminal, Intent::AttachProgram { pid: 1 });
    let b = wm.open_with(terminal, Intent::AttachProgram { pid: 2 });
    assert_ne!(a, b, "a multi-instance app gets a new window per intent");
    let mail: Vec<_> = wm.windows()[1..].iter().map(|w| w.inbox.take()).collect();
    assert_eq!(
        mail,
        [
            vec![Intent::AttachProgram { pid: 1 }],
            vec![Intent::AttachProgram { pid: 2 }]
        ]
    );
}

#[test]
fn send_hands_the_intent_to_the_frontmost_window_of_the_app_or_opens_one() {
    use crate::shell::intents::Intent;
    let wm = WindowManager::new(SCREEN);
    let files = apps::find("files").unwrap();
    let opened = wm.send(files, Intent::Command("export"));
    assert_eq!(
        wm.count("files").open,
        1,
        "a window is opened when there is none"
    );
    let second = wm.open(files);
    wm.open(notes());
    wm.minimize(second);
    let sent = wm.send(files, Intent::Command("export"));
    assert_eq!(
        sent, second,
        "the frontmost window of the app, even minimized"
    );
    assert_eq!(
        wm.count("files").open,
        2,
        "no window more for a multi-instance app"
    );
    assert_eq!(wm.focused(), Some(second), "brought forward and restored");
    let mail = |id: u32| {
        wm.windows()
            .into_iter()
            .find(|w| w.id == id)
            .map(|w| w.inbox.take())
            .unwrap()
    };
    assert_eq!(mail(opened), [Intent::Command("export")]);
    assert_eq!(mail(second), [Intent::Command("export")]);
}

#[test]
fn bring_forward_opens_raises_or_restores_the_app_but_leaves_a_focused_window_be() {
    let wm = WindowManager::new(SCREEN);
    let BroughtForward::Opened(a) = wm.bring_forward(notes()) else {
        panic!("an app without a window gets one");
    };
    assert_eq!(wm.bring_forward(notes()), BroughtForward::AlreadyFocused(a));
    let b = wm.open(notes());
    assert_eq!(
        wm.bring_forward(notes()),
        BroughtForward::AlreadyFocused(b),
        "not the dock's cycling"
    );
    let other = wm.open(about());
    assert_eq!(wm.bring_forward(notes()), BroughtForward::Raised(b));
    assert_eq!(wm.focused(), Some(b));
    wm.minimize(b);
    wm.focus(other);
    assert_eq!(wm.bring_forward(notes()), BroughtForward::Raised(b));
    assert_eq!(wm.count("notes").minimized, 0);
    assert_eq!(wm.focused(), Some(b));
    assert_eq!(wm.windows().len(), 3);
}
