//! A file's facts in the form a build reads and the cache stores: every string of the file in
//! one text, every list a range of one vector per kind of element, so that loading a file's facts
//! makes a dozen allocations instead of hundreds (rust-analyzer: 250k small objects for 935
//! files, most of the memory a warm build touched to read its cache).
//!
//! [`Facts::new`] packs the [`FileFacts`] that extraction gives; the accessors hand out `&str`s
//! borrowed from the text.

use serde::{Deserialize, Serialize};

use crate::ItemKind;
use crate::facts::{FileFacts, MacroCall, MacroDef, TestAttr, UseEntry};

/// A string of [`Facts::text`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Str {
    start: u32,
    end: u32,
}

/// A list of strings (a path's segments): a range of [`Facts::strs`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Strs {
    start: u32,
    end: u32,
}

impl Strs {
    pub(crate) fn is_empty(self) -> bool {
        self.end == self.start
    }
}

/// A range of one of the element lists of [`Facts`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// The facts of one file (see [`FileFacts`] for what each means).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Facts {
    pub(crate) lines: u32,
    pub(crate) error: Option<(u32, u32, String)>,
    text: String,
    strs: Vec<Str>,
    pub(crate) scopes: Vec<FactScope>,
    uses: Vec<FactUse>,
    pub(crate) items: Vec<FactItem>,
    /// The file's distinct references (see [`crate::facts::PackedRefs`]), each once.
    ref_lines: Vec<Str>,
    /// Each item's references: indexes into `ref_lines`.
    item_refs: Vec<u32>,
    /// Each item's members (the items whose parent it is), in order: indexes into `items`.
    members: Vec<u32>,
    imps: Vec<FactImpl>,
    fields: Vec<(Str, Str)>,
    pub(crate) mods: Vec<FactMod>,
    pub(crate) macro_defs: Vec<MacroDef>,
    pub(crate) macro_calls: Vec<MacroCall>,
}

/// A module scope: the file's own module (scope 0) or an inline module.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FactScope {
    pub(crate) path: Strs,
    pub(crate) dir: Strs,
    uses: Span,
    pub(crate) item: Option<u32>,
    pub(crate) test_only: bool,
}

/// A `use` entry: `alias` for `use path as alias;`, none for `use path::*;`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct FactUse {
    pub(crate) alias: Option<Str>,
    pub(crate) path: Strs,
}

/// An out-of-line module declaration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FactMod {
    pub(crate) scope: u32,
    pub(crate) name: Str,
    pub(crate) path_attrs: Strs,
    pub(crate) test_only: bool,
}

/// An impl's self type and trait.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct FactImpl {
    pub(crate) self_ty: Strs,
    pub(crate) trait_: Option<Strs>,
}

/// An item (see [`crate::facts::RawItem`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FactItem {
    pub(crate) kind: ItemKind,
    pub(crate) path: Strs,
    pub(crate) scope: u32,
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) parent: Option<u32>,
    /// A range of `item_refs`.
    refs: Span,
    /// A range of `members`.
    members: Span,
    pub(crate) test: Option<TestAttr>,
    imp: Option<u32>,
    pub(crate) includes: Strs,
    pub(crate) proc_macro: Strs,
    pub(crate) has_body: bool,
    pub(crate) receiver: bool,
    pub(crate) test_only: bool,
    fields: Span,
    pub(crate) returns: Option<Str>,
    pub(crate) returns_ok: Option<Str>,
    pub(crate) supertraits: Option<Str>,
}

/// A path's segments, borrowed from a [`Facts`].
#[derive(Clone, Copy)]
pub(crate) struct PathRef<'a> {
    text: &'a str,
    segments: &'a [Str],
}

impl<'a> PathRef<'a> {
    pub(crate) fn len(&self) -> usize {
        self.segments.len()
    }

