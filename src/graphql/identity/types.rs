//! GraphQL objects for people, memberships and tokens. Personal data (name, e-mail) is checked
//! field by field against the policy, so it stays hidden wherever a person turns up.

use async_graphql::{Context, ID, Object, Union};
use chrono::{DateTime, Utc};
use entity::{api_token, enums::Role, membership, person};

use crate::{
    auth::{Action, authenticator::grant, policy::PersonScope},
    error::{AppError, Result},
    graphql::{
        connection::{ChildCount, ChildPage, PageArgs, child_page, cost, paginate_with},
        context::ContextExt,
        ids::{GlobalId, NodeType},
        loaders::{
            AllMembershipsOfPerson, AllTokensOfPerson, ApiTokenById, BoundOfToken, Children,
            ClusterOfOrganisation, CountOf, CountyById, GrantsOfPerson, InstitutionOfOrganisation,
            MembershipsOfPerson, MunicipalityOfOrganisation, OrganisationById, PartnershipById, PersonById,
            RegionById, RegionsOfPerson, TokensOfPerson,
        },
        organisations::{partnerships::Partnership, types::Organisation as TreeOrganisation},
        reference::types::{Cluster, Institution, Municipality, Region},
    },
};

#[derive(Clone, Debug)]
pub struct Person(pub person::Model);

#[derive(Clone, Debug)]
pub struct Membership(pub membership::Model);

#[derive(Clone, Debug)]
pub struct ApiToken(pub api_token::Model);

/// What the policy needs to know about a person, loaded through the request's DataLoader.
pub async fn person_scope(ctx: &Context<'_>, person: &person::Model) -> Result<PersonScope, AppError> {
    let loader = ctx.loader()?;
    let (rows, registered) = futures_util::try_join!(
        loader.load_one(GrantsOfPerson(person.id)),
        loader.load_one(RegionsOfPerson(person.id))
    )?;
    Ok(PersonScope {
        person_id: person.id,
        home_partnership_id: person.home_partnership_id,
        registered_regions: registered.unwrap_or_default(),
        grants: rows.unwrap_or_default().iter().map(grant).collect(),
    })
}

/// The regions a token carries grants in: `None` when it carries all of its owner's.
pub async fn token_bound(ctx: &Context<'_>, token: &api_token::Model) -> Result<Option<Vec<i32>>, AppError> {
    if !token.partnership_bound {
        return Ok(None);
    }
    Ok(Some(ctx.loader()?.load_one(BoundOfToken(token.id)).await?.unwrap_or_default()))
}

/// Whether the viewer may see and revoke this token of `owner`'s (see `Action::ManageToken`).
pub async fn can_manage_token(
    ctx: &Context<'_>,
    owner: &PersonScope,
    token: &api_token::Model,
) -> Result<bool, AppError> {
    let bound = token_bound(ctx, token).await?;
    Ok(ctx.viewer()?.can(Action::ManageToken { owner, bound: bound.as_deref() }))
}

/// A page of `person`'s tokens that the viewer may manage, oldest first. The person with an
/// unbound token manages all of theirs, and the page is read in SQL; anyone else's view is
/// filtered token by token (a person's tokens are read whole then), so pages and `totalCount`
/// hold only what the viewer may see.
pub async fn manageable_tokens(
    ctx: &Context<'_>,
    person: &person::Model,
    args: PageArgs,
) -> Result<ChildPage<ApiToken>> {
    let viewer = ctx.viewer()?;
    if viewer.person_id() == Some(person.id) && viewer.token_bound().is_none() {
        return tokens_of(ctx, person.id, args).await;
    }
    let scope = person_scope(ctx, person).await?;
    let rows = ctx.loader()?.load_one(AllTokensOfPerson(person.id)).await?.unwrap_or_default();
    let mut tokens = Vec::with_capacity(rows.len());
    for token in rows {
        if can_manage_token(ctx, &scope, &token).await? {
            tokens.push(ApiToken(token));
        }
    }
    Ok(paginate_with(tokens, args, |t| i64::from(t.0.id), ChildCount::Known))
}

/// A page of the viewer's memberships that their token carries (all of them for an unbound
/// token, read in SQL; a bound token's are filtered by its grants).
pub async fn carried_memberships(ctx: &Context<'_>, args: PageArgs) -> Result<ChildPage<Membership>> {
    let viewer = ctx.viewer()?;
    let Some(identity) = viewer.identity() else {
        // The public has none: person 0 is no one.
        return memberships_of(ctx, 0, args).await;
    };
    if identity.bound.is_none() {
        return memberships_of(ctx, identity.person_id, args).await;
    }
    let rows = ctx.loader()?.load_one(AllMembershipsOfPerson(identity.person_id)).await?.unwrap_or_default();
    let carried = rows
        .into_iter()
        .filter(|m| identity.grants.iter().any(|g| g.membership_id == m.id))
        .map(Membership)
        .collect();
    Ok(paginate_with(carried, args, |m| i64::from(m.0.id), ChildCount::Known))
}

