//! Notifications by e-mail: a mail sent through a real SMTP server (npm `smtp-server`, started by
//! the test) arrives whole, in the recipient's language, with its Message-ID and the RFC 8058
//! headers; the unsubscribe link works without logging in and cannot be forged; preferences
//! follow the roles until a person chooses; the hub without SMTP says once that e-mail is off.

use chrono::Utc;
use entity::{
    audit_event,
    enums::{Language, NeedStatus, NotificationKind},
};
use knowledge_hub::{
    config::RoleArg,
    db::notify::keys,
    domain::nodes::NodeType,
    graphql::ids::GlobalId,
    notify::{
        links::Links,
        mail::{Mailer, OutgoingMail},
        templates::{Mail, NeedStatusChanged},
        unsubscribe::{SigningKey, Unsubscribe},
    },
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, both_databases},
    support::SmtpSink,
};

const PREFERENCES: &str = "{ viewer { language notificationPreferences { kind cadence isDefault } } }";

/// A person with a token, and their id as the database has it.
async fn person(app: &TestApp, name: &str, role: RoleArg, organisation: &str) -> (String, i32) {
    let token = app.token_for(name, role, organisation).await;
    let body = app.data_as(&token, "{ viewer { person { id } } }", json!({})).await;
    let id = body["viewer"]["person"]["id"].as_str().expect("an id");
    (token, GlobalId::decode(id).expect("a global id").key)
}

/// The caller's cadence and whether it is the default, for `kind`.
fn cadence(viewer: &Value, kind: &str) -> (String, bool) {
    let found = viewer["viewer"]["notificationPreferences"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} in {viewer}"));
    (found["cadence"].as_str().expect("a cadence").to_owned(), found["isDefault"].as_bool().expect("a flag"))
}

async fn signing_key(app: &TestApp) -> SigningKey {
    SigningKey::new(keys::signing_key(app.db()).await.expect("the hub's key"))
}

async fn unsubscribes(app: &TestApp) -> u64 {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("person.unsubscribe"))
        .count(app.db().conn())
        .await
        .expect("counted")
}

