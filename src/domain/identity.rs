//! People, roles and tokens: parse, don't validate.

/// The most live (neither revoked nor expired) API tokens a person may hold, whoever mints them
/// through the API: budgets belong to the person, and tokens are not free.
pub const MAX_LIVE_TOKENS: u64 = 20;

/// A person's name as shown to others: trimmed, 1-200 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("the name is empty".into());
        }
        if name.chars().count() > 200 {
            return Err("the name is longer than 200 characters".into());
        }
        if name.chars().any(char::is_control) {
            return Err("the name contains control characters".into());
        }
        Ok(Self(name.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An e-mail address, trimmed and lower-cased so one person has one address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        let invalid = || format!("`{}` is not an e-mail address", raw.trim());
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.contains('@')
            && domain
                .split('.')
                .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// What a token's owner calls it: trimmed, 1-100 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenName(String);

impl TokenName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err("the token name must be 1 to 100 characters".into());
        }
        Ok(Self(name.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Kari.Nordmann@Bergen.Kommune.NO ").map(Email::into_inner),
            Ok("kari.nordmann@bergen.kommune.no".into())
        );
        for bad in [
            "",
            "kari",
            "kari@",
            "@bergen.no",
            "kari@bergen",
            "kari nord@bergen.no",
            "a@b@c.no",
            "kari@-x.no",
            "kari@x..no",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(PersonName::parse("  Åse Ødegård ").map(PersonName::into_inner), Ok("Åse Ødegård".into()));
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"x".repeat(201)).is_err());
        assert!(PersonName::parse("a\u{0}b").is_err());
        assert!(TokenName::parse("").is_err());
    }
}
