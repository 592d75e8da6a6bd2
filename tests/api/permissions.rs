//! The permission matrix: every mutation, tried by every role from its own and from other
//! organisations. Only the allowed succeed; each step then runs as an allowed caller, which proves
//! the input was valid (so the refusals were about rights, not about input). A test also checks
//! that the matrix covers every mutation of the schema.

use std::collections::BTreeSet;

use knowledge_hub::config::RoleArg;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, both_databases, need_input},
    rounds::{accepted_need, all},
};

struct Matrix<'a> {
    app: &'a TestApp,
    /// Every caller: a name and a token (`None` for the public).
    actors: Vec<(&'static str, Option<String>)>,
    covered: BTreeSet<String>,
}

/// Whether a mutation's response is a success: no errors, no user errors.
fn succeeded(status: u16, body: &Value, mutation: &str) -> bool {
    status == 200
        && body.get("errors").is_none()
        && body["data"][mutation]["userErrors"].as_array().is_some_and(Vec::is_empty)
}

impl Matrix<'_> {
    async fn run(
        &self,
        token: Option<&str>,
        mutation: &str,
        input_type: &str,
        input: &Value,
        selection: &str,
    ) -> (u16, Value) {
        let document = format!(
            "mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ {selection} userErrors {{ code \
             field message }} }} }}"
        );
        let mut request = self
            .app
            .client
            .post(self.app.url("/graphql"))
            .json(&json!({ "query": document, "variables": { "input": input } }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("sent");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON"))
    }

    /// Every caller not in `allowed` fails; then the first allowed one succeeds. Returns its payload.
    async fn step(
        &mut self,
        mutation: &str,
        input_type: &str,
        input: Value,
        selection: &str,
        allowed: &[&str],
    ) -> Value {
        self.covered.insert(mutation.to_owned());
        for (name, token) in &self.actors {
            if allowed.contains(name) {
                continue;
            }
            let (status, body) = self.run(token.as_deref(), mutation, input_type, &input, selection).await;
            assert!(!succeeded(status, &body, mutation), "{name} must not succeed at {mutation}: {body}");
        }
        let token = self.actors.iter().find(|(name, _)| *name == allowed[0]).and_then(|(_, t)| t.clone());
        let (status, body) = self.run(token.as_deref(), mutation, input_type, &input, selection).await;
        assert!(succeeded(status, &body, mutation), "{} may {mutation}: {body}", allowed[0]);
        body["data"][mutation].clone()
    }

    fn token(&self, name: &str) -> String {
        self.actors.iter().find(|(n, _)| *n == name).and_then(|(_, t)| t.clone()).expect("a token")
    }

    async fn version(&self, need: &Value) -> Value {
        let body = self
            .app
            .data_as(
                &self.token("coordinator"),
                "query($id: ID!) { node(id: $id) { ... on Need { version } } }",
                json!({ "id": need }),
            )
            .await;
        body["node"]["version"].clone()
    }

    async fn submitted(&self, title: &str, theme: &Value) -> Value {
        let body = self
            .app
            .data_as(
                &self.token("bergen"),
                "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } } }",
                json!({ "input": need_input(title, theme) }),
            )
            .await;
        body["submitNeed"]["need"]["id"].clone()
    }
}

/// Vera coordinates RSO Vest, its first cluster, and is a member of Bergen and UiB; Nord's
/// coordinator gets her into Nord by e-mail and mints her a token; Vera mints a second with it.
async fn tokens_minted_in_nord_for_a_vest_coordinator(
    app: &TestApp,
    nord: &Option<String>,
) -> (String, String, Value) {
    let nord = nord.as_deref().expect("nord's token");
    for (role, organisation) in [
        (RoleArg::Coordinator, "rso-vest"),
        (RoleArg::UnitCoordinator, "kunnskapskommunen"),
        (RoleArg::UnitMember, "4601"),
        (RoleArg::InstitutionMember, "uib"),
    ] {
        app.token_for("Vera Vest", role, organisation).await;
    }
    let bodo = app.data(r#"{ municipality(code: "1804") { id } }"#).await["municipality"]["id"].clone();
    let registered = app
        .data_as(
            nord,
            "mutation($input: CreatePersonInput!) { createPerson(input: $input) { person { id } } }",
            json!({
                "input": {
                    "name": "Vera",
                    "email": "vera.vest@example.no",
                    "membership": { "role": "UNIT_MEMBER", "organisation": bodo },
                },
            }),
        )
        .await;
    let vera = registered["createPerson"]["person"]["id"].clone();
    let minted = app
        .data_as(
            nord,
            "mutation($p: ID!) { createToken(input: { person: $p, name: \"nord\" }) { secret } }",
            json!({ "p": vera }),
        )
        .await["createToken"]["secret"]
        .as_str()
        .expect("a secret")
        .to_owned();
    let again = app
        .data_as(&minted, "mutation { createToken(input: { name: \"again\" }) { secret } }", json!({}))
        .await["createToken"]["secret"]
        .as_str()
        .expect("a secret")
        .to_owned();
    (minted, again, vera)
}

fn id_of(list: &Value, field: &str, key: &str) -> Value {
    list.as_array().and_then(|l| l.iter().find(|i| i[field] == key)).expect("an item")["id"].clone()
}

#[both_databases]
async fn only_the_allowed_succeed_at_each_mutation(app: TestApp) {
    app.add_second_region().await;
    let actors = vec![
        ("public", None),
        ("bergen", Some(app.token_for("Ingrid Berg", RoleArg::UnitMember, "4601").await)),
        ("askoy", Some(app.token_for("Lars Vik", RoleArg::UnitMember, "4627").await)),
        ("stavanger", Some(app.token_for("Eva Stav", RoleArg::UnitMember, "1103").await)),
        ("kk", Some(app.token_for("Ola Hansen", RoleArg::UnitCoordinator, "kunnskapskommunen").await)),
        ("sr", Some(app.token_for("Siv Sande", RoleArg::UnitCoordinator, "sor-rogaland").await)),
        ("uib", Some(app.token_for("Sofie Dahl", RoleArg::InstitutionMember, "uib").await)),
        ("hvl", Some(app.token_for("Hans Vestland", RoleArg::InstitutionMember, "hvl").await)),
        ("coordinator", Some(app.token_for("Kari Nordmann", RoleArg::Coordinator, "rso-vest").await)),
        ("nord", Some(app.token_for("Nora Nord", RoleArg::Coordinator, "rso-nord").await)),
        ("ksf", Some(app.token_for("Kim Ksf", RoleArg::Coordinator, "ksf").await)),
        // Units and a partnership of other kinds, none of which reaches RSO Vest's needs.
        ("alna", Some(app.token_for("Amina Farah", RoleArg::UnitMember, "030112").await)),
        ("naermiljo", Some(app.token_for("Mari Nær", RoleArg::UnitCoordinator, "naermiljo").await)),
        ("omrade", Some(app.token_for("Nora Bakke", RoleArg::Coordinator, "omradesatsingene").await)),
    ];
    // Vera holds every role of RSO Vest; Nord's coordinator registers her in Nord and mints
    // her a token, and Vera mints another with that one. Both carry only what Nord granted
    // (a membership in Bodø), so neither may do anything in Vest (issue 16, item 1).
    let (via_nord, via_nord_again, vera) =
        tokens_minted_in_nord_for_a_vest_coordinator(&app, &actors[9].1).await;
    let mut actors = actors;
    actors.push(("vest-via-nord", Some(via_nord)));
    actors.push(("vest-via-nord-again", Some(via_nord_again)));
    let mut m = Matrix { app: &app, actors, covered: BTreeSet::new() };
    let refs = app
        .data(
            r#"{ regions { nodes { id key } } clusters { nodes { id key } } themes(first: 1) { nodes { id } }
            productTypes(first: 1) { nodes { id } } institutions(first: 100) { nodes { id key } }
            bergen: municipality(code: "4601") { id } askoy: municipality(code: "4627") { id } }"#,
        )
        .await;
    let vest = id_of(&refs["regions"]["nodes"], "key", "rso-vest");
    let kk = id_of(&refs["clusters"]["nodes"], "key", "kunnskapskommunen");
    let uib = id_of(&refs["institutions"]["nodes"], "key", "uib");
    let theme = refs["themes"]["nodes"][0]["id"].clone();
    let product = refs["productTypes"]["nodes"][0]["id"].clone();
    let (bergen, askoy) = (refs["bergen"]["id"].clone(), refs["askoy"]["id"].clone());

    // Needs.
    let mut input = need_input("Fallforebygging", &theme);
    input["municipality"] = bergen.clone();
    let n1 = m.step("submitNeed", "SubmitNeedInput", input, "need { id }", &["bergen"]).await["need"]["id"]
        .clone();
    m.step(
        "updateNeed",
        "UpdateNeedInput",
        json!({ "need": n1, "version": 1, "title": "Fallforebygging heime" }),
        "need { id }",
        &["bergen"],
    )
    .await;
    m.step(
        "cosignNeed",
        "CosignNeedInput",
        json!({ "need": n1, "municipality": askoy }),
        "need { id }",
        &["askoy", "ksf"],
    )
    .await;
    m.step(
        "withdrawCosignature",
        "CosignNeedInput",
        json!({ "need": n1, "municipality": askoy }),
        "need { id }",
        &["askoy", "ksf"],
    )
    .await;
    m.step(
        "linkEvidence",
        "LinkEvidenceInput",
        json!({ "need": n1, "title": "Ein oversikt", "url": "https://example.no/oversikt" }),
        "need { id }",
        &["coordinator"],
    )
    .await;
    let v = m.version(&n1).await;
    m.step(
        "acceptNeed",
        "NeedMoveInput",
        json!({ "need": n1, "version": v }),
        "need { id }",
        &["kk", "coordinator"],
    )
    .await;
    m.step(
        "setMunicipalityPopulation",
        "SetMunicipalityPopulationInput",
        json!({ "municipality": bergen, "population": 291_000 }),
        "municipality { id }",
        &["coordinator", "ksf"],
    )
    .await;

    // The reference data: a unit's partnerships' coordinators (RSO Vest's and KSF's for Bergen),
    // an institution's partnership's, KSF's for regions and counties.
    let project = m
        .step(
            "createOrganisation",
            "CreateOrganisationInput",
            json!({ "kind": "PROJECT", "name": "Prosjekt", "parent": bergen }),
            "organisation { id }",
            &["coordinator", "ksf"],
        )
        .await["organisation"]["id"]
        .clone();
    m.step(
        "renameOrganisation",
        "RenameOrganisationInput",
        json!({ "organisation": project, "name": "Prosjektet" }),
        "organisation { id }",
        &["coordinator", "ksf"],
    )
    .await;
    m.step(
        "moveOrganisation",
        "MoveOrganisationInput",
        json!({ "organisation": project, "parent": askoy }),
        "organisation { id }",
        &["coordinator", "ksf"],
    )
    .await;
    m.step(
        "closeOrganisation",
        "CloseOrganisationInput",
        json!({ "organisation": project }),
        "organisation { id }",
        &["coordinator", "ksf"],
    )
    .await;
    m.step(
        "addInstitution",
        "AddInstitutionInput",
        json!({ "key": "nla", "name": "NLA Høgskolen", "kind": "UNIVERSITY_COLLEGE", "partnership": "rso-vest" }),
        "organisation { id }",
        &["coordinator"],
    )
    .await;
    m.step(
        "createRegion",
        "CreateRegionInput",
        json!({ "key": "rso-sor", "name": "RSO Sør", "counties": ["42"] }),
        "organisation { id }",
        &["ksf"],
    )
    .await;
    m.step(
        "assignCounty",
        "AssignCountyInput",
        json!({ "region": "rso-sor", "county": "40" }),
        "organisation { id }",
        &["ksf"],
    )
    .await;

    let n2 = m.submitted("Einsemd", &theme).await;
    let v = m.version(&n2).await;
    m.step(
        "returnNeed",
        "NeedMoveInput",
        json!({ "need": n2, "version": v, "reason": "Meir bakgrunn" }),
        "need { id }",
        &["kk", "coordinator"],
    )
    .await;
    let v = m.version(&n2).await;
    m.step("resubmitNeed", "NeedMoveInput", json!({ "need": n2, "version": v }), "need { id }", &["bergen"])
        .await;
    let v = m.version(&n2).await;
    m.step(
        "rejectNeed",
        "NeedMoveInput",
        json!({ "need": n2, "version": v, "reason": "Utanfor mandatet" }),
        "need { id }",
        &["kk", "coordinator"],
    )
    .await;
    let n3 = m.submitted("Tilbaketrekt", &theme).await;
    let v = m.version(&n3).await;
    m.step("withdrawNeed", "NeedMoveInput", json!({ "need": n3, "version": v }), "need { id }", &["bergen"])
        .await;

    let kk_token = m.token("kk");
    let n4 = accepted_need(&app, &m.token("bergen"), &kk_token, "Overlevar").await;
    let n5 = accepted_need(&app, &m.token("bergen"), &kk_token, "Duplikat").await;
    m.step(
        "mergeNeeds",
        "MergeNeedsInput",
        json!({ "survivor": n4, "duplicates": [n5] }),
        "survivor { id }",
        &["coordinator"],
    )
    .await;
    m.step("unmergeNeed", "UnmergeNeedInput", json!({ "need": n5 }), "need { id }", &["coordinator"]).await;
    let n6 = accepted_need(&app, &m.token("bergen"), &kk_token, "Svara alt").await;
    app.data_as(
        &m.token("coordinator"),
        "mutation($n: ID!) { linkEvidence(input: { need: $n, \
         title: \"Svar\", url: \"https://example.no/svar\" }) { need { \
         id } } }",
        json!({ "n": n6 }),
    )
    .await;
    let v = m.version(&n6).await;
    m.step(
        "closeNeedWithExistingEvidence",
        "NeedMoveInput",
        json!({ "need": n6, "version": v }),
        "need { id }",
        &["coordinator"],
    )
    .await;

    // Up to the national level, and on from there to a national authority.
    let n8 = accepted_need(&app, &m.token("bergen"), &kk_token, "Nasjonalt").await;
    let v = m.version(&n8).await;
    m.step(
        "forwardNeed",
        "NeedMoveInput",
        json!({ "need": n8, "version": v, "reason": "Gjeld fleire regionar" }),
        "need { id }",
        &["coordinator"],
    )
    .await;
    let v = m.version(&n8).await;
    m.step(
        "passOnNeed",
        "PassOnNeedInput",
        json!({ "need": n8, "version": v, "to": "helsedirektoratet", "reason": "Eit nasjonalt ansvar" }),
        "need { id }",
        &["ksf"],
    )
    .await;

    // Rounds.
    let n7 = accepted_need(&app, &m.token("bergen"), &kk_token, "Ernæring").await;
    let round = m
        .step(
            "openRound",
            "OpenRoundInput",
            json!({
                "name": "Runde 2027",
                "closesAt": "2999-01-01T00:00:00Z",
                "candidates": [n1, n7],
                "prioritiseCount": 2,
            }),
            "round { id }",
            &["coordinator"],
        )
        .await["round"]["id"]
        .clone();
    let scoring = json!({ "round": round, "need": n1, "organisation": kk, "scores": all(4) });
    m.step("scoreNeed", "ScoreNeedInput", scoring.clone(), "round { id }", &["kk"]).await;
    m.step("reviseScores", "ScoreNeedInput", scoring.clone(), "round { id }", &["kk"]).await;
    m.step(
        "withdrawScores",
        "WithdrawScoresInput",
        json!({ "round": round, "need": n1, "organisation": kk }),
        "round { id }",
        &["kk"],
    )
    .await;
    for need in [&n1, &n7] {
        app.data_as(
            &kk_token,
            "mutation($input: ScoreNeedInput!) { scoreNeed(input: $input) { round { id } } }",
            json!({ "input": { "round": round, "need": need, "organisation": kk, "scores": all(4) } }),
        )
        .await;
    }
    m.step("closeRound", "CloseRoundInput", json!({ "round": round }), "round { id }", &["coordinator"])
        .await;

    // Commissions.
    let commission = |needs: Value| {
        json!({
            "question": "Kva verkar?",
            "productType": product,
            "deadline": "2999-01-01T00:00:00Z",
            "needs": needs,
        })
    };
    let c1 = m
        .step(
            "createCommission",
            "CreateCommissionInput",
            commission(json!([n1])),
            "commission { id }",
            &["coordinator"],
        )
        .await["commission"]["id"]
        .clone();
    let c2 = app
        .data_as(
            &m.token("coordinator"),
            "mutation($input: CreateCommissionInput!) { \
             createCommission(input: $input) { commission { id } } }",
            json!({ "input": commission(json!([n7])) }),
        )
        .await["createCommission"]["commission"]["id"]
        .clone();
    m.step(
        "cancelCommission",
        "CommissionInput",
        json!({ "commission": c2, "reason": "Slått saman" }),
        "commission { id }",
        &["coordinator"],
    )
    .await;
    m.step(
        "openCommission",
        "CommissionInput",
        json!({ "commission": c1 }),
        "commission { id }",
        &["coordinator"],
    )
    .await;
    m.step(
        "expressInterest",
        "ExpressInterestInput",
        json!({ "commission": c1, "institution": uib, "proposal": "Vi kan" }),
        "interest { proposal }",
        &["uib"],
    )
    .await;
    m.step(
        "awardCommission",
        "AwardCommissionInput",
        json!({ "commission": c1, "institution": uib }),
        "commission { id }",
        &["coordinator"],
    )
    .await;
    m.step(
        "reportProgress",
        "ReportProgressInput",
        json!({ "commission": c1, "note": "I gang" }),
        "commission { id }",
        &["uib"],
    )
    .await;
    let milestone = m
        .step(
            "addMilestone",
            "AddMilestoneInput",
            json!({ "commission": c1, "title": "Protokoll", "dueAt": "2999-01-01T00:00:00Z" }),
            "milestone { id }",
            &["uib"],
        )
        .await["milestone"]["id"]
        .clone();
    m.step(
        "completeMilestone",
        "CompleteMilestoneInput",
        json!({ "milestone": milestone }),
        "milestone { id }",
        &["uib"],
    )
    .await;
    let summary = m
        .step(
            "deliverSummary",
            "DeliverSummaryInput",
            json!({
                "commission": c1,
                "title": "Kunnskapsoppsummering",
                "abstract": "Samandrag",
                "language": "nn",
                "authors": "UiB",
                "doi": "10.1000/182",
            }),
            "summary { id }",
            &["uib"],
        )
        .await["summary"]["id"]
        .clone();
    m.step(
        "publishSummary",
        "CommissionInput",
        json!({ "commission": c1 }),
        "commission { id }",
        &["coordinator"],
    )
    .await;
    m.step(
        "recordUptake",
        "RecordUptakeInput",
        json!({ "summary": summary, "municipality": bergen, "status": "USED" }),
        "uptake { status }",
        &["bergen"],
    )
    .await;

    // People, memberships and tokens.
    let person = m
        .step(
            "createPerson",
            "CreatePersonInput",
            json!({ "name": "Per Person", "email": "per@example.no", "region": vest }),
            "person { id }",
            &["coordinator"],
        )
        .await["person"]["id"]
        .clone();
    let membership = m
        .step(
            "addMembership",
            "AddMembershipInput",
            json!({ "person": person, "role": "UNIT_MEMBER", "organisation": bergen }),
            "membership { id }",
            &["coordinator"],
        )
        .await["membership"]["id"]
        .clone();
    let token = m
        .step(
            "createToken",
            "CreateTokenInput",
            json!({ "person": person, "name": "Per sitt" }),
            "token { id }",
            &["coordinator"],
        )
        .await["token"]["id"]
        .clone();
    m.step("revokeToken", "RevokeTokenInput", json!({ "token": token }), "token { id }", &["coordinator"])
        .await;
    m.step(
        "removeMembership",
        "RemoveMembershipInput",
        json!({ "membership": membership }),
        "removedMembershipId",
        &["coordinator"],
    )
    .await;
    let nord = id_of(&refs["regions"]["nodes"], "key", "rso-nord");
    m.step(
        "unregisterPerson",
        "UnregisterPersonInput",
        json!({ "person": vera, "region": nord }),
        "person { id }",
        &["nord"],
    )
    .await;

    // Anyone with a token sets their own notification preferences (the mutation names no one).
    let everyone_with_a_token: Vec<&str> =
        m.actors.iter().filter(|(_, token)| token.is_some()).map(|(name, _)| *name).collect();
    m.step(
        "setNotificationPreferences",
        "SetNotificationPreferencesInput",
        json!({ "language": "NN", "preferences": [{ "kind": "NEED_STATUS_CHANGED", "cadence": "DIGEST" }] }),
        "viewer { language }",
        &everyone_with_a_token,
    )
    .await;
    // An institution's profile: its members, the coordinators of the partnership it is
    // registered with (RSO Vest for UiB) and the national coordinators.
    m.step(
        "setInstitutionProfile",
        "SetInstitutionProfileInput",
        json!({ "institution": uib, "themes": [theme], "productTypes": [] }),
        "institution { key }",
        &["uib", "coordinator", "ksf"],
    )
    .await;
    // Webhooks, last, so that no event of the steps above is ever meant for the endpoint: those
    // who may manage Bergen's (its serving partnerships' coordinators, RSO Vest's and KSF's, and
    // the coordinator of its cluster); to the rest the endpoint is as if it did not exist.
    let managers = ["coordinator", "kk", "ksf"];
    let webhook = m
        .step(
            "registerWebhook",
            "RegisterWebhookInput",
            json!({ "organisation": bergen, "url": "https://8.8.8.8/hooks", "events": ["NEED_CREATED"] }),
            "webhook { id } secret",
            &managers,
        )
        .await["webhook"]["id"]
        .clone();
    let input = json!({ "webhook": webhook });
    m.step("rotateWebhookSecret", "WebhookInput", input.clone(), "secret", &managers).await;
    m.step("disableWebhook", "DisableWebhookInput", input.clone(), "webhook { id }", &managers).await;
    m.step("enableWebhook", "WebhookInput", input.clone(), "webhook { id }", &managers).await;
    m.step("deleteWebhook", "WebhookInput", input, "deletedId", &managers).await;

    // Every mutation of the schema is in the matrix.
    let schema = knowledge_hub::graphql::schema::sdl();
    let mutations: BTreeSet<String> = schema
        .split("type Mutation {")
        .nth(1)
        .and_then(|rest| rest.split("\n}").next())
        .expect("the Mutation type")
        .lines()
        .filter_map(|line| line.trim().split_once("(input:").map(|(name, _)| name.to_owned()))
        .collect();
    assert_eq!(m.covered, mutations, "a mutation without a row in the matrix");
}
