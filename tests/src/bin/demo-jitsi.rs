//! The demo meeting of `scripts/run`: the Jitsi stand-in (`tests/src/jitsi`: the genuine
//! `external_api.js`, a meeting page that checks tokens with Prosody's rules, HTTPS with a
//! private CA) in demo mode, so a newcomer can try calls without a Jitsi deployment. The page
//! says that it is a stand-in and shows the user's own camera through a WebRTC loopback.
//!
//! `demo-jitsi <dir>` writes `<dir>/server.toml` (the clinic server's `[jitsi]` table with a
//! secret made for this run) and `<dir>/jitsi-ca.pem` (its CA, which the app and the server's
//! check are told to trust), prints `demo-jitsi ready <url>` and serves until its standard input
//! closes (when `scripts/run` ends).

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use consult_e2e::jitsi::{JitsiStandIn, StandInOptions};

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: demo-jitsi <dir>");
        std::process::exit(2);
    };
    let dir = Path::new(&dir);
    let secret = random_hex(32);
    let standin = JitsiStandIn::start(StandInOptions {
        demo: true,
        ..StandInOptions::hs256("consult-demo", &secret)
    });
    // The secret is in this file only, readable by this user only.
    write_private(&dir.join("server.toml"), &standin.server_config_toml());
    write_private(&dir.join("jitsi-ca.pem"), &standin.ca_pem());
    println!("demo-jitsi ready {}", standin.base_url());
    let _ = std::io::stdout().flush();

    // Serves (on its own thread) until whoever started it goes away.
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(standin);
}

fn write_private(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    file.write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// `bytes` random bytes from the kernel, as hex.
fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut buffer))
        .unwrap_or_else(|e| panic!("reading /dev/urandom: {e}"));
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}
