//! The locked shell of a kiosk (issue 13): when the administrator's configuration makes this
//! app a kiosk, its main window is fullscreen without decorations, devtools or a context menu,
//! its pages' text cannot be selected (inputs can), it cannot be closed and the app cannot be
//! quit, and it takes focus and fullscreen back whenever it loses them.
//!
//! The one way out is the administrator's exit ([`administrator_exit`]), which ends the
//! process with [`ADMINISTRATOR_EXIT_CODE`]; the kiosk's wrapper (packaging/kiosk/) maps that
//! code to a clean stop and anything else to a restart. Nothing calls it yet.
//!
//! What a window cannot lock (Alt+Tab, VT switching, `kill`) is the session's job: cage and the
//! systemd unit in packaging/kiosk/. The rules are the pure functions [`react`] and
//! [`exit_allowed`]; the rest is wiring.

use std::sync::atomic::{AtomicBool, Ordering};

use tauri::{
    AppHandle, Manager, PhysicalSize, RunEvent, Runtime, WebviewWindowBuilder, Window, WindowEvent,
};

use consult_types::{CallPathKind, CallScreen};

/// The process exit code of the administrator's exit: the only exit a kiosk allows, and the
/// code the kiosk's wrapper treats as "stopped on purpose, do not restart" (64, `EX_USAGE` in
/// sysexits.h, is not a code the app or a signal death produces otherwise).
pub const ADMINISTRATOR_EXIT_CODE: i32 = 64;
/// The exit code of a restart the clinic asked for (a remote `restart`): any code but
/// [`ADMINISTRATOR_EXIT_CODE`] makes the kiosk's service start the app again; 75 (EX_TEMPFAIL
/// in sysexits.h) says in the journal that it was meant.
pub const RESTART_EXIT_CODE: i32 = 75;

/// Runs at document start in the main frame (the app's own pages; the embedded call's frames
/// are not touched): no context menu, no text selection outside inputs, no dragging content
/// out. Listeners only, so the page's CSP (no inline styles) does not get in the way.
const PAGE_LOCK_SCRIPT: &str = r#"(function () {
  var own = location.protocol === "tauri:" || location.hostname === "tauri.localhost";
  if (!own) { return; }
  var editable = function (target) {
    return !!(target && target.closest && target.closest("input, textarea, [contenteditable]"));
  };
  var element = function (target) {
    return target && target.nodeType === 1 ? target : target && target.parentElement;
  };
  window.addEventListener("contextmenu", function (event) { event.preventDefault(); }, true);
  document.addEventListener("selectstart", function (event) {
    if (!editable(element(event.target))) { event.preventDefault(); }
  }, true);
  document.addEventListener("dragstart", function (event) { event.preventDefault(); }, true);
})();"#;

/// Present (managed) only when the app is a kiosk.
#[derive(Debug, Default)]
pub struct KioskLock {
    /// Set by the administrator's exit, the one exit request let through.
    leaving: AtomicBool,
    /// While the call runs in a browser window of its own, that window has the screen: the
    /// main window still cannot be closed, but it takes neither focus nor fullscreen back.
    yielding: AtomicBool,
}

impl KioskLock {
    fn state(&self) -> LockState {
        if self.leaving.load(Ordering::SeqCst) {
            LockState::Leaving
        } else if self.yielding.load(Ordering::SeqCst) {
            LockState::YieldingToCall
        } else {
            LockState::Locked
        }
    }
}

/// Where the lock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    Locked,
    /// The call's browser window is open (see [`KioskLock`]).
    YieldingToCall,
    /// The administrator's exit is under way.
    Leaving,
}

/// What the window reported, as far as the lock cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    CloseRequested,
    FocusLost,
    /// Resized or moved (a window manager's request to leave fullscreen, F11, iconify): where
    /// the window stands now.
    Geometry {
        fullscreen: bool,
        minimized: bool,
    },
    /// The window manager changed the window's state (fullscreen, iconified, focused…).
    StateChanged,
    Other,
}

/// What the lock does about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    Nothing,
    /// Veto the close.
    KeepOpen,
    /// Back to fullscreen (un-minimised), and take the focus back when `focus`.
    Restore {
        focus: bool,
    },
}

/// The rule for a window event of a kiosk's main window.
pub fn react(seen: Seen, state: LockState) -> Reaction {
    match (state, seen) {
        (LockState::Leaving, _) => Reaction::Nothing,
        (_, Seen::CloseRequested) => Reaction::KeepOpen,
        (LockState::YieldingToCall, _) => Reaction::Nothing,
        (LockState::Locked, seen) => react_locked(seen),
    }
}

