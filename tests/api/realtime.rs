//! Subscriptions over WebSocket with the graphql-transport-ws protocol, driven by a real client:
//! who receives what, in order; nothing from rolled-back changes; authentication at
//! `connection_init`; and, on PostgreSQL, a change on one instance reaching another.

use std::time::Duration;

use async_graphql::futures_util::{SinkExt, StreamExt};
use knowledge_hub::config::RoleArg;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

use crate::{
    helpers::{Backend, Cast, TestApp, both_databases, cast, need_input},
    rounds::{accepted_need, all, open_round, score},
};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A graphql-transport-ws client (also used by `persisted`).
pub(crate) struct Client {
    socket: Socket,
}

/// A safety net so a broken test fails instead of hanging; no assertion depends on it.
const PATIENCE: Duration = Duration::from_secs(20);

impl Client {
    /// Connects and sends `connection_init`; returns the client and the server's first answer.
    async fn open(app: &TestApp, token: Option<&str>) -> (Self, Value) {
        let mut request = format!("ws://{}/graphql/ws", app.addr).into_client_request().expect("a request");
        request
            .headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
        // Without Nagle's algorithm: two subscribe messages in a row leave at once, not 40 ms apart.
        let (socket, _) =
            tokio_tungstenite::connect_async_with_config(request, None, true).await.expect("connected");
        let mut client = Self { socket };
        let payload = token.map_or(json!({}), |t| json!({ "Authorization": format!("Bearer {t}") }));
        client.send(json!({ "type": "connection_init", "payload": payload })).await;
        let answer = client.receive().await;
        (client, answer)
    }

    pub(crate) async fn connect(app: &TestApp, token: Option<&str>) -> Self {
        let (client, answer) = Self::open(app, token).await;
        assert_eq!(answer["type"], "connection_ack", "{answer}");
        client
    }

    pub(crate) async fn send(&mut self, message: Value) {
        self.socket.send(Message::text(message.to_string())).await.expect("sent");
    }

    /// The next protocol message (answering pings); a close frame comes back as `{"type":"close"}`.
    pub(crate) async fn receive(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a message in time")
                .map(|m| m.expect("a frame"));
            match message {
                Some(Message::Text(text)) => {
                    let value: Value = serde_json::from_str(&text).expect("JSON");
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return value;
                }
                Some(Message::Close(frame)) => {
                    return json!({ "type": "close", "code": frame.map(|f| u16::from(f.code)) });
                }
                None => return json!({ "type": "close", "code": null }),
                Some(_) => continue,
            }
        }
    }

    async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(
            json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }),
        )
        .await;
    }

    /// Returns once the server has handled every message sent before: it answers in order.
    pub(crate) async fn settle(&mut self) {
        self.send(json!({ "type": "ping" })).await;
        assert_eq!(self.receive().await, json!({ "type": "pong" }));
    }

    /// The data of the next `next` message.
    pub(crate) async fn next_data(&mut self) -> Value {
        let message = self.receive().await;
        assert_eq!(message["type"], "next", "{message}");
        message["payload"]["data"].clone()
    }
}

const NEED_EVENTS: &str = "subscription($f: NeedEventFilter) { needEvents(filter: $f) { kind to reason
    relatedNeed { id } municipality { code } } }";

pub async fn submit(app: &TestApp, token: &str, title: &str, draft: bool) -> Value {
    let theme = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    let mut input = need_input(title, &theme);
    input["draft"] = json!(draft);
    app.data_as(
        token,
        "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } } }",
        json!({ "input": input }),
    )
    .await["submitNeed"]["need"]["id"]
        .clone()
}

/// A prioritised need, through a closed round; returns its id.
pub async fn prioritised(app: &TestApp, c: &Cast, title: &str) -> Value {
    let need = accepted_need(app, &c.bergen, &c.cluster_coordinator, title).await;
    let (opened, _) = open_round(app, &c.coordinator, &[&need], 1).await;
    score(app, &c.cluster_coordinator, "scoreNeed", &opened["round"]["id"], &need, all(4)).await;
    app.data_as(
        &c.coordinator,
        "mutation($r: ID!) { closeRound(input: { round: $r }) { round { status } } }",
        json!({ "r": opened["round"]["id"] }),
    )
    .await;
    need
}

/// Drafts and opens a commission for `need` with `product` (a product type id).
pub async fn open_commission(
    app: &TestApp,
    coordinator: &str,
    need: &Value,
    product: &Value,
    question: &str,
) -> Value {
    let created = app
        .data_as(
            coordinator,
            "mutation($input: CreateCommissionInput!) { createCommission(input: $input) { commission { id } \
             userErrors { code } } }",
            json!({
                "input": {
                    "question": question,
                    "productType": product,
                    "deadline": "2999-01-01T00:00:00Z",
                    "needs": [need],
                },
            }),
        )
        .await;
    let id = created["createCommission"]["commission"]["id"].clone();
    app.data_as(
        coordinator,
        "mutation($c: ID!) { openCommission(input: { commission: $c }) { commission { status } } }",
        json!({ "c": id }),
    )
    .await;
    id
}

