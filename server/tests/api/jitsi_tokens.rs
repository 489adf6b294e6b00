//! The Jitsi token matrix: tokens minted by `JitsiTokens` (HS256, RS256 with a kid, JaaS) pass
//! Prosody's rules (`prosody.rs`), and forgeries that each change one thing from a genuine token
//! are refused for that one reason. The RSA keys are the test-only fixtures in `tests/fixtures`.

use std::path::PathBuf;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use consult_server::jitsi::{JitsiConfig, JitsiTokens, MintedToken, TokenGrant};
use hmac::{Hmac, Mac};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer as _};
use rsa::RsaPrivateKey;
use serde_json::{json, Value};

use crate::prosody::{ProsodyVerifier, Rejection, VerifiedToken};

/// Test-only, like every key here.
const APP_SECRET: &str = "test-only-jitsi-app-secret-0123456789abcdef";
const APP_ID: &str = "consult-test";
const DOMAIN: &str = "meet.example.com";
const KEY_A: &str = "test-only-jitsi-rsa-a.pkcs8.pem";
const KEY_B: &str = "test-only-jitsi-rsa-b.pkcs1.pem";
const KID: &str = "consult-test-key-1";
const TENANT: &str = "vpaas-magic-cookie-0123abcd";
/// Fixed times: minting and verifying both take `now` explicitly.
const NOW: i64 = 1_800_000_000;
const END: i64 = NOW + 30 * 60;
const ROOM: &str = "appt-7f3a9c_01";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn private_key(name: &str) -> RsaPrivateKey {
    let pem = std::fs::read_to_string(fixture(name)).expect("fixture key");
    RsaPrivateKey::from_pkcs8_pem(&pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(&pem))
        .expect("an RSA private key")
}

/// The public half as a key server would publish it (SPKI PEM).
fn public_pem(name: &str) -> String {
    private_key(name)
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("public PEM")
}

fn tokens(config: &JitsiConfig) -> JitsiTokens {
    consult_server::auth::install_crypto_provider();
    JitsiTokens::from_config(config).expect("valid Jitsi configuration")
}

/// A self-hosted deployment with `app_secret`, and Prosody configured to match.
fn hs256() -> (JitsiTokens, ProsodyVerifier) {
    let config = JitsiConfig::hs256(format!("https://{DOMAIN}"), APP_ID, APP_SECRET);
    let verifier = ProsodyVerifier::hs256(APP_SECRET.as_bytes(), APP_ID, "jitsi", DOMAIN);
    (tokens(&config), verifier)
}

/// A self-hosted deployment with a key server that knows `KID` (key A).
fn rs256() -> (JitsiTokens, ProsodyVerifier) {
    let config = JitsiConfig::rs256(
        format!("https://{DOMAIN}:8443"),
        APP_ID,
        fixture(KEY_A),
        KID,
    );
    let verifier = ProsodyVerifier::rs256(&public_pem(KEY_A), KID, APP_ID, "jitsi", DOMAIN);
    (tokens(&config), verifier)
}

/// JaaS: tenant `sub`, issuer "chat", kid `<tenant>/<key id>`.
fn jaas() -> (JitsiTokens, ProsodyVerifier) {
    let config = JitsiConfig::jaas(TENANT, fixture(KEY_A), KID);
    let kid = format!("{TENANT}/{KID}");
    let verifier =
        ProsodyVerifier::rs256(&public_pem(KEY_A), &kid, "chat", "jitsi", "8x8.vc").tenant(TENANT);
    (tokens(&config), verifier)
}

fn grant(moderator: bool) -> TokenGrant<'static> {
    TokenGrant {
        room: ROOM,
        user_id: "usr_42",
        display_name: "Dr. Zoë Müller",
        email: "zoe@clinic.example",
        moderator,
        appointment_end: END,
        now: NOW,
    }
}

fn mint(tokens: &JitsiTokens, moderator: bool) -> MintedToken {
    tokens.mint(&grant(moderator)).expect("mint")
}

// ---- Forging: decode a genuine token, change one thing, sign it again (or not). ----

enum Sign<'a> {
    /// HMAC-SHA256 with these bytes.
    Hs256(&'a [u8]),
    /// RSA PKCS#1 v1.5 SHA-256 with this fixture key.
    Rs256(&'a str),
    /// Keep the genuine token's signature.
    Keep,
    /// An empty signature segment (`h.p.`), as `alg: none` tokens have.
    Empty,
}

fn decode(segment: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).expect("base64url")).expect("JSON")
}

