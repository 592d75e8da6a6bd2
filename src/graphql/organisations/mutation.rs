//! Mutations of the reference data: create, rename, move and close organisations and add
//! institutions (coordinators of a partnership serving the organisation), create regions and
//! assign counties to them (KSF's coordinators). Each answers with the organisation as it is now;
//! what a caller can fix is a user error, a refusal of the policy is FORBIDDEN. After an edit the
//! process's kept reference tables are dropped, so the next read shows it.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use entity::{
    enums::{InstitutionKind, OrganisationKind},
    organisation, partnership,
};

use crate::{
    auth::Action,
    db::{
        WriteError,
        audit::Actor,
        organisations::{
            read,
            write::{self, By, NewInstitution, NewOrganisation, NewRegion},
        },
    },
    domain::{
        needs::text,
        organisations::{CREATABLE, code, key},
    },
    error::{AppError, Result},
    graphql::{
        context::ContextExt,
        idempotency::{self, Replayable},
        ids::NodeType,
        keys,
        loaders::{OrganisationById, PartnershipsServing, RegionById},
        organisations::types::Organisation,
        user_error::{UserError, UserErrorCode, UserErrors, from_write_error},
    },
};

#[derive(Default)]
pub struct OrganisationsMutation;

#[derive(InputObject)]
pub struct CreateOrganisationInput {
    /// CLUSTER, DISTRICT, PROGRAMME, SUB_PROGRAMME, PROJECT or STATE_PARTNER (regions and
    /// institutions have mutations of their own; the nation's counties and municipalities are
    /// bundled).
    pub kind: OrganisationKind,
    pub name: String,
    /// The organisation it stands under (an id, a typed row's id, a key or an official number);
    /// a cluster stands under a region, a district under a municipality, and so on.
    pub parent: ID,
    /// The key users will know it by (`nord-salten`); required for a cluster.
    pub key: Option<String>,
    /// Its official number, if it has one (a district's six digits).
    pub code: Option<String>,
    /// A cluster's area (the part of its region it covers).
    pub area: Option<String>,
    /// Send the same key again to retry safely: a replay returns the original result.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct RenameOrganisationInput {
    pub organisation: ID,
    pub name: String,
}

#[derive(InputObject)]
pub struct MoveOrganisationInput {
    /// A municipality, district, programme, sub-programme, project or state partner.
    pub organisation: ID,
    /// Its new parent: for a municipality a cluster of its county's region, or its own county.
    pub parent: ID,
}

#[derive(InputObject)]
pub struct CloseOrganisationInput {
    pub organisation: ID,
}

