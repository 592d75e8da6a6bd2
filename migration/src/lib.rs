//! Schema migrations, applied in order at start-up (and by `knowledge-hub migrate`).

pub use sea_orm_migration::prelude::*;

pub use self::m20261201_000021_tally_slots::slotted_tables;

mod common;
mod m20261125_000001_reference_data;
mod m20261125_000002_identity;
mod m20261125_000003_needs;
mod m20261125_000004_rounds;
mod m20261125_000005_commissions;
mod m20261125_000006_hardening;
mod m20261126_000007_need_search;
mod m20261130_000008_token_authority;
mod m20261130_000009_organisations;
mod m20261130_000010_partnership_authority;
mod m20261130_000011_units;
mod m20261130_000012_organisation_history;
mod m20261130_000013_mail;
mod m20261130_000014_webhooks;
mod m20261130_000015_notification_queue;
mod m20261130_000016_institution_profile;
mod m20261130_000017_scheduled_notices;
mod m20261201_000018_need_tally;
mod m20261201_000019_need_terms;
mod m20261201_000020_tally_row_update;
mod m20261201_000021_tally_slots;
mod m20261202_000022_need_terms_unchecked;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_reference_data::Migration),
            Box::new(m20261125_000002_identity::Migration),
            Box::new(m20261125_000003_needs::Migration),
            Box::new(m20261125_000004_rounds::Migration),
            Box::new(m20261125_000005_commissions::Migration),
            Box::new(m20261125_000006_hardening::Migration),
            Box::new(m20261126_000007_need_search::Migration),
            Box::new(m20261130_000008_token_authority::Migration),
            Box::new(m20261130_000009_organisations::Migration),
            Box::new(m20261130_000010_partnership_authority::Migration),
            Box::new(m20261130_000011_units::Migration),
            Box::new(m20261130_000012_organisation_history::Migration),
            Box::new(m20261130_000013_mail::Migration),
            Box::new(m20261130_000014_webhooks::Migration),
            Box::new(m20261130_000015_notification_queue::Migration),
            Box::new(m20261130_000016_institution_profile::Migration),
            Box::new(m20261130_000017_scheduled_notices::Migration),
            Box::new(m20261201_000018_need_tally::Migration),
            Box::new(m20261201_000019_need_terms::Migration),
            Box::new(m20261201_000020_tally_row_update::Migration),
            Box::new(m20261201_000021_tally_slots::Migration),
            Box::new(m20261202_000022_need_terms_unchecked::Migration),
        ]
    }
}
