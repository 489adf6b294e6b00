//! A minimal Server-Sent Events reader for the tests: messages as the server framed them.

use std::time::Duration;

use reqwest::StatusCode;

/// One SSE message: a comment (heartbeat) or an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Comment(String),
    Event {
        id: Option<String>,
        event: String,
        data: String,
    },
}

pub struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    /// Opens `GET /events`; panics unless the server answers with an event stream.
    pub async fn open(base_url: &str, token: &str, last_event_id: Option<&str>) -> EventStream {
        let response = Self::request(base_url, token, last_event_id).await;
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        EventStream {
            response,
            buffer: String::new(),
        }
    }

    /// The raw response, for requests the server should refuse.
    pub async fn request(
        base_url: &str,
        token: &str,
        last_event_id: Option<&str>,
    ) -> reqwest::Response {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let mut request = client.get(format!("{base_url}/events")).bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        request.send().await.expect("request")
    }

    /// The next message; `None` once the server closed the stream. Panics after `within`.
    pub async fn next(&mut self, within: Duration) -> Option<Message> {
        tokio::time::timeout(within, self.read())
            .await
            .unwrap_or_else(|_| panic!("no message within {within:?}"))
    }

    /// The next event, skipping heartbeats; `None` once the stream closed.
    pub async fn next_event(
        &mut self,
        within: Duration,
    ) -> Option<(Option<String>, String, String)> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await? {
                Message::Comment(_) => continue,
                Message::Event { id, event, data } => return Some((id, event, data)),
            }
        }
    }

    /// Asserts that no event (heartbeats aside) arrives for `quiet`.
    pub async fn assert_quiet(&mut self, quiet: Duration) {
        let outcome = tokio::time::timeout(quiet, async {
            loop {
                match self.read().await {
                    Some(Message::Comment(_)) => continue,
                    other => return other,
                }
            }
        })
        .await;
        if let Ok(message) = outcome {
            panic!("expected silence, got {message:?}");
        }
    }

    async fn read(&mut self) -> Option<Message> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                return Some(parse(&block));
            }
            match self.response.chunk().await {
                Ok(Some(bytes)) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(None) | Err(_) => return None,
            }
        }
    }
}

fn parse(block: &str) -> Message {
    let mut id = None;
    let mut event = "message".to_owned();
    let mut data = Vec::new();
    let mut comment = None;
    for line in block.lines() {
        if let Some(text) = line.strip_prefix(':') {
            comment = Some(text.trim().to_owned());
        } else if let Some((field, value)) = line.split_once(':') {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => id = Some(value.to_owned()),
                "event" => event = value.to_owned(),
                "data" => data.push(value.to_owned()),
                _ => {}
            }
        }
    }
    match (comment, data.is_empty()) {
        (Some(text), true) => Message::Comment(text),
        _ => Message::Event {
            id,
            event,
            data: data.join("\n"),
        },
    }
}
