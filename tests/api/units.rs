//! Needs raised by units of any kind, as Oslo's partnerships work: a district's need goes to the
//! pool of a partnership that takes its needs (named where two are equally near), is seen as a
//! draft by the district only, is reviewed by that partnership's coordinators, and is shared by
//! other units without counting a municipality twice; a sub-programme's need is prioritised in
//! Områdesatsingene's round (scored by a district and by OsloMet) and commissioned to OsloMet. And
//! up the tree: RSO Vest forwards a need to KSF, which co-signs it for a municipality of another
//! region, prioritises it in a national round, or passes a need on to a national authority.

use knowledge_hub::config::RoleArg;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    commissions::call,
    helpers::{TestApp, both_databases, cast, error_codes, user_error_codes},
    rounds::{accepted_need, all, round_as, score},
};

const SUBMIT: &str = "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) {
    need { id status organisation { name kind } municipality { code } partnership { key } }
    userErrors { field code message } } }";

const NEED: &str = "query($id: ID!) { node(id: $id) { ... on Need { title status organisation { name }
    reach { organisations municipalities inhabitants }
    cosignatures { nodes { organisation { name } municipality { code } } } } } }";

async fn theme(app: &TestApp) -> Value {
    app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone()
}

fn need_input(title: &str, theme: &Value, extra: Value) -> Value {
    let mut input = crate::helpers::need_input(title, theme);
    if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
        input.extend(extra.clone());
    }
    json!({ "input": input })
}

/// Drafts a commission answering `need` as `token`; returns it (`id`, `partnership`).
async fn commission_for(app: &TestApp, token: &str, need: &Value, question: &str) -> Value {
    let product =
        app.data("{ productTypes(first: 1) { nodes { id } } }").await["productTypes"]["nodes"][0]["id"]
            .clone();
    let (created, _) = call(
        app,
        token,
        "createCommission",
        "CreateCommissionInput",
        json!({ "question": question, "productType": product, "deadline": "2999-01-01T00:00:00Z",
            "needs": [need] }),
        "commission { id partnership { key } }",
    )
    .await;
    created["commission"].clone()
}

async fn move_need(
    app: &TestApp,
    token: &str,
    mutation: &str,
    need: &Value,
    version: i64,
) -> (Value, Vec<String>) {
    let (_, body) = app
        .query_as(
            token,
            &format!(
                "mutation($input: NeedMoveInput!) {{ {mutation}(input: $input) {{ need {{ status version }} \
                 userErrors {{ code }} }} }}"
            ),
            json!({ "input": { "need": need, "version": version } }),
        )
        .await;
    (body["data"][mutation].clone(), error_codes(&body))
}

