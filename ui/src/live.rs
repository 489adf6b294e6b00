//! The signed-in app's live state: the dashboard and the call, as the core's numbered events
//! bring them. Commands that change them answer nothing, so this is the one way state arrives;
//! an event older than the one shown (by its revision) is dropped.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde::de::DeserializeOwned;
use yew::prelude::*;

use consult_types::{
    events as names, CallScreen, Dashboard, FocusAppointment, Revised, SessionEnded,
};

use crate::events::{listen, Listener};
use crate::ipc;

/// What the core last said, with the revision it said it at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveState {
    pub dashboard: Option<Revised<Dashboard>>,
    /// `None` until the core said whether a call runs; `Some(None)` when none does.
    pub call: Option<Revised<Option<CallScreen>>>,
}

/// One event from the core.
pub enum Update {
    Dashboard(Revised<Dashboard>),
    Call(Box<Revised<Option<CallScreen>>>),
}

impl LiveState {
    pub fn dashboard(&self) -> Option<&Dashboard> {
        self.dashboard.as_ref().map(|revised| &revised.value)
    }

    pub fn call(&self) -> Option<&CallScreen> {
        self.call
            .as_ref()
            .and_then(|revised| revised.value.as_ref())
    }
}

impl Reducible for LiveState {
    type Action = Update;

    fn reduce(self: Rc<Self>, update: Update) -> Rc<Self> {
        let mut next = (*self).clone();
        match update {
            Update::Dashboard(new) if is_newer(&self.dashboard, &new) => next.dashboard = Some(new),
            Update::Call(new) if is_newer(&self.call, &new) => next.call = Some(*new),
            // Overtaken by a newer state: nothing changes.
            Update::Dashboard(_) | Update::Call(_) => return self,
        }
        Rc::new(next)
    }
}

fn is_newer<T>(shown: &Option<Revised<T>>, new: &Revised<T>) -> bool {
    shown
        .as_ref()
        .is_none_or(|shown| new.revision > shown.revision)
}

/// The live state while signed in: subscribes to the core's events, then asks the core to send
/// the current dashboard and call, so nothing between the two is missed. `focus` is set by
/// notification clicks and links; `on_signed_out` is called when the session ends.
#[hook]
pub fn use_live_state(
    focus: UseStateHandle<Option<FocusAppointment>>,
    on_signed_out: Callback<Option<String>>,
) -> (UseReducerHandle<LiveState>, Option<String>) {
    let state = use_reducer(LiveState::default);
    let error = use_state(|| None::<String>);
    {
        let (state, error) = (state.clone(), error.clone());
        use_effect_with((), move |_| {
            let mounted = Rc::new(Cell::new(true));
            let held = Rc::new(RefCell::new(Vec::<Listener>::new()));
            {
                let (mounted, held) = (mounted.clone(), held.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    let subscriptions = vec![
                        {
                            let state = state.clone();
                            listen(names::DASHBOARD_CHANGED, move |update| {
                                state.dispatch(Update::Dashboard(update))
                            })
                            .await
                        },
                        {
                            let state = state.clone();
                            listen(names::CALL_CHANGED, move |update| {
                                state.dispatch(Update::Call(Box::new(update)))
                            })
                            .await
                        },
                        listen(names::SESSION_ENDED, move |ended: SessionEnded| {
                            on_signed_out.emit(Some(ended.reason))
                        })
                        .await,
                        listen(names::FOCUS_APPOINTMENT, move |wanted: FocusAppointment| {
                            focus.set(Some(wanted))
                        })
                        .await,
                    ];
                    let mut listeners = Vec::new();
                    for subscription in subscriptions {
                        match subscription {
                            Ok(listener) => listeners.push(listener),
                            Err(failed) => error.set(Some(failed.to_string())),
                        }
                    }
                    if !mounted.get() {
                        return; // Signed out meanwhile: the listeners unsubscribe here.
                    }
                    *held.borrow_mut() = listeners;
                    // Both answer as events; a reload during a call goes back to it.
                    if let Err(failed) = ipc::call_screen().await {
                        web_sys::console::warn_1(
                            &format!("cannot ask for a running call: {failed}").into(),
                        );
                    }
                    if let Err(failed) = ipc::dashboard().await {
                        error.set(Some(failed.to_string()));
                    }
                });
            }
            move || {
                mounted.set(false);
                held.borrow_mut().clear();
            }
        });
    }
    (state, (*error).clone())
}

/// The newest of a kind of [`Revised`] value: one arriving older than the one held is dropped.
/// A reducer, so a listener registered once compares with the value held now, not with the
/// one its handle saw when it was made.
struct Newest<T>(Option<Revised<T>>);

impl<T> Default for Newest<T> {
    fn default() -> Self {
        Newest(None)
    }
}

impl<T> Reducible for Newest<T> {
    type Action = Revised<T>;

    fn reduce(self: Rc<Self>, new: Revised<T>) -> Rc<Self> {
        if is_newer(&self.0, &new) {
            Rc::new(Newest(Some(new)))
        } else {
            self
        }
    }
}

/// Kiosk mode's newest `event` (a [`Revised`] value): subscribes, then asks the core to send the
/// kiosk's state again (`ipc::kiosk`), so what was sent before the page listened is not missed;
/// an event older than the one shown changes nothing.
#[hook]
pub fn use_kiosk_event<T>(event: &'static str) -> Option<Revised<T>>
where
    T: DeserializeOwned + Clone + 'static,
{
    let newest = use_reducer(Newest::<T>::default);
    {
        let newest = newest.dispatcher();
        use_effect_with((), move |_| {
            let listener = Rc::new(RefCell::new(None::<Listener>));
            let kept = Rc::clone(&listener);
            wasm_bindgen_futures::spawn_local(async move {
                let subscribed = listen(event, move |new: Revised<T>| newest.dispatch(new)).await;
                match subscribed {
                    Ok(subscription) => {
                        *kept.borrow_mut() = Some(subscription);
                        if let Err(error) = ipc::kiosk().await {
                            web_sys::console::warn_1(&error.to_string().into());
                        }
                    }
                    Err(error) => web_sys::console::warn_1(&error.to_string().into()),
                }
            });
            move || drop(listener)
        });
    }
    newest.0.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revised(revision: u64, value: &str) -> Revised<String> {
        Revised {
            revision,
            value: value.to_owned(),
        }
    }

    #[test]
    fn a_kiosk_event_older_than_the_one_held_changes_nothing() {
        let held = Rc::new(Newest::default())
            .reduce(revised(2, "ready"))
            .reduce(revised(1, "signing in"));
        assert_eq!(held.0, Some(revised(2, "ready")));
        let held = held.reduce(revised(3, "offline"));
        assert_eq!(held.0, Some(revised(3, "offline")));
    }
}
