//! An API token. Only a SHA-256 hash of the secret is stored; the secret is shown once.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "api_token")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub person_id: i32,
    /// What the owner calls it ("laptop", "dashboard").
    pub name: String,
    /// The first characters of the secret, safe to show, so people can tell tokens apart.
    pub prefix: String,
    /// Hex SHA-256 of the whole secret; unique and indexed, the only way a token is looked up.
    #[sea_orm(unique)]
    pub secret_hash: String,
    pub created_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
    /// Who minted the token: its owner, a coordinator of the owner's region, or `None` for the
    /// server's command line.
    pub minted_by_person_id: Option<i32>,
    /// The token the minter used (`None` at the command line).
    pub minted_by_token_id: Option<i32>,
    /// Whether the token carries only its owner's grants in the regions listed in
    /// `api_token_partnership` (the regions its minter coordinated when minting it, and still does);
    /// otherwise all of them.
    pub partnership_bound: bool,
    /// Whose coordination bounds a region-bound token: of the regions in `api_token_partnership`,
    /// it carries only those this person coordinates now (the coordinator who minted it, or who
    /// minted the token it was minted with).
    pub bound_by_person_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
