//! A headless Chromium for the browser tests, started by the harness like PostgreSQL and driven
//! over the DevTools protocol (CDP): open a page, reload it, evaluate JavaScript in it, wait for
//! a condition, and list every request the page made.
//!
//! Each [`Browser`] is its own Chromium process (Debian's `/usr/bin/chromium`, or `CHROMIUM`)
//! with a fresh profile in a temporary directory, so tests share no storage and run in parallel.
//! Chromium writes the port it chose (`--remote-debugging-port=0`) to `DevToolsActivePort` in the
//! profile; the harness connects to the browser's WebSocket there, opens one page and attaches
//! to it with a flat session, so one connection carries every command and event. The process
//! group is killed when the `Browser` is dropped, and by a small watcher when the test process
//! dies without dropping it.

use std::{
    collections::HashMap,
    path::PathBuf,
    process::{Child, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use async_graphql::futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;

/// A safety net so that a broken page fails its test instead of hanging; no assertion rests on
/// it. Generous: Chromium starts slowly on a busy machine.
const PATIENCE: Duration = Duration::from_secs(30);

/// How often `wait_for` asks the page again.
const POLL: Duration = Duration::from_millis(20);

type Replies = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// What the page did that the tests look at afterwards.
#[derive(Default)]
struct Seen {
    /// Every URL the page asked for, in order: documents, scripts, fetches, WebSockets.
    requests: Vec<String>,
    /// Uncaught exceptions and console errors, shown when a wait fails.
    problems: Vec<String>,
}

/// A headless Chromium with one page open.
pub struct Browser {
    commands: mpsc::UnboundedSender<String>,
    replies: Replies,
    next_id: AtomicU64,
    session: String,
    seen: Arc<Mutex<Seen>>,
    /// Counts the page's `load` events, so navigation can wait for the next one.
    loads: watch::Receiver<u64>,
    process: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium and opens a blank page; fails with how to install Chromium when missing.
    pub async fn start() -> Self {
        let program =
            std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
        assert!(
            program.exists(),
            "Chromium not found at {}: the browser tests drive a headless Chromium. Install it with \
             `apt-get install chromium` (`.ci/run` does), or point CHROMIUM at its binary.",
            program.display()
        );
        let profile = tempfile::tempdir().expect("a temporary directory");
        let log = std::fs::File::create(profile.path().join("chromium.log")).expect("a log file");
        let data = profile.path().join("profile");
        let process = {
            use std::os::unix::process::CommandExt;
            std::process::Command::new(&program)
                .args([
                    "--headless=new",
                    "--remote-debugging-port=0",
                    // The tests run as root in a container, where Chromium's sandbox cannot start.
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--no-default-browser-check",
                    // Nothing but the page's own requests: no updates, sync or field trials.
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-extensions",
                    "--mute-audio",
                    "--window-size=1280,1024",
                ])
                .arg(format!("--user-data-dir={}", data.display()))
                .arg("about:blank")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                // Its own process group, so that the renderers go with it.
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()))
        };
        watch_for_our_exit(process.id());

        let endpoint = devtools_endpoint(&data, &profile.path().join("chromium.log")).await;
        let (socket, _) =
            tokio_tungstenite::connect_async(endpoint.as_str()).await.expect("connect to Chromium");
        let (commands, outgoing) = mpsc::unbounded_channel();
        let replies = Replies::default();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (loaded, loads) = watch::channel(0);
        tokio::spawn(converse(socket, outgoing, replies.clone(), seen.clone(), loaded));

        let mut browser = Self {
            commands,
            replies,
            next_id: AtomicU64::new(1),
            session: String::new(),
            seen,
            loads,
            process,
            _profile: profile,
        };
        let target = browser.send(None, "Target.createTarget", json!({ "url": "about:blank" })).await;
        let target = target["targetId"].as_str().expect("a target id").to_owned();
        let attached =
            browser.send(None, "Target.attachToTarget", json!({ "targetId": target, "flatten": true })).await;
        browser.session = attached["sessionId"].as_str().expect("a session id").to_owned();
        for domain in ["Page.enable", "Network.enable", "Runtime.enable", "Log.enable"] {
            browser.call(domain, json!({})).await;
        }
        browser
    }

    /// Opens `url` and waits for its `load` event.
    pub async fn open(&self, url: &str) {
        let before = *self.loads.borrow();
        let navigated = self.call("Page.navigate", json!({ "url": url })).await;
        if let Some(error) = navigated.get("errorText") {
            panic!("cannot open {url}: {error}");
        }
        self.loaded_after(before).await;
    }

    /// Reloads the page (as the user would, the browser's storage kept) and waits for it to load.
    pub async fn reload(&self) {
        let before = *self.loads.borrow();
        self.call("Page.reload", json!({})).await;
        self.loaded_after(before).await;
    }

    /// The value of a JavaScript expression in the page (a promise is awaited), as JSON;
    /// `undefined` is `null`. An exception fails the test.
    pub async fn eval(&self, expression: &str) -> Value {
        let evaluated = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        if let Some(exception) = evaluated.get("exceptionDetails") {
            let text = exception["exception"]["description"].as_str().unwrap_or_default();
            panic!("`{expression}` threw: {text} {exception}");
        }
        evaluated["result"].get("value").cloned().unwrap_or(Value::Null)
    }

    /// Waits until the JavaScript `predicate` is truthy in the page; after `timeout` the test fails
    /// with what the page reported. Returns how long it took.
    pub async fn wait_for(&self, predicate: &str, timeout: Duration) -> Duration {
        let started = Instant::now();
        let check =
            format!("(() => {{ try {{ return !!({predicate}); }} catch (e) {{ return false; }} }})()");
        loop {
            let params = json!({ "expression": check, "returnByValue": true, "awaitPromise": true });
            match self.try_send(Some(&self.session), "Runtime.evaluate", params).await {
                Ok(evaluated) if evaluated["result"]["value"] == Value::Bool(true) => {
                    return started.elapsed();
                }
                Ok(_) => {}
                // The page navigated while the predicate ran (a click that reloads it): not yet.
                Err(error) if navigating(&error) => {}
                Err(error) => panic!("`{predicate}` could not be evaluated: {error}"),
            }
            if started.elapsed() > timeout {
                panic!(
                    "`{predicate}` did not hold within {timeout:?}; the page reported: {:?}",
                    self.seen.lock().expect("not poisoned").problems
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Every URL the page requested so far, in order (WebSockets included).
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().expect("not poisoned").requests.clone()
    }

    /// The uncaught exceptions and console errors the page reported so far.
    pub fn problems(&self) -> Vec<String> {
        self.seen.lock().expect("not poisoned").problems.clone()
    }

    /// Shows the page as on a device `width` CSS pixels wide (a phone: `mobile`).
    pub async fn viewport(&self, width: u32, height: u32, mobile: bool) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
        )
        .await;
    }

    /// Applies the CSS of a medium (`"print"`), or the screen's again (`""`).
    pub async fn media(&self, medium: &str) {
        self.call("Emulation.setEmulatedMedia", json!({ "media": medium })).await;
    }

    /// A command to the page.
    async fn call(&self, method: &str, params: Value) -> Value {
        self.send(Some(&self.session), method, params).await
    }

    /// A command to the page's session, or to the browser with none; its result.
    async fn send(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.try_send(session, method, params)
            .await
            .unwrap_or_else(|error| panic!("{method} failed: {error}"))
    }

    /// [`Self::send`], with the error Chromium answered instead of failing the test.
    async fn try_send(&self, session: Option<&str>, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        self.replies.lock().expect("not poisoned").insert(id, reply);
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.commands.send(message.to_string()).expect("the connection to Chromium is open");
        let answer = tokio::time::timeout(PATIENCE, answer)
            .await
            .unwrap_or_else(|_| panic!("Chromium did not answer {method} in time"))
            .unwrap_or_else(|_| panic!("the connection to Chromium closed during {method}"));
        match answer.get("error") {
            Some(error) => Err(error.clone()),
            None => Ok(answer["result"].clone()),
        }
    }

    async fn loaded_after(&self, before: u64) {
        let mut loads = self.loads.clone();
        tokio::time::timeout(PATIENCE, loads.wait_for(|count| *count > before))
            .await
            .expect("the page loads in time")
            .expect("the connection to Chromium is open");
    }
}

/// Whether Chromium's `error` says the page went away while a command ran in it (it navigated,
/// or its JavaScript context was replaced by the next page's).
fn navigating(error: &Value) -> bool {
    let message = error["message"].as_str().unwrap_or_default();
    ["navigated or closed", "context was destroyed", "Cannot find context"]
        .iter()
        .any(|m| message.contains(m))
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(self.process.id());
        let _ = self.process.wait();
    }
}

