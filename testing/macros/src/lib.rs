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
//!
//! `#[both_databases(adjust)]` starts each instance with `TestApp::spawn_with(backend, adjust)`,
//! `adjust` being a `fn(&mut Settings)`.

use proc_macro::TokenStream;
use quote::quote;
use syn::{Error, ItemFn, parse_macro_input};

/// Runs the `async fn` below on both databases: see the crate docs.
#[proc_macro_attribute]
pub fn both_databases(arguments: TokenStream, item: TokenStream) -> TokenStream {
    // An optional argument names a `fn(&mut Settings)` that adjusts the instance's settings.
    let adjust = if arguments.is_empty() {
        None
    } else {
        match syn::parse::<syn::Path>(arguments) {
            Ok(path) => Some(path),
            Err(err) => {
                return Error::new(
                    err.span(),
                    "#[both_databases(adjust)] takes the path of a `fn(&mut Settings)`",
                )
                .to_compile_error()
                .into();
            }
        }
    };
    let spawn = |backend: proc_macro2::TokenStream| match &adjust {
        None => quote! { crate::helpers::TestApp::spawn(#backend).await },
        Some(adjust) => quote! { crate::helpers::TestApp::spawn_with(#backend, #adjust).await },
    };
    let sqlite = spawn(quote! { crate::helpers::Backend::Sqlite });
    let postgres = spawn(quote! { crate::helpers::Backend::Postgres });
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
                run(#sqlite).await;
            }

            #[tokio::test]
            #(#others)*
            async fn postgres() {
                run(#postgres).await;
            }
        }
    }
    .into()
}
