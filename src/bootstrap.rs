//! Commands that act without a token, at the server's command line: `token create` (the way to
//! the first coordinator) and `demo` (people in every role and a handful of needs). They write
//! through the same `db` functions as the API, with the command line as the audit actor.

use chrono::{Duration, Utc};
use entity::enums::{OrganisationKind, Role, Urgency};

use crate::{
    app::StartupError,
    config::{CreateToken, RoleArg},
    db::{
        Db, WriteError,
        audit::Actor,
        identity::{self, HeldIn, NewMembership},
        needs,
        organisations::read,
        reference,
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
            RoleArg::UnitCoordinator => Role::UnitCoordinator,
            RoleArg::UnitMember => Role::UnitMember,
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

/// Finds where the role is held, from the flag that fits the role, and the partnership that
/// manages it (a coordinator's own; else the first that serves the organisation most nearly).
async fn membership(db: &Db, args: &CreateToken) -> Result<(NewMembership, Option<i32>), StartupError> {
    let role = Role::from(args.role);
    let missing = |flag: &str| -> StartupError { format!("--role {:?} needs --{flag}", args.role).into() };
    let conn = db.conn();
    if role == Role::Coordinator {
        let key = args.partnership.as_deref().ok_or_else(|| missing("partnership"))?;
        let found =
            read::partnership_by_key(conn, key).await?.ok_or(format!("no partnership with key `{key}`"))?;
        let held_in = HeldIn::Partnership(found.id);
        return Ok((NewMembership { role, held_in, audited_in: Some(found.id) }, Some(found.id)));
    }
    let key = args.organisation.as_deref().ok_or_else(|| missing("organisation"))?;
    let found = read::by_key_or_code(conn, key)
        .await?
        .ok_or(format!("no organisation with key or number `{key}`"))?;
    if (role == Role::InstitutionMember) != (found.kind == OrganisationKind::Institution) {
        return Err(format!("--role {:?} is not held in `{key}`, a {:?}", args.role, found.kind).into());
    }
    let managing = read::partnerships_managing(conn, &[found.id]).await?;
    let managed_in = managing.get(&found.id).and_then(|p| p.first()).map(|p| p.id);
    let held_in = HeldIn::Organisation(found.id);
    Ok((NewMembership { role, held_in, audited_in: managed_in }, managed_in))
}

/// Creates the person and membership if needed, then a token; returns the secret.
pub async fn create_token(db: &Db, args: &CreateToken) -> Result<String, StartupError> {
    let name = PersonName::parse(&args.name).map_err(|e| format!("--name: {e}"))?;
    let email = Email::parse(&args.email).map_err(|e| format!("--email: {e}"))?;
    let token_name = TokenName::parse(&args.token_name).map_err(|e| format!("--token-name: {e}"))?;
    let (membership, managed_in) = membership(db, args).await?;
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
        None => identity::create_person(db, actor, name, email, managed_in, Some(membership))
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
        managed_in,
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

/// The demo cast: one person per role in RSO Vest; in Oslo a member of Alna (a district in
/// Områdesatsingene) and of Søndre Nordstrand, with Områdesatsingene's and Universitetskommunen
/// Oslo's coordinators and a member of OsloMet; and a national coordinator at KSF.
const DEMO_PEOPLE: [(&str, &str, RoleArg, &str); 11] = [
    ("Kari Nordmann", "kari.nordmann@demo.example", RoleArg::Coordinator, "rso-vest"),
    ("Ola Hansen", "ola.hansen@demo.example", RoleArg::UnitCoordinator, "kunnskapskommunen"),
    ("Ingrid Berg", "ingrid.berg@demo.example", RoleArg::UnitMember, "4601"),
    ("Lars Vik", "lars.vik@demo.example", RoleArg::UnitMember, "4627"),
    ("Sofie Dahl", "sofie.dahl@demo.example", RoleArg::InstitutionMember, "uib"),
    ("Amina Farah", "amina.farah@demo.example", RoleArg::UnitMember, "030112"),
    ("Jonas Lie", "jonas.lie@demo.example", RoleArg::UnitMember, "030115"),
    ("Nora Bakke", "nora.bakke@demo.example", RoleArg::Coordinator, "omradesatsingene"),
    ("Eirik Moen", "eirik.moen@demo.example", RoleArg::Coordinator, "universitetskommunen-oslo"),
    ("Hanne Strand", "hanne.strand@demo.example", RoleArg::InstitutionMember, "oslomet"),
    ("Per Ås", "per.aas@demo.example", RoleArg::Coordinator, "ksf"),
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

/// A handful of needs in several states, raised by the demo unit members.
struct DemoNeed {
    by: &'static str,
    /// The partnership whose pool it goes to, where the unit's is not the only nearest.
    partnership: Option<&'static str>,
    /// The coordinator who moves it.
    coordinator: &'static str,
    title: &'static str,
    question: &'static str,
    background: &'static str,
    themes: &'static [&'static str],
    /// Moves after submitting, by the demo coordinator.
    moves: &'static [Move],
    /// Demo people whose unit co-signs.
    cosigned_by: &'static [&'static str],
}

const DEMO_NEEDS: &[DemoNeed] = &[
    DemoNeed {
        by: "ingrid.berg@demo.example",
        partnership: None,
        coordinator: "kari.nordmann@demo.example",
        title: "Fallforebygging for heimebuande eldre",
        question: "Kva fallførebyggjande program verkar for eldre som bur heime, og kva skal til for at dei blir brukte?",
        background: "Fall er den vanlegaste årsaka til skadar hjå eldre i kommunen, og heimetenesta ser auke i brot.",
        themes: &["health", "care"],
        moves: &[Move::Accept],
        cosigned_by: &["lars.vik@demo.example"],
    },
    DemoNeed {
        by: "lars.vik@demo.example",
        partnership: None,
        coordinator: "kari.nordmann@demo.example",
        title: "Ernæring på sjukeheim",
        question: "Korleis kan vi hindre underernæring blant bebuarar på sjukeheim?",
        background: "Kartlegging viser at mange bebuarar går ned i vekt det første året.",
        themes: &["care"],
        moves: &[],
        cosigned_by: &["ingrid.berg@demo.example"],
    },
    DemoNeed {
        by: "ingrid.berg@demo.example",
        partnership: None,
        coordinator: "kari.nordmann@demo.example",
        title: "Unge som står utanfor arbeid",
        question: "Kva tiltak hjelper unge vaksne med psykiske plager tilbake til arbeid eller utdanning?",
        background: "NAV-kontoret og kommunen ser fleire unge som fell ut av vidaregåande og arbeidsliv.",
        themes: &["mental-health", "employment"],
        moves: &[Move::Return],
        cosigned_by: &[],
    },
    DemoNeed {
        by: "lars.vik@demo.example",
        partnership: None,
        coordinator: "kari.nordmann@demo.example",
        title: "Velferdsteknologi i heimetenesta",
        question: "Gir digitalt tilsyn om natta like trygge tenester som fysisk tilsyn?",
        background: "Kommunen vurderer å byte ut nattlege besøk med sensorar og kamera.",
        themes: &["welfare-technology"],
        moves: &[Move::Accept],
        cosigned_by: &[],
    },
    DemoNeed {
        by: "amina.farah@demo.example",
        partnership: None,
        coordinator: "nora.bakke@demo.example",
        title: "Språkløft i barnehagen",
        question: "Kva tiltak styrkjer norskferdigheitene til fleirspråklege barn før skulestart?",
        background: "Bydelen ser at mange barn startar på skulen med svake norskferdigheiter.",
        themes: &["childhood-education"],
        moves: &[Move::Accept],
        cosigned_by: &["jonas.lie@demo.example"],
    },
    DemoNeed {
        by: "jonas.lie@demo.example",
        partnership: Some("universitetskommunen-oslo"),
        coordinator: "eirik.moen@demo.example",
        title: "Helsefremjande nærmiljø på Holmlia",
        question: "Korleis kan nærmiljøtiltak betre folkehelsa blant barnefamiliar med låg inntekt?",
        background: "Universitetskommunen startar med Holmlia, der bydelen vil prøve ut tiltak saman med OsloMet.",
        themes: &["public-health"],
        moves: &[],
        cosigned_by: &[],
    },
];

/// Raises each demo need that is not there yet (by title), so an older demo database gains the
/// new ones.
async fn demo_needs(db: &Db) -> Result<(), StartupError> {
    let conn = db.conn();
    let person_by_email = |email: &'static str| async move {
        let parsed = Email::parse(email)?;
        identity::person_by_email(conn, &parsed)
            .await?
            .ok_or_else(|| StartupError::from(format!("demo person {email} is missing")))
    };
    for demo in DEMO_NEEDS {
        if needs::by_title(conn, demo.title).await?.is_some() {
            continue;
        }
        let coordinator = person_by_email(demo.coordinator).await?;
        let author = person_by_email(demo.by).await?;
        let grants = identity::grants_of(conn, &[author.id]).await?;
        let unit_of = |grants: &std::collections::HashMap<i32, Vec<identity::GrantRow>>, id: i32| {
            grants.get(&id).and_then(|g| g.iter().find(|g| g.role == Role::UnitMember)?.organisation_id)
        };
        let unit = unit_of(&grants, author.id).ok_or("demo author is a member of no unit")?;
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
        let partnership = match demo.partnership {
            Some(key) => read::partnership_by_key(conn, key).await?.map(|p| p.id),
            None => None,
        };
        let created =
            needs::create(db, author.id, unit, partnership, content, true).await.map_err(write_error)?;
        for email in demo.cosigned_by {
            let cosigner = person_by_email(email).await?;
            let grants = identity::grants_of(conn, &[cosigner.id]).await?;
            if let Some(m) = unit_of(&grants, cosigner.id) {
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