    pub(crate) fn get(&self, index: usize) -> &'a str {
        let s = self.segments[index];
        &self.text[s.start as usize..s.end as usize]
    }

    pub(crate) fn last(&self) -> Option<&'a str> {
        self.len().checked_sub(1).map(|index| self.get(index))
    }

    pub(crate) fn iter(self) -> impl Iterator<Item = &'a str> {
        self.segments
            .iter()
            .map(move |s| &self.text[s.start as usize..s.end as usize])
    }

    pub(crate) fn join(self, separator: &str) -> String {
        let mut out = String::new();
        for (index, segment) in self.iter().enumerate() {
            if index > 0 {
                out.push_str(separator);
            }
            out.push_str(segment);
        }
        out
    }
}

impl Facts {
    /// Packs extracted facts.
    pub(crate) fn new(facts: &FileFacts) -> Facts {
        let mut packer = Packer::default();
        let mut scopes = Vec::with_capacity(facts.scopes.len());
        for scope in &facts.scopes {
            let path = packer.strs(&scope.path);
            let dir = packer.strs(&scope.dir);
            let first = packer.uses.len() as u32;
            for entry in &scope.uses {
                let packed = match entry {
                    UseEntry::Name { alias, path } => FactUse {
                        alias: Some(packer.str(alias)),
                        path: packer.strs(path),
                    },
                    UseEntry::Glob { path } => FactUse {
                        alias: None,
                        path: packer.strs(path),
                    },
                };
                packer.uses.push(packed);
            }
            scopes.push(FactScope {
                path,
                dir,
                uses: Span {
                    start: first,
                    end: packer.uses.len() as u32,
                },
                item: scope.item,
                test_only: scope.test_only,
            });
        }
        let mut items = Vec::with_capacity(facts.items.len());
        let mut line_ids: rustc_hash::FxHashMap<&str, u32> = rustc_hash::FxHashMap::default();
        let mut ref_lines = Vec::new();
        let mut item_refs = Vec::new();
        for raw in &facts.items {
            let path = packer.strs(&raw.path);
            let first = item_refs.len() as u32;
            for line in raw
                .refs
                .as_str()
                .split('\n')
                .filter(|line| !line.is_empty())
            {
                let id = *line_ids.entry(line).or_insert_with(|| {
                    ref_lines.push(packer.str(line));
                    ref_lines.len() as u32 - 1
                });
                item_refs.push(id);
            }
            let refs = Span {
                start: first,
                end: item_refs.len() as u32,
            };
            let imp = raw.imp.as_ref().map(|imp| {
                let self_ty = packer.strs(&imp.self_ty);
                let trait_ = imp.trait_.as_ref().map(|path| packer.strs(path));
                packer.imps.push(FactImpl { self_ty, trait_ });
                packer.imps.len() as u32 - 1
            });
            let includes = packer.strs(&raw.includes);
            let proc_macro = packer.strs(&raw.proc_macro);
            let first = packer.fields.len() as u32;
            for (name, ty) in &raw.fields {
                let field = (packer.str(name), packer.str(ty));
                packer.fields.push(field);
            }
            let fields = Span {
                start: first,
                end: packer.fields.len() as u32,
            };
            items.push(FactItem {
                kind: raw.kind,
                path,
                scope: raw.scope,
                start: raw.start,
                end: raw.end,
                parent: raw.parent,
                refs,
                members: Span::default(),
                test: raw.test,
                imp,
                includes,
                proc_macro,
                has_body: raw.has_body,
                receiver: raw.receiver,
                test_only: raw.test_only,
                fields,
                returns: raw.returns.as_deref().map(|text| packer.str(text)),
                returns_ok: raw.returns_ok.as_deref().map(|text| packer.str(text)),
                supertraits: raw.supertraits.as_deref().map(|text| packer.str(text)),
            });
        }
        // Members grouped by parent, in item order.
        let mut members = Vec::new();
        let mut children: Vec<Vec<u32>> = vec![Vec::new(); facts.items.len()];
        for (index, raw) in facts.items.iter().enumerate() {
            if let Some(parent) = raw
                .parent
                .and_then(|parent| children.get_mut(parent as usize))
            {
                parent.push(index as u32);
            }
        }
        for (item, list) in items.iter_mut().zip(children) {
            let start = members.len() as u32;
            members.extend(list);
            item.members = Span {
                start,
                end: members.len() as u32,
            };
        }
        let mods = facts
            .mods
            .iter()
            .map(|decl| FactMod {
                scope: decl.scope,
                name: packer.str(&decl.name),
                path_attrs: packer.strs(&decl.path_attrs),
                test_only: decl.test_only,
            })
            .collect();
        Facts {
            lines: facts.lines,
            error: facts.error.clone(),
            text: packer.text,
            strs: packer.strs,
            scopes,
            uses: packer.uses,
            items,
            ref_lines,
            item_refs,
            members,
            imps: packer.imps,
            fields: packer.fields,
            mods,
            macro_defs: facts.macro_defs.clone(),
            macro_calls: facts.macro_calls.clone(),
        }
    }