fn react_locked(seen: Seen) -> Reaction {
    match seen {
        Seen::CloseRequested => Reaction::KeepOpen,
        Seen::FocusLost => Reaction::Restore { focus: true },
        Seen::Geometry {
            fullscreen: true,
            minimized: false,
        } => Reaction::Nothing,
        Seen::Geometry { .. } | Seen::StateChanged => Reaction::Restore { focus: false },
        Seen::Other => Reaction::Nothing,
    }
}

/// Whether an exit request goes through: only the administrator's exit and the clinic's
/// restart, which the app itself starts. `code` is `None` when the request came from the last
/// window closing, `Some` from `AppHandle::exit` (a restart cannot be vetoed at all, Tauri
/// ignores that).
pub fn exit_allowed(code: Option<i32>, leaving: bool) -> bool {
    leaving && matches!(code, Some(ADMINISTRATOR_EXIT_CODE | RESTART_EXIT_CODE))
}

/// The main window's builder, locked: fullscreen, no decorations, no devtools, the page lock.
pub fn lock_builder<'a, R: Runtime, M: Manager<R>>(
    builder: WebviewWindowBuilder<'a, R, M>,
) -> WebviewWindowBuilder<'a, R, M> {
    builder
        .fullscreen(true)
        .decorations(false)
        .focused(true)
        .devtools(false)
        .initialization_script(PAGE_LOCK_SCRIPT)
}

/// Window events of the main window (the caller checks the label), when the app is a kiosk.
pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    let seen = match event {
        WindowEvent::CloseRequested { .. } => Seen::CloseRequested,
        WindowEvent::Focused(false) => Seen::FocusLost,
        WindowEvent::Resized(_)
        | WindowEvent::Moved(_)
        | WindowEvent::ScaleFactorChanged { .. } => {
            let (fullscreen, minimized) = standing(window);
            Seen::Geometry {
                fullscreen,
                minimized,
            }
        }
        _ => Seen::Other,
    };
    on_seen(window, seen, Some(event));
}

fn on_seen<R: Runtime>(window: &Window<R>, seen: Seen, event: Option<&WindowEvent>) {
    let Some(lock) = window.try_state::<KioskLock>() else {
        return;
    };
    match react(seen, lock.state()) {
        Reaction::Nothing => {}
        Reaction::KeepOpen => {
            if let Some(WindowEvent::CloseRequested { api, .. }) = event {
                api.prevent_close();
                tracing::info!("kiosk: a request to close the window was refused");
            }
        }
        Reaction::Restore { focus } => {
            if seen != Seen::StateChanged {
                tracing::info!(?seen, "kiosk: the window takes fullscreen and focus back");
            }
            restore(window, focus);
        }
    }
}

/// Whether the window fills its monitor (is fullscreen) and whether it is minimised, as the
/// window manager left it. Tauri's `is_fullscreen` is no help: on Linux it answers what the app
/// last asked for, not what the window manager did since.
fn standing<R: Runtime>(window: &Window<R>) -> (bool, bool) {
    let minimized = window.is_minimized().unwrap_or(false);
    let fullscreen = match (window.outer_size(), window.current_monitor()) {
        (Ok(size), Ok(Some(monitor))) => fills(size, *monitor.size()),
        _ => false,
    };
    (fullscreen, minimized)
}

/// Whether a window of `size` covers a monitor of `monitor`'s size.
pub fn fills(size: PhysicalSize<u32>, monitor: PhysicalSize<u32>) -> bool {
    size.width >= monitor.width && size.height >= monitor.height
}

/// Un-minimises the window, asks for fullscreen again (a no-op when it is) and, when `focus`,
/// takes the focus back.
fn restore<R: Runtime>(window: &Window<R>, focus: bool) {
    let minimized = window.is_minimized().unwrap_or(false);
    let mut result = Ok(());
    if minimized {
        result = result.and_then(|()| window.unminimize());
    }
    result = result.and_then(|()| window.set_fullscreen(true));
    if focus {
        result = result.and_then(|()| window.set_focus());
    }
    match result {
        Ok(()) => tracing::debug!(minimized, focus, "kiosk: the window was put back"),
        Err(error) => tracing::warn!(%error, "kiosk: the window could not be put back"),
    }
}

