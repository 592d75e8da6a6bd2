//! Relay connections: page arguments, opaque keyset cursors, and slicing of an ordered list.
//!
//! Reference data is small (hundreds of rows), so a connection over it loads the filtered rows
//! once (one statement, or one batched load for a nested field) and slices them here. The
//! cursor is the row's sort key, not an offset, so a page stays correct when rows are inserted
//! before it. Large tables (needs) page in SQL with the same cursor format.

use async_graphql::{
    ObjectType, OutputType, SimpleObject,
    connection::{Connection, ConnectionNameType, Edge, EdgeNameType, EmptyFields},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::error::AppError;

/// The largest page a client may ask for.
pub const MAX_PAGE_SIZE: i32 = 500;
/// The page size when the client names neither `first` nor `last`.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// Fields every connection has besides `edges`, `nodes` and `pageInfo`.
#[derive(SimpleObject)]
pub struct ConnectionFields {
    /// How many items match, across all pages.
    pub total_count: usize,
}

pub type Page<T> = Connection<String, T, ConnectionFields, EmptyFields>;

/// Validated page arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageArgs {
    pub size: usize,
    pub from_end: bool,
    pub after: Option<i64>,
    pub before: Option<i64>,
}

impl PageArgs {
    pub fn parse(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Self, AppError> {
        let check = |name: &str, value: i32| {
            if (1..=MAX_PAGE_SIZE).contains(&value) {
                Ok(value as usize)
            } else {
                Err(AppError::bad_input(format!(
                    "`{name}` must be between 1 and {MAX_PAGE_SIZE}, got {value}"
                )))
            }
        };
        let (size, from_end) = match (first, last) {
            (Some(_), Some(_)) => return Err(AppError::bad_input("pass `first` or `last`, not both")),
            (Some(first), None) => (check("first", first)?, false),
            (None, Some(last)) => (check("last", last)?, true),
            (None, None) => (DEFAULT_PAGE_SIZE as usize, false),
        };
        Ok(Self {
            size,
            from_end,
            after: after.as_deref().map(decode_cursor).transpose()?,
            before: before.as_deref().map(decode_cursor).transpose()?,
        })
    }
}

impl PageArgs {
    /// The page in SQL terms, for pages of children read in one statement (`db::pages`).
    pub fn window(self) -> crate::db::pages::KeyWindow {
        crate::db::pages::KeyWindow {
            size: self.size,
            from_end: self.from_end,
            after: self.after,
            before: self.before,
        }
    }
}

/// The cost of a connection field for the complexity limit: the page size times what each
/// item costs, so `first: 100` of something nested is priced as what it will load.
pub fn cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = first.or(last).unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE) as usize;
    size.saturating_mul(child_complexity).saturating_add(1)
}

pub fn encode_cursor(key: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("cursor:{key}"))
}

/// A key cursor: every key is a row id or a negated one, so a key outside the range of 32-bit
/// ids is refused here rather than carried into arithmetic or SQL.
fn decode_cursor(cursor: &str) -> Result<i64, AppError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("cursor:")?.parse::<i32>().ok())
        .map(i64::from)
        .ok_or_else(|| AppError::bad_input(format!("`{cursor}` is not a valid cursor")))
}

/// Builds one page from `items`, which must be sorted ascending by `key` (under the default
/// connection names, `Page<T>`, or the names the caller's return type gives).
pub fn paginate<T: OutputType, N: ConnectionNameType, E: EdgeNameType>(
    items: Vec<T>,
    args: PageArgs,
    key: impl Fn(&T) -> i64,
) -> Connection<String, T, ConnectionFields, EmptyFields, N, E> {
    paginate_with(items, args, key, |total_count| ConnectionFields { total_count })
}

/// [`paginate`] with the connection's own fields, made from the number of items.
pub fn paginate_with<T: OutputType, F: ObjectType, N: ConnectionNameType, E: EdgeNameType>(
    items: Vec<T>,
    args: PageArgs,
    key: impl Fn(&T) -> i64,
    fields: impl FnOnce(usize) -> F,
) -> Connection<String, T, F, EmptyFields, N, E> {
    let total_count = items.len();
    let in_window = |k: i64| args.after.is_none_or(|a| k > a) && args.before.is_none_or(|b| k < b);
    let outside_before = items.iter().any(|item| args.after.is_some_and(|a| key(item) <= a));
    let outside_after = items.iter().any(|item| args.before.is_some_and(|b| key(item) >= b));
    let mut window: Vec<T> = items.into_iter().filter(|item| in_window(key(item))).collect();
    let more = window.len() > args.size;
    let (has_previous, has_next) = if args.from_end {
        window.drain(..window.len().saturating_sub(args.size));
        (more, outside_after)
    } else {
        window.truncate(args.size);
        (outside_before, more)
    };
    let mut page = Connection::with_additional_fields(has_previous, has_next, fields(total_count));
    page.edges.extend(window.into_iter().map(|item| Edge::new(encode_cursor(key(&item)), item)));
    page
}

/// `totalCount` of a connection of a parent's children (`Need.history`, `Person.tokens`, ...),
/// counted only when asked for, for every parent of the pass in one `GROUP BY`.
/// A list filtered row by row before paging knows its count already (`Known`).
pub enum ChildCount {
    Load(crate::graphql::loaders::CountOf),
    Known(usize),
}

