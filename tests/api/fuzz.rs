//! Property-based fuzzing of the whole request path: arbitrary documents (token soup and
//! schema-shaped selections), arbitrary variables and arbitrary bodies go to a running hub over
//! HTTP; no request may panic (a 500), and every error must carry a stable code. Documents of
//! several operations, named and anonymous, with random `operationName`s go over HTTP and over the
//! WebSocket, where every error must carry a code too.
//!
//! CI runs 256 cases per property (seconds); run longer by hand with
//! `PROPTEST_CASES=20000 cargo test --test api fuzz:: -- --nocapture`.

use std::sync::OnceLock;

use proptest::{prelude::*, test_runner::Config};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

/// One hub for every case: a multi-threaded runtime keeps serving between cases.
struct Target {
    runtime: tokio::runtime::Runtime,
    app: TestApp,
    token: String,
}

fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let (app, token) = runtime.block_on(async {
            let app = TestApp::spawn(Backend::Sqlite).await;
            let token =
                app.token_for("Kari Nordmann", knowledge_hub::config::RoleArg::Coordinator, "rso-vest").await;
            (app, token)
        });
        Target { runtime, app, token }
    })
}

/// Sends a body; returns the status and the JSON answer (null if it is not JSON).
fn send(body: Vec<u8>, with_token: bool) -> (u16, Value) {
    let target = target();
    target.runtime.block_on(async {
        let mut request = target
            .app
            .client
            .post(target.app.url("/graphql"))
            .header("content-type", "application/json")
            .body(body);
        if with_token {
            request = request.bearer_auth(&target.token);
        }
        let response = request.send().await.expect("the hub answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

/// Sends a document with an `operationName` (or none) over HTTP.
fn send_named(document: &str, operation_name: &Option<String>, with_token: bool) -> (u16, Value) {
    let mut body = json!({ "query": document });
    if let Some(name) = operation_name {
        body["operationName"] = json!(name);
    }
    send(body.to_string().into_bytes(), with_token)
}

/// Runs a document over the WebSocket (a connection of its own) and returns the payloads of the
/// `next` messages that arrive before the operation completes, or within a second for a
/// subscription that keeps running; a close frame comes back as `{"close": code}`.
fn over_websocket(document: &str, operation_name: &Option<String>, with_token: bool) -> Vec<Value> {
    use async_graphql::futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};
    let target = target();
    target.runtime.block_on(async {
        let mut request =
            format!("ws://{}/graphql/ws", target.app.addr).into_client_request().expect("a request");
        request
            .headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("connected");
        let payload = if with_token {
            json!({ "Authorization": format!("Bearer {}", target.token) })
        } else {
            json!({})
        };
        let init = json!({ "type": "connection_init", "payload": payload }).to_string();
        socket.send(Message::text(init)).await.expect("sent");
        let mut subscribe = json!({ "type": "subscribe", "id": "1", "payload": { "query": document } });
        if let Some(name) = operation_name {
            subscribe["payload"]["operationName"] = json!(name);
        }
        socket.send(Message::text(subscribe.to_string())).await.expect("sent");
        let mut payloads = Vec::new();
        loop {
            let frame = match tokio::time::timeout(std::time::Duration::from_secs(1), socket.next()).await {
                Ok(Some(Ok(frame))) => frame,
                _ => break,
            };
            match frame {
                Message::Text(text) => {
                    let message: Value = serde_json::from_str(text.as_str()).expect("JSON messages");
                    match message["type"].as_str() {
                        Some("next") => payloads.push(message["payload"].clone()),
                        Some("connection_ack") => {}
                        _ => break,
                    }
                }
                Message::Close(frame) => {
                    payloads.push(json!({ "close": frame.map(|f| u16::from(f.code)) }));
                    break;
                }
                _ => {}
            }
        }
        let _ = socket.close(None).await;
        payloads
    })
}

/// Documents of one to three operations, each named from a few names or anonymous, so that
/// names repeat, miss and clash.
fn operations() -> impl Strategy<Value = String> {
    let one = (
        proptest::sample::select(&["query", "mutation", "subscription", ""][..]),
        proptest::option::of(proptest::sample::select(&["A", "B", "C", "query", "Subscription"][..])),
        selection(),
    )
        .prop_map(|(kind, name, body)| match (kind, name) {
            ("", _) => format!("{{ {body} }}"),
            (kind, Some(name)) => format!("{kind} {name} {{ {body} }}"),
            (kind, None) => format!("{kind} {{ {body} }}"),
        });
    proptest::collection::vec(one, 1..4).prop_map(|operations| operations.join("\n"))
}

fn operation_name() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        2 => proptest::sample::select(&["A", "B", "C", "D", "", "query"][..]).prop_map(|n| Some(n.to_owned())),
        1 => any::<String>().prop_map(|s| Some(s.chars().take(12).collect())),
    ]
}

fn check(status: u16, body: &Value) -> Result<(), TestCaseError> {
    prop_assert_ne!(status, 500, "a panic or internal error: {}", body);
    for error in body["errors"].as_array().into_iter().flatten() {
        let code = error["extensions"]["code"].as_str().unwrap_or("");
        prop_assert!(!code.is_empty(), "an error without a code: {}", body);
        prop_assert_ne!(code, "INTERNAL", "{}", body);
    }
    Ok(())
}

const NAMES: &[&str] = &[
    "regions",
    "counties",
    "clusters",
    "municipalities",
    "municipality",
    "institutions",
    "themes",
    "productTypes",
    "criteria",
    "needs",
    "need",
    "needStats",
    "needEvents",
    "node",
    "nodes",
    "viewer",
    "people",
    "rounds",
    "round",
    "commissions",
    "summaries",
    "auditEvents",
    "nodes",
    "edges",
    "pageInfo",
    "totalCount",
    "id",
    "name",
    "key",
    "code",
    "title",
    "status",
    "history",
    "cosigners",
    "reach",
    "region",
    "cluster",
    "county",
    "__typename",
    "__schema",
    "__type",
    "types",
    "fields",
    "submitNeed",
    "updateNeed",
    "cosignNeed",
    "createToken",
    "input",
    "first",
    "last",
    "after",
    "before",
    "filter",
    "search",
    "orderBy",
    "ids",
    "version",
    "mutation",
    "query",
    "subscription",
    "fragment",
    "on",
    "true",
    "false",
    "null",
    "Need",
    "Region",
];

const PUNCTUATION: &[&str] =
    &["{", "}", "(", ")", "[", "]", ":", "$", "@", "...", ",", "=", "!", "|", "&", "\"", "#"];

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(NAMES).prop_map(str::to_owned),
        4 => proptest::sample::select(PUNCTUATION).prop_map(str::to_owned),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => "\"[^\"\\\\]{0,12}\"",
        1 => any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ]
}

