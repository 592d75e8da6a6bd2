//! Reach under any order of merges, unmerges, co-signatures and withdrawals of co-signatures
//! (proptest, against a simple model, on both databases): a need counts each municipality behind
//! it once (its own, its co-signers, and those behind the duplicates merged into it, in turn),
//! and an unmerge leaves exactly what the model says.
//!
//! `PROPTEST_CASES=200 cargo test --test api reach_counts -- --nocapture` runs longer.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::OnceLock,
};

use knowledge_hub::config::RoleArg;
use proptest::{prelude::*, test_runner::Config};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

const MUNICIPALITIES: [&str; 5] = ["4601", "4602", "4627", "1103", "4626"];
const NEEDS: usize = 5;

#[derive(Clone, Debug)]
enum Step {
    /// Municipality `.1` co-signs need `.0`.
    Cosign(usize, usize),
    /// Municipality `.1` withdraws its co-signature of need `.0`.
    Withdraw(usize, usize),
    /// Need `.1` is merged into need `.0`.
    Merge(usize, usize),
    Unmerge(usize),
}

fn step() -> impl Strategy<Value = Step> {
    let need = 0..NEEDS;
    let municipality = 0..MUNICIPALITIES.len();
    prop_oneof![
        3 => (need.clone(), municipality.clone()).prop_map(|(n, m)| Step::Cosign(n, m)),
        2 => (need.clone(), municipality).prop_map(|(n, m)| Step::Withdraw(n, m)),
        3 => (need.clone(), need.clone()).prop_map(|(s, d)| Step::Merge(s, d)),
        2 => need.prop_map(Step::Unmerge),
    ]
}

/// What the hub should do: needs (all submitted) with their owner, the co-signatures their
/// municipalities gave themselves, and what they are merged into.
#[derive(Debug)]
struct Model {
    owner: Vec<usize>,
    direct: Vec<BTreeSet<usize>>,
    merged_into: Vec<Option<usize>>,
}

impl Model {
    fn new(owner: Vec<usize>) -> Self {
        Self { direct: vec![BTreeSet::new(); owner.len()], merged_into: vec![None; owner.len()], owner }
    }

    /// Every municipality behind a need: its own, its co-signers', and, in turn, those behind
    /// each duplicate merged into it.
    fn behind(&self, need: usize) -> BTreeSet<usize> {
        let mut behind: BTreeSet<usize> = self.direct[need].clone();
        behind.insert(self.owner[need]);
        for duplicate in 0..self.owner.len() {
            if self.merged_into[duplicate] == Some(need) {
                behind.extend(self.behind(duplicate));
            }
        }
        behind
    }

    /// The co-signatures a need lists: everyone behind it but its own municipality.
    fn cosigners(&self, need: usize) -> BTreeSet<usize> {
        let mut behind = self.behind(need);
        behind.remove(&self.owner[need]);
        behind
    }

    /// Applies a step; whether the hub should accept it.
    fn apply(&mut self, step: &Step) -> bool {
        match *step {
            Step::Cosign(n, m) => {
                let ok =
                    self.merged_into[n].is_none() && m != self.owner[n] && !self.cosigners(n).contains(&m);
                if ok {
                    self.direct[n].insert(m);
                }
                ok
            }
            // Only a co-signature the municipality gave itself; a carried one leaves by unmerging.
            Step::Withdraw(n, m) => self.direct[n].remove(&m),
            Step::Merge(s, d) => {
                let ok = s != d && self.merged_into[s].is_none() && self.merged_into[d].is_none();
                if ok {
                    self.merged_into[d] = Some(s);
                }
                ok
            }
            Step::Unmerge(d) => self.merged_into[d].take().is_some(),
        }
    }
}

/// One hub per database for every case, on a runtime that keeps serving between cases.
struct Target {
    runtime: tokio::runtime::Runtime,
    app: TestApp,
    coordinator: String,
    /// A member's token for each of `MUNICIPALITIES`.
    members: Vec<String>,
    themes: Value,
}

