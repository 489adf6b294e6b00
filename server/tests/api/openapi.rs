//! `GET /openapi.json`: a valid OpenAPI 3.1 document that covers the contract and cannot drift
//! from the router. The routes the code registers (read from the `.route(…)` calls in
//! `server/src`) and the operations the document lists must be the same set, and a real server
//! must answer every documented operation with its handler, not the router's fallbacks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::common::TestServer;

/// The operations `shared/spec/clinic-api.md` promises (plus administration, health and the
/// document itself), as (method, path) with the router's parameter names.
const CONTRACT: &[(&str, &str)] = &[
    ("post", "/auth/login"),
    ("post", "/auth/device-login"),
    ("post", "/auth/register-or-login"),
    ("post", "/auth/refresh"),
    ("post", "/auth/logout"),
    ("get", "/me"),
    ("post", "/appointments"),
    ("get", "/appointments"),
    ("get", "/appointments/{id}"),
    ("patch", "/appointments/{id}"),
    ("delete", "/appointments/{id}"),
    ("post", "/appointments/{id}/meeting/start"),
    ("post", "/appointments/{id}/meeting/end"),
    ("get", "/sessions/{session_id}/jwt"),
    ("get", "/meetings/{appointment_id}/link"),
    ("post", "/appointments/{id}/join-requests"),
    ("get", "/appointments/{id}/join-requests"),
    ("get", "/join-requests/{id}"),
    ("post", "/join-requests/{id}/approve"),
    ("post", "/join-requests/{id}/reject"),
    ("get", "/notifications"),
    ("post", "/notifications/{id}/read"),
    ("get", "/events"),
    ("get", "/audit"),
    ("post", "/users"),
    ("get", "/users"),
    ("post", "/users/{id}/disable"),
    ("post", "/users/{id}/enable"),
    ("post", "/devices"),
    ("get", "/devices"),
    ("get", "/health"),
    ("get", "/openapi.json"),
];

/// Operations anyone may call; every other one requires the bearer scheme.
const PUBLIC: &[&str] = &[
    "/health",
    "/openapi.json",
    "/auth/login",
    "/auth/device-login",
    "/auth/register-or-login",
    "/auth/refresh",
];

/// Methods an OpenAPI path item may hold that axum routes with `get(…)`, `post(…)` and so on.
const METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "options", "trace"];

async fn fetch_document(server: &TestServer) -> Value {
    let reply = server.get("/openapi.json", None).await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.body);
    assert_eq!(
        reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    assert!(reply.body.is_object(), "a JSON document");
    reply.body
}