/// Kills Chromium's process group: the browser and its renderers.
fn kill_group(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stderr(Stdio::null())
        .status();
}

/// Leaves a watcher that kills Chromium's process group once this test process is gone, for a
/// test binary stopped before it could drop its browsers.
fn watch_for_our_exit(chromium: u32) {
    let watcher = format!(
        "(while [ -d /proc/{ours} ] && [ -d /proc/{chromium} ]; do sleep 1; done; \
         kill -KILL -- -{chromium}) </dev/null >/dev/null 2>&1 &",
        ours = std::process::id(),
    );
    let status = std::process::Command::new("sh").args(["-c", &watcher]).status();
    assert!(status.is_ok_and(|s| s.success()), "start the Chromium watcher");
}

/// Waits for Chromium to write `DevToolsActivePort` (its port, then the browser's path).
async fn devtools_endpoint(profile: &std::path::Path, log: &std::path::Path) -> String {
    let file = profile.join("DevToolsActivePort");
    let started = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            let mut lines = text.lines();
            if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                return format!("ws://127.0.0.1:{port}{path}");
            }
        }
        assert!(
            started.elapsed() < PATIENCE,
            "Chromium did not open its DevTools port in time; its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Carries commands out and hands back their answers; keeps the events the tests read.
async fn converse(
    socket: Socket,
    mut outgoing: mpsc::UnboundedReceiver<String>,
    replies: Replies,
    seen: Arc<Mutex<Seen>>,
    loaded: watch::Sender<u64>,
) {
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            command = outgoing.recv() => {
                let Some(command) = command else { return };
                if sink.send(Message::text(command)).await.is_err() {
                    return;
                }
            }
            frame = stream.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => return,
                };
                let Ok(message) = serde_json::from_str::<Value>(&text) else { continue };
                if let Some(id) = message["id"].as_u64() {
                    if let Some(reply) = replies.lock().expect("not poisoned").remove(&id) {
                        let _ = reply.send(message);
                    }
                    continue;
                }
                let params = &message["params"];
                let mut seen = seen.lock().expect("not poisoned");
                match message["method"].as_str().unwrap_or_default() {
                    "Page.loadEventFired" => loaded.send_modify(|count| *count += 1),
                    "Network.requestWillBeSent" => {
                        seen.requests.push(params["request"]["url"].as_str().unwrap_or_default().to_owned());
                    }
                    "Network.webSocketCreated" => {
                        seen.requests.push(params["url"].as_str().unwrap_or_default().to_owned());
                    }
                    "Runtime.exceptionThrown" => {
                        let details = &params["exceptionDetails"];
                        let text = details["exception"]["description"].as_str().or(details["text"].as_str());
                        seen.problems.push(text.unwrap_or("an exception").to_owned());
                    }
                    "Runtime.consoleAPICalled" if params["type"] == "error" => {
                        let words: Vec<String> = params["args"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|arg| arg["value"].as_str().map_or_else(|| arg["description"].to_string(), str::to_owned))
                            .collect();
                        seen.problems.push(words.join(" "));
                    }
                    // A failed request is the test's to judge (an APQ client meets a 400 by design).
                    "Log.entryAdded" if params["entry"]["level"] == "error" && params["entry"]["source"] != "network" => {
                        seen.problems.push(params["entry"]["text"].as_str().unwrap_or_default().to_owned());
                    }
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helpers::{TestApp, both_databases};

    /// The harness itself: a page opens, answers JavaScript (promises awaited), its requests are
    /// recorded, a reload starts it afresh with the storage kept, a wait sees a later change, and
    /// the page can be shown as on a phone and as printed.
    #[both_databases]
    async fn a_headless_browser_opens_evaluates_records_and_reloads(app: TestApp) {
        let browser = Browser::start().await;
        browser.open(&app.url("/schema.graphql")).await;
        assert_eq!(browser.eval("document.body.innerText.includes('type Query')").await, json!(true));
        assert_eq!(browser.eval("fetch('/healthz').then(answer => answer.status)").await, json!(200));
        // Chromium may ask for `/favicon.ico` too, when it likes.
        let requests = browser.requests();
        assert_eq!(requests.first(), Some(&app.url("/schema.graphql")), "{requests:?}");
        assert!(requests.contains(&app.url("/healthz")), "{requests:?}");

        browser.eval("window.marker = 1; localStorage.setItem('kept', 'yes')").await;
        browser.reload().await;
        assert_eq!(browser.eval("typeof window.marker").await, json!("undefined"));
        assert_eq!(browser.eval("localStorage.getItem('kept')").await, json!("yes"));

        browser.eval("setTimeout(() => { window.later = true }, 200)").await;
        browser.wait_for("window.later", PATIENCE).await;

        // A page without a viewport meta tag is laid out 980 pixels wide on a "mobile" device.
        browser.viewport(390, 844, false).await;
        assert_eq!(browser.eval("innerWidth").await, json!(390));
        browser.media("print").await;
        assert_eq!(browser.eval("matchMedia('print').matches").await, json!(true));
        assert!(browser.problems().is_empty(), "{:?}", browser.problems());
    }
}
