//! The loaders of the organisation tree and partnerships: organisations and partnerships by id,
//! an organisation's page of children, its ancestors and the partnerships that serve it, a
//! partnership's members, an organisation's history, and the typed row (municipality, county, ..., a region's RSO) of an
//! organisation. Each is one statement for every key of a pass, whatever the depth of the tree.

use entity::{audit_event, cluster, county, institution, municipality, organisation, partnership};

use super::{Children, HashMap, HashMapExt, KeyWindow, Loader, Loaders, reference};
use crate::{
    db::organisations::read::{self, Kinds, Member},
    error::AppError,
};

by_id!(OrganisationById, organisation);
by_id!(PartnershipById, partnership);

page_of_children!(ChildrenOfOrganisation, organisation, Organisations(Kinds), parent_id);

grouped_by_parent!(
    /// An organisation's ancestors, nearest first, through the closure.
    AncestorsOf, organisation::Model, read::ancestors_of
);
grouped_by_parent!(
    /// The partnerships that serve an organisation: a member is it or one of its ancestors.
    PartnershipsServing, partnership::Model, read::partnerships_serving
);
grouped_by_parent!(
    /// The partnerships that manage an organisation's people: those serving it most nearly.
    PartnershipsManaging, partnership::Model, read::partnerships_managing
);

grouped_by_parent!(
    /// The changes coordinators made to an organisation, newest first, from the audit log.
    HistoryOf, audit_event::Model, read::histories_of
);

/// A partnership's members of some kinds (any when none), in the id order of their organisations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MembersOfPartnership(pub i32, pub Kinds);

impl Loader<MembersOfPartnership> for Loaders {
    type Value = Vec<Member>;

    async fn load(
        &self,
        keys: &[MembersOfPartnership],
    ) -> Result<HashMap<MembersOfPartnership, Self::Value>, AppError> {
        let mut by_kinds: HashMap<Kinds, Vec<i32>> = HashMap::new();
        for key in keys {
            by_kinds.entry(key.1).or_default().push(key.0);
        }
        let mut members: HashMap<MembersOfPartnership, Self::Value> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for (kinds, partnerships) in by_kinds {
            for (partnership, rows) in read::members_of(self.db.conn(), &partnerships, kinds).await? {
                members.insert(MembersOfPartnership(partnership, kinds), rows);
            }
        }
        Ok(members)
    }
}

/// A key type for the row of the reference table `$entity` that is the typed side of an
/// organisation (its `organisation_id`): read whole, like the table's rows by id.
macro_rules! of_organisation {
    ($key:ident, $entity:ident) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub i32);

        impl Loader<$key> for Loaders {
            type Value = $entity::Model;
            const REFERENCE: bool = true;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, AppError> {
                let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
                let rows = reference::where_in::<$entity::Entity>(
                    self.db.conn(),
                    $entity::Column::OrganisationId,
                    &ids,
                    $entity::Column::Id,
                )
                .await?;
                Ok(rows.into_iter().filter_map(|row| Some(($key(row.organisation_id?), row))).collect())
            }

            async fn load_all(&self) -> Result<HashMap<$key, Self::Value>, AppError> {
                let rows = reference::every::<$entity::Entity>(self.db.conn()).await?;
                Ok(rows.into_iter().filter_map(|row| Some(($key(row.organisation_id?), row))).collect())
            }
        }
    };
}

// A region's details are its RSO's: the partnership whose body is the region.
of_organisation!(RegionOfOrganisation, partnership);
of_organisation!(CountyOfOrganisation, county);
of_organisation!(ClusterOfOrganisation, cluster);
of_organisation!(MunicipalityOfOrganisation, municipality);
of_organisation!(InstitutionOfOrganisation, institution);