#[both_databases]
async fn a_soendre_nordstrand_need_goes_to_the_partnership_named_and_stays_in_the_district_as_a_draft(
    app: TestApp,
) {
    let theme = theme(&app).await;
    let district = app.token_for("Jonas Lie", RoleArg::UnitMember, "030115").await;
    let alna = app.token_for("Amina Farah", RoleArg::UnitMember, "030112").await;
    let uko = app.token_for("Eirik Moen", RoleArg::Coordinator, "universitetskommunen-oslo").await;
    let programme = app.token_for("Nora Bakke", RoleArg::Coordinator, "omradesatsingene").await;

    // Two partnerships take Søndre Nordstrand's needs from equally near: the district names one.
    let ambiguous = app.data_as(&district, SUBMIT, need_input("Helse på Holmlia", &theme, json!({}))).await;
    let refusal = &ambiguous["submitNeed"]["userErrors"][0];
    assert_eq!(
        (refusal["field"].clone(), refusal["code"].as_str()),
        (json!(["input", "partnership"]), Some("BAD_USER_INPUT"))
    );
    let message = refusal["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("omradesatsingene") && message.contains("universitetskommunen-oslo"),
        "{message}"
    );
    let not_taken = app
        .data_as(
            &district,
            SUBMIT,
            need_input("Helse på Holmlia", &theme, json!({ "partnership": "rso-vest" })),
        )
        .await;
    assert_eq!(
        user_error_codes(&not_taken["submitNeed"]),
        ["BAD_USER_INPUT"],
        "RSO Vest takes no Oslo needs"
    );

    let drafted = app
        .data_as(
            &district,
            SUBMIT,
            need_input(
                "Helse på Holmlia",
                &theme,
                json!({ "partnership": "universitetskommunen-oslo", "draft": true }),
            ),
        )
        .await;
    let need = &drafted["submitNeed"]["need"];
    assert_eq!(
        (
            need["organisation"].clone(),
            need["municipality"]["code"].clone(),
            need["partnership"]["key"].clone()
        ),
        (
            json!({ "name": "Søndre Nordstrand", "kind": "DISTRICT" }),
            json!("0301"),
            json!("universitetskommunen-oslo")
        ),
        "{drafted}"
    );
    let id = need["id"].clone();

    // The draft is the district's: Alna, the coordinators and the public do not see it.
    for token in [&alna, &uko, &programme] {
        let seen = app.data_as(token, NEED, json!({ "id": id })).await;
        assert!(seen["node"].is_null(), "{seen}");
        let listed = app
            .data_as(token, "{ needs(filter: { organisation: \"030115\" }) { totalCount } }", json!({}))
            .await;
        assert_eq!(listed["needs"]["totalCount"], 0);
    }
    let mine = app
        .data_as(&district, "{ needs(filter: { organisation: \"030115\" }) { totalCount } }", json!({}))
        .await;
    assert_eq!(mine["needs"]["totalCount"], 1);
    let (edit, _) = move_need(&app, &alna, "resubmitNeed", &id, 1).await;
    assert_eq!(user_error_codes(&edit), ["NOT_FOUND"], "another district cannot touch it");

    let (submitted, _) = move_need(&app, &district, "resubmitNeed", &id, 1).await;
    assert_eq!(submitted["need"]["status"], "SUBMITTED", "{submitted}");
    // Områdesatsingene's coordinator does not review another partnership's pool.
    let (_, errors) = move_need(&app, &programme, "acceptNeed", &id, 2).await;
    assert_eq!(errors, ["FORBIDDEN"]);
    let (accepted, _) = move_need(&app, &uko, "acceptNeed", &id, 2).await;
    assert_eq!(accepted["need"]["status"], "ACCEPTED", "{accepted}");

    // Alna shares it, and Oslo kommune too: three units, one municipality.
    let oslo = app.token_for("Ola Oslo", RoleArg::UnitMember, "0301").await;
    for token in [&alna, &oslo] {
        let cosigned = app
            .data_as(
                token,
                "mutation($n: ID!) { cosignNeed(input: { need: $n }) { userErrors { code message } } }",
                json!({ "n": id }),
            )
            .await;
        assert_eq!(cosigned["cosignNeed"]["userErrors"], json!([]), "{cosigned}");
    }
    let shared = app.data_as(&alna, NEED, json!({ "id": id })).await["node"].clone();
    assert_eq!(shared["reach"]["organisations"], 3);
    assert_eq!(shared["reach"]["municipalities"], 1, "a district and its municipality count once");
    let oslo = entity::municipality::Entity::find()
        .filter(entity::municipality::Column::Code.eq("0301"))
        .one(app.db().conn())
        .await
        .expect("read")
        .expect("Oslo");
    assert_eq!(shared["reach"]["inhabitants"], json!(oslo.population.map(i64::from)), "Oslo's, once");
    assert_eq!(
        shared["cosignatures"]["nodes"],
        json!([
            { "organisation": { "name": "Alna" }, "municipality": { "code": "0301" } },
            { "organisation": { "name": "Oslo" }, "municipality": { "code": "0301" } },
        ])
    );
}

