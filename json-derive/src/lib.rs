//! `#[derive(ToJson, FromJson)]`: the conversions of `confab_protocol::json`, the widget's small JSON reader
//! and writer, generated from the `#[serde(...)]` attributes the type already carries for serde. One set of
//! attributes, two derives: the widget's JSON cannot drift from the edge's (the golden tests in
//! `shared/tests/small_json.rs` hold both to the same text).
//!
//! What it reads, with serde's meaning (anything else in `#[serde(...)]` is a compile error, so an attribute
//! that changes serde's JSON can never be ignored here):
//! - on a type: `tag = "..."` (internally tagged enums), `rename_all = "snake_case" | "kebab-case" |
//!   "lowercase"`, `default` (missing fields from `Default::default()`), `transparent`;
//! - on a field: `rename = "..."`, `default`, `default = "path"`, `skip_serializing_if = "path"`;
//! - on a variant: `rename = "..."`, `other` (what an unknown tag or name reads as).
//!
//! As with serde's derives, a missing `Option` field reads as `None`, unknown fields are ignored and a
//! newtype struct is its inner value. One difference, on purpose: serde also reads a struct from an array of
//! its fields, which nothing writes; this reads structs from objects only. One attribute of its own: `#[json(skip)]` on a variant the widget
//! never receives (an agent's lifecycle news): `FromJson` reads it as the `other` variant, and the types in
//! it need no conversions. Types without serde (the widget's own stored values) may carry `#[serde(...)]`
//! for this derive alone.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, ExprPath, Fields, LitStr, Variant, parse_macro_input};

#[proc_macro_derive(ToJson, attributes(serde, json))]
pub fn derive_to_json(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    to_json(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}

#[proc_macro_derive(FromJson, attributes(serde, json))]
pub fn derive_from_json(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    from_json(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// serde's `rename_all` rules that Confab uses.
#[derive(Clone, Copy)]
enum Case {
    Snake,
    Kebab,
    Lower,
}

impl Case {
    /// A variant's name (`PascalCase` in Rust) as serde writes it.
    fn variant(self, name: &str) -> String {
        match self {
            Case::Lower => name.to_ascii_lowercase(),
            Case::Snake | Case::Kebab => {
                let separator = if matches!(self, Case::Snake) { '_' } else { '-' };
                let mut out = String::new();
                for (i, c) in name.char_indices() {
                    if i > 0 && c.is_uppercase() {
                        out.push(separator);
                    }
                    out.push(c.to_ascii_lowercase());
                }
                out
            }
        }
    }

    /// A field's name (`snake_case` in Rust) as serde writes it.
    fn field(self, name: &str) -> String {
        match self {
            Case::Snake => name.to_owned(),
            Case::Kebab => name.replace('_', "-"),
            Case::Lower => name.to_ascii_lowercase(),
        }
    }
}

#[derive(Default)]
struct TypeAttrs {
    tag: Option<String>,
    rename_all: Option<Case>,
    default: bool,
    transparent: bool,
}

enum FieldDefault {
    Trait,
    Function(ExprPath),
}

#[derive(Default)]
struct FieldAttrs {
    rename: Option<String>,
    default: Option<FieldDefault>,
    skip_serializing_if: Option<ExprPath>,
}

#[derive(Default)]
struct VariantAttrs {
    rename: Option<String>,
    other: bool,
    skip: bool,
}

fn string_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<String> {
    Ok(meta.value()?.parse::<LitStr>()?.value())
}

fn path_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<ExprPath> {
    meta.value()?.parse::<LitStr>()?.parse()
}

/// Calls `each` for every item of every `#[serde(...)]` among `attrs`.
fn serde_items(
    attrs: &[syn::Attribute],
    mut each: impl FnMut(&syn::meta::ParseNestedMeta<'_>) -> syn::Result<()>,
) -> syn::Result<()> {
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| each(&meta))?;
    }
    Ok(())
}

fn unsupported(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Error {
    meta.error("the JSON derive does not know this serde attribute: teach it (json-derive) or do without")
}

fn type_attrs(input: &DeriveInput) -> syn::Result<TypeAttrs> {
    let mut attrs = TypeAttrs::default();
    serde_items(&input.attrs, |meta| {
        if meta.path.is_ident("tag") {
            attrs.tag = Some(string_value(meta)?);
        } else if meta.path.is_ident("rename_all") {
            attrs.rename_all = Some(match string_value(meta)?.as_str() {
                "snake_case" => Case::Snake,
                "kebab-case" => Case::Kebab,
                "lowercase" => Case::Lower,
                _ => return Err(meta.error("the JSON derive knows snake_case, kebab-case and lowercase")),
            });
        } else if meta.path.is_ident("default") {
            attrs.default = true;
        } else if meta.path.is_ident("transparent") {
            attrs.transparent = true;
        } else {
            return Err(unsupported(meta));
        }
        Ok(())
    })?;
    Ok(attrs)
}

fn field_attrs(field: &syn::Field) -> syn::Result<FieldAttrs> {
    let mut attrs = FieldAttrs::default();
    serde_items(&field.attrs, |meta| {
        if meta.path.is_ident("rename") {
            attrs.rename = Some(string_value(meta)?);
        } else if meta.path.is_ident("default") {
            attrs.default = Some(if meta.input.peek(syn::Token![=]) {
                FieldDefault::Function(path_value(meta)?)
            } else {
                FieldDefault::Trait
            });
        } else if meta.path.is_ident("skip_serializing_if") {
            attrs.skip_serializing_if = Some(path_value(meta)?);
        } else {
            return Err(unsupported(meta));
        }
        Ok(())
    })?;
    Ok(attrs)
}

fn variant_attrs(variant: &Variant) -> syn::Result<VariantAttrs> {
    let mut attrs = VariantAttrs::default();
    serde_items(&variant.attrs, |meta| {
        if meta.path.is_ident("rename") {
            attrs.rename = Some(string_value(meta)?);
        } else if meta.path.is_ident("other") {
            attrs.other = true;
        } else {
            return Err(unsupported(meta));
        }
        Ok(())
    })?;
    for attr in variant.attrs.iter().filter(|a| a.path().is_ident("json")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                attrs.skip = true;
                Ok(())
            } else {
                Err(meta.error("the JSON derive's own attribute is #[json(skip)]"))
            }
        })?;
    }
    Ok(attrs)
}

