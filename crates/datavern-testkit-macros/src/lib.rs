//! `#[on_every_backend]`, re-exported by `datavern-testkit`: an `async fn(Backend)` becomes one
//! test per backend.

use proc_macro::TokenStream;
use quote::quote;
use syn::{Ident, ItemFn, parse_macro_input};

/// Runs the `async fn name(backend: Backend)` it is put on as three tests, `name::sqlite`,
/// `name::postgres` and `name::mariadb`, each on a fresh tokio runtime. With
/// `#[on_every_backend(multi_thread)]` the runtime is tokio's multi-threaded one (for code that
/// blocks a worker, such as a CLI command run in-process).
///
/// ```ignore
/// #[on_every_backend]
/// async fn creates_a_record(backend: Backend) { /* … */ }
/// ```
#[proc_macro_attribute]
pub fn on_every_backend(attr: TokenStream, item: TokenStream) -> TokenStream {
    let flavor = if attr.is_empty() {
        quote!()
    } else {
        let flavor = parse_macro_input!(attr as Ident);
        if flavor != "multi_thread" {
            return syn::Error::new(flavor.span(), "expected `multi_thread` or nothing")
                .to_compile_error()
                .into();
        }
        quote!((flavor = "multi_thread"))
    };
    let test = parse_macro_input!(item as ItemFn);
    let name = &test.sig.ident;
    quote! {
        #test

        mod #name {
            #[tokio::test #flavor]
            async fn sqlite() {
                super::#name(::datavern_testkit::Backend::Sqlite).await;
            }

            #[tokio::test #flavor]
            async fn postgres() {
                super::#name(::datavern_testkit::Backend::Postgres).await;
            }

            #[tokio::test #flavor]
            async fn mariadb() {
                super::#name(::datavern_testkit::Backend::MySql).await;
            }
        }
    }
    .into()
}
