//! From a pool of accepted needs to a published knowledge summary that municipalities used: the
//! whole flow as users run it, and the permission boundaries around commissions.

use knowledge_hub::config::RoleArg;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, both_databases, cast, error_codes, user_error_codes},
    rounds::{accepted_need, all, open_round, score},
};

const COMMISSION: &str =
    "id status question budgetNok needs { nodes { title status } } awardedInstitution { key }
    interests { institution { key } proposal } milestones { nodes { title doneAt } }
    history { nodes { kind from to note } } summary { id title abstract language doi published: publishedAt
      uptake { nodes { municipality { code } status note } } }";

pub(crate) async fn call(
    app: &TestApp,
    token: &str,
    mutation: &str,
    input_type: &str,
    input: Value,
    selection: &str,
) -> (Value, Vec<String>) {
    let (_, body) = app
        .query_as(
            token,
            &format!(
                "mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ {selection} \
                 userErrors {{ field code message }} }} }}"
            ),
            json!({ "input": input }),
        )
        .await;
    (body["data"][mutation].clone(), error_codes(&body))
}

async fn commission_as(app: &TestApp, token: Option<&str>, id: &Value) -> Value {
    let query = format!("query($id: ID!) {{ node(id: $id) {{ ... on Commission {{ {COMMISSION} }} }} }}");
    let body = match token {
        Some(token) => app.query_as(token, &query, json!({ "id": id })).await.1,
        None => app.query_with(&query, json!({ "id": id })).await,
    };
    body["data"]["node"].clone()
}

/// A need's history as `token` sees it, oldest first.
async fn need_history(app: &TestApp, token: &str, need: &Value) -> Vec<Value> {
    let data = app
        .data_as(
            token,
            "query($id: ID!) { node(id: $id) { ... on Need { history(first: 500) { \
             nodes { kind from to reason actor { name } } } } } }",
            json!({ "id": need }),
        )
        .await;
    data["node"]["history"]["nodes"].as_array().expect("history").clone()
}

