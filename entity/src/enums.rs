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

/// A language: reference data's labels come in these, and so do a person's mails.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Deserialize,
    Serialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(2))")]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Norwegian bokmål.
    #[default]
    #[sea_orm(string_value = "nb")]
    Nb,
    /// Norwegian nynorsk.
    #[sea_orm(string_value = "nn")]
    Nn,
    /// English.
    #[sea_orm(string_value = "en")]
    En,
}

/// What a person may be told about, by e-mail (see `domain::notify` for who is told what unless
/// they choose otherwise).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Deserialize,
    Serialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationKind {
    /// A need of my unit moved to another state.
    #[sea_orm(string_value = "NEED_STATUS_CHANGED")]
    NeedStatusChanged,
    /// A need of my unit was returned or rejected with a comment (the reason).
    #[sea_orm(string_value = "NEED_COMMENTED")]
    NeedCommented,
    /// Another unit co-signed a need of my unit.
    #[sea_orm(string_value = "NEED_COSIGNED")]
    NeedCosigned,
    /// A need was raised in a unit or partnership I belong to or coordinate.
    #[sea_orm(string_value = "NEW_NEED_IN_MY_UNITS")]
    NewNeedInMyUnits,
    /// A commission opened whose themes and product types match my institution's.
    #[sea_orm(string_value = "COMMISSION_OPENED_MATCHING")]
    CommissionOpenedMatching,
    /// A commission I am party to (its partnership, an institution that showed interest or was
    /// awarded it, a unit whose need it answers) changed.
    #[sea_orm(string_value = "COMMISSION_CHANGED")]
    CommissionChanged,
    /// A prioritisation round I score in opened.
    #[sea_orm(string_value = "ROUND_OPENED")]
    RoundOpened,
    /// A round I score in closes soon.
    #[sea_orm(string_value = "ROUND_CLOSING_SOON")]
    RoundClosingSoon,
    /// A milestone or delivery date of my work is near.
    #[sea_orm(string_value = "DEADLINE_APPROACHING")]
    DeadlineApproaching,
}

impl NotificationKind {
    /// Every kind, in the order the API lists them.
    pub const ALL: [Self; 9] = [
        Self::NeedStatusChanged,
        Self::NeedCommented,
        Self::NeedCosigned,
        Self::NewNeedInMyUnits,
        Self::CommissionOpenedMatching,
        Self::CommissionChanged,
        Self::RoundOpened,
        Self::RoundClosingSoon,
        Self::DeadlineApproaching,
    ];
}

/// How a person hears of a kind of notification.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Deserialize,
    Serialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[graphql(name = "NotificationCadence")]
pub enum Cadence {
    /// Not at all. (Ordered first: the least eager.)
    #[sea_orm(string_value = "OFF")]
    Off,
    /// In one mail a day with the day's other notifications.
    #[sea_orm(string_value = "DIGEST")]
    Digest,
    /// A mail of its own, as soon as it happens.
    #[sea_orm(string_value = "IMMEDIATE")]
    Immediate,
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
    Language,
    NotificationKind,
    Cadence,
    WebhookEventKind,
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

/// What a webhook endpoint subscribes to: the kinds of event the hub may send it.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Deserialize,
    Serialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WebhookEventKind {
    /// A need was submitted.
    #[sea_orm(string_value = "NEED_CREATED")]
    NeedCreated,
    /// A need moved between states (accepted, returned, rejected, answered, ...).
    #[sea_orm(string_value = "NEED_STATUS_CHANGED")]
    NeedStatusChanged,
    /// A unit co-signed a need.
    #[sea_orm(string_value = "NEED_COSIGNED")]
    NeedCosigned,
    /// A commission was opened to institutions.
    #[sea_orm(string_value = "COMMISSION_OPENED")]
    CommissionOpened,
    /// A commission changed (awarded, progress, delivered, published, cancelled).
    #[sea_orm(string_value = "COMMISSION_CHANGED")]
    CommissionChanged,
    /// A prioritisation round was opened.
    #[sea_orm(string_value = "ROUND_OPENED")]
    RoundOpened,
    /// A prioritisation round closed.
    #[sea_orm(string_value = "ROUND_CLOSED")]
    RoundClosed,
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

/// What a delivery tells of, and so what its `subject_id` names: a need's history event, a
/// commission's, a webhook endpoint the hub disabled (to its owner), a round that opened or
/// closes soon, a commission's or a milestone's deadline.
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
pub enum DeliveryTopic {
    /// A need's history event (`need_event.id`).
    #[sea_orm(string_value = "NEED")]
    Need,
    /// A commission's history event (`commission_event.id`).
    #[sea_orm(string_value = "COMMISSION")]
    Commission,
    /// A webhook endpoint the hub disabled (`webhook_endpoint.id`).
    #[sea_orm(string_value = "ENDPOINT")]
    Endpoint,
    /// A round that opened (`round.id`).
    #[sea_orm(string_value = "ROUND_OPENED")]
    RoundOpened,
    /// A round that closes within a day (`round.id`).
    #[sea_orm(string_value = "ROUND_CLOSING")]
    RoundClosing,
    /// A round that closed (`round.id`; webhooks only).
    #[sea_orm(string_value = "ROUND_CLOSED")]
    RoundClosed,
    /// A commission whose deadline is near (`commission.id`).
    #[sea_orm(string_value = "COMMISSION_DUE")]
    CommissionDue,
    /// A milestone due soon (`milestone.id`).
    #[sea_orm(string_value = "MILESTONE_DUE")]
    MilestoneDue,
}
