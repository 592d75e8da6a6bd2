//! What each export holds: the GraphQL document that reads a page of it (the export is that
//! field's answer, page by page, so it is authorised exactly as the field is), the headings of
//! its columns in bokmål, nynorsk and English, and how a node of the answer becomes rows of
//! cells. Times are the API's ISO-8601 text; lists are joined with "; ".

use entity::enums::Language;
use serde_json::Value;

use super::Kind;

/// One cell of a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

impl Cell {
    /// The cell's text in a CSV file.
    pub fn text(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Number(n) => n.to_string(),
            Self::Empty => String::new(),
        }
    }
}

/// The value at `path` under `node` (`null` where a step is missing).
fn at<'a>(node: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(node, |value, step| &value[*step])
}

/// A cell of a JSON value: text, a number, or empty for null.
fn cell(value: &Value) -> Cell {
    match value {
        Value::Null => Cell::Empty,
        Value::String(text) => Cell::Text(text.clone()),
        Value::Number(n) => n.as_f64().map_or(Cell::Empty, Cell::Number),
        Value::Bool(b) => Cell::Text(b.to_string()),
        other => Cell::Text(other.to_string()),
    }
}

/// The texts at `field` of each item of the list at `path`, joined with "; ".
fn joined(node: &Value, path: &[&str], field: &str) -> Cell {
    let texts: Vec<&str> =
        at(node, path).as_array().into_iter().flatten().filter_map(|item| item[field].as_str()).collect();
    if texts.is_empty() { Cell::Empty } else { Cell::Text(texts.join("; ")) }
}

/// A heading in the three languages.
type Heading = [&'static str; 3];

fn pick(heading: &Heading, language: Language) -> String {
    let index = match language {
        Language::Nb => 0,
        Language::Nn => 1,
        Language::En => 2,
    };
    heading[index].to_owned()
}

/// A column: its heading and its cell of a node.
struct Column {
    heading: Heading,
    value: fn(&Value) -> Cell,
}

macro_rules! column {
    ($nb:literal, $nn:literal, $en:literal, $value:expr) => {
        Column { heading: [$nb, $nn, $en], value: $value }
    };
}

// ---- needs -------------------------------------------------------------------------------

/// A page of `needs`, with the contact person only when the caller may have personal data.
pub const NEEDS: &str = r#"query NeedsExport($filter: NeedFilter, $search: String, $orderBy: NeedOrder! = NEWEST, $language: Language! = NB, $personal: Boolean! = false, $first: Int, $after: String) {
  page: needs(filter: $filter, search: $search, orderBy: $orderBy, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node {
      id title question background intendedUse targetGroup status urgency
      themes { label(language: $language) }
      productType { label(language: $language) }
      municipality { name code }
      organisation { name }
      partnership { name }
      reach { municipalities inhabitants }
      contactPerson @include(if: $personal) { name email }
      submittedAt createdAt updatedAt
    } }
  }
}"#;

/// How many needs an export of them holds (what it is priced by).
pub const NEEDS_COUNT: &str = r#"query NeedsExportCount($filter: NeedFilter, $search: String) {
  page: needs(filter: $filter, search: $search, first: 1) { totalCount }
}"#;