/// The token with this id if the viewer may manage it; otherwise `None`, as if it did not exist.
pub async fn manageable_token(
    ctx: &Context<'_>,
    token_id: i32,
) -> Result<Option<api_token::Model>, AppError> {
    let loader = ctx.loader()?;
    let Some(token) = loader.load_one(ApiTokenById(token_id)).await? else {
        return Ok(None);
    };
    let Some(owner) = loader.load_one(PersonById(token.person_id)).await? else {
        return Ok(None);
    };
    let scope = person_scope(ctx, &owner).await?;
    Ok(can_manage_token(ctx, &scope, &token).await?.then_some(token))
}

/// Whether the viewer may see this person at all.
pub async fn can_see(ctx: &Context<'_>, person: &person::Model) -> Result<bool, AppError> {
    let scope = person_scope(ctx, person).await?;
    Ok(ctx.viewer()?.can(Action::SeePersonalData(&scope)))
}

/// A page of a person's memberships, oldest first.
pub async fn memberships_of(ctx: &Context<'_>, person: i32, args: PageArgs) -> Result<ChildPage<Membership>> {
    let rows = ctx.loader()?.load_one(MembershipsOfPerson(person, args.window())).await?.unwrap_or_default();
    Ok(child_page(rows, args, CountOf(Children::Memberships, person), |m| i64::from(m.id), Membership))
}

/// A page of a person's tokens, oldest first.
pub async fn tokens_of(ctx: &Context<'_>, person: i32, args: PageArgs) -> Result<ChildPage<ApiToken>> {
    let rows = ctx.loader()?.load_one(TokensOfPerson(person, args.window())).await?.unwrap_or_default();
    Ok(child_page(rows, args, CountOf(Children::Tokens, person), |t| i64::from(t.id), ApiToken))
}

/// The person with this id if the viewer may see them; otherwise `None`, exactly as if they did
/// not exist, so ids cannot be probed.
pub async fn visible_person(ctx: &Context<'_>, person_id: i32) -> Result<Option<person::Model>, AppError> {
    let Some(person) = ctx.loader()?.load_one(PersonById(person_id)).await? else {
        return Ok(None);
    };
    Ok(can_see(ctx, &person).await?.then_some(person))
}

/// A person who uses the hub. `name` and `email` are personal data: null unless the viewer is
/// the person, a coordinator of their region, their cluster's coordinator or a colleague.
#[Object]
impl Person {
    pub async fn id(&self) -> ID {
        GlobalId::new(NodeType::Person, self.0.id).encode()
    }

    async fn name(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(can_see(ctx, &self.0).await?.then_some(self.0.name.as_str()))
    }

    async fn email(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(can_see(ctx, &self.0).await?.then_some(self.0.email.as_str()))
    }

    /// The person's roles in organisations (empty unless the viewer may see the person).
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn memberships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ChildPage<Membership>> {
        let args = PageArgs::parse(first, after, last, before)?;
        if !can_see(ctx, &self.0).await? {
            return Ok(ChildPage::with_additional_fields(false, false, ChildCount::Known(0)));
        }
        memberships_of(ctx, self.0.id, args).await
    }

    /// The person's API tokens that the viewer may manage; null unless the viewer is the person
    /// or a coordinator of their region. A coordinator sees only the tokens that reach no region
    /// beyond theirs; a token bound to some regions shows only tokens bound within them.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn tokens(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Option<ChildPage<ApiToken>>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let scope = person_scope(ctx, &self.0).await?;
        if !ctx.viewer()?.can(Action::MintTokenFor(&scope)) {
            return Ok(None);
        }
        Ok(Some(manageable_tokens(ctx, &self.0, args).await?))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// An organisation a membership is held in. (Named for memberships: `Organisation` is the
/// organisation tree's type.)
/// Where a membership is held: a coordinator's partnership (a `Region` for an RSO), or an
/// organisation (its typed row where it is a cluster, municipality or institution).
#[derive(Union)]
pub enum MembershipOrganisation {
    Region(Region),
    Partnership(Partnership),
    Cluster(Cluster),
    Municipality(Municipality),
    Institution(Institution),
    Organisation(TreeOrganisation),
}

/// A person's role in one organisation.
#[Object]
impl Membership {
    pub async fn id(&self) -> ID {
        GlobalId::new(NodeType::Membership, self.0.id).encode()
    }

    async fn role(&self) -> Role {
        self.0.role
    }

    async fn organisation(&self, ctx: &Context<'_>) -> Result<Option<MembershipOrganisation>> {
        use MembershipOrganisation as Held;
        let loader = ctx.loader()?;
        let m = &self.0;
        if let Some(id) = m.partnership_id {
            if let Some(region) = loader.load_one(RegionById(id)).await? {
                return Ok(Some(Held::Region(region.into())));
            }
            return Ok(loader
                .load_one(PartnershipById(id))
                .await?
                .map(|p| Held::Partnership(Partnership(p))));
        }
        let Some(id) = m.organisation_id else {
            return Ok(None);
        };
        if let Some(c) = loader.load_one(ClusterOfOrganisation(id)).await? {
            return Ok(Some(Held::Cluster(c.into())));
        }
        if let Some(municipality) = loader.load_one(MunicipalityOfOrganisation(id)).await? {
            return Ok(Some(Held::Municipality(municipality.into())));
        }
        if let Some(i) = loader.load_one(InstitutionOfOrganisation(id)).await? {
            return Ok(Some(Held::Institution(i.into())));
        }
        Ok(loader.load_one(OrganisationById(id)).await?.map(|o| Held::Organisation(TreeOrganisation(o))))
    }

