//! `setInstitutionProfile`: the themes and product types an institution wants to hear of when a
//! commission opens (`domain::institutions::matches`). Its members set it, and so do the
//! coordinators of the partnership it is registered with and the national coordinators. Themes
//! and product types are named by id or key; an unknown one is a user error, and each list is
//! bounded by how many there are.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::{
    auth::Action,
    db::{institutions, reference_data::bundled},
    domain::institutions::{distinct, within_bound},
    error::Result,
    graphql::{
        context::ContextExt,
        ids::NodeType,
        keys,
        loaders::InstitutionById,
        organisations::mutation::actor,
        reference::types::Institution,
        user_error::{UserError, UserErrorCode, UserErrors, from_write_error},
    },
};

#[derive(Default)]
pub struct InstitutionProfileMutation;

#[derive(InputObject)]
pub struct SetInstitutionProfileInput {
    /// The institution (an `Institution` id or its key, `uib`).
    pub institution: ID,
    /// The themes it wants (ids or keys); none: every theme. Replaces the list it had.
    pub themes: Vec<ID>,
    /// The product types it wants (ids or keys); none: every product type. Replaces the list it
    /// had.
    pub product_types: Vec<ID>,
}

#[derive(SimpleObject)]
pub struct InstitutionProfilePayload {
    /// The institution, with its profile as it is now.
    pub institution: Option<Institution>,
    pub user_errors: Vec<UserError>,
}

impl InstitutionProfilePayload {
    fn failed(errors: Vec<UserError>) -> Self {
        Self { institution: None, user_errors: errors }
    }
}

/// The ids `values` name as `node_type` (each once), or user errors on `field`: a list longer
/// than there are such things, or a value that is neither an id nor a key of one.
async fn named_all(
    ctx: &Context<'_>,
    errors: &mut UserErrors,
    field: &'static str,
    values: &[ID],
    (node_type, what, bound): (NodeType, &str, usize),
) -> Result<Vec<i32>> {
    if errors.check(field, within_bound(what, values.len(), bound)).is_none() {
        return Ok(Vec::new());
    }
    let mut ids = Vec::with_capacity(values.len());
    for value in values {
        if let Some(id) = keys::named(ctx, errors, field, value, node_type).await? {
            ids.push(id);
        }
    }
    Ok(distinct(ids))
}

#[Object]
impl InstitutionProfileMutation {
    /// Sets which opened commissions an institution hears of: those about one of `themes` (of
    /// the needs they answer) and of one of `productTypes`. An empty list is not narrowed, so an
    /// institution that set nothing hears of every commission. Who may: its members, the
    /// coordinators of the partnership it is registered with, and the national coordinators.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_institution_profile(
        &self,
        ctx: &Context<'_>,
        input: SetInstitutionProfileInput,
    ) -> Result<InstitutionProfilePayload> {
        let actor = actor(ctx)?;
        let mut errors = UserErrors::default();
        let found =
            match keys::named(ctx, &mut errors, "institution", &input.institution, NodeType::Institution)
                .await?
            {
                Some(id) => ctx.loader()?.load_one(InstitutionById(id)).await?,
                None => None,
            };
        if found.is_none() && errors.is_empty() {
            errors.add("institution", UserErrorCode::NotFound, "no such institution");
        }
        let bounds = bundled();
        let themes =
            named_all(ctx, &mut errors, "themes", &input.themes, (NodeType::Theme, "themes", bounds.themes))
                .await?;
        let product_types = named_all(
            ctx,
            &mut errors,
            "productTypes",
            &input.product_types,
            (NodeType::ProductType, "product types", bounds.product_types),
        )
        .await?;
        let (Some(found), true) = (found, errors.is_empty()) else {
            return Ok(InstitutionProfilePayload::failed(errors.into_vec()));
        };
        ctx.viewer()?.require(Action::SetInstitutionProfile {
            institution_id: found.id,
            partnership_id: found.partnership_id,
        })?;
        Ok(match institutions::set_profile(ctx.db()?, actor, found.id, &themes, &product_types).await {
            Ok(institution) => InstitutionProfilePayload {
                institution: Some(Institution(institution)),
                user_errors: Vec::new(),
            },
            Err(err) => InstitutionProfilePayload::failed(from_write_error(err)?),
        })
    }
}