/// Watches the window manager's changes to the window's state (fullscreen, iconified) that
/// Tauri does not report on Linux (no event when a window manager only takes it out of
/// fullscreen). Each one puts the window back; a request for what already is changes nothing,
/// so this does not loop.
#[cfg(target_os = "linux")]
pub fn watch_window_state<R: Runtime>(window: &tauri::WebviewWindow<R>) {
    use webkit2gtk::glib::prelude::{Cast as _, ObjectExt as _, ToValue as _};

    let gtk_window = match window.gtk_window() {
        Ok(gtk_window) => gtk_window.upcast::<webkit2gtk::glib::Object>(),
        Err(error) => {
            tracing::warn!(%error, "kiosk: the window's state cannot be watched");
            return;
        }
    };
    let window = window.as_ref().window();
    gtk_window.connect_local("window-state-event", false, move |_| {
        on_seen(&window, Seen::StateChanged, None);
        // Let GTK's own handlers run too.
        Some(false.to_value())
    });
}

/// Elsewhere Tauri's `Resized` carries a change of fullscreen.
#[cfg(not(target_os = "linux"))]
pub fn watch_window_state<R: Runtime>(_window: &tauri::WebviewWindow<R>) {}

/// Whether the call shown is carried by a browser window of its own that is (still) open.
pub fn call_in_browser_window(call: Option<&CallScreen>) -> bool {
    call.is_some_and(|screen| {
        screen.support.path == CallPathKind::Browser && !screen.view.phase.is_over()
    })
}

/// The call's own browser window opened (`true`) or closed: the main window yields the screen
/// to it meanwhile, and takes it back after.
pub fn yield_to_call_window<R: Runtime>(window: &tauri::WebviewWindow<R>, open: bool) {
    let Some(lock) = window.try_state::<KioskLock>() else {
        return;
    };
    let was = lock.yielding.swap(open, Ordering::SeqCst);
    if was == open {
        return;
    }
    tracing::info!(open, "kiosk: the call's browser window has the screen");
    if !open {
        restore(&window.as_ref().window(), true);
    }
}

/// The app's run events: a kiosk vetoes every exit request but the administrator's.
pub fn on_run_event<R: Runtime>(app: &AppHandle<R>, event: &RunEvent) {
    let RunEvent::ExitRequested { code, api, .. } = event else {
        return;
    };
    let Some(lock) = app.try_state::<KioskLock>() else {
        return;
    };
    if exit_allowed(*code, lock.state() == LockState::Leaving) {
        tracing::info!(?code, "kiosk: the app ends on purpose");
    } else {
        api.prevent_exit();
        tracing::info!(?code, "kiosk: a request to quit the app was refused");
    }
}

/// The administrator's exit: the one way a kiosk's app ends on purpose, with
/// [`ADMINISTRATOR_EXIT_CODE`]; the core asks for it (`Ui::leave_kiosk`) once staff typed the
/// right PIN and chose Exit on the maintenance screen.
pub fn administrator_exit<R: Runtime>(app: &AppHandle<R>) {
    if let Some(lock) = app.try_state::<KioskLock>() {
        lock.leaving.store(true, Ordering::SeqCst);
    }
    tracing::info!(
        code = ADMINISTRATOR_EXIT_CODE,
        "kiosk: the administrator leaves"
    );
    app.exit(ADMINISTRATOR_EXIT_CODE);
}

/// The clinic's restart (a remote `restart` command): the app ends with [`RESTART_EXIT_CODE`],
/// and the kiosk's service starts it again.
pub fn restart<R: Runtime>(app: &AppHandle<R>) {
    if let Some(lock) = app.try_state::<KioskLock>() {
        lock.leaving.store(true, Ordering::SeqCst);
    }
    tracing::info!(
        code = RESTART_EXIT_CODE,
        "kiosk: restarting, as the clinic asked"
    );
    app.exit(RESTART_EXIT_CODE);
}

