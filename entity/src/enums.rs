//! Enums stored in the database and exposed through GraphQL under the same names.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// What kind of organisation an institution is.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Deserialize,
    Serialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InstitutionKind {
    #[sea_orm(string_value = "UNIVERSITY")]
    University,
    #[sea_orm(string_value = "UNIVERSITY_COLLEGE")]
    UniversityCollege,
    #[sea_orm(string_value = "RESEARCH_INSTITUTE")]
    ResearchInstitute,
    #[sea_orm(string_value = "GOVERNMENT_AGENCY")]
    GovernmentAgency,
    #[sea_orm(string_value = "HEALTH_TRUST")]
    HealthTrust,
    #[sea_orm(string_value = "HOSPITAL")]
    Hospital,
}

/// How a municipality's cluster membership is known.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Deserialize,
    Serialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum ClusterMembership {
    /// The cluster itself publishes the municipality as a member.
    #[sea_orm(string_value = "PUBLISHED")]
    Published,
    /// A geographic default that a coordinator may change.
    #[sea_orm(string_value = "DEFAULT")]
    Default,
}

/// What a membership lets a person do, and for which kind of organisation.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Deserialize,
    Serialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// A partnership's secretariat (an RSO's, KSF's national coordinators, a programme's): all the
    /// partnership takes and serves.
    #[sea_orm(string_value = "COORDINATOR")]
    Coordinator,
    /// A unit's coordinators (a cluster's driver municipality's advisers, a district's or a
    /// programme's): review and forward the needs raised under the unit; score in rounds for it.
    #[sea_orm(string_value = "UNIT_COORDINATOR")]
    UnitCoordinator,
    /// Staff of a unit (a municipality, a district, a programme, a project): submit, edit,
    /// co-sign and follow its needs.
    #[sea_orm(string_value = "UNIT_MEMBER")]
    UnitMember,
    /// Staff of a research or education institution: open requests, interest, delivery.
    #[sea_orm(string_value = "INSTITUTION_MEMBER")]
    InstitutionMember,
    /// The name UNIT_COORDINATOR had when units were clusters; accepted, never returned.
    #[sea_orm(string_value = "CLUSTER_COORDINATOR")]
    #[graphql(deprecation = "a cluster's coordinator is a unit's: use UNIT_COORDINATOR")]
    ClusterCoordinator,
    /// The name UNIT_MEMBER had when units were municipalities; accepted, never returned.
    #[sea_orm(string_value = "MUNICIPALITY_MEMBER")]
    #[graphql(deprecation = "a municipality's member is a unit's: use UNIT_MEMBER")]
    MunicipalityMember,
}

impl Role {
    /// The role as it is stored and returned: the old names read as the new.
    pub fn current(self) -> Self {
        match self {
            Self::ClusterCoordinator => Self::UnitCoordinator,
            Self::MunicipalityMember => Self::UnitMember,
            role => role,
        }
    }
}

/// Where a knowledge need is in its life (see `domain::needs` for the moves between states).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Deserialize,
    Serialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NeedStatus {
    /// Being written by its municipality; visible only to it.
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    /// Sent to the cluster for review.
    #[sea_orm(string_value = "SUBMITTED")]
    Submitted,
    /// Sent back to the municipality to sharpen.
    #[sea_orm(string_value = "RETURNED")]
    Returned,
    /// Not taken forward, with a reason.
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
    /// Forwarded by the cluster to the regional pool.
    #[sea_orm(string_value = "ACCEPTED")]
    Accepted,
    /// Among the top needs of a prioritisation round.
    #[sea_orm(string_value = "PRIORITISED")]
    Prioritised,
    /// A knowledge summary has been commissioned for it.
    #[sea_orm(string_value = "COMMISSIONED")]
    Commissioned,
    /// A published knowledge summary answers it.
    #[sea_orm(string_value = "ANSWERED")]
    Answered,
    /// The evidence check found a good answer already.
    #[sea_orm(string_value = "ANSWERED_BY_EXISTING_EVIDENCE")]
    AnsweredByExistingEvidence,
    /// Not prioritised in a round; stays in the pool for the next.
    #[sea_orm(string_value = "DEFERRED")]
    Deferred,
    /// Taken back by its municipality.
    #[sea_orm(string_value = "WITHDRAWN")]
    Withdrawn,
    /// A duplicate, merged into another need.
    #[sea_orm(string_value = "MERGED")]
    Merged,
    /// Forwarded by its partnership to the national level (KSF), with a reason: in the national
    /// pool, for national rounds and commissions.
    #[sea_orm(string_value = "FORWARDED")]
    Forwarded,
    /// Passed on by the national level to a national authority (a state partner), recorded with
    /// its history.
    #[sea_orm(string_value = "PASSED_ON")]
    PassedOn,
}

/// What happened to a need.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Deserialize,
    Serialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NeedEventKind {
    #[sea_orm(string_value = "CREATED")]
    Created,
    #[sea_orm(string_value = "STATUS_CHANGED")]
    StatusChanged,
    #[sea_orm(string_value = "EDITED")]
    Edited,
    #[sea_orm(string_value = "COSIGNED")]
    Cosigned,
    #[sea_orm(string_value = "COSIGNATURE_WITHDRAWN")]
    CosignatureWithdrawn,
    #[sea_orm(string_value = "EVIDENCE_LINKED")]
    EvidenceLinked,
    /// This need was merged into `relatedNeed`.
    #[sea_orm(string_value = "MERGED")]
    Merged,
    /// `relatedNeed` was merged into this need.
    #[sea_orm(string_value = "ABSORBED")]
    Absorbed,
    #[sea_orm(string_value = "UNMERGED")]
    Unmerged,
}