#[async_graphql::Object]
impl ChildCount {
    /// How many items there are, across all pages.
    async fn total_count(&self, ctx: &async_graphql::Context<'_>) -> crate::error::Result<i64> {
        use crate::graphql::context::ContextExt;
        match self {
            Self::Load(count) => Ok(ctx.loader()?.load_one(*count).await?.unwrap_or(0)),
            Self::Known(n) => Ok(i64::try_from(*n).unwrap_or(i64::MAX)),
        }
    }
}

/// A page of a parent's children, read in SQL (`db::pages::children`): `rows` in the direction
/// of travel with at most one row more than the page, `key` their ids.
pub fn child_page<M, T: OutputType, N: ConnectionNameType, E: EdgeNameType>(
    rows: Vec<M>,
    args: PageArgs,
    count: crate::graphql::loaders::CountOf,
    key: impl Fn(&M) -> i64,
    node: impl Fn(M) -> T,
) -> Connection<String, T, ChildCount, EmptyFields, N, E> {
    keyset_page(rows, args, ChildCount::Load(count), key, node)
}

/// A page read in SQL by key: `rows` in the direction of travel with at most one row more than
/// the page, `key` their keys, `fields` the connection's own fields.
pub fn keyset_page<M, T: OutputType, F: ObjectType, N: ConnectionNameType, E: EdgeNameType>(
    rows: Vec<M>,
    args: PageArgs,
    fields: F,
    key: impl Fn(&M) -> i64,
    node: impl Fn(M) -> T,
) -> Connection<String, T, F, EmptyFields, N, E> {
    let more = rows.len() > args.size;
    let mut rows = rows;
    rows.truncate(args.size);
    if args.from_end {
        rows.reverse();
    }
    let (has_previous, has_next) =
        keyset_page_info(args.from_end, args.after.is_some(), args.before.is_some(), more);
    let mut page = Connection::with_additional_fields(has_previous, has_next, fields);
    page.edges.extend(rows.into_iter().map(|row| Edge::new(encode_cursor(key(&row)), node(row))));
    page
}

/// A connection of a parent's children, under the default names (`XxxConnection`, `XxxEdge`).
pub type ChildPage<T> = Connection<String, T, ChildCount, EmptyFields>;

/// Names a connection whose node type has a connection of its own already (`needs` and
/// `needEvents`): `$connection` and `$edge`.
#[macro_export]
macro_rules! connection_names {
    ($names:ident, $connection:literal, $edge:literal) => {
        pub struct $names;

        impl async_graphql::connection::ConnectionNameType for $names {
            fn type_name<T: async_graphql::OutputType>() -> String {
                $connection.to_owned()
            }
        }

        impl async_graphql::connection::EdgeNameType for $names {
            fn type_name<T: async_graphql::OutputType>() -> String {
                $edge.to_owned()
            }
        }
    };
}

/// `(hasPreviousPage, hasNextPage)` of a page fetched in SQL by key: `more` says whether a row
/// beyond the page's far end came back; towards the cursor, a page after (or before) one is taken
/// to have a neighbour there.
pub fn keyset_page_info(from_end: bool, after: bool, before: bool, more: bool) -> (bool, bool) {
    if from_end { (more, before) } else { (after, more) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(page: &Page<i32>) -> Vec<i32> {
        page.edges.iter().map(|e| e.node).collect()
    }

    fn args(first: Option<i32>, after: Option<i64>, last: Option<i32>, before: Option<i64>) -> PageArgs {
        PageArgs::parse(first, after.map(encode_cursor), last, before.map(encode_cursor)).expect("valid")
    }

    #[test]
    fn pages_forward_and_backward_by_key() {
        let items: Vec<i32> = (1..=10).collect();
        let page = paginate(items.clone(), args(Some(3), Some(4), None, None), |i| i64::from(*i));
        assert_eq!(keys(&page), [5, 6, 7]);
        assert!(page.has_previous_page && page.has_next_page);
        assert_eq!(page.additional_fields.total_count, 10);

        let page = paginate(items.clone(), args(None, None, Some(3), Some(4)), |i| i64::from(*i));
        assert_eq!(keys(&page), [1, 2, 3]);
        assert!(!page.has_previous_page && page.has_next_page);

        let page = paginate(items, args(Some(5), Some(8), None, None), |i| i64::from(*i));
        assert_eq!(keys(&page), [9, 10]);
        assert!(!page.has_next_page);
    }

    #[test]
    fn a_cursor_stays_valid_when_rows_are_inserted_before_it() {
        let page = paginate(vec![1, 2, 3, 7, 8], args(Some(2), Some(3), None, None), |i| i64::from(*i));
        assert_eq!(keys(&page), [7, 8]);
    }

    #[test]
    fn page_sizes_outside_bounds_are_rejected() {
        for (first, last) in
            [(Some(0), None), (Some(MAX_PAGE_SIZE + 1), None), (None, Some(-1)), (Some(1), Some(1))]
        {
            let err = PageArgs::parse(first, None, last, None).expect_err("out of bounds");
            assert_eq!(err.code(), "BAD_USER_INPUT");
        }
        let err = PageArgs::parse(None, Some("bogus".into()), None, None).expect_err("bad cursor");
        assert_eq!(err.code(), "BAD_USER_INPUT");
    }
}