/// A call on `path` in `phase`, for the shell's tests.
#[cfg(test)]
pub(crate) fn test_call(path: CallPathKind, phase: consult_types::CallPhase) -> CallScreen {
    use consult_types::{CallSupport, CallView};
    CallScreen {
        session_id: "s".into(),
        appointment_id: None,
        support: CallSupport {
            path,
            browser: None,
            forced: false,
            reason: None,
            install_hint: None,
        },
        frame_url: None,
        room_name: "r".into(),
        audio_only: false,
        view: CallView {
            phase,
            ..CallView::joining("Kiosk", false, false)
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use consult_types::CallPhase;

    use super::test_call as call;

    #[test]
    fn a_locked_window_cannot_be_closed() {
        assert_eq!(
            react(Seen::CloseRequested, LockState::Locked),
            Reaction::KeepOpen
        );
    }

    #[test]
    fn a_locked_window_takes_focus_back() {
        assert_eq!(
            react(Seen::FocusLost, LockState::Locked),
            Reaction::Restore { focus: true }
        );
    }

    #[test]
    fn a_locked_window_goes_back_to_fullscreen() {
        for (fullscreen, minimized) in [(false, false), (true, true), (false, true)] {
            assert_eq!(
                react(
                    Seen::Geometry {
                        fullscreen,
                        minimized
                    },
                    LockState::Locked
                ),
                Reaction::Restore { focus: false },
                "fullscreen {fullscreen}, minimized {minimized}"
            );
        }
        let settled = Seen::Geometry {
            fullscreen: true,
            minimized: false,
        };
        assert_eq!(
            react(settled, LockState::Locked),
            Reaction::Nothing,
            "no loop"
        );
        assert_eq!(
            react(Seen::StateChanged, LockState::Locked),
            Reaction::Restore { focus: false }
        );
        assert_eq!(react(Seen::Other, LockState::Locked), Reaction::Nothing);
    }

    #[test]
    fn only_a_running_call_in_a_browser_window_takes_the_screen() {
        assert!(!call_in_browser_window(None));
        for phase in [CallPhase::Joining, CallPhase::Joined, CallPhase::Rejoining] {
            assert!(call_in_browser_window(Some(&call(
                CallPathKind::Browser,
                phase.clone()
            ))));
            assert!(!call_in_browser_window(Some(&call(
                CallPathKind::Embedded,
                phase
            ))));
        }
        for over in [
            CallPhase::Ended {
                reason: consult_types::EndReason::HungUp,
            },
            CallPhase::Failed {
                message: "no".into(),
            },
        ] {
            assert!(!call_in_browser_window(Some(&call(
                CallPathKind::Browser,
                over
            ))));
        }
    }

    #[test]
    fn fullscreen_is_covering_the_monitor() {
        let monitor = PhysicalSize::new(1280, 800);
        assert!(fills(PhysicalSize::new(1280, 800), monitor));
        assert!(!fills(PhysicalSize::new(1100, 760), monitor));
        assert!(!fills(PhysicalSize::new(1280, 760), monitor));
        assert!(!fills(
            PhysicalSize::new(1, 1),
            PhysicalSize::new(1280, 800)
        ));
    }

    #[test]
    fn the_administrators_exit_is_not_fought() {
        for seen in [
            Seen::CloseRequested,
            Seen::FocusLost,
            Seen::Geometry {
                fullscreen: false,
                minimized: true,
            },
            Seen::StateChanged,
        ] {
            assert_eq!(
                react(seen, LockState::Leaving),
                Reaction::Nothing,
                "{seen:?}"
            );
        }
    }

    #[test]
    fn the_calls_browser_window_keeps_the_screen_but_the_window_stays_open() {
        let state = LockState::YieldingToCall;
        assert_eq!(react(Seen::CloseRequested, state), Reaction::KeepOpen);
        for seen in [
            Seen::FocusLost,
            Seen::StateChanged,
            Seen::Geometry {
                fullscreen: false,
                minimized: true,
            },
        ] {
            assert_eq!(react(seen, state), Reaction::Nothing, "{seen:?}");
        }
    }

    #[test]
    fn only_the_administrators_exit_quits() {
        assert!(exit_allowed(Some(ADMINISTRATOR_EXIT_CODE), true));
        // The last window closing, a plain exit, or the code without the administrator.
        assert!(!exit_allowed(None, false));
        assert!(!exit_allowed(None, true));
        assert!(!exit_allowed(Some(0), false));
        assert!(!exit_allowed(Some(0), true));
        assert!(!exit_allowed(Some(ADMINISTRATOR_EXIT_CODE), false));
        assert!(exit_allowed(Some(RESTART_EXIT_CODE), true));
        assert!(!exit_allowed(Some(RESTART_EXIT_CODE), false));
    }

    #[test]
    fn the_page_lock_touches_only_the_apps_pages() {
        assert!(PAGE_LOCK_SCRIPT.contains(r#"location.protocol === "tauri:""#));
        assert!(PAGE_LOCK_SCRIPT.contains(r#""tauri.localhost""#));
        for event in ["contextmenu", "selectstart", "dragstart"] {
            assert!(PAGE_LOCK_SCRIPT.contains(event), "{event}");
        }
    }
}
