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

use crate::helpers::{Backend, TestApp, both_databases};

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
        2 => proptest::sample::select(&["A", "B", "C", "D", "", "query"][..])
            .prop_map(|n| Some(n.to_owned())),
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
pub(crate) use valid::Schema as SchemaWalk;

mod valid {
    use std::collections::HashMap;

    use async_graphql::parser::types::{BaseType, FieldDefinition, Type, TypeKind, TypeSystemDefinition};

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

    impl Schema {
        /// The fields of an object or interface type.
        pub fn fields(&self, type_name: &str) -> Vec<FieldDefinition> {
            match self.types.get(type_name) {
                Some(TypeKind::Object(o)) => o.fields.iter().map(|f| f.node.clone()).collect(),
                Some(TypeKind::Interface(i)) => i.fields.iter().map(|f| f.node.clone()).collect(),
                _ => Vec::new(),
            }
        }

        /// Whether values of `ty` are leaves (scalars and enums): selected without braces.
        pub fn is_leaf(&self, ty: &Type) -> bool {
            matches!(self.types.get(named(ty)), Some(TypeKind::Scalar | TypeKind::Enum(_)) | None)
        }

        /// Whether a value of `ty` holds a `DateTime` somewhere (itself, a list of it, or a field
        /// of an input object, at any depth up to 3).
        pub fn holds_date(&self, ty: &Type, depth: usize) -> bool {
            let name = named(ty);
            name == "DateTime"
                || (depth < 3
                    && matches!(self.types.get(name), Some(TypeKind::InputObject(o))
                        if o.fields.iter().any(|f| self.holds_date(&f.node.ty.node, depth + 1))))
        }

        /// A value of `ty` with every `DateTime` in it set to `date` and every other required
        /// field given a plain value of its type (other nullable fields left out).
        pub fn value_with_date(&self, ty: &Type, date: &str, ids: &[String], depth: usize) -> String {
            if let BaseType::List(inner) = &ty.base {
                return format!("[{}]", self.value_with_date(inner, date, ids, depth + 1));
            }
            match named(ty) {
                "DateTime" => format!("\"{date}\""),
                "Int" => "1".to_owned(),
                "Float" => "1.5".to_owned(),
                "Boolean" => "false".to_owned(),
                "ID" => ids.first().map_or_else(|| "\"x\"".to_owned(), |id| format!("\"{id}\"")),
                "String" => "\"Fallførebygging\"".to_owned(),
                name => match self.types.get(name) {
                    Some(TypeKind::Enum(e)) => e.values[0].node.value.node.to_string(),
                    Some(TypeKind::InputObject(o)) if depth < 3 => {
                        let fields: Vec<String> = o
                            .fields
                            .iter()
                            .map(|f| &f.node)
                            .filter(|f| !f.ty.node.nullable || self.holds_date(&f.ty.node, depth + 1))
                            .map(|f| {
                                format!(
                                    "{}: {}",
                                    f.name.node,
                                    self.value_with_date(&f.ty.node, date, ids, depth + 1)
                                )
                            })
                            .collect();
                        format!("{{ {} }}", fields.join(", "))
                    }
                    _ => "null".to_owned(),
                },
            }
        }

        /// Documents that reach every field taking `after` or `before`, each by a shortest path
        /// of fields without required arguments from the query root (through `nodes` of
        /// connections): `(path as text with a hole, the field's type name)`. The hole `{args}`
        /// takes the field's arguments.
        pub fn paged_fields(&self) -> Vec<(String, String)> {
            use std::collections::{HashSet, VecDeque};
            let mut found = Vec::new();
            let mut seen: HashSet<String> = HashSet::from(["Query".to_owned()]);
            // (type, selection text before the hole's level, closing braces)
            let mut queue: VecDeque<(String, String, usize)> =
                VecDeque::from([("Query".to_owned(), String::new(), 0)]);
            while let Some((type_name, prefix, open)) = queue.pop_front() {
                for field in self.fields(&type_name) {
                    let name = field.name.node.to_string();
                    let target = named(&field.ty.node).to_owned();
                    let paged = field
                        .arguments
                        .iter()
                        .any(|a| ["after", "before"].contains(&a.node.name.node.as_str()));
                    if paged {
                        let close = "} ".repeat(open);
                        found.push((
                            format!("{prefix}{name}({{args}}) {{ __typename }} {close}"),
                            format!("{type_name}.{name}"),
                        ));
                    }
                    let required = field
                        .arguments
                        .iter()
                        .any(|a| !a.node.ty.node.nullable && a.node.default_value.is_none());
                    if required || self.is_leaf(&field.ty.node) || !seen.insert(target.clone()) {
                        continue;
                    }
                    queue.push_back((target, format!("{prefix}{name} {{ "), open + 1));
                }
            }
            found
        }