    /// A string; empty when out of range (a damaged entry is caught by its checksum first).
    pub(crate) fn str(&self, s: Str) -> &str {
        self.text
            .get(s.start as usize..s.end as usize)
            .unwrap_or("")
    }

    pub(crate) fn path(&self, strs: Strs) -> PathRef<'_> {
        PathRef {
            text: &self.text,
            segments: self
                .strs
                .get(strs.start as usize..strs.end as usize)
                .unwrap_or(&[]),
        }
    }

    /// The `use` entries of a scope.
    pub(crate) fn uses(&self, scope: &FactScope) -> &[FactUse] {
        self.uses.get(scope.uses.range()).unwrap_or(&[])
    }

    /// The names the file's `use` entries give to other names: `(alias, name)` for `use
    /// path::name as alias;` (in any scope of the file).
    pub(crate) fn renames(&self) -> impl Iterator<Item = (&str, &str)> {
        self.uses.iter().filter_map(|entry| {
            let alias = self.str(entry.alias?);
            let name = self.path(entry.path).last()?;
            (alias != name && alias != "_").then_some((alias, name))
        })
    }

    /// An item's references, one packed line each (see [`crate::facts::PackedRefs::view`]).
    pub(crate) fn refs(&self, item: &FactItem) -> impl Iterator<Item = &str> {
        self.ref_ids(item).map(|(_, line)| line)
    }

    /// An item's references with their numbers in the file: the same reference has the same
    /// number wherever the file writes it.
    pub(crate) fn ref_ids(&self, item: &FactItem) -> impl Iterator<Item = (u32, &str)> {
        self.item_refs
            .get(item.refs.range())
            .unwrap_or(&[])
            .iter()
            .map(|&id| {
                let line = self.ref_lines.get(id as usize).copied().unwrap_or_default();
                (id, self.str(line))
            })
    }

    /// The items whose parent `item` is (an impl's or a trait's members), as indexes into
    /// [`Facts::items`], in order.
    pub(crate) fn members(&self, item: &FactItem) -> &[u32] {
        self.members.get(item.members.range()).unwrap_or(&[])
    }

    /// An impl item's self type and trait.
    pub(crate) fn imp(&self, item: &FactItem) -> Option<FactImpl> {
        item.imp
            .and_then(|index| self.imps.get(index as usize).copied())
    }

    /// A struct's fields with a written type: `(name, encoded type alternatives)`.
    pub(crate) fn fields(&self, item: &FactItem) -> impl Iterator<Item = (&str, &str)> {
        self.fields
            .get(item.fields.range())
            .unwrap_or(&[])
            .iter()
            .map(|&(name, ty)| (self.str(name), self.str(ty)))
    }

    /// The last segment of an item's path (its own name inside its scope).
    pub(crate) fn own_name(&self, item: &FactItem) -> &str {
        self.path(item.path).last().unwrap_or("")
    }
}

