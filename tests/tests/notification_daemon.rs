//! The fake notification daemon itself, proven against independent D-Bus clients (`gdbus`,
//! `dbus-send`) and a zbus signal subscriber, before the app's scenarios rely on it.

use std::process::Command;
use std::time::Duration;

use consult_e2e::notifications::{close_reason, BUS_NAME, OBJECT_PATH};
use consult_e2e::{IsolatedSession, NotificationDaemon};
use futures_util::StreamExt;

const SHORT: Duration = Duration::from_secs(5);

fn gdbus(session: &IsolatedSession, method: &str, args: &[&str]) -> String {
    let method = format!("org.freedesktop.Notifications.{method}");
    session
        .gdbus_call(BUS_NAME, OBJECT_PATH, &method, args)
        .unwrap_or_else(|error| panic!("gdbus {method} failed: {error}"))
}

fn notify(session: &IsolatedSession, replaces_id: u32, summary: &str) -> u32 {
    let reply = gdbus(
        session,
        "Notify",
        &[
            "Consult",
            &replaces_id.to_string(),
            "",
            summary,
            "Sunrise Care asks to join",
            "['default', 'Open', 'admit', 'Admit', 'decline', 'Decline']",
            "{'x-consult-join-request-id': <'jr_1'>, 'urgency': <byte 1>}",
            "-1",
        ],
    );
    // "(uint32 7,)"
    reply
        .trim_start_matches("(uint32 ")
        .trim_end_matches(",)")
        .parse()
        .unwrap_or_else(|_| panic!("unexpected Notify reply {reply:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn records_notify_calls_from_another_client_and_answers_the_spec_queries() {
    let session = IsolatedSession::start();
    let daemon = NotificationDaemon::start(&session).await;

    let id = notify(&session, 0, "Join request");
    let recorded = daemon
        .wait_for(|n| n.summary == "Join request", SHORT)
        .await;
    assert_eq!(recorded.id, id);
    assert_eq!(recorded.app_name, "Consult");
    assert_eq!(recorded.replaces_id, 0);
    assert_eq!(recorded.body, "Sunrise Care asks to join");
    assert_eq!(recorded.action_keys(), vec!["default", "admit", "decline"]);
    assert_eq!(recorded.action_pairs()[1], ("admit", "Admit"));
    assert_eq!(recorded.hint("x-consult-join-request-id"), Some("jr_1"));
    assert!(recorded.hint("urgency").is_some(), "non-string hints kept");
    assert_eq!(recorded.expire_timeout, -1);

    // Replacing a live notification keeps its id; a new one gets another.
    let replaced = notify(&session, id, "Join request (updated)");
    assert_eq!(replaced, id);
    let second = notify(&session, 0, "Another");
    assert_ne!(second, id);
    assert_eq!(daemon.all().len(), 3);

    let capabilities = gdbus(&session, "GetCapabilities", &[]);
    assert!(capabilities.contains("'actions'"), "{capabilities}");
    assert!(capabilities.contains("'body'"), "{capabilities}");
    let information = gdbus(&session, "GetServerInformation", &[]);
    assert!(information.contains("'1.2'"), "{information}");

    let status = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            &format!("--dest={BUS_NAME}"),
            OBJECT_PATH,
            "org.freedesktop.Notifications.CloseNotification",
            &format!("uint32:{second}"),
        ])
        .env("DBUS_SESSION_BUS_ADDRESS", session.bus_address())
        .status()
        .expect("dbus-send");
    assert!(status.success());
    assert_eq!(daemon.close_calls(), vec![second]);
}

