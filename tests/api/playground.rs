//! The playground for coordinators: its ready-made operations (`documents/playground/`) run as
//! written for the people they are meant for.

use std::path::Path;

use serde_json::{Value, json};

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
        documents.len() >= 6,
        "the daily work: welcome, review, rounds, ranking, commissions, needs, audit"
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
        // Each explains itself in a comment before the operation.
        assert!(text.lines().take_while(|l| l.starts_with('#')).count() >= 2, "{name} is explained");
    }
}

#[test]
fn the_welcome_text_is_narrow_enough_for_the_editor() {
    // At 1280 pixels the query editor shows about 50 characters; the welcome keeps inside 46.
    let (name, welcome) = ready_made().into_iter().next().expect("a welcome");
    assert!(name.contains("welcome"), "{name} comes first");
    for line in welcome.lines() {
        assert!(line.chars().count() <= 46, "too wide for the editor: {line:?}");
    }
}
