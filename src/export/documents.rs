//! What each export reads: the GraphQL documents of a page of it (the export is that field's
//! answer, page by page, so it is authorised exactly as the field is), of its count, and of the
//! rest of an inner list; the page size and the per-item price. The connection of a page is
//! aliased `page`, an inner list `inner`.

use super::Kind;

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

#[cfg(test)]
mod prices {
    use async_graphql::{Request, Variables, extensions::Analyzer};
    use serde_json::json;

    use super::*;
    use crate::graphql::limits::MAX_COMPLEXITY;

    /// The API's estimate of a page of `kind` with `first` items (async-graphql adds it up at
    /// validation, which needs no database).
    async fn complexity(kind: Kind, first: usize) -> usize {
        let schema = crate::graphql::schema::builder(Default::default(), false).extension(Analyzer).finish();
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
        let schema = crate::graphql::schema::builder(Default::default(), false).finish();
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
