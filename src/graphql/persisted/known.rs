//! The known documents: the repository's `documents/**/*.graphql`, compiled into the binary (the
//! build script lists them), and the `*.graphql` files of the operator's `--documents-dir`, read
//! at start-up. Each holds one operation (its fragments beside it) and is found by its SHA-256
//! or its exact text. At start-up each passes the query limits' checks (`load`) and validation
//! with its cost at its variables' defaults (`validate`): a bad one stops the start, naming its
//! file, so none fails later.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use async_graphql::{
    ObjectType, Schema, SubscriptionType,
    parser::types::{DocumentOperations, OperationType},
};

use super::sha256_hex;
use crate::graphql::limits::{Checked, check_document, rehearse};

/// The repository's documents as `(path, text)`, sorted by path (written by `build.rs`).
const BUNDLED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/documents.rs"));

/// One known document.
pub struct Known {
    /// Where it comes from: `documents/...` in the repository, or a file of `--documents-dir`.
    pub path: String,
    pub text: Arc<str>,
    /// The SHA-256 of its text, lowercase hex.
    pub hash: String,
    pub operation_name: Option<String>,
    pub operation_type: OperationType,
    /// Parsed and checked at start-up.
    pub(crate) checked: Arc<Checked>,
}

/// The known documents of an instance.
#[derive(Default)]
pub struct KnownDocuments {
    list: Vec<Arc<Known>>,
    by_hash: HashMap<String, Arc<Known>>,
    by_text: HashMap<Arc<str>, Arc<Known>>,
}

impl KnownDocuments {
    /// The bundled documents and those of `directory` (at any depth), each checked as a request's
    /// document is; `Err` names the first file that fails and why.
    pub fn load(directory: Option<&Path>) -> Result<Self, String> {
        let mut texts: Vec<(String, String)> =
            BUNDLED.iter().map(|(path, text)| ((*path).to_owned(), (*text).to_owned())).collect();
        if let Some(directory) = directory {
            let mut files = Vec::new();
            graphql_files(directory, &mut files)?;
            files.sort();
            for file in files {
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| format!("cannot read the known document {}: {e}", file.display()))?;
                texts.push((file.display().to_string(), text));
            }
        }
        Self::from_list(texts)
    }

    /// Documents given as `(path, text)` (for tests).
    pub fn from_texts(texts: &[(&str, &str)]) -> Result<Self, String> {
        Self::from_list(texts.iter().map(|(path, text)| ((*path).to_owned(), (*text).to_owned())).collect())
    }

    fn from_list(texts: Vec<(String, String)>) -> Result<Self, String> {
        let mut known = Self::default();
        for (path, text) in texts {
            let document = Arc::new(Known::check(path, text)?);
            // The same text under two paths is one document, found under the first.
            known.by_hash.entry(document.hash.clone()).or_insert_with(|| document.clone());
            known.by_text.entry(document.text.clone()).or_insert_with(|| document.clone());
            known.list.push(document);
        }
        Ok(known)
    }

    /// Validates every document against `schema` and returns their costs at their variables'
    /// defaults, in the order of `iter`; `Err` names the first that fails and why.
    pub async fn validate<Query, Mutation, Subscription>(
        &self,
        schema: &Schema<Query, Mutation, Subscription>,
    ) -> Result<Vec<usize>, String>
    where
        Query: ObjectType + 'static,
        Mutation: ObjectType + 'static,
        Subscription: SubscriptionType + 'static,
    {
        let mut costs = Vec::with_capacity(self.list.len());
        for known in &self.list {
            let cost = rehearse(schema, &known.text).await.map_err(|errors| {
                let messages: Vec<String> = errors.into_iter().map(|error| error.message).collect();
                format!(
                    "the known document {} is not valid: {} (a variable that sizes a page needs a \
                     default, e.g. `$first: Int = 20`, so its cost is known)",
                    known.path,
                    messages.join("; ")
                )
            })?;
            costs.push(cost);
        }
        Ok(costs)
    }

    /// Every known document, bundled first, each directory's in the order of their paths.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Known>> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The documents as a Markdown table, with their `costs` (from `validate`): path, operation,
    /// SHA-256, the estimated cost the query limits check, and the points a request pays.
    pub fn table(&self, costs: &[usize]) -> String {
        let mut table =
            String::from("| document | operation | SHA-256 | cost | points |\n|---|---|---|---:|---:|\n");
        for (known, cost) in self.list.iter().zip(costs) {
            let kind = match known.operation_type {
                OperationType::Query => "query",
                OperationType::Mutation => "mutation",
                OperationType::Subscription => "subscription",
            };
            let name = known.operation_name.as_deref().unwrap_or("(anonymous)");
            table.push_str(&format!(
                "| `{}` | {kind} `{name}` | `{}` | {cost} | {} |\n",
                known.path,
                known.hash,
                crate::rate_limit::cost(*cost)
            ));
        }
        table
    }

    pub(super) fn by_hash(&self, hash: &str) -> Option<Arc<Known>> {
        self.by_hash.get(hash).cloned()
    }

    pub(super) fn by_text(&self, text: &str) -> Option<Arc<Known>> {
        if self.by_text.is_empty() {
            return None;
        }
        self.by_text.get(text).cloned()
    }
}

