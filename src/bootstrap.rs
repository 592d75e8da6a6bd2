//! Commands that act without a token, at the server's command line: `token create` (the way to
//! the first coordinator) and `demo` (people in every role and a handful of needs). They write
//! through the same `db` functions as the API, with the command line as the audit actor.

use chrono::{Duration, Utc};
use entity::enums::{Role, Urgency};

use crate::{
    app::StartupError,
    config::{CreateToken, RoleArg},
    db::{
        Db, WriteError,
        audit::Actor,
        identity::{self, NewMembership},
        needs,
        reference::{self, OrganisationKey},
    },
    domain::{
        identity::{Email, PersonName, TokenName},
        needs::{Move, NeedText},
    },
};

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Coordinator => Role::Coordinator,
            RoleArg::ClusterCoordinator => Role::UnitCoordinator,
            RoleArg::MunicipalityMember => Role::UnitMember,
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
    let missing = |flag: &str| -> StartupError { format!("--role {:?} needs --{flag}", args.role).into() };
    let (key, unknown) = match args.role {
        RoleArg::Coordinator => {
            let key = args.region.as_deref().ok_or_else(|| missing("region"))?;
            (OrganisationKey::Region(key), format!("no region with key `{key}`"))
        }
        RoleArg::ClusterCoordinator => {
            let key = args.cluster.as_deref().ok_or_else(|| missing("cluster"))?;
            (OrganisationKey::Cluster(key), format!("no cluster with key `{key}`"))
        }
        RoleArg::MunicipalityMember => {
            let code = args.municipality.as_deref().ok_or_else(|| missing("municipality"))?;
            (OrganisationKey::Municipality(code), format!("no municipality with number `{code}`"))
        }
        RoleArg::InstitutionMember => {
            let key = args.institution.as_deref().ok_or_else(|| missing("institution"))?;
            (OrganisationKey::Institution(key), format!("no institution with key `{key}`"))
        }
    };
    let (organisation_id, partnership_id) = reference::organisation(db.conn(), key).await?.ok_or(unknown)?;
    Ok(NewMembership { role: Role::from(args.role), organisation_id, partnership_id })
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
        None => identity::create_person(db, actor, name, email, membership.partnership_id, Some(membership))
            .await
            .map_err(write_error)?,
    };
    let expires_at = args.expires_in_days.map(|days| Utc::now() + Duration::days(i64::from(days)));
    let created = identity::create_token(
        db,
        actor,
        person.id,
        token_name,
        expires_at,
        membership.partnership_id,
        identity::TokenLimits::default(),
    )
    .await
    .map_err(write_error)?;
    Ok(created.secret)
}

/// The operators' audit log (events of no region), newest first, as JSON lines.
pub async fn operators_log(db: &Db, limit: u64) -> Result<Vec<String>, StartupError> {
    let filter = crate::db::audit::Filter::default();
    let (events, _) =
        crate::db::audit::page(db.conn(), crate::db::audit::Log::Unassigned, &filter, None, limit).await?;
    Ok(events
        .into_iter()
        .map(|e| {
            serde_json::json!({
                "occurredAt": e.occurred_at,
                "lastOccurredAt": e.last_occurred_at,
                "repeats": e.repeats,
                "action": e.action,
                "outcome": e.outcome,
                "actor": e.actor_label,
                "detail": e.detail.and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok()),
                "requestId": e.request_id,
            })
            .to_string()
        })
        .collect())
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
    demo_needs(db).await?;
    Ok(tokens)
}

/// A handful of needs in several states, raised by the demo municipality members.
struct DemoNeed {
    by: &'static str,
    title: &'static str,
    question: &'static str,
    background: &'static str,
    themes: &'static [&'static str],
    /// Moves after submitting, by the demo coordinator.
    moves: &'static [Move],
    /// Demo people whose municipality co-signs.
    cosigned_by: &'static [&'static str],
}