fn forge(genuine: &str, edit: impl FnOnce(&mut Value, &mut Value), sign: Sign<'_>) -> String {
    let segments: Vec<&str> = genuine.split('.').collect();
    let (mut header, mut claims) = (decode(segments[0]), decode(segments[1]));
    edit(&mut header, &mut claims);
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = match sign {
        Sign::Hs256(secret) => {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
            mac.update(input.as_bytes());
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        }
        Sign::Rs256(key) => {
            let signer = SigningKey::<Sha256>::new(private_key(key));
            URL_SAFE_NO_PAD.encode(signer.sign(input.as_bytes()).to_bytes())
        }
        Sign::Keep => segments[2].to_owned(),
        Sign::Empty => String::new(),
    };
    format!("{input}.{signature}")
}

/// `forge` re-signed with the genuine HS256 app secret.
fn resign(genuine: &str, edit: impl FnOnce(&mut Value, &mut Value)) -> String {
    forge(genuine, edit, Sign::Hs256(APP_SECRET.as_bytes()))
}

/// Changes only the claims.
fn claims(edit: impl FnOnce(&mut Value)) -> impl FnOnce(&mut Value, &mut Value) {
    move |_, claims| edit(claims)
}

/// Changes only the header.
fn header(edit: impl FnOnce(&mut Value)) -> impl FnOnce(&mut Value, &mut Value) {
    move |header, _| edit(header)
}

fn remove(value: &mut Value, key: &str) {
    value.as_object_mut().expect("object").remove(key);
}

/// One forgery and the one reason it must be refused for.
struct Case {
    what: &'static str,
    token: String,
    room: String,
    now: i64,
    expected: Rejection,
}

impl Case {
    fn new(what: &'static str, token: String, expected: Rejection) -> Case {
        Case {
            what,
            token,
            room: ROOM.to_owned(),
            now: NOW,
            expected,
        }
    }

    fn joining(mut self, room: &str) -> Case {
        self.room = room.to_owned();
        self
    }

    fn at(mut self, now: i64) -> Case {
        self.now = now;
        self
    }
}

