//! The shell's real wiring on Tauri's mock runtime, with the app's own context (its capability
//! files and the command list `build.rs` declares): every command of the one list
//! (`consult_types::commands::ALL`) is wired to a handler and allowed in the main window, a
//! command outside it is not, and the start-up reply carries what the first screen needs.

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::Manager;

use consult_types::{commands, StartupState};

fn request(command: &str, body: Value) -> InvokeRequest {
    InvokeRequest {
        cmd: command.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: InvokeBody::Json(body),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    }
}

/// Tauri's own refusals: no handler, or not allowed by the window's capability.
fn refused_by_tauri(error: &Value) -> bool {
    let text = error.to_string();
    text.contains("not found") || text.contains("not allowed")
}

#[test]
fn the_wiring_serves_every_listed_command_and_nothing_else() {
    // A desktop of its own: config, settings and data under a temporary home.
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("consult.toml");
    std::fs::write(
        &config,
        "server_url = \"http://127.0.0.1:9/\"\nkeychain = \"none\"\n",
    )
    .unwrap();
    // This binary runs this one test, before any other thread reads the environment.
    std::env::set_var("HOME", home.path());
    std::env::set_var("XDG_CONFIG_HOME", home.path().join("config"));
    std::env::set_var("XDG_DATA_HOME", home.path().join("data"));
    std::env::set_var("CONSULT_CONFIG", &config);

    let mut app = consult_app_lib::wire(mock_builder(), |_| {})
        .build(tauri::generate_context!())
        .expect("the app builds on the mock runtime");
    // The app's set-up runs with its event loop's first turn; one turn is all this test needs.
    #[allow(deprecated)]
    app.run_iteration(|_, _| {});
    let window = app
        .get_webview_window("main")
        .expect("the wiring creates the main window");

    for command in commands::ALL {
        // Without arguments: the handler may refuse them, Tauri must not refuse the command.
        if let Err(error) = get_ipc_response(&window, request(command, json!({}))) {
            assert!(
                !refused_by_tauri(&error),
                "{command}: refused by Tauri: {error}"
            );
        }
    }
    // The updater plugin is driven by the core only: the page cannot check or install.
    for outside in [
        "open_devtools",
        "plugin:store|get",
        "plugin:store|set",
        "plugin:updater|check",
        "plugin:updater|download_and_install",
        "plugin:updater|install",
    ] {
        let error = get_ipc_response(&window, request(outside, json!({})))
            .expect_err("not in the list, not callable");
        assert!(refused_by_tauri(&error), "{outside}: {error}");
    }

    let startup: StartupState = get_ipc_response(&window, request(commands::STARTUP, json!({})))
        .expect("startup answers")
        .deserialize()
        .unwrap();
    assert_eq!(startup.settings.server_url, "http://127.0.0.1:9/");
    assert!(
        startup
            .settings
            .preset
            .iter()
            .any(|name| name == "serverUrl"),
        "the configured server is preset: {startup:?}"
    );
    assert!(startup.session.is_none());
}