/// A need returned with a comment, mailed in nynorsk to its submitter through a real SMTP server:
/// both parts, the Message-ID and both RFC 8058 headers arrive; the header's link shows a page
/// (changing nothing) and its one-click POST turns that kind off, audited.
#[both_databases]
async fn a_nynorsk_mail_arrives_whole_and_its_one_click_link_unsubscribes(app: TestApp) {
    let sink = SmtpSink::start().await;
    let (ingrid, ingrid_id) = person(&app, "Ingrid Berg", RoleArg::UnitMember, "4601").await;
    let set = app
        .data_as(
            &ingrid,
            "mutation { setNotificationPreferences(input: { language: NN }) { viewer { language } userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(set["setNotificationPreferences"]["viewer"]["language"], "NN");

    let links = Links::new(&app.url("")).expect("the hub's URL");
    let mailer =
        Mailer::from_settings(&sink.settings(), links.host()).expect("settings").expect("e-mail is on");
    let what = Unsubscribe {
        person_id: ingrid_id,
        kind: Some(NotificationKind::NeedCommented),
        issued: Utc::now().date_naive(),
    };
    let unsubscribe = links.unsubscribe(&what, &signing_key(&app).await);
    let content = Mail {
        recipient: "Ingrid Berg".into(),
        link: links.object(NodeType::Need, 1),
        unsubscribe: unsubscribe.clone(),
        content: NeedStatusChanged {
            need: "Fallførebygging for eldre".into(),
            from: NeedStatus::Submitted,
            to: NeedStatus::Returned,
            comment: Some("Kva for kommunar gjeld det? <b>Presiser</b>".into()),
        },
    }
    .render(Language::Nn)
    .expect("rendered");
    let mail = OutgoingMail {
        id: format!("email:{ingrid_id}:need:1:returned"),
        to: "ingrid.berg@example.no".into(),
        to_name: Some("Ingrid Berg".into()),
        content,
        unsubscribe: unsubscribe.clone(),
    };
    mailer.send(&mail).await.expect("the server takes it");

    let received = sink.wait_for(1).await;
    assert_eq!(received.len(), 1, "{received:#?}");
    let got = &received[0];
    assert_eq!(got["envelope"]["to"], json!(["ingrid.berg@example.no"]));
    assert_eq!(got["envelope"]["from"], "varsel@hub.example.no");
    assert_eq!(got["messageId"], format!("<email%3A{ingrid_id}%3Aneed%3A1%3Areturned@127.0.0.1>"));
    assert_eq!(got["subject"], "«Fallførebygging for eldre» er sendt attende, med ein kommentar");
    let text = got["text"].as_str().expect("a text part");
    assert!(text.starts_with("Hei Ingrid Berg,"), "{text}");
    assert!(text.contains("gjekk frå sendt inn til sendt attende"), "{text}");
    assert!(text.contains("Kva for kommunar gjeld det? <b>Presiser</b>"), "{text}");
    assert!(text.contains(&unsubscribe), "{text}");
    let html = got["html"].as_str().expect("an HTML part");
    assert!(html.contains("&lt;b&gt;Presiser&lt;&#x2f;b&gt;") && !html.contains("<b>Presiser"), "{html}");
    assert!(html.contains("<html lang=\"nn\">"), "{html}");
    assert_eq!(got["headers"]["list-unsubscribe"], format!("<{unsubscribe}>"));
    assert_eq!(got["headers"]["list-unsubscribe-post"], "List-Unsubscribe=One-Click");
    let raw = got["raw"].as_str().expect("the raw mail");
    assert!(raw.contains("multipart/alternative"), "{raw}");

    // A retry after a crash is the same mail: the same Message-ID.
    mailer.send(&mail).await.expect("taken again");
    let received = sink.wait_for(2).await;
    assert_eq!(received[1]["messageId"], received[0]["messageId"]);

    // The link in the header, as a mailbox provider or a person follows it.
    let url =
        got["headers"]["list-unsubscribe"].as_str().expect("a header").trim_matches(['<', '>']).to_owned();
    let page = app.client.get(&url).send().await.expect("sent");
    assert_eq!(page.status(), 200);
    let body = page.text().await.expect("a page");
    assert!(body.contains("<form method=\"post\"") && body.contains("Meld meg av"), "{body}");
    let before = app.data_as(&ingrid, PREFERENCES, json!({})).await;
    assert_eq!(cadence(&before, "NEED_COMMENTED"), ("IMMEDIATE".to_owned(), true), "a GET changes nothing");
    assert_eq!(unsubscribes(&app).await, 0);

    let posted = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("sent");
    assert_eq!(posted.status(), 200);
    let after = app.data_as(&ingrid, PREFERENCES, json!({})).await;
    assert_eq!(cadence(&after, "NEED_COMMENTED"), ("OFF".to_owned(), false));
    assert_eq!(
        cadence(&after, "NEED_STATUS_CHANGED"),
        ("IMMEDIATE".to_owned(), true),
        "only the link's kind"
    );
    assert_eq!(unsubscribes(&app).await, 1, "audited");
    let event = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("person.unsubscribe"))
        .one(app.db().conn())
        .await
        .expect("read")
        .expect("an event");
    assert_eq!((event.actor_person_id, event.actor_token_id), (Some(ingrid_id), None));
    assert_eq!(event.actor_label.as_deref(), Some("signed link"));
    assert_eq!(event.target_id, Some(ingrid_id));
}