/// A round the hub closes at its closing time is announced as one a coordinator closes: the
/// history rows are the outbox.
#[both_databases]
async fn a_round_the_hub_closes_is_announced_like_one_closed_by_hand(app: TestApp) {
    let c = cast(&app).await;
    let a = accepted_need(&app, &c.bergen, &c.cluster_coordinator, "Behov A").await;
    let b = accepted_need(&app, &c.askoy, &c.cluster_coordinator, "Behov B").await;
    let (opened, _) = open_round(&app, &c.coordinator, &[&a, &b], 1).await;
    let round = opened["round"]["id"].clone();
    score(&app, &c.cluster_coordinator, "scoreNeed", &round, &a, all(5)).await;
    let mut dashboard = Client::connect(&app, None).await;
    dashboard.subscribe("1", NEED_EVENTS, json!({})).await;
    dashboard.settle().await;
    crate::round_closing::make_due(&app, &round).await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        let event = dashboard.next_data().await["needEvents"].clone();
        seen.push((event["kind"].clone(), event["to"].clone(), event["reason"].clone()));
    }
    assert_eq!(
        seen,
        [
            (json!("STATUS_CHANGED"), json!("PRIORITISED"), json!("Runde 2027: position 1")),
            (json!("STATUS_CHANGED"), json!("DEFERRED"), json!("Runde 2027: position 2")),
        ]
    );
}

#[both_databases]
async fn dashboards_receive_need_events_they_may_see_in_order(app: TestApp) {
    let c = cast(&app).await;
    let mut public = Client::connect(&app, None).await;
    public.subscribe("1", NEED_EVENTS, json!({})).await;
    let mut bergen = Client::connect(&app, Some(&c.bergen)).await;
    bergen.subscribe("1", NEED_EVENTS, json!({})).await;
    let mut askoy_only = Client::connect(&app, Some(&c.coordinator)).await;
    let askoy = app.data("{ municipality(code: \"4627\") { id } }").await["municipality"]["id"].clone();
    askoy_only.subscribe("1", NEED_EVENTS, json!({ "f": { "municipality": askoy } })).await;

    // A draft is seen only by its municipality; a refused (rolled back) move announces nothing.
    let draft = submit(&app, &c.bergen, "Eit utkast", true).await;
    let (_, refused) = app
        .query_as(
            &c.cluster_coordinator,
            "mutation($n: ID!) { acceptNeed(input: { need: $n, version: 1 }) { userErrors { code } } }",
            json!({ "n": draft }),
        )
        .await;
    assert!(refused.get("errors").is_some() || refused["data"]["acceptNeed"]["userErrors"] != json!([]));
    let need = submit(&app, &c.bergen, "Fallforebygging", false).await;
    app.data_as(
        &c.cluster_coordinator,
        "mutation($n: ID!) { acceptNeed(input: { need: $n, version: 1, \
         reason: \"God\" }) { need { status } } }",
        json!({ "n": need }),
    )
    .await;
    app.data_as(
        &c.askoy,
        "mutation($n: ID!) { cosignNeed(input: { need: $n }) { need { id } } }",
        json!({ "n": need }),
    )
    .await;
    let askoy_need = submit(&app, &c.askoy, "Frå Askøy", false).await;

    assert_eq!(bergen.next_data().await["needEvents"]["to"], "DRAFT", "its own draft");
    for client in [&mut public, &mut bergen] {
        let created = client.next_data().await["needEvents"].clone();
        assert_eq!((created["kind"].as_str(), created["to"].as_str()), (Some("CREATED"), Some("SUBMITTED")));
        let accepted = client.next_data().await["needEvents"].clone();
        assert_eq!(
            accepted,
            json!({
                "kind": "STATUS_CHANGED",
                "to": "ACCEPTED",
                "reason": "God",
                "relatedNeed": null,
                "municipality": null,
            })
        );
        let cosigned = client.next_data().await["needEvents"].clone();
        assert_eq!(
            (cosigned["kind"].as_str(), cosigned["municipality"]["code"].as_str()),
            (Some("COSIGNED"), Some("4627"))
        );
        assert_eq!(client.next_data().await["needEvents"]["kind"], "CREATED");
    }
    // The filtered subscriber gets only Askøy's need.
    let first = askoy_only.next_data().await["needEvents"].clone();
    assert_eq!((first["kind"].as_str(), first["to"].as_str()), (Some("CREATED"), Some("SUBMITTED")));
    let _ = askoy_need;
}

#[both_databases]
async fn institutions_receive_the_commissions_that_open_for_their_filters(app: TestApp) {
    let c = cast(&app).await;
    let hvl = app.token_for("Hans Vestland", RoleArg::InstitutionMember, "hvl").await;
    let products =
        app.data("{ productTypes(first: 2) { nodes { id key } } }").await["productTypes"]["nodes"].clone();
    let subscription = "subscription($f: CommissionOpenedFilter) { commissionOpened(filter: $f) { question \
                        status needs { nodes { title } } } }";
    let mut uib = Client::connect(&app, Some(&c.institution)).await;
    uib.subscribe("a", subscription, json!({ "f": { "productTypes": [products[0]["id"]] } })).await;
    let mut hvl_client = Client::connect(&app, Some(&hvl)).await;
    hvl_client.subscribe("b", subscription, json!({ "f": { "productTypes": [products[1]["id"]] } })).await;
    let mut municipality = Client::connect(&app, Some(&c.bergen)).await;
    municipality.subscribe("c", subscription, json!({})).await;
    let refused = municipality.receive().await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "for institutions and coordinators: {refused}"
    );

    let first = prioritised(&app, &c, "Fallforebygging").await;
    let second = prioritised(&app, &c, "Ernæring").await;
    open_commission(&app, &c.coordinator, &first, &products[0]["id"], "Første oppdrag").await;
    open_commission(&app, &c.coordinator, &second, &products[1]["id"], "Andre oppdrag").await;

    let got = uib.next_data().await["commissionOpened"].clone();
    assert_eq!(
        got,
        json!({
            "question": "Første oppdrag",
            "status": "OPEN",
            "needs": { "nodes": [{ "title": "Fallforebygging" }] },
        })
    );
    let got = hvl_client.next_data().await["commissionOpened"].clone();
    assert_eq!(got["question"], "Andre oppdrag", "the first did not match HVL's filter");
}

