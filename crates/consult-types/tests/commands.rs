//! `commands::ALL` is the one list of IPC commands: `src-tauri/build.rs` declares it, and these
//! tests fail when the capability file or the UI disagrees with it. They read the other crates'
//! files because neither a JSON capability nor wasm-only UI code can be compiled into a check.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use consult_types::commands;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The app-command permissions (`allow-<name>`, no plugin prefix) the capability grants.
fn allowed(capability: &serde_json::Value) -> BTreeSet<String> {
    let permissions = capability["permissions"].as_array().expect("permissions");
    permissions
        .iter()
        .map(|permission| {
            // A permission is a string or `{ "identifier": …, "allow": […] }`.
            permission
                .as_str()
                .or_else(|| permission["identifier"].as_str())
                .expect("a permission identifier")
        })
        // Plugin and core permissions are `<plugin>:<permission>`.
        .filter(|identifier| !identifier.contains(':'))
        .map(|identifier| {
            let command = identifier
                .strip_prefix("allow-")
                .unwrap_or_else(|| panic!("{identifier}: only allow-<command> is expected"));
            command.replace('-', "_")
        })
        .collect()
}

#[test]
fn the_main_window_capability_allows_exactly_the_commands() {
    let path = workspace().join("src-tauri/capabilities/main.json");
    let capability: serde_json::Value = serde_json::from_str(&read(&path)).expect("JSON");
    let listed: BTreeSet<String> = commands::ALL.iter().map(|name| name.to_string()).collect();
    assert_eq!(allowed(&capability), listed, "{}", path.display());
}

/// Every `commands::NAME` the source mentions.
fn constants_used(source: &str) -> BTreeSet<&str> {
    source
        .split("commands::")
        .skip(1)
        .map(|rest| {
            let end = rest
                .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// The string literals passed straight to an `invoke(` call.
fn literal_commands(source: &str) -> Vec<&str> {
    source
        .split("invoke(")
        .skip(1)
        .filter_map(|rest| rest.trim_start().strip_prefix('"'))
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn the_ui_calls_every_command_through_the_constants_and_no_other_app_command() {
    let ipc = read(&workspace().join("ui/src/ipc.rs"));
    let constants: BTreeSet<String> = commands::ALL
        .iter()
        .map(|name| name.to_ascii_uppercase())
        .collect();
    let used: BTreeSet<String> = constants_used(&ipc)
        .into_iter()
        .map(str::to_owned)
        .collect();
    // The constants compile only if they exist; this catches a command the UI never calls (and
    // a constant not named after its command).
    assert_eq!(used, constants, "ui/src/ipc.rs");

    let mut files = Vec::new();
    rust_files(&workspace().join("ui/src"), &mut files);
    assert!(files.len() > 1, "the UI's sources are found");
    for file in files {
        let source = read(&file);
        for literal in literal_commands(&source) {
            // Tauri's own plugin commands (event listeners) are not app commands.
            assert!(
                literal.starts_with("plugin:"),
                "{}: invoke(\"{literal}\") bypasses consult_types::commands",
                file.display()
            );
        }
    }
}

#[test]
fn the_source_readers_find_what_they_look_for() {
    let source = r#"invoke(commands::LOGIN, &()); invoke(
        "plugin:event|listen", &a); invoke("login", &b)"#;
    assert_eq!(constants_used(source), BTreeSet::from(["LOGIN"]));
    assert_eq!(
        literal_commands(source),
        ["plugin:event|listen", "login"].to_vec()
    );
}
