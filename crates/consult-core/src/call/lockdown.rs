//! A kiosk's call window stays the only window of its browser, fullscreen and focused.
//!
//! A managed Chromium policy (`packaging/kiosk/`, see [`super::chromium_policy`]) blocks pages,
//! DevTools, incognito and downloads, but not the keys that open windows: Ctrl+N, Ctrl+T,
//! Ctrl+Shift+N, Ctrl+H, Ctrl+J and Shift+Esc each open one (a blank or blocked page, the Task
//! Manager), and a window manager's "leave fullscreen" or "iconify" is obeyed with nothing to
//! undo it (`shared/kiosk.md`). So the app watches the browser's windows while a kiosk's call
//! runs: the first window the browser shows is the call's; every other one is closed at once,
//! and the call window is put back to fullscreen and given the focus.
//!
//! [`Lockdown::react`] is the rule, free of I/O: it is fed what the display shows
//! ([`Seen`]) and answers what to do ([`Fix`]). The X11 watcher (`x11_watch`) feeds it and
//! carries its answers out.

use std::collections::HashMap;
use std::time::Duration;

/// A window as the display numbers it (an X11 window id).
pub type WindowId = u32;

/// How soon the same window is asked to close again while it stays.
pub const CLOSE_AGAIN: Duration = Duration::from_millis(500);
/// How soon fullscreen and focus are asked for again while the call window lacks them.
pub const RESTORE_AGAIN: Duration = Duration::from_millis(250);

/// One top-level window of the call's browser, as the window manager manages it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenWindow {
    pub id: WindowId,
    /// The window it is a dialog of (`WM_TRANSIENT_FOR`): the page's own dialogs belong to the
    /// call window.
    pub transient_for: Option<WindowId>,
    pub fullscreen: bool,
    /// Iconified or hidden by the window manager.
    pub hidden: bool,
}

/// What the display shows now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// The browser's top-level windows (those of its process tree that the window manager
    /// manages; not menus or tooltips).
    pub windows: Vec<SeenWindow>,
    /// The window that has the focus, whoever's it is.
    pub active: Option<WindowId>,
}

/// What to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    /// Ask the window to close, as the window manager's close button does.
    Close(WindowId),
    /// Ask the window manager to make the call window fullscreen.
    Fullscreen(WindowId),
    /// Ask the window manager to raise, un-iconify and focus the call window.
    Activate(WindowId),
}

/// The lock's memory across looks at the display.
#[derive(Debug, Default)]
pub struct Lockdown {
    /// The call's window, once seen.
    call: Option<WindowId>,
    /// The call window was seen and is gone: the browser is closing, and whatever it still
    /// shows goes too.
    call_gone: bool,
    /// When each window still shown was last asked to close.
    closing: HashMap<WindowId, Duration>,
    /// When fullscreen or focus was last asked for.
    restored: Option<Duration>,
}

impl Lockdown {
    /// The call's window, once known.
    pub fn call_window(&self) -> Option<WindowId> {
        self.call
    }