fn assert_cases(verifier: &ProsodyVerifier, cases: Vec<Case>) {
    let mut failures = Vec::new();
    for case in cases {
        let got = verifier.verify(&case.token, &case.room, case.now);
        if got.as_ref().err() != Some(&case.expected) {
            failures.push(format!(
                "{}: expected {:?}, got {:?}",
                case.what,
                case.expected,
                got.map(|v| v.claims)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---- Genuine tokens ----

fn assert_user(verified: &VerifiedToken, moderator: bool) {
    assert_eq!(verified.moderator, moderator, "{:?}", verified.claims);
    assert_eq!(verified.user_id.as_deref(), Some("usr_42"));
    assert_eq!(verified.name.as_deref(), Some("Dr. Zoë Müller"));
    assert_eq!(verified.email.as_deref(), Some("zoe@clinic.example"));
    assert_eq!(verified.room, ROOM);
}

#[test]
fn hs256_tokens_pass_prosody() {
    let (tokens, verifier) = hs256();
    for moderator in [true, false] {
        let minted = mint(&tokens, moderator);
        assert_eq!(minted.room_name, ROOM);
        let verified = verifier
            .verify(&minted.token, &minted.room_name, NOW)
            .expect("genuine HS256 token");
        assert_user(&verified, moderator);
        assert_eq!(verified.header, json!({"typ": "JWT", "alg": "HS256"}));
        assert_eq!(
            (verified.issuer.as_str(), verified.audience.as_str()),
            (APP_ID, "jitsi")
        );
        assert_eq!(verified.subject, DOMAIN);
        assert_eq!(verified.claims["context"]["user"]["moderator"], moderator);
        assert_eq!(verified.features, None);
    }
}

#[test]
fn rs256_tokens_with_kid_pass_prosody() {
    let (tokens, verifier) = rs256();
    assert_eq!(tokens.server_url(), "https://meet.example.com:8443");
    for moderator in [true, false] {
        let minted = mint(&tokens, moderator);
        let verified = verifier
            .verify(&minted.token, &minted.room_name, NOW)
            .expect("genuine RS256 token");
        assert_user(&verified, moderator);
        assert_eq!(verified.kid.as_deref(), Some(KID));
        assert_eq!(
            verified.header,
            json!({"typ": "JWT", "alg": "RS256", "kid": KID})
        );
        // The XMPP domain has no port.
        assert_eq!(verified.subject, DOMAIN);
    }
}

#[test]
fn jaas_tokens_pass_with_the_tenant() {
    let (tokens, verifier) = jaas();
    assert_eq!(tokens.server_url(), "https://8x8.vc");
    for (moderator, flag) in [(true, "true"), (false, "false")] {
        let minted = mint(&tokens, moderator);
        assert_eq!(minted.room_name, format!("{TENANT}/{ROOM}"));
        let verified = verifier
            .verify(&minted.token, &minted.room_name, NOW)
            .expect("genuine JaaS token");
        assert_user(&verified, moderator);
        assert_eq!(verified.claims["context"]["user"]["moderator"], flag);
        assert_eq!(verified.issuer, "chat");
        assert_eq!(verified.subject, TENANT);
        assert_eq!(verified.kid, Some(format!("{TENANT}/{KID}")));
        let features = verified.features.expect("JaaS always gets features");
        assert_eq!(features["recording"], "false");
        assert_eq!(features["livestreaming"], "false");
    }
    // The same token for the bare room or another tenant's room is not for this tenant.
    let minted = mint(&tokens, false);
    assert_cases(
        &verifier,
        vec![
            Case::new(
                "JaaS room without the tenant",
                minted.token.clone(),
                Rejection::WrongSubject,
            ),
            Case::new(
                "JaaS room of another tenant",
                minted.token.clone(),
                Rejection::WrongSubject,
            )
            .joining(&format!("vpaas-magic-cookie-other/{ROOM}")),
            Case::new(
                "JaaS token for another room",
                minted.token,
                Rejection::WrongRoom,
            )
            .joining(&format!("{TENANT}/appt-other")),
        ],
    );
}

#[test]
fn validity_runs_from_nbf_to_exp_with_zero_leeway() {
    let (tokens, verifier) = hs256();
    let minted = mint(&tokens, false);
    // exp is the appointment's end plus the default 900 s grace; nbf is 30 s before minting.
    assert_eq!(minted.expires_at, END + 900);
    for now in [NOW - 30, NOW, END, minted.expires_at - 1] {
        verifier
            .verify(&minted.token, ROOM, now)
            .unwrap_or_else(|r| panic!("valid at {now}: {r:?}"));
    }
    assert_cases(
        &verifier,
        vec![
            Case::new(
                "one second before nbf",
                minted.token.clone(),
                Rejection::NotYetValid,
            )
            .at(NOW - 31),
            Case::new("at exp", minted.token.clone(), Rejection::Expired).at(minted.expires_at),
            Case::new("after exp", minted.token, Rejection::Expired).at(minted.expires_at + 1),
        ],
    );
}

// ---- Forgeries, one change at a time ----

#[test]
fn forged_hs256_tokens_are_refused_for_the_one_thing_changed() {
    let (tokens, verifier) = hs256();
    let genuine = mint(&tokens, false).token;

    // Control: re-signing the unchanged header and claims is accepted, so each refusal below is
    // caused by its one change, not by the forging.
    let control = resign(&genuine, |_, _| {});
    let verified = verifier
        .verify(&control, ROOM, NOW)
        .expect("re-signed genuine");
    assert!(!verified.moderator);
    // Prosody lowercases the room claim before comparing.
    let upper = resign(&genuine, claims(|c| c["room"] = json!(ROOM.to_uppercase())));
    verifier
        .verify(&upper, ROOM, NOW)
        .expect("room compared lowercase");

    let rs256_genuine = mint(&rs256().0, false).token;
    assert_cases(
        &verifier,
        vec![
            Case::new(
                "bad signature: moderator flipped, genuine signature kept",
                forge(
                    &genuine,
                    claims(|c| c["context"]["user"]["moderator"] = json!(true)),
                    Sign::Keep,
                ),
                Rejection::BadSignature,
            ),
            Case::new(
                "bad signature: signed with another secret",
                forge(
                    &genuine,
                    |_, _| {},
                    Sign::Hs256(b"another-secret-that-is-long-enough-0123456789"),
                ),
                Rejection::BadSignature,
            ),
            Case::new(
                "expired",
                resign(&genuine, claims(|c| c["exp"] = json!(NOW - 1))),
                Rejection::Expired,
            ),
            Case::new(
                "exp equal to now",
                resign(&genuine, claims(|c| c["exp"] = json!(NOW))),
                Rejection::Expired,
            ),
            Case::new(
                "nbf in the future",
                resign(&genuine, claims(|c| c["nbf"] = json!(NOW + 1))),
                Rejection::NotYetValid,
            ),
            Case::new(
                "wrong room in the token",
                resign(&genuine, claims(|c| c["room"] = json!("appt-other"))),
                Rejection::WrongRoom,
            ),
            Case::new(
                "genuine token, other room",
                genuine.clone(),
                Rejection::WrongRoom,
            )
            .joining("appt-other"),
            Case::new(
                "room wildcard",
                resign(&genuine, claims(|c| c["room"] = json!("*"))),
                Rejection::Wildcard("room"),
            ),
            Case::new(
                "room missing",
                resign(&genuine, claims(|c| remove(c, "room"))),
                Rejection::MissingRoom,
            ),
            Case::new(
                "wrong audience",
                resign(&genuine, claims(|c| c["aud"] = json!("consult-api"))),
                Rejection::WrongAudience,
            ),
            Case::new(
                "audience missing",
                resign(&genuine, claims(|c| remove(c, "aud"))),
                Rejection::MissingAudience,
            ),
            Case::new(
                "wrong issuer",
                resign(&genuine, claims(|c| c["iss"] = json!("someone-else"))),
                Rejection::WrongIssuer,
            ),
            Case::new(
                "issuer missing",
                resign(&genuine, claims(|c| remove(c, "iss"))),
                Rejection::MissingIssuer,
            ),
            Case::new(
                "wrong subject",
                resign(&genuine, claims(|c| c["sub"] = json!("other.example.com"))),
                Rejection::WrongSubject,
            ),
            Case::new(
                "subject wildcard",
                resign(&genuine, claims(|c| c["sub"] = json!("*"))),
                Rejection::Wildcard("sub"),
            ),
            Case::new(
                "exp missing",
                resign(&genuine, claims(|c| remove(c, "exp"))),
                Rejection::MissingExp,
            ),
            Case::new(
                "exp as a string",
                resign(
                    &genuine,
                    claims(|c| c["exp"] = json!((END + 900).to_string())),
                ),
                Rejection::NotANumber("exp"),
            ),
            Case::new(
                "typ missing",
                resign(&genuine, header(|h| remove(h, "typ"))),
                Rejection::BadType,
            ),
            Case::new(
                "alg changed to HS512",
                resign(&genuine, header(|h| h["alg"] = json!("HS512"))),
                Rejection::AlgorithmMismatch {
                    found: Some("HS512".into()),
                },
            ),
            Case::new(
                "alg none with an empty signature",
                forge(&genuine, header(|h| h["alg"] = json!("none")), Sign::Empty),
                // luajwtjitsi's split skips the empty segment: not even a token.
                Rejection::Malformed("Invalid token"),
            ),
            Case::new(
                "alg none with the genuine signature",
                forge(&genuine, header(|h| h["alg"] = json!("none")), Sign::Keep),
                Rejection::AlgorithmMismatch {
                    found: Some("none".into()),
                },
            ),
            Case::new(
                "alg missing",
                resign(&genuine, header(|h| remove(h, "alg"))),
                Rejection::AlgorithmMismatch { found: None },
            ),
            Case::new(
                "an RS256 token to an HS256 deployment",
                rs256_genuine,
                Rejection::AlgorithmMismatch {
                    found: Some("RS256".into()),
                },
            ),
            Case::new(
                "garbage",
                "not-a-token".into(),
                Rejection::Malformed("Invalid token"),
            ),
        ],
    );
}

#[test]
fn forged_rs256_tokens_are_refused_for_the_one_thing_changed() {
    let (tokens, verifier) = rs256();
    let genuine = mint(&tokens, false).token;
    let control = forge(&genuine, |_, _| {}, Sign::Rs256(KEY_A));
    verifier
        .verify(&control, ROOM, NOW)
        .expect("re-signed genuine");

    let public = public_pem(KEY_A);
    let hs256_genuine = mint(&hs256().0, false).token;
    assert_cases(
        &verifier,
        vec![
            Case::new(
                "bad signature: signed with another RSA key",
                forge(&genuine, |_, _| {}, Sign::Rs256(KEY_B)),
                Rejection::BadSignature,
            ),
            Case::new(
                "bad signature: moderator flipped, genuine signature kept",
                forge(
                    &genuine,
                    claims(|c| c["context"]["user"]["moderator"] = json!(true)),
                    Sign::Keep,
                ),
                Rejection::BadSignature,
            ),
            Case::new(
                "HS/RS confusion: HS256 signed with the public key's PEM bytes",
                forge(
                    &genuine,
                    header(|h| h["alg"] = json!("HS256")),
                    Sign::Hs256(public.as_bytes()),
                ),
                Rejection::AlgorithmMismatch {
                    found: Some("HS256".into()),
                },
            ),
            Case::new(
                "an HS256 token to an RS256 deployment",
                // The same token with the kid the key server knows, so only the alg differs.
                forge(
                    &hs256_genuine,
                    header(|h| h["kid"] = json!(KID)),
                    Sign::Hs256(APP_SECRET.as_bytes()),
                ),
                Rejection::AlgorithmMismatch {
                    found: Some("HS256".into()),
                },
            ),
            Case::new(
                "alg none with the genuine signature",
                forge(&genuine, header(|h| h["alg"] = json!("none")), Sign::Keep),
                Rejection::AlgorithmMismatch {
                    found: Some("none".into()),
                },
            ),
            Case::new(
                "kid missing",
                forge(&genuine, header(|h| remove(h, "kid")), Sign::Rs256(KEY_A)),
                Rejection::MissingKid,
            ),
            Case::new(
                "kid unknown to the key server",
                forge(
                    &genuine,
                    header(|h| h["kid"] = json!("someone-elses-key")),
                    Sign::Rs256(KEY_A),
                ),
                Rejection::UnknownKid("\"someone-elses-key\"".into()),
            ),
            Case::new(
                "expired",
                forge(
                    &genuine,
                    claims(|c| c["exp"] = json!(NOW - 1)),
                    Sign::Rs256(KEY_A),
                ),
                Rejection::Expired,
            ),
            Case::new(
                "nbf in the future",
                forge(
                    &genuine,
                    claims(|c| c["nbf"] = json!(NOW + 60)),
                    Sign::Rs256(KEY_A),
                ),
                Rejection::NotYetValid,
            ),
            Case::new(
                "exp missing",
                forge(&genuine, claims(|c| remove(c, "exp")), Sign::Rs256(KEY_A)),
                Rejection::MissingExp,
            ),
            Case::new(
                "wrong audience",
                forge(
                    &genuine,
                    claims(|c| c["aud"] = json!("other")),
                    Sign::Rs256(KEY_A),
                ),
                Rejection::WrongAudience,
            ),
            Case::new(
                "wrong issuer",
                forge(
                    &genuine,
                    claims(|c| c["iss"] = json!("other")),
                    Sign::Rs256(KEY_A),
                ),
                Rejection::WrongIssuer,
            ),
            Case::new("genuine token, other room", genuine, Rejection::WrongRoom)
                .joining("appt-other"),
        ],
    );
}

/// What `mod_token_affiliation` would make of `context.user.moderator`: only `true` and `"true"`
/// grant it. A string "false" is truthy in Lua and JavaScript, so the check must be exact.
#[test]
fn only_true_or_the_string_true_makes_a_moderator() {
    let (tokens, verifier) = hs256();
    let genuine = mint(&tokens, false).token;
    let secret = APP_SECRET.as_bytes();
    for (value, moderator) in [
        (json!(true), true),
        (json!("true"), true),
        (json!(false), false),
        (json!("false"), false),
        (json!("TRUE"), false),
        (json!(1), false),
        (Value::Null, false),
    ] {
        let token = forge(
            &genuine,
            claims(|c| c["context"]["user"]["moderator"] = value.clone()),
            Sign::Hs256(secret),
        );
        let verified = verifier.verify(&token, ROOM, NOW).expect("valid");
        assert_eq!(verified.moderator, moderator, "moderator = {value}");
    }
    // Every flavor: a grant without moderator never yields a moderator token.
    for (tokens, verifier) in [hs256(), rs256(), jaas()] {
        let minted = mint(&tokens, false);
        let verified = verifier
            .verify(&minted.token, &minted.room_name, NOW)
            .expect("valid");
        assert!(!verified.moderator, "{:?}", verified.claims);
    }
}

#[test]
fn an_extra_accepted_issuer_is_honoured() {
    let (tokens, _) = hs256();
    let verifier = ProsodyVerifier::hs256(APP_SECRET.as_bytes(), "other-app", "jitsi", DOMAIN);
    let minted = mint(&tokens, false);
    assert_eq!(
        verifier.verify(&minted.token, ROOM, NOW).err(),
        Some(Rejection::WrongIssuer)
    );
    let verifier = verifier.accept_issuer(APP_ID);
    verifier
        .verify(&minted.token, ROOM, NOW)
        .expect("accepted issuer");
    assert_eq!(verifier.algorithm(), "HS256");
}
