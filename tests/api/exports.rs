//! Exports: the CSV and XLSX files of the export links, read back with `csv` and `calamine`, hold
//! exactly what the GraphQL field they mirror answers the same caller (the public, a municipality
//! with drafts, coordinators); personal data only for callers with a token, and such an export
//! is audited; an export is priced by its items (429 when the budget cannot pay); a link that
//! was changed, has expired or whose token was revoked is refused with its code.

use std::io::Cursor;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use chrono::Utc;
use knowledge_hub::{
    db::notify::keys,
    export::{Format, Kind, Link},
    signing::SigningKey,
};
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, TestApp, both_databases, cast, error_codes, need_input},
    rounds::{accepted_need, all, open_round, score},
};

/// Submits a need (or a draft) as `token`; returns its id.
async fn submit(app: &TestApp, token: &str, title: &str, draft: bool) -> Value {
    let themes = app.data("{ themes(first: 100) { nodes { id key } } }").await;
    let theme = themes["themes"]["nodes"][0]["id"].clone();
    let mut input = need_input(title, &theme);
    input["draft"] = json!(draft);
    let data = app
        .data_as(
            token,
            "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } userErrors { code } } }",
            json!({ "input": input }),
        )
        .await;
    data["submitNeed"]["need"]["id"].clone()
}

/// The `data` of `query` as `token` (the public with `None`), which must succeed.
async fn data_of(app: &TestApp, token: Option<&str>, query: &str) -> Value {
    let body = match token {
        Some(token) => app.query_as(token, query, json!({})).await.1,
        None => app.query(query).await,
    };
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

/// The export link a field answers `token` (the public with `None`).
async fn link(app: &TestApp, token: Option<&str>, field: &str, args: &str) -> String {
    let args = if args.is_empty() { String::new() } else { format!("({args})") };
    let data = data_of(app, token, &format!("{{ {field}{args} {{ url expiresAt format }} }}")).await;
    data[field]["url"].as_str().expect("a url").to_owned()
}

/// Each node as many times as its inner list `field` has items, once if it has none: the rows of
/// an export of a list within a list.
fn one_row_per(nodes: &[Value], field: &str) -> Vec<Value> {
    nodes
        .iter()
        .flat_map(|n| {
            let count = n[field]["nodes"].as_array().map_or(0, Vec::len).max(1);
            std::iter::repeat_n(n.clone(), count)
        })
        .collect()
}

/// A downloaded file: status, headers and body.
pub(crate) struct Download {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) disposition: String,
    pub(crate) retry_after: Option<String>,
    pub(crate) body: Vec<u8>,
}

pub(crate) async fn download(app: &TestApp, url: &str) -> Download {
    let response = app.client.get(url).send().await.expect("the request is sent");
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (content_type, disposition, retry_after) = (
        header("content-type").unwrap_or_default(),
        header("content-disposition").unwrap_or_default(),
        header("retry-after"),
    );
    Download {
        status: response.status().as_u16(),
        content_type,
        disposition,
        retry_after,
        body: response.bytes().await.expect("a body").to_vec(),
    }
}

/// The rows of a CSV file (headings first), after its byte order mark.
pub(crate) fn csv_rows(body: &[u8]) -> Vec<Vec<String>> {
    let text = body.strip_prefix("\u{feff}".as_bytes()).expect("a byte order mark");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text)
        .records()
        .map(|r| r.expect("a record").iter().map(str::to_owned).collect())
        .collect()
}

