//! `consult://join/<sessionId>` links: parsed strictly, since anything on a command line or from
//! the OS may be crafted. Only that one form is accepted; everything else is ignored.

use consult_types::FocusAppointment;

/// The URL scheme, registered in `tauri.conf.json` (`plugins.deep-link`).
pub const SCHEME: &str = "consult";
/// Longest session id accepted; the server's ids are far shorter.
const MAX_ID_LEN: usize = 128;

/// Why a link was not accepted: logged, never shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    NotAJoinLink,
    BadSessionId,
}

/// The session id of `consult://join/<sessionId>`: ASCII letters, digits, `-` and `_` only;
/// no other path, query, fragment, user, or port.
pub fn parse_join_link(link: &str) -> Result<String, Invalid> {
    let (scheme, rest) = link.split_once("://").ok_or(Invalid::NotAJoinLink)?;
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return Err(Invalid::NotAJoinLink);
    }
    let id = rest.strip_prefix("join/").ok_or(Invalid::NotAJoinLink)?;
    // A trailing slash is what some launchers add; nothing else may follow the id.
    let id = id.strip_suffix('/').unwrap_or(id);
    let sane = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if sane {
        Ok(id.to_owned())
    } else {
        Err(Invalid::BadSessionId)
    }
}

/// Whether a command-line argument is meant as one of our links (valid or not).
pub fn is_our_link(arg: &str) -> bool {
    arg.get(..SCHEME.len())
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case(SCHEME))
        && arg
            .get(SCHEME.len()..)
            .is_some_and(|rest| rest.starts_with(':'))
}

/// The appointments to focus for the links among `args` (a launch's argv without argv[0]);
/// invalid links are logged and skipped, other arguments ignored.
pub fn focus_requests<S: AsRef<str>>(args: &[S]) -> Vec<FocusAppointment> {
    args.iter()
        .map(AsRef::as_ref)
        .filter(|arg| is_our_link(arg))
        .filter_map(|link| match parse_join_link(link) {
            Ok(session_id) => Some(FocusAppointment {
                appointment_id: None,
                session_id: Some(session_id),
            }),
            Err(reason) => {
                // The link itself is not logged: it came from outside and may be anything.
                tracing::warn!(?reason, length = link.len(), "ignored a consult:// link");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_join_links_with_a_sane_id_are_accepted() {
        assert_eq!(
            parse_join_link("consult://join/abc-123_X"),
            Ok("abc-123_X".into())
        );
        assert_eq!(parse_join_link("CONSULT://join/abc/"), Ok("abc".into()));
        assert_eq!(
            parse_join_link("consult://join/"),
            Err(Invalid::BadSessionId)
        );
        for bad_id in [
            "consult://join/a/b",
            "consult://join/a?x=1",
            "consult://join/a#f",
            "consult://join/%2e%2e",
            "consult://join/a b",
            "consult://join/ü",
            "consult://join/..",
        ] {
            assert_eq!(
                parse_join_link(bad_id),
                Err(Invalid::BadSessionId),
                "{bad_id}"
            );
        }
        let long = format!("consult://join/{}", "a".repeat(MAX_ID_LEN + 1));
        assert_eq!(parse_join_link(&long), Err(Invalid::BadSessionId));
        for other in [
            "consult://open/abc",
            "consult://Join/abc",
            "consult://user@join/abc",
            "consult://join:80/abc",
            "consult:join/abc",
            "https://join/abc",
            "consultx://join/abc",
            "",
        ] {
            assert_eq!(
                parse_join_link(other),
                Err(Invalid::NotAJoinLink),
                "{other}"
            );
        }
    }

    #[test]
    fn arguments_other_than_links_are_ignored() {
        let args = [
            "--flag",
            "consult://join/s1",
            "consult://evil/x",
            "Consult://join/s2",
            "/tmp/consult://join/s3",
        ];
        let sessions: Vec<_> = focus_requests(&args)
            .into_iter()
            .map(|focus| focus.session_id.unwrap_or_default())
            .collect();
        assert_eq!(sessions, ["s1", "s2"]);
        assert!(is_our_link("consult:anything"));
        assert!(!is_our_link("consult"));
        assert!(!is_our_link("consultation.txt"));
        assert!(!is_our_link("consü:x"));
    }
}