    async fn person(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        Ok(visible_person(ctx, self.0.person_id).await?.map(Person))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// An API token. The secret itself is shown once, when the token is created.
#[Object]
impl ApiToken {
    pub async fn id(&self) -> ID {
        GlobalId::new(NodeType::ApiToken, self.0.id).encode()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The first characters of the secret, to tell tokens apart.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }

    /// When the token was last used (recorded at most once a minute).
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }

    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }

    /// Whether the token can be used now: not revoked and not expired.
    async fn active(&self) -> bool {
        self.0.revoked_at.is_none() && self.0.expires_at.is_none_or(|at| at > Utc::now())
    }

    async fn person(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        Ok(visible_person(ctx, self.0.person_id).await?.map(Person))
    }

    /// Who minted the token: its owner, or a coordinator who made it for them; null for the
    /// server's command line or someone the caller may not see.
    async fn minted_by(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        let Some(id) = self.0.minted_by_person_id else {
            return Ok(None);
        };
        Ok(visible_person(ctx, id).await?.map(Person))
    }

    /// The regions the token carries its owner's roles in; null when it carries all of them. A
    /// token minted for someone else is bound to the regions its minter coordinates, and a token
    /// minted with a bound token keeps that bound.
    #[graphql(
        complexity = "crate::graphql::limits::bounded(crate::domain::organisations::MAX_PARTNERSHIPS, child_complexity)"
    )]
    async fn bound_to_regions(&self, ctx: &Context<'_>) -> Result<Option<Vec<Region>>> {
        let Some(ids) = token_bound(ctx, &self.0).await? else {
            return Ok(None);
        };
        let loader = ctx.loader()?;
        let mut regions = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(region) = loader.load_one(RegionById(id)).await? {
                regions.push(Region::from(region));
            }
        }
        Ok(Some(regions))
    }
}

/// The region an organisation row belongs to (a municipality's through its county).
pub async fn region_of_municipality(ctx: &Context<'_>, county_id: i32) -> Result<Option<i32>, AppError> {
    Ok(ctx.loader()?.load_one(CountyById(county_id)).await?.and_then(|c| c.partnership_id))
}

pub struct AuditEvent(pub entity::audit_event::Model);

/// One entry of the audit log: who did what, to what, with which outcome. Never holds a token or
/// an e-mail address.
#[Object]
impl AuditEvent {
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }

    /// Who acted; null for the public, the command line, or someone the caller may not see.
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        let Some(id) = self.0.actor_person_id else {
            return Ok(None);
        };
        Ok(visible_person(ctx, id).await?.map(Person))
    }

    /// `public` or `command line` when no person acted.
    async fn actor_label(&self) -> Option<&str> {
        self.0.actor_label.as_deref()
    }

    /// The id of the token used (an `ApiToken` id), never the token itself.
    async fn token_id(&self) -> Option<ID> {
        self.0.actor_token_id.map(|id| GlobalId::new(NodeType::ApiToken, id).encode())
    }

    /// Who minted the token used, when it was someone else than the actor (a coordinator who
    /// made the token for them); null otherwise, or for someone the caller may not see.
    async fn token_minted_by(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        let Some(token_id) = self.0.actor_token_id else {
            return Ok(None);
        };
        let Some(token) = ctx.loader()?.load_one(ApiTokenById(token_id)).await? else {
            return Ok(None);
        };
        match token.minted_by_person_id {
            Some(minter) if Some(minter) != self.0.actor_person_id => {
                Ok(visible_person(ctx, minter).await?.map(Person))
            }
            _ => Ok(None),
        }
    }

    /// How many times this happened: a refusal repeated within ten minutes is one event.
    async fn repeats(&self) -> i32 {
        self.0.repeats
    }

    /// When it last happened, for an event with repeats.
    async fn last_occurred_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_occurred_at
    }

    /// `mutation.<field>`, `query.<path>`, `authenticate`, or a change such as `membership.add`.
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// The id of what was acted on, when known.
    async fn target(&self) -> Option<ID> {
        let node_type = NodeType::from_name(self.0.target_type.as_deref()?).filter(|t| t.is_node())?;
        Some(GlobalId::new(node_type, self.0.target_id?).encode())
    }

    /// `OK`, `USER_ERROR`, or the error code that refused it (`FORBIDDEN`, `UNAUTHENTICATED`, ...).
    async fn outcome(&self) -> &str {
        &self.0.outcome
    }

    /// The request's `x-request-id`, to find it in the server's logs.
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }

    /// Extra facts as JSON (a role, user error codes).
    async fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }
}