/// A token the hub did not sign, or one altered in any part, is 400 on GET and POST and changes
/// nothing; a genuine token for every kind turns every kind off.
#[both_databases]
async fn a_forged_or_altered_unsubscribe_link_is_refused_and_changes_nothing(app: TestApp) {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let (ingrid, ingrid_id) = person(&app, "Ingrid Berg", RoleArg::UnitMember, "4601").await;
    let (_, kari_id) = person(&app, "Kari Nordmann", RoleArg::Coordinator, "rso-vest").await;
    let key = signing_key(&app).await;
    let today = Utc::now().date_naive();
    let genuine = Unsubscribe { person_id: kari_id, kind: None, issued: today }.sign(&key);
    let (_, tag) = genuine.split_once('.').expect("two parts");
    let mut bent = URL_SAFE_NO_PAD.decode(tag).expect("base64");
    bent[31] ^= 0x80;
    let forged = [
        // Kari's signature on a payload naming Ingrid.
        format!("{}.{tag}", URL_SAFE_NO_PAD.encode(format!("{ingrid_id}.ALL.{}", today.format("%Y%m%d")))),
        // One bit of the signature changed.
        format!("{}.{}", genuine.split_once('.').expect("two parts").0, URL_SAFE_NO_PAD.encode(&bent)),
        // Signed with another key.
        Unsubscribe { person_id: ingrid_id, kind: None, issued: today }.sign(&SigningKey::new(vec![7; 32])),
        // Not a token at all.
        "not-a-token".to_owned(),
        String::new(),
    ];
    let before = app.data_as(&ingrid, PREFERENCES, json!({})).await;
    for token in &forged {
        let url = app.url(&format!("/unsubscribe?token={token}"));
        let get = app.client.get(&url).send().await.expect("sent");
        assert_eq!(get.status(), 400, "GET {token}");
        let body = get.text().await.expect("a page");
        assert!(body.contains("Lenkja er ikkje gyldig") && body.contains("The link is not valid"), "{body}");
        let post = app.client.post(&url).body("List-Unsubscribe=One-Click").send().await.expect("sent");
        assert_eq!(post.status(), 400, "POST {token}");
    }
    let missing = app.client.post(app.url("/unsubscribe")).send().await.expect("sent");
    assert_eq!(missing.status(), 400, "no token");
    assert_eq!(app.data_as(&ingrid, PREFERENCES, json!({})).await, before, "nothing changed");
    assert_eq!(unsubscribes(&app).await, 0);

    // Kari's genuine link, for every kind, turns every kind of hers off (and none of Ingrid's).
    let posted = app
        .client
        .post(app.url(&format!("/unsubscribe?token={genuine}")))
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("sent");
    assert_eq!(posted.status(), 200);
    let stored: Vec<(i32, String)> = entity::notification_preference::Entity::find()
        .all(app.db().conn())
        .await
        .expect("read")
        .into_iter()
        .map(|row| (row.person_id, row.cadence.to_string()))
        .collect();
    assert_eq!(stored.len(), NotificationKind::ALL.len(), "{stored:?}");
    assert!(stored.iter().all(|(person, cadence)| *person == kari_id && cadence == "OFF"), "{stored:?}");
    assert_eq!(app.data_as(&ingrid, PREFERENCES, json!({})).await, before, "Ingrid's are as they were");
}

