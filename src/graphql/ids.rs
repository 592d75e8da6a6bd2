//! Opaque global ids (Relay): the base64url of `Type:key`, so clients cannot build or parse them
//! and the key can change representation without breaking anyone.

use async_graphql::ID;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::error::AppError;

/// The types of the API's nodes (those whose `is_node` holds); one list for ids, the audit log and
/// idempotency keys.
pub use crate::domain::nodes::NodeType;

/// A decoded global id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GlobalId {
    pub node_type: NodeType,
    pub key: i32,
}

impl GlobalId {
    pub fn new(node_type: NodeType, key: i32) -> Self {
        Self { node_type, key }
    }

    pub fn encode(self) -> ID {
        ID(URL_SAFE_NO_PAD.encode(format!("{}:{}", self.node_type.name(), self.key)))
    }

    /// Decodes any well-formed id; a malformed one is `BAD_USER_INPUT`.
    pub fn decode(id: &str) -> Result<Self, AppError> {
        let malformed = || AppError::bad_input(format!("`{id}` is not a valid id"));
        let bytes = URL_SAFE_NO_PAD.decode(id).map_err(|_| malformed())?;
        let text = String::from_utf8(bytes).map_err(|_| malformed())?;
        let (name, key) = text.split_once(':').ok_or_else(malformed)?;
        let node_type = NodeType::from_name(name).filter(|t| t.is_node()).ok_or_else(malformed)?;
        let key = key.parse::<i32>().map_err(|_| malformed())?;
        Ok(Self { node_type, key })
    }

    /// Decodes an id that must name an object of `expected` type; any other type is `BAD_USER_INPUT`.
    pub fn decode_as(id: &str, expected: NodeType) -> Result<i32, AppError> {
        Self::decode(id)?.key_as(id, expected)
    }

    /// The key of this decoded id (`id`, as sent) if it names an object of `expected` type; any
    /// other type is `BAD_USER_INPUT`.
    pub fn key_as(self, id: &str, expected: NodeType) -> Result<i32, AppError> {
        if self.node_type != expected {
            return Err(AppError::bad_input(format!(
                "`{id}` is the id of a {}, expected a {}",
                self.node_type.name(),
                expected.name()
            )));
        }
        Ok(self.key)
    }

    /// `decode_as` for an optional argument.
    pub fn decode_optional(id: Option<&ID>, expected: NodeType) -> Result<Option<i32>, AppError> {
        id.map(|id| Self::decode_as(id, expected)).transpose()
    }

    /// `decode_as` for every id of an optional list; no list is an empty one.
    pub fn decode_all(ids: Option<&[ID]>, expected: NodeType) -> Result<Vec<i32>, AppError> {
        ids.unwrap_or_default().iter().map(|id| Self::decode_as(id, expected)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_type_round_trips() {
        for node_type in NodeType::ALL.into_iter().filter(|t| t.is_node()) {
            let id = GlobalId::new(node_type, 42).encode();
            assert_eq!(GlobalId::decode(&id), Ok(GlobalId::new(node_type, 42)));
        }
    }

    #[test]
    fn malformed_ids_are_bad_user_input() {
        for id in ["", "!!!", "TXVuaWNpcGFsaXR5", "Tm9wZTox", "TXVuaWNpcGFsaXR5OmFiYw"] {
            let err = GlobalId::decode(id).expect_err(id);
            assert_eq!(err.code(), "BAD_USER_INPUT", "{id}");
        }
    }

    #[test]
    fn an_id_of_another_type_is_bad_user_input() {
        let id = GlobalId::new(NodeType::Region, 1).encode();
        let err = GlobalId::decode_as(&id, NodeType::Cluster).expect_err("wrong type");
        assert_eq!(err.code(), "BAD_USER_INPUT");
    }
}