#[both_databases]
async fn a_sub_programme_need_is_prioritised_in_omradesatsingene_and_commissioned_to_oslomet(app: TestApp) {
    let theme = theme(&app).await;
    let naermiljo = app.token_for("Mari Nær", RoleArg::UnitMember, "naermiljo").await;
    let alna = app.token_for("Ali Alna", RoleArg::UnitCoordinator, "030112").await;
    let programme = app.token_for("Nora Bakke", RoleArg::Coordinator, "omradesatsingene").await;
    let oslomet = app.token_for("Hanne Strand", RoleArg::InstitutionMember, "oslomet").await;
    let bergen = app.token_for("Ingrid Berg", RoleArg::UnitMember, "4601").await;

    // Områdesatsingene takes the sub-programme's needs from nearer than KSF does.
    let submitted =
        app.data_as(&naermiljo, SUBMIT, need_input("Møteplassar i nærmiljøet", &theme, json!({}))).await;
    let need = submitted["submitNeed"]["need"].clone();
    assert_eq!(
        (
            need["organisation"]["kind"].as_str(),
            need["partnership"]["key"].as_str(),
            need["municipality"]["code"].as_str()
        ),
        (Some("SUB_PROGRAMME"), Some("omradesatsingene"), Some("0301")),
        "{submitted}"
    );
    let id = need["id"].clone();
    let (accepted, _) = move_need(&app, &programme, "acceptNeed", &id, 1).await;
    assert_eq!(accepted["need"]["status"], "ACCEPTED");
    let other = app.data_as(&bergen, SUBMIT, need_input("Eit Bergen-behov", &theme, json!({}))).await;
    assert_eq!(other["submitNeed"]["need"]["partnership"]["key"], "rso-vest");

    // A round of Områdesatsingene: a Bergen need is not its to prioritise.
    let open = |candidates: Vec<Value>| {
        json!({ "input": { "partnership": "omradesatsingene", "name": "Områdesatsingene 2027",
            "closesAt": "2999-01-01T00:00:00Z", "candidates": candidates, "prioritiseCount": 1 } })
    };
    const OPEN: &str = "mutation($input: OpenRoundInput!) { openRound(input: $input) {
        round { id partnership { key } } userErrors { field code } } }";
    let foreign = app.data_as(&programme, OPEN, open(vec![other["submitNeed"]["need"]["id"].clone()])).await;
    assert_eq!(user_error_codes(&foreign["openRound"]).len(), 1, "{foreign}");
    let opened = app.data_as(&programme, OPEN, open(vec![id.clone()])).await;
    assert_eq!(opened["openRound"]["round"]["partnership"]["key"], "omradesatsingene", "{opened}");
    let round = opened["openRound"]["round"]["id"].clone();

    // Alna's unit coordinator and OsloMet score; a Bergen member may not even see the round.
    const SCORE: &str = "mutation($input: ScoreNeedInput!) { scoreNeed(input: $input) {
        round { ranking { nodes { scores { organisation { __typename ... on Organisation { name }
            ... on Institution { key } } value } } } } userErrors { code message } } }";
    for token in [&alna, &oslomet] {
        let scored = app
            .data_as(token, SCORE, json!({ "input": { "round": round, "need": id, "scores": all(4) } }))
            .await;
        assert_eq!(scored["scoreNeed"]["userErrors"], json!([]), "{scored}");
    }
    let (_, body) = app
        .query_as(&bergen, SCORE, json!({ "input": { "round": round, "need": id, "scores": all(1) } }))
        .await;
    assert!(
        !error_codes(&body).is_empty() || !user_error_codes(&body["data"]["scoreNeed"]).is_empty(),
        "{body}"
    );
    let closed = app
        .data_as(
            &programme,
            "mutation($r: ID!) { closeRound(input: { round: $r }) { round { ranking { nodes {
                need { status } scoreCount scores { organisation { __typename } } } } } } }",
            json!({ "r": round }),
        )
        .await;
    let line = &closed["closeRound"]["round"]["ranking"]["nodes"][0];
    assert_eq!(
        (line["need"]["status"].as_str(), line["scoreCount"].as_i64()),
        (Some("PRIORITISED"), Some(2)),
        "{closed}"
    );

    // Commissioned by Områdesatsingene and awarded to OsloMet.
    let created =
        commission_for(&app, &programme, &id, "Kva gjer møteplassar i nærmiljøet med einsemd?").await;
    assert_eq!(created["partnership"]["key"], "omradesatsingene", "{created}");
    let commission = created["id"].clone();
    let (opened, _) = call(
        &app,
        &programme,
        "openCommission",
        "CommissionInput",
        json!({ "commission": commission }),
        "commission { status }",
    )
    .await;
    assert_eq!(opened["commission"]["status"], "OPEN");
    let (interest, _) = call(
        &app,
        &oslomet,
        "expressInterest",
        "ExpressInterestInput",
        json!({ "commission": commission, "proposal": "Kunnskapsoppsummering på fire månader" }),
        "interest { proposal }",
    )
    .await;
    assert_eq!(interest["userErrors"], json!([]), "{interest}");
    let institution = app.data("{ institution(key: \"oslomet\") { id } }").await["institution"]["id"].clone();
    let (awarded, _) = call(
        &app,
        &programme,
        "awardCommission",
        "AwardCommissionInput",
        json!({ "commission": commission, "institution": institution }),
        "commission { status awardedInstitution { key } }",
    )
    .await;
    assert_eq!(
        awarded["commission"],
        json!({ "status": "AWARDED", "awardedInstitution": { "key": "oslomet" } }),
        "{awarded}"
    );
}

