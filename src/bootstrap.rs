//! Commands that act without a token, at the server's command line: `token create` (the way to
//! the first coordinator) and `demo`. They write through the same `db::identity` functions as
//! the API, with the command line as the audit actor.

use chrono::{Duration, Utc};
use entity::{cluster, enums::Role, institution, municipality, region};

use crate::{
    app::StartupError,
    config::{CreateToken, RoleArg},
    db::{
        Db, WriteError,
        audit::Actor,
        identity::{self, NewMembership},
        reference,
    },
    domain::identity::{Email, PersonName, TokenName},
};

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Coordinator => Role::Coordinator,
            RoleArg::ClusterCoordinator => Role::ClusterCoordinator,
            RoleArg::MunicipalityMember => Role::MunicipalityMember,
            RoleArg::InstitutionMember => Role::InstitutionMember,
        }
    }
}

fn write_error(err: WriteError) -> StartupError {
    match err {
        WriteError::Conflict { message, .. } => message.into(),
        WriteError::NotFound { field } => format!("no such {field}").into(),
        WriteError::Invalid { message, .. } => message.into(),
        WriteError::Db(err) => err.into(),
    }
}

/// Finds the organisation the role is held in, from the flag that fits the role.
async fn organisation(db: &Db, args: &CreateToken) -> Result<NewMembership, StartupError> {
    let conn = db.conn();
    let missing = |flag: &str| -> StartupError { format!("--role {:?} needs --{flag}", args.role).into() };
    let role = Role::from(args.role);
    let (organisation_id, region_id) = match args.role {
        RoleArg::Coordinator => {
            let key = args.region.as_deref().ok_or_else(|| missing("region"))?;
            let r = reference::by_key::<region::Entity>(conn, region::Column::Key, key).await?;
            let r = r.ok_or_else(|| format!("no region with key `{key}`"))?;
            (r.id, Some(r.id))
        }
        RoleArg::ClusterCoordinator => {
            let key = args.cluster.as_deref().ok_or_else(|| missing("cluster"))?;
            let c = reference::by_key::<cluster::Entity>(conn, cluster::Column::Key, key).await?;
            let c = c.ok_or_else(|| format!("no cluster with key `{key}`"))?;
            (c.id, Some(c.region_id))
        }
        RoleArg::MunicipalityMember => {
            let code = args.municipality.as_deref().ok_or_else(|| missing("municipality"))?;
            let m = reference::by_key::<municipality::Entity>(conn, municipality::Column::Code, code).await?;
            let m = m.ok_or_else(|| format!("no municipality with number `{code}`"))?;
            let county = reference::where_in::<entity::county::Entity>(
                conn,
                entity::county::Column::Id,
                &[m.county_id],
                entity::county::Column::Id,
            )
            .await?;
            (m.id, county.first().and_then(|c| c.region_id))
        }
        RoleArg::InstitutionMember => {
            let key = args.institution.as_deref().ok_or_else(|| missing("institution"))?;
            let i = reference::by_key::<institution::Entity>(conn, institution::Column::Key, key).await?;
            let i = i.ok_or_else(|| format!("no institution with key `{key}`"))?;
            (i.id, Some(i.region_id))
        }
    };
    Ok(NewMembership { role, organisation_id, region_id })
}

/// Creates the person and membership if needed, then a token; returns the secret.
pub async fn create_token(db: &Db, args: &CreateToken) -> Result<String, StartupError> {
    let name = PersonName::parse(&args.name).map_err(|e| format!("--name: {e}"))?;
    let email = Email::parse(&args.email).map_err(|e| format!("--email: {e}"))?;
    let token_name = TokenName::parse(&args.token_name).map_err(|e| format!("--token-name: {e}"))?;
    let membership = organisation(db, args).await?;
    let actor = Actor::CommandLine;
    let person = match identity::person_by_email(db.conn(), &email).await? {
        Some(person) => {
            match identity::add_membership(db, actor, person.id, membership).await {
                // Already a member: nothing to add.
                Ok(_) | Err(WriteError::Conflict { .. }) => {}
                Err(err) => return Err(write_error(err)),
            }
            person
        }
        None => identity::create_person(db, actor, name, email, membership.region_id, Some(membership))
            .await
            .map_err(write_error)?,
    };
    let expires_at = args.expires_in_days.map(|days| Utc::now() + Duration::days(i64::from(days)));
    let created = identity::create_token(db, actor, person.id, token_name, expires_at, membership.region_id)
        .await
        .map_err(write_error)?;
    Ok(created.secret)
}

/// The demo cast: one person per role, in RSO Vest.
const DEMO_PEOPLE: [(&str, &str, RoleArg, &str); 5] = [
    ("Kari Nordmann", "kari.nordmann@demo.example", RoleArg::Coordinator, "rso-vest"),
    ("Ola Hansen", "ola.hansen@demo.example", RoleArg::ClusterCoordinator, "kunnskapskommunen"),
    ("Ingrid Berg", "ingrid.berg@demo.example", RoleArg::MunicipalityMember, "4601"),
    ("Lars Vik", "lars.vik@demo.example", RoleArg::MunicipalityMember, "4627"),
    ("Sofie Dahl", "sofie.dahl@demo.example", RoleArg::InstitutionMember, "uib"),
];

/// Loads the demo people (idempotently) and returns a fresh token for each: (who, role, secret).
pub async fn demo(db: &Db) -> Result<Vec<(String, String, String)>, StartupError> {
    let mut tokens = Vec::new();
    for (name, email, role, organisation) in DEMO_PEOPLE {
        let args = CreateToken {
            expires_in_days: Some(30),
            ..CreateToken::for_role(name, email, role, organisation, "demo")
        };
        let secret = create_token(db, &args).await?;
        tokens.push((format!("{name} ({organisation})"), format!("{role:?}"), secret));
    }
    Ok(tokens)
}
