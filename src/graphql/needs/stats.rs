//! `needStats`: counts of the needs a filter matches, by status, theme, cluster, municipality,
//! city district and month, each a `GROUP BY` in SQL computed when asked for.

use async_graphql::{Context, Object, SimpleObject};
use entity::enums::NeedStatus;

use crate::{
    db::needs::{self, Grouping, NeedFilter as DbFilter, Visibility},
    error::{AppError, Result},
    graphql::{
        context::ContextExt,
        loaders::{ClusterById, MunicipalityById, OrganisationById, ThemeById},
        organisations::types::Organisation,
        reference::types::{Cluster, Municipality, Theme},
    },
};

/// Counts of needs, each grouping computed in SQL when asked for.
pub struct NeedStats {
    pub(super) filter: DbFilter,
    pub(super) visibility: Visibility,
}

#[derive(SimpleObject)]
pub struct StatusCount {
    pub status: NeedStatus,
    pub count: i64,
}

#[derive(SimpleObject)]
pub struct ThemeCount {
    pub theme: Option<Theme>,
    pub count: i64,
}

#[derive(SimpleObject)]
pub struct ClusterCount {
    /// Null for municipalities outside any cluster.
    pub cluster: Option<Cluster>,
    pub count: i64,
}

#[derive(SimpleObject)]
pub struct MunicipalityCount {
    pub municipality: Option<Municipality>,
    pub count: i64,
}

#[derive(SimpleObject)]
pub struct DistrictCount {
    /// The district (an organisation of kind DISTRICT).
    pub district: Option<Organisation>,
    pub count: i64,
}

#[derive(SimpleObject)]
pub struct MonthCount {
    /// `YYYY-MM`, in UTC.
    pub month: String,
    pub count: i64,
}

impl NeedStats {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn groups(
        &self,
        ctx: &Context<'_>,
        grouping: Grouping,
    ) -> Result<Vec<(Option<String>, i64)>, AppError> {
        let rows = needs::count_by(ctx.db()?.conn(), &self.filter, &self.visibility, grouping).await?;
        Ok(rows.into_iter().map(|g| (g.key, g.n)).collect())
    }

    /// Groups keyed by a row id, with the rows loaded in one batch.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn by_id(
        &self,
        ctx: &Context<'_>,
        grouping: Grouping,
    ) -> Result<Vec<(Option<i32>, i64)>, AppError> {
        Ok(self
            .groups(ctx, grouping)
            .await?
            .into_iter()
            .map(|(key, n)| (key.and_then(|k| k.parse().ok()), n))
            .collect())
    }
}

#[Object]
impl NeedStats {
    /// How many needs match.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn total(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(needs::count(ctx.db()?.conn(), &self.filter, &self.visibility).await?)
    }

    #[graphql(
        complexity = "crate::graphql::limits::bounded(<NeedStatus as async_graphql::resolver_utils::EnumType>::items().len(), child_complexity)"
    )]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn by_status(&self, ctx: &Context<'_>) -> Result<Vec<StatusCount>> {
        let groups = self.groups(ctx, Grouping::Status).await?;
        Ok(groups
            .into_iter()
            .filter_map(|(key, count)| {
                let status = serde_json::from_value(serde_json::Value::String(key?)).ok()?;
                Some(StatusCount { status, count })
            })
            .collect())
    }

    #[graphql(
        complexity = "crate::graphql::limits::bounded(crate::db::reference_data::bundled().themes + 1, child_complexity)"
    )]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn by_theme(&self, ctx: &Context<'_>) -> Result<Vec<ThemeCount>> {
        let groups = self.by_id(ctx, Grouping::Theme).await?;
        let themes = ctx.loader()?.load_many(groups.iter().filter_map(|(id, _)| id.map(ThemeById))).await?;
        Ok(groups
            .into_iter()
            .map(|(id, count)| ThemeCount {
                theme: id.and_then(|id| themes.get(&ThemeById(id)).cloned().map(Theme)),
                count,
            })
            .collect())
    }

    #[graphql(
        complexity = "crate::graphql::limits::bounded(crate::domain::organisations::MAX_CLUSTERS + 1, child_complexity)"
    )]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn by_cluster(&self, ctx: &Context<'_>) -> Result<Vec<ClusterCount>> {
        let groups = self.by_id(ctx, Grouping::Cluster).await?;
        let clusters =
            ctx.loader()?.load_many(groups.iter().filter_map(|(id, _)| id.map(ClusterById))).await?;
        Ok(groups
            .into_iter()
            .map(|(id, count)| ClusterCount {
                cluster: id.and_then(|id| clusters.get(&ClusterById(id)).cloned().map(Cluster)),
                count,
            })
            .collect())
    }

    #[graphql(
        complexity = "crate::graphql::limits::bounded(crate::db::reference_data::bundled().municipalities + 1, child_complexity)"
    )]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn by_municipality(&self, ctx: &Context<'_>) -> Result<Vec<MunicipalityCount>> {
        let groups = self.by_id(ctx, Grouping::Municipality).await?;
        let found =
            ctx.loader()?.load_many(groups.iter().filter_map(|(id, _)| id.map(MunicipalityById))).await?;
        Ok(groups
            .into_iter()
            .map(|(id, count)| MunicipalityCount {
                municipality: id.and_then(|id| found.get(&MunicipalityById(id)).cloned().map(Municipality)),
                count,
            })
            .collect())
    }

    /// Needs raised in a city district (bydel) or a unit under one, by district, most first;
    /// needs outside any district are not counted. At most the 100 districts with the most.
    #[graphql(
        complexity = "crate::graphql::limits::bounded(crate::db::needs::MAX_DISTRICT_GROUPS, child_complexity)"
    )]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn by_district(&self, ctx: &Context<'_>) -> Result<Vec<DistrictCount>> {
        let groups = self.by_id(ctx, Grouping::District).await?;
        let found =
            ctx.loader()?.load_many(groups.iter().filter_map(|(id, _)| id.map(OrganisationById))).await?;
        Ok(groups
            .into_iter()
            .map(|(id, count)| DistrictCount {
                district: id.and_then(|id| found.get(&OrganisationById(id)).cloned().map(Organisation)),
                count,
            })
            .collect())
    }

    /// Submissions per month (drafts have none).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn submissions_by_month(&self, ctx: &Context<'_>) -> Result<Vec<MonthCount>> {
        let groups = self.groups(ctx, Grouping::SubmittedMonth).await?;
        Ok(groups
            .into_iter()
            .filter_map(|(month, count)| Some(MonthCount { month: month?, count }))
            .collect())
    }
}
