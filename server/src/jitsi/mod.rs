//! Jitsi Meet: the `[jitsi]` configuration and the meeting tokens (JWTs) the server mints for
//! Prosody's `token` authentication or for JaaS (`shared/spec/jitsi.md` §3).

pub mod check;
pub mod config;
pub mod tokens;

pub use config::{JitsiAlgorithm, JitsiConfig, JitsiConfigError, JitsiFlavor, JitsiSigning};
pub use tokens::{JitsiError, JitsiTokens, MintedToken, TokenGrant};
