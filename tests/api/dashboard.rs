//! The partner dashboard (`/dashboard`) in a real headless Chromium (`browser.rs`): it loads
//! from the hub alone, draws its charts as SVG, shows the counts `needStats` answers, follows new
//! needs live without a reload, speaks nynorsk when asked (and remembers it), shows more with a
//! pasted token (and forgets it), and fits a phone and paper.

use std::time::Duration;

use knowledge_hub::config::RoleArg;
use serde_json::{Value, json};

use crate::{
    browser::Browser,
    helpers::{Cast, TestApp, both_databases, cast, need_input},
    rounds::{accepted_need, open_round},
};

/// A safety net for waits whose speed the tests do not judge; no assertion depends on it.
const PATIENCE: Duration = Duration::from_secs(30);

/// How soon a change must show: the "within a second".
const LIVE: Duration = Duration::from_secs(1);

const STATS: &str =
    "query($filter: NeedFilter) { needStats(filter: $filter) { total byStatus { status count }
    byTheme { theme { key } count } byCluster { cluster { key } count }
    byMunicipality { municipality { code } count } byDistrict { district { code } count }
    submissionsByMonth { month count } } }";

/// Needs in three municipalities and an Oslo district, of two themes, one accepted and one a
/// draft (which the public does not see): every chart has something to draw.
async fn seed(app: &TestApp) -> Cast {
    let c = cast(app).await;
    let themes: Vec<Value> = app.data("{ themes(first: 2) { nodes { id } } }").await["themes"]["nodes"]
        .as_array()
        .expect("themes")
        .iter()
        .map(|theme| theme["id"].clone())
        .collect();
    let district = app.token_for("Jonas Lie", RoleArg::UnitMember, "030115").await;
    let draft = json!({ "draft": true });
    // Søndre Nordstrand's needs go to one of two partnerships, named.
    let to_uko = json!({ "partnership": "universitetskommunen-oslo" });
    for (token, title, theme, extra) in [
        (&c.bergen, "Ensomhet blant eldre", &themes[0], &json!({})),
        (&c.bergen_colleague, "Rekruttering i hjemmetjenesten", &themes[1], &json!({})),
        (&c.askoy, "Skolevegring", &themes[1], &json!({})),
        (&c.stavanger, "Frafall i videregående", &themes[0], &json!({})),
        (&c.stavanger, "Et utkast", &themes[0], &draft),
        (&district, "Helse på Holmlia", &themes[1], &to_uko),
    ] {
        submit_with(app, token, title, theme, extra).await;
    }
    accepted_need(app, &c.bergen, &c.cluster_coordinator, "Velferdsteknologi").await;
    c
}

/// Submits a need of `title` and `theme` as `token`, with the input's fields in `extra` besides.
async fn submit_with(app: &TestApp, token: &str, title: &str, theme: &Value, extra: &Value) {
    let mut input = need_input(title, theme);
    if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
        input.extend(extra.clone());
    }
    let submitted = app
        .data_as(
            token,
            "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { userErrors { code } } }",
            json!({ "input": input }),
        )
        .await;
    assert_eq!(submitted["submitNeed"]["userErrors"], json!([]), "{submitted}");
}

/// The text of the first element `selector` finds.
async fn text(browser: &Browser, selector: &str) -> Value {
    browser.eval(&format!("document.querySelector({selector:?}).textContent")).await
}

/// The computed value of a CSS property of the first element `selector` finds.
async fn style(browser: &Browser, selector: &str, property: &str) -> Value {
    browser.eval(&format!("getComputedStyle(document.querySelector({selector:?}))[{property:?}]")).await
}

/// Opens the dashboard and waits until it has drawn its counts at least once.
async fn open_dashboard(app: &TestApp, browser: &Browser) {
    browser.open(&app.url("/dashboard")).await;
    ready(browser).await;
}

async fn ready(browser: &Browser) {
    browser.wait_for("Number(document.body.dataset.revision) >= 1", PATIENCE).await;
}

/// The figures a chart's table shows, by key.
async fn figures(browser: &Browser, chart: &str) -> Vec<(String, i64)> {
    let rows = browser
        .eval(&format!(
            "Array.from(document.querySelectorAll('figure[data-chart={chart}] table.figures tbody tr'))
                .map(row => [row.dataset.key, Number(row.querySelector('td').dataset.value)])"
        ))
        .await;
    let mut figures: Vec<(String, i64)> = serde_json::from_value(rows).expect("rows of figures");
    figures.sort();
    figures
}

/// The same, from `needStats`' answer.
fn counted(groups: &Value, key: impl Fn(&Value) -> String) -> Vec<(String, i64)> {
    let mut counts: Vec<(String, i64)> = groups
        .as_array()
        .expect("a list")
        .iter()
        .map(|group| (key(group), group["count"].as_i64().expect("a count")))
        .collect();
    counts.sort();
    counts
}

