//! Where the binaries under test and the test artifacts are.

use std::path::PathBuf;

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        })
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The Cargo profile whose binaries are tested: `debug`, or `CONSULT_E2E_PROFILE` (benchmarks
/// use `release`).
fn profile_dir() -> String {
    std::env::var("CONSULT_E2E_PROFILE").unwrap_or_else(|_| "debug".into())
}

/// A binary of this workspace's build. Panics with what to run when it is missing.
pub fn binary(name: &str) -> PathBuf {
    let path = target_dir().join(profile_dir()).join(name);
    assert!(
        path.is_file(),
        "{} is missing: build it first (scripts/test does, or `trunk build --release` in ui/ and then `cargo build -p consult-app -p consult-server`)",
        path.display()
    );
    path
}

/// The desktop app under test: this workspace's build, or the installed one that
/// `CONSULT_E2E_APP` names (scripts/check-package sets it to the `.deb`'s `/usr/bin/consult`).
pub fn app_binary() -> PathBuf {
    match std::env::var_os("CONSULT_E2E_APP") {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "CONSULT_E2E_APP names {}, which is not a file",
                path.display()
            );
            path
        }
        None => binary("consult"),
    }
}

/// Screenshots and logs a person can open after a run: `tests/artifacts/`.
pub fn artifacts_dir() -> PathBuf {
    let dir = workspace_root().join("tests").join("artifacts");
    if let Err(error) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {error}", dir.display());
    }
    dir
}
