fn main() {
    // App commands are declared here so they pass through the same permission system as
    // plugin commands: a window may call only what its capability file allows.
    let commands = &[
        "startup",
        "login",
        "logout",
        "dashboard",
        "decide_join_request",
        "admit_all",
        "user_active",
        "settings",
        "save_settings",
        "call_support",
        "join_call",
        "call_control",
        "call_screen",
        "retry_call",
        "leave_call",
    ];
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(commands));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {error:#}");
    }
}