#[tokio::test(flavor = "multi_thread")]
async fn emits_action_invoked_and_notification_closed_that_clients_receive() {
    let session = IsolatedSession::start();
    let daemon = NotificationDaemon::start(&session).await;
    let client = zbus::connection::Builder::address(session.bus_address())
        .expect("address")
        .build()
        .await
        .expect("client connection");
    let proxy = zbus::Proxy::new(
        &client,
        BUS_NAME,
        OBJECT_PATH,
        "org.freedesktop.Notifications",
    )
    .await
    .expect("proxy");
    let mut actions = proxy
        .receive_signal("ActionInvoked")
        .await
        .expect("subscribe");
    let mut closed = proxy
        .receive_signal("NotificationClosed")
        .await
        .expect("subscribe");

    let hints: std::collections::HashMap<&str, zbus::zvariant::Value<'_>> =
        [("x-consult-notification-id", "n_1".into())].into();
    let id: u32 = proxy
        .call(
            "Notify",
            &(
                "Consult",
                0u32,
                "",
                "Summary",
                "Body",
                vec!["default", "Open"],
                hints,
                5000i32,
            ),
        )
        .await
        .expect("Notify");
    let recorded = daemon.wait_for(|n| n.id == id, SHORT).await;
    assert_eq!(recorded.hint("x-consult-notification-id"), Some("n_1"));

    daemon.invoke_action(id, "admit").await;
    let message = tokio::time::timeout(SHORT, actions.next())
        .await
        .expect("ActionInvoked within 5 s")
        .expect("a signal");
    let (action_id, key): (u32, String) = message.body().deserialize().expect("(us)");
    assert_eq!((action_id, key.as_str()), (id, "admit"));
    let message = tokio::time::timeout(SHORT, closed.next())
        .await
        .expect("NotificationClosed within 5 s")
        .expect("a signal");
    let (closed_id, reason): (u32, u32) = message.body().deserialize().expect("(uu)");
    assert_eq!((closed_id, reason), (id, close_reason::DISMISSED));
}

#[tokio::test(flavor = "multi_thread")]
async fn close_notification_is_recorded_awaited_and_signalled_as_closed_by_call() {
    let session = IsolatedSession::start();
    let daemon = NotificationDaemon::start(&session).await;
    let client = zbus::connection::Builder::address(session.bus_address())
        .expect("address")
        .build()
        .await
        .expect("client connection");
    let proxy = zbus::Proxy::new(
        &client,
        BUS_NAME,
        OBJECT_PATH,
        "org.freedesktop.Notifications",
    )
    .await
    .expect("proxy");
    let mut closed = proxy
        .receive_signal("NotificationClosed")
        .await
        .expect("subscribe");
    let (first, second) = (notify(&session, 0, "First"), notify(&session, 0, "Second"));

    // Waiting starts before the call, as a test waits for the app.
    let waiting = daemon.wait_for_close(second, SHORT);
    let () = proxy
        .call("CloseNotification", &(second,))
        .await
        .expect("CloseNotification");
    waiting.await;
    let message = tokio::time::timeout(SHORT, closed.next())
        .await
        .expect("NotificationClosed within 5 s")
        .expect("a signal");
    let (closed_id, reason): (u32, u32) = message.body().deserialize().expect("(uu)");
    assert_eq!((closed_id, reason), (second, close_reason::CLOSED_BY_CALL));

    // Closing it again is recorded but signals nothing: the next signal is about `first`.
    let () = proxy
        .call("CloseNotification", &(second,))
        .await
        .expect("CloseNotification");
    daemon.close(first, close_reason::EXPIRED).await;
    let message = tokio::time::timeout(SHORT, closed.next())
        .await
        .expect("NotificationClosed within 5 s")
        .expect("a signal");
    let (closed_id, reason): (u32, u32) = message.body().deserialize().expect("(uu)");
    assert_eq!((closed_id, reason), (first, close_reason::EXPIRED));
    assert_eq!(daemon.close_calls(), vec![second, second]);
}

#[tokio::test(flavor = "multi_thread")]
#[should_panic(expected = "not closed")]
async fn waiting_for_a_close_that_never_comes_fails() {
    let session = IsolatedSession::start();
    let daemon = NotificationDaemon::start(&session).await;
    let id = notify(&session, 0, "Stays");
    daemon.wait_for_close(id, Duration::from_millis(500)).await;
}

#[tokio::test(flavor = "multi_thread")]
#[should_panic(expected = "no matching notification")]
async fn waiting_for_a_notification_that_never_comes_fails() {
    let session = IsolatedSession::start();
    let daemon = NotificationDaemon::start(&session).await;
    notify(&session, 0, "Something else");
    daemon
        .wait_for(|n| n.summary == "Never sent", Duration::from_millis(500))
        .await;
}