    /// What to do about `seen` at `now` (time since the watch began). The call window is the
    /// first window seen (of several seen at once, the oldest: X11 hands out a client's window
    /// ids in increasing order); a dialog of it belongs to it; anything else is closed. Requests
    /// that were just made are not repeated until [`CLOSE_AGAIN`] / [`RESTORE_AGAIN`] have
    /// passed, so an unanswered one is retried without flooding the display.
    pub fn react(&mut self, seen: &Seen, now: Duration) -> Vec<Fix> {
        if self.call.is_none() && !self.call_gone {
            self.call = seen
                .windows
                .iter()
                .filter(|window| window.transient_for.is_none())
                .map(|window| window.id)
                .min();
        }
        let call = self
            .call
            .and_then(|id| seen.windows.iter().find(|window| window.id == id));
        if self.call.is_some() && call.is_none() {
            self.call_gone = true;
            self.call = None;
        }
        let belongs = |id: WindowId| -> bool {
            call.is_some_and(|call| {
                id == call.id
                    || seen
                        .windows
                        .iter()
                        .any(|window| window.id == id && window.transient_for == Some(call.id))
            })
        };

        let mut fixes = Vec::new();
        self.closing
            .retain(|id, _| seen.windows.iter().any(|window| window.id == *id));
        for window in seen.windows.iter().filter(|window| !belongs(window.id)) {
            let due = self
                .closing
                .get(&window.id)
                .is_none_or(|asked| now.saturating_sub(*asked) >= CLOSE_AGAIN);
            if due {
                self.closing.insert(window.id, now);
                fixes.push(Fix::Close(window.id));
            }
        }

        if let Some(call) = call {
            let focused = seen.active.is_some_and(belongs);
            let wrong = !call.fullscreen || call.hidden || !focused;
            let due = self
                .restored
                .is_none_or(|asked| now.saturating_sub(asked) >= RESTORE_AGAIN);
            if wrong && due {
                self.restored = Some(now);
                if !call.fullscreen {
                    fixes.push(Fix::Fullscreen(call.id));
                }
                if call.hidden || !focused {
                    fixes.push(Fix::Activate(call.id));
                }
            }
        }
        fixes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(id: WindowId) -> SeenWindow {
        SeenWindow {
            id,
            transient_for: None,
            fullscreen: true,
            hidden: false,
        }
    }

    fn seen(windows: Vec<SeenWindow>, active: Option<WindowId>) -> Seen {
        Seen { windows, active }
    }

    const T0: Duration = Duration::ZERO;

    fn at(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn the_call_window_alone_fullscreen_and_focused_needs_nothing() {
        let mut lock = Lockdown::default();
        assert!(lock.react(&seen(vec![], None), T0).is_empty());
        assert_eq!(lock.call_window(), None);
        assert!(lock
            .react(&seen(vec![window(10)], Some(10)), at(10))
            .is_empty());
        assert_eq!(lock.call_window(), Some(10));
    }

    #[test]
    fn a_new_window_is_closed_and_the_call_gets_the_screen_back() {
        let mut lock = Lockdown::default();
        lock.react(&seen(vec![window(10)], Some(10)), T0);
        // Ctrl+N: a normal browser window, focused and not fullscreen.
        let mut new = window(20);
        new.fullscreen = false;
        let fixes = lock.react(&seen(vec![window(10), new.clone()], Some(20)), at(100));
        assert_eq!(fixes, vec![Fix::Close(20), Fix::Activate(10)]);
        // Still there a moment later: not asked again yet, then again.
        let both = seen(vec![window(10), new], Some(20));
        assert!(lock.react(&both, at(200)).is_empty());
        assert_eq!(
            lock.react(&both, at(100) + CLOSE_AGAIN),
            vec![Fix::Close(20), Fix::Activate(10)]
        );
        // Gone: nothing more to do.
        assert!(lock
            .react(&seen(vec![window(10)], Some(10)), at(1000))
            .is_empty());
    }

    #[test]
    fn of_windows_seen_at_once_the_oldest_is_the_call() {
        let mut lock = Lockdown::default();
        let fixes = lock.react(&seen(vec![window(31), window(30)], Some(30)), T0);
        assert_eq!(lock.call_window(), Some(30));
        assert_eq!(fixes, vec![Fix::Close(31)]);
        // A later window with a lower id does not take its place.
        let fixes = lock.react(&seen(vec![window(30), window(5)], Some(30)), at(10));
        assert_eq!(fixes, vec![Fix::Close(5)]);
    }

    #[test]
    fn leaving_fullscreen_or_iconifying_is_undone() {
        let mut lock = Lockdown::default();
        lock.react(&seen(vec![window(10)], Some(10)), T0);
        let mut left = window(10);
        left.fullscreen = false;
        assert_eq!(
            lock.react(&seen(vec![left.clone()], Some(10)), at(10)),
            vec![Fix::Fullscreen(10)]
        );
        // Asked once per RESTORE_AGAIN while it lasts.
        assert!(lock
            .react(&seen(vec![left.clone()], Some(10)), at(20))
            .is_empty());
        assert_eq!(
            lock.react(&seen(vec![left], Some(10)), at(10) + RESTORE_AGAIN),
            vec![Fix::Fullscreen(10)]
        );
        let mut iconic = window(10);
        iconic.hidden = true;
        assert_eq!(
            lock.react(&seen(vec![iconic], None), at(1000)),
            vec![Fix::Activate(10)]
        );
    }

    #[test]
    fn another_programs_window_taking_the_focus_gives_it_back() {
        let mut lock = Lockdown::default();
        lock.react(&seen(vec![window(10)], Some(10)), T0);
        // 99 is not the browser's (not in `windows`): it is not closed, only the focus returns.
        assert_eq!(
            lock.react(&seen(vec![window(10)], Some(99)), at(10)),
            vec![Fix::Activate(10)]
        );
    }

    #[test]
    fn the_call_pages_own_dialog_belongs_to_the_call() {
        let mut lock = Lockdown::default();
        lock.react(&seen(vec![window(10)], Some(10)), T0);
        let mut dialog = window(11);
        dialog.transient_for = Some(10);
        dialog.fullscreen = false;
        assert!(lock
            .react(&seen(vec![window(10), dialog.clone()], Some(11)), at(10))
            .is_empty());
        // A dialog of another window is not the call's.
        let mut stray = window(12);
        stray.transient_for = Some(20);
        let fixes = lock.react(&seen(vec![window(10), dialog, stray], Some(10)), at(20));
        assert_eq!(fixes, vec![Fix::Close(12)]);
    }

    #[test]
    fn once_the_call_window_is_gone_everything_else_goes_too() {
        let mut lock = Lockdown::default();
        lock.react(&seen(vec![window(10)], Some(10)), T0);
        // Ctrl+W closed the call while a second window was up: it goes, and it never becomes
        // the call window.
        let fixes = lock.react(&seen(vec![window(20)], Some(20)), at(10));
        assert_eq!(fixes, vec![Fix::Close(20)]);
        assert_eq!(lock.call_window(), None);
        assert_eq!(
            lock.react(
                &seen(vec![window(20), window(21)], Some(21)),
                at(10) + CLOSE_AGAIN
            ),
            vec![Fix::Close(20), Fix::Close(21)]
        );
    }

    #[test]
    fn a_dialog_before_any_window_is_not_taken_for_the_call() {
        let mut lock = Lockdown::default();
        let mut dialog = window(11);
        dialog.transient_for = Some(3);
        let fixes = lock.react(&seen(vec![dialog], Some(11)), T0);
        assert_eq!(lock.call_window(), None);
        assert_eq!(fixes, vec![Fix::Close(11)]);
    }
}