#[both_databases]
async fn a_bad_token_at_connection_init_is_refused(app: TestApp) {
    let (_, answer) = Client::open(&app, Some("khub_not-a-real-token")).await;
    assert_eq!(answer, json!({ "type": "close", "code": 4403 }));
}

/// A token revoked while its socket is open closes the socket at the next keep-alive check
/// (every second in the tests), so nobody keeps receiving what they may no longer see.
#[both_databases]
async fn a_token_revoked_while_connected_closes_the_socket(app: TestApp) {
    let token = app.token_for("Rita Revokert", RoleArg::UnitMember, "4601").await;
    let mut client = Client::connect(&app, Some(&token)).await;
    client.subscribe("1", NEED_EVENTS, json!({})).await;
    let mine = app.data_as(&token, "{ viewer { tokens { nodes { id } } } }", json!({})).await;
    app.data_as(
        &token,
        "mutation($t: ID!) { revokeToken(input: { token: $t }) { token { active } } }",
        json!({ "t": mine["viewer"]["tokens"]["nodes"][0]["id"] }),
    )
    .await;
    assert_eq!(client.receive().await, json!({ "type": "close", "code": 4403 }));
}

#[both_databases]
async fn protocol_mistakes_close_with_their_codes(app: TestApp) {
    // `subscribe` before `connection_init`: 4401.
    let mut request = format!("ws://{}/graphql/ws", app.addr).into_client_request().expect("a request");
    request.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (socket, _) = tokio_tungstenite::connect_async(request.clone()).await.expect("connected");
    let mut early = Client { socket };
    early.subscribe("1", NEED_EVENTS, json!({})).await;
    assert_eq!(early.receive().await, json!({ "type": "close", "code": 4401 }));
    // A message that is not graphql-transport-ws: 4400.
    let mut confused = Client::connect(&app, None).await;
    confused.send(json!({ "type": "no-such-message" })).await;
    assert_eq!(confused.receive().await, json!({ "type": "close", "code": 4400 }));
    // A second `connection_init`: 4429.
    let mut twice = Client::connect(&app, None).await;
    twice.send(json!({ "type": "connection_init", "payload": {} })).await;
    assert_eq!(twice.receive().await, json!({ "type": "close", "code": 4429 }));
}

#[both_databases]
async fn only_allowed_origins_open_the_websocket(app: TestApp) {
    let handshake = |origin: Option<&'static str>| {
        let addr = app.addr;
        async move {
            let mut request = format!("ws://{addr}/graphql/ws").into_client_request().expect("a request");
            request
                .headers_mut()
                .insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
            if let Some(origin) = origin {
                request.headers_mut().insert("origin", HeaderValue::from_static(origin));
            }
            tokio_tungstenite::connect_async(request).await.map(|_| ()).map_err(|e| e.to_string())
        }
    };
    let err = handshake(Some("https://evil.example")).await.expect_err("refused");
    assert!(err.contains("403"), "{err}");
    assert!(handshake(Some("https://dashboard.example.no")).await.is_ok(), "a configured origin");
    let own: &'static str = Box::leak(format!("http://{}", app.addr).into_boxed_str());
    assert!(handshake(Some(own)).await.is_ok(), "the hub's own playground");
    assert!(handshake(None).await.is_ok(), "clients that are not browsers");
}

/// The npm `graphql-ws` client (pinned in playground/package-lock.json, installed by the build)
/// subscribes and receives an event, so the hub speaks the protocol as browsers and Node do.
#[both_databases]
async fn the_npm_graphql_ws_client_receives_events(app: TestApp) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let c = cast(&app).await;
    let playground = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("playground");
    let mut node = tokio::process::Command::new("node")
        .current_dir(&playground)
        .args(["interop/subscribe.mjs", &format!("ws://{}/graphql/ws", app.addr), "1", c.bergen.as_str()])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (installed with the build's npm)");
    let mut lines = BufReader::new(node.stdout.take().expect("stdout")).lines();
    let connected =
        tokio::time::timeout(PATIENCE, lines.next_line()).await.expect("in time").expect("a line");
    assert_eq!(connected.as_deref(), Some("{\"connected\":true}"));
    // The subscription is registered just after the connection; submit until an event arrives
    // (a bounded number of times), so nothing depends on timing.
    let mut received = None;
    for attempt in 0..50 {
        submit(&app, &c.bergen, &format!("Interop {attempt}"), false).await;
        if let Ok(line) = tokio::time::timeout(Duration::from_millis(200), lines.next_line()).await {
            received = line.expect("a line");
            break;
        }
    }
    let event: Value = serde_json::from_str(&received.expect("an event")).expect("JSON");
    assert_eq!(event["data"]["needEvents"]["kind"], "CREATED", "{event}");
    let status = tokio::time::timeout(PATIENCE, node.wait()).await.expect("node exits").expect("status");
    assert!(status.success());
}