fn target(backend: Backend) -> &'static Target {
    static SQLITE: OnceLock<Target> = OnceLock::new();
    static POSTGRES: OnceLock<Target> = OnceLock::new();
    let cell = if backend == Backend::Sqlite { &SQLITE } else { &POSTGRES };
    cell.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let (app, coordinator, members, themes) = runtime.block_on(async {
            let app = TestApp::spawn(backend).await;
            let coordinator = app.token_for("Kari Nordmann", RoleArg::Coordinator, "rso-vest").await;
            let mut members = Vec::new();
            for code in MUNICIPALITIES {
                members.push(app.token_for(&format!("Medlem {code}"), RoleArg::UnitMember, code).await);
            }
            let themes =
                app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
            (app, coordinator, members, themes)
        });
        Target { runtime, app, coordinator, members, themes }
    })
}

fn user_errors(payload: &Value) -> usize {
    payload["userErrors"].as_array().map_or(usize::MAX, Vec::len)
}

async fn mutation(target: &Target, token: &str, field: &str, input_type: &str, input: Value) -> Value {
    let (status, body) = target
        .app
        .query_as(
            token,
            &format!(
                "mutation($input: {input_type}!) {{ {field}(input: $input) {{ userErrors {{ code }} }} }}"
            ),
            json!({ "input": input }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{field}: {body}");
    body["data"][field].clone()
}

/// Runs one case: submits the needs, then each step, comparing every need with the model after
/// every step.
fn run(backend: Backend, owners: Vec<usize>, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let target = target(backend);
    target.runtime.block_on(async {
        let mut ids = Vec::new();
        for &owner in &owners {
            let submitted = mutation_with_need(target, owner).await;
            ids.push(submitted);
        }
        let mut model = Model::new(owners);
        for (i, step) in steps.iter().enumerate() {
            let expected = model.apply(step);
            let payload = match *step {
                Step::Cosign(n, m) => {
                    mutation(
                        target,
                        &target.members[m],
                        "cosignNeed",
                        "CosignNeedInput",
                        json!({ "need": ids[n] }),
                    )
                    .await
                }
                Step::Withdraw(n, m) => {
                    mutation(
                        target,
                        &target.members[m],
                        "withdrawCosignature",
                        "CosignNeedInput",
                        json!({ "need": ids[n] }),
                    )
                    .await
                }
                Step::Merge(s, d) => {
                    mutation(
                        target,
                        &target.coordinator,
                        "mergeNeeds",
                        "MergeNeedsInput",
                        json!({ "survivor": ids[s], "duplicates": [ids[d]] }),
                    )
                    .await
                }
                Step::Unmerge(d) => {
                    mutation(
                        target,
                        &target.coordinator,
                        "unmergeNeed",
                        "UnmergeNeedInput",
                        json!({ "need": ids[d] }),
                    )
                    .await
                }
            };
            prop_assert_eq!(user_errors(&payload) == 0, expected, "step {} {:?}: {}", i, step, payload);
            check(target, &ids, &model)
                .await
                .map_err(|e| TestCaseError::fail(format!("after step {i} {step:?}: {e}")))?;
        }
        Ok(())
    })
}

async fn mutation_with_need(target: &Target, owner: usize) -> Value {
    let (_, body) = target
        .app
        .query_as(
            &target.members[owner],
            "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } userErrors { \
             code } } }",
            json!({
                "input": {
                    "title": "Eit behov for rekkevidd",
                    "question": "Kor mange kommunar står bak dette?",
                    "background": "b",
                    "intendedUse": "u",
                    "targetGroup": "t",
                    "themes": [target.themes],
                },
            }),
        )
        .await;
    let id = body["data"]["submitNeed"]["need"]["id"].clone();
    assert!(id.is_string(), "{body}");
    id
}

/// Every need as the hub shows it against the model: its co-signatures (each municipality once,
/// never its own; carried exactly when not given by the municipality itself), its reach, whether
/// it is merged.
async fn check(target: &Target, ids: &[Value], model: &Model) -> Result<(), String> {
    let response = target
        .app
        .query_with(
            "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Need { status mergedInto { id } reach { \
             municipalities }
                cosignatures(first: 500) { nodes { municipality { code } carriedFrom { id } } } } } }",
            json!({ "ids": ids }),
        )
        .await;
    if response.get("errors").is_some() {
        return Err(format!("the hub answered {response}"));
    }
    let data = &response["data"];
    let code = |m: usize| MUNICIPALITIES[m].to_owned();
    for (n, need) in data["nodes"].as_array().ok_or("nodes")?.iter().enumerate() {
        let listed: Vec<(String, bool)> = need["cosignatures"]["nodes"]
            .as_array()
            .ok_or("cosignatures")?
            .iter()
            .map(|c| {
                (
                    c["municipality"]["code"].as_str().unwrap_or_default().to_owned(),
                    c["carriedFrom"].is_null(),
                )
            })
            .collect();
        let codes: BTreeSet<&String> = listed.iter().map(|(c, _)| c).collect();
        if codes.len() != listed.len() || codes.contains(&code(model.owner[n])) {
            return Err(format!(
                "need {n} counts a municipality twice: {listed:?} (own {})",
                code(model.owner[n])
            ));
        }
        let expected: BTreeMap<String, bool> =
            model.cosigners(n).into_iter().map(|m| (code(m), model.direct[n].contains(&m))).collect();
        let actual: BTreeMap<String, bool> = listed.into_iter().collect();
        if actual != expected {
            return Err(format!(
                "need {n}: co-signatures (code, own) {actual:?}, the model says {expected:?}"
            ));
        }
        let reach = need["reach"]["municipalities"].as_u64().ok_or("reach")?;
        if reach != model.behind(n).len() as u64 {
            return Err(format!("need {n}: reach {reach}, the model says {}", model.behind(n).len()));
        }
        let merged_into = model.merged_into[n].map(|s| ids[s].clone()).unwrap_or(Value::Null);
        if need["mergedInto"]["id"] != merged_into
            || (need["status"] == "MERGED") != model.merged_into[n].is_some()
        {
            return Err(format!(
                "need {n}: {} into {}, the model says {merged_into}",
                need["status"], need["mergedInto"]
            ));
        }
    }
    Ok(())
}

