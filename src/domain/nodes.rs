//! The kinds of record the hub names by type and key: in global ids, in the audit log's targets
//! and in idempotency keys. The names are stored and are part of the id format: never rename one.

/// Every kind of record the hub names. All but [`NodeType::Evidence`] and [`NodeType::Uptake`]
/// implement the API's `Node` interface (see [`NodeType::is_node`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeType {
    Region,
    County,
    Cluster,
    Municipality,
    Institution,
    Theme,
    ProductType,
    Criterion,
    Person,
    Membership,
    ApiToken,
    Need,
    Round,
    Commission,
    Summary,
    Milestone,
    /// A need's evidence link (reached through its need).
    Evidence,
    /// An uptake report (reached through its summary).
    Uptake,
    /// A node of the organisation tree (`entity::organisation`).
    Organisation,
    /// A prioritising body and its members (`entity::partnership`).
    Partnership,
    /// An organisation's webhook endpoint (`entity::webhook_endpoint`).
    WebhookEndpoint,
}

impl NodeType {
    pub const ALL: [NodeType; 21] = [
        Self::Region,
        Self::County,
        Self::Cluster,
        Self::Municipality,
        Self::Institution,
        Self::Theme,
        Self::ProductType,
        Self::Criterion,
        Self::Person,
        Self::Membership,
        Self::ApiToken,
        Self::Need,
        Self::Round,
        Self::Commission,
        Self::Summary,
        Self::Milestone,
        Self::Evidence,
        Self::Uptake,
        Self::Organisation,
        Self::Partnership,
        Self::WebhookEndpoint,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Self::Region => "Region",
            Self::County => "County",
            Self::Cluster => "Cluster",
            Self::Municipality => "Municipality",
            Self::Institution => "Institution",
            Self::Theme => "Theme",
            Self::ProductType => "ProductType",
            Self::Criterion => "Criterion",
            Self::Person => "Person",
            Self::Membership => "Membership",
            Self::ApiToken => "ApiToken",
            Self::Need => "Need",
            Self::Round => "Round",
            Self::Commission => "Commission",
            Self::Summary => "Summary",
            Self::Milestone => "Milestone",
            Self::Evidence => "Evidence",
            Self::Uptake => "Uptake",
            Self::Organisation => "Organisation",
            Self::Partnership => "Partnership",
            Self::WebhookEndpoint => "WebhookEndpoint",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether the API has objects of this type with global ids (`Node`).
    pub const fn is_node(self) -> bool {
        !matches!(self, Self::Evidence | Self::Uptake)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_reads_back_as_its_type() {
        for node_type in NodeType::ALL {
            assert_eq!(NodeType::from_name(node_type.name()), Some(node_type));
        }
        assert_eq!(NodeType::from_name("need"), None, "names are exact");
    }
}