#[both_databases]
async fn sockets_close_with_clear_codes(app: TestApp) {
    // No `connection_init` in time (the tests allow 1 second): 4408.
    let mut request = format!("ws://{}/graphql/ws", app.addr).into_client_request().expect("a request");
    request.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("connected");
    let mut silent = Client { socket };
    assert_eq!(silent.receive().await, json!({ "type": "close", "code": 4408 }));

    // More than 50 subscriptions on one connection: 4429.
    let mut greedy = Client::connect(&app, None).await;
    for n in 0..=50 {
        greedy.subscribe(&n.to_string(), NEED_EVENTS, json!({})).await;
    }
    assert_eq!(greedy.receive().await, json!({ "type": "close", "code": 4429 }));
}

#[tokio::test]
async fn the_server_pings_open_sockets() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut client = Client::connect(&app, None).await;
    // The tests ping every second; wait for one ping frame (the client library answers it).
    loop {
        let frame = tokio::time::timeout(PATIENCE, client.socket.next()).await.expect("a frame in time");
        if matches!(frame, Some(Ok(Message::Ping(_)))) {
            break;
        }
    }
}

#[tokio::test]
async fn open_sockets_close_with_going_away_on_shutdown() {
    let mut app = TestApp::spawn(Backend::Sqlite).await;
    let mut client = Client::connect(&app, None).await;
    client.subscribe("1", NEED_EVENTS, json!({})).await;
    app.shut_down();
    assert_eq!(client.receive().await, json!({ "type": "close", "code": 1001 }));
}

#[tokio::test]
async fn a_change_on_one_instance_reaches_a_subscriber_on_another_postgres() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = a.another_instance().await;
    let c = cast(&a).await;
    let mut on_b = Client::connect(&b, None).await;
    on_b.subscribe("1", NEED_EVENTS, json!({})).await;
    submit(&a, &c.bergen, "Skrive på A, lese på B", false).await;
    let event = on_b.next_data().await["needEvents"].clone();
    assert_eq!((event["kind"].as_str(), event["to"].as_str()), (Some("CREATED"), Some("SUBMITTED")));
}

/// After a reconnect, the `needEvents` query returns exactly what the subscriber missed, in
/// order, with the same filters and visibility as the subscription.
#[both_databases]
async fn a_reconnecting_dashboard_catches_up_from_its_last_cursor(app: TestApp) {
    let c = cast(&app).await;
    let mut client = Client::connect(&app, None).await;
    client.subscribe("1", "subscription { needEvents { kind cursor need { title } } }", json!({})).await;
    let need = submit(&app, &c.bergen, "Fallforebygging", false).await;
    let seen = client.next_data().await["needEvents"].clone();
    assert_eq!(
        (seen["kind"].as_str(), seen["need"]["title"].as_str()),
        (Some("CREATED"), Some("Fallforebygging"))
    );
    drop(client);

    // Missed while away: an acceptance, a co-signature, a draft (not for the public) and a need from Askøy.
    app.data_as(
        &c.cluster_coordinator,
        "mutation($n: ID!) { acceptNeed(input: { need: $n, version: 1 }) { need { status } } }",
        json!({ "n": need }),
    )
    .await;
    app.data_as(
        &c.askoy,
        "mutation($n: ID!) { cosignNeed(input: { need: $n }) { need { id } } }",
        json!({ "n": need }),
    )
    .await;
    submit(&app, &c.bergen, "Eit utkast", true).await;
    submit(&app, &c.askoy, "Frå Askøy", false).await;

    let catch_up = "query($after: String, $first: Int, $f: NeedEventFilter, $since: DateTime) {
            needEvents(after: $after, first: $first, filter: $f, since: $since) {
                edges { cursor node { kind cursor need { title } } } pageInfo { hasNextPage endCursor } } }";
    let page = app
        .data_as(
            &c.stavanger,
            catch_up,
            json!({ "after": seen["cursor"], "first": 2 }),
        )
        .await["needEvents"]
        .clone();
    let kinds: Vec<_> = page["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| (e["node"]["kind"].clone(), e["node"]["need"]["title"].clone()))
        .collect();
    assert_eq!(
        kinds,
        [(json!("STATUS_CHANGED"), json!("Fallforebygging")), (json!("COSIGNED"), json!("Fallforebygging"))]
    );
    assert_eq!(page["edges"][1]["cursor"], page["edges"][1]["node"]["cursor"], "one cursor for both");
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let rest = app
        .data_as(&c.stavanger, catch_up, json!({ "after": page["pageInfo"]["endCursor"], "first": 10 }))
        .await["needEvents"]
        .clone();
    assert_eq!(rest["edges"].as_array().map(Vec::len), Some(1), "the draft is not for Stavanger: {rest}");
    assert_eq!(rest["edges"][0]["node"]["need"]["title"], "Frå Askøy");
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);

    // The draft's municipality sees it; the filters are the subscription's.
    let own =
        app.data_as(&c.bergen, catch_up, json!({ "after": seen["cursor"] })).await["needEvents"]["edges"]
            .clone();
    assert_eq!(own.as_array().map(Vec::len), Some(4));
    let askoy = app.data("{ municipality(code: \"4627\") { id } }").await["municipality"]["id"].clone();
    let filtered = app
        .data_as(
            &c.bergen,
            catch_up,
            json!({ "f": { "municipality": askoy } }),
        )
        .await["needEvents"]["edges"]
        .clone();
    assert_eq!(filtered.as_array().map(Vec::len), Some(1));
    let later = app
        .data_as(
            &c.bergen,
            catch_up,
            json!({ "since": "2999-01-01T00:00:00Z" }),
        )
        .await["needEvents"]["edges"]
        .clone();
    assert_eq!(later, json!([]));

    for (variables, what) in
        [(json!({ "after": "not-a-cursor" }), "a bad cursor"), (json!({ "first": 501 }), "a page too big")]
    {
        let (_, body) = app.query_as(&c.bergen, catch_up, variables).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{what}: {body}");
    }
}

