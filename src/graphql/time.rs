//! Times given to the API: every `DateTime` argument and input field is checked with
//! [`Storable`] (years 1 to 9999, see [`crate::domain::time`]), so a time the databases cannot
//! store or compare is `BAD_USER_INPUT` before any resolver or SQL runs. `tests/api/fuzz.rs`
//! walks the SDL and sends extreme times to every `DateTime` input, so a new one without the
//! check fails there.

use async_graphql::{CustomValidator, InputValueError};
use chrono::{DateTime, Utc};

/// The validator of `DateTime` inputs: `#[graphql(validator(custom = "Storable"))]`.
pub struct Storable;

impl CustomValidator<DateTime<Utc>> for Storable {
    fn check(&self, value: &DateTime<Utc>) -> Result<(), InputValueError<DateTime<Utc>>> {
        crate::domain::time::check_storable(value).map_err(InputValueError::custom)
    }
}
