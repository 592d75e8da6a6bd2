//! The loaders behind each request's batcher: every relation field loads through here, so a page
//! of N parents costs one statement per relation, not N (proved by a test that counts statements).
//!
//! Two shapes: `XxxById` loads rows by primary key (belongs-to relations and `node`), and
//! `XxxOf<Parent>` loads all children of a set of parents in one `IN (...)` query.
//!
//! Every loader returns what `db` returns (entity rows, or plain structs of rows), and the
//! resolvers build the API's types from them: this module imports nothing of the API but the
//! batcher, so no import loop runs through it.

use std::{hash::Hash, sync::Arc};

use entity::{
    api_token, cluster, commission, commission_event, commission_interest, county, criterion, institution,
    membership, milestone, municipality, need, need_cosign, need_event, need_evidence, partnership, person,
    product_type, round, summary, theme, uptake, webhook_endpoint,
};

use crate::{
    db::{
        Db,
        identity::{self, GrantRow},
        pages::KeyWindow,
        reference,
    },
    error::AppError,
    graphql::batch::{Batcher, HashMap, HashMapExt, Loader, ReferenceTables},
};

/// The kinds of children a connection counts (`CountOf`), kept where their tables are named.
pub use crate::db::pages::Children;

/// A need and its themes' ids, read in the same statement (see `graphql::needs::types::Need`).
pub type NeedWithThemes = (need::Model, Vec<i32>);

pub struct Loaders {
    db: Db,
}

impl Loaders {
    /// A fresh batcher for one request (or WebSocket connection); it batches by resolution pass,
    /// and caches nothing but the reference tables of read-only requests, in `tables`.
    pub fn batcher(db: Db, tables: Arc<ReferenceTables>) -> Batcher<Loaders> {
        Batcher::with_tables(Self { db }, tables)
    }
}

/// A key type for rows of `$entity` by primary key; `reference` marks a small reference table,
/// read whole in read-only requests (see [`crate::graphql::batch`]).
macro_rules! by_id {
    ($key:ident, $entity:ident) => {
        by_id!($key, $entity, false);
    };
    ($key:ident, $entity:ident, reference) => {
        by_id!($key, $entity, true);
    };
    ($key:ident, $entity:ident, $reference:literal) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub i32);

        impl Loader<$key> for Loaders {
            type Value = $entity::Model;
            const REFERENCE: bool = $reference;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, AppError> {
                let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
                let rows = reference::where_in::<$entity::Entity>(
                    self.db.conn(),
                    $entity::Column::Id,
                    &ids,
                    $entity::Column::Id,
                )
                .await?;
                Ok(rows.into_iter().map(|row| ($key(row.id), row)).collect())
            }

            async fn load_all(&self) -> Result<HashMap<$key, Self::Value>, AppError> {
                let rows = reference::every::<$entity::Entity>(self.db.conn()).await?;
                Ok(rows.into_iter().map(|row| ($key(row.id), row)).collect())
            }
        }
    };
}

/// A key type for all rows of `$entity` whose `$column` (field `$field`) is the parent's id.
macro_rules! children_of {
    ($key:ident, $entity:ident, $column:ident, $field:ident) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub i32);

        impl Loader<$key> for Loaders {
            type Value = Vec<$entity::Model>;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, AppError> {
                let parents: Vec<i32> = keys.iter().map(|k| k.0).collect();
                let rows = reference::where_in::<$entity::Entity>(
                    self.db.conn(),
                    $entity::Column::$column,
                    &parents,
                    $entity::Column::Id,
                )
                .await?;
                // Every requested parent gets an entry, so "no children" is an empty list, not a miss.
                let mut grouped: HashMap<$key, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
                for row in rows {
                    if let Some(parent) = Option::<i32>::from(row.$field) {
                        grouped.entry($key(parent)).or_default().push(row);
                    }
                }
                Ok(grouped)
            }
        }
    };
}

/// A key type for one page of the rows of `$entity` that are children of `$kind` (field `$field`
/// holds the parent's id): the parent and the page in SQL terms (`PageArgs::window`), and, for a
/// kind of children that takes one (`Organisations(Kinds)`), what they must also meet. The keys
/// of a pass that share their page and kind (the usual case: one field in a document) load in
/// one statement (`db::pages::children`); each page comes with at most one row more than its
/// size, in the direction of travel.
macro_rules! page_of_children {
    ($key:ident, $entity:ident, $kind:ident, $field:ident) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub i32, pub KeyWindow);

        page_of_children!(@loader $key, $entity, $field, |_: &$key| Children::$kind);
    };
    ($key:ident, $entity:ident, $kind:ident($filter:ty), $field:ident) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub i32, pub KeyWindow, pub $filter);

        page_of_children!(@loader $key, $entity, $field, |key: &$key| Children::$kind(key.2));
    };
    (@loader $key:ident, $entity:ident, $field:ident, $children:expr) => {
        impl Loader<$key> for Loaders {
            type Value = Vec<$entity::Model>;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, AppError> {
                let children = $children;
                // The keys of each page and kind, by parent.
                let mut groups: HashMap<(KeyWindow, Children), HashMap<i32, $key>> = HashMap::new();
                for key in keys {
                    groups.entry((key.1, children(key))).or_default().insert(key.0, *key);
                }
                // Every requested page gets an entry, so "no children" is an empty page, not a miss.
                let mut pages: HashMap<$key, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
                for ((window, kind), parents) in groups {
                    let ids: Vec<i32> = parents.keys().copied().collect();
                    let rows =
                        crate::db::pages::children::<$entity::Entity>(self.db.conn(), kind, &ids, &window)
                            .await?;
                    for row in rows {
                        if let Some(key) = Option::<i32>::from(row.$field).and_then(|p| parents.get(&p)) {
                            pages.entry(*key).or_default().push(row);
                        }
                    }
                }
                Ok(pages)
            }
        }
    };
}

