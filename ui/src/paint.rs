//! Start-up timing from the page's side: the core is told when the first screen has been
//! painted, so start-up can be measured to the moment a person sees it.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::ipc;

/// Reports the first painted screen to the core once the next frame is on screen: the first
/// `requestAnimationFrame` callback runs before that frame is painted, the second's after it.
pub fn report_after_next_paint() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let report = Closure::once_into_js(|| {
        let at_unix_ms = js_sys::Date::now();
        wasm_bindgen_futures::spawn_local(async move {
            // Timing only: a failure changes nothing for the user.
            let _ = ipc::first_paint(at_unix_ms).await;
        });
    });
    let next_frame = Closure::once_into_js(move || {
        if let Some(window) = web_sys::window() {
            let _ = window.request_animation_frame(report.unchecked_ref());
        }
    });
    let _ = window.request_animation_frame(next_frame.unchecked_ref());
}
