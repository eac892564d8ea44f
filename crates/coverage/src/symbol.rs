//! From a profile's function names (mangled Rust symbols) to the keys the
//! graph's items are looked up by.
//!
//! A key is the path of a function inside its crate, as the graph names
//! items, without the crate, generic arguments or closures:
//!
//! | symbol (demangled)                           | keys                  |
//! |----------------------------------------------|-----------------------|
//! | `tiny::parse::next_token::<u8>`              | `parse::next_token`   |
//! | `tiny::parse::run::{closure#0}`              | `parse::run`          |
//! | `<tiny::lexer::Lexer>::bump`                 | `Lexer::bump`         |
//! | `<alloc::vec::Vec<u8> as tiny::Shape>::area` | `Vec::area`, `Shape::area` |
//!
//! A method is keyed by the last segment of its self type (the graph names
//! it after the type as the impl writes it) and, in a trait impl, also by
//! the trait's: the code of a trait's default method runs under
//! `<Type as Trait>::method`. Keys are loose on purpose: functions that
//! share a key are taken as one, which can only add tests to a selection.

/// The keys of one symbol; empty for a symbol that is not Rust's.
pub fn keys(symbol: &str) -> Vec<String> {
    // Functions of internal linkage are named `<file>;<symbol>`.
    let symbol = symbol.rsplit(';').next().unwrap_or(symbol);
    let Ok(demangled) = rustc_demangle::try_demangle(symbol) else {
        return Vec::new();
    };
    keys_of_path(&format!("{demangled:#}"))
}

/// The keys of a demangled path (`{:#}`, without the hash).
pub fn keys_of_path(path: &str) -> Vec<String> {
    let segments = split_top(path, "::");
    let Some(first) = segments.first() else {
        return Vec::new();
    };
    if let Some(inner) = first
        .strip_prefix('<')
        .and_then(|rest| rest.strip_suffix('>'))
    {
        // `<Type>::method` or `<Type as Trait>::method`.
        let Some(method) = segments[1..].iter().find(|segment| is_name(segment)) else {
            return Vec::new();
        };
        if !segments[1..]
            .iter()
            .take_while(|segment| !segment.starts_with('{'))
            .all(|segment| is_name(segment) || segment.starts_with('<'))
        {
            return Vec::new();
        }
        let parts = split_top(inner, " as ");
        let mut keys = Vec::new();
        for part in parts.iter().take(2) {
            if let Some(last) = last_segment(part) {
                let key = format!("{last}::{method}");
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        return keys;
    }
    // `crate::module::function`, maybe with `::<..>` and `::{closure#0}`.
    let names: Vec<&str> = segments[1..]
        .iter()
        .take_while(|segment| !segment.starts_with('{'))
        .filter(|segment| !segment.starts_with('<'))
        .copied()
        .collect();
    if names.is_empty() || !names.iter().all(|name| is_name(name)) {
        return Vec::new();
    }
    vec![names.join("::")]
}

/// The key the graph's function or method named `name` (its module path
/// inside the crate, `module::Type::method` for a method) is looked up by.
pub fn item_key(name: &str, method: bool) -> String {
    if method {
        let mut parts = name.rsplitn(3, "::");
        let method = parts.next().unwrap_or(name);
        match parts.next() {
            Some(owner) => format!("{owner}::{method}"),
            None => method.to_owned(),
        }
    } else {
        name.to_owned()
    }
}

/// The last path segment of a type or trait, without references, pointers,
/// `dyn` and generic arguments; `None` for slices, tuples, arrays and
/// function pointers.
fn last_segment(ty: &str) -> Option<&str> {
    let mut ty = ty.trim();
    loop {
        let stripped = ty
            .strip_prefix('&')
            .or_else(|| ty.strip_prefix("mut "))
            .or_else(|| ty.strip_prefix("*const "))
            .or_else(|| ty.strip_prefix("*mut "))
            .or_else(|| ty.strip_prefix("dyn "))
            .or_else(|| ty.strip_prefix("unsafe "));
        match stripped {
            Some(rest) => ty = rest.trim_start(),
            None => break,
        }
    }
    let without_args = match ty.find('<') {
        Some(at) => &ty[..at],
        None => ty,
    };
    let last = without_args.rsplit("::").next()?;
    is_name(last).then_some(last)
}

/// An identifier (raw identifiers included).
fn is_name(segment: &str) -> bool {
    let name = segment.strip_prefix("r#").unwrap_or(segment);
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first == '_' || first.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// Splits `text` at `separator` where no bracket is open.
fn split_top<'t>(text: &'t str, separator: &str) -> Vec<&'t str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'<' | b'(' | b'[' | b'{' => depth += 1,
            b'>' if at > 0 && bytes[at - 1] == b'-' => {}
            b'>' | b')' | b']' | b'}' => depth -= 1,
            _ => {}
        }
        if depth == 0 && text[at..].starts_with(separator) {
            parts.push(&text[start..at]);
            at += separator.len();
            start = at;
            continue;
        }
        at += 1;
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_keyed_by_their_path_inside_the_crate() {
        assert_eq!(
            keys_of_path("tiny::parse::next_token"),
            ["parse::next_token"]
        );
        assert_eq!(keys_of_path("tiny::used"), ["used"]);
        assert_eq!(
            keys_of_path("tiny::parse::next::<u8, alloc::string::String>"),
            ["parse::next"]
        );
        assert_eq!(
            keys_of_path("tiny::tests::b::{closure#0}::{closure#1}"),
            ["tests::b"]
        );
        assert_eq!(keys_of_path("tiny::r#match::r#fn"), ["r#match::r#fn"]);
    }

    #[test]
    fn methods_are_keyed_by_their_self_type_and_their_trait() {
        assert_eq!(keys_of_path("<tiny::lexer::Lexer>::bump"), ["Lexer::bump"]);
        assert_eq!(
            keys_of_path("<tiny::lexer::Lexer<'_, u8>>::bump::<alloc::vec::Vec<u8>>"),
            ["Lexer::bump"]
        );
        assert_eq!(
            keys_of_path("<alloc::vec::Vec<u8> as tiny::Shape>::area"),
            ["Vec::area", "Shape::area"]
        );
        assert_eq!(
            keys_of_path("<&mut dyn tiny::Shape as tiny::Shape>::area::{closure#0}"),
            ["Shape::area"]
        );
        assert_eq!(keys_of_path("<[u8] as tiny::Shape>::area"), ["Shape::area"]);
        assert_eq!(
            keys_of_path("<fn() -> u8 as tiny::Call>::call"),
            ["Call::call"]
        );
    }

    #[test]
    fn what_is_not_a_rust_function_has_no_key() {
        assert!(keys("main").is_empty());
        assert!(keys("__llvm_profile_runtime_user").is_empty());
        assert!(keys_of_path("").is_empty());
    }

    #[test]
    fn mangled_symbols_of_both_schemes_demangle_to_keys() {
        // v0, as rustc 1.95 names `tiny::tests::a`.
        assert_eq!(keys("_RNvNtCs694WahZGYuQ_4tiny5testss_1a"), ["tests::a"]);
        // The legacy scheme, with a file prefix for a local symbol.
        assert_eq!(
            keys("src/lib.rs;_ZN4tiny5parse4next17h0123456789abcdefE"),
            ["parse::next"]
        );
    }

    #[test]
    fn graph_items_are_keyed_as_symbols_are() {
        assert_eq!(item_key("parse::next_token", false), "parse::next_token");
        assert_eq!(item_key("lexer::Lexer::bump", true), "Lexer::bump");
        assert_eq!(item_key("Shape::area", true), "Shape::area");
    }
}
