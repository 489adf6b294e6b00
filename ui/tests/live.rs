//! The live state keeps the newest the core said: events carry revisions, and an older one that
//! arrives late (a reply overtaken by an event) changes nothing.
#![cfg(not(target_arch = "wasm32"))]

use std::rc::Rc;

use consult_types::{Connection, Dashboard, Revised};
use consult_ui::live::{LiveState, Update};
use yew::Reducible;

fn dashboard(revision: u64, connection: Connection) -> Update {
    Update::Dashboard(Revised {
        revision,
        value: Dashboard {
            appointments: Vec::new(),
            join_requests: Vec::new(),
            own_requests: Vec::new(),
            connection,
            kiosks: None,
        },
    })
}

fn apply(state: Rc<LiveState>, updates: impl IntoIterator<Item = Update>) -> Rc<LiveState> {
    updates.into_iter().fold(state, Reducible::reduce)
}

#[test]
fn a_late_older_dashboard_does_not_bring_back_the_old_state() {
    let state = apply(
        Rc::new(LiveState::default()),
        [
            dashboard(1, Connection::Connecting),
            dashboard(3, Connection::Online),
            dashboard(2, Connection::Connecting),
        ],
    );
    assert_eq!(
        state.dashboard().map(|d| d.connection.clone()),
        Some(Connection::Online)
    );
}

#[test]
fn the_call_ending_is_a_state_like_any_other() {
    let state = apply(
        Rc::new(LiveState::default()),
        [Update::Call(Box::new(Revised {
            revision: 5,
            value: None,
        }))],
    );
    assert!(state.call.is_some(), "the core said: no call");
    assert!(state.call().is_none());
    let later = apply(
        Rc::clone(&state),
        [Update::Call(Box::new(Revised {
            revision: 4,
            value: None,
        }))],
    );
    assert!(Rc::ptr_eq(&state, &later), "an older event changes nothing");
}