const NEED_COLUMNS: &[Column] = &[
    column!("ID", "ID", "ID", |n| cell(&n["id"])),
    column!("Tittel", "Tittel", "Title", |n| cell(&n["title"])),
    column!("Spørsmål", "Spørsmål", "Question", |n| cell(&n["question"])),
    column!("Bakgrunn", "Bakgrunn", "Background", |n| cell(&n["background"])),
    column!("Tiltenkt bruk", "Tiltenkt bruk", "Intended use", |n| cell(&n["intendedUse"])),
    column!("Målgruppe", "Målgruppe", "Target group", |n| cell(&n["targetGroup"])),
    column!("Status", "Status", "Status", |n| cell(&n["status"])),
    column!("Hastegrad", "Hastegrad", "Urgency", |n| cell(&n["urgency"])),
    column!("Tema", "Tema", "Themes", |n| joined(n, &["themes"], "label")),
    column!("Produkttype", "Produkttype", "Product type", |n| cell(at(n, &["productType", "label"]))),
    column!("Kommune", "Kommune", "Municipality", |n| cell(at(n, &["municipality", "name"]))),
    column!("Kommunenummer", "Kommunenummer", "Municipality number", |n| cell(at(
        n,
        &["municipality", "code"]
    ))),
    column!("Organisasjon", "Organisasjon", "Organisation", |n| cell(at(n, &["organisation", "name"]))),
    column!("Partnerskap", "Partnarskap", "Partnership", |n| cell(at(n, &["partnership", "name"]))),
    column!("Kommuner som deler behovet", "Kommunar som deler behovet", "Municipalities sharing it", |n| {
        cell(at(n, &["reach", "municipalities"]))
    }),
    column!("Innbyggere", "Innbyggjarar", "Inhabitants", |n| cell(at(n, &["reach", "inhabitants"]))),
    column!("Sendt inn", "Sendt inn", "Submitted", |n| cell(&n["submittedAt"])),
    column!("Opprettet", "Oppretta", "Created", |n| cell(&n["createdAt"])),
    column!("Endret", "Endra", "Updated", |n| cell(&n["updatedAt"])),
];

/// Personal data (ARCHITECTURE.md, the personal data rule): only in the files of callers with a
/// token, and each cell only where the API shows the person to the caller.
const NEED_PERSONAL_COLUMNS: &[Column] = &[
    column!("Kontaktperson", "Kontaktperson", "Contact person", |n| cell(at(n, &["contactPerson", "name"]))),
    column!("E-post til kontaktperson", "E-post til kontaktperson", "Contact person's e-mail", |n| cell(at(
        n,
        &["contactPerson", "email"]
    ))),
];

// ---- a round's ranking -------------------------------------------------------------------

pub const RANKING: &str = r#"query RoundRankingExport($round: ID!, $language: Language! = NB, $first: Int, $after: String) {
  round(id: $round) {
    name
    criteria { key label(language: $language) }
    page: ranking(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node {
        position weightedMean scoreCount reach outcome
        need { id title }
        criterionMeans { criterion { key } mean count }
        scores {
          organisation { ... on Cluster { name } ... on Organisation { name } ... on Institution { name } }
          criterion { key }
          value
        }
      } }
    }
  }
}"#;

pub const RANKING_COUNT: &str = r#"query RoundRankingExportCount($round: ID!) {
  round(id: $round) { page: ranking(first: 1) { totalCount } }
}"#;

const RANKING_COLUMNS: &[Column] = &[
    column!("Plass", "Plass", "Position", |n| cell(&n["position"])),
    column!("Behov-ID", "Behov-ID", "Need ID", |n| cell(at(n, &["need", "id"]))),
    column!("Behov", "Behov", "Need", |n| cell(at(n, &["need", "title"]))),
    column!("Vektet snitt", "Vekta snitt", "Weighted mean", |n| cell(&n["weightedMean"])),
    column!("Antall som har scoret", "Tal som har skåra", "Scored by", |n| cell(&n["scoreCount"])),
    column!("Rekkevidde (kommuner)", "Rekkevidd (kommunar)", "Reach (municipalities)", |n| cell(&n["reach"])),
    column!("Utfall", "Utfall", "Outcome", |n| cell(&n["outcome"])),
];

/// The headings of a criterion's two columns: its mean and every score given on it.
const CRITERION_MEAN: Heading = ["Snitt", "Snitt", "Mean"];
const CRITERION_SCORES: Heading = ["Poeng", "Poeng", "Scores"];

