//! The X11 side of [`super::lockdown`]: looks at the windows of the call's browser (those whose
//! `_NET_WM_PID` is in its process tree and that the window manager manages) and carries
//! [`Fix`]es out with the requests a window manager and a pager use (`WM_DELETE_WINDOW`,
//! `_NET_WM_STATE`, `_NET_ACTIVE_WINDOW`).
//!
//! It runs on a thread of its own (x11rb's connection blocks) from the browser's start until it
//! is gone, looking again whenever the display reports a change (a window mapped, a property of
//! the root or of a browser window changed) and at least every [`TICK`]. Under cage the browser
//! runs on Xwayland (the kiosk's browser is started with `--ozone-platform=x11`), where
//! wlroots' X window manager keeps `_NET_CLIENT_LIST` and `_NET_ACTIVE_WINDOW` and answers the
//! same requests (tried by hand with cage 0.1.4, see the ignored test below); without any X
//! display (a Wayland-only session) nothing can be watched and the call runs with the policy's
//! lock only, which is logged.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::errors::{ConnectError, ConnectionError, ReplyError};
use x11rb::protocol::xproto::{
    AtomEnum, ChangeWindowAttributesAux, ClientMessageEvent, ConnectionExt as _, EventMask,
    MapState, Window,
};
use x11rb::rust_connection::RustConnection;

use super::lockdown::{Fix, Lockdown, Seen, SeenWindow};