/// Without a choice a person gets their roles' defaults; they set their own (and only their own)
/// language and cadences, each kind once; the public has none.
#[both_databases]
async fn preferences_follow_the_roles_until_a_person_chooses_their_own(app: TestApp) {
    let (ingrid, _) = person(&app, "Ingrid Berg", RoleArg::UnitMember, "4601").await;
    let (kari, _) = person(&app, "Kari Nordmann", RoleArg::Coordinator, "rso-vest").await;
    let (sofie, _) = person(&app, "Sofie Dahl", RoleArg::InstitutionMember, "uib").await;
    let (ola, _) = person(&app, "Ola Hansen", RoleArg::UnitCoordinator, "kunnskapskommunen").await;

    let mine = app.data_as(&ingrid, PREFERENCES, json!({})).await;
    assert_eq!(mine["viewer"]["language"], "NB");
    let kinds: Vec<&str> = mine["viewer"]["notificationPreferences"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| p["kind"].as_str().expect("a kind"))
        .collect();
    assert_eq!(kinds.len(), NotificationKind::ALL.len());
    assert_eq!(cadence(&mine, "NEED_STATUS_CHANGED"), ("IMMEDIATE".to_owned(), true));
    assert_eq!(cadence(&mine, "NEED_COMMENTED"), ("IMMEDIATE".to_owned(), true));
    let theirs = app.data_as(&kari, PREFERENCES, json!({})).await;
    assert_eq!(cadence(&theirs, "NEW_NEED_IN_MY_UNITS"), ("DIGEST".to_owned(), true));
    let theirs = app.data_as(&sofie, PREFERENCES, json!({})).await;
    assert_eq!(cadence(&theirs, "COMMISSION_OPENED_MATCHING"), ("IMMEDIATE".to_owned(), true));
    let theirs = app.data_as(&ola, PREFERENCES, json!({})).await;
    assert_eq!(cadence(&theirs, "NEW_NEED_IN_MY_UNITS"), ("DIGEST".to_owned(), true));

    const SET: &str = "mutation($input: SetNotificationPreferencesInput!) { setNotificationPreferences(input: $input) \
                       { viewer { language notificationPreferences { kind cadence isDefault } } userErrors { code field } } }";
    let twice = json!({ "input": { "language": "EN", "preferences": [
        { "kind": "NEED_STATUS_CHANGED", "cadence": "DIGEST" },
        { "kind": "NEED_STATUS_CHANGED", "cadence": "OFF" },
    ] } });
    let refused = app.data_as(&ingrid, SET, twice).await;
    assert_eq!(
        refused["setNotificationPreferences"]["userErrors"],
        json!([{ "code": "BAD_USER_INPUT", "field": ["input", "preferences"] }])
    );
    assert_eq!(app.data_as(&ingrid, PREFERENCES, json!({})).await, mine, "a refused input changes nothing");

    let input = json!({ "input": { "language": "EN", "preferences": [
        { "kind": "NEED_STATUS_CHANGED", "cadence": "DIGEST" },
        { "kind": "ROUND_OPENED", "cadence": "IMMEDIATE" },
    ] } });
    let set = app.data_as(&ingrid, SET, input).await;
    let viewer = json!({ "viewer": set["setNotificationPreferences"]["viewer"].clone() });
    assert_eq!(viewer["viewer"]["language"], "EN");
    assert_eq!(cadence(&viewer, "NEED_STATUS_CHANGED"), ("DIGEST".to_owned(), false));
    assert_eq!(cadence(&viewer, "ROUND_OPENED"), ("IMMEDIATE".to_owned(), false));
    assert_eq!(cadence(&viewer, "NEED_COMMENTED"), ("IMMEDIATE".to_owned(), true));
    assert_eq!(app.data_as(&ingrid, PREFERENCES, json!({})).await, viewer, "as stored");
    // Setting only the language leaves the cadences.
    let again = app.data_as(&ingrid, SET, json!({ "input": { "language": "NN" } })).await;
    assert_eq!(
        cadence(
            &json!({ "viewer": again["setNotificationPreferences"]["viewer"].clone() }),
            "NEED_STATUS_CHANGED"
        ),
        ("DIGEST".to_owned(), false)
    );
    // Kari's are her own.
    let theirs = app.data_as(&kari, PREFERENCES, json!({})).await;
    assert_eq!(theirs["viewer"]["language"], "NB");
    assert_eq!(cadence(&theirs, "NEED_STATUS_CHANGED"), ("OFF".to_owned(), true));
    let audited = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("person.notifications"))
        .count(app.db().conn())
        .await
        .expect("counted");
    assert_eq!(audited, 2, "each change of a person's preferences is audited");

    let public = app.data(PREFERENCES).await;
    assert_eq!(public, json!({ "viewer": { "language": null, "notificationPreferences": [] } }));
    let anonymous = app
        .query("mutation { setNotificationPreferences(input: { language: EN }) { userErrors { code } } }")
        .await;
    assert_eq!(anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

/// The signing key is made once and shared: another instance on the database and a restart read
/// the same key.
#[both_databases]
async fn the_signing_key_is_made_once_and_shared_by_every_instance(app: TestApp) {
    let first = keys::signing_key(app.db()).await.expect("a key");
    assert_eq!(first.len(), 32);
    assert_eq!(keys::signing_key(app.db()).await.expect("a key"), first);
    let other = app.another_instance().await;
    assert_eq!(keys::signing_key(other.db()).await.expect("a key"), first);
}

/// Without `--smtp-host` the hub starts and serves, and says once at start-up that e-mail is off.
#[test]
fn without_an_smtp_host_the_hub_starts_and_says_once_that_e_mail_is_off() {
    use std::{
        io::{BufRead, BufReader},
        process::{Command, Stdio},
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut child = Command::new(crate::cli::BIN)
        .current_dir(dir.path())
        .args(["--bind", "127.0.0.1:0", "--log-format", "json"])
        .env_remove("HUB_SMTP_HOST")
        .env_remove("DATABASE_URL")
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let lines: Vec<String> = BufReader::new(child.stderr.take().expect("stderr"))
        .lines()
        .map_while(Result::ok)
        .take_while(|line| !line.contains("listening on"))
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    let off = lines.iter().filter(|line| line.contains("e-mail is off")).count();
    assert_eq!(off, 1, "{lines:#?}");
}