/// A ranking entry's cells for one criterion: the mean, and each organisation's score as
/// "name: value", joined.
fn criterion_cells(entry: &Value, key: &str) -> [Cell; 2] {
    let mean = at(entry, &["criterionMeans"])
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["criterion"]["key"].as_str() == Some(key))
        .map_or(Cell::Empty, |m| cell(&m["mean"]));
    let scores: Vec<String> = at(entry, &["scores"])
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["criterion"]["key"].as_str() == Some(key))
        .map(|s| format!("{}: {}", s["organisation"]["name"].as_str().unwrap_or("?"), s["value"]))
        .collect();
    [mean, if scores.is_empty() { Cell::Empty } else { Cell::Text(scores.join("; ")) }]
}

// ---- commissions with milestones ---------------------------------------------------------

pub const COMMISSIONS: &str = r#"query CommissionsExport($filter: CommissionFilter, $language: Language! = NB, $first: Int, $after: String) {
  page: commissions(filter: $filter, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node {
      id question status
      partnership { name }
      productType { label(language: $language) }
      deadline budgetNok
      awardedInstitution { name }
      createdAt updatedAt
      inner: milestones(first: 100) { pageInfo { hasNextPage endCursor } edges { node { title dueAt doneAt } } }
    } }
  }
}"#;

/// The rest of one commission's milestones, when it has more than a page.
pub const MILESTONES: &str = r#"query CommissionsExportMilestones($id: ID!, $after: String) {
  node(id: $id) { ... on Commission {
    inner: milestones(first: 100, after: $after) { pageInfo { hasNextPage endCursor } edges { node { title dueAt doneAt } } }
  } }
}"#;

pub const COMMISSIONS_COUNT: &str = r#"query CommissionsExportCount($filter: CommissionFilter) {
  page: commissions(filter: $filter, first: 1) { totalCount }
}"#;

const COMMISSION_COLUMNS: &[Column] = &[
    column!("ID", "ID", "ID", |n| cell(&n["id"])),
    column!("Spørsmål", "Spørsmål", "Question", |n| cell(&n["question"])),
    column!("Status", "Status", "Status", |n| cell(&n["status"])),
    column!("Partnerskap", "Partnarskap", "Partnership", |n| cell(at(n, &["partnership", "name"]))),
    column!("Produkttype", "Produkttype", "Product type", |n| cell(at(n, &["productType", "label"]))),
    column!("Frist", "Frist", "Deadline", |n| cell(&n["deadline"])),
    column!("Budsjett (NOK)", "Budsjett (NOK)", "Budget (NOK)", |n| cell(&n["budgetNok"])),
    column!("Tildelt", "Tildelt", "Awarded to", |n| cell(at(n, &["awardedInstitution", "name"]))),
    column!("Opprettet", "Oppretta", "Created", |n| cell(&n["createdAt"])),
    column!("Endret", "Endra", "Updated", |n| cell(&n["updatedAt"])),
];

const MILESTONE_COLUMNS: &[Column] = &[
    column!("Milepæl", "Milepæl", "Milestone", |m| cell(&m["title"])),
    column!("Milepæl frist", "Milepæl frist", "Milestone due", |m| cell(&m["dueAt"])),
    column!("Milepæl fullført", "Milepæl fullført", "Milestone done", |m| cell(&m["doneAt"])),
];

// ---- uptake reports ----------------------------------------------------------------------

pub const UPTAKE: &str = r#"query UptakeExport($search: String, $first: Int, $after: String) {
  page: summaries(search: $search, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node {
      id title publishedAt
      commission { id }
      inner: uptake(first: 100) { pageInfo { hasNextPage endCursor } edges { node { municipality { name code } status note recordedAt } } }
    } }
  }
}"#;

/// The rest of one summary's uptake, when it has more than a page.
pub const UPTAKE_REST: &str = r#"query UptakeExportRest($id: ID!, $after: String) {
  node(id: $id) { ... on Summary {
    inner: uptake(first: 100, after: $after) { pageInfo { hasNextPage endCursor } edges { node { municipality { name code } status note recordedAt } } }
  } }
}"#;

