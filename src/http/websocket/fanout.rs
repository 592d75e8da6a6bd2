//! Shared subscription registry. Subscriptions with the same document, operation, variables and
//! viewer receive the same events, so they share one execution: each of its responses is
//! resolved and serialised once, then written to the queue of every subscriber, with the
//! subscriber's own id. An idle subscription costs an entry here and a handle to its
//! connection's queue, not an execution of its own; an event costs one resolution per distinct
//! subscription, not one per subscriber.
//!
//! The viewer is part of what must be equal (the token, the person and every membership), so a
//! shared execution never shows anyone more than their own would. The execution runs with the
//! request id of the connection that started it, which the audit log records.
//!
//! Operations that are not subscriptions (a query or a mutation sent over the socket) run on
//! their own: they are executed once per request, as over HTTP.
//!
//! Every operation pays from its caller's rate-limit budget: one that starts an execution pays
//! its cost once validated, as over HTTP; one that joins a running execution pays the base cost
//! (1 point), and when even that is spent it runs on its own, to be refused with RATE_LIMITED.
//!
//! A subscriber whose queue is full is a slow consumer: its connection is closed (1013) and the
//! others go on. If the execution itself falls behind the broadcast of changes, every subscriber
//! is closed the same way, to reconnect and catch up with `needEvents(after:)`.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
};

use async_graphql::{
    Request,
    futures_util::{Stream, StreamExt},
};
use axum::extract::ws::Message;
use futures_channel::mpsc::Sender;
use tokio::{sync::watch, task::AbortHandle};

use super::{Close, SLOW_CONSUMER, close_with};
use crate::{
    auth::{Identity, Viewer},
    graphql::{
        audit::{ClientAddress, RequestId},
        limits::is_subscription,
        subscriptions::OnLag,
    },
    http::AppState,
    rate_limit::{self, Payment},
};

/// One subscription of one connection, as its execution sees it.
pub struct Member {
    /// The subscription's id as a JSON string (quoted and escaped), ready to write.
    id: Box<str>,
    /// The connection's outgoing queue.
    outbox: Sender<Message>,
    /// Closes the connection.
    stop: watch::Sender<Option<Close>>,
}

impl Member {
    pub fn new(id: &str, outbox: Sender<Message>, stop: watch::Sender<Option<Close>>) -> Self {
        let id = serde_json::to_string(id).unwrap_or_else(|_| "\"\"".to_owned()).into_boxed_str();
        Self { id, outbox, stop }
    }

    /// Queues a message; a full queue makes the connection a slow consumer.
    fn send(&mut self, text: String) {
        if let Err(error) = self.outbox.try_send(Message::Text(text.into()))
            && error.is_full()
        {
            close_with(&self.stop, SLOW_CONSUMER);
        }
    }

