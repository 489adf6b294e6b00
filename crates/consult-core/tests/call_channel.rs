//! The call page's channel, with a real WebSocket client: only a connection from the page's own
//! origin that presents this call's key gets through, and then events flow both ways.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use url::Url;

use consult_core::call::channel::{CallChannel, ChannelEvent, CoreMessage, PageMessage, PageMode};

const WAIT: Duration = Duration::from_secs(5);

async fn channel() -> (CallChannel, mpsc::UnboundedReceiver<ChannelEvent>) {
    let (events, received) = mpsc::unbounded_channel();
    let jitsi = Url::parse("https://meet.example:8443/").unwrap();
    (CallChannel::start(&jitsi, events).await.unwrap(), received)
}

fn key_of(channel: &CallChannel) -> String {
    let url = Url::parse(&channel.page_url(PageMode::Embedded)).unwrap();
    let fragment = url.fragment().unwrap().to_owned();
    fragment
        .split('&')
        .find_map(|pair| pair.strip_prefix("k="))
        .unwrap()
        .to_owned()
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(channel: &CallChannel, origin: &str) -> Result<Socket, String> {
    let ws = format!(
        "ws://{}/call/ws",
        channel
            .origin()
            .host_str()
            .zip(channel.origin().port())
            .map(|(h, p)| format!("{h}:{p}"))
            .unwrap()
    );
    let mut request = ws.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Origin", origin.parse().unwrap());
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
        .map_err(|error| error.to_string())
}

async fn next_event(received: &mut mpsc::UnboundedReceiver<ChannelEvent>) -> ChannelEvent {
    tokio::time::timeout(WAIT, received.recv())
        .await
        .expect("an event in time")
        .expect("channel open")
}

fn own_origin(channel: &CallChannel) -> String {
    channel.origin().as_str().trim_end_matches('/').to_owned()
}

#[tokio::test]
async fn the_page_is_served_with_a_policy_naming_only_jitsi() {
    let (channel, _received) = channel().await;
    let page = reqwest::get(channel.origin().join("call").unwrap())
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        policy.contains("script-src 'self' https://meet.example:8443"),
        "{policy}"
    );
    assert!(
        policy.contains("frame-src https://meet.example:8443;"),
        "{policy}"
    );
    assert!(
        policy.contains("frame-ancestors 'self' tauri://localhost"),
        "{policy}"
    );
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let permissions = page.headers()["permissions-policy"].to_str().unwrap();
    assert!(
        permissions.contains("camera=(self \"https://meet.example:8443\")"),
        "{permissions}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("/call.js"));
}

#[tokio::test]
async fn a_foreign_origin_cannot_even_open_the_socket() {
    let (channel, mut received) = channel().await;
    let refused = connect(&channel, "https://evil.example").await;
    assert!(refused.unwrap_err().contains("403"));
    assert_eq!(
        next_event(&mut received).await,
        ChannelEvent::Refused {
            reason: "foreign origin"
        }
    );
    assert!(!channel.is_connected());
}

#[tokio::test]
async fn a_wrong_key_is_closed_and_nothing_it_sends_arrives() {
    let (channel, mut received) = channel().await;
    let mut socket = connect(&channel, &own_origin(&channel)).await.unwrap();
    socket
        .send(Message::text(
            json!({"kind": "hello", "key": "0".repeat(64)}).to_string(),
        ))
        .await
        .unwrap();
    let _ = socket
        .send(Message::text(
            json!({"kind": "control", "control": {"control": "hangUp"}}).to_string(),
        ))
        .await;
    assert_eq!(
        next_event(&mut received).await,
        ChannelEvent::Refused {
            reason: "no valid key"
        }
    );
    let closed = tokio::time::timeout(WAIT, async {
        while let Some(message) = socket.next().await {
            if let Ok(Message::Close(Some(frame))) = message {
                return Some(u16::from(frame.code));
            }
        }
        None
    })
    .await
    .unwrap();
    assert_eq!(closed, Some(4401));
    assert!(!channel.is_connected());
    // The refused page's hang-up never arrives: the next event is the next page's.
    let mut page = connect(&channel, &own_origin(&channel)).await.unwrap();
    page.send(Message::text(
        json!({"kind": "hello", "key": key_of(&channel)}).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(
        next_event(&mut received).await,
        ChannelEvent::Connected,
        "the hang-up of a refused page reached the core"
    );
}

#[tokio::test]
async fn the_right_key_connects_and_messages_flow_both_ways() {
    let (channel, mut received) = channel().await;
    let mut socket = connect(&channel, &own_origin(&channel)).await.unwrap();
    socket
        .send(Message::text(
            json!({"kind": "hello", "key": key_of(&channel)}).to_string(),
        ))
        .await
        .unwrap();
    assert_eq!(next_event(&mut received).await, ChannelEvent::Connected);
    assert!(channel.is_connected());

    socket
        .send(Message::text(
            json!({"kind": "event", "name": "audioMuteStatusChanged", "data": {"muted": true}})
                .to_string(),
        ))
        .await
        .unwrap();
    match next_event(&mut received).await {
        ChannelEvent::Message(PageMessage::Event { name, data }) => {
            assert_eq!(
                (name.as_str(), data),
                ("audioMuteStatusChanged", json!({"muted": true}))
            )
        }
        other => panic!("expected the event, got {other:?}"),
    }
    // Anything outside the call's vocabulary is dropped, not forwarded: the next event to
    // arrive is the one sent after it.
    socket
        .send(Message::text(
            json!({"kind": "invoke", "command": "logout"}).to_string(),
        ))
        .await
        .unwrap();
    socket
        .send(Message::text(json!({"kind": "closing"}).to_string()))
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut received).await,
        ChannelEvent::Message(PageMessage::Closing)
    );

    assert!(channel.send(&CoreMessage::Command {
        name: "toggleAudio".into(),
        args: vec![],
    }));
    let text = tokio::time::timeout(WAIT, socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
        .into_text()
        .unwrap();
    let command: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        command,
        json!({"kind": "command", "name": "toggleAudio", "args": []})
    );

    socket.close(None).await.unwrap();
    assert_eq!(next_event(&mut received).await, ChannelEvent::Disconnected);
    assert!(!channel.is_connected());
}

async fn hello(socket: &mut Socket, key: &str) {
    socket
        .send(Message::text(
            json!({"kind": "hello", "key": key}).to_string(),
        ))
        .await
        .unwrap();
}

/// The close code the server ends `socket` with, `None` if it just went away.
async fn close_code(socket: &mut Socket) -> Option<u16> {
    tokio::time::timeout(WAIT, async {
        while let Some(message) = socket.next().await {
            match message {
                Ok(Message::Close(Some(frame))) => return Some(u16::from(frame.code)),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("closed in time")
}

#[tokio::test]
async fn the_first_proven_page_owns_the_call_and_a_second_is_refused() {
    let (channel, mut received) = channel().await;
    let key = key_of(&channel);
    let mut first = connect(&channel, &own_origin(&channel)).await.unwrap();
    hello(&mut first, &key).await;
    assert_eq!(next_event(&mut received).await, ChannelEvent::Connected);

    // A local program that learnt the key (and can send any Origin) cannot take the call over.
    let mut second = connect(&channel, &own_origin(&channel)).await.unwrap();
    hello(&mut second, &key).await;
    assert_eq!(
        next_event(&mut received).await,
        ChannelEvent::Refused {
            reason: "the call already has its page"
        }
    );
    assert_eq!(close_code(&mut second).await, Some(4409));

    // The first page keeps receiving what the core sends.
    assert!(channel.send(&CoreMessage::Dispose));
    let text = tokio::time::timeout(WAIT, first.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
        .into_text()
        .unwrap();
    assert_eq!(text.as_str(), r#"{"kind":"dispose"}"#);

    // Once it closes, the next proven page (the window shown again) owns the call.
    first.close(None).await.unwrap();
    assert_eq!(next_event(&mut received).await, ChannelEvent::Disconnected);
    let mut third = connect(&channel, &own_origin(&channel)).await.unwrap();
    hello(&mut third, &key).await;
    assert_eq!(next_event(&mut received).await, ChannelEvent::Connected);
}

#[tokio::test]
async fn an_oversized_first_message_is_refused_before_its_key_is_read() {
    let (channel, mut received) = channel().await;
    let key = key_of(&channel);
    // The right key, padded past what a hello needs: refused unread.
    let mut padded = connect(&channel, &own_origin(&channel)).await.unwrap();
    padded
        .send(Message::text(
            json!({"kind": "hello", "key": key, "pad": "x".repeat(100 * 1024)}).to_string(),
        ))
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut received).await,
        ChannelEvent::Refused {
            reason: "first message too big"
        }
    );
    assert_eq!(close_code(&mut padded).await, Some(4401));

    // A frame of megabytes is refused by the protocol layer as its header arrives.
    let mut huge = connect(&channel, &own_origin(&channel)).await.unwrap();
    let _ = huge.send(Message::binary(vec![0u8; 4 * 1024 * 1024])).await;
    assert_eq!(
        next_event(&mut received).await,
        ChannelEvent::Refused {
            reason: "first message too big"
        }
    );
    assert!(!channel.is_connected());
}

#[tokio::test]
async fn only_four_connections_may_wait_to_prove_the_key() {
    let (channel, mut received) = channel().await;
    let mut waiting = Vec::new();
    for _ in 0..4 {
        waiting.push(connect(&channel, &own_origin(&channel)).await.unwrap());
    }
    let fifth = connect(&channel, &own_origin(&channel)).await;
    assert!(fifth.unwrap_err().contains("503"));
    assert_eq!(
        next_event(&mut received).await,
        ChannelEvent::Refused {
            reason: "too many pending connections"
        }
    );
    // A decided connection gives its place back: the page still gets in.
    let mut first = waiting.remove(0);
    hello(&mut first, "wrong").await;
    assert_eq!(close_code(&mut first).await, Some(4401));
    assert_eq!(
        next_event(&mut received).await,
        ChannelEvent::Refused {
            reason: "no valid key"
        }
    );
    let mut page = connect(&channel, &own_origin(&channel)).await.unwrap();
    hello(&mut page, &key_of(&channel)).await;
    assert_eq!(next_event(&mut received).await, ChannelEvent::Connected);
}