/// Every (method, path) the document lists.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            assert!(METHODS.contains(&method.as_str()), "{path}: {method}");
            found.insert((method.clone(), path.clone()));
        }
    }
    found
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_bearer_security_and_the_whole_contract() {
    let server = TestServer::start_with(|_| {}).await;
    let doc = fetch_document(&server).await;

    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "OpenAPI 3.1: {}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "Consult clinic API");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(doc["info"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("clinic-api.md")));
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(bearer["type"], "http", "{bearer}");
    assert_eq!(bearer["scheme"], "bearer", "{bearer}");
    assert_eq!(bearer["bearerFormat"], "JWT", "{bearer}");

    let documented = operations(&doc);
    for (method, path) in CONTRACT {
        assert!(
            documented.contains(&(method.to_string(), path.to_string())),
            "{method} {path} is not documented"
        );
    }

    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|tag| tag["name"].as_str())
        .collect();
    let mut operation_ids = BTreeSet::new();
    for (method, path) in &documented {
        let operation = &doc["paths"][path][method];
        let at = format!("{method} {path}");
        assert!(
            operation_ids.insert(operation["operationId"].as_str().expect("operationId")),
            "{at}: operationId {} is not unique",
            operation["operationId"]
        );
        let tag = operation["tags"][0].as_str().expect("a tag");
        assert!(tags.contains(tag), "{at}: tag {tag} is not declared");
        assert!(operation["summary"].is_string(), "{at}: a summary");

        let security = &operation["security"];
        if PUBLIC.contains(&path.as_str()) {
            assert!(security.is_null(), "{at} is public: {security}");
        } else {
            assert_eq!(
                *security,
                serde_json::json!([{"bearer": []}]),
                "{at} requires the bearer scheme"
            );
            assert!(
                operation["responses"]["401"].is_object(),
                "{at}: documents 401"
            );
        }

        let responses = operation["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|status| status.starts_with('2')),
            "{at}: a success response"
        );
        for (status, response) in responses {
            assert!(
                status.len() == 3 && status.parse::<u16>().is_ok(),
                "{at}: status {status}"
            );
            if response.get("$ref").is_none() {
                assert!(
                    response["description"].is_string(),
                    "{at} {status}: description"
                );
            }
        }

        // Path templates and declared path parameters match one to one.
        let in_template: BTreeSet<&str> = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .map(|parameters| {
                parameters
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .inspect(|p| assert_eq!(p["required"], true, "{at}: {p}"))
                    .filter_map(|p| p["name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(in_template, declared, "{at}: path parameters");
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            assert!(
                parameter["description"].is_string(),
                "{at}: parameter {} has a description",
                parameter["name"]
            );
        }
    }

    // Every reference resolves.
    let mut references = Vec::new();
    collect_references(&doc, &mut references);
    assert!(!references.is_empty());
    for reference in references {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{reference} is not local"));
        assert!(
            doc.pointer(pointer).is_some(),
            "{reference} does not resolve"
        );
    }
    server.stop().await;
}

fn collect_references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => found.push(reference.clone()),
                    _ => collect_references(value, found),
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_references(item, found)),
        _ => {}
    }
}

#[tokio::test]
async fn every_documented_operation_reaches_its_handler() {
    // Demo mode, so that register-or-login is routed rather than answering like an unknown route.
    let server = TestServer::demo().await;
    let doc = fetch_document(&server).await;

    // What the router's two fallbacks answer; a handler that exists must answer otherwise.
    let unknown = server.get("/no-such-route/placeholder", None).await;
    unknown.assert_error(StatusCode::NOT_FOUND, "not_found");
    let wrong_method = server
        .send(server.client.put(format!("{}/health", server.url)))
        .await;
    wrong_method.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");

    let documented = operations(&doc);
    let mut paths: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (method, path) in &documented {
        paths.entry(path).or_default().insert(method);
    }
    for (path, methods) in paths {
        let url = format!("{}{}", server.url, with_placeholders(path));
        for method in METHODS {
            // No token and no body: authenticated operations answer 401, public ones 2xx or a
            // body error. No documented operation answers 404 to such a request, so a 404 here
            // can only be the router's fallback for an unknown route.
            let method_name = method.to_uppercase();
            let request = server.client.request(
                Method::from_bytes(method_name.as_bytes()).expect("method"),
                &url,
            );
            let reply = server.send(request).await;
            if methods.contains(method) {
                assert_ne!(
                    reply.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is documented but not routed: {}",
                    reply.body
                );
                assert_ne!(
                    reply.status,
                    StatusCode::NOT_FOUND,
                    "{method} {path} is documented but not routed: {}",
                    reply.body
                );
                if !PUBLIC.contains(&path) {
                    reply.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
                }
            } else {
                // Conversely, the router has no method on a documented path that the document
                // leaves out.
                assert_eq!(
                    reply.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is routed but not documented: {}",
                    reply.body
                );
            }
        }
    }
    server.stop().await;
}