#[both_databases]
async fn a_need_accepted_by_rso_vest_goes_to_ksf_is_shared_across_regions_and_prioritised_nationally(
    app: TestApp,
) {
    let c = cast(&app).await;
    let ksf = app.token_for("Per Ås", RoleArg::Coordinator, "ksf").await;
    let trondheim = app.token_for("Trude Heim", RoleArg::UnitMember, "5001").await;
    let need = accepted_need(&app, &c.bergen, &c.cluster_coordinator, "Bustadsosialt arbeid").await;
    const FORWARD: &str = "mutation($input: NeedMoveInput!) { forwardNeed(input: $input) {
        need { status version partnership { key } } userErrors { field code } } }";
    let forward = |reason: Option<&str>| json!({ "input": { "need": need, "version": 2, "reason": reason } });

    // Only RSO Vest's coordinators forward its needs, and they say why.
    for token in [&c.cluster_coordinator, &ksf] {
        let (_, body) = app.query_as(token, FORWARD, forward(Some("Nasjonal interesse"))).await;
        assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    }
    let silent = app.data_as(&c.coordinator, FORWARD, forward(None)).await;
    assert_eq!(user_error_codes(&silent["forwardNeed"]), ["BAD_USER_INPUT"]);
    let forwarded =
        app.data_as(&c.coordinator, FORWARD, forward(Some("Gjeld kommunar i fleire regionar"))).await;
    assert_eq!(
        forwarded["forwardNeed"]["need"],
        json!({ "status": "FORWARDED", "version": 3, "partnership": { "key": "ksf" } }),
        "{forwarded}"
    );
    // Now it is KSF's: RSO Vest cannot curate it any more, KSF sees it with the needs of every region.
    let again = json!({ "input": { "need": need, "version": 3, "reason": "igjen" } });
    let (_, body) = app.query_as(&c.coordinator, FORWARD, again).await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    let pool = app
        .data_as(
            &ksf,
            "{ needs(filter: { partnership: \"ksf\", status: [FORWARDED] }) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(pool["needs"]["nodes"], json!([{ "id": need }]));

    // KSF co-signs on behalf of Trondheim, in another region; a Trondheim member could not for Bergen.
    const COSIGN: &str = "mutation($n: ID!, $o: ID) { cosignNeed(input: { need: $n, organisation: $o }) {
        need { reach { organisations municipalities } } userErrors { code } } }";
    let (_, body) = app.query_as(&trondheim, COSIGN, json!({ "n": need, "o": "4601" })).await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    let shared = app.data_as(&ksf, COSIGN, json!({ "n": need, "o": "5001" })).await;
    assert_eq!(
        shared["cosignNeed"]["need"]["reach"],
        json!({ "organisations": 2, "municipalities": 2 }),
        "{shared}"
    );

    // A national round: the need is a candidate, a cluster (served by KSF too) scores it.
    let opened = app
        .data_as(
            &ksf,
            "mutation($input: OpenRoundInput!) { openRound(input: $input) { round { id partnership { key } } userErrors { code } } }",
            json!({ "input": { "name": "Nasjonal runde 2027", "closesAt": "2999-01-01T00:00:00Z",
                "candidates": [need], "prioritiseCount": 1 } }),
        )
        .await;
    assert_eq!(opened["openRound"]["round"]["partnership"]["key"], "ksf", "{opened}");
    let round = opened["openRound"]["round"]["id"].clone();
    let (scored, errors) = score(&app, &c.cluster_coordinator, "scoreNeed", &round, &need, all(5)).await;
    assert!(errors.is_empty() && user_error_codes(&scored).is_empty(), "{scored}");
    let closed = app
        .data_as(
            &ksf,
            "mutation($r: ID!) { closeRound(input: { round: $r }) { round { ranking { nodes { need { status } } } } } }",
            json!({ "r": round }),
        )
        .await;
    assert_eq!(
        closed["closeRound"]["round"]["ranking"]["nodes"][0]["need"]["status"], "PRIORITISED",
        "{closed}"
    );

    // And a national commission answers it.
    let created = commission_for(&app, &ksf, &need, "Kva verkar i bustadsosialt arbeid?").await;
    assert_eq!(created["partnership"]["key"], "ksf", "{created}");

    // The history says where it came from and who shared it.
    let history = app
        .data(&format!(
            "{{ node(id: {need}) {{ ... on Need {{ history {{ nodes {{ kind to reason forwardedFrom {{ key }} organisation {{ name }} }} }} }} }} }}"
        ))
        .await;
    let events = history["node"]["history"]["nodes"].as_array().cloned().unwrap_or_default();
    assert!(
        events.iter().any(|e| e["to"] == "FORWARDED"
            && e["forwardedFrom"]["key"] == "rso-vest"
            && e["reason"] == "Gjeld kommunar i fleire regionar"),
        "{history}"
    );
    assert!(
        events.iter().any(|e| e["kind"] == "COSIGNED"
            && e["organisation"]["name"].as_str().is_some_and(|n| n.starts_with("Trondheim"))),
        "{history}"
    );
}