/// How soon an answer is needed.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Deserialize,
    Serialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Urgency {
    #[sea_orm(string_value = "LOW")]
    Low,
    #[sea_orm(string_value = "MEDIUM")]
    Medium,
    #[sea_orm(string_value = "HIGH")]
    High,
}

/// Whether a prioritisation round takes scores.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Deserialize,
    Serialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RoundStatus {
    /// Member organisations score; scores can be revised.
    #[sea_orm(string_value = "OPEN")]
    Open,
    /// Closed: the top needs were prioritised, the rest deferred; read-only.
    #[sea_orm(string_value = "CLOSED")]
    Closed,
}

/// Where a commission is in its life (see `domain::commissions` for the moves).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Deserialize,
    Serialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CommissionStatus {
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    /// Published to institutions, which may express interest.
    #[sea_orm(string_value = "OPEN")]
    Open,
    #[sea_orm(string_value = "AWARDED")]
    Awarded,
    #[sea_orm(string_value = "IN_PROGRESS")]
    InProgress,
    /// The knowledge summary has been delivered.
    #[sea_orm(string_value = "DELIVERED")]
    Delivered,
    /// The summary is public and the needs answered.
    #[sea_orm(string_value = "PUBLISHED")]
    Published,
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}

/// What happened to a commission.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Deserialize,
    Serialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CommissionEventKind {
    #[sea_orm(string_value = "CREATED")]
    Created,
    /// A move between states: `from` and `to` say which.
    #[sea_orm(string_value = "STATUS_CHANGED")]
    StatusChanged,
    /// An institution expressed interest, or changed its proposal.
    #[sea_orm(string_value = "INTEREST")]
    Interest,
    /// A progress note from the awarded institution (`note`).
    #[sea_orm(string_value = "PROGRESS")]
    Progress,
    /// A milestone was added (`note`: its title).
    #[sea_orm(string_value = "MILESTONE_ADDED")]
    MilestoneAdded,
    /// A milestone was done (`note`: its title).
    #[sea_orm(string_value = "MILESTONE_DONE")]
    MilestoneDone,
}

/// Whether a municipality used a knowledge summary.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Deserialize,
    Serialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UptakeStatus {
    #[sea_orm(string_value = "USED")]
    Used,
    #[sea_orm(string_value = "PLANNED")]
    Planned,
    #[sea_orm(string_value = "NOT_USED")]
    NotUsed,
}

/// Every enum reads in messages as the API writes it (`ACCEPTED`, not `Accepted`): `Display` is
/// the GraphQL value's name, the one place a status or role becomes text for a client. (`Debug`
/// stays Rust's, for logs and tests. The crate has no tests of its own: `domain::needs` tests this.)
macro_rules! display_as_in_the_api {
    ($($ty:ty),* $(,)?) => {$(
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match <Self as async_graphql::InputType>::to_value(self) {
                    async_graphql::Value::Enum(name) => f.write_str(name.as_str()),
                    other => write!(f, "{other}"),
                }
            }
        }
    )*};
}

display_as_in_the_api!(
    InstitutionKind,
    ClusterMembership,
    Role,
    NeedStatus,
    NeedEventKind,
    Urgency,
    RoundStatus,
    CommissionStatus,
    CommissionEventKind,
    UptakeStatus,
);

/// What kind of unit an organisation is.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Deserialize,
    Serialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrganisationKind {
    /// The national level (KSF, run by KS).
    #[sea_orm(string_value = "NATIONAL")]
    National,
    /// A region with its regional collaboration body (RSO).
    #[sea_orm(string_value = "REGION")]
    Region,
    #[sea_orm(string_value = "COUNTY")]
    County,
    /// A cluster of municipalities (kommuneklynge) with a driver municipality.
    #[sea_orm(string_value = "CLUSTER")]
    Cluster,
    #[sea_orm(string_value = "MUNICIPALITY")]
    Municipality,
    /// A city district (bydel), or one of Oslo's special areas with a district code.
    #[sea_orm(string_value = "DISTRICT")]
    District,
    #[sea_orm(string_value = "PROGRAMME")]
    Programme,
    #[sea_orm(string_value = "SUB_PROGRAMME")]
    SubProgramme,
    #[sea_orm(string_value = "PROJECT")]
    Project,
    /// A research or education institution.
    #[sea_orm(string_value = "INSTITUTION")]
    Institution,
    /// A national authority or state agency.
    #[sea_orm(string_value = "STATE_PARTNER")]
    StatePartner,
}

/// How a notification travels.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Deserialize,
    Serialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryChannel {
    #[sea_orm(string_value = "EMAIL")]
    Email,
    #[sea_orm(string_value = "WEBHOOK")]
    Webhook,
}

/// Where a notification's delivery stands.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Deserialize,
    Serialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    /// Waiting for its due time, or for another attempt.
    #[sea_orm(string_value = "QUEUED")]
    Queued,
    #[sea_orm(string_value = "SENT")]
    Sent,
    /// Not sent: at delivery time its recipient may no longer see what it is about, or no longer
    /// wants it.
    #[sea_orm(string_value = "SKIPPED")]
    Skipped,
    /// Given up after every attempt failed.
    #[sea_orm(string_value = "DEAD")]
    Dead,
}

/// Which history a delivery tells of: a need's event or a commission's.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Deserialize,
    Serialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HistoryTopic {
    #[sea_orm(string_value = "NEED")]
    Need,
    #[sea_orm(string_value = "COMMISSION")]
    Commission,
}
