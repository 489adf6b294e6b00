//! Tells the core the user is active (keys, pointer) so the idle sign-out does not fire while
//! someone works. Throttled: at most one `user_active` call every 10 seconds.

use std::cell::Cell;
use std::rc::Rc;

use gloo_events::EventListener;
use yew::prelude::*;

use crate::ipc;

const EVERY_MILLIS: f64 = 10_000.0;

/// Reports activity anywhere in the document while the calling component is mounted.
#[hook]
pub fn use_activity_reporter() {
    use_effect_with((), |_| {
        let last = Rc::new(Cell::new(f64::NEG_INFINITY));
        let listeners: Vec<EventListener> = match web_sys::window().and_then(|w| w.document()) {
            Some(document) => ["keydown", "pointerdown", "pointermove"]
                .into_iter()
                .map(|kind| {
                    let last = last.clone();
                    EventListener::new(&document, kind, move |_| {
                        let now = js_sys::Date::now();
                        if now - last.get() >= EVERY_MILLIS {
                            last.set(now);
                            wasm_bindgen_futures::spawn_local(async {
                                // Best effort: a lost report at worst signs out a little early.
                                let _ = ipc::user_active().await;
                            });
                        }
                    })
                })
                .collect(),
            None => Vec::new(),
        };
        move || drop(listeners)
    });
}
