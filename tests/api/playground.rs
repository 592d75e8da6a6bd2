//! The playground for coordinators: its ready-made operations (`documents/playground/`) run as
//! written for the people they are meant for.

use std::{path::Path, time::Duration};

use serde_json::{Value, json};

use crate::browser::Browser;
use crate::helpers::{TestApp, both_databases, cast, error_codes, need_input};
use crate::rounds::{accepted_need, open_round};

/// The ready-made operations, by file name, with their text (read from the repository, as the
/// build bundles them).
pub(crate) fn ready_made() -> Vec<(String, String)> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("documents/playground");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&folder)
        .expect("documents/playground")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "graphql"))
        .map(|path| {
            let name = path.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).expect("readable"))
        })
        .collect();
    files.sort();
    files
}

/// The example variables a document names on its `# Variables: {...}` line, if any.
fn example_variables(text: &str) -> Option<Value> {
    text.lines()
        .take_while(|line| line.starts_with('#'))
        .find_map(|line| line.trim_start_matches('#').trim().strip_prefix("Variables:"))
        .map(|json| serde_json::from_str(json.trim()).expect("example variables are JSON"))
}

#[both_databases]
async fn every_ready_made_operation_runs_for_a_coordinator_without_errors(app: TestApp) {
    let cast = cast(&app).await;
    // Something for each operation to find: a submitted need, an accepted one in an open round.
    let submitted = accepted_need(&app, &cast.bergen, &cast.coordinator, "Skulehelseteneste").await;
    let (round, codes) = open_round(&app, &cast.coordinator, &[&submitted], 1).await;
    assert!(codes.is_empty(), "{codes:?}");
    let round_id = round["round"]["id"].clone();
    let theme = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    let waiting = app
        .data_as(
            &cast.askoy,
            "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } } }",
            json!({ "input": need_input("Venter på vurdering", &theme) }),
        )
        .await;
    assert!(waiting["submitNeed"]["need"]["id"].is_string(), "{waiting}");

    let documents = ready_made();
    assert!(
        documents.len() >= 8,
        "the daily work: welcome, review, rounds, ranking, commissions, needs, audit, export"
    );
    for (name, text) in documents {
        let mut variables = example_variables(&text).unwrap_or_else(|| json!({}));
        if variables.get("round").is_some() {
            variables["round"] = round_id.clone();
        }
        let (status, body) = app.query_as(&cast.coordinator, &text, variables).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert!(error_codes(&body).is_empty(), "{name} runs without errors: {body}");
        assert!(body["data"].is_object(), "{name}: {body}");
        if name.contains("awaiting-review") {
            let titles = &body["data"]["needs"]["nodes"];
            assert_eq!(titles.as_array().map(Vec::len), Some(1), "only the submitted need: {body}");
            assert_eq!(titles[0]["title"], "Venter på vurdering");
        }
        if name.contains("round-ranking") {
            assert_eq!(body["data"]["round"]["ranking"]["totalCount"], 1, "{body}");
        }
        if name.contains("export") {
            // One step to a file: the link opens as the workbook of the needs the filter lists.
            let url = body["data"]["needsExport"]["url"].as_str().expect("a link");
            let file = crate::exports::download(&app, url).await;
            assert_eq!(file.status, 200, "{url}");
            let listed = app
                .data_as(
                    &cast.coordinator,
                    "{ needs(filter: { status: [SUBMITTED, ACCEPTED] }) { totalCount } }",
                    json!({}),
                )
                .await;
            let rows = crate::exports::xlsx_rows(&file.body);
            assert_eq!(Some(rows.len() as u64 - 1), listed["needs"]["totalCount"].as_u64(), "{rows:?}");
        }
        // Each explains itself in a comment before the operation.
        assert!(text.lines().take_while(|l| l.starts_with('#')).count() >= 2, "{name} is explained");
    }
}

/// JavaScript reading and writing the playground's editors (CodeMirror 5 instances): the query
/// editor, the variables and headers editors (under their tabs) and the response.
const EDITORS: &str = r#"
window.hubEditor = (which) => {
  // The variables and headers editors stand in one panel, in that order, one hidden.
  const element = {
    query: () => document.querySelector('.graphiql-query-editor .CodeMirror'),
    response: () => document.querySelector('.graphiql-response .CodeMirror'),
    variables: () => document.querySelectorAll('.graphiql-editor-tool .graphiql-editor .CodeMirror')[0],
    headers: () => document.querySelectorAll('.graphiql-editor-tool .graphiql-editor .CodeMirror')[1],
  }[which]();
  return element && element.CodeMirror;
};
window.hubRun = () => document.querySelector('.graphiql-execute-button').click();
true
"#;

/// Waits for GraphiQL to show its editors, and installs `EDITORS`.
async fn ready(browser: &Browser) {
    browser.wait_for("document.querySelector('.graphiql-query-editor .CodeMirror')", PATIENCE).await;
    browser.eval(EDITORS).await;
}

/// Runs the operation in the editor once GraphiQL has read its name (as after typing it).
async fn run_operation(browser: &Browser, operation: &str) {
    let named =
        format!("document.querySelector('.graphiql-tab-active').textContent.includes({})", json!(operation));
    browser.wait_for(&named, PATIENCE).await;
    browser.eval("hubRun(); true").await;
}

