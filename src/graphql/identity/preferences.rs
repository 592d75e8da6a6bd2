//! A person's notification preferences and the language of their mails: read on `viewer`
//! (`notificationPreferences`, `language`), set with `setNotificationPreferences`. Each person
//! sets only their own, so any valid token may (the mutation names no person); what is not set
//! follows the person's roles (`domain::notify`).

use std::collections::HashSet;

use async_graphql::{Context, InputObject, Object, SimpleObject};
use entity::enums::{Cadence, Language, NotificationKind};

use super::{mutation::actor, query::ViewerInfo};
use crate::{
    db::notify::preferences,
    domain::notify::Preference,
    error::Result,
    graphql::{
        context::ContextExt,
        user_error::{UserError, UserErrorCode, UserErrors, from_write_error},
    },
};

/// How the caller hears of one kind of notification.
#[derive(SimpleObject)]
pub struct NotificationPreference {
    pub kind: NotificationKind,
    pub cadence: Cadence,
    /// Whether this is the default of the caller's roles (nothing chosen for the kind yet).
    pub is_default: bool,
}

impl From<Preference> for NotificationPreference {
    fn from(p: Preference) -> Self {
        Self { kind: p.kind, cadence: p.cadence, is_default: p.is_default }
    }
}

/// The caller's preference for every kind, in the kinds' order; none for the public.
pub async fn of_viewer(ctx: &Context<'_>) -> Result<Vec<NotificationPreference>> {
    let Some(person) = ctx.viewer()?.person_id() else {
        return Ok(Vec::new());
    };
    let found = preferences::of_person(ctx.db()?.conn(), person).await?;
    Ok(found.into_iter().map(NotificationPreference::from).collect())
}

#[derive(InputObject)]
pub struct NotificationPreferenceInput {
    pub kind: NotificationKind,
    pub cadence: Cadence,
}

#[derive(InputObject)]
pub struct SetNotificationPreferencesInput {
    /// The language of the caller's mails; unchanged when left out.
    pub language: Option<Language>,
    /// How to hear of each kind named (each at most once); the others are unchanged.
    #[graphql(default)]
    pub preferences: Vec<NotificationPreferenceInput>,
}

#[derive(SimpleObject)]
pub struct SetNotificationPreferencesPayload {
    /// The caller, with their preferences as now stored; null when nothing was set.
    pub viewer: Option<ViewerInfo>,
    pub user_errors: Vec<UserError>,
}

/// The preferences half of `IdentityMutation`.
#[derive(Default)]
pub struct PreferencesMutation;

#[Object]
impl PreferencesMutation {
    /// Sets which notifications the caller gets by e-mail and how (at once, in a daily digest,
    /// or not at all), and the language of their mails. Any authenticated person, for
    /// themselves.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_notification_preferences(
        &self,
        ctx: &Context<'_>,
        input: SetNotificationPreferencesInput,
    ) -> Result<SetNotificationPreferencesPayload> {
        let viewer = ctx.viewer()?;
        let actor = actor(viewer)?;
        let person = viewer.require_person()?;
        let mut errors = UserErrors::default();
        let mut seen = HashSet::new();
        if input.preferences.iter().any(|p| !seen.insert(p.kind)) {
            errors.add("preferences", UserErrorCode::BadUserInput, "name each kind at most once");
        }
        if !errors.is_empty() {
            return Ok(SetNotificationPreferencesPayload { viewer: None, user_errors: errors.into_vec() });
        }
        let choices: Vec<_> = input.preferences.iter().map(|p| (p.kind, p.cadence)).collect();
        Ok(match preferences::set(ctx.db()?, actor, person, input.language, &choices).await {
            Ok(()) => SetNotificationPreferencesPayload { viewer: Some(ViewerInfo), user_errors: Vec::new() },
            Err(err) => {
                SetNotificationPreferencesPayload { viewer: None, user_errors: from_write_error(err)? }
            }
        })
    }
}
