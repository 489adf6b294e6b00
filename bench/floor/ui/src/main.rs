//! One labelled input, and a report to the app once the first frame with it has been painted
//! (the same two animation frames Consult's UI waits for before its `first_paint`).

use wasm_bindgen::prelude::*;
use yew::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI_INTERNALS__"], js_name = invoke, catch)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

/// Runs `then` after the next frame has been painted: the callback of the first
/// `requestAnimationFrame` runs before that frame's paint, the second's after it.
fn after_next_paint(then: impl FnOnce() + 'static) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let second = Closure::once_into_js(then);
    let first = Closure::once_into_js(move || {
        if let Some(window) = web_sys::window() {
            let _ = window.request_animation_frame(second.unchecked_ref());
        }
    });
    let _ = window.request_animation_frame(first.unchecked_ref());
}

#[function_component(Floor)]
fn floor() -> Html {
    use_effect_with((), |_| {
        after_next_paint(|| {
            let args = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&args, &"atUnixMs".into(), &js_sys::Date::now().into());
            wasm_bindgen_futures::spawn_local(async move {
                let _ = tauri_invoke("painted", args.into()).await;
            });
        });
    });
    html! {
        <main>
            <label for="email">{ "Email" }</label>
            <input id="email" type="email" />
        </main>
    }
}

fn main() {
    yew::Renderer::<Floor>::new().render();
}