pub const UPTAKE_COUNT: &str = r#"query UptakeExportCount($search: String) {
  page: summaries(search: $search, first: 1) { totalCount }
}"#;

const SUMMARY_COLUMNS: &[Column] = &[
    column!("Kunnskapsoppsummering-ID", "Kunnskapsoppsummering-ID", "Summary ID", |n| cell(&n["id"])),
    column!("Tittel", "Tittel", "Title", |n| cell(&n["title"])),
    column!("Publisert", "Publisert", "Published", |n| cell(&n["publishedAt"])),
    column!("Oppdrag-ID", "Oppdrag-ID", "Commission ID", |n| cell(at(n, &["commission", "id"]))),
];

const UPTAKE_COLUMNS: &[Column] = &[
    column!("Kommune", "Kommune", "Municipality", |u| cell(at(u, &["municipality", "name"]))),
    column!("Kommunenummer", "Kommunenummer", "Municipality number", |u| cell(at(
        u,
        &["municipality", "code"]
    ))),
    column!("Bruk", "Bruk", "Uptake", |u| cell(&u["status"])),
    column!("Merknad", "Merknad", "Note", |u| cell(&u["note"])),
    column!("Registrert", "Registrert", "Recorded", |u| cell(&u["recordedAt"])),
];

// ---- per kind ----------------------------------------------------------------------------

/// The shape of one export: its documents, the page size it reads in, and its columns.
pub struct Shape {
    /// A page of the export: the connection is aliased `page`.
    pub document: &'static str,
    /// The count the export is priced by: `page.totalCount`.
    pub count: &'static str,
    /// The rest of a node's inner list (aliased `inner`), for exports of a list within a list.
    pub rest: Option<&'static str>,
    /// Items per page: as many as the document's cost allows under the limit on one request.
    pub page_size: usize,
    /// What one item of the page costs in the API's estimate (the connection's per-item price):
    /// an export of n items is priced as `n` times this, as reading them through the API would
    /// be. A test checks each against the estimate of its document.
    pub item_cost: usize,
    /// Where the connection is in the answer's data.
    pub path: &'static [&'static str],
}

impl Kind {
    pub fn shape(self) -> Shape {
        match self {
            Kind::Needs => Shape {
                document: NEEDS,
                count: NEEDS_COUNT,
                rest: None,
                page_size: 500,
                item_cost: NEEDS_ITEM_COST,
                path: &["page"],
            },
            Kind::RoundRanking => Shape {
                document: RANKING,
                count: RANKING_COUNT,
                rest: None,
                page_size: 20,
                item_cost: RANKING_ITEM_COST,
                path: &["round", "page"],
            },
            Kind::Commissions => Shape {
                document: COMMISSIONS,
                count: COMMISSIONS_COUNT,
                rest: Some(MILESTONES),
                page_size: 50,
                item_cost: COMMISSIONS_ITEM_COST,
                path: &["page"],
            },
            Kind::Uptake => Shape {
                document: UPTAKE,
                count: UPTAKE_COUNT,
                rest: Some(UPTAKE_REST),
                page_size: 40,
                item_cost: UPTAKE_ITEM_COST,
                path: &["page"],
            },
        }
    }

    /// Whether the export carries personal data for a caller with a token.
    pub fn has_personal_data(self) -> bool {
        self == Kind::Needs
    }
}

/// The per-item prices of the documents above (the test `prices` holds them to the API's
/// estimate): a need 43, a ranking entry 2,335 (its scores are priced at their bound), a
/// commission 819 and a summary 1,111 (a page of 100 milestones or reports each).
const NEEDS_ITEM_COST: usize = 43;
const RANKING_ITEM_COST: usize = 2_335;
const COMMISSIONS_ITEM_COST: usize = 819;
const UPTAKE_ITEM_COST: usize = 1_111;

