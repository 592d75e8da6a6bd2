//! The export fields: `needsExport`, `roundRankingExport`, `commissionsExport` and
//! `uptakeExport` answer a short-lived signed link to a CSV or XLSX file of what `needs`, a
//! round's `ranking`, `commissions` and `summaries { uptake }` list, with the same arguments.
//! The link carries the arguments and the caller's token (none for the public), so a
//! coordinator in the playground gets a file in one step; what the file holds is decided when
//! it is downloaded (`http/export.rs`), with the token's rights then.

use async_graphql::{Context, ID, InputType, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::enums::Language;
use serde_json::{Value, json};

use crate::{
    error::{AppError, Result},
    export::{Format, Kind, LIFETIME, Link},
    graphql::{
        commissions::query::{CommissionFilter, db_filter as commissions_filter},
        context::ContextExt,
        ids::{GlobalId, NodeType},
        needs::query::{NeedFilter, NeedOrder, db_filter},
        rounds::types::visible_round,
    },
    signing::SigningKey,
};

/// What signing export links takes: the hub's key and the public URL the links start with
/// (schema data, made at start-up).
#[derive(Clone, Debug)]
pub struct ExportLinks {
    pub key: SigningKey,
    /// The hub's public URL, without a trailing slash.
    pub base: String,
}

impl ExportLinks {
    /// A signed link to the export of `kind` with `arguments`, for the caller of `ctx`.
    fn link(
        ctx: &Context<'_>,
        kind: Kind,
        arguments: Value,
        format: Format,
        language: Language,
    ) -> Result<ExportLink, AppError> {
        let links = ctx
            .data::<ExportLinks>()
            .map_err(|_| AppError::Internal("no export links in the GraphQL context".into()))?;
        let expires = Utc::now() + LIFETIME;
        let link = Link {
            kind,
            format,
            language,
            arguments,
            token_id: ctx.viewer()?.identity().map(|identity| identity.token_id),
            expires_at: expires.timestamp(),
        };
        Ok(ExportLink {
            url: format!("{}/export/{}", links.base, link.sign(&links.key)),
            expires_at: link.expires(),
            format,
        })
    }
}

/// A link to download an export: it works for a short while, for whoever holds it, with the
/// rights of the token that asked for it (the public's, without one). A token revoked or expired
/// meanwhile kills the link.
#[derive(SimpleObject)]
pub struct ExportLink {
    /// `GET` it: the file comes with a name (`Content-Disposition`), streamed as it is read.
    pub url: String,
    pub expires_at: DateTime<Utc>,
    pub format: Format,
}

/// A GraphQL input as the JSON of a variable (an absent one as null).
fn variable<T: InputType>(value: Option<T>) -> Value {
    value.map_or(Value::Null, |v| v.to_value().into_json().unwrap_or(Value::Null))
}

#[derive(Default)]
pub struct ExportQuery;

#[Object]
impl ExportQuery {
    /// A CSV or XLSX file of the needs `needs` lists with these arguments, every page of them:
    /// the same filter, search, order and visibility. Headings in `language`; times in ISO-8601.
    /// The contact person's name and e-mail are columns only in a caller's with a token, filled
    /// where `contactPerson` shows them; such an export is audited.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn needs_export(
        &self,
        ctx: &Context<'_>,
        filter: Option<NeedFilter>,
        search: Option<String>,
        #[graphql(default)] order_by: NeedOrder,
        #[graphql(default)] format: Format,
        #[graphql(default_with = "Language::Nb")] language: Language,
    ) -> Result<ExportLink> {
        // An unknown key in the filter is refused now, not when the link is used.
        db_filter(ctx, filter.clone(), search.as_deref()).await?;
        let arguments = json!({
            "filter": variable(filter),
            "search": search,
            "orderBy": variable(Some(order_by)),
        });
        Ok(ExportLinks::link(ctx, Kind::Needs, arguments, format, language)?)
    }

    /// A file of a round's ranking as `round { ranking }` shows it to the caller: each need's
    /// position, weighted mean, reach and outcome, and per criterion its mean and the scores the
    /// caller may see ("organisation: value").
    #[tracing::instrument(level = "debug", skip_all)]
    async fn round_ranking_export(
        &self,
        ctx: &Context<'_>,
        round: ID,
        #[graphql(default)] format: Format,
        #[graphql(default_with = "Language::Nb")] language: Language,
    ) -> Result<ExportLink> {
        let id = GlobalId::decode_as(&round, NodeType::Round)?;
        if visible_round(ctx, id).await?.is_none() {
            return Err(AppError::NotFound.into());
        }
        let arguments = json!({ "round": round.to_string() });
        Ok(ExportLinks::link(ctx, Kind::RoundRanking, arguments, format, language)?)
    }

    /// A file of the commissions `commissions` lists with this filter, one row per milestone
    /// (a commission without milestones has one row).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn commissions_export(
        &self,
        ctx: &Context<'_>,
        filter: Option<CommissionFilter>,
        #[graphql(default)] format: Format,
        #[graphql(default_with = "Language::Nb")] language: Language,
    ) -> Result<ExportLink> {
        // An unknown key in the filter is refused now, not when the link is used.
        commissions_filter(ctx, filter.clone()).await?;
        let arguments = json!({ "filter": variable(filter) });
        Ok(ExportLinks::link(ctx, Kind::Commissions, arguments, format, language)?)
    }

    /// A file of the uptake of the summaries `summaries` lists with this search: one row per
    /// municipality's report (a summary without any has one row).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn uptake_export(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        #[graphql(default)] format: Format,
        #[graphql(default_with = "Language::Nb")] language: Language,
    ) -> Result<ExportLink> {
        let arguments = json!({ "search": search });
        Ok(ExportLinks::link(ctx, Kind::Uptake, arguments, format, language)?)
    }
}