/// Every request the page made went to the hub (or was inline data).
fn stayed_home(browser: &Browser, app: &TestApp) {
    let hub = app.url("/");
    let hub_ws = hub.replacen("http://", "ws://", 1);
    for request in browser.requests() {
        assert!(
            request.starts_with(&hub) || request.starts_with(&hub_ws) || request.starts_with("data:"),
            "a request left the hub: {request}"
        );
    }
}

const PATIENCE: Duration = Duration::from_secs(20);

#[both_databases]
async fn the_playground_keeps_its_headers_across_a_reload_until_they_are_forgotten(app: TestApp) {
    let cast = cast(&app).await;
    let browser = Browser::start().await;
    browser.viewport(1280, 800, false).await;
    browser.open(&app.url("/")).await;
    ready(&browser).await;

    // A first visit: the welcome, fitting its editor, and a tab for each ready-made operation.
    let tabs =
        browser.eval("[...document.querySelectorAll('.graphiql-tab')].map((t) => t.textContent)").await;
    for name in ["Welcome", "NeedsAwaitingReview", "Rounds", "RoundRanking", "OpenCommissions", "AuditLog"] {
        assert!(tabs.to_string().contains(name), "a tab {name}: {tabs}");
    }
    let fits = "(() => { const s = document.querySelector('.graphiql-query-editor .CodeMirror-scroll'); \
                return s.scrollWidth <= s.clientWidth; })()";
    assert_eq!(browser.eval(fits).await, Value::Bool(true), "the welcome fits without scrolling sideways");

    // The coordinator pastes their token and asks who they are.
    let headers = format!(r#"{{"Authorization": "Bearer {}"}}"#, cast.coordinator);
    browser.eval(&format!("hubEditor('headers').setValue({})", json!(headers))).await;
    let whoami = "query Me { viewer { person { name } } }";
    browser.eval(&format!("hubEditor('query').setValue({}); true", json!(whoami))).await;
    run_operation(&browser, "Me").await;
    browser.wait_for("hubEditor('response').getValue().includes('Kari Nordmann')", PATIENCE).await;

    // After a reload the token is still there, and still used.
    browser.wait_for("localStorage.getItem('knowledge-hub:headers') !== null", PATIENCE).await;
    // GraphiQL stores its tabs half a second after the last edit.
    browser.wait_for("(localStorage.getItem('graphiql:tabState') || '').includes('khub_')", PATIENCE).await;
    browser.reload().await;
    ready(&browser).await;
    assert!(browser.eval("hubEditor('headers').getValue()").await.to_string().contains(&cast.coordinator));
    run_operation(&browser, "Me").await;
    browser.wait_for("hubEditor('response').getValue().includes('Kari Nordmann')", PATIENCE).await;

    // The bin in the toolbar forgets it: nothing of the token is left in the browser's storage.
    browser.eval("window.beforeForgetting = true; true").await;
    // Clicked after this evaluation returns: the click reloads the page.
    browser
        .eval(
            "setTimeout(() => document.querySelector('button[aria-label^=\"Forget token\"]').click()); true",
        )
        .await;
    browser
        .wait_for("window.beforeForgetting === undefined && document.readyState === 'complete'", PATIENCE)
        .await;
    ready(&browser).await;
    let stored = browser.eval("JSON.stringify(Object.assign({}, localStorage))").await;
    assert!(!stored.to_string().contains(&cast.coordinator), "no token is kept: {stored}");
    assert!(!browser.eval("hubEditor('headers').getValue()").await.to_string().contains(&cast.coordinator));
    stayed_home(&browser, &app);
    assert!(browser.problems().is_empty(), "{:?}", browser.problems());
}

#[both_databases]
async fn a_shared_link_opens_its_operation_and_the_collection_opens_the_ready_made_ones(app: TestApp) {
    let browser = Browser::start().await;
    let query = "query Name { municipality(code: \"4601\") { name } }\n\
                 query Code($code: String!) { municipality(code: $code) { code name } }";
    let variables = r#"{"code": "1103"}"#;
    let link = reqwest::Url::parse_with_params(
        &app.url("/"),
        [("query", query), ("variables", variables), ("operationName", "Code")],
    )
    .expect("a link");
    browser.open(link.as_str()).await;
    ready(&browser).await;
    assert_eq!(browser.eval("hubEditor('query').getValue()").await, json!(query));
    assert_eq!(browser.eval("hubEditor('variables').getValue()").await, json!(variables));
    // The tab is named after the first operation; the link chose the second.
    browser.eval("hubRun(); true").await;
    // The operation named in the link ran: Stavanger, by the code in the variables.
    browser.wait_for("hubEditor('response').getValue().includes('Stavanger')", PATIENCE).await;

    // The star in the sidebar lists the ready-made operations; one opens in a new tab.
    browser.eval("document.querySelector('.graphiql-sidebar button[aria-label=\"Show Ready-made operations\"]').click(); true").await;
    browser
        .wait_for("[...document.querySelectorAll('.hub-ready-made button')].some((b) => b.textContent === 'OpenCommissions')", PATIENCE)
        .await;
    browser
        .eval("[...document.querySelectorAll('.hub-ready-made button')].find((b) => b.textContent === 'OpenCommissions').click(); true")
        .await;
    browser.wait_for("hubEditor('query').getValue().includes('query OpenCommissions')", PATIENCE).await;
    stayed_home(&browser, &app);
}
