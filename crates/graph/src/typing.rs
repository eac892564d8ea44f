//! Receiver types the source writes down, for method calls.
//!
//! `x.name()` dispatches on the type of `x`. Without type inference that type is known only
//! where the source spells it out: `self` in an impl or a trait, a parameter or a `let` with a
//! written type, `let x = T { .. }`, `let x = T::new(..)` (through the written return type of
//! `T::new`), a field of a struct whose declaration writes its type. Everything else stays
//! unknown, and the call matches every method of its name.
//!
//! A receiver is encoded as a short string so that it packs with the other references:
//!
//! - `T<alts>`: a type written as a path, or several (`dyn A + B`, a generic `T: A + B`):
//!   alternatives joined by `|`, segments by `::` (`Tcrate::Parser`, `TReader|Seek`);
//! - `R<path>`: what the function `path` returns (`let x = Parser::new(..)`);
//! - `Q<path>`: what `path(..)?` gives: the `T` of its `Result<T, _>` or `Option<T>`;
//! - `P<path>`: the value a path names, when it is a unit struct or a variant (`let x = Unit`);
//! - `F<field>@<alts>`: the field `field` of the type(s) `<alts>` (`self.parser.next()`).
//!
//! Only wrappers that dispatch to what they hold are seen through: `&`, `&mut`, `Box`, `Rc`,
//! `Arc`. A generic parameter is its trait bounds inside its own item, and unknown where a
//! caller instantiates it (a field's or a return type's parameter).

use std::collections::HashMap;

use syn::visit::{self, Visit};

/// Wrappers whose methods are not called with method syntax on the wrapped value, and that
/// dereference to it: a call on `Box<T>` is a call on `T`.
const TRANSPARENT: &[&str] = &["Box", "Rc", "Arc"];

/// What `Self` and the generic parameters in scope stand for while reading types.
#[derive(Debug, Clone, Default)]
pub(crate) struct TypeScope {
    /// Generic parameter → its trait bounds as encoded alternatives (`None`: no bound, or a
    /// parameter that callers instantiate).
    pub generics: HashMap<String, Option<String>>,
    /// `Self`, as encoded alternatives.
    pub self_ty: Option<String>,
}

fn join(segments: &syn::Path) -> Option<String> {
    let mut out = String::new();
    for (index, segment) in segments.segments.iter().enumerate() {
        if index > 0 {
            out.push_str("::");
        }
        out.push_str(&segment.ident.to_string());
    }
    (!out.is_empty()).then_some(out)
}

/// Trait bounds as encoded alternatives, `None` when there are none (lifetimes and `?Sized`
/// are not bounds here).
pub(crate) fn bound_alternatives<'b>(
    bounds: impl IntoIterator<Item = &'b syn::TypeParamBound>,
) -> Option<String> {
    let mut alts: Vec<String> = Vec::new();
    for bound in bounds {
        if let syn::TypeParamBound::Trait(t) = bound
            && matches!(t.modifier, syn::TraitBoundModifier::None)
            && t.path.segments.first().is_some_and(|s| s.ident != "Self")
            && let Some(path) = join(&t.path)
            && !alts.contains(&path)
        {
            alts.push(path);
        }
    }
    (!alts.is_empty()).then(|| alts.join("|"))
}

impl TypeScope {
    /// Adds the parameters of `generics`: with their bounds (`bounded`) or unknown.
    pub(crate) fn add_generics(&mut self, generics: &syn::Generics, bounded: bool) {
        let mut bounds: HashMap<String, Vec<syn::TypeParamBound>> = HashMap::new();
        for param in generics.type_params() {
            bounds
                .entry(param.ident.to_string())
                .or_default()
                .extend(param.bounds.iter().cloned());
        }
        if let Some(clause) = &generics.where_clause {
            for predicate in &clause.predicates {
                if let syn::WherePredicate::Type(t) = predicate
                    && let syn::Type::Path(p) = &t.bounded_ty
                    && p.qself.is_none()
                    && let Some(ident) = p.path.get_ident()
                    && let Some(list) = bounds.get_mut(&ident.to_string())
                {
                    list.extend(t.bounds.iter().cloned());
                }
            }
        }
        for (name, list) in bounds {
            let value = if bounded {
                bound_alternatives(&list)
            } else {
                None
            };
            self.generics.insert(name, value);
        }
    }

    /// A scope where every generic parameter is unknown and `Self` is `self_ty` unless that is
    /// itself a parameter: for types that callers see (fields, return types).
    pub(crate) fn instantiated(generics: &[&syn::Generics], self_ty: Option<&syn::Type>) -> Self {
        let mut scope = TypeScope::default();
        for g in generics {
            scope.add_generics(g, false);
        }
        scope.self_ty = self_ty.and_then(|ty| scope.written(ty));
        scope
    }

    /// The encoded alternatives of a written type, `None` when unknown.
    pub(crate) fn written(&self, ty: &syn::Type) -> Option<String> {
        match ty {
            syn::Type::Reference(r) => self.written(&r.elem),
            syn::Type::Paren(p) => self.written(&p.elem),
            syn::Type::Group(g) => self.written(&g.elem),
            syn::Type::TraitObject(t) => bound_alternatives(&t.bounds),
            syn::Type::ImplTrait(t) => bound_alternatives(&t.bounds),
            syn::Type::Path(p) if p.qself.is_none() => {
                let segments = &p.path.segments;
                let last = segments.last()?;
                let name = last.ident.to_string();
                if segments.len() == 1 {
                    if name == "Self" {
                        return self.self_ty.clone();
                    }
                    if let Some(bounds) = self.generics.get(&name) {
                        return bounds.clone();
                    }
                }
                if segments.first().is_some_and(|s| s.ident == "Self") {
                    // `Self::Output`: an associated type.
                    return None;
                }
                if TRANSPARENT.contains(&name.as_str()) {
                    return first_type_argument(last).and_then(|inner| self.written(inner));
                }
                join(&p.path)
            }
            _ => None,
        }
    }