#[both_databases]
async fn the_parties_of_a_commission_follow_its_updates(app: TestApp) {
    let c = cast(&app).await;
    let product =
        app.data("{ productTypes(first: 1) { nodes { id } } }").await["productTypes"]["nodes"][0]["id"]
            .clone();
    let need = prioritised(&app, &c, "Fallforebygging").await;
    let id = open_commission(&app, &c.coordinator, &need, &product, "Kva verkar?").await;
    let subscription = "subscription($id: ID!) { commissionUpdated(id: $id) { question status } }";
    let mut coordinator = Client::connect(&app, Some(&c.coordinator)).await;
    coordinator.subscribe("1", subscription, json!({ "id": id })).await;
    let mut uib = Client::connect(&app, Some(&c.institution)).await;
    uib.subscribe("1", subscription, json!({ "id": id })).await;
    // An open commission is not public: the public cannot follow it.
    let mut public = Client::connect(&app, None).await;
    public.subscribe("1", subscription, json!({ "id": id })).await;
    let refused = public.receive().await;
    assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND", "{refused}");

    // Another commission's changes do not reach them.
    let other = prioritised(&app, &c, "Ernæring").await;
    open_commission(&app, &c.coordinator, &other, &product, "Noko anna").await;
    // Three moves in a row, without waiting for their updates: each update carries the
    // status its move left, in order, even when the relay reads them after the last move.
    let uib_id = app.data("{ institutions(first: 100) { nodes { id key } } }").await["institutions"]["nodes"]
        .as_array()
        .and_then(|l| l.iter().find(|i| i["key"] == "uib").cloned())
        .expect("uib")["id"]
        .clone();
    let moves = [
        (
            "mutation($c: ID!) { expressInterest(input: { commission: $c, proposal: \"Vi kan\" }) { \
             interest { proposal } } }",
            &c.institution,
        ),
        (
            "mutation($c: ID!, $i: ID!) { awardCommission(input: { commission: $c, institution: $i }) { \
             commission { status } } }",
            &c.coordinator,
        ),
        (
            "mutation($c: ID!) { reportProgress(input: { commission: $c, note: \"Søk ferdig\" }) { \
             commission { status } } }",
            &c.institution,
        ),
    ];
    for (mutation, token) in moves {
        app.data_as(token, mutation, json!({ "c": id, "i": uib_id })).await;
    }
    for (who, client) in [("coordinator", &mut coordinator), ("uib", &mut uib)] {
        let mut seen = Vec::new();
        while seen.last() != Some(&json!("IN_PROGRESS")) {
            let update = client.next_data().await["commissionUpdated"].clone();
            assert_eq!(update["question"], "Kva verkar?", "{who}: {update}");
            seen.push(update["status"].clone());
        }
        // The moves before the subscriptions (the draft, the opening) may still be on their
        // way through the relay when they start: they come first, in order, if at all.
        assert!(seen.len() >= 3, "{who}: {seen:?}");
        let (earlier, moves) = seen.split_at(seen.len() - 3);
        assert!([json!("DRAFT"), json!("OPEN")].ends_with(earlier), "{who}: {seen:?}");
        assert_eq!(moves, ["OPEN", "AWARDED", "IN_PROGRESS"], "{who}: interest, award, progress");
    }
}

/// A client that stops reading is dropped with 1013 once a message waits longer than the send
/// timeout (1 second in the tests), and the close frame reaches it after what was already sent;
/// a client sharing its execution goes on.
#[tokio::test]
async fn a_slow_consumer_is_dropped_with_a_clear_code() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = cast(&app).await;
    let background = "x".repeat(10_000);
    let themes = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    let need = app
        .data_as(
            &c.bergen,
            "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } userErrors { field \
             message } } }",
            json!({
                "input": {
                    "title": "Ein stor bakgrunn",
                    "question": "Eit spørsmål som er langt nok?",
                    "background": background,
                    "intendedUse": "u",
                    "targetGroup": "t",
                    "themes": [themes],
                },
            }),
        )
        .await["submitNeed"]
        .clone();
    assert_eq!(need["userErrors"], json!([]));
    let need = need["need"]["id"].clone();
    // Each event carries 600 KB (60 copies of the background), so unread events fill the
    // socket's buffers after a few megabytes.
    let copies: String = (0..60).map(|i| format!("b{i}: need {{ background }} ")).collect();
    // Both subscribe with the same document, so they share one execution: the slow one must
    // not hold it back.
    let document = format!("subscription {{ needEvents {{ kind {copies} }} }}");
    let mut slow = Client::connect(&app, None).await;
    slow.subscribe("1", &document, json!({})).await;
    let mut fast = Client::connect(&app, None).await;
    fast.subscribe("1", &document, json!({})).await;
    assert_eq!(executions_reach(&app, 1).await, 1);
    for round in 0..15 {
        for mutation in ["cosignNeed", "withdrawCosignature"] {
            app.data_as(
                &c.askoy,
                &format!("mutation($n: ID!) {{ {mutation}(input: {{ need: $n }}) {{ need {{ id }} }} }}"),
                json!({ "n": need }),
            )
            .await;
            let mut kind = fast.next_data().await["needEvents"]["kind"].clone();
            if kind == "CREATED" {
                // The need's creation, if the relay announced it after the subscription began.
                kind = fast.next_data().await["needEvents"]["kind"].clone();
            }
            assert!(kind == "COSIGNED" || kind == "COSIGNATURE_WITHDRAWN", "round {round}: {kind}");
        }
    }
    // Past the send timeout, read what was sent: data, then the close frame.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut received = 0;
    loop {
        let message = slow.receive().await;
        if message["type"] == "close" {
            assert_eq!(message, json!({ "type": "close", "code": 1013 }), "after {received} events");
            break;
        }
        received += 1;
    }
    assert!(received < 30, "the slow consumer was dropped before receiving everything ({received})");
    // The fast subscriber was not slowed down and is still connected.
    app.data_as(
        &c.askoy,
        "mutation($n: ID!) { cosignNeed(input: { need: $n }) { need { id } } }",
        json!({ "n": need }),
    )
    .await;
    assert_eq!(fast.next_data().await["needEvents"]["kind"], "COSIGNED");
}

