//! `schema.graphql` is the committed SDL: this fails when the schema changes and the file does not.

#[test]
fn the_committed_schema_matches_the_code() {
    let committed = include_str!("../../schema.graphql");
    let current = knowledge_hub::graphql::schema::sdl();
    assert!(
        committed == current,
        "schema.graphql is out of date: run `cargo run -- schema > schema.graphql` and commit it"
    );
}

/// The root types carry the names every GraphQL client and tool expects.
#[test]
fn the_root_types_are_query_mutation_and_subscription() {
    let sdl = knowledge_hub::graphql::schema::sdl();
    let document = async_graphql::parser::parse_schema(&sdl).expect("the SDL parses");
    let mut roots = None;
    let mut types = Vec::new();
    for definition in document.definitions {
        match definition {
            async_graphql::parser::types::TypeSystemDefinition::Schema(schema) => {
                let schema = schema.node;
                let name =
                    |n: Option<async_graphql::Positioned<async_graphql::Name>>| n.map(|n| n.node.to_string());
                roots = Some((name(schema.query), name(schema.mutation), name(schema.subscription)));
            }
            async_graphql::parser::types::TypeSystemDefinition::Type(t) => {
                types.push(t.node.name.node.to_string())
            }
            _ => {}
        }
    }
    // Without a `schema` block the conventional names are implied; with one, they must be these.
    if let Some(roots) = roots {
        assert_eq!(
            roots,
            (Some("Query".to_owned()), Some("Mutation".to_owned()), Some("Subscription".to_owned())),
            "{sdl}"
        );
    }
    for root in ["Query", "Mutation", "Subscription"] {
        assert!(types.iter().any(|t| t == root), "type {root} is in the schema");
    }
    assert!(!types.iter().any(|t| t == "Subscriptions"), "the old name is gone");
}