/// How the answer's nodes become rows, for one export of one kind.
pub struct Table {
    kind: Kind,
    language: Language,
    personal: bool,
    /// A ranking's criteria, in the round's order (key, label), read from its first page.
    criteria: Vec<(String, String)>,
}

impl Table {
    /// The table of an export; `data` is the answer of its first page (a ranking's criteria).
    pub fn new(kind: Kind, language: Language, personal: bool, data: &Value) -> Self {
        let criteria =
            if kind != Kind::RoundRanking { &Value::Null } else { at(data, &["round", "criteria"]) };
        let criteria = criteria
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| Some((c["key"].as_str()?.to_owned(), c["label"].as_str()?.to_owned())))
            .collect();
        Self { kind, language, personal, criteria }
    }

    fn columns(&self) -> (&'static [Column], &'static [Column]) {
        match self.kind {
            Kind::Needs => (NEED_COLUMNS, if self.personal { NEED_PERSONAL_COLUMNS } else { &[] }),
            Kind::RoundRanking => (RANKING_COLUMNS, &[]),
            Kind::Commissions => (COMMISSION_COLUMNS, MILESTONE_COLUMNS),
            Kind::Uptake => (SUMMARY_COLUMNS, UPTAKE_COLUMNS),
        }
    }

    /// The heading row.
    pub fn headings(&self) -> Vec<String> {
        let (outer, inner) = self.columns();
        let mut headings: Vec<String> =
            outer.iter().chain(inner).map(|c| pick(&c.heading, self.language)).collect();
        for (_, label) in &self.criteria {
            headings.push(format!("{}: {label}", pick(&CRITERION_MEAN, self.language)));
            headings.push(format!("{}: {label}", pick(&CRITERION_SCORES, self.language)));
        }
        headings
    }

    /// The rows of one node of the page: one, or for a list within a list (commissions'
    /// milestones, summaries' uptake) one per inner item (`inner`, all of them), or one with
    /// empty inner cells when there is none.
    pub fn rows(&self, node: &Value, inner: &[Value]) -> Vec<Vec<Cell>> {
        let (outer_columns, inner_columns) = self.columns();
        let mut outer: Vec<Cell> = outer_columns.iter().map(|c| (c.value)(node)).collect();
        match self.kind {
            Kind::Needs => {
                outer.extend(inner_columns.iter().map(|c| (c.value)(node)));
                vec![outer]
            }
            Kind::RoundRanking => {
                for (key, _) in &self.criteria {
                    outer.extend(criterion_cells(node, key));
                }
                vec![outer]
            }
            Kind::Commissions | Kind::Uptake => {
                if inner.is_empty() {
                    outer.extend(inner_columns.iter().map(|_| Cell::Empty));
                    return vec![outer];
                }
                inner
                    .iter()
                    .map(|item| {
                        let mut row = outer.clone();
                        row.extend(inner_columns.iter().map(|c| (c.value)(item)));
                        row
                    })
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_kind_has_its_headings_in_each_language_and_rows_as_wide_as_them() {
        for kind in [Kind::Needs, Kind::RoundRanking, Kind::Commissions, Kind::Uptake] {
            let data = json!({ "round": { "criteria": [{ "key": "gain", "label": "Nytte" }] } });
            let table = Table::new(kind, Language::Nn, true, &data);
            let headings = table.headings();
            assert!(headings.iter().all(|h| !h.is_empty()), "{kind:?}");
            for inner in [vec![], vec![json!({ "title": "M" }), json!({ "title": "N" })]] {
                for row in table.rows(&json!({ "id": "x" }), &inner) {
                    assert_eq!(row.len(), headings.len(), "{kind:?}");
                }
            }
        }
        let en = Table::new(Kind::Needs, Language::En, false, &Value::Null).headings();
        let nb = Table::new(Kind::Needs, Language::Nb, false, &Value::Null).headings();
        assert_eq!((en[1].as_str(), nb[1].as_str()), ("Title", "Tittel"));
        assert!(!nb.iter().any(|h| h.contains("Kontaktperson")), "no personal columns without a token");
    }

    #[test]
    fn lists_are_joined_and_scores_named() {
        let need =
            json!({ "themes": [{ "label": "Helse" }, { "label": "Skole" }], "reach": { "inhabitants": 12 } });
        let row = &Table::new(Kind::Needs, Language::Nb, false, &Value::Null).rows(&need, &[])[0];
        assert!(row.contains(&Cell::Text("Helse; Skole".into())));
        assert!(row.contains(&Cell::Number(12.0)));
        let entry = json!({
            "criterionMeans": [{ "criterion": { "key": "gain" }, "mean": 4.5 }],
            "scores": [
                { "organisation": { "name": "Bergen" }, "criterion": { "key": "gain" }, "value": 4 },
                { "organisation": { "name": "Askøy" }, "criterion": { "key": "gain" }, "value": 5 },
            ],
        });
        assert_eq!(
            criterion_cells(&entry, "gain"),
            [Cell::Number(4.5), Cell::Text("Bergen: 4; Askøy: 5".into())]
        );
    }
}

#[cfg(test)]
mod prices {
    use async_graphql::{Request, Variables, extensions::Analyzer};
    use serde_json::json;

    use super::*;
    use crate::graphql::limits::MAX_COMPLEXITY;

    /// The API's estimate of a page of `kind` with `first` items (async-graphql adds it up at
    /// validation, which needs no database).
    async fn complexity(kind: Kind, first: usize) -> usize {
        let schema = crate::graphql::schema::builder().extension(Analyzer).finish();
        let variables = json!({ "round": "x", "personal": true, "first": first });
        let response = schema
            .execute(Request::new(kind.shape().document).variables(Variables::from_json(variables)))
            .await;
        let analyzer =
            response.extensions.get("analyzer").cloned().map(|v| v.into_json().unwrap_or_default());
        analyzer.and_then(|a| a["complexity"].as_u64()).unwrap_or_default() as usize
    }

    #[tokio::test]
    async fn each_export_costs_an_item_what_its_page_costs_an_item_in_the_api() {
        let mut found = Vec::new();
        for kind in [Kind::Needs, Kind::RoundRanking, Kind::Commissions, Kind::Uptake] {
            let (one, two) = (complexity(kind, 1).await, complexity(kind, 2).await);
            let shape = kind.shape();
            found.push((kind, shape.item_cost, two - one));
            let page = complexity(kind, shape.page_size).await;
            assert!(page <= MAX_COMPLEXITY, "{kind:?}: a page costs {page}");
        }
        assert!(found.iter().all(|(_, said, is)| said == is), "(kind, said, is): {found:?}");
    }

    #[tokio::test]
    async fn every_document_is_valid_for_the_schema() {
        let schema = crate::graphql::schema::builder().finish();
        let documents = [
            NEEDS,
            NEEDS_COUNT,
            RANKING,
            RANKING_COUNT,
            COMMISSIONS,
            MILESTONES,
            COMMISSIONS_COUNT,
            UPTAKE,
            UPTAKE_REST,
            UPTAKE_COUNT,
        ];
        for document in documents {
            let variables = json!({ "round": "x", "id": "x", "personal": true, "first": 1 });
            let response =
                schema.execute(Request::new(document).variables(Variables::from_json(variables))).await;
            // With no database the resolvers fail; the document itself must pass parsing and
            // validation.
            let codes: Vec<String> = response
                .errors
                .iter()
                .filter_map(|e| e.extensions.as_ref()?.get("code")?.clone().into_json().ok())
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect();
            assert!(
                codes.iter().all(|c| !c.starts_with("GRAPHQL_") && c != "QUERY_TOO_COMPLEX"),
                "{codes:?} {document}"
            );
        }
    }
}