/// The rows of an XLSX file's sheet (headings first), as text.
pub(crate) fn xlsx_rows(body: &[u8]) -> Vec<Vec<String>> {
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(body.to_vec())).expect("a workbook");
    let sheet = workbook.worksheet_range_at(0).expect("a sheet").expect("readable");
    sheet
        .rows()
        .map(|row| {
            row.iter()
                .map(|cell| match cell {
                    Data::Empty => String::new(),
                    Data::String(text) => text.clone(),
                    Data::Float(n) => n.to_string(),
                    Data::Int(n) => n.to_string(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

/// The cells of the column headed `heading`, below the headings.
fn column(rows: &[Vec<String>], heading: &str) -> Option<Vec<String>> {
    let index = rows.first()?.iter().position(|h| h == heading)?;
    Some(rows[1..].iter().map(|row| row[index].clone()).collect())
}

/// `needs` as `token` sees it, in the columns the file compares.
async fn needs_as(app: &TestApp, token: Option<&str>, args: &str) -> Vec<Value> {
    let query = format!(
        "{{ needs({args} first: 500) {{ nodes {{ id title status municipality {{ code }} createdAt
            reach {{ municipalities }} contactPerson {{ name email }} }} }} }}"
    );
    data_of(app, token, &query).await["needs"]["nodes"].as_array().expect("nodes").clone()
}

fn texts(nodes: &[Value], pick: impl Fn(&Value) -> &Value) -> Vec<String> {
    nodes
        .iter()
        .map(|n| match pick(n) {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

#[both_databases]
async fn needs_files_hold_what_needs_answers_each_caller_row_for_row(app: TestApp) {
    let c = cast(&app).await;
    submit(&app, &c.bergen, "Fallforebygging for eldre", false).await;
    submit(&app, &c.bergen, "Bergens utkast om skulevegring", true).await;
    submit(&app, &c.askoy, "Askøys behov for «betre» data, med komma", false).await;
    submit(&app, &c.askoy, "Askøys hemmelege utkast", true).await;
    submit(&app, &c.stavanger, "Stavanger: rus og psykisk helse\nover to linjer", false).await;
    let callers: [(&str, Option<&str>); 5] = [
        ("public", None),
        ("Bergen, with a draft", Some(&c.bergen)),
        ("Askøy, with a draft", Some(&c.askoy)),
        ("RSO Vest's coordinator", Some(&c.coordinator)),
        ("a cluster coordinator", Some(&c.cluster_coordinator)),
    ];
    for (who, token) in callers {
        for (args, format) in [("", "CSV"), ("", "XLSX"), ("search: \"Askøys\",", "CSV")] {
            let url =
                link(&app, token, "needsExport", &format!("{args} format: {format}, language: EN")).await;
            let file = download(&app, &url).await;
            assert_eq!(file.status, 200, "{who} {format}: {}", String::from_utf8_lossy(&file.body));
            let rows = if format == "CSV" {
                assert_eq!(file.content_type, "text/csv; charset=utf-8");
                csv_rows(&file.body)
            } else {
                assert_eq!(file.content_type, Format::Xlsx.content_type());
                xlsx_rows(&file.body)
            };
            let extension = format.to_lowercase();
            assert!(
                file.disposition.starts_with("attachment; filename=\"needs-")
                    && file.disposition.ends_with(&format!(".{extension}\"")),
                "{}",
                file.disposition
            );
            let expected = needs_as(&app, token, args).await;
            assert!(!expected.is_empty(), "{who}: a dataset to compare");
            let compared = [
                ("ID", texts(&expected, |n| &n["id"])),
                ("Title", texts(&expected, |n| &n["title"])),
                ("Status", texts(&expected, |n| &n["status"])),
                ("Municipality number", texts(&expected, |n| &n["municipality"]["code"])),
                ("Created", texts(&expected, |n| &n["createdAt"])),
                ("Municipalities sharing it", texts(&expected, |n| &n["reach"]["municipalities"])),
            ];
            for (heading, cells) in compared {
                assert_eq!(column(&rows, heading), Some(cells), "{who} {format} {args}: {heading}");
            }
            let contact = column(&rows, "Contact person");
            let email = column(&rows, "Contact person's e-mail");
            if token.is_none() {
                assert_eq!((contact, email), (None, None), "no personal data columns for the public");
            } else {
                assert_eq!(contact, Some(texts(&expected, |n| &n["contactPerson"]["name"])), "{who}");
                assert_eq!(email, Some(texts(&expected, |n| &n["contactPerson"]["email"])), "{who}");
            }
        }
    }
    // Bergen's file has its draft and not Askøy's; the public's neither.
    let bergen = csv_rows(&download(&app, &link(&app, Some(&c.bergen), "needsExport", "").await).await.body);
    let titles = column(&bergen, "Tittel").expect("Norwegian headings by default");
    assert!(titles.iter().any(|t| t == "Bergens utkast om skulevegring"));
    assert!(!titles.iter().any(|t| t == "Askøys hemmelege utkast"));
    let nynorsk =
        csv_rows(&download(&app, &link(&app, None, "needsExport", "language: NN").await).await.body);
    assert!(column(&nynorsk, "Partnarskap").is_some(), "{:?}", nynorsk[0]);
}

#[both_databases]
async fn an_export_with_personal_data_is_audited_and_the_publics_is_not(app: TestApp) {
    let c = cast(&app).await;
    submit(&app, &c.bergen, "Fallforebygging for eldre", false).await;
    let exports = |rows: Vec<Value>| {
        rows.into_iter().filter(|r| r["audit_event"]["action"] == "export.needs").collect::<Vec<_>>()
    };
    let public = download(&app, &link(&app, None, "needsExport", "").await).await;
    assert_eq!(public.status, 200);
    assert!(exports(app.audit_rows().await).is_empty());
    let url =
        link(&app, Some(&c.coordinator), "needsExport", "filter: { status: [SUBMITTED] }, format: XLSX")
            .await;
    assert_eq!(download(&app, &url).await.status, 200);
    let events = exports(app.audit_rows().await);
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0]["audit_event"];
    assert_eq!(event["outcome"], "OK");
    assert!(event["actor_person_id"].is_number() && event["actor_token_id"].is_number(), "{event}");
    assert!(event["partnership_id"].is_number(), "in RSO Vest's log: {event}");
    let detail: Value = serde_json::from_str(event["detail"].as_str().expect("a detail")).expect("JSON");
    assert_eq!(detail["items"], 1);
    assert_eq!(detail["format"], "xlsx");
    assert_eq!(detail["arguments"]["filter"]["status"], json!(["SUBMITTED"]));
    assert!(!event.to_string().contains('@'), "no e-mail address in the log");
}

#[tokio::test]
async fn an_export_its_budget_cannot_pay_is_429_before_a_byte() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        budget_pays_then_refuses(backend).await;
    }
}