#[derive(InputObject)]
pub struct AddInstitutionInput {
    pub key: String,
    pub name: String,
    /// Its short name (`OsloMet`); the key when left out.
    pub short_name: Option<String>,
    pub kind: InstitutionKind,
    /// The partnership it registers with (an id or a key), whose coordinators manage its people.
    pub partnership: ID,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct CreateRegionInput {
    /// The key of the region and of its RSO (`rso-nord`).
    pub key: String,
    pub name: String,
    /// The counties it covers (ids or official numbers); none may be covered by another region.
    pub counties: Vec<ID>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct AssignCountyInput {
    /// The region (a `Region` id or its key).
    pub region: ID,
    /// A county no region covers yet.
    pub county: ID,
}

#[derive(SimpleObject)]
pub struct OrganisationPayload {
    /// The organisation as it is after the change (for `createRegion` the region, for
    /// `assignCounty` the county).
    pub organisation: Option<Organisation>,
    pub user_errors: Vec<UserError>,
}

impl OrganisationPayload {
    fn failed(errors: Vec<UserError>) -> Self {
        Self { organisation: None, user_errors: errors }
    }
}

impl Replayable for OrganisationPayload {
    fn refused(errors: Vec<UserError>) -> Self {
        Self::failed(errors)
    }

    async fn replay(ctx: &Context<'_>, id: i32) -> Result<Self> {
        let found = ctx.loader()?.load_one(OrganisationById(id)).await?;
        Ok(Self { organisation: found.map(Organisation), user_errors: Vec::new() })
    }
}

pub(super) fn actor(ctx: &Context<'_>) -> Result<Actor, AppError> {
    let identity = ctx.viewer()?.identity().ok_or(AppError::Unauthenticated)?;
    Ok(Actor::Person { person_id: identity.person_id, token_id: identity.token_id })
}

/// The organisation `value` names (an id, a typed row's id, a key or an official number), or a
/// user error on `field`.
async fn named(
    ctx: &Context<'_>,
    errors: &mut UserErrors,
    field: &'static str,
    value: &ID,
) -> Result<Option<organisation::Model>, AppError> {
    let Some(id) = keys::named_organisation(ctx, errors, field, value).await? else {
        return Ok(None);
    };
    let found = ctx.loader()?.load_one(OrganisationById(id)).await?;
    if found.is_none() {
        errors.add(field, UserErrorCode::NotFound, "no such organisation");
    }
    Ok(found)
}

/// The partnerships serving an organisation: whose coordinators may edit it.
async fn serving(ctx: &Context<'_>, organisation_id: i32) -> Result<Vec<i32>, AppError> {
    let rows = ctx.loader()?.load_one(PartnershipsServing(organisation_id)).await?;
    Ok(rows.unwrap_or_default().into_iter().map(|p| p.id).collect())
}

/// Requires the caller to coordinate one of `partnerships`; the edit is then made (and filed in
/// the audit log) through the first of them they coordinate.
pub fn authorise(ctx: &Context<'_>, partnerships: &[i32]) -> Result<By, AppError> {
    let viewer = ctx.viewer()?;
    viewer.require(Action::ManageOrganisation { partnerships })?;
    let partnership_id = partnerships.iter().copied().find(|p| viewer.is_coordinator_of(*p));
    Ok(By { actor: actor(ctx)?, partnership_id })
}

/// Requires the caller to coordinate a partnership serving `organisation_id`.
pub async fn authorise_for(ctx: &Context<'_>, organisation_id: i32) -> Result<By, AppError> {
    authorise(ctx, &serving(ctx, organisation_id).await?)
}

/// The national partnership's id, for KSF's mutations.
async fn national(ctx: &Context<'_>) -> Result<partnership::Model, AppError> {
    read::national_partnership(ctx.db()?.conn())
        .await?
        .ok_or_else(|| AppError::Internal("no national partnership: load the reference data".into()))
}

/// A name of 1 to 200 characters, or a user error on `field`.
fn name(errors: &mut UserErrors, field: &'static str, raw: &str) -> Option<String> {
    text(field, raw, 1, 200).map_err(|p| errors.add(p.field, UserErrorCode::BadUserInput, p.message)).ok()
}

/// The payload of a write: the organisation, or its refusal as user errors. Reference data
/// changed, so the process's kept tables go.
fn answer(
    ctx: &Context<'_>,
    written: Result<organisation::Model, WriteError>,
) -> Result<OrganisationPayload> {
    Ok(match written {
        Ok(o) => {
            ctx.loader()?.forget_reference_tables();
            OrganisationPayload { organisation: Some(Organisation(o)), user_errors: Vec::new() }
        }
        Err(err) => OrganisationPayload::failed(from_write_error(err)?),
    })
}

#[Object]
impl OrganisationsMutation {
    /// Creates a cluster, district, programme, sub-programme, project or state partner under an
    /// organisation (coordinators of a partnership serving that organisation). A cluster gets its
    /// typed details in its region's partnership.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_organisation(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganisationInput,
    ) -> Result<OrganisationPayload> {
        let idempotency_key = input.idempotency_key.clone();
        idempotency::once(ctx, idempotency_key.as_deref(), async {
            actor(ctx)?;
            let mut errors = UserErrors::default();
            if !CREATABLE.contains(&input.kind) {
                errors.add(
                    "kind",
                    UserErrorCode::BadUserInput,
                    "create a CLUSTER, DISTRICT, PROGRAMME, SUB_PROGRAMME, PROJECT or STATE_PARTNER here \
                     (regions with createRegion, institutions with addInstitution)",
                );
            }
            let name = name(&mut errors, "name", &input.name);
            let key = input.key.as_deref().and_then(|k| errors.check("key", key(k)));
            let code = input.code.as_deref().and_then(|c| errors.check("code", code(c)));
            if input.kind == OrganisationKind::Cluster && input.key.is_none() {
                errors.add("key", UserErrorCode::BadUserInput, "a cluster needs a key");
            }
            let area = match input.area.as_deref() {
                Some(area) => text("area", area, 0, 200)
                    .map_err(|p| errors.add(p.field, UserErrorCode::BadUserInput, p.message))
                    .ok(),
                None => None,
            };
            let parent = named(ctx, &mut errors, "parent", &input.parent).await?;
            let Some(parent) = parent else {
                return Ok(OrganisationPayload::failed(errors.into_vec()));
            };
            let by = authorise_for(ctx, parent.id).await?;
            let (Some(name), true) = (name, errors.is_empty()) else {
                return Ok(OrganisationPayload::failed(errors.into_vec()));
            };
            let new = NewOrganisation { kind: input.kind, name, parent_id: parent.id, key, code, area };
            answer(ctx, write::create(ctx.db()?, by, new).await)
        })
        .await
    }

    /// Renames an organisation (coordinators of a partnership serving it).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn rename_organisation(
        &self,
        ctx: &Context<'_>,
        input: RenameOrganisationInput,
    ) -> Result<OrganisationPayload> {
        actor(ctx)?;
        let mut errors = UserErrors::default();
        let name = name(&mut errors, "name", &input.name);
        let Some(found) = named(ctx, &mut errors, "organisation", &input.organisation).await? else {
            return Ok(OrganisationPayload::failed(errors.into_vec()));
        };
        let by = authorise_for(ctx, found.id).await?;
        let (Some(name), true) = (name, errors.is_empty()) else {
            return Ok(OrganisationPayload::failed(errors.into_vec()));
        };
        answer(ctx, write::rename(ctx.db()?, by, found.id, name).await)
    }