/// How many bars Observable Plot drew in a chart's SVG.
async fn bars(browser: &Browser, chart: &str) -> u64 {
    browser
        .eval(&format!(
            "document.querySelectorAll('figure[data-chart={chart}] svg g[aria-label=bar] rect').length"
        ))
        .await
        .as_u64()
        .expect("a number")
}

/// The dashboard asks the hub and nothing else (its script, styles, queries and WebSocket are
/// the hub's own), draws a bar per group in each chart, and shows the counts `needStats`
/// answers the public.
#[both_databases]
async fn the_dashboard_loads_from_the_hub_alone_draws_its_charts_and_shows_the_public_counts(app: TestApp) {
    seed(&app).await;
    let browser = Browser::start().await;
    open_dashboard(&app, &browser).await;
    browser.wait_for("document.getElementById('live').dataset.live === 'true'", PATIENCE).await;

    let requests = browser.requests();
    let hub = format!("//{}/", app.addr);
    assert!(requests.iter().any(|url| url.ends_with("/dashboard/dashboard.js")), "{requests:?}");
    assert!(requests.iter().any(|url| url.ends_with("/graphql")), "{requests:?}");
    assert!(
        requests.iter().any(|url| url.starts_with("ws://") && url.ends_with("/graphql/ws")),
        "{requests:?}"
    );
    for url in &requests {
        let local = url.starts_with("data:") || url.starts_with("blob:");
        let to_hub = ["http:", "ws:"].iter().any(|scheme| url.starts_with(&format!("{scheme}{hub}")));
        assert!(local || to_hub, "{url} leaves the hub");
    }

    let stats = app.data(STATS).await["needStats"].clone();
    assert_eq!(stats["total"], 6, "the public does not see the draft: {stats}");
    assert_eq!(browser.eval("document.getElementById('total').dataset.value").await, json!("6"));
    assert_eq!(
        figures(&browser, "status").await,
        counted(&stats["byStatus"], |g| g["status"].as_str().unwrap_or_default().to_owned())
    );
    assert_eq!(
        figures(&browser, "theme").await,
        counted(&stats["byTheme"], |g| g["theme"]["key"].as_str().unwrap_or_default().to_owned())
    );
    assert_eq!(
        figures(&browser, "cluster").await,
        counted(&stats["byCluster"], |g| g["cluster"]["key"].as_str().unwrap_or_default().to_owned())
    );
    assert_eq!(
        figures(&browser, "municipality").await,
        counted(&stats["byMunicipality"], |g| g["municipality"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    );
    assert_eq!(
        figures(&browser, "month").await,
        counted(&stats["submissionsByMonth"], |g| g["month"].as_str().unwrap_or_default().to_owned())
    );

    for (chart, groups) in [
        ("status", "byStatus"),
        ("theme", "byTheme"),
        ("cluster", "byCluster"),
        ("month", "submissionsByMonth"),
    ] {
        let expected = stats[groups].as_array().map_or(0, Vec::len) as u64;
        assert!(expected > 0, "{groups} has something to draw");
        assert_eq!(bars(&browser, chart).await, expected, "the bars of {chart}");
    }
    let top = browser.eval("document.querySelectorAll('#top-needs tbody tr').length").await;
    assert_eq!(top, json!(6));
    assert!(browser.problems().is_empty(), "{:?}", browser.problems());
}

/// A need submitted over HTTP shows in the counts within a second, without a reload; so does
/// one in a filtered view, and one outside the filter leaves it as it was.
#[both_databases]
async fn the_dashboard_counts_a_new_need_within_a_second_without_a_reload(app: TestApp) {
    let c = seed(&app).await;
    let theme = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    let browser = Browser::start().await;
    open_dashboard(&app, &browser).await;
    browser.wait_for("document.getElementById('live').dataset.live === 'true'", PATIENCE).await;
    let loads = browser.requests().iter().filter(|url| url.ends_with("/dashboard")).count();

    submit_with(&app, &c.askoy, "Tverrfaglig samarbeid", &theme, &json!({})).await;
    browser.wait_for("document.getElementById('total').dataset.value === '7'", LIVE).await;
    browser
        .wait_for("document.querySelector('#top-needs').textContent.includes('Tverrfaglig samarbeid')", LIVE)
        .await;

    // Bergen's view counts Bergen's needs only, and follows them alone.
    browser
        .eval("const o = document.getElementById('organisation'); o.value = '4601'; o.dispatchEvent(new Event('input'))")
        .await;
    browser.wait_for("location.search === '?organisation=4601'", PATIENCE).await;
    let public = app.query_with(STATS, json!({ "filter": { "organisation": "4601" } })).await;
    let expected = public["data"]["needStats"]["total"].to_string();
    assert_eq!(expected, "3", "{public}");
    browser
        .wait_for(&format!("document.getElementById('total').dataset.value === '{expected}'"), PATIENCE)
        .await;
    // The page subscribes anew with the filter; give the hub a moment to register it (a change
    // committed before would be counted by the next read anyway, but not announced to the page).
    browser
        .wait_for("document.body.dataset.following === JSON.stringify({ organisation: '4601' })", PATIENCE)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // And one outside the filter changes nothing there.
    submit_with(&app, &c.stavanger, "Utenfor utvalget", &theme, &json!({})).await;
    submit_with(&app, &c.bergen, "Digital hjemmeoppfølging", &theme, &json!({})).await;
    let more = (expected.parse::<i64>().expect("a number") + 1).to_string();
    browser.wait_for(&format!("document.getElementById('total').dataset.value === '{more}'"), LIVE).await;

    let reloads = browser.requests().iter().filter(|url| url.ends_with("/dashboard")).count();
    assert_eq!(reloads, loads, "no reload");
    assert!(browser.problems().is_empty(), "{:?}", browser.problems());
}

/// Nynorsk is one choice away, speaks in every panel, and is remembered across a reload.
#[both_databases]
async fn the_dashboard_switches_to_nynorsk_and_remembers_it(app: TestApp) {
    seed(&app).await;
    let browser = Browser::start().await;
    open_dashboard(&app, &browser).await;
    assert_eq!(browser.eval("document.documentElement.lang").await, json!("nb"));
    assert_eq!(text(&browser, "[data-word=topNeeds]").await, json!("Behovene med størst rekkevidde"));

    browser
        .eval("const l = document.getElementById('language'); l.value = 'nn'; l.dispatchEvent(new Event('change'))")
        .await;
    speaks_nynorsk(&browser).await;

    browser.reload().await;
    ready(&browser).await;
    speaks_nynorsk(&browser).await;
    assert_eq!(browser.eval("document.getElementById('language').value").await, json!("nn"));
}

async fn speaks_nynorsk(browser: &Browser) {
    assert_eq!(browser.eval("document.documentElement.lang").await, json!("nn"));
    assert_eq!(text(browser, "[data-word=topNeeds]").await, json!("Behova med størst rekkjevidd"));
    assert_eq!(text(browser, "[data-word=byMonth]").await, json!("Sendt inn per månad"));
    assert_eq!(text(browser, "#live").await, json!("Direkte"));
    // Statuses in words, in the chart's table, as the hub's mails write them.
    let accepted = text(browser, "figure[data-chart=status] tr[data-key=ACCEPTED] th").await;
    assert_eq!(accepted, json!("godkjent"));
    let submitted = text(browser, "figure[data-chart=status] tr[data-key=SUBMITTED] th").await;
    assert_eq!(submitted, json!("sendt inn"));
    let period = text(browser, "#period option[value=all]").await;
    assert_eq!(period, json!("Heile perioden"));
}

/// The public sees no rounds; a token the hub does not know is refused with its code; a
/// coordinator's pasted token shows the open round with its ranking, survives a reload, and is
/// gone after "forget".
#[both_databases]
async fn a_pasted_token_shows_more_until_it_is_forgotten(app: TestApp) {
    let c = seed(&app).await;
    let need = accepted_need(&app, &c.askoy, &c.cluster_coordinator, "Kandidat i runden").await;
    let (opened, errors) = open_round(&app, &c.coordinator, &[&need], 1).await;
    assert!(errors.is_empty(), "{errors:?} {opened}");
    let browser = Browser::start().await;
    open_dashboard(&app, &browser).await;
    browser.wait_for("document.querySelector('#rounds .empty')", PATIENCE).await;
    assert_eq!(browser.eval("document.querySelectorAll('#rounds article').length").await, json!(0));

    // A token the hub does not know is refused, and the page says so with the API's code.
    paste(&browser, "khub_not-a-token-the-hub-made").await;
    browser
        .wait_for("document.getElementById('failure').textContent.includes('UNAUTHENTICATED')", PATIENCE)
        .await;
    paste(&browser, &c.coordinator).await;
    let shows_round = "document.querySelector('#rounds article') \
        && document.querySelector('#rounds article').textContent.includes('Runde 2027') \
        && document.querySelector('#rounds ol.ranking').textContent.includes('Kandidat i runden')";
    browser.wait_for(shows_round, PATIENCE).await;
    assert_eq!(
        browser.eval("document.getElementById('token').value").await,
        json!(""),
        "the field is cleared"
    );

    browser.reload().await;
    ready(&browser).await;
    browser.wait_for(shows_round, PATIENCE).await;

    browser.eval("document.getElementById('forget').click()").await;
    browser.wait_for("document.querySelectorAll('#rounds article').length === 0", PATIENCE).await;
    assert_eq!(browser.eval("localStorage.length").await, json!(0), "nothing of the token is kept");
}

/// Pastes a token into the page's token field and uses it.
async fn paste(browser: &Browser, token: &str) {
    browser
        .eval(&format!(
            "document.getElementById('token').value = {token:?}; document.getElementById('token-form').requestSubmit()"
        ))
        .await;
}

/// On a phone the page is one column that needs no sideways scrolling; printed, the controls
/// are gone and the figures stay.
#[both_databases]
async fn the_dashboard_fits_a_phone_and_prints_without_its_controls(app: TestApp) {
    seed(&app).await;
    let browser = Browser::start().await;
    browser.viewport(390, 844, true).await;
    open_dashboard(&app, &browser).await;
    let fits = browser.eval("document.documentElement.scrollWidth <= innerWidth").await;
    assert_eq!(fits, json!(true), "no sideways scrolling on a phone");
    let columns = browser
        .eval("getComputedStyle(document.querySelector('.panels')).gridTemplateColumns.split(' ').length")
        .await;
    assert_eq!(columns, json!(1));

    browser.media("print").await;
    assert_eq!(style(&browser, ".access", "display").await, json!("none"));
    assert_eq!(style(&browser, "#export", "display").await, json!("none"));
    assert_ne!(style(&browser, ".panels", "display").await, json!("none"));
    assert!(bars(&browser, "status").await > 0);
}

/// The README lists the dashboard's documents as the recommended queries for dashboards, each with
/// the points a request pays (`extensions.rateLimit.cost`), and the figures are the hub's own.
#[both_databases]
async fn the_readme_lists_each_dashboard_document_with_what_it_costs(app: TestApp) {
    let readme = include_str!("../../README.md");
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("documents/dashboard");
    let mut files: Vec<_> =
        std::fs::read_dir(&folder).expect("documents/dashboard").flatten().map(|e| e.path()).collect();
    files.sort();
    assert!(!files.is_empty());
    let mut wrong = Vec::new();
    for file in files {
        let name = file.file_name().and_then(|n| n.to_str()).expect("a file name").to_owned();
        let text = std::fs::read_to_string(&file).expect("a document");
        let row = readme
            .lines()
            .find(|line| line.starts_with(&format!("| [`{name}`]")))
            .unwrap_or_else(|| panic!("README.md lists {name}"));
        if text.contains("\nsubscription ") {
            continue;
        }
        let answer = app.query_with(&text, json!({})).await;
        assert!(answer.get("errors").is_none(), "{name}: {answer}");
        let cost = answer["extensions"]["rateLimit"]["cost"].as_u64().expect("a cost");
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        if cells.get(4) != Some(&cost.to_string().as_str()) {
            wrong.push(format!("{name} costs {cost} points: {row}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// *Download the needs* fetches a `needsExport` link for the dashboard's filter and search and
/// follows it: the file (CSV, or XLSX with the second button) holds the needs `needStats` counts
/// for that filter, one row each, headed in the dashboard's language.
#[both_databases]
async fn the_dashboard_downloads_the_needs_of_its_filter_as_csv_and_xlsx(app: TestApp) {
    seed(&app).await;
    let browser = Browser::start().await;
    browser.open(&app.url("/dashboard?partnership=rso-vest")).await;
    ready(&browser).await;
    let stats = app.query_with(STATS, json!({ "filter": { "partnership": "rso-vest" } })).await;
    let total = stats["data"]["needStats"]["total"].as_u64().expect("a total") as usize;
    assert!(total > 0 && total < 6, "the filter narrows: {stats}");

    for (nth, (button, format)) in [("export", "csv"), ("export-xlsx", "xlsx")].into_iter().enumerate() {
        browser.eval(&format!("document.getElementById({button:?}).click()")).await;
        let wait = std::time::Instant::now();
        let link = loop {
            let found = browser.requests().into_iter().filter(|url| url.contains("/export/")).nth(nth);
            if let Some(link) = found {
                break link;
            }
            assert!(wait.elapsed() < PATIENCE, "no export link was followed: {:?}", browser.requests());
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let file = crate::exports::download(&app, &link).await;
        assert_eq!(file.status, 200, "{link}");
        assert!(file.disposition.contains(&format!(".{format}")), "{}", file.disposition);
        let rows = if format == "csv" {
            crate::exports::csv_rows(&file.body)
        } else {
            crate::exports::xlsx_rows(&file.body)
        };
        assert_eq!(rows.len(), total + 1, "a heading and a row per need: {rows:?}");
        assert!(rows[0].iter().any(|heading| heading == "Tittel"), "headed in bokmål: {:?}", rows[0]);
    }
    assert!(browser.problems().is_empty(), "{:?}", browser.problems());
}