    /// `Result<T, _>` / `Option<T>` → `T`.
    pub(crate) fn written_ok(&self, ty: &syn::Type) -> Option<String> {
        if let syn::Type::Path(p) = ty
            && p.qself.is_none()
            && let Some(last) = p.path.segments.last()
            && (last.ident == "Result" || last.ident == "Option")
        {
            return first_type_argument(last).and_then(|inner| self.written(inner));
        }
        None
    }

    /// A function's return type as callers see it: `(returns, returns_ok)`.
    pub(crate) fn returns(&self, output: &syn::ReturnType) -> (Option<String>, Option<String>) {
        match output {
            syn::ReturnType::Default => (None, None),
            syn::ReturnType::Type(_, ty) => (self.written(ty), self.written_ok(ty)),
        }
    }
}

fn first_type_argument(segment: &syn::PathSegment) -> Option<&syn::Type> {
    match &segment.arguments {
        syn::PathArguments::AngleBracketed(args) => args.args.iter().find_map(|arg| match arg {
            syn::GenericArgument::Type(ty) => Some(ty),
            _ => None,
        }),
        _ => None,
    }
}

/// A path expression as written segments, with a leading `Self` replaced by the type it
/// stands for (`None` when `Self` is not a single known type).
fn expr_path(path: &syn::ExprPath, scope: &TypeScope) -> Option<String> {
    if path.qself.is_some() {
        return None;
    }
    let joined = join(&path.path)?;
    match joined.strip_prefix("Self") {
        Some(rest) if rest.is_empty() || rest.starts_with("::") => {
            let self_ty = scope.self_ty.as_deref()?;
            (!self_ty.contains('|')).then(|| format!("{self_ty}{rest}"))
        }
        _ => Some(joined),
    }
}

/// The receiver an initialiser gives a `let` binding: `T { .. }`, `T::new(..)`, `f(..)?`.
pub(crate) fn expr_receiver(expr: &syn::Expr, scope: &TypeScope) -> Option<String> {
    match expr {
        syn::Expr::Paren(p) => expr_receiver(&p.expr, scope),
        syn::Expr::Reference(r) => expr_receiver(&r.expr, scope),
        syn::Expr::Struct(s) if s.qself.is_none() => {
            let path = syn::ExprPath {
                attrs: Vec::new(),
                qself: None,
                path: s.path.clone(),
            };
            expr_path(&path, scope).map(|p| format!("T{p}"))
        }
        syn::Expr::Path(path) => expr_path(path, scope).map(|p| format!("P{p}")),
        syn::Expr::Call(call) => match &*call.func {
            syn::Expr::Path(path) => expr_path(path, scope).map(|p| format!("R{p}")),
            _ => None,
        },
        syn::Expr::Try(t) => match &*t.expr {
            syn::Expr::Path(path) => expr_path(path, scope).map(|p| format!("P{p}")),
            syn::Expr::Call(call) => match &*call.func {
                syn::Expr::Path(path) => expr_path(path, scope).map(|p| format!("Q{p}")),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// The variables of one function body and their written receivers. A name bound more than
/// once with different (or unknown) types is unknown: no scoping, so shadowing cannot mislead.
#[derive(Debug, Default)]
pub(crate) struct Bindings {
    pub vars: HashMap<String, Option<String>>,
    scope: TypeScope,
}

impl Bindings {
    pub(crate) fn new(scope: TypeScope) -> Self {
        Self {
            vars: HashMap::new(),
            scope,
        }
    }

    pub(crate) fn scope(&self) -> &TypeScope {
        &self.scope
    }

    fn bind(&mut self, name: String, receiver: Option<String>) {
        match self.vars.entry(name) {
            std::collections::hash_map::Entry::Occupied(mut entry) => {
                if *entry.get() != receiver {
                    entry.insert(None);
                }
            }
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(receiver);
            }
        }
    }

    /// The parameters of a signature.
    pub(crate) fn params(&mut self, sig: &syn::Signature) {
        for input in &sig.inputs {
            if let syn::FnArg::Typed(arg) = input {
                if let syn::Pat::Ident(ident) = &*arg.pat
                    && ident.subpat.is_none()
                {
                    let receiver = self.scope.written(&arg.ty).map(|alts| format!("T{alts}"));
                    self.bind(ident.ident.to_string(), receiver);
                } else {
                    self.visit_pat(&arg.pat);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Bindings {
    fn visit_local(&mut self, local: &'ast syn::Local) {
        match &local.pat {
            syn::Pat::Type(typed) => match &*typed.pat {
                syn::Pat::Ident(ident) if ident.subpat.is_none() => {
                    let receiver = self.scope.written(&typed.ty).map(|alts| format!("T{alts}"));
                    self.bind(ident.ident.to_string(), receiver);
                }
                other => self.visit_pat(other),
            },
            syn::Pat::Ident(ident) if ident.subpat.is_none() => {
                let receiver = local.init.as_ref().and_then(|init| {
                    if init.diverge.is_some() {
                        None
                    } else {
                        expr_receiver(&init.expr, &self.scope)
                    }
                });
                self.bind(ident.ident.to_string(), receiver);
            }
            other => self.visit_pat(other),
        }
        if let Some(init) = &local.init {
            self.visit_expr(&init.expr);
            if let Some((_, diverge)) = &init.diverge {
                self.visit_expr(diverge);
            }
        }
    }

    fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
        self.bind(pat.ident.to_string(), None);
        visit::visit_pat_ident(self, pat);
    }
}