fn config() -> Config {
    // A handful of cases keeps it to seconds; `PROPTEST_CASES` asks for more.
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(16);
    Config { failure_persistence: None, ..Config::with_cases(cases) }
}

mod reach_counts_each_municipality_once {
    use super::*;

    fn owners() -> impl Strategy<Value = Vec<usize>> {
        proptest::collection::vec(0..MUNICIPALITIES.len(), NEEDS)
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        proptest::collection::vec(step(), 10..20)
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn sqlite(owners in owners(), steps in steps()) {
            run(Backend::Sqlite, owners, steps)?;
        }

        #[test]
        fn postgres(owners in owners(), steps in steps()) {
            run(Backend::Postgres, owners, steps)?;
        }
    }
}

/// The case from issue 16: A (4602) into B (4627), B into C (4601), unmerge A.
mod merge_merge_again_unmerge_counts_no_municipality_twice {
    use super::*;

    fn case(backend: Backend) {
        let (kinn, askoy, bergen) = (1, 2, 0);
        let steps = vec![Step::Merge(1, 0), Step::Merge(2, 1), Step::Unmerge(0)];
        run(backend, vec![kinn, askoy, bergen], steps).expect("reach as the model says");
    }

    #[test]
    fn sqlite() {
        case(Backend::Sqlite);
    }

    #[test]
    fn postgres() {
        case(Backend::Postgres);
    }
}