/// Gathers strings into one text.
#[derive(Default)]
struct Packer {
    text: String,
    strs: Vec<Str>,
    uses: Vec<FactUse>,
    imps: Vec<FactImpl>,
    fields: Vec<(Str, Str)>,
}

impl Packer {
    fn str(&mut self, text: &str) -> Str {
        let start = self.text.len() as u32;
        self.text.push_str(text);
        Str {
            start,
            end: self.text.len() as u32,
        }
    }

    fn strs(&mut self, list: &[String]) -> Strs {
        let start = self.strs.len() as u32;
        for text in list {
            let s = self.str(text);
            self.strs.push(s);
        }
        Strs {
            start,
            end: self.strs.len() as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_keeps_every_string_and_list() {
        let source = "use a::b as c;\nuse d::*;\n#[path = \"x.rs\"]\nmod m;\nstruct S { f: u32 }\nimpl T for S {\n    fn g(&self) -> u32 { self.f.h() }\n}\nmod inner { use super::S; fn k() {} }\n";
        let facts = crate::facts::extract(source);
        let packed = Facts::new(&facts);
        assert_eq!(packed.lines, facts.lines);
        assert_eq!(packed.items.len(), facts.items.len());
        for (index, (raw, item)) in facts.items.iter().zip(&packed.items).enumerate() {
            let members: Vec<u32> = (0..facts.items.len() as u32)
                .filter(|&other| facts.items[other as usize].parent == Some(index as u32))
                .collect();
            assert_eq!(packed.members(item), members);
            let path: Vec<&str> = packed.path(item.path).iter().collect();
            assert_eq!(path, raw.path);
            let refs: Vec<&str> = packed.refs(item).collect();
            assert_eq!(refs, raw.refs.lines().collect::<Vec<_>>());
            let fields: Vec<(&str, &str)> = packed.fields(item).collect();
            let expected: Vec<(&str, &str)> = raw
                .fields
                .iter()
                .map(|(name, ty)| (name.as_str(), ty.as_str()))
                .collect();
            assert_eq!(fields, expected);
            match (&raw.imp, packed.imp(item)) {
                (None, None) => {}
                (Some(raw_imp), Some(imp)) => {
                    assert_eq!(
                        packed.path(imp.self_ty).iter().collect::<Vec<_>>(),
                        raw_imp.self_ty
                    );
                    assert_eq!(
                        imp.trait_
                            .map(|t| packed.path(t).iter().collect::<Vec<_>>()),
                        raw_imp
                            .trait_
                            .as_ref()
                            .map(|t| t.iter().map(String::as_str).collect())
                    );
                }
                _ => panic!("impl lost"),
            }
            assert_eq!(item.returns.map(|s| packed.str(s)), raw.returns.as_deref());
            assert_eq!(
                packed.path(item.includes).iter().collect::<Vec<_>>(),
                raw.includes
            );
        }
        for (raw, scope) in facts.scopes.iter().zip(&packed.scopes) {
            assert_eq!(packed.path(scope.path).iter().collect::<Vec<_>>(), raw.path);
            let uses: Vec<UseEntry> = packed
                .uses(scope)
                .iter()
                .map(|entry| {
                    let path = packed.path(entry.path).iter().map(str::to_owned).collect();
                    match entry.alias {
                        Some(alias) => UseEntry::Name {
                            alias: packed.str(alias).to_owned(),
                            path,
                        },
                        None => UseEntry::Glob { path },
                    }
                })
                .collect();
            assert_eq!(uses, raw.uses);
        }
        for (raw, decl) in facts.mods.iter().zip(&packed.mods) {
            assert_eq!(packed.str(decl.name), raw.name);
            assert_eq!(
                packed.path(decl.path_attrs).iter().collect::<Vec<_>>(),
                raw.path_attrs
            );
        }
    }
}