#[both_databases]
async fn a_need_goes_from_the_pool_to_a_published_summary_that_was_used(app: TestApp) {
    let c = cast(&app).await;
    let hvl = app.token_for("Hans Vestland", RoleArg::InstitutionMember, "hvl").await;
    let a = accepted_need(&app, &c.bergen, &c.cluster_coordinator, "Fallforebygging for eldre").await;
    let b = accepted_need(&app, &c.askoy, &c.cluster_coordinator, "Ernæring på sjukeheim").await;
    let cc = accepted_need(&app, &c.stavanger, &c.other_cluster_coordinator, "Einsemd blant unge").await;
    app.data_as(
        &c.stavanger,
        "mutation($n: ID!) { cosignNeed(input: { need: $n }) { userErrors { code } } }",
        json!({ "n": a }),
    )
    .await;

    // The round: A wins on scores.
    let (opened, _) = open_round(&app, &c.coordinator, &[&a, &b, &cc], 1).await;
    let round = opened["round"]["id"].clone();
    for (token, need, value) in [
        (&c.cluster_coordinator, &a, 5),
        (&c.cluster_coordinator, &b, 3),
        (&c.other_cluster_coordinator, &a, 4),
        (&c.other_cluster_coordinator, &cc, 3),
        (&c.institution, &a, 4),
        (&c.institution, &b, 2),
    ] {
        let (payload, errors) = score(&app, token, "scoreNeed", &round, need, all(value)).await;
        assert!(errors.is_empty() && user_error_codes(&payload).is_empty(), "{payload}");
    }
    let closed = app
        .data_as(
            &c.coordinator,
            "mutation($r: ID!) { closeRound(input: { round: $r }) {
            round { ranking { nodes { position need { title status } weightedMean scoreCount reach } } } } }",
            json!({ "r": round }),
        )
        .await;
    let ranking = closed["closeRound"]["round"]["ranking"]["nodes"].clone();
    assert_eq!(ranking[0]["need"], json!({ "title": "Fallforebygging for eldre", "status": "PRIORITISED" }));
    // (5 + 4 + 4) / 3 on every criterion.
    assert!((ranking[0]["weightedMean"].as_f64().expect("mean") - 13.0 / 3.0).abs() < 1e-9);
    assert_eq!((ranking[0]["scoreCount"].as_i64(), ranking[0]["reach"].as_i64()), (Some(3), Some(2)));
    assert_eq!(ranking[1]["need"]["title"], "Einsemd blant unge", "3.0 beats 2.5");
    assert_eq!(ranking[2]["weightedMean"].as_f64(), Some(2.5));

    // Commission the winner.
    let product =
        app.data("{ productTypes(first: 1) { nodes { id } } }").await["productTypes"]["nodes"][0]["id"]
            .clone();
    let (_, errors) = call(
        &app,
        &c.cluster_coordinator,
        "createCommission",
        "CreateCommissionInput",
        json!({ "question": "q", "productType": product, "deadline": "2999-01-01T00:00:00Z", "needs": [a] }),
        "commission { id }",
    )
    .await;
    assert_eq!(errors, ["FORBIDDEN"]);
    let (not_prioritised, _) = call(
        &app,
        &c.coordinator,
        "createCommission",
        "CreateCommissionInput",
        json!({
            "question": "Kva verkar?",
            "productType": product,
            "deadline": "2999-01-01T00:00:00Z",
            "needs": [b],
        }),
        "commission { id }",
    )
    .await;
    assert_eq!(user_error_codes(&not_prioritised), ["CONFLICT"]);
    let (created, _) = call(
        &app,
        &c.coordinator,
        "createCommission",
        "CreateCommissionInput",
        json!({
            "question": "Kva fallførebyggjande program verkar for heimebuande eldre?",
            "productType": product,
            "deadline": "2999-01-01T00:00:00Z",
            "budgetNok": 450000,
            "needs": [a],
        }),
        &format!("commission {{ {COMMISSION} }}"),
    )
    .await;
    let commission = created["commission"].clone();
    assert_eq!(commission["status"], "DRAFT");
    let id = commission["id"].clone();
    assert!(commission_as(&app, Some(&c.institution), &id).await.is_null(), "drafts are for coordinators");
    let (_, errors) = call(
        &app,
        &c.institution,
        "expressInterest",
        "ExpressInterestInput",
        json!({ "commission": id, "proposal": "Vi kan" }),
        "interest { proposal }",
    )
    .await;
    assert!(errors.is_empty());
    let (opened, _) = call(
        &app,
        &c.coordinator,
        "openCommission",
        "CommissionInput",
        json!({ "commission": id }),
        "commission { status }",
    )
    .await;
    assert_eq!(opened["commission"]["status"], "OPEN");

    // Two institutions express interest; each sees only its own proposal.
    let (uib_interest, _) = call(
        &app,
        &c.institution,
        "expressInterest",
        "ExpressInterestInput",
        json!({ "commission": id, "proposal": "Systematisk oversikt på 6 månader" }),
        "interest { proposal }",
    )
    .await;
    assert_eq!(uib_interest["userErrors"], json!([]));
    call(
        &app,
        &c.institution,
        "expressInterest",
        "ExpressInterestInput",
        json!({ "commission": id, "proposal": "Systematisk oversikt på 5 månader" }),
        "interest { proposal }",
    )
    .await;
    call(
        &app,
        &hvl,
        "expressInterest",
        "ExpressInterestInput",
        json!({ "commission": id, "proposal": "Hurtigoversikt" }),
        "interest { proposal }",
    )
    .await;
    let seen_by_uib = commission_as(&app, Some(&c.institution), &id).await;
    assert_eq!(
        seen_by_uib["interests"],
        json!([{ "institution": { "key": "uib" }, "proposal": "Systematisk oversikt på 5 månader" }])
    );
    let seen_by_hvl = commission_as(&app, Some(&hvl), &id).await;
    assert_eq!(
        seen_by_hvl["interests"],
        json!([{ "institution": { "key": "hvl" }, "proposal": "Hurtigoversikt" }])
    );
    assert_eq!(
        commission_as(&app, Some(&c.coordinator), &id).await["interests"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(commission_as(&app, Some(&c.bergen), &id).await["interests"], json!([]));

    // Award to UiB: the need becomes COMMISSIONED in the same transaction.
    let institutions = app.data("{ institutions(first: 100) { nodes { id key } } }").await;
    let uib_id = institutions["institutions"]["nodes"]
        .as_array()
        .and_then(|l| l.iter().find(|i| i["key"] == "uib"))
        .expect("uib")["id"]
        .clone();
    let nord_like = institutions["institutions"]["nodes"]
        .as_array()
        .and_then(|l| l.iter().find(|i| i["key"] == "fhi"))
        .expect("fhi")["id"]
        .clone();
    let (not_interested, _) = call(
        &app,
        &c.coordinator,
        "awardCommission",
        "AwardCommissionInput",
        json!({ "commission": id, "institution": nord_like }),
        "commission { status }",
    )
    .await;
    assert_eq!(user_error_codes(&not_interested), ["BAD_USER_INPUT"], "only to an interested institution");
    let (awarded, _) = call(
        &app,
        &c.coordinator,
        "awardCommission",
        "AwardCommissionInput",
        json!({ "commission": id, "institution": uib_id }),
        &format!("commission {{ {COMMISSION} }}"),
    )
    .await;
    assert_eq!(awarded["commission"]["status"], "AWARDED");
    // Publishing before delivery says what comes first, with the status as the schema writes it.
    let (early, _) = call(
        &app,
        &c.coordinator,
        "publishSummary",
        "CommissionInput",
        json!({ "commission": id }),
        "commission { status }",
    )
    .await;
    assert_eq!(user_error_codes(&early), ["CONFLICT"], "{early}");
    let message = early["userErrors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("AWARDED") && message.contains("delivered first"), "{message}");
    assert_eq!(
        awarded["commission"]["needs"]["nodes"],
        json!([{ "title": "Fallforebygging for eldre", "status": "COMMISSIONED" }])
    );

    // The awarded institution works and delivers; the other cannot.
    let (_, errors) = call(
        &app,
        &hvl,
        "reportProgress",
        "ReportProgressInput",
        json!({ "commission": id, "note": "x" }),
        "commission { status }",
    )
    .await;
    assert_eq!(errors, ["FORBIDDEN"]);
    let (milestone, _) = call(
        &app,
        &c.institution,
        "addMilestone",
        "AddMilestoneInput",
        json!({ "commission": id, "title": "Protokoll", "dueAt": "2999-01-01T00:00:00Z" }),
        "milestone { id title }",
    )
    .await;
    let (progress, _) = call(
        &app,
        &c.institution,
        "reportProgress",
        "ReportProgressInput",
        json!({ "commission": id, "note": "Søk ferdig, 212 treff" }),
        "commission { status }",
    )
    .await;
    assert_eq!(progress["commission"]["status"], "IN_PROGRESS");
    let (done, _) = call(
        &app,
        &c.institution,
        "completeMilestone",
        "CompleteMilestoneInput",
        json!({ "milestone": milestone["milestone"]["id"] }),
        "milestone { doneAt }",
    )
    .await;
    assert!(done["milestone"]["doneAt"].is_string());
    let (bad_summary, _) = call(
        &app,
        &c.institution,
        "deliverSummary",
        "DeliverSummaryInput",
        json!({ "commission": id, "title": "T", "abstract": "A", "language": "de", "authors": "X" }),
        "summary { id }",
    )
    .await;
    assert_eq!(user_error_codes(&bad_summary), ["BAD_USER_INPUT", "BAD_USER_INPUT"]);
    assert!(bad_summary["userErrors"].to_string().contains("give a URL or a DOI"), "{bad_summary}");
    let (delivered, _) = call(
        &app,
        &c.institution,
        "deliverSummary",
        "DeliverSummaryInput",
        json!({
            "commission": id,
            "title": "Fallførebygging for heimebuande eldre: ei systematisk oversikt",
            "abstract": "Gruppetrening med balanse reduserer fall.",
            "language": "nn",
            "doi": "10.1234/fall.2027",
            "authors": "Dahl S, Berg I",
        }),
        "summary { id }",
    )
    .await;
    let summary = delivered["summary"]["id"].clone();
    assert!(commission_as(&app, None, &id).await.is_null(), "not public before publication");
    assert!(
        commission_as(&app, Some(&hvl), &id).await["summary"].is_null(),
        "only the awarded institution sees it early"
    );

    // Publish: public summary, PUBLISHED commission, ANSWERED need.
    let (published, _) = call(
        &app,
        &c.coordinator,
        "publishSummary",
        "CommissionInput",
        json!({ "commission": id }),
        "commission { status }",
    )
    .await;
    assert_eq!(published["commission"]["status"], "PUBLISHED");
    let public = commission_as(&app, None, &id).await;
    assert_eq!(
        public["needs"]["nodes"],
        json!([{ "title": "Fallforebygging for eldre", "status": "ANSWERED" }])
    );
    assert_eq!(public["summary"]["language"], "nn");
    assert!(public["summary"]["published"].is_string());
    assert_eq!(public["interests"], json!([]), "proposals stay private");
    let kinds: Vec<(&str, Option<&str>)> = public["history"]["nodes"]
        .as_array()
        .expect("history")
        .iter()
        .map(|e| (e["kind"].as_str().unwrap_or(""), e["to"].as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("CREATED", None),
            ("STATUS_CHANGED", Some("OPEN")),
            ("INTEREST", None),
            ("INTEREST", None),
            ("INTEREST", None),
            ("STATUS_CHANGED", Some("AWARDED")),
            ("MILESTONE_ADDED", None),
            ("STATUS_CHANGED", Some("IN_PROGRESS")),
            ("PROGRESS", None),
            ("MILESTONE_DONE", None),
            ("STATUS_CHANGED", Some("DELIVERED")),
            ("STATUS_CHANGED", Some("PUBLISHED")),
        ]
    );
    let need_history = app
        .data(&format!(
            "query {{ node(id: \"{}\") {{ ... on Need {{ history {{ nodes {{ to }} }} }} }} }}",
            a.as_str().expect("id")
        ))
        .await;
    let tos: Vec<&str> = need_history["node"]["history"]["nodes"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["to"].as_str())
        .collect();
    assert_eq!(tos, ["SUBMITTED", "ACCEPTED", "PRIORITISED", "COMMISSIONED", "ANSWERED"]);

    // Uptake by the municipalities behind the need (owner and co-signer), and nobody else.
    let record = |token: &str, status: &str| {
        let token = token.to_owned();
        let status = status.to_owned();
        let summary = summary.clone();
        let app = &app;
        async move {
            call(
                app,
                &token,
                "recordUptake",
                "RecordUptakeInput",
                json!({ "summary": summary, "status": status, "note": "Brukt i planarbeidet" }),
                "uptake { status }",
            )
            .await
        }
    };
    assert_eq!(record(&c.bergen, "USED").await.0["uptake"]["status"], "USED");
    assert_eq!(record(&c.stavanger, "PLANNED").await.0["uptake"]["status"], "PLANNED");
    assert_eq!(
        user_error_codes(&record(&c.askoy, "USED").await.0),
        ["BAD_USER_INPUT"],
        "Askøy is not behind this need"
    );
    assert_eq!(record(&c.coordinator, "USED").await.1, ["FORBIDDEN"]);
    let uptake = commission_as(&app, None, &id).await["summary"]["uptake"]["nodes"].clone();
    assert_eq!(
        uptake,
        json!([
            { "municipality": { "code": "4601" }, "status": "USED", "note": "Brukt i planarbeidet" },
            { "municipality": { "code": "1103" }, "status": "PLANNED", "note": "Brukt i planarbeidet" },
        ])
    );
    let listed = app
        .data(
            "{ summaries(search: \"balanse\") { totalCount nodes { title } } \
             commissions(filter: { status: PUBLISHED }) { totalCount } }",
        )
        .await;
    assert_eq!(listed["summaries"]["totalCount"], 1);
    assert_eq!(listed["commissions"]["totalCount"], 1);
    let by_institution = app
        .data(&format!(
            "{{ node(id: \"{}\") {{ ... on Institution {{ commissions {{ totalCount }} }} }} }}",
            uib_id.as_str().expect("id")
        ))
        .await;
    assert_eq!(by_institution["node"]["commissions"]["totalCount"], 1);
}

#[both_databases]
async fn cancelling_awarded_work_gives_its_needs_back_to_the_pool(app: TestApp) {
    let c = cast(&app).await;
    let a = accepted_need(&app, &c.bergen, &c.cluster_coordinator, "Fallforebygging for eldre").await;
    let b = accepted_need(&app, &c.askoy, &c.cluster_coordinator, "Ernæring på sjukeheim").await;
    let (opened, _) = open_round(&app, &c.coordinator, &[&a, &b], 2).await;
    app.data_as(
        &c.coordinator,
        "mutation($r: ID!) { closeRound(input: { round: $r }) { round { status } } }",
        json!({ "r": opened["round"]["id"] }),
    )
    .await;
    let product =
        app.data("{ productTypes(first: 1) { nodes { id } } }").await["productTypes"]["nodes"][0]["id"]
            .clone();
    let institutions = app.data("{ institutions(first: 100) { nodes { id key } } }").await;
    let uib = institutions["institutions"]["nodes"]
        .as_array()
        .and_then(|l| l.iter().find(|i| i["key"] == "uib"))
        .expect("uib")["id"]
        .clone();
    let draft = |needs: Value| {
        json!({
            "question": "Kva verkar?",
            "productType": product,
            "deadline": "2999-01-01T00:00:00Z",
            "needs": needs,
        })
    };

    // Awarded (assigned directly), started, then cancelled: both needs are PRIORITISED again.
    let (created, _) = call(
        &app,
        &c.coordinator,
        "createCommission",
        "CreateCommissionInput",
        draft(json!([a, b])),
        "commission { id }",
    )
    .await;
    let first = created["commission"]["id"].clone();
    let (awarded, _) = call(
        &app,
        &c.coordinator,
        "awardCommission",
        "AwardCommissionInput",
        json!({ "commission": first, "institution": uib }),
        "commission { status needs { nodes { status } } }",
    )
    .await;
    assert_eq!(
        awarded["commission"]["needs"]["nodes"],
        json!([{ "status": "COMMISSIONED" }, { "status": "COMMISSIONED" }]),
        "{awarded}"
    );
    let (started, _) = call(
        &app,
        &c.institution,
        "reportProgress",
        "ReportProgressInput",
        json!({ "commission": first, "note": "I gang" }),
        "commission { status }",
    )
    .await;
    assert_eq!(started["commission"]["status"], "IN_PROGRESS");
    let (cancelled, _) = call(
        &app,
        &c.coordinator,
        "cancelCommission",
        "CommissionInput",
        json!({ "commission": first, "reason": "Instituttet trekte seg" }),
        "commission { status needs { nodes { status } } }",
    )
    .await;
    assert_eq!(cancelled["userErrors"], json!([]));
    assert_eq!(
        cancelled["commission"],
        json!({
            "status": "CANCELLED",
            "needs": { "nodes": [{ "status": "PRIORITISED" }, { "status": "PRIORITISED" }] },
        })
    );
    for need in [&a, &b] {
        let history = need_history(&app, &c.coordinator, need).await;
        let last = history.last().expect("events").clone();
        assert_eq!(last["kind"], "STATUS_CHANGED");
        assert_eq!((last["from"].as_str(), last["to"].as_str()), (Some("COMMISSIONED"), Some("PRIORITISED")));
        assert!(last["reason"].as_str().is_some_and(|r| r.contains("cancelled")), "{last}");
        assert_eq!(last["actor"]["name"], "Kari Nordmann");
    }

    // A new commission takes them and is awarded; they can also be withdrawn again.
    let (again, _) = call(
        &app,
        &c.coordinator,
        "createCommission",
        "CreateCommissionInput",
        draft(json!([a])),
        "commission { id }",
    )
    .await;
    assert_eq!(again["userErrors"], json!([]), "{again}");
    let (awarded, _) = call(
        &app,
        &c.coordinator,
        "awardCommission",
        "AwardCommissionInput",
        json!({ "commission": again["commission"]["id"], "institution": uib }),
        "commission { status needs { nodes { status } } }",
    )
    .await;
    assert_eq!(
        awarded["commission"],
        json!({ "status": "AWARDED", "needs": { "nodes": [{ "status": "COMMISSIONED" }] } })
    );
    let version = app
        .data(&format!("{{ node(id: \"{}\") {{ ... on Need {{ version }} }} }}", b.as_str().expect("id")))
        .await["node"]["version"]
        .clone();
    let (withdrawn, _) = call(
        &app,
        &c.askoy,
        "withdrawNeed",
        "NeedMoveInput",
        json!({ "need": b, "version": version }),
        "need { status }",
    )
    .await;
    assert_eq!(withdrawn["need"]["status"], "WITHDRAWN", "{withdrawn}");

    // Cancelling a draft or an open commission leaves its needs as they were.
    let d = accepted_need(&app, &c.stavanger, &c.other_cluster_coordinator, "Einsemd blant unge").await;
    let (opened, _) = open_round(&app, &c.coordinator, &[&d], 1).await;
    app.data_as(
        &c.coordinator,
        "mutation($r: ID!) { closeRound(input: { round: $r }) { round { status } } }",
        json!({ "r": opened["round"]["id"] }),
    )
    .await;
    let (created, _) = call(
        &app,
        &c.coordinator,
        "createCommission",
        "CreateCommissionInput",
        draft(json!([d])),
        "commission { id }",
    )
    .await;
    let (cancelled, _) = call(
        &app,
        &c.coordinator,
        "cancelCommission",
        "CommissionInput",
        json!({ "commission": created["commission"]["id"] }),
        "commission { status needs { nodes { status } } }",
    )
    .await;
    assert_eq!(
        cancelled["commission"],
        json!({ "status": "CANCELLED", "needs": { "nodes": [{ "status": "PRIORITISED" }] } })
    );
    let tos: Vec<String> = need_history(&app, &c.coordinator, &d)
        .await
        .iter()
        .filter_map(|e| e["to"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(tos, ["SUBMITTED", "ACCEPTED", "PRIORITISED"]);
}

#[both_databases]
async fn commissions_keep_to_their_region_and_roles(app: TestApp) {
    app.add_second_region().await;
    let c = cast(&app).await;
    let nord = app.token_for("Nils Nord", RoleArg::Coordinator, "rso-nord").await;
    let a = accepted_need(&app, &c.bergen, &c.cluster_coordinator, "Fallforebygging for eldre").await;
    let (opened, _) = open_round(&app, &c.coordinator, &[&a], 1).await;
    app.data_as(
        &c.coordinator,
        "mutation($r: ID!) { closeRound(input: { round: $r }) { round { status } } }",
        json!({ "r": opened["round"]["id"] }),
    )
    .await;
    let product =
        app.data("{ productTypes(first: 1) { nodes { id } } }").await["productTypes"]["nodes"][0]["id"]
            .clone();
    let input = json!({
        "question": "Kva verkar?",
        "productType": product,
        "deadline": "2999-01-01T00:00:00Z",
        "needs": [a],
    });
    let (_, errors) =
        call(&app, &nord, "createCommission", "CreateCommissionInput", input.clone(), "commission { id }")
            .await;
    assert_eq!(errors, ["FORBIDDEN"], "another region's coordinator cannot commission this region's need");
    for token in [&c.bergen, &c.institution, &c.cluster_coordinator] {
        let (_, errors) = call(
            &app,
            token,
            "createCommission",
            "CreateCommissionInput",
            input.clone(),
            "commission { id }",
        )
        .await;
        assert_eq!(errors, ["FORBIDDEN"]);
    }
    let (created, _) =
        call(&app, &c.coordinator, "createCommission", "CreateCommissionInput", input, "commission { id }")
            .await;
    let id = created["commission"]["id"].clone();
    let (hidden, _) = call(
        &app,
        &nord,
        "openCommission",
        "CommissionInput",
        json!({ "commission": id }),
        "commission { id }",
    )
    .await;
    assert_eq!(user_error_codes(&hidden), ["NOT_FOUND"], "a draft of another region cannot be seen");
    call(
        &app,
        &c.coordinator,
        "openCommission",
        "CommissionInput",
        json!({ "commission": id }),
        "commission { id }",
    )
    .await;
    let (hidden, _) = call(
        &app,
        &nord,
        "cancelCommission",
        "CommissionInput",
        json!({ "commission": id }),
        "commission { id }",
    )
    .await;
    assert_eq!(user_error_codes(&hidden), ["NOT_FOUND"], "another region's coordinator does not see it");
    let (_, errors) = call(
        &app,
        &c.cluster_coordinator,
        "cancelCommission",
        "CommissionInput",
        json!({ "commission": id }),
        "commission { id }",
    )
    .await;
    assert_eq!(errors, ["FORBIDDEN"], "visible to the region's members once open, but not theirs to change");
    let (_, errors) = call(
        &app,
        &c.bergen,
        "expressInterest",
        "ExpressInterestInput",
        json!({ "commission": id, "proposal": "Vi kan" }),
        "interest { proposal }",
    )
    .await;
    assert_eq!(errors, ["FORBIDDEN"], "interest is for institutions");
    let (cancelled, _) = call(
        &app,
        &c.coordinator,
        "cancelCommission",
        "CommissionInput",
        json!({ "commission": id, "reason": "Budsjettet vart kutta" }),
        "commission { status history { nodes { to note } } }",
    )
    .await;
    assert_eq!(cancelled["commission"]["status"], "CANCELLED");
    let (again, _) = call(
        &app,
        &c.coordinator,
        "openCommission",
        "CommissionInput",
        json!({ "commission": id }),
        "commission { id }",
    )
    .await;
    assert_eq!(user_error_codes(&again), ["CONFLICT"], "a cancelled commission stays cancelled");
}

#[both_databases]
async fn commissions_page_in_sql_forward_and_back_with_what_each_caller_may_see(app: TestApp) {
    sample::generate_needs(app.db(), 2_000, 11).await.expect("a sample dataset");
    let member = app.token_for("Forskar", RoleArg::InstitutionMember, "uib").await;
    let query = "query($first: Int, $after: String, $last: Int, $before: String, $s: [CommissionStatus!]) {
            commissions(first: $first, after: $after, last: $last, before: $before, filter: { status: $s }) {
                totalCount nodes { id status } pageInfo { hasNextPage hasPreviousPage startCursor \
                endCursor } } }";
    let ids = |page: &Value| -> Vec<String> {
        page["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["id"].as_str().map(str::to_owned))
            .collect()
    };
    for (token, statuses) in
        [(Some(&member), json!(null)), (None, json!(null)), (Some(&member), json!(["OPEN"]))]
    {
        let run = |vars: Value| {
            let app = &app;
            async move {
                let data = match token {
                    Some(t) => app.data_as(t, query, vars).await,
                    None => app.query_with(query, vars).await["data"].clone(),
                };
                data["commissions"].clone()
            }
        };
        let all = run(json!({ "first": 500, "s": statuses })).await;
        let every = ids(&all);
        assert!(every.len() > 10, "{all}");
        assert_eq!(all["totalCount"], every.len());
        if token.is_none() {
            assert!(all["nodes"].as_array().into_iter().flatten().all(|n| n["status"] == "PUBLISHED"));
        }
        // Forward, 7 at a time.
        let (mut forward, mut after) = (Vec::new(), Value::Null);
        loop {
            let page = run(json!({ "first": 7, "after": after, "s": statuses })).await;
            forward.extend(ids(&page));
            assert_eq!(page["totalCount"], every.len());
            if page["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(forward, every, "forward pages add up to the whole list, newest first");
        // Backward, 9 at a time.
        let (mut backward, mut before) = (Vec::new(), Value::Null);
        loop {
            let page = run(json!({ "last": 9, "before": before, "s": statuses })).await;
            let mut chunk = ids(&page);
            chunk.extend(backward);
            backward = chunk;
            if page["pageInfo"]["hasPreviousPage"] != true {
                break;
            }
            before = page["pageInfo"]["startCursor"].clone();
        }
        assert_eq!(backward, every, "backward pages add up to the same list");
    }
}