/// The name a field has in JSON.
fn field_name(field: &syn::Field, attrs: &FieldAttrs, case: Option<Case>) -> String {
    let ident = field.ident.as_ref().map(ToString::to_string).unwrap_or_default();
    attrs.rename.clone().unwrap_or_else(|| case.map_or(ident.clone(), |c| c.field(&ident)))
}

/// The name a variant has in JSON.
fn variant_name(variant: &Variant, attrs: &VariantAttrs, case: Option<Case>) -> String {
    let ident = variant.ident.to_string();
    attrs.rename.clone().unwrap_or_else(|| case.map_or(ident.clone(), |c| c.variant(&ident)))
}

fn no_generics(input: &DeriveInput) -> syn::Result<()> {
    if input.generics.params.is_empty() {
        Ok(())
    } else {
        Err(syn::Error::new(input.generics.span(), "the JSON derive takes types without generics"))
    }
}

/// A struct that is its one field in JSON: a newtype (`struct Id(String)`) or `#[serde(transparent)]`.
fn inner_field(fields: &Fields, attrs: &TypeAttrs) -> Option<Tokens> {
    match fields {
        Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => Some(quote!(0)),
        Fields::Named(named) if attrs.transparent && named.named.len() == 1 => {
            named.named.first().and_then(|f| f.ident.clone()).map(|ident| quote!(#ident))
        }
        _ => None,
    }
}

/// Where the generated code finds the JSON types (`confab_protocol` names itself so inside its own crate).
fn json_path() -> Tokens {
    quote!(::confab_protocol::json)
}

fn to_json(input: &DeriveInput) -> syn::Result<Tokens> {
    no_generics(input)?;
    let attrs = type_attrs(input)?;
    let json = json_path();
    let name = &input.ident;
    let body = match &input.data {
        Data::Struct(data) => match inner_field(&data.fields, &attrs) {
            Some(inner) => quote!(#json::ToJson::to_json(&self.#inner)),
            None => {
                let Fields::Named(named) = &data.fields else {
                    return Err(syn::Error::new(
                        name.span(),
                        "the JSON derive takes structs with named fields",
                    ));
                };
                let bindings = named.named.iter().map(|f| f.ident.clone());
                let fields = write_fields(named, attrs.rename_all)?;
                quote!({
                    let Self { #(#bindings),* } = self;
                    #json::Json::object([#(#fields),*])
                })
            }
        },
        Data::Enum(data) => {
            let mut arms = Vec::new();
            for variant in &data.variants {
                let variant_attrs = variant_attrs(variant)?;
                if variant_attrs.skip {
                    return Err(syn::Error::new(variant.span(), "#[json(skip)] is for FromJson only"));
                }
                let ident = &variant.ident;
                let wire = variant_name(variant, &variant_attrs, attrs.rename_all);
                arms.push(match (&attrs.tag, &variant.fields) {
                    (None, Fields::Unit) => quote!(Self::#ident => #json::Json::from(#wire)),
                    (Some(tag), Fields::Unit) => {
                        quote!(Self::#ident => #json::Json::object([(#tag, Some(#json::Json::from(#wire)))]))
                    }
                    (Some(tag), Fields::Named(named)) => {
                        let bindings = named.named.iter().map(|f| f.ident.clone());
                        let fields = write_fields(named, None)?;
                        quote!(Self::#ident { #(#bindings),* } => #json::Json::object([
                            (#tag, Some(#json::Json::from(#wire))), #(#fields),*
                        ]))
                    }
                    _ => return Err(syn::Error::new(variant.span(), NOT_TAGGED)),
                });
            }
            quote!(match self { #(#arms),* })
        }
        Data::Union(_) => {
            return Err(syn::Error::new(name.span(), "the JSON derive takes structs and enums"));
        }
    };
    Ok(quote! {
        impl #json::ToJson for #name {
            fn to_json(&self) -> #json::Json {
                #body
            }
        }
    })
}

const NOT_TAGGED: &str =
    "the JSON derive takes enums of unit variants, or with #[serde(tag = \"...\")] unit and struct variants";

/// `each` for every field, with its attributes and its name in JSON.
fn each_field(
    named: &syn::FieldsNamed,
    case: Option<Case>,
    each: impl Fn(&syn::Field, &FieldAttrs, String) -> Tokens,
) -> syn::Result<Vec<Tokens>> {
    named
        .named
        .iter()
        .map(|field| {
            let attrs = field_attrs(field)?;
            let key = field_name(field, &attrs, case);
            Ok(each(field, &attrs, key))
        })
        .collect()
}

/// `(name, Option<Json>)` for each field, with its binding of the same name in scope; `None` leaves it out.
fn write_fields(named: &syn::FieldsNamed, case: Option<Case>) -> syn::Result<Vec<Tokens>> {
    let json = json_path();
    each_field(named, case, |field, attrs, key| {
        let ident = &field.ident;
        let value = quote!(#json::ToJson::to_json(#ident));
        match &attrs.skip_serializing_if {
            Some(skip) => quote!((#key, if #skip(#ident) { None } else { Some(#value) })),
            None => quote!((#key, Some(#value))),
        }
    })
}

fn from_json(input: &DeriveInput) -> syn::Result<Tokens> {
    no_generics(input)?;
    let attrs = type_attrs(input)?;
    let json = json_path();
    let name = &input.ident;
    let body = match &input.data {
        Data::Struct(data) => match (inner_field(&data.fields, &attrs), &data.fields) {
            (Some(_), Fields::Unnamed(_)) => quote!(Some(Self(#json::FromJson::from_json(json)?))),
            (Some(inner), _) => quote!(Some(Self { #inner: #json::FromJson::from_json(json)? })),
            (None, Fields::Named(named)) => {
                let defaults = attrs.default.then(|| quote!(let defaults = <Self as Default>::default();));
                let fields = read_fields(named, attrs.rename_all, attrs.default)?;
                quote!({
                    if !json.is_object() {
                        return None;
                    }
                    #defaults
                    Some(Self { #(#fields),* })
                })
            }
            _ => return Err(syn::Error::new(name.span(), "the JSON derive takes structs with named fields")),
        },
        Data::Enum(data) => {
            let mut arms = Vec::new();
            let mut other = quote!(None);
            for variant in &data.variants {
                let variant_attrs = variant_attrs(variant)?;
                let ident = &variant.ident;
                if variant_attrs.other {
                    other = quote!(Some(Self::#ident));
                    continue;
                }
                if variant_attrs.skip {
                    continue;
                }
                let wire = variant_name(variant, &variant_attrs, attrs.rename_all);
                arms.push(match (&attrs.tag, &variant.fields) {
                    (_, Fields::Unit) => quote!(#wire => Some(Self::#ident)),
                    (Some(_), Fields::Named(named)) => {
                        let fields = read_fields(named, None, false)?;
                        quote!(#wire => Some(Self::#ident { #(#fields),* }))
                    }
                    _ => return Err(syn::Error::new(variant.span(), NOT_TAGGED)),
                });
            }
            let name_of = match &attrs.tag {
                Some(tag) => quote!(json.get(#tag)?.as_str()?),
                None => quote!(json.as_str()?),
            };
            quote!(match #name_of { #(#arms,)* _ => #other })
        }
        Data::Union(_) => {
            return Err(syn::Error::new(name.span(), "the JSON derive takes structs and enums"));
        }
    };
    Ok(quote! {
        impl #json::FromJson for #name {
            fn from_json(json: &#json::Json) -> Option<Self> {
                #body
            }
        }
    })
}

/// `field: value` for each field, read from the object `json` as serde reads it: missing takes the field's
/// default, else the type's (`defaults`, with `#[serde(default)]` on the type), else `None` for an
/// `Option`; a missing field without any of these, or a value of another shape, fails the whole read.
fn read_fields(named: &syn::FieldsNamed, case: Option<Case>, type_default: bool) -> syn::Result<Vec<Tokens>> {
    let json = json_path();
    each_field(named, case, |field, attrs, key| {
        let ident = &field.ident;
        let when_missing = match &attrs.default {
            Some(FieldDefault::Trait) => Some(quote!(Default::default())),
            Some(FieldDefault::Function(function)) => Some(quote!(#function())),
            None if type_default => Some(quote!(defaults.#ident)),
            None if is_option(&field.ty) => Some(quote!(None)),
            None => None,
        };
        match when_missing {
            Some(missing) => quote!(#ident: match json.get(#key) {
                Some(value) => #json::FromJson::from_json(value)?,
                None => #missing,
            }),
            None => quote!(#ident: json.field(#key)?),
        }
    })
}

/// Whether a field's type is written `Option<...>`, which is how serde's derive tells too.
fn is_option(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(path) => path.path.segments.last().is_some_and(|s| s.ident == "Option"),
        _ => false,
    }
}
