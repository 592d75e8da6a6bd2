//! Reading an export: its field's answer, page by page, through the schema as the caller. Each
//! page is one execution with the caller's viewer and a batcher of its own, exactly as a request
//! over HTTP would run (limits, policy, loaders), but paid for once by the export (see
//! `http/export.rs`), so no page carries a payment. A page becomes rows and goes to the writer
//! before the next is read: memory holds a page, not the export.

use async_graphql::{InputType, Request, Variables};
use serde_json::{Value, json};
use tokio::sync::mpsc::Sender;

use super::{Kind, Link, columns::Table, file::Batch};
use crate::{
    auth::Viewer,
    error::{AppError, code},
    graphql::schema::{HubSchema, PerRequest},
};

/// Reads exports as one caller.
pub struct Reader {
    schema: HubSchema,
    per_request: PerRequest,
    viewer: Viewer,
}

impl Reader {
    pub fn new(schema: HubSchema, per_request: PerRequest, viewer: Viewer) -> Self {
        Self { schema, per_request, viewer }
    }

    /// The data of `query` with `variables`, run as the caller; its first error as an
    /// `AppError` of the same code.
    pub async fn run(&self, query: &str, variables: Value) -> Result<Value, AppError> {
        let request = Request::new(query).variables(Variables::from_json(variables));
        let (request, batcher) = self.per_request.prepare(request, self.viewer.clone());
        let response = batcher.drive(self.schema.execute(request)).await;
        if let Some(error) = response.errors.first() {
            let code = error
                .extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .and_then(|c| c.clone().into_json().ok())
                .and_then(|c| c.as_str().map(str::to_owned))
                .unwrap_or_default();
            return Err(match code.as_str() {
                code::NOT_FOUND => AppError::NotFound,
                code::BAD_USER_INPUT => AppError::BadUserInput(error.message.clone()),
                code::DATABASE_UNAVAILABLE => AppError::Unavailable(error.message.clone()),
                _ => AppError::Internal(format!("an export's page: {} ({code})", error.message)),
            });
        }
        response.data.into_json().map_err(|e| AppError::Internal(format!("an export's page: {e}")))
    }

    /// How many items (needs, ranking entries, commissions, summaries) the export holds: what
    /// it is priced by. A round the caller may not see is `NOT_FOUND`.
    pub async fn count(&self, link: &Link) -> Result<usize, AppError> {
        let shape = link.kind.shape();
        let data = self.run(shape.count, link.arguments.clone()).await?;
        let connection = shape.path.iter().fold(&data, |value, step| &value[*step]);
        if connection.is_null() {
            return Err(AppError::NotFound);
        }
        Ok(connection["totalCount"].as_u64().map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX)))
    }

    /// Reads the export of `link` page by page and sends the headings, then each page's rows,
    /// to the writer. `personal`: the caller's file has the personal data columns.
    pub async fn read(&self, link: &Link, personal: bool, batches: &Sender<Batch>) -> Result<(), ReadError> {
        let shape = link.kind.shape();
        let mut table: Option<Table> = None;
        let mut after: Option<String> = None;
        loop {
            let variables = variables(link, personal, shape.page_size, after.as_deref());
            let data = self.run(shape.document, variables).await?;
            let table = match &mut table {
                Some(table) => table,
                None => {
                    let made = Table::new(link.kind, link.language, personal, &data);
                    batches.send(Batch::Headings(made.headings())).await.map_err(|_| ReadError::Gone)?;
                    table.insert(made)
                }
            };
            let connection = shape.path.iter().fold(&data, |value, step| &value[*step]);
            if connection.is_null() {
                return Err(AppError::NotFound.into());
            }
            let mut rows = Vec::new();
            for edge in connection["edges"].as_array().into_iter().flatten() {
                let node = &edge["node"];
                let inner = match shape.rest {
                    Some(rest) => self.inner(node, rest).await?,
                    None => Vec::new(),
                };
                rows.extend(table.rows(node, &inner));
            }
            batches.send(Batch::Rows(rows)).await.map_err(|_| ReadError::Gone)?;
            let page_info = &connection["pageInfo"];
            match (page_info["hasNextPage"].as_bool(), page_info["endCursor"].as_str()) {
                (Some(true), Some(cursor)) => after = Some(cursor.to_owned()),
                _ => return Ok(()),
            }
        }
    }

    /// Every item of a node's inner list (aliased `inner`): the first page came with the node,
    /// the rest is read with `rest`, a page at a time.
    async fn inner(&self, node: &Value, rest: &str) -> Result<Vec<Value>, AppError> {
        let mut items = nodes(&node["inner"]);
        let mut page_info = node["inner"]["pageInfo"].clone();
        while let (Some(true), Some(cursor)) =
            (page_info["hasNextPage"].as_bool(), page_info["endCursor"].as_str())
        {
            let data = self.run(rest, json!({ "id": node["id"], "after": cursor })).await?;
            items.extend(nodes(&data["node"]["inner"]));
            page_info = data["node"]["inner"]["pageInfo"].clone();
        }
        Ok(items)
    }
}

/// Why reading stopped.
#[derive(Debug)]
pub enum ReadError {
    /// The writer stopped taking rows: the client went away.
    Gone,
    Failed(AppError),
}

impl From<AppError> for ReadError {
    fn from(err: AppError) -> Self {
        Self::Failed(err)
    }
}

/// The nodes of a connection's edges.
fn nodes(connection: &Value) -> Vec<Value> {
    connection["edges"].as_array().into_iter().flatten().map(|edge| edge["node"].clone()).collect()
}

/// The variables of one page: the link's arguments, the language, whether to read personal
/// data, and the page.
fn variables(link: &Link, personal: bool, size: usize, after: Option<&str>) -> Value {
    let mut variables = match &link.arguments {
        Value::Object(fields) => fields.clone(),
        _ => serde_json::Map::new(),
    };
    // The language as the schema names it (`NB`), like any input.
    variables.insert("language".into(), link.language.to_value().into_json().unwrap_or(Value::Null));
    if link.kind == Kind::Needs {
        variables.insert("personal".into(), personal.into());
    }
    variables.insert("first".into(), size.into());
    variables.insert("after".into(), after.map_or(Value::Null, Value::from));
    Value::Object(variables)
}