/// How many children of a kind a parent has (`totalCount` of its connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CountOf(pub Children, pub i32);

impl Loader<CountOf> for Loaders {
    type Value = i64;

    async fn load(&self, keys: &[CountOf]) -> Result<HashMap<CountOf, Self::Value>, AppError> {
        let mut by_kind: HashMap<Children, Vec<i32>> = HashMap::new();
        for key in keys {
            by_kind.entry(key.0).or_default().push(key.1);
        }
        let mut counts: HashMap<CountOf, i64> = keys.iter().map(|k| (*k, 0)).collect();
        for (kind, parents) in by_kind {
            for (id, n) in crate::db::pages::counts(self.db.conn(), kind, &parents).await? {
                counts.insert(CountOf(kind, id), n);
            }
        }
        Ok(counts)
    }
}

/// A region's RSO by its partnership's id: a partnership that no region runs is no `Region`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RegionById(pub i32);

impl Loader<RegionById> for Loaders {
    type Value = partnership::Model;
    const REFERENCE: bool = true;

    async fn load(&self, keys: &[RegionById]) -> Result<HashMap<RegionById, Self::Value>, AppError> {
        let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let rows = reference::regions(self.db.conn(), reference::Regions::Ids(&ids)).await?;
        Ok(rows.into_iter().map(|row| (RegionById(row.id), row)).collect())
    }

    async fn load_all(&self) -> Result<HashMap<RegionById, Self::Value>, AppError> {
        let rows = reference::regions(self.db.conn(), reference::Regions::All).await?;
        Ok(rows.into_iter().map(|row| (RegionById(row.id), row)).collect())
    }
}
by_id!(CountyById, county, reference);
by_id!(ClusterById, cluster, reference);
by_id!(MunicipalityById, municipality, reference);
by_id!(InstitutionById, institution, reference);
by_id!(ThemeById, theme, reference);
by_id!(ProductTypeById, product_type, reference);
by_id!(CriterionById, criterion, reference);

children_of!(CountiesOfRegion, county, PartnershipId, partnership_id);
children_of!(ClustersOfRegion, cluster, PartnershipId, partnership_id);
children_of!(InstitutionsOfRegion, institution, PartnershipId, partnership_id);
children_of!(MunicipalitiesOfCounty, municipality, CountyId, county_id);
children_of!(MunicipalitiesOfCluster, municipality, ClusterId, cluster_id);
by_id!(PersonById, person);
by_id!(MembershipById, membership);
by_id!(ApiTokenById, api_token);

page_of_children!(MembershipsOfPerson, membership, Memberships, person_id);
page_of_children!(TokensOfPerson, api_token, Tokens, person_id);
// Whole, for lists filtered row by row before paging (a bound token's view).
children_of!(AllMembershipsOfPerson, membership, PersonId, person_id);
children_of!(AllTokensOfPerson, api_token, PersonId, person_id);