/// The number of shared subscription executions, from `/metrics`, once it reaches `expected`
/// (subscribing and leaving take effect a moment after the message is sent; `PATIENCE` bounds
/// the wait, and the assertion is on the count).
async fn executions_reach(app: &TestApp, expected: i64) -> i64 {
    let mut seen = -1;
    for _ in 0..200 {
        let text =
            app.client.get(app.url("/metrics")).send().await.expect("sent").text().await.expect("text");
        seen = text
            .lines()
            .find_map(|line| line.strip_prefix("hub_subscription_executions ")?.trim().parse().ok())
            .expect("hub_subscription_executions in /metrics");
        if seen == expected {
            break;
        }
        tokio::time::sleep(PATIENCE / 200).await;
    }
    seen
}

/// Subscriptions with the same document, variables and viewer share one execution, and each
/// still receives its events under its own id; a different viewer (the token is part of
/// what must be equal) or a different document gets an execution of its own. The last
/// subscriber out stops the execution.
#[both_databases]
async fn identical_subscriptions_share_one_execution(app: TestApp) {
    let c = cast(&app).await;
    let mut first = Client::connect(&app, None).await;
    first.subscribe("a", NEED_EVENTS, json!({})).await;
    first.subscribe("b", NEED_EVENTS, json!({})).await;
    let mut second = Client::connect(&app, None).await;
    second.subscribe("mine", NEED_EVENTS, json!({})).await;
    let mut narrow = Client::connect(&app, None).await;
    narrow.subscribe("1", "subscription { needEvents { kind } }", json!({})).await;
    let mut member = Client::connect(&app, Some(&c.bergen)).await;
    member.subscribe("a", NEED_EVENTS, json!({})).await;
    for client in [&mut first, &mut second, &mut narrow, &mut member] {
        client.settle().await;
    }
    assert_eq!(executions_reach(&app, 3).await, 3, "public NEED_EVENTS, public narrow, Bergen's NEED_EVENTS");

    submit(&app, &c.bergen, "Delt straum", false).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let message = first.receive().await;
        assert_eq!(message["payload"]["data"]["needEvents"]["kind"], "CREATED", "{message}");
        ids.push(message["id"].as_str().expect("an id").to_owned());
    }
    ids.sort();
    assert_eq!(ids, ["a", "b"], "each subscription of the connection, under its own id");
    let message = second.receive().await;
    assert_eq!((message["type"].as_str(), message["id"].as_str()), (Some("next"), Some("mine")), "{message}");
    assert_eq!(narrow.next_data().await, json!({ "needEvents": { "kind": "CREATED" } }));
    assert_eq!(member.next_data().await["needEvents"]["kind"], "CREATED");

    // One subscriber leaving does not end the execution for the others.
    first.send(json!({ "type": "complete", "id": "a" })).await;
    drop(second);
    submit(&app, &c.bergen, "Framleis delt", false).await;
    let message = first.receive().await;
    assert_eq!(
        (message["id"].as_str(), message["payload"]["data"]["needEvents"]["kind"].as_str()),
        (Some("b"), Some("CREATED")),
        "{message}"
    );
    drop(first);
    assert_eq!(executions_reach(&app, 2).await, 2, "the last public NEED_EVENTS subscriber left");
    drop((narrow, member));
    assert_eq!(executions_reach(&app, 0).await, 0);
}