/// `/appointments/{id}/meeting/start` → `/appointments/placeholder-id/meeting/start`.
fn with_placeholders(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "placeholder-id"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_route_in_the_code_is_documented_and_nothing_else() {
    let server = TestServer::start_with(|_| {}).await;
    let doc = fetch_document(&server).await;
    server.stop().await;
    let documented = operations(&doc);

    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let routes = routes_in(&source);
    assert!(routes.contains_key("/health"), "routes found: {routes:?}");
    let mut in_code = BTreeSet::new();
    for (path, methods) in &routes {
        if methods.contains("any") {
            // Any method reaches the handler, which picks its own: the document says which.
            assert!(
                documented.iter().any(|(_, p)| p == path),
                "{path} (any method) is not documented"
            );
            in_code.extend(documented.iter().filter(|(_, p)| p == path).cloned());
        } else {
            in_code.extend(methods.iter().map(|m| (m.clone(), path.clone())));
        }
    }
    let undocumented: Vec<_> = in_code.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routed but undocumented: {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&in_code).collect();
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
}

/// Path → methods of every `.route("path", get(…).post(…))` in the `.rs` files under `dir`.
fn routes_in(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut routes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![dir.to_owned()];
    while let Some(entry) = files.pop() {
        if entry.is_dir() {
            for child in std::fs::read_dir(&entry).expect("read_dir") {
                files.push(child.expect("entry").path());
            }
            continue;
        }
        if entry.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&entry).expect("source file");
        let code: String = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for other in [
            ".nest(",
            ".nest_service(",
            ".route_service(",
            ".fallback_service(",
        ] {
            assert!(
                !code.contains(other),
                "{}: `{other}` routes are not understood by this test; teach it",
                entry.display()
            );
        }
        for call in code.split(".route(").skip(1) {
            let (path, methods) = parse_route(call).unwrap_or_else(|| {
                panic!(
                    "{}: cannot read `.route({}`; route paths must be string literals",
                    entry.display(),
                    call.chars().take(80).collect::<String>()
                )
            });
            let known = routes.entry(path).or_default();
            known.extend(methods);
        }
    }
    routes
}

/// `"path", get(a).post(b))…` → ("path", {"get", "post"}).
fn parse_route(call: &str) -> Option<(String, BTreeSet<String>)> {
    let rest = call.trim_start().strip_prefix('"')?;
    let (path, rest) = rest.split_once('"')?;
    let rest = rest.trim_start().strip_prefix(',')?;
    // The method router: up to the `)` that closes `.route(`.
    let mut depth = 0usize;
    let mut end = None;
    for (at, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => {
                end = Some(at);
                break;
            }
            ')' => depth -= 1,
            _ => {}
        }
    }
    let chain = &rest[..end?];
    // The calls at depth 0 of the chain: `get(…)`, `.post(…)`, `axum::routing::any(…)`.
    let mut methods = BTreeSet::new();
    let mut depth = 0usize;
    let mut word = String::new();
    for c in chain.chars() {
        match c {
            '(' => {
                if depth == 0 && !word.is_empty() {
                    methods.insert(std::mem::take(&mut word));
                }
                depth += 1;
            }
            ')' => depth = depth.saturating_sub(1),
            c if depth == 0 && (c.is_ascii_alphanumeric() || c == '_') => word.push(c),
            _ if depth == 0 => word.clear(),
            _ => {}
        }
    }
    let allowed = [
        "get", "post", "put", "patch", "delete", "options", "trace", "any",
    ];
    methods
        .iter()
        .all(|method| allowed.contains(&method.as_str()))
        .then_some((path.to_owned(), methods))
}

#[test]
fn routes_are_read_from_their_calls() {
    let (path, methods) = parse_route(
        "\n            \"/appointments/{id}\",\n            get(fetch).patch(change).delete(cancel),\n        )\n        .route(",
    )
    .expect("parsed");
    assert_eq!(path, "/appointments/{id}");
    assert_eq!(methods, ["delete", "get", "patch"].map(String::from).into());
    let (_, methods) = parse_route("\"/x\", axum::routing::any(handler))").expect("parsed");
    assert_eq!(methods, ["any"].map(String::from).into());
    assert!(
        parse_route("PATH, get(x))").is_none(),
        "a constant path is refused"
    );
    assert!(parse_route("\"/x\", get_service(x))").is_none());
}