#[both_databases]
async fn the_national_level_passes_a_need_on_to_a_national_authority(app: TestApp) {
    let c = cast(&app).await;
    let ksf = app.token_for("Per Ås", RoleArg::Coordinator, "ksf").await;
    let need =
        accepted_need(&app, &c.bergen, &c.cluster_coordinator, "Legemiddelhandtering i heimetenesta").await;
    const PASS_ON: &str = "mutation($input: PassOnNeedInput!) { passOnNeed(input: $input) {
        need { status history { nodes { to organisation { name kind } } } } userErrors { field code } } }";
    let pass_on = |version: i32, to: &str| json!({ "input": { "need": need, "version": version, "to": to, "reason": "Eit nasjonalt ansvar" } });
    // Not before it is at the national level.
    let early = app.data_as(&c.coordinator, PASS_ON, pass_on(2, "helsedirektoratet")).await;
    assert_eq!(user_error_codes(&early["passOnNeed"]), ["CONFLICT"], "{early}");
    app.data_as(
        &c.coordinator,
        "mutation($n: ID!) { forwardNeed(input: { need: $n, version: 2, reason: \"Nasjonalt\" }) { need { status } } }",
        json!({ "n": need }),
    )
    .await;
    let not_authority = app.data_as(&ksf, PASS_ON, pass_on(3, "4601")).await;
    assert_eq!(
        user_error_codes(&not_authority["passOnNeed"]),
        ["BAD_USER_INPUT"],
        "a municipality is no authority"
    );
    let passed = app.data_as(&ksf, PASS_ON, pass_on(3, "helsedirektoratet")).await;
    let passed = &passed["passOnNeed"]["need"];
    assert_eq!(passed["status"], "PASSED_ON", "{passed}");
    let last = passed["history"]["nodes"].as_array().and_then(|e| e.last()).cloned().unwrap_or_default();
    assert_eq!(last["organisation"], json!({ "name": "Helsedirektoratet", "kind": "STATE_PARTNER" }));
    // Passed on is finished: nothing moves it further.
    let (_, body) = app
        .query_as(
            &c.bergen,
            "mutation($n: ID!) { withdrawNeed(input: { need: $n, version: 4 }) { userErrors { code } } }",
            json!({ "n": need }),
        )
        .await;
    assert!(
        !error_codes(&body).is_empty() || body["data"]["withdrawNeed"]["userErrors"] != json!([]),
        "{body}"
    );
}