/// A query sent over the socket runs on its own and completes, after which its id may be
/// used again; an id still subscribed may not (4409); an offer without graphql-transport-ws
/// is refused before the upgrade.
#[both_databases]
async fn single_answers_complete_and_ids_are_unique(app: TestApp) {
    let mut client = Client::connect(&app, None).await;
    for _ in 0..2 {
        client.subscribe("q", "{ regions { totalCount } }", json!({})).await;
        let answer = client.receive().await;
        assert_eq!(answer["id"], "q", "{answer}");
        assert!(answer["payload"]["data"]["regions"]["totalCount"].as_i64() > Some(0), "{answer}");
        assert_eq!(client.receive().await, json!({ "type": "complete", "id": "q" }));
    }
    assert_eq!(executions_reach(&app, 0).await, 0, "queries are not shared");
    client.subscribe("s", NEED_EVENTS, json!({})).await;
    client.subscribe("s", NEED_EVENTS, json!({})).await;
    assert_eq!(client.receive().await, json!({ "type": "close", "code": 4409 }));

    let mut request = format!("ws://{}/graphql/ws", app.addr).into_client_request().expect("a request");
    request.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("graphql-ws"));
    let refused = tokio_tungstenite::connect_async(request).await.map(|_| ()).expect_err("refused");
    assert!(refused.to_string().contains("400"), "{refused}");
}

/// Operations over the socket pay from the caller's budget as over HTTP: a query its cost, a
/// subscription that joins a running execution 1 point. A spent budget answers RATE_LIMITED,
/// also to a subscription that would have joined.
#[tokio::test]
async fn operations_over_the_socket_pay_from_the_same_budget() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = TestApp::spawn_with(backend, |settings| settings.public_rate_limit = 10).await;
        let mut first = Client::connect(&app, None).await;
        first.subscribe("s", NEED_EVENTS, json!({})).await;
        first.settle().await;
        let mut second = Client::connect(&app, None).await;
        second.subscribe("s", NEED_EVENTS, json!({})).await;
        second.settle().await;
        assert_eq!(executions_reach(&app, 1).await, 1, "the second joined the first");
        let mut spent = 0;
        let refused = loop {
            second.subscribe("q", "{ regions { totalCount } }", json!({})).await;
            let answer = second.receive().await;
            assert_eq!(second.receive().await, json!({ "type": "complete", "id": "q" }));
            if answer["payload"]["errors"].is_array() {
                break answer;
            }
            spent += 1;
            assert!(spent < 10, "a budget of 10 points with 2 spent on subscriptions: {answer}");
        };
        assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{refused}");
        assert!(spent >= 6, "the subscriptions cost a few points, the queries the rest: {spent}");
        let mut third = Client::connect(&app, None).await;
        third.subscribe("s", NEED_EVENTS, json!({})).await;
        let refused = third.receive().await;
        assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{refused}");
        assert_eq!(executions_reach(&app, 1).await, 1, "the refused one did not start another");
        // A token holder pays from the token's budget.
        let c = cast(&app).await;
        let mut member = Client::connect(&app, Some(&c.bergen)).await;
        member.subscribe("q", "{ regions { totalCount } }", json!({})).await;
        assert!(member.next_data().await["regions"]["totalCount"].as_i64() > Some(0));
    }
}

/// Over the socket as over HTTP, a response above the ceiling is replaced by RESPONSE_TOO_LARGE.
#[tokio::test]
async fn a_response_above_the_ceiling_is_not_sent_over_the_socket_either() {
    let app = TestApp::spawn_with(Backend::Sqlite, |settings| settings.max_response_bytes = 2_048).await;
    let mut client = Client::connect(&app, None).await;
    client.subscribe("small", "{ regions { totalCount } }", json!({})).await;
    assert!(client.next_data().await["regions"]["totalCount"].as_i64() > Some(0));
    assert_eq!(client.receive().await, json!({ "type": "complete", "id": "small" }));
    client.subscribe("big", "{ municipalities(first: 100) { nodes { id name code } } }", json!({})).await;
    let answer = client.receive().await;
    assert_eq!(answer["payload"]["errors"][0]["extensions"]["code"], "RESPONSE_TOO_LARGE", "{answer}");
    assert!(answer["payload"]["data"].is_null());
    assert!(answer.to_string().len() < 2_048);
}

/// The public's refusals over the socket reach the operators' log with the client's address.
#[tokio::test]
async fn the_publics_refusals_over_the_socket_name_their_address() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut client = Client::connect(&app, None).await;
    client.subscribe("q", "{ people { totalCount } }", json!({})).await;
    let answer = client.receive().await;
    assert_eq!(answer["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{answer}");
    let log = knowledge_hub::bootstrap::operators_log(app.db(), 10).await.expect("the operators' log");
    let event: Value = serde_json::from_str(log.first().expect("an event")).expect("JSON");
    assert_eq!(event["action"], "query.people");
    assert_eq!(event["detail"]["address"], "127.0.0.1", "{event}");
}

/// Opens a socket and sends `connection_init` with exactly this payload (none when `None`);
/// returns the client and the answer, a close frame as `{"type":"close","code":..,"reason":..}`.
async fn init_with(app: &TestApp, payload: Option<Value>) -> (Client, Value) {
    let mut request = format!("ws://{}/graphql/ws", app.addr).into_client_request().expect("a request");
    request.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("connected");
    let mut client = Client { socket };
    let mut init = json!({ "type": "connection_init" });
    if let Some(payload) = payload {
        init["payload"] = payload;
    }
    client.send(init).await;
    let answer = match tokio::time::timeout(PATIENCE, client.socket.next()).await.expect("an answer in time")
    {
        Some(Ok(Message::Text(text))) => serde_json::from_str(&text).expect("JSON"),
        Some(Ok(Message::Close(frame))) => json!({
            "type": "close",
            "code": frame.as_ref().map(|f| u16::from(f.code)),
            "reason": frame.map(|f| f.reason.to_string()),
        }),
        other => panic!("unexpected {other:?}"),
    };
    (client, answer)
}