    fn next(&mut self, payload: &str) {
        let mut text = String::with_capacity(payload.len() + self.id.len() + 32);
        text.push_str(r#"{"type":"next","id":"#);
        text.push_str(&self.id);
        text.push_str(r#","payload":"#);
        text.push_str(payload);
        text.push('}');
        self.send(text);
    }

    fn complete(&mut self) {
        self.send(format!(r#"{{"type":"complete","id":{}}}"#, self.id));
    }

    /// Answers an operation refused before it ran (a document not found or not trusted) as an
    /// execution's errors are answered: `next` with the errors, then `complete`.
    pub fn refuse(mut self, error: async_graphql::ServerError) {
        let response = async_graphql::Response::from_errors(vec![error]);
        let payload = serde_json::to_string(&response).unwrap_or_else(|_| r#"{"errors":[]}"#.to_owned());
        self.next(&payload);
        self.complete();
    }
}

/// What makes two subscriptions receive the same messages.
#[derive(PartialEq, Eq, Hash)]
struct Key {
    query: String,
    operation_name: Option<String>,
    variables: String,
    viewer: Option<Identity>,
}

/// One execution and the subscriptions that receive it.
struct Execution {
    /// Where it is registered (`None` for an operation that runs on its own).
    key: Option<Arc<Key>>,
    subscribers: Mutex<Subscribers>,
    /// Set when the execution fell behind the broadcast of changes.
    lagged: AtomicBool,
}

#[derive(Default)]
struct Subscribers {
    members: HashMap<u64, Member>,
    next: u64,
    /// The execution has ended: nobody joins it any more.
    ended: bool,
    task: Option<AbortHandle>,
}

impl Subscribers {
    fn add(&mut self, member: Member) -> u64 {
        let number = self.next;
        self.next += 1;
        self.members.insert(number, member);
        number
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The shared executions, by what they receive.
type Registry = HashMap<Arc<Key>, Arc<Execution>>;

/// The shared executions of the process.
#[derive(Default)]
pub struct Fanout {
    executions: Mutex<Registry>,
}

/// A connection's hold on its subscription; dropping it ends the subscription (and the
/// execution, when it was the last subscriber).
pub struct Subscription {
    fanout: Arc<Fanout>,
    execution: Arc<Execution>,
    member: u64,
}

impl Subscription {
    /// Whether the execution still runs for this subscription (a completed one is forgotten).
    pub fn is_active(&self) -> bool {
        let subscribers = lock(&self.execution.subscribers);
        !subscribers.ended && subscribers.members.contains_key(&self.member)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.fanout.leave(&self.execution, self.member);
    }
}

/// Who asks, for a new execution: the state to run it with, the viewer and the request id.
pub struct Asker<'a> {
    pub state: &'a AppState,
    pub viewer: &'a Viewer,
    pub request_id: &'a RequestId,
    /// The client's address, for the audit log of the public's refusals (a shared execution
    /// keeps the first subscriber's).
    pub address: Option<std::net::IpAddr>,
    /// What the operation pays with (`None` when the caller is unknown, as over HTTP).
    pub payment: Option<Arc<Payment>>,
}

impl Fanout {
    /// How many shared executions run (operations that run on their own are not counted).
    pub fn executions(&self) -> usize {
        lock(&self.executions).len()
    }

    /// Subscribes `member` to the execution of `request`: an existing one that receives the same
    /// messages, or a new one.
    pub fn subscribe(self: &Arc<Self>, asker: Asker<'_>, request: Request, member: Member) -> Subscription {
        let key = Key {
            variables: serde_json::to_string(&request.variables).unwrap_or_default(),
            query: request.query.clone(),
            operation_name: request.operation_name.clone(),
            viewer: asker.viewer.identity().cloned(),
        };
        let mut registry = lock(&self.executions);
        // Joining pays the base cost now; a new execution pays its cost once validated.
        let mut refused = false;
        if let Some(execution) = registry.get(&key) {
            refused = asker.payment.as_ref().is_some_and(|payment| payment.pay(rate_limit::cost(0)).is_err());
            let mut subscribers = lock(&execution.subscribers);
            if !refused && !subscribers.ended {
                let member = subscribers.add(member);
                return Subscription { fanout: self.clone(), execution: execution.clone(), member };
            }
        }
        // Refused, it runs on its own and its execution answers RATE_LIMITED.
        let shared = !refused && is_subscription(&request.query, request.operation_name.as_deref());
        let key = shared.then(|| Arc::new(key));
        let mut subscribers = Subscribers::default();
        let number = subscribers.add(member);
        let execution = Arc::new(Execution {
            key: key.clone(),
            subscribers: Mutex::new(subscribers),
            lagged: AtomicBool::new(false),
        });
        if let Some(key) = key {
            registry.insert(key, execution.clone());
        }
        drop(registry);

        let (request, batcher) = asker.state.per_request.prepare(request, asker.viewer.clone());
        let lagging = execution.clone();
        let mut request = request.data(asker.request_id.clone());
        if let Some(address) = asker.address {
            request = request.data(ClientAddress(address));
        }
        if let Some(payment) = asker.payment {
            request = request.data(payment);
        }
        let request = request.data(OnLag(Arc::new(move || lagging.lagged.store(true, Ordering::Relaxed))));
        let responses = asker.state.schema_for(&request).execute_stream(request);
        let ending = Ending { fanout: self.clone(), execution: execution.clone() };
        // The execution runs inside its batcher: what one event's fields load is read together.
        let task = tokio::spawn(batcher.drive(deliver(responses, ending, asker.state.max_response_bytes)));
        lock(&execution.subscribers).task = Some(task.abort_handle());
        Subscription { fanout: self.clone(), execution, member: number }
    }

    /// The registry, locked, when `execution` is in it (operations that run alone are not).
    fn registry(&self, execution: &Execution) -> Option<MutexGuard<'_, Registry>> {
        execution.key.as_ref().map(|_| lock(&self.executions))
    }

    /// Removes a subscriber; the last one out stops the execution.
    fn leave(&self, execution: &Arc<Execution>, member: u64) {
        let registry = self.registry(execution);
        let mut subscribers = lock(&execution.subscribers);
        subscribers.members.remove(&member);
        if !subscribers.members.is_empty() || subscribers.ended {
            return;
        }
        subscribers.ended = true;
        let task = subscribers.task.take();
        drop(subscribers);
        unregister(registry, execution);
        if let Some(task) = task {
            task.abort();
        }
    }

    /// The execution has ended (or was stopped): its subscribers are told, and it is forgotten.
    fn end(&self, execution: &Arc<Execution>) {
        let registry = self.registry(execution);
        let mut subscribers = lock(&execution.subscribers);
        subscribers.ended = true;
        subscribers.task = None;
        let members = std::mem::take(&mut subscribers.members);
        drop(subscribers);
        unregister(registry, execution);
        let lagged = execution.lagged.load(Ordering::Relaxed);
        for mut member in members.into_values() {
            if lagged {
                close_with(&member.stop, SLOW_CONSUMER);
            } else {
                member.complete();
            }
        }
    }
}

/// Takes `execution` out of the registry, if it is the one registered under its key.
fn unregister(registry: Option<MutexGuard<'_, Registry>>, execution: &Arc<Execution>) {
    if let (Some(mut registry), Some(key)) = (registry, &execution.key)
        && registry.get(key).is_some_and(|registered| Arc::ptr_eq(registered, execution))
    {
        registry.remove(key);
    }
}

/// Tells the subscribers when an execution finishes, however it finishes (a panic included).
struct Ending {
    fanout: Arc<Fanout>,
    execution: Arc<Execution>,
}

impl Drop for Ending {
    fn drop(&mut self) {
        self.fanout.end(&self.execution);
    }
}

/// Serialises each response once, within the response ceiling as over HTTP (a larger one becomes
/// a `RESPONSE_TOO_LARGE` error), and queues it for every subscriber.
async fn deliver(responses: impl Stream<Item = async_graphql::Response>, ending: Ending, limit: usize) {
    let mut responses = std::pin::pin!(responses);
    while let Some(response) = responses.next().await {
        let Ok(payload) = String::from_utf8(crate::http::graphql::capped(&response, limit)) else {
            tracing::error!("a subscription response could not be serialised");
            break;
        };
        let mut subscribers = lock(&ending.execution.subscribers);
        for member in subscribers.members.values_mut() {
            member.next(&payload);
        }
    }
    drop(ending);
}