async fn budget_pays_then_refuses(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| settings.rate_limit = 60).await;
    let c = cast(&app).await;
    for n in 0..3 {
        submit(&app, &c.bergen, &format!("Behov nummer {n} om eldre"), false).await;
    }
    // 3 needs cost 1 + 3 * 43 / 100 = 2 points: affordable.
    let url = link(&app, Some(&c.coordinator), "needsExport", "").await;
    let paid = app.client.get(&url).send().await.expect("sent");
    assert_eq!(paid.status(), 200);
    let cost: u32 = paid.headers()["x-ratelimit-cost"].to_str().expect("text").parse().expect("a number");
    assert_eq!(cost, 2, "priced by its items");
    // Spend the rest of the hour's 60 points, then the same export is refused.
    let mut refused = None;
    for _ in 0..60 {
        let file = download(&app, &url).await;
        if file.status == 429 {
            refused = Some(file);
            break;
        }
    }
    let refused = refused.expect("the budget runs out");
    assert!(refused.retry_after.is_some_and(|s| s.parse::<u64>().is_ok_and(|s| s >= 1)));
    let body: Value = serde_json::from_slice(&refused.body).expect("JSON");
    assert_eq!(error_codes(&body), ["RATE_LIMITED"]);
}

#[both_databases]
async fn a_changed_or_expired_link_or_a_revoked_token_is_refused_with_its_code(app: TestApp) {
    let c = cast(&app).await;
    submit(&app, &c.bergen, "Fallforebygging for eldre", false).await;
    let url = link(&app, Some(&c.bergen), "needsExport", "").await;
    let refused = |file: Download, status: u16, code: &str| {
        assert_eq!(file.status, status, "{}", String::from_utf8_lossy(&file.body));
        let body: Value = serde_json::from_slice(&file.body).expect("JSON");
        assert_eq!(error_codes(&body), [code]);
    };
    // Another payload under the old mac, a bent mac, garbage.
    let (base, token) = url.rsplit_once('/').expect("a path");
    let (payload, tag) = token.split_once('.').expect("two parts");
    let mut bent = tag.to_owned().into_bytes();
    bent[0] = if bent[0] == b'A' { b'B' } else { b'A' };
    let bent = String::from_utf8(bent).expect("text");
    for changed in [format!("{payload}x.{tag}"), format!("{payload}.{bent}"), "garbage".to_owned()] {
        refused(download(&app, &format!("{base}/{changed}")).await, 400, "EXPORT_LINK_INVALID");
    }
    // A link signed by the hub's key but past its time.
    let key = SigningKey::new(keys::signing_key(app.db()).await.expect("the key"));
    let expired = Link {
        kind: Kind::Needs,
        format: Format::Csv,
        language: entity::enums::Language::Nb,
        arguments: json!({}),
        token_id: None,
        expires_at: Utc::now().timestamp() - 1,
    };
    refused(download(&app, &format!("{base}/{}", expired.sign(&key))).await, 410, "EXPORT_LINK_EXPIRED");
    // The token that asked is revoked: its link is dead.
    assert_eq!(download(&app, &url).await.status, 200);
    let own = app.data_as(&c.bergen, "{ viewer { tokens { nodes { id } } } }", json!({})).await;
    let token_id = own["viewer"]["tokens"]["nodes"][0]["id"].clone();
    app.data_as(
        &c.bergen,
        "mutation($input: RevokeTokenInput!) { revokeToken(input: $input) { userErrors { code } } }",
        json!({ "input": { "token": token_id } }),
    )
    .await;
    refused(download(&app, &url).await, 401, "UNAUTHENTICATED");
}

