//! Prosody's `token` authentication rules for the API tests. The verifier lives in the workspace
//! crate `prosody-rules`, shared with the end-to-end Jitsi stand-in (`tests/src/jitsi`). It is
//! stricter than Jitsi (a missing `exp` and a `*` room or sub are refused; Jitsi accepts them).

pub use prosody_rules::{ProsodyVerifier, Rejection, VerifiedToken};