/// The token goes in `connection_init` as `{"Authorization": "Bearer <token>"}` (the key in any
/// case); a payload without a credential is the public; a credential anywhere else, or not in
/// the Bearer form, closes the socket with 4400 and a reason that says where the token goes.
#[both_databases]
async fn the_connection_init_payload_carries_the_token_only_as_authorization(app: TestApp) {
    let token = app.token_for("Paula Payload", RoleArg::UnitMember, "4601").await;
    let bearer = format!("Bearer {token}");
    let viewer = "{ viewer { person { name } } }";
    for payload in [
        None,
        Some(json!(null)),
        Some(json!({})),
        Some(json!({
            "Content-Type": "application/json",
            "X-Request-Id": "abc",
            "author": "Kari",
            "sessionName": "dashboard",
        })),
    ] {
        let (mut client, answer) = init_with(&app, payload.clone()).await;
        assert_eq!(answer["type"], "connection_ack", "{payload:?}: {answer}");
        client.subscribe("1", viewer, json!({})).await;
        assert_eq!(client.next_data().await["viewer"]["person"], Value::Null, "{payload:?} is the public");
    }
    for payload in [
        json!({ "Authorization": bearer }),
        json!({ "authorization": bearer }),
        json!({ "AUTHORIZATION": bearer }),
        json!({ "Authorization": format!("bearer {token}") }),
        json!({ "Authorization": bearer, "Content-Type": "application/json" }),
    ] {
        let (mut client, answer) = init_with(&app, Some(payload.clone())).await;
        assert_eq!(answer["type"], "connection_ack", "{payload}: {answer}");
        client.subscribe("1", viewer, json!({})).await;
        assert_eq!(client.next_data().await["viewer"]["person"]["name"], "Paula Payload", "{payload}");
    }
    for payload in [
        json!({ "token": token }),
        json!({ "authToken": token }),
        json!({ "auth_token": bearer }),
        json!({ "access_token": token }),
        json!({ "apiKey": token }),
        json!({ "auth": token }),
        json!({ "sessionToken": token }),
        json!({ "headers": { "Authorization": bearer } }),
        json!({ "connectionParams": { "authToken": token } }),
        json!({ "x": bearer }),
        json!({ "x": [token] }),
        json!({ "Authorization": token }),
        json!({ "Authorization": { "token": token } }),
        json!({ "Authorization": bearer, "authorization": bearer }),
        json!(bearer),
        json!([bearer]),
    ] {
        let (_, answer) = init_with(&app, Some(payload.clone())).await;
        assert_eq!(answer["code"], 4400, "{payload}: {answer}");
        let reason = answer["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("Authorization") && reason.contains("Bearer <token>"), "{payload}: {reason}");
    }
}

#[both_databases]
async fn an_oslo_district_dashboard_receives_its_districts_events_only(app: TestApp) {
    const EVENTS: &str =
        "subscription($f: NeedEventFilter) { needEvents(filter: $f) { kind need { title } } }";
    let alna = app.token_for("Amina Farah", RoleArg::UnitMember, "030112").await;
    let district = app.token_for("Jonas Lie", RoleArg::UnitMember, "030115").await;
    let bergen = app.token_for("Ingrid Berg", RoleArg::UnitMember, "4601").await;
    let mut alna_board = Client::connect(&app, None).await;
    alna_board.subscribe("1", EVENTS, json!({ "f": { "organisation": "030112" } })).await;
    let mut programme_board = Client::connect(&app, None).await;
    programme_board.subscribe("1", EVENTS, json!({ "f": { "partnership": "omradesatsingene" } })).await;
    let mut oslo_board = Client::connect(&app, None).await;
    oslo_board.subscribe("1", EVENTS, json!({ "f": { "organisation": "0301" } })).await;
    for board in [&mut alna_board, &mut programme_board, &mut oslo_board] {
        board.settle().await;
    }

    let theme = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    let raise = |title: &str, partnership: Option<&str>| {
        let mut input = need_input(title, &theme);
        if let Some(key) = partnership {
            input["partnership"] = json!(key);
        }
        json!({ "input": input })
    };
    const SUBMIT: &str =
        "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { userErrors { code } } }";
    for (token, title, partnership) in [
        (&bergen, "Frå Bergen", None),
        (&district, "Frå Søndre Nordstrand", Some("omradesatsingene")),
        (&district, "Til Universitetskommunen", Some("universitetskommunen-oslo")),
        (&alna, "Frå Alna", None),
    ] {
        let submitted = app.data_as(token, SUBMIT, raise(title, partnership)).await;
        assert_eq!(submitted["submitNeed"]["userErrors"], json!([]), "{submitted}");
    }
    let title = |data: Value| data["needEvents"]["need"]["title"].as_str().map(str::to_owned);
    assert_eq!(title(alna_board.next_data().await).as_deref(), Some("Frå Alna"), "only Alna's");
    assert_eq!(title(programme_board.next_data().await).as_deref(), Some("Frå Søndre Nordstrand"));
    assert_eq!(title(programme_board.next_data().await).as_deref(), Some("Frå Alna"), "not the other pool's");
    for expected in ["Frå Søndre Nordstrand", "Til Universitetskommunen", "Frå Alna"] {
        assert_eq!(
            title(oslo_board.next_data().await).as_deref(),
            Some(expected),
            "Oslo sees its districts'"
        );
    }
}