#[both_databases]
async fn a_rounds_ranking_file_holds_each_callers_ranking_with_every_mean_and_visible_score(app: TestApp) {
    let c = cast(&app).await;
    let a = accepted_need(&app, &c.bergen, &c.cluster_coordinator, "Behov A frå Bergen").await;
    let b = accepted_need(&app, &c.askoy, &c.cluster_coordinator, "Behov B frå Askøy").await;
    let (opened, errors) = open_round(&app, &c.coordinator, &[&a, &b], 1).await;
    assert!(errors.is_empty(), "{errors:?}");
    let round = opened["round"]["id"].clone();
    score(&app, &c.cluster_coordinator, "scoreNeed", &round, &a, all(5)).await;
    score(&app, &c.other_cluster_coordinator, "scoreNeed", &round, &a, all(3)).await;
    score(&app, &c.cluster_coordinator, "scoreNeed", &round, &b, all(4)).await;
    let query = "query($id: ID!) { round(id: $id) { criteria { key label(language: EN) }
        ranking { nodes { position need { id } weightedMean criterionMeans { criterion { key } mean }
        scores { organisation { ... on Cluster { name } ... on Organisation { name } ... on Institution { name } }
                 criterion { key } value } } } } }";
    for (who, token) in [("coordinator", &c.coordinator), ("a scoring cluster", &c.other_cluster_coordinator)]
    {
        let args = format!("round: {round}, format: XLSX, language: EN");
        let file = download(&app, &link(&app, Some(token), "roundRankingExport", &args).await).await;
        assert_eq!(file.status, 200, "{who}: {}", String::from_utf8_lossy(&file.body));
        assert!(file.disposition.contains("round-ranking-"), "{}", file.disposition);
        let rows = xlsx_rows(&file.body);
        let data = app.data_as(token, query, json!({ "id": round })).await;
        let nodes = data["round"]["ranking"]["nodes"].as_array().expect("nodes").clone();
        assert_eq!(column(&rows, "Need ID"), Some(texts(&nodes, |n| &n["need"]["id"])), "{who}");
        assert_eq!(column(&rows, "Position"), Some(texts(&nodes, |n| &n["position"])), "{who}");
        let means = |n: &Value| n["weightedMean"].as_f64().map(|m| m.to_string()).unwrap_or_default();
        assert_eq!(column(&rows, "Weighted mean"), Some(nodes.iter().map(means).collect()), "{who}");
        for criterion in data["round"]["criteria"].as_array().expect("criteria") {
            let (key, label) = (&criterion["key"], criterion["label"].as_str().expect("a label"));
            let of = |list: &Value| {
                list.as_array()
                    .expect("a list")
                    .iter()
                    .filter(|x| &x["criterion"]["key"] == key)
                    .cloned()
                    .collect::<Vec<_>>()
            };
            let expected_means: Vec<String> = nodes
                .iter()
                .map(|n| {
                    of(&n["criterionMeans"])
                        .first()
                        .and_then(|m| m["mean"].as_f64())
                        .map(|m| m.to_string())
                        .unwrap_or_default()
                })
                .collect();
            assert_eq!(column(&rows, &format!("Mean: {label}")), Some(expected_means), "{who} {label}");
            let expected_scores: Vec<String> = nodes
                .iter()
                .map(|n| {
                    of(&n["scores"])
                        .iter()
                        .map(|s| {
                            format!("{}: {}", s["organisation"]["name"].as_str().unwrap_or("?"), s["value"])
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .collect();
            assert_eq!(column(&rows, &format!("Scores: {label}")), Some(expected_scores), "{who} {label}");
        }
    }
    // Someone the round is not for gets no link.
    let body = app
        .query_as(&c.stavanger, "{ roundRankingExport(round: \"Um91bmQ6OTk5\") { url } }", json!({}))
        .await
        .1;
    assert_eq!(error_codes(&body), ["NOT_FOUND"], "{body}");
}

#[both_databases]
async fn commissions_and_uptake_files_hold_what_their_fields_answer(app: TestApp) {
    // Fewer commissions than a page of 20 (about one need in ten is commissioned).
    sample::generate_needs(app.db(), 120, 20).await.expect("a dataset");
    let c = cast(&app).await;
    // One published commission with more milestones than a page of them: the file reads on.
    let first =
        app.data("{ commissions(first: 1) { nodes { id } } }").await["commissions"]["nodes"][0]["id"].clone();
    let global = URL_SAFE_NO_PAD.decode(first.as_str().expect("an id")).expect("base64");
    let key: i32 = String::from_utf8(global)
        .expect("text")
        .rsplit(':')
        .next()
        .expect("a key")
        .parse()
        .expect("a number");
    let now = Utc::now();
    let titles: Vec<String> = (0..130).map(|n| format!("Milepæl {n:03}")).collect();
    entity::milestone::Entity::insert_many(titles.iter().map(|title| entity::milestone::ActiveModel {
        commission_id: Set(key),
        title: Set(title.clone()),
        due_at: Set(now),
        done_at: Set(None),
        created_at: Set(now),
        due_notified_at: Set(None),
        ..Default::default()
    }))
    .exec(app.db().conn())
    .await
    .expect("milestones");
    let file = download(&app, &link(&app, None, "commissionsExport", "language: EN").await).await;
    let rows = csv_rows(&file.body);
    let ids = column(&rows, "ID").expect("ids");
    let milestones = column(&rows, "Milestone").expect("milestones");
    let of_first: Vec<String> = ids
        .iter()
        .zip(&milestones)
        .filter(|(id, _)| Some(id.as_str()) == first.as_str())
        .map(|(_, m)| m.clone())
        .collect();
    assert_eq!(of_first, titles, "every milestone of a commission, past its first page, in order");
    for token in [None, Some(c.coordinator.as_str()), Some(c.institution.as_str())] {
        let file = download(&app, &link(&app, token, "commissionsExport", "language: EN").await).await;
        assert_eq!(file.status, 200);
        let rows = csv_rows(&file.body);
        let query = "{ commissions(first: 20) { nodes { id status deadline milestones(first: 500) { nodes { title } } } } }";
        let nodes =
            data_of(&app, token, query).await["commissions"]["nodes"].as_array().expect("nodes").clone();
        assert!(!nodes.is_empty(), "commissions to compare");
        let expected = one_row_per(&nodes, "milestones");
        for (heading, cells) in [
            ("ID", texts(&expected, |n| &n["id"])),
            ("Status", texts(&expected, |n| &n["status"])),
            ("Deadline", texts(&expected, |n| &n["deadline"])),
        ] {
            assert_eq!(column(&rows, heading), Some(cells), "{token:?} {heading}");
        }

        let file =
            download(&app, &link(&app, token, "uptakeExport", "format: XLSX, language: EN").await).await;
        assert_eq!(file.status, 200);
        let rows = xlsx_rows(&file.body);
        let query = "{ summaries(first: 40) { nodes { id title uptake(first: 100) { nodes { status } } } } }";
        let nodes =
            data_of(&app, token, query).await["summaries"]["nodes"].as_array().expect("nodes").clone();
        assert!(!nodes.is_empty(), "summaries to compare");
        let expected = one_row_per(&nodes, "uptake");
        assert_eq!(column(&rows, "Summary ID"), Some(texts(&expected, |n| &n["id"])), "{token:?}");
        assert_eq!(column(&rows, "Title"), Some(texts(&expected, |n| &n["title"])), "{token:?}");
    }
}

/// Every need the coordinator may see, through `needs` a page of 500 at a time, in order.
async fn every_need_id(app: &TestApp, token: &str, args: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = Value::Null;
    loop {
        let query = format!(
            "query($after: String) {{ needs({args} first: 500, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ id }} }} }}"
        );
        let page = app.data_as(token, &query, json!({ "after": after })).await["needs"].clone();
        ids.extend(texts(page["nodes"].as_array().expect("nodes"), |n| &n["id"]));
        if page["pageInfo"]["hasNextPage"] != true {
            return ids;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

#[both_databases]
async fn a_file_of_several_pages_holds_every_need_once_in_the_order_asked_for(app: TestApp) {
    sample::generate_needs(app.db(), 1_300, 21).await.expect("a dataset");
    let c = cast(&app).await;
    for args in ["", "orderBy: REACH,", "orderBy: OLDEST, filter: { status: [SUBMITTED, ACCEPTED] },"] {
        let url = link(&app, Some(&c.coordinator), "needsExport", args.trim_end_matches(',')).await;
        let rows = csv_rows(&download(&app, &url).await.body);
        let expected = every_need_id(&app, &c.coordinator, args).await;
        assert!(expected.len() > 500, "more than a page: {}", expected.len());
        assert_eq!(column(&rows, "ID"), Some(expected), "{args}");
    }
}

/// A filter naming something that does not exist is refused when the link is asked for, as the
/// field it mirrors refuses it, not later when the file is opened.
#[both_databases]
async fn an_unknown_key_in_a_filter_is_refused_when_the_link_is_asked_for(app: TestApp) {
    let c = cast(&app).await;
    let unknown_theme = "VGhlbWU6OTk5OTk="; // Theme:99999
    for (field, export) in [
        (
            format!("{{ commissions(filter: {{ theme: \"{unknown_theme}\" }}) {{ totalCount }} }}"),
            format!("{{ commissionsExport(filter: {{ theme: \"{unknown_theme}\" }}) {{ url }} }}"),
        ),
        (
            format!("{{ needs(filter: {{ theme: [\"{unknown_theme}\"] }}) {{ totalCount }} }}"),
            format!("{{ needsExport(filter: {{ theme: [\"{unknown_theme}\"] }}) {{ url }} }}"),
        ),
    ] {
        let listed = app.query_as(&c.coordinator, &field, json!({})).await.1;
        let exported = app.query_as(&c.coordinator, &export, json!({})).await.1;
        assert!(!error_codes(&listed).is_empty(), "{listed}");
        assert_eq!(error_codes(&exported), error_codes(&listed), "{exported}");
        assert!(exported["data"].is_null(), "no link: {exported}");
    }
}