        /// The arguments of the query and mutation fields that hold a `DateTime`: `(root type,
        /// field, its arguments)`.
        pub fn date_inputs(&self) -> Vec<(&'static str, FieldDefinition)> {
            let mut found = Vec::new();
            for root in ["Query", "Mutation"] {
                for field in self.fields(root) {
                    if field.arguments.iter().any(|a| self.holds_date(&a.node.ty.node, 0)) {
                        found.push((root, field));
                    }
                }
            }
            found
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
                "DateTime" => {
                    let dates = [super::IN_RANGE_DATES, super::OUT_OF_RANGE_DATES, &["yesterday"]].concat();
                    format!("\"{}\"", dates[self.below(dates.len())])
                }
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
                productTypes { nodes { id } } viewer { person { id } tokens { nodes { id } } memberships { \
                nodes { id } } } }" })
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

/// `Authorization` values: the real token, damaged or under another scheme, token-shaped strings,
/// and printable noise.
fn authorization() -> impl Strategy<Value = String> {
    let real = target().token.clone();
    let body = prop_oneof![
        2 => Just(real.clone()),
        2 => (0..real.len(), proptest::char::range('0', 'z'))
            .prop_map(move |(at, c)| {
                let mut t = real.clone().into_bytes();
                t[at] = c as u8;
                String::from_utf8_lossy(&t).into_owned()
            }),
        2 => "[A-Za-z0-9_-]{43}".prop_map(|rest| format!("khub_{rest}")),
        1 => "[ -~]{0,60}",
    ];
    let scheme =
        proptest::sample::select(&["Bearer ", "bearer ", "BEARER ", "Basic ", "Token ", "", " Bearer "][..]);
    (scheme, body).prop_map(|(scheme, body)| format!("{scheme}{body}"))
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

    /// Any `Authorization` value is a person or a refusal (401, or 429 once the address's budget
    /// is spent), never the public; and refusals stay a handful of audit events, one per kind.
    #[test]
    fn authorization_headers_are_a_person_or_a_refusal(header in authorization()) {
        let target = target();
        let (status, body) = target.runtime.block_on(async {
            let response = target.app.client.post(target.app.url("/graphql"))
                .header("authorization", &header)
                .json(&json!({ "query": "{ viewer { authenticated } }" }))
                .send().await.expect("the hub answers");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        });
        check(status, &body)?;
        match status {
            200 => prop_assert_eq!(
                &body["data"]["viewer"]["authenticated"],
                &json!(true),
                "{}: {}",
                header,
                body
            ),
            401 => prop_assert_eq!(&body["errors"][0]["extensions"]["code"], &json!("UNAUTHENTICATED")),
            429 => prop_assert_eq!(&body["errors"][0]["extensions"]["code"], &json!("RATE_LIMITED")),
            other => prop_assert!(false, "{} for {}: {}", other, header, body),
        }
        let refusals = target.runtime.block_on(async {
            use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
            entity::audit_event::Entity::find()
                .filter(entity::audit_event::Column::Action.eq("authenticate"))
                .count(target.app.db().conn())
                .await
                .expect("count")
        });
        prop_assert!(refusals <= 5, "one event per kind of refusal, not one per request: {}", refusals);
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
        document in prop_oneof![
            operations(),
            proptest::collection::vec(token(), 0..40).prop_map(|t| t.join(" ")),
        ],
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

/// Times every database stores (the first and last instants of the years 1 to 9999).
const IN_RANGE_DATES: &[&str] =
    &["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "2026-11-30T12:00:00+01:00"];
/// Well-formed times outside the years the hub stores: chrono's extremes, year 0, year 10000.
const OUT_OF_RANGE_DATES: &[&str] =
    &["-262143-01-01T00:00:00Z", "+262142-12-31T23:59:59Z", "0000-12-31T23:59:59Z", "+10000-01-01T00:00:00Z"];

fn encode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// Well-formed cursors of every kind the hub hands out: key cursors (`cursor:N`, for reference
/// lists, people, rounds, commissions, summaries, need and audit events) at and beyond the edges
/// of their range, and cursors of pages of needs for every order with every kind of key, at
/// extreme values (with and without the order they belong to).
fn cursors() -> Vec<String> {
    let mut cursors: Vec<String> = [
        "0",
        "1",
        "-1",
        "2147483647",
        "-2147483648",
        "2147483648",
        "-2147483649",
        "9223372036854775807",
        "-9223372036854775808",
    ]
    .iter()
    .map(|n| encode(&format!("cursor:{n}")))
    .collect();
    let times = IN_RANGE_DATES.iter().chain(OUT_OF_RANGE_DATES).map(|t| json!({ "Time": t }));
    let keys: Vec<Value> = times
        .chain(
            ["-9223372036854775808", "0", "9223372036854775807"]
                .iter()
                .map(|n| json!({ "Count": n.parse::<i64>().unwrap_or(0) })),
        )
        .chain([i64::MIN, 0, i64::MAX].iter().map(|r| json!({ "Rank": r })))
        // A rank was a float once: such a cursor is malformed now.
        .chain([-1e308, 0.5, 1e308].iter().map(|r| json!({ "Rank": r })))
        .collect();
    for key in &keys {
        for id in [i32::MIN, 0, i32::MAX] {
            cursors.push(encode(&json!({ "key": key, "id": id }).to_string()));
            for order in ["Newest", "Oldest", "Updated", "Reach", "Relevance"] {
                cursors.push(encode(&json!({ "order": order, "key": key, "id": id }).to_string()));
            }
        }
    }
    cursors
}

/// Every error has a code and none is INTERNAL.
fn all_coded(body: &Value, document: &str) {
    for error in body["errors"].as_array().into_iter().flatten() {
        let code = error["extensions"]["code"].as_str().unwrap_or("");
        assert!(!code.is_empty(), "an error without a code for {document}: {body}");
        assert_ne!(code, "INTERNAL", "for {document}: {body}");
    }
}

/// A populated hub and a coordinator's token (who may see the most: drafts are still hidden).
async fn populated(app: &TestApp) -> String {
    sample::generate_needs(app.db(), 60, 5).await.expect("a sample dataset");
    app.token_for("Kari Nordmann", knowledge_hub::config::RoleArg::Coordinator, "rso-vest").await
}

/// Sends `fields` (root fields, each aliased) in documents of at most 20 root fields.
async fn send_aliased(app: &TestApp, token: &str, fields: &[String]) -> Vec<(String, Value)> {
    let mut answers = Vec::new();
    for chunk in fields.chunks(20) {
        let document = format!(
            "{{ {} }}",
            chunk.iter().enumerate().map(|(i, f)| format!("f{i}: {f}")).collect::<Vec<_>>().join(" ")
        );
        let (status, body) = app.query_as(token, &document, json!({})).await;
        assert_ne!(status, 500, "{document}: {body}");
        answers.push((document, body));
    }
    answers
}

#[both_databases]
async fn well_formed_cursors_of_every_kind_are_never_internal_errors(app: TestApp) {
    let token = populated(&app).await;
    let cursors = cursors();
    let mut fields = Vec::new();
    // Pages of needs: every order, with and without a search (RELEVANCE without one is NEWEST).
    for order in ["NEWEST", "OLDEST", "UPDATED", "REACH", "RELEVANCE"] {
        for search in ["", "search: \"fall\","] {
            for cursor in &cursors {
                for (size, direction) in [("first", "after"), ("last", "before")] {
                    fields.push(format!(
                        "needs({search} orderBy: {order}, {size}: 2, {direction}: \"{cursor}\") {{ nodes {{ \
                         id }} pageInfo {{ endCursor }} }}"
                    ));
                }
            }
        }
    }
    // Every other field that takes a cursor, wherever it is in the schema.
    static SCHEMA: OnceLock<valid::Schema> = OnceLock::new();
    let schema = SCHEMA.get_or_init(valid::Schema::load);
    let paged = schema.paged_fields();
    for must in [
        "Query.commissions",
        "Query.needEvents",
        "Query.auditEvents",
        "Query.rounds",
        "Query.people",
        "Region.clusters",
    ] {
        assert!(paged.iter().any(|(_, name)| name == must), "{must} is reached: {paged:?}");
    }
    for (path, name) in &paged {
        if name == "Query.needs" {
            continue;
        }
        let takes_before = !["Query.needEvents", "Query.auditEvents"].contains(&name.as_str());
        for cursor in &cursors {
            fields.push(path.replace("{args}", &format!("first: 2, after: \"{cursor}\"")));
            if takes_before {
                fields.push(path.replace("{args}", &format!("last: 2, before: \"{cursor}\"")));
            }
        }
    }
    for (document, body) in send_aliased(&app, &token, &fields).await {
        all_coded(&body, &document);
    }
    // A cursor of another order, or dated outside the years the hub stores, is the caller's error.
    let page = app
        .data_as(&token, "{ needs(orderBy: REACH, first: 1) { pageInfo { endCursor } } }", json!({}))
        .await;
    let reach = page["needs"]["pageInfo"]["endCursor"].as_str().expect("a cursor").to_owned();
    let dated = encode(
        &json!({ "order": "Newest", "key": { "Time": "-262143-01-01T00:00:00Z" }, "id": 1 }).to_string(),
    );
    for (order, cursor) in [("UPDATED", &reach), ("NEWEST", &reach), ("NEWEST", &dated)] {
        let document =
            format!("{{ needs(orderBy: {order}, first: 1, after: \"{cursor}\") {{ nodes {{ id }} }} }}");
        let (_, body) = app.query_as(&token, &document, json!({})).await;
        assert_eq!(crate::helpers::error_codes(&body), ["BAD_USER_INPUT"], "{document}: {body}");
    }
    // The cursors the hub hands out still work, in their own order.
    let next = format!("{{ needs(orderBy: REACH, first: 1, after: \"{reach}\") {{ nodes {{ id }} }} }}");
    app.data_as(&token, &next, json!({})).await;
}

#[both_databases]
async fn extreme_dates_in_every_date_input_are_refused_or_served_never_internal(app: TestApp) {
    let token = populated(&app).await;
    static SCHEMA: OnceLock<valid::Schema> = OnceLock::new();
    let schema = SCHEMA.get_or_init(valid::Schema::load);
    let ids = app.data_as(&token, "{ municipalities(first: 1) { nodes { id } } }", json!({})).await;
    let ids = vec![ids["municipalities"]["nodes"][0]["id"].as_str().expect("an id").to_owned()];
    let inputs = schema.date_inputs();
    let names: Vec<String> = inputs.iter().map(|(root, f)| format!("{root}.{}", f.name.node)).collect();
    for must in [
        "Query.needs",
        "Query.needEvents",
        "Query.auditEvents",
        "Query.needStats",
        "Mutation.createToken",
        "Mutation.openRound",
        "Mutation.addMilestone",
        "Mutation.createCommission",
    ] {
        assert!(names.iter().any(|n| n == must), "{must} takes a date: {names:?}");
    }
    for (root, field) in &inputs {
        for date in IN_RANGE_DATES.iter().chain(OUT_OF_RANGE_DATES) {
            let arguments: Vec<String> = field
                .arguments
                .iter()
                .map(|a| &a.node)
                .filter(|a| !a.ty.node.nullable || schema.holds_date(&a.ty.node, 0))
                .map(|a| format!("{}: {}", a.name.node, schema.value_with_date(&a.ty.node, date, &ids, 0)))
                .collect();
            let selection =
                if schema.is_leaf(&field.ty.node) { String::new() } else { "{ __typename }".to_owned() };
            let keyword = if *root == "Mutation" { "mutation" } else { "query" };
            let document =
                format!("{keyword} {{ {}({}) {selection} }}", field.name.node, arguments.join(", "));
            let (status, body) = app.query_as(&token, &document, json!({})).await;
            assert_ne!(status, 500, "{document}: {body}");
            all_coded(&body, &document);
            if OUT_OF_RANGE_DATES.contains(date) {
                assert_eq!(crate::helpers::error_codes(&body), ["BAD_USER_INPUT"], "{document}: {body}");
            }
        }
    }
}