/// Units of any kind score, so a national round could gather a need's scores from every unit of
/// the country: the 17th scoring organisation of one need is refused, which is what its ranking's
/// `scores` are priced at.
#[both_databases]
async fn a_round_takes_a_bounded_number_of_scoring_organisations_for_a_need(app: TestApp) {
    let c = cast(&app).await;
    let ksf = app.token_for("Per Ås", RoleArg::Coordinator, "ksf").await;
    let need = accepted_need(&app, &c.bergen, &c.cluster_coordinator, "Mange vil skåre").await;
    app.data_as(
        &c.coordinator,
        "mutation($n: ID!) { forwardNeed(input: { need: $n, version: 2, reason: \"Nasjonalt\" }) { need { status } } }",
        json!({ "n": need }),
    )
    .await;
    let opened = app
        .data_as(
            &ksf,
            "mutation($input: OpenRoundInput!) { openRound(input: $input) { round { id } } }",
            json!({ "input": { "name": "Nasjonal runde", "closesAt": "2999-01-01T00:00:00Z",
                "candidates": [need], "prioritiseCount": 1 } }),
        )
        .await;
    let round = opened["openRound"]["round"]["id"].clone();
    // Sixteen of Trøndelag's municipalities, through their unit coordinators: KSF serves them.
    let codes = [
        "5001", "5006", "5007", "5014", "5020", "5021", "5022", "5025", "5026", "5027", "5028", "5029",
        "5031", "5032", "5033", "5034", "5035",
    ];
    for (i, code) in codes.iter().enumerate() {
        let token = app.token_for(&format!("Skårar {code}"), RoleArg::UnitCoordinator, code).await;
        let (payload, errors) = score(&app, &token, "scoreNeed", &round, &need, all(3)).await;
        assert!(errors.is_empty(), "{errors:?}");
        let expected: Vec<&str> = if i < 16 { vec![] } else { vec!["CONFLICT"] };
        assert_eq!(user_error_codes(&payload), expected, "scorer {}: {payload}", i + 1);
    }
    let ranked = round_as(&app, &ksf, &round).await;
    assert_eq!(ranked["ranking"]["nodes"][0]["scoreCount"], 16, "{ranked}");
}

/// `needStats.byDistrict` counts each city district's needs, most first, and leaves out needs
/// raised outside any district.
#[both_databases]
async fn need_stats_count_each_districts_needs_through_the_tree(app: TestApp) {
    let theme = theme(&app).await;
    let c = cast(&app).await;
    let sondre_nordstrand = app.token_for("Jonas Lie", RoleArg::UnitMember, "030115").await;
    let alna = app.token_for("Amina Farah", RoleArg::UnitMember, "030112").await;
    let to_programme = json!({ "partnership": "omradesatsingene" });
    for (token, title) in [
        (&sondre_nordstrand, "Helse på Holmlia"),
        (&sondre_nordstrand, "Skole på Mortensrud"),
        (&alna, "Trygghet på Furuset"),
    ] {
        let submitted = app.data_as(token, SUBMIT, need_input(title, &theme, to_programme.clone())).await;
        assert_eq!(submitted["submitNeed"]["userErrors"], json!([]), "{submitted}");
    }
    let bergen = app.data_as(&c.bergen, SUBMIT, need_input("Helse i Bergen", &theme, json!({}))).await;
    assert_eq!(bergen["submitNeed"]["userErrors"], json!([]), "{bergen}");

    let stats =
        app.data("{ needStats { total byDistrict { district { code kind } count } } }").await["needStats"]
            .clone();
    assert_eq!(stats["total"], 4);
    assert_eq!(
        stats["byDistrict"],
        json!([
            { "district": { "code": "030115", "kind": "DISTRICT" }, "count": 2 },
            { "district": { "code": "030112", "kind": "DISTRICT" }, "count": 1 },
        ])
    );
    let filtered = app
        .data_as(
            &c.bergen,
            "query($f: NeedFilter) { needStats(filter: $f) { byDistrict { count } } }",
            json!({ "f": { "organisation": "4601" } }),
        )
        .await;
    assert_eq!(filtered["needStats"]["byDistrict"], json!([]), "Bergen's needs are in no district");
}
