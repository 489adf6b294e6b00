//! Events from the core (Tauri events), without Tauri's JS package: the webview's
//! `__TAURI_INTERNALS__` turns a JS function into a callback id, and the event plugin's `listen`
//! command subscribes that id. A [`Listener`] unsubscribes when dropped, so signing out leaves no
//! stale listener behind.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use consult_types::AppError;

use crate::ipc;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI_INTERNALS__"], js_name = transformCallback, catch)]
    fn transform_callback(callback: &js_sys::Function, once: bool) -> Result<JsValue, JsValue>;

    // Tauri's own `unlisten` calls this first: it forgets the callback on the page's side.
    #[wasm_bindgen(js_namespace = ["window", "__TAURI_EVENT_PLUGIN_INTERNALS__"], js_name = unregisterListener, catch)]
    fn unregister_listener(event: &str, event_id: f64) -> Result<JsValue, JsValue>;
}

/// What Tauri hands the callback.
#[derive(Deserialize)]
struct Envelope<T> {
    payload: T,
}

#[derive(Serialize)]
struct ListenArgs<'a> {
    event: &'a str,
    target: Target,
    handler: f64,
}

#[derive(Serialize)]
struct Target {
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UnlistenArgs {
    event: String,
    event_id: f64,
}

/// A subscription to one event; dropping it unsubscribes.
pub struct Listener {
    event: String,
    event_id: f64,
    callback: Option<Closure<dyn FnMut(JsValue)>>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Missing only outside Tauri; the core's side is unsubscribed below either way.
        let _ = unregister_listener(&self.event, self.event_id);
        let args = UnlistenArgs {
            event: std::mem::take(&mut self.event),
            event_id: self.event_id,
        };
        // The closure lives until the core has stopped sending to it: an event already on its
        // way must not reach a freed closure.
        let callback = self.callback.take();
        wasm_bindgen_futures::spawn_local(async move {
            let _: Result<(), AppError> = ipc::invoke("plugin:event|unlisten", &args).await;
            drop(callback);
        });
    }
}

/// Calls `callback` with the payload of every `event` until the returned [`Listener`] is dropped.
/// Payloads that do not match `T` are logged (event name only) and skipped.
pub async fn listen<T, F>(event: &str, callback: F) -> Result<Listener, AppError>
where
    T: DeserializeOwned + 'static,
    F: Fn(T) + 'static,
{
    let name = event.to_owned();
    let closure =
        Closure::<dyn FnMut(JsValue)>::new(
            move |raw: JsValue| match serde_wasm_bindgen::from_value::<Envelope<T>>(raw) {
                Ok(envelope) => callback(envelope.payload),
                Err(_) => web_sys::console::warn_1(&format!("unreadable {name} event").into()),
            },
        );
    let handler = transform_callback(closure.as_ref().unchecked_ref(), false)
        .ok()
        .and_then(|id| id.as_f64())
        .ok_or_else(|| AppError::Internal {
            detail: "the app's event bridge is missing".into(),
        })?;
    let event_id: f64 = ipc::invoke(
        "plugin:event|listen",
        &ListenArgs {
            event,
            target: Target { kind: "Any" },
            handler,
        },
    )
    .await?;
    Ok(Listener {
        event: event.to_owned(),
        event_id,
        callback: Some(closure),
    })
}
