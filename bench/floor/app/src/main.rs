//! The floor app: a window with a one-input Yew page that reports when it first painted. Consult
//! reports its first screen the same way (`first_paint`), so `bench-desktop` times both from
//! process start to a painted page without WebDriver in the path.

/// The page's `Date.now()` when its first frame was painted, printed in the format Consult logs.
#[tauri::command]
fn painted(at_unix_ms: f64) {
    println!("first screen painted painted_at_unix_ms={at_unix_ms:.0}");
}

fn main() {
    let app = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![painted])
        .run(tauri::generate_context!());
    if let Err(error) = app {
        eprintln!("consult-floor: {error}");
        std::process::exit(1);
    }
}