/// Documents that pass the parser often: nested selections of schema names with arguments.
fn selection() -> impl Strategy<Value = String> {
    let leaf = proptest::sample::select(NAMES).prop_map(str::to_owned);
    leaf.prop_recursive(6, 64, 6, |inner| {
        (
            proptest::sample::select(NAMES),
            proptest::option::of((
                proptest::sample::select(NAMES),
                prop_oneof![
                    any::<i32>().prop_map(|n| n.to_string()),
                    Just("\"x\"".to_owned()),
                    Just("$v".to_owned()),
                    Just("[1, \"a\", null]".to_owned()),
                    Just("{ status: [SUBMITTED] }".to_owned()),
                ],
            )),
            proptest::collection::vec(inner, 1..5),
        )
            .prop_map(|(name, argument, children)| {
                let argument = argument.map(|(a, v)| format!("({a}: {v})")).unwrap_or_default();
                format!("{name}{argument} {{ {} }}", children.join(" "))
            })
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::hash_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Documents valid for the schema, generated from its SDL with a seeded generator: random fields
/// of each type (inline fragments for interfaces and unions), and arguments of the right kinds
/// with edge values (page sizes around the bounds, real and malformed ids, empty, long and
/// control-character strings, every enum value). These reach the resolvers and the SQL.
mod valid {
    use std::collections::HashMap;

    use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};

    pub struct Schema {
        types: HashMap<String, TypeKind>,
        implementors: HashMap<String, Vec<String>>,
    }

    impl Schema {
        pub fn load() -> Self {
            let sdl = knowledge_hub::graphql::schema::sdl();
            let document = async_graphql::parser::parse_schema(&sdl).expect("the SDL parses");
            let mut types = HashMap::new();
            let mut implementors: HashMap<String, Vec<String>> = HashMap::new();
            for definition in document.definitions {
                if let TypeSystemDefinition::Type(t) = definition {
                    let name = t.node.name.node.to_string();
                    if let TypeKind::Object(object) = &t.node.kind {
                        for interface in &object.implements {
                            implementors.entry(interface.node.to_string()).or_default().push(name.clone());
                        }
                    }
                    types.insert(name, t.node.kind);
                }
            }
            Self { types, implementors }
        }
    }

    /// A small deterministic generator (xorshift), so a failing seed reproduces.
    pub struct Gen<'a> {
        schema: &'a Schema,
        state: u64,
        ids: &'a [String],
    }

    fn named(ty: &Type) -> &str {
        match &ty.base {
            BaseType::Named(name) => name.as_str(),
            BaseType::List(inner) => named(inner),
        }
    }

    impl<'a> Gen<'a> {
        pub fn new(schema: &'a Schema, seed: u64, ids: &'a [String]) -> Self {
            Self { schema, state: seed | 1, ids }
        }

        fn next(&mut self) -> u64 {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            self.state
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.next() % 100 < percent
        }

        pub fn operation(&mut self) -> String {
            let (keyword, root) = if self.chance(25) { ("mutation", "Mutation") } else { ("query", "Query") };
            format!("{keyword} {}", self.selection(root, 0))
        }

        fn selection(&mut self, type_name: &str, depth: usize) -> String {
            let Some(kind) = self.schema.types.get(type_name) else { return String::new() };
            let fields = match kind {
                TypeKind::Object(o) => o.fields.clone(),
                TypeKind::Interface(i) => i.fields.clone(),
                TypeKind::Union(u) => {
                    let members: Vec<String> = u.members.iter().map(|m| m.node.to_string()).collect();
                    let member = members[self.below(members.len())].clone();
                    return format!("{{ __typename ... on {member} {} }}", self.selection(&member, depth));
                }
                _ => return String::new(),
            };
            let mut parts = Vec::new();
            for _ in 0..1 + self.below(3) {
                let field = &fields[self.below(fields.len())].node;
                let target = named(&field.ty.node).to_owned();
                let is_leaf = matches!(
                    self.schema.types.get(&target),
                    Some(TypeKind::Scalar | TypeKind::Enum(_)) | None
                );
                if !is_leaf && depth >= 4 {
                    continue;
                }
                let mut arguments = Vec::new();
                for argument in &field.arguments {
                    let argument = &argument.node;
                    if !argument.ty.node.nullable || self.chance(40) {
                        let value = self.value(&argument.ty.node, 0);
                        arguments.push(format!("{}: {value}", argument.name.node));
                    }
                }
                let arguments =
                    if arguments.is_empty() { String::new() } else { format!("({})", arguments.join(", ")) };
                let below = if is_leaf { String::new() } else { self.selection(&target, depth + 1) };
                parts.push(format!("{}{arguments} {below}", field.name.node));
            }
            if let Some(implementors) = self.schema.implementors.get(type_name).cloned() {
                let concrete = &implementors[self.below(implementors.len())];
                parts.push(format!("... on {concrete} {}", self.selection(concrete, depth)));
            }
            if parts.is_empty() {
                parts.push("__typename".to_owned());
            }
            format!("{{ {} }}", parts.join(" "))
        }

        fn value(&mut self, ty: &Type, depth: usize) -> String {
            if ty.nullable && self.chance(5) {
                return "null".to_owned();
            }
            if let BaseType::List(inner) = &ty.base {
                let items: Vec<String> = (0..self.below(3)).map(|_| self.value(inner, depth + 1)).collect();
                return format!("[{}]", items.join(", "));
            }
            let name = named(ty).to_owned();
            match name.as_str() {
                "Int" => ["0", "1", "5", "20", "100", "101", "-1", "2147483647", "-2147483648"]
                    [self.below(9)]
                .to_owned(),
                "Float" => ["0", "1.5", "-1e308", "3"][self.below(4)].to_owned(),
                "Boolean" => if self.chance(50) { "true" } else { "false" }.to_owned(),
                "ID" => {
                    if !self.ids.is_empty() && self.chance(70) {
                        format!("\"{}\"", self.ids[self.below(self.ids.len())])
                    } else {
                        ["\"\"", "\"!!\"", "\"TmVlZDo5OTk5OTk5\"", "\"UmVnaW9uOi0x\""][self.below(4)]
                            .to_owned()
                    }
                }
                "DateTime" => ["\"2026-01-01T00:00:00Z\"", "\"2999-12-31T23:59:59Z\"", "\"yesterday\""]
                    [self.below(3)]
                .to_owned(),
                "String" => {
                    let long = format!("\"{}\"", "Fallførebygging ".repeat(700));
                    [
                        "\"\"".to_owned(),
                        "\"Bergen\"".to_owned(),
                        "\"a\\u0000b\"".to_owned(),
                        long,
                        "\"%_*'\\\\\"".to_owned(),
                        "\"https://doi.org/10.1000/182\"".to_owned(),
                    ][self.below(6)]
                    .clone()
                }
                _ => match self.schema.types.get(&name).cloned() {
                    Some(TypeKind::Enum(e)) => {
                        e.values[self.below(e.values.len())].node.value.node.to_string()
                    }
                    Some(TypeKind::InputObject(o)) if depth < 3 => {
                        let mut fields = Vec::new();
                        for field in &o.fields {
                            let field = &field.node;
                            if !field.ty.node.nullable || self.chance(50) {
                                fields.push(format!(
                                    "{}: {}",
                                    field.name.node,
                                    self.value(&field.ty.node, depth + 1)
                                ));
                            }
                        }
                        format!("{{ {} }}", fields.join(", "))
                    }
                    _ => "null".to_owned(),
                },
            }
        }
    }
}

/// Ids of real rows, for generated arguments.
fn real_ids() -> &'static [String] {
    static IDS: OnceLock<Vec<String>> = OnceLock::new();
    IDS.get_or_init(|| {
        let (_, body) = send(
            json!({ "query": "{ regions { nodes { id } } clusters { nodes { id } } themes { nodes { id } }
                municipalities(first: 5) { nodes { id } } institutions(first: 3) { nodes { id } }
                productTypes { nodes { id } } viewer { person { id } tokens { id } memberships { id } } }" })
            .to_string()
            .into_bytes(),
            true,
        );
        let mut ids = Vec::new();
        collect_ids(&body, &mut ids);
        ids
    })
}

fn collect_ids(value: &Value, ids: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (key, value) in fields {
                match (key.as_str(), value) {
                    ("id", Value::String(id)) => ids.push(id.clone()),
                    _ => collect_ids(value, ids),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_ids(item, ids)),
        _ => {}
    }
}

fn config() -> Config {
    // `PROPTEST_CASES` overrides the number of cases.
    Config { failure_persistence: None, ..Config::with_cases(256) }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn token_soup_never_panics(tokens in proptest::collection::vec(token(), 0..80), with_token: bool) {
        let document = tokens.join(" ");
        let (status, body) = send(json!({ "query": document }).to_string().into_bytes(), with_token);
        check(status, &body)?;
    }

    #[test]
    fn schema_shaped_documents_and_variables_never_panic(
        kind in proptest::sample::select(&["query", "mutation", "subscription", ""][..]),
        root in proptest::collection::vec(selection(), 1..4),
        variables in json_value(),
        with_token: bool,
    ) {
        let header = if kind.is_empty() { String::new() } else { format!("{kind}($v: ID)") };
        let document = format!("{header} {{ {} }}", root.join(" "));
        let body = json!({ "query": document, "variables": { "v": variables } }).to_string().into_bytes();
        let (status, body) = send(body, with_token);
        check(status, &body)?;
    }

    #[test]
    fn schema_valid_documents_never_panic(seed: u64, with_token: bool) {
        static SCHEMA: OnceLock<valid::Schema> = OnceLock::new();
        let schema = SCHEMA.get_or_init(valid::Schema::load);
        let document = valid::Gen::new(schema, seed, real_ids()).operation();
        let (status, body) = send(json!({ "query": document }).to_string().into_bytes(), with_token);
        check(status, &body)?;
    }

    #[test]
    fn several_operations_and_any_operation_name_have_coded_errors(
        document in operations(),
        name in operation_name(),
        with_token: bool,
    ) {
        let (status, body) = send_named(&document, &name, with_token);
        check(status, &body)?;
    }

    #[test]
    fn over_the_websocket_every_error_has_a_code(
        document in prop_oneof![operations(), proptest::collection::vec(token(), 0..40).prop_map(|t| t.join(" "))],
        name in operation_name(),
        with_token: bool,
    ) {
        for payload in over_websocket(&document, &name, with_token) {
            prop_assert!(payload.get("close").is_none(), "the socket closed: {} for {}", payload, document);
            check(200, &payload)?;
        }
    }

    #[test]
    fn arbitrary_bodies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let (status, body) = send(bytes, false);
        check(status, &body)?;
    }
}