/// The longest time between two looks when the display reports nothing.
const TICK: Duration = Duration::from_millis(250);
/// How often the display's event queue is read.
const POLL: Duration = Duration::from_millis(25);
/// `WM_STATE`'s iconic state (ICCCM 4.1.3.1).
const ICONIC_STATE: u32 = 3;
/// `_NET_WM_STATE_ADD` (EWMH).
const STATE_ADD: u32 = 1;
/// Source indication of a pager (EWMH): window managers obey it without focus-stealing checks.
const SOURCE_PAGER: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("no X display to watch the call window on ({0})")]
    Connect(#[from] ConnectError),
    #[error("the X display stopped answering ({0})")]
    Connection(#[from] ConnectionError),
    #[error("the X display refused a request ({0})")]
    Reply(#[from] ReplyError),
    #[error("the watcher thread could not start ({0})")]
    Thread(#[from] std::io::Error),
}

/// The watch of one call's browser; dropping it ends the watch.
pub struct Watch {
    stop: Arc<AtomicBool>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts watching the windows of the browser whose main process is `pid`, on the display of
/// `DISPLAY`. Fails when there is no X display to connect to.
pub fn watch(pid: u32) -> Result<Watch, WatchError> {
    let (conn, screen) = x11rb::connect(None)?;
    let mut display = Display::new(conn, screen)?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("call-window-lock".into())
        .spawn(move || {
            if let Err(error) = display.run(pid, &stopped) {
                if !stopped.load(Ordering::Relaxed) {
                    tracing::warn!(%error, "kiosk: the call window is no longer watched");
                }
            }
        })?;
    tracing::info!(pid, "kiosk: watching the call's browser windows");
    Ok(Watch { stop })
}

struct Atoms {
    client_list: u32,
    active_window: u32,
    wm_pid: u32,
    wm_state: u32,
    net_wm_state: u32,
    fullscreen: u32,
    hidden: u32,
    wm_protocols: u32,
    wm_delete_window: u32,
}

struct Display {
    conn: RustConnection,
    root: Window,
    atoms: Atoms,
    /// Browser windows whose property changes are already reported to us.
    selected: HashSet<Window>,
}

impl Display {
    fn new(conn: RustConnection, screen: usize) -> Result<Display, WatchError> {
        let root = conn
            .setup()
            .roots
            .get(screen)
            .map(|screen| screen.root)
            .ok_or(ConnectionError::UnknownError)?;
        let intern = |name: &[u8]| -> Result<u32, WatchError> {
            Ok(conn.intern_atom(false, name)?.reply()?.atom)
        };
        let atoms = Atoms {
            client_list: intern(b"_NET_CLIENT_LIST")?,
            active_window: intern(b"_NET_ACTIVE_WINDOW")?,
            wm_pid: intern(b"_NET_WM_PID")?,
            wm_state: intern(b"WM_STATE")?,
            net_wm_state: intern(b"_NET_WM_STATE")?,
            fullscreen: intern(b"_NET_WM_STATE_FULLSCREEN")?,
            hidden: intern(b"_NET_WM_STATE_HIDDEN")?,
            wm_protocols: intern(b"WM_PROTOCOLS")?,
            wm_delete_window: intern(b"WM_DELETE_WINDOW")?,
        };
        // New windows (map, reparent) and the window manager's lists on the root.
        conn.change_window_attributes(
            root,
            &ChangeWindowAttributesAux::new()
                .event_mask(EventMask::SUBSTRUCTURE_NOTIFY | EventMask::PROPERTY_CHANGE),
        )?
        .check()?;
        Ok(Display {
            conn,
            root,
            atoms,
            selected: HashSet::new(),
        })
    }

    fn run(&mut self, pid: u32, stop: &AtomicBool) -> Result<(), WatchError> {
        let began = Instant::now();
        let mut lock = Lockdown::default();
        let mut last_look: Option<Instant> = None;
        while !stop.load(Ordering::Relaxed) {
            let mut changed = false;
            while self.conn.poll_for_event()?.is_some() {
                changed = true;
            }
            if changed || last_look.is_none_or(|at| at.elapsed() >= TICK) {
                last_look = Some(Instant::now());
                let pids = process_tree(pid);
                if pids.is_empty() {
                    // The browser is gone; the keeper stops the watch.
                    std::thread::sleep(POLL);
                    continue;
                }
                let seen = self.look(&pids)?;
                let before = lock.call_window();
                let fixes = lock.react(&seen, began.elapsed());
                if before.is_none() {
                    if let Some(call) = lock.call_window() {
                        tracing::info!(window = call, "kiosk: the call window is shown");
                    }
                }
                for fix in fixes {
                    self.carry_out(fix)?;
                }
                self.conn.flush()?;
            }
            std::thread::sleep(POLL);
        }
        Ok(())
    }

    /// The browser's managed top-level windows and the focus.
    fn look(&mut self, pids: &HashSet<u32>) -> Result<Seen, WatchError> {
        let mut windows = Vec::new();
        for window in self.managed_windows()? {
            let Some(owner) = self.cardinal(window, self.atoms.wm_pid)? else {
                continue;
            };
            if !pids.contains(&owner) {
                continue;
            }
            if self.selected.insert(window) {
                // Its fullscreen and hidden state changes wake the loop.
                let asked = self.conn.change_window_attributes(
                    window,
                    &ChangeWindowAttributesAux::new().event_mask(EventMask::PROPERTY_CHANGE),
                )?;
                drop(asked);
            }
            let states = self.atoms_of(window, self.atoms.net_wm_state)?;
            let iconic = self
                .property32(window, self.atoms.wm_state, self.atoms.wm_state)?
                .first()
                .is_some_and(|state| *state == ICONIC_STATE);
            let transient_for = self
                .property32(
                    window,
                    AtomEnum::WM_TRANSIENT_FOR.into(),
                    AtomEnum::WINDOW.into(),
                )?
                .first()
                .copied()
                .filter(|parent| *parent != 0);
            windows.push(SeenWindow {
                id: window,
                transient_for,
                fullscreen: states.contains(&self.atoms.fullscreen),
                hidden: iconic || states.contains(&self.atoms.hidden),
            });
        }
        let active = self
            .property32(self.root, self.atoms.active_window, AtomEnum::WINDOW.into())?
            .first()
            .copied()
            .filter(|window| *window != 0);
        self.selected
            .retain(|id| windows.iter().any(|window| window.id == *id));
        Ok(Seen { windows, active })
    }

    /// The window manager's list of the windows it manages (`_NET_CLIENT_LIST`); without one,
    /// the root's mapped children that are not menus or tooltips (override-redirect).
    fn managed_windows(&self) -> Result<Vec<Window>, WatchError> {
        let listed = self.property32(self.root, self.atoms.client_list, AtomEnum::WINDOW.into())?;
        if !listed.is_empty() {
            return Ok(listed);
        }
        let children = self.conn.query_tree(self.root)?.reply()?.children;
        let mut managed = Vec::new();
        for child in children {
            match self.conn.get_window_attributes(child)?.reply() {
                Ok(attributes)
                    if !attributes.override_redirect
                        && attributes.map_state == MapState::VIEWABLE =>
                {
                    managed.push(child)
                }
                Ok(_) | Err(ReplyError::X11Error(_)) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(managed)
    }

    fn carry_out(&self, fix: Fix) -> Result<(), WatchError> {
        let to_root = EventMask::SUBSTRUCTURE_REDIRECT | EventMask::SUBSTRUCTURE_NOTIFY;
        match fix {
            Fix::Close(window) => {
                tracing::info!(
                    window,
                    "kiosk: closed a browser window other than the call's"
                );
                let event = ClientMessageEvent::new(
                    32,
                    window,
                    self.atoms.wm_protocols,
                    [self.atoms.wm_delete_window, x11rb::CURRENT_TIME, 0, 0, 0],
                );
                self.conn
                    .send_event(false, window, EventMask::NO_EVENT, event)?;
            }
            Fix::Fullscreen(window) => {
                tracing::info!(window, "kiosk: the call window is made fullscreen again");
                let event = ClientMessageEvent::new(
                    32,
                    window,
                    self.atoms.net_wm_state,
                    [STATE_ADD, self.atoms.fullscreen, 0, SOURCE_PAGER, 0],
                );
                self.conn.send_event(false, self.root, to_root, event)?;
            }
            Fix::Activate(window) => {
                tracing::info!(window, "kiosk: the call window takes the focus back");
                let event = ClientMessageEvent::new(
                    32,
                    window,
                    self.atoms.active_window,
                    [SOURCE_PAGER, x11rb::CURRENT_TIME, 0, 0, 0],
                );
                self.conn.send_event(false, self.root, to_root, event)?;
            }
        }
        Ok(())
    }

    /// A 32-bit property's values; empty when it is unset or the window is gone.
    fn property32(&self, window: Window, property: u32, kind: u32) -> Result<Vec<u32>, WatchError> {
        match self
            .conn
            .get_property(false, window, property, kind, 0, 1024)?
            .reply()
        {
            Ok(reply) => Ok(reply
                .value32()
                .map(|values| values.collect())
                .unwrap_or_default()),
            // The window went away between the list and this request.
            Err(ReplyError::X11Error(_)) => Ok(Vec::new()),
            Err(error) => Err(error.into()),
        }
    }

    fn cardinal(&self, window: Window, property: u32) -> Result<Option<u32>, WatchError> {
        Ok(self
            .property32(window, property, AtomEnum::CARDINAL.into())?
            .first()
            .copied())
    }

    fn atoms_of(&self, window: Window, property: u32) -> Result<Vec<u32>, WatchError> {
        self.property32(window, property, AtomEnum::ATOM.into())
    }
}

/// `pid` and its descendants, from `/proc` (the browser's windows are made by its main process,
/// but a wrapper script may stand in between). Empty once `pid` is gone.
fn process_tree(pid: u32) -> HashSet<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    let mut alive = false;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        alive |= child == pid;
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some(parent) = parent_of(&stat) {
            parents.push((child, parent));
        }
    }
    let mut tree = HashSet::new();
    if !alive {
        return tree;
    }
    tree.insert(pid);
    loop {
        let before = tree.len();
        for (child, parent) in &parents {
            if tree.contains(parent) {
                tree.insert(*child);
            }
        }
        if tree.len() == before {
            return tree;
        }
    }
}

/// The parent pid in a `/proc/<pid>/stat` line: the second field after the command name, which
/// is in parentheses and may itself hold spaces and parentheses.
fn parent_of(stat: &str) -> Option<u32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// By hand, on a display with a browser running (e.g. Xwayland under cage, as the kiosk's
    /// account): `CONSULT_WATCH_PID=<browser pid> DISPLAY=… cargo test … -- --ignored`
    /// watches it for `CONSULT_WATCH_SECS` (30) seconds.
    #[test]
    #[ignore = "by hand: needs a display and a browser's pid"]
    fn watch_a_running_browser_by_hand() {
        let pid: u32 = std::env::var("CONSULT_WATCH_PID").unwrap().parse().unwrap();
        let secs: u64 = std::env::var("CONSULT_WATCH_SECS")
            .ok()
            .and_then(|secs| secs.parse().ok())
            .unwrap_or(30);
        let _watch = watch(pid).unwrap();
        std::thread::sleep(Duration::from_secs(secs));
    }

    #[test]
    fn the_parent_is_read_past_a_command_name_with_spaces_and_parentheses() {
        assert_eq!(parent_of("42 (chromium) S 7 42 42 0"), Some(7));
        assert_eq!(parent_of("43 (Web (Content) x) R 42 1 1"), Some(42));
        assert_eq!(parent_of("garbage"), None);
    }

    #[test]
    fn this_process_tree_holds_this_process_and_a_child() {
        let me = std::process::id();
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let tree = process_tree(me);
        assert!(tree.contains(&me));
        assert!(tree.contains(&child.id()), "{tree:?}");
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(process_tree(u32::MAX).is_empty());
    }
}