impl Known {
    /// `text` checked as a request's document is, holding exactly one operation.
    fn check(path: String, text: String) -> Result<Self, String> {
        let checked = check_document(&text)
            .map_err(|error| format!("the known document {path} is refused: {}", error.message))?;
        let (operation_name, operation_type) = match &checked.document.operations {
            DocumentOperations::Single(operation) => (None, operation.node.ty),
            DocumentOperations::Multiple(operations) if operations.len() == 1 => {
                let (name, operation) = operations.iter().next().ok_or_else(|| path.clone())?;
                (Some(name.to_string()), operation.node.ty)
            }
            DocumentOperations::Multiple(operations) => {
                return Err(format!(
                    "the known document {path} holds {} operations: a known document holds one",
                    operations.len()
                ));
            }
        };
        Ok(Self {
            hash: sha256_hex(&text),
            text: Arc::from(text),
            path,
            operation_name,
            operation_type,
            checked: Arc::new(checked),
        })
    }
}

/// Every `*.graphql` file under `directory`, at any depth.
fn graphql_files(directory: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(directory)
        .map_err(|e| format!("cannot read the documents directory {}: {e}", directory.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("cannot read {}: {e}", directory.display()))?.path();
        if path.is_dir() {
            graphql_files(&path, files)?;
        } else if path.extension().is_some_and(|extension| extension == "graphql") {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object};

    use super::*;
    use crate::graphql::limits::RequestHooks;

    struct Query;

    #[Object]
    impl Query {
        /// Costs its page size.
        #[graphql(complexity = "usize::try_from(first.unwrap_or(1)).unwrap_or(1)")]
        async fn page(&self, first: Option<i32>) -> i32 {
            first.unwrap_or_default()
        }
    }

    fn schema() -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::build(Query, EmptyMutation, EmptySubscription).extension(RequestHooks::default()).finish()
    }

    #[test]
    fn the_repositorys_documents_are_compiled_in_and_pass_the_checks() {
        let known = KnownDocuments::load(None).unwrap_or_else(|e| panic!("{e}"));
        let paths: Vec<&str> = known.iter().map(|k| k.path.as_str()).collect();
        assert!(paths.contains(&"documents/examples/themes.graphql"), "{paths:?}");
        assert!(known.iter().all(|k| k.hash == sha256_hex(&k.text)));
    }

    #[test]
    fn a_document_of_two_operations_or_that_does_not_parse_is_refused_naming_its_file() {
        let two = KnownDocuments::from_texts(&[("two.graphql", "query A { page } query B { page }")]);
        assert!(two.is_err_and(|e| e.contains("two.graphql") && e.contains("2 operations")));
        let broken = KnownDocuments::from_texts(&[("broken.graphql", "query { page")]);
        assert!(broken.is_err_and(|e| e.contains("broken.graphql")));
    }

    #[tokio::test]
    async fn validation_names_the_file_and_costs_come_at_the_variables_defaults() {
        let schema = schema();
        let known = KnownDocuments::from_texts(&[
            ("small.graphql", "query Small($first: Int = 10) { page(first: $first) }"),
            ("large.graphql", "query Large($first: Int = 40) { page(first: $first) }"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let costs = known.validate(&schema).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(costs, [10, 40]);
        let unknown_field = KnownDocuments::from_texts(&[("bad.graphql", "{ nothing }")]);
        let refused = unknown_field.unwrap_or_else(|e| panic!("{e}")).validate(&schema).await;
        assert!(refused.is_err_and(|e| e.contains("bad.graphql")));
        let no_default =
            KnownDocuments::from_texts(&[("page.graphql", "query($first: Int!) { page(first: $first) }")]);
        let refused = no_default.unwrap_or_else(|e| panic!("{e}")).validate(&schema).await;
        assert!(refused.is_err_and(|e| e.contains("page.graphql") && e.contains("default")));
    }
}