const DEMO_NEEDS: &[DemoNeed] = &[
    DemoNeed {
        by: "ingrid.berg@demo.example",
        title: "Fallforebygging for heimebuande eldre",
        question: "Kva fallførebyggjande program verkar for eldre som bur heime, og kva skal til for at dei blir brukte?",
        background: "Fall er den vanlegaste årsaka til skadar hjå eldre i kommunen, og heimetenesta ser auke i brot.",
        themes: &["health", "care"],
        moves: &[Move::Accept],
        cosigned_by: &["lars.vik@demo.example"],
    },
    DemoNeed {
        by: "lars.vik@demo.example",
        title: "Ernæring på sjukeheim",
        question: "Korleis kan vi hindre underernæring blant bebuarar på sjukeheim?",
        background: "Kartlegging viser at mange bebuarar går ned i vekt det første året.",
        themes: &["care"],
        moves: &[],
        cosigned_by: &["ingrid.berg@demo.example"],
    },
    DemoNeed {
        by: "ingrid.berg@demo.example",
        title: "Unge som står utanfor arbeid",
        question: "Kva tiltak hjelper unge vaksne med psykiske plager tilbake til arbeid eller utdanning?",
        background: "NAV-kontoret og kommunen ser fleire unge som fell ut av vidaregåande og arbeidsliv.",
        themes: &["mental-health", "employment"],
        moves: &[Move::Return],
        cosigned_by: &[],
    },
    DemoNeed {
        by: "lars.vik@demo.example",
        title: "Velferdsteknologi i heimetenesta",
        question: "Gir digitalt tilsyn om natta like trygge tenester som fysisk tilsyn?",
        background: "Kommunen vurderer å byte ut nattlege besøk med sensorar og kamera.",
        themes: &["welfare-technology"],
        moves: &[Move::Accept],
        cosigned_by: &[],
    },
];

async fn demo_needs(db: &Db) -> Result<(), StartupError> {
    let conn = db.conn();
    if needs::by_title(conn, DEMO_NEEDS[0].title).await?.is_some() {
        return Ok(());
    }
    let person_by_email = |email: &'static str| async move {
        let parsed = Email::parse(email)?;
        identity::person_by_email(conn, &parsed)
            .await?
            .ok_or_else(|| StartupError::from(format!("demo person {email} is missing")))
    };
    let coordinator = person_by_email("kari.nordmann@demo.example").await?;
    for demo in DEMO_NEEDS {
        let author = person_by_email(demo.by).await?;
        let grants = identity::grants_of(conn, &[author.id]).await?;
        let municipality_of = |grants: &std::collections::HashMap<i32, Vec<identity::GrantRow>>, id: i32| {
            grants.get(&id).and_then(|g| g.iter().find_map(|g| g.municipality_id))
        };
        let municipality = municipality_of(&grants, author.id).ok_or("demo author has no municipality")?;
        let themes = reference::themes_by_keys(conn, demo.themes).await?;
        let content = needs::NeedContent {
            text: NeedText {
                title: demo.title.to_owned(),
                question: demo.question.to_owned(),
                background: demo.background.to_owned(),
                intended_use: "Grunnlag for prioritering i kommunen sin handlingsplan.".to_owned(),
                target_group: "Innbyggjarar og tilsette i tenestene".to_owned(),
                ..Default::default()
            },
            urgency: Urgency::Medium,
            product_type_id: None,
            theme_ids: themes.iter().map(|t| t.id).collect(),
            contact_person_id: Some(author.id),
        };
        let created = needs::create(db, author.id, municipality, content, true).await.map_err(write_error)?;
        for email in demo.cosigned_by {
            let cosigner = person_by_email(email).await?;
            let grants = identity::grants_of(conn, &[cosigner.id]).await?;
            if let Some(m) = municipality_of(&grants, cosigner.id) {
                needs::cosign(db, cosigner.id, created.id, m).await.map_err(write_error)?;
            }
        }
        for step in demo.moves {
            let reason = (*step == Move::Return).then(|| "Kan de spisse målgruppa?".to_owned());
            needs::apply_move(db, coordinator.id, created.id, None, *step, reason)
                .await
                .map_err(write_error)?;
        }
    }
    Ok(())
}