/// A key type for what a `db` function returns grouped by parent id (`$load(conn, &ids)`), every
/// asked parent with an entry.
macro_rules! grouped_by_parent {
    ($(#[$doc:meta])* $key:ident, $value:ty, $load:path) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub i32);

        impl Loader<$key> for Loaders {
            type Value = Vec<$value>;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, AppError> {
                let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
                let mut grouped = $load(self.db.conn(), &ids).await?;
                Ok(keys.iter().map(|k| (*k, grouped.remove(&k.0).unwrap_or_default())).collect())
            }
        }
    };
}

grouped_by_parent!(
    /// A person's memberships with their organisations' regions, for the authorization policy.
    GrantsOfPerson, GrantRow, identity::grants_of
);
grouped_by_parent!(
    /// The regions a person is registered in besides their home region, for the policy.
    RegionsOfPerson, i32, identity::registered_regions_of
);
grouped_by_parent!(
    /// The regions a region-bound token carries grants in now (empty for one that is not bound).
    BoundOfToken, i32, identity::token_bounds
);

/// A need by id, with its themes' ids read in the same statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NeedById(pub i32);

impl Loader<NeedById> for Loaders {
    type Value = NeedWithThemes;

    async fn load(&self, keys: &[NeedById]) -> Result<HashMap<NeedById, Self::Value>, AppError> {
        let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let rows = crate::db::needs::by_ids_with_themes(self.db.conn(), &ids).await?;
        Ok(rows.into_iter().map(|row| (NeedById(row.0.id), row)).collect())
    }
}

children_of!(CosignsOfNeed, need_cosign, NeedId, need_id);
page_of_children!(CosignPageOfNeed, need_cosign, Cosignatures, need_id);
page_of_children!(EventsOfNeed, need_event, NeedHistory, need_id);
page_of_children!(EvidenceOfNeed, need_evidence, Evidence, need_id);
page_of_children!(DuplicatesOfNeed, need, Duplicates, merged_into_id);

/// The themes of a need, through `need_theme`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ThemesOfNeed(pub i32);

impl Loader<ThemesOfNeed> for Loaders {
    type Value = Vec<theme::Model>;

    async fn load(&self, keys: &[ThemesOfNeed]) -> Result<HashMap<ThemesOfNeed, Self::Value>, AppError> {
        let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let mut themes = crate::db::needs::themes_of(self.db.conn(), &ids).await?;
        Ok(keys.iter().map(|k| (*k, themes.remove(&k.0).unwrap_or_default())).collect())
    }
}

by_id!(RoundById, round);

/// A round's criteria, candidates and scores (what its ranking is computed from).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RoundDataOf(pub i32);

impl Loader<RoundDataOf> for Loaders {
    type Value = crate::db::rounds::RoundData;

    async fn load(&self, keys: &[RoundDataOf]) -> Result<HashMap<RoundDataOf, Self::Value>, AppError> {
        let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let mut data = crate::db::rounds::data_of(self.db.conn(), &ids).await?;
        Ok(keys.iter().map(|k| (*k, data.remove(&k.0).unwrap_or_default())).collect())
    }
}

by_id!(CommissionById, commission);
by_id!(SummaryById, summary);

children_of!(InterestsOfCommission, commission_interest, CommissionId, commission_id);
page_of_children!(EventsOfCommission, commission_event, CommissionHistory, commission_id);
page_of_children!(MilestonesOfCommission, milestone, Milestones, commission_id);
children_of!(SummaryOfCommission, summary, CommissionId, commission_id);
page_of_children!(UptakeOfSummary, uptake, Uptake, summary_id);
children_of!(CommissionsOfInstitution, commission, AwardedInstitutionId, awarded_institution_id);
grouped_by_parent!(
    /// The themes of an institution's profile (none: it is not narrowed by theme).
    ThemesOfInstitution, theme::Model, crate::db::institutions::themes_of
);
grouped_by_parent!(
    /// The product types of an institution's profile (none: it is not narrowed by product type).
    ProductTypesOfInstitution, product_type::Model, crate::db::institutions::product_types_of
);

// Webhook endpoints: one by id, and an organisation's (at most `domain::webhooks::MAX_ENDPOINTS`).
by_id!(WebhookById, webhook_endpoint);
children_of!(WebhooksOfOrganisation, webhook_endpoint, OrganisationId, organisation_id);

/// Rows reached through a link table, as (parent key, row) pairs, grouped by parent: every asked
/// key gets an entry, so "none" is an empty list.
fn grouped<K: Copy + Hash + Eq, V>(keys: &[K], rows: impl IntoIterator<Item = (K, V)>) -> HashMap<K, Vec<V>> {
    let mut grouped: HashMap<K, Vec<V>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for (key, row) in rows {
        grouped.entry(key).or_default().push(row);
    }
    grouped
}

/// The commissions answering a need, newest first, through `commission_need` (one statement).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CommissionsOfNeed(pub i32);

impl Loader<CommissionsOfNeed> for Loaders {
    type Value = Vec<commission::Model>;

    async fn load(
        &self,
        keys: &[CommissionsOfNeed],
    ) -> Result<HashMap<CommissionsOfNeed, Self::Value>, AppError> {
        let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let rows = crate::db::commissions::of_needs(self.db.conn(), &ids).await?;
        Ok(grouped(keys, rows.into_iter().map(|(need_id, c)| (CommissionsOfNeed(need_id), c))))
    }
}

/// The needs a commission answers, through `commission_need`, with their themes' ids (one
/// statement).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NeedsOfCommission(pub i32);

impl Loader<NeedsOfCommission> for Loaders {
    type Value = Vec<NeedWithThemes>;

    async fn load(
        &self,
        keys: &[NeedsOfCommission],
    ) -> Result<HashMap<NeedsOfCommission, Self::Value>, AppError> {
        let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let rows = crate::db::needs::of_commissions_with_themes(self.db.conn(), &ids).await?;
        Ok(grouped(
            keys,
            rows.into_iter().map(|(commission_id, need, theme_ids)| {
                (NeedsOfCommission(commission_id), (need, theme_ids))
            }),
        ))
    }
}

// The organisation tree and partnerships, after the macros they use.
mod organisations;
pub use organisations::*;
