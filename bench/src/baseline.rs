//! The raw baseline: minimal axum handlers that fetch what each scenario's GraphQL request fetches,
//! with hand-written SQL, and serialise the same JSON, with no GraphQL layer, no authentication
//! and no limits. The hub's results are reported as ratios to it.

use std::collections::HashMap;

use axum::{
    Json, Router,
    extract::{Query, State},
    http::StatusCode,
    routing::get,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use knowledge_hub::db::Db;
use sea_orm::{DatabaseBackend, FromQueryResult, JsonValue, Statement, Value as SqlValue};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::scenarios::need_id;

type Reply = Result<Json<Value>, (StatusCode, String)>;

fn fault(err: sea_orm::DbErr) -> (StatusCode, String) {
    (StatusCode::INTERNAL_SERVER_ERROR, err.to_string())
}

async fn rows(db: &Db, sql: &str, values: Vec<SqlValue>) -> Result<Vec<JsonValue>, (StatusCode, String)> {
    let conn = db.background();
    let backend = conn.get_database_backend();
    // Written with `?`; PostgreSQL numbers its placeholders.
    let sql = if backend == DatabaseBackend::Postgres {
        let mut n = 0;
        sql.chars()
            .map(|c| {
                if c == '?' {
                    n += 1;
                    format!("${n}")
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        sql.to_owned()
    };
    JsonValue::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .all(conn)
        .await
        .map_err(fault)
}

fn list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

/// The themes (`{ key }`) of several needs, by need, in one statement.
async fn themes_of(db: &Db, need_ids: &[i64]) -> Result<HashMap<i64, Vec<Value>>, (StatusCode, String)> {
    let mut themes: HashMap<i64, Vec<Value>> = HashMap::new();
    if need_ids.is_empty() {
        return Ok(themes);
    }
    let sql = format!(
        "SELECT nt.need_id, t.key FROM need_theme nt JOIN theme t ON t.id = nt.theme_id WHERE nt.need_id IN ({}) ORDER BY t.id",
        list(need_ids)
    );
    for row in rows(db, &sql, vec![]).await? {
        themes
            .entry(row["need_id"].as_i64().unwrap_or_default())
            .or_default()
            .push(json!({ "key": row["key"] }));
    }
    Ok(themes)
}

pub fn router(db: Db) -> Router {
    Router::new()
        .route("/q1", get(dashboard))
        .route("/q2", get(lookup))
        .route("/q3", get(stats))
        .route("/q4", get(open_requests))
        .route("/q5", get(search))
        .with_state(db)
}

#[derive(Deserialize)]
struct Page {
    n: i64,
}

async fn dashboard(State(db): State<Db>, Query(page): Query<Page>) -> Reply {
    let needs = rows(
        &db,
        "SELECT n.id, n.title, n.status, n.created_at, m.name AS municipality, c.name AS cluster FROM need n \
         JOIN municipality m ON m.id = n.municipality_id LEFT JOIN cluster c ON c.id = m.cluster_id \
         WHERE n.status <> 'DRAFT' ORDER BY n.created_at DESC, n.id DESC LIMIT ?",
        vec![page.n.into()],
    )
    .await?;
    let ids: Vec<i64> = needs.iter().filter_map(|n| n["id"].as_i64()).collect();
    let mut themes = themes_of(&db, &ids).await?;
    let mut cosigners: HashMap<i64, Vec<Value>> = HashMap::new();
    let mut commissions: HashMap<i64, Vec<Value>> = HashMap::new();
    if !ids.is_empty() {
        // The public sees published commissions only, with their institution and summary. The
        // status is tested here, not in SQL: with it in the WHERE clause SQLite walks every
        // published commission through the status index (a second on tier M) instead of
        // starting from the page's needs.
        let sql = format!(
            "SELECT cn.need_id, c.status, i.short_name, s.title FROM commission_need cn \
             JOIN commission c ON c.id = cn.commission_id LEFT JOIN institution i ON i.id = c.awarded_institution_id \
             LEFT JOIN summary s ON s.commission_id = c.id WHERE cn.need_id IN ({}) ORDER BY c.id DESC",
            list(&ids)
        );
        let published = rows(&db, &sql, vec![]).await?.into_iter().filter(|row| row["status"] == "PUBLISHED");
        for row in published {
            commissions.entry(row["need_id"].as_i64().unwrap_or_default()).or_default().push(json!({
                "status": row["status"],
                "awardedInstitution": row["short_name"].as_str().map(|s| json!({ "shortName": s })),
                "summary": row["title"].as_str().map(|t| json!({ "title": t })),
            }));
        }
        let sql = format!(
            "SELECT c.need_id, m.name FROM need_cosign c JOIN municipality m ON m.id = c.municipality_id WHERE c.need_id IN ({}) ORDER BY c.id",
            list(&ids)
        );
        for row in rows(&db, &sql, vec![]).await? {
            cosigners
                .entry(row["need_id"].as_i64().unwrap_or_default())
                .or_default()
                .push(json!({ "municipality": { "name": row["name"] } }));
        }
    }
    let nodes: Vec<Value> = needs
        .iter()
        .map(|n| {
            let id = n["id"].as_i64().unwrap_or_default();
            json!({
                "id": need_id(id as i32), "title": n["title"], "status": n["status"], "createdAt": n["created_at"],
                "municipality": { "name": n["municipality"], "cluster": n["cluster"].as_str().map(|c| json!({ "name": c })) },
                "themes": themes.remove(&id).unwrap_or_default(),
                "cosignatures": { "nodes": first(cosigners.remove(&id).unwrap_or_default(), 10) },
                "commissions": { "nodes": first(commissions.remove(&id).unwrap_or_default(), 5) },
            })
        })
        .collect();
    Ok(Json(json!({ "data": { "needs": { "nodes": nodes } } })))
}

/// Q4: open commissions (any institution's member sees them all), newest first, with their needs.
async fn open_requests(State(db): State<Db>, Query(page): Query<Page>) -> Reply {
    let found = rows(
        &db,
        "SELECT c.id, c.question, c.deadline, c.budget_nok, p.key AS product_type, r.name AS region FROM commission c \
         JOIN product_type p ON p.id = c.product_type_id LEFT JOIN partnership r ON r.id = c.partnership_id \
         WHERE c.status = 'OPEN' ORDER BY c.id DESC LIMIT ?",
        vec![page.n.into()],
    )
    .await?;
    let ids: Vec<i64> = found.iter().filter_map(|c| c["id"].as_i64()).collect();
    let mut needs: HashMap<i64, Vec<Value>> = HashMap::new();
    if !ids.is_empty() {
        let sql = format!(
            "SELECT cn.commission_id, n.id, n.title, m.name FROM commission_need cn JOIN need n ON n.id = cn.need_id \
             JOIN municipality m ON m.id = n.municipality_id WHERE cn.commission_id IN ({})",
            list(&ids)
        );
        let linked = rows(&db, &sql, vec![]).await?;
        let need_ids: Vec<i64> = linked.iter().filter_map(|n| n["id"].as_i64()).collect();
        let mut themes = themes_of(&db, &need_ids).await?;
        for n in linked {
            let id = n["id"].as_i64().unwrap_or_default();
            needs.entry(n["commission_id"].as_i64().unwrap_or_default()).or_default().push(json!({
                "title": n["title"], "municipality": { "name": n["name"] }, "themes": themes.remove(&id).unwrap_or_default(),
            }));
        }
    }
    let nodes: Vec<Value> = found
        .iter()
        .map(|c| {
            let id = c["id"].as_i64().unwrap_or_default();
            json!({
                "id": URL_SAFE_NO_PAD.encode(format!("Commission:{id}")), "question": c["question"],
                "deadline": c["deadline"], "budgetNok": c["budget_nok"],
                "productType": { "key": c["product_type"] }, "region": c["region"].as_str().map(|r| json!({ "name": r })),
                "needs": { "nodes": needs.remove(&id).unwrap_or_default() },
            })
        })
        .collect();
    Ok(Json(json!({ "data": { "commissions": { "nodes": nodes } } })))
}

#[derive(Deserialize)]
struct One {
    id: i64,
}

async fn lookup(State(db): State<Db>, Query(one): Query<One>) -> Reply {
    let found = rows(
        &db,
        "SELECT n.id, n.title, n.question, n.status, m.name AS municipality FROM need n \
         JOIN municipality m ON m.id = n.municipality_id WHERE n.id = ? AND n.status <> 'DRAFT'",
        vec![one.id.into()],
    )
    .await?;
    let Some(need) = found.first() else {
        return Ok(Json(json!({ "data": { "node": null } })));
    };
    let themes = rows(
        &db,
        "SELECT t.key FROM need_theme nt JOIN theme t ON t.id = nt.theme_id WHERE nt.need_id = ? ORDER BY t.id",
        vec![one.id.into()],
    )
    .await?;
    Ok(Json(json!({ "data": { "node": {
        "id": need_id(one.id as i32), "title": need["title"], "question": need["question"], "status": need["status"],
        "municipality": { "name": need["municipality"] },
        "themes": themes.iter().map(|t| json!({ "key": t["key"] })).collect::<Vec<_>>(),
    } } })))
}

#[derive(Deserialize)]
struct Stats {
    /// A partnership's key: the counts of its pool only.
    partnership: Option<String>,
}

/// `needStats` as the hub counts it: from the tallies the schema keeps in step with the needs
/// (see the migration `need_tally`), by hand.
async fn stats(State(db): State<Db>, Query(stats): Query<Stats>) -> Reply {
    let (pool, values) = match stats.partnership {
        Some(key) => (" AND n.partnership_id = (SELECT id FROM partnership WHERE key = ?)", vec![key.into()]),
        None => ("", vec![]),
    };
    let visible = format!("n.status <> 'DRAFT'{pool}");
    let sum = "CAST(SUM(n.needs) AS BIGINT)";
    let total =
        rows(&db, &format!("SELECT {sum} AS n FROM need_tally n WHERE {visible}"), values.clone()).await?;
    let by_status = rows(
        &db,
        &format!(
            "SELECT n.status, {sum} AS n FROM need_tally n WHERE {visible} GROUP BY n.status HAVING {sum} > 0 \
             ORDER BY n.status"
        ),
        values.clone(),
    )
    .await?;
    let by_theme = rows(
        &db,
        &format!(
            "SELECT t.key, {sum} AS n FROM need_theme_pool_tally n JOIN theme t ON t.id = n.theme_id \
             WHERE {visible} GROUP BY t.key HAVING {sum} > 0 ORDER BY t.key"
        ),
        values.clone(),
    )
    .await?;
    let by_cluster = rows(
        &db,
        &format!(
            "SELECT c.name, {sum} AS n FROM need_tally n JOIN municipality m ON m.id = n.municipality_id \
             LEFT JOIN cluster c ON c.id = m.cluster_id WHERE {visible} GROUP BY c.name HAVING {sum} > 0 ORDER BY c.name"
        ),
        values,
    )
    .await?;
    Ok(Json(json!({ "data": { "needStats": {
        "total": total.first().map(|t| t["n"].clone()),
        "byStatus": by_status.iter().map(|r| json!({ "status": r["status"], "count": r["n"] })).collect::<Vec<_>>(),
        "byTheme": by_theme.iter().map(|r| json!({ "theme": { "key": r["key"] }, "count": r["n"] })).collect::<Vec<_>>(),
        "byCluster": by_cluster.iter().map(|r| json!({ "cluster": r["name"].as_str().map(|n| json!({ "name": n })), "count": r["n"] })).collect::<Vec<_>>(),
    } } })))
}

#[derive(Deserialize)]
struct Search {
    q: String,
    /// The last page (the needs that match least) instead of the first.
    #[serde(default)]
    last: bool,
}

/// How many of the best entries (or worst, for the last page) of the word's terms the page is
/// first looked for among.
const CANDIDATES: usize = 200;

async fn search(State(db): State<Db>, Query(search): Query<Search>) -> Reply {
    // The word's terms in the index: its stem, and the 16 that most needs have of those that
    // start with it as typed.
    let word: String =
        search.q.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    let stem = words::stem(&word);
    let terms: Vec<SqlValue> = rows(
        &db,
        "SELECT term FROM search_term WHERE needs > 0 AND (term = ? OR (term >= ? AND term < ?)) \
         ORDER BY CASE WHEN term = ? THEN 0 ELSE 1 END, needs DESC, term LIMIT 17",
        vec![stem.clone().into(), word.clone().into(), format!("{word}{}", char::MAX).into(), stem.into()],
    )
    .await?
    .iter()
    .map(|t| t["term"].as_str().unwrap_or_default().to_owned().into())
    .collect();
    let mut found = Vec::new();
    if !terms.is_empty() {
        // Each term's entries in the order of the page, merged; of those, each need at its best
        // term's rank. First among the first few hundred, then, if they do not fill the page,
        // among all.
        let order = if search.last { "DESC" } else { "ASC" };
        let marks = vec!["?"; terms.len()].join(", ");
        for limit in [format!(" LIMIT {CANDIDATES}"), String::new()] {
            let arms = (0..terms.len())
                .map(|i| {
                    format!(
                        "SELECT * FROM (SELECT need_id, rank FROM need_term WHERE term = ? \
                         ORDER BY rank {order}, need_id {order}{limit}) a{i}"
                    )
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            // With one term, each need comes once, at its rank there.
            let (distinct, best) = if terms.len() == 1 {
                ("", String::new())
            } else {
                (
                    "DISTINCT ",
                    format!(
                        " WHERE e.rank = (SELECT MIN(b.rank) FROM need_term b \
                         WHERE b.need_id = e.need_id AND b.term IN ({marks}))"
                    ),
                )
            };
            let sql = format!(
                "SELECT n.id, n.title FROM (SELECT {distinct}e.need_id, e.rank FROM ({arms} \
                 ORDER BY rank {order}, need_id {order}{limit}) e{best}) s \
                 JOIN need n ON n.id = s.need_id WHERE n.status <> 'DRAFT' \
                 ORDER BY s.rank {order}, n.id {order} LIMIT 21"
            );
            let values =
                terms.iter().chain(if terms.len() == 1 { &[][..] } else { &terms[..] }).cloned().collect();
            found = rows(&db, &sql, values).await?;
            if found.len() > 20 {
                break;
            }
        }
        found.truncate(20);
        if search.last {
            found.reverse();
        }
    }
    let nodes: Vec<Value> = found
        .iter()
        .map(|n| json!({ "id": need_id(n["id"].as_i64().unwrap_or_default() as i32), "title": n["title"] }))
        .collect();
    Ok(Json(json!({ "data": { "needs": { "nodes": nodes } } })))
}

/// The first page of a relation, as the hub's connection `(first: n)` returns it.
fn first(mut items: Vec<Value>, n: usize) -> Vec<Value> {
    items.truncate(n);
    items
}
