fn main() {
    // App commands are declared here so they pass through the same permission system as
    // plugin commands: a window may call only what its capability file allows. The list lives in
    // consult-types, which the UI's calls and the capability test share.
    let commands = consult_types::commands::ALL;
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(commands));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {error:#}");
    }
}
