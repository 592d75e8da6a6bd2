//! The columns of each export: their headings in bokmål, nynorsk and English, and how a node of
//! its document's answer (`documents.rs`) becomes rows of cells. Times are the API's ISO-8601
//! text; lists are joined with "; ".

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