    /// Moves an organisation, with everything under it, under another (coordinators of a
    /// partnership serving it where it is and where it goes): a municipality to another cluster
    /// of its region, a project to another programme. The needs raised in it keep it as their
    /// organisation.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn move_organisation(
        &self,
        ctx: &Context<'_>,
        input: MoveOrganisationInput,
    ) -> Result<OrganisationPayload> {
        actor(ctx)?;
        let mut errors = UserErrors::default();
        let found = named(ctx, &mut errors, "organisation", &input.organisation).await?;
        let parent = named(ctx, &mut errors, "parent", &input.parent).await?;
        let (Some(found), Some(parent)) = (found, parent) else {
            return Ok(OrganisationPayload::failed(errors.into_vec()));
        };
        let by = authorise_for(ctx, found.id).await?;
        authorise_for(ctx, parent.id).await?;
        answer(ctx, write::move_to(ctx.db()?, by, found.id, parent.id).await)
    }

    /// Closes an organisation (coordinators of a partnership serving it): it keeps its history and
    /// takes nothing new. Refused with a CONFLICT user error while an organisation under it is
    /// open, someone is a member of it, or a need raised in it is still open.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn close_organisation(
        &self,
        ctx: &Context<'_>,
        input: CloseOrganisationInput,
    ) -> Result<OrganisationPayload> {
        actor(ctx)?;
        let mut errors = UserErrors::default();
        let Some(found) = named(ctx, &mut errors, "organisation", &input.organisation).await? else {
            return Ok(OrganisationPayload::failed(errors.into_vec()));
        };
        let by = authorise_for(ctx, found.id).await?;
        answer(ctx, write::close(ctx.db()?, by, found.id).await)
    }

    /// Adds an institution, registered with a partnership (its coordinators), which it joins as a
    /// member that raises no needs.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn add_institution(
        &self,
        ctx: &Context<'_>,
        input: AddInstitutionInput,
    ) -> Result<OrganisationPayload> {
        let idempotency_key = input.idempotency_key.clone();
        idempotency::once(ctx, idempotency_key.as_deref(), async {
            actor(ctx)?;
            let mut errors = UserErrors::default();
            let key = errors.check("key", key(&input.key));
            let name = name(&mut errors, "name", &input.name);
            let short_name = match input.short_name.as_deref() {
                Some(short) => self::name(&mut errors, "shortName", short),
                None => key.clone(),
            };
            let partnership =
                keys::named(ctx, &mut errors, "partnership", &input.partnership, NodeType::Partnership)
                    .await?;
            let Some(partnership_id) = partnership else {
                return Ok(OrganisationPayload::failed(errors.into_vec()));
            };
            let by = authorise(ctx, &[partnership_id])?;
            let (Some(key), Some(name), Some(short_name), true) = (key, name, short_name, errors.is_empty())
            else {
                return Ok(OrganisationPayload::failed(errors.into_vec()));
            };
            let new = NewInstitution { key, short_name, name, kind: input.kind, partnership_id };
            answer(ctx, write::add_institution(ctx.db()?, by, new).await)
        })
        .await
    }

    /// Creates a region under the national level with its RSO, covering the counties named (KSF's
    /// coordinators). Which counties the RSOs other than the bundled ones cover is not in any
    /// source the hub has: KSF says it here.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_region(
        &self,
        ctx: &Context<'_>,
        input: CreateRegionInput,
    ) -> Result<OrganisationPayload> {
        let idempotency_key = input.idempotency_key.clone();
        idempotency::once(ctx, idempotency_key.as_deref(), async {
            actor(ctx)?;
            let national = national(ctx).await?;
            let by = authorise(ctx, &[national.id])?;
            let mut errors = UserErrors::default();
            let key = errors.check("key", key(&input.key));
            let name = name(&mut errors, "name", &input.name);
            let mut counties = Vec::new();
            for value in &input.counties {
                if let Some(county) = named(ctx, &mut errors, "counties", value).await? {
                    if county.kind != OrganisationKind::County {
                        errors.add(
                            "counties",
                            UserErrorCode::BadUserInput,
                            format!("{} is no county", county.name),
                        );
                    } else if counties.contains(&county.id) {
                        errors.add("counties", UserErrorCode::BadUserInput, "a county is named twice");
                    } else {
                        counties.push(county.id);
                    }
                }
            }
            let (Some(key), Some(name), Some(national_id), true) =
                (key, name, national.organisation_id, errors.is_empty())
            else {
                return Ok(OrganisationPayload::failed(errors.into_vec()));
            };
            answer(
                ctx,
                write::create_region(ctx.db()?, by, national_id, NewRegion { key, name, counties }).await,
            )
        })
        .await
    }

    /// Assigns a county that no region covers yet to a region (KSF's coordinators): it moves under
    /// the region, and needs raised under it from then on go to the region's RSO. A county
    /// another region covers is refused (CONFLICT), not taken from it.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn assign_county(
        &self,
        ctx: &Context<'_>,
        input: AssignCountyInput,
    ) -> Result<OrganisationPayload> {
        actor(ctx)?;
        let national = national(ctx).await?;
        let by = authorise(ctx, &[national.id])?;
        let mut errors = UserErrors::default();
        let region = match keys::named(ctx, &mut errors, "region", &input.region, NodeType::Region).await? {
            Some(id) => ctx.loader()?.load_one(RegionById(id)).await?,
            None => None,
        };
        if region.is_none() && errors.is_empty() {
            errors.add("region", UserErrorCode::NotFound, "no such region");
        }
        let county = named(ctx, &mut errors, "county", &input.county).await?;
        if let Some(county) = &county
            && county.kind != OrganisationKind::County
        {
            errors.add("county", UserErrorCode::BadUserInput, format!("{} is no county", county.name));
        }
        let (Some(region), Some(county), true) = (region, county, errors.is_empty()) else {
            return Ok(OrganisationPayload::failed(errors.into_vec()));
        };
        answer(ctx, write::assign_county(ctx.db()?, by, region.id, county.id).await)
    }
}
