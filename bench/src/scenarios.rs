//! The scenarios: each is a GraphQL request to the hub and the equivalent request to the raw
//! baseline, drawn afresh for every iteration from a seeded generator.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use sample::Rng;

/// One request of a scenario: a GraphQL body for the hub, a path for the baseline.
pub struct Draw {
    pub graphql: Value,
    pub baseline: Option<String>,
}

/// The institution Q4's member belongs to.
pub const INSTITUTION: &str = "uib";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Q1: a dashboard page of 50 needs with municipality, cluster, themes, co-signers, and
    /// commissions with institution and summary.
    Dashboard50,
    /// Q1 with 500 needs.
    Dashboard500,
    /// Q2: one need by id.
    Lookup,
    /// Q3: aggregates (`needStats`) of the whole country.
    Stats,
    /// Q3 of one partnership's pool (RSO Vest's).
    StatsPool,
    /// Q4: the open requests (commissions) an institution's member sees.
    OpenRequests,
    /// Q5: full-text search.
    Search,
    /// Q5's last page: the needs that match least, read from the end.
    SearchDeep,
}

impl Scenario {
    pub const ALL: [Self; 8] = [
        Self::Dashboard50,
        Self::Dashboard500,
        Self::Lookup,
        Self::Stats,
        Self::StatsPool,
        Self::OpenRequests,
        Self::Search,
        Self::SearchDeep,
    ];

    /// Whether the scenario's hub requests are sent with the token of a member of [`INSTITUTION`].
    pub fn needs_institution_token(self) -> bool {
        self == Self::OpenRequests
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Dashboard50 => "Q1 dashboard page (50)",
            Self::Dashboard500 => "Q1 dashboard page (500)",
            Self::OpenRequests => "Q4 institution's open requests",
            Self::Lookup => "Q2 point lookup",
            Self::Stats => "Q3 aggregates",
            Self::StatsPool => "Q3 aggregates of one partnership",
            Self::Search => "Q5 full-text search",
            Self::SearchDeep => "Q5 full-text search, last page",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Self::Dashboard50 => "q1",
            Self::Dashboard500 => "q1-500",
            Self::OpenRequests => "q4",
            Self::Lookup => "q2",
            Self::Stats => "q3",
            Self::StatsPool => "q3-pool",
            Self::Search => "q5",
            Self::SearchDeep => "q5-deep",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    /// A request of this scenario over a dataset of `needs` needs.
    pub fn draw(self, rng: &mut Rng, needs: usize) -> Draw {
        match self {
            Self::Dashboard50 | Self::Dashboard500 => {
                let n = if self == Self::Dashboard50 { 50 } else { 500 };
                Draw {
                    graphql: json!({ "query": DASHBOARD, "variables": { "n": n } }),
                    baseline: Some(format!("/q1?n={n}")),
                }
            }
            Self::OpenRequests => Draw {
                graphql: json!({ "query": OPEN_REQUESTS, "variables": { "n": 50 } }),
                baseline: Some("/q4?n=50".into()),
            },
            Self::Lookup => {
                let id = 1 + rng.below(needs);
                Draw {
                    graphql: json!({ "query": LOOKUP, "variables": { "id": need_id(id as i32) } }),
                    baseline: Some(format!("/q2?id={id}")),
                }
            }
            Self::Stats => Draw { graphql: json!({ "query": STATS }), baseline: Some("/q3".into()) },
            Self::StatsPool => Draw {
                graphql: json!({ "query": STATS_OF, "variables": { "partnership": POOL } }),
                baseline: Some(format!("/q3?partnership={POOL}")),
            },
            Self::Search => {
                let word = WORDS[rng.below(WORDS.len())];
                Draw {
                    graphql: json!({ "query": SEARCH, "variables": { "q": word } }),
                    baseline: Some(format!("/q5?q={word}")),
                }
            }
            Self::SearchDeep => {
                let word = WORDS[rng.below(WORDS.len())];
                Draw {
                    graphql: json!({ "query": SEARCH_LAST, "variables": { "q": word } }),
                    baseline: Some(format!("/q5?q={word}&last=true")),
                }
            }
        }
    }
}

/// A need's global id, as the hub encodes it.
pub fn need_id(key: i32) -> String {
    URL_SAFE_NO_PAD.encode(format!("Need:{key}"))
}

pub const DASHBOARD: &str = "query($n: Int!) { needs(first: $n) { nodes { id title status createdAt
    municipality { name cluster { name } } themes { key } cosignatures(first: 10) { nodes { municipality { name } } }
    commissions(first: 5) { nodes { status awardedInstitution { shortName } summary { title } } } } } }";
pub const OPEN_REQUESTS: &str =
    "query($n: Int!) { commissions(filter: { status: [OPEN] }, first: $n) { nodes {
    id question deadline budgetNok productType { key } region { name }
    needs { nodes { title municipality { name } themes { key } } } } } }";
pub const LOOKUP: &str = "query($id: ID!) { node(id: $id) { ... on Need { id title question status municipality { name } themes { key } } } }";
pub const STATS: &str = "{ needStats { total byStatus { status count } byTheme { theme { key } count }
    byCluster { cluster { name } count } } }";
pub const STATS_OF: &str = "query($partnership: ID!) { needStats(filter: { partnership: $partnership }) {
    total byStatus { status count } byTheme { theme { key } count } byCluster { cluster { name } count } } }";
/// The partnership whose pool `StatsPool` counts.
const POOL: &str = "rso-vest";
pub const SEARCH: &str =
    "query($q: String!) { needs(search: $q, first: 20, orderBy: RELEVANCE) { nodes { id title } } }";

pub const SEARCH_LAST: &str =
    "query($q: String!) { needs(search: $q, last: 20, orderBy: RELEVANCE) { nodes { id title } } }";

/// Search words: topics of the dataset, prefixes and a word that finds nothing.
const WORDS: &[&str] = &[
    "fallforebygging",
    "ernæring",
    "demens",
    "einsemd",
    "rehab",
    "psykisk",
    "søvn",
    "kompetanse",
    "xylofon",
];
