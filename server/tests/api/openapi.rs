//! `GET /openapi.json`: a valid OpenAPI 3.1 document that covers the contract and cannot drift
//! from the router. Every route in `server/src` is registered through utoipa-axum's `routes!`,
//! which adds it to the router and the document at once (no `.route(…)` call elsewhere), and a
//! real server must answer every documented operation with its handler, not the router's
//! fallbacks, and every other method on a documented path with 405.

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
    ("put", "/kiosk/exit-pin"),
    ("get", "/kiosk/exit-pin"),
    ("post", "/kiosk/exit-pin/check"),
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
    "/devices/enrolments",
    "/devices/enrolments/{enrolmentId}/pickup",
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

#[test]
fn every_route_in_the_code_is_registered_with_its_document_entry() {
    // `routes!` registers a handler for the router and the document at once, so they can only
    // drift through a route registered some other way: find any such call in the source.
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut registered = Vec::new();
    let mut bypasses = Vec::new();
    for (file, code) in sources(&source) {
        let (handlers, found) = registrations(&code);
        registered.extend(handlers);
        bypasses.extend(
            found
                .into_iter()
                .map(|call| format!("{}: {call}", file.display())),
        );
    }
    assert!(
        bypasses.is_empty(),
        "routes registered without `routes!` are missing from the document: {bypasses:?}"
    );
    // A reader of the code that found nothing would pass the check above: it must see one
    // handler per documented operation.
    for handler in ["health", "login", "session_token", "events", "document"] {
        assert!(
            registered.iter().any(|name| name == handler),
            "{handler} in {registered:?}"
        );
    }
    let doc: Value =
        serde_json::from_str(consult_server::openapi::document_json()).expect("the document");
    assert_eq!(
        registered.len(),
        operations(&doc).len(),
        "handlers in `routes!` calls: {registered:?}"
    );
}

/// `(path, code without line comments)` of every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut found = Vec::new();
    let mut entries = vec![dir.to_owned()];
    while let Some(entry) = entries.pop() {
        if entry.is_dir() {
            for child in std::fs::read_dir(&entry).expect("read_dir") {
                entries.push(child.expect("entry").path());
            }
        } else if entry.extension().is_some_and(|ext| ext == "rs") {
            let text = std::fs::read_to_string(&entry).expect("source file");
            let code = text
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            found.push((entry, code));
        }
    }
    found
}

/// The handlers named in `routes!(…)` calls (in order, repeated names repeated), and every call that registers a route otherwise
/// (axum's `.route(…)` and friends, or a hand-made `.routes(…)` argument).
fn registrations(code: &str) -> (Vec<String>, Vec<String>) {
    let mut handlers = Vec::new();
    for call in code.split("routes!(").skip(1) {
        let list = call.split(')').next().unwrap_or_default();
        handlers.extend(
            list.split(',')
                .map(|handler| handler.trim().rsplit("::").next().unwrap_or_default())
                .filter(|handler| !handler.is_empty())
                .map(str::to_owned),
        );
    }
    let mut bypasses = Vec::new();
    for other in [
        ".route(",
        ".route_service(",
        ".nest(",
        ".nest_service(",
        ".fallback_service(",
        "Router::new()",
        "OpenApiRouter::from(",
    ] {
        if code.contains(other) {
            bypasses.push(other.to_owned());
        }
    }
    for call in code.split(".routes(").skip(1) {
        if !call.trim_start().starts_with("routes!(") {
            bypasses.push(format!(
                ".routes({}",
                call.chars().take(40).collect::<String>()
            ));
        }
    }
    (handlers, bypasses)
}

#[test]
fn registrations_outside_routes_are_found() {
    let (handlers, bypasses) = registrations(
        "OpenApiRouter::default()\n    .routes(routes!(list, create))\n    \
         .routes(routes!(crate::x::fetch).map(|_| any(fetch)))",
    );
    assert_eq!(handlers, ["list", "create", "fetch"]);
    assert!(bypasses.is_empty(), "{bypasses:?}");
    for code in [
        "Router::new().route(\"/x\", get(x))",
        "api().merge(OpenApiRouter::from(other))",
        "OpenApiRouter::default().routes((schemas, paths, get(x)))",
        "router.nest(\"/v2\", other)",
    ] {
        assert!(!registrations(code).1.is_empty(), "{code}");
    }
}
