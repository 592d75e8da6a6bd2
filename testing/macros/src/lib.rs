//! `#[both_databases]`: an API test written once, as an ordinary `async fn` that rustfmt and the
//! editor see, and run on SQLite and on PostgreSQL.
//!
//! ```ignore
//! /// A doc comment describes the test.
//! #[both_databases]
//! async fn creates_a_need(app: TestApp) { ... }
//! ```
//!
//! becomes
//!
//! ```ignore
//! /// A doc comment describes the test.
//! mod creates_a_need {
//!     use super::*;
//!     async fn run(app: TestApp) { ... }
//!     #[tokio::test] async fn sqlite() { run(TestApp::spawn(Backend::Sqlite).await).await }
//!     #[tokio::test] async fn postgres() { run(TestApp::spawn(Backend::Postgres).await).await }
//! }
//! ```
//!
//! so each test is named `module::creates_a_need::sqlite` and `...::postgres`, and a filter on
//! the test's name runs it on both. Doc comments stay on the module; every other attribute
//! (`#[ignore]`, `#[cfg(..)]`) goes onto both generated tests. The generated code names
//! `crate::helpers::TestApp` and `crate::helpers::Backend`: the macro serves the `tests/api`
//! binary only.

use proc_macro::TokenStream;
use quote::quote;
use syn::{Error, ItemFn, parse_macro_input};

/// Runs the `async fn` below on both databases: see the crate docs.
#[proc_macro_attribute]
pub fn both_databases(arguments: TokenStream, item: TokenStream) -> TokenStream {
    if !arguments.is_empty() {
        let arguments = proc_macro2::TokenStream::from(arguments);
        return Error::new_spanned(arguments, "#[both_databases] takes no arguments")
            .to_compile_error()
            .into();
    }
    let test = parse_macro_input!(item as ItemFn);
    if test.sig.asyncness.is_none() || test.sig.inputs.len() != 1 {
        return Error::new_spanned(&test.sig, "#[both_databases] runs an `async fn name(app: TestApp)`")
            .to_compile_error()
            .into();
    }
    let (docs, others): (Vec<_>, Vec<_>) = test.attrs.iter().partition(|a| a.path().is_ident("doc"));
    let name = &test.sig.ident;
    let mut run = test.clone();
    run.attrs.clear();
    run.sig.ident = syn::Ident::new("run", name.span());
    quote! {
        #(#docs)*
        mod #name {
            #[allow(unused_imports)]
            use super::*;

            #run

            #[tokio::test]
            #(#others)*
            async fn sqlite() {
                run(crate::helpers::TestApp::spawn(crate::helpers::Backend::Sqlite).await).await;
            }

            #[tokio::test]
            #(#others)*
            async fn postgres() {
                run(crate::helpers::TestApp::spawn(crate::helpers::Backend::Postgres).await).await;
            }
        }
    }
    .into()
}
