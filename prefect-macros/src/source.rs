//! The `source_hash` of a task: blake3 over a canonical text of the fn's signature and
//! body, so that a cache key with `task_source` misses once the code is edited, but not
//! when only comments or formatting change.
//!
//! The text is built by walking the tokens here, not with `TokenStream::to_string`,
//! whose spacing is not promised to stay the same across proc-macro2 or compiler
//! versions: a change there would silently invalidate every stored record. Tokens carry
//! no comments or whitespace, except doc comments, which reach the macro as
//! `#[doc = ".."]` attributes and are skipped, and the trailing comma rustfmt adds when it
//! breaks a list over several lines, which is dropped. The fn's own attributes and
//! visibility are left out too: they do not change what the body computes.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens as _;
use syn::ItemFn;

/// Names the encoding below: changing the encoding must change this, so that old and
/// new hashes never collide by accident.
const ENCODING: &[u8] = b"prefect-rs source hash v1\0";

/// How many hex digits of the hash are kept (128 bits, plenty for telling versions of
/// one task apart).
const HEX_LEN: usize = 32;

/// The hash of `item`'s signature and body, as `HEX_LEN` lowercase hex digits.
pub(crate) fn source_hash(item: &ItemFn) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(ENCODING);
    // `fn f(x: u8,)` is `fn f(x: u8)`: rustfmt adds the comma when it breaks the list.
    let mut sig = item.sig.clone();
    sig.inputs = sig.inputs.into_iter().collect();
    let mut walker = Walker(&mut hasher);
    walker.stream(sig.to_token_stream(), Delimiter::None);
    walker.stream(item.block.to_token_stream(), Delimiter::None);
    hasher.finalize().to_hex().chars().take(HEX_LEN).collect()
}

/// Feeds each token to the hasher as a tag byte, a length and its text: no two token
/// sequences give the same bytes.
struct Walker<'a>(&'a mut blake3::Hasher);

impl Walker<'_> {
    /// Walks the tokens of a group delimited by `delimiter` (`None` at the top).
    fn stream(&mut self, tokens: TokenStream, delimiter: Delimiter) {
        let mut trees: Vec<TokenTree> = tokens.into_iter().collect();
        // A trailing comma ends a list without changing it (`[a, b,]`, `S { a, }`), except
        // in parentheses around one element: `(a,)` is a tuple and `(a)` is not.
        if let [list @ .., last] = trees.as_slice()
            && is_comma(last)
            && match delimiter {
                Delimiter::Brace | Delimiter::Bracket => true,
                Delimiter::Parenthesis => list.iter().any(is_comma),
                Delimiter::None => false,
            }
        {
            trees.pop();
        }
        let mut rest = trees.as_slice();
        while let Some((tree, after)) = rest.split_first() {
            if let Some(len) = doc_attribute(rest) {
                rest = rest.get(len..).unwrap_or_default();
                continue;
            }
            self.tree(tree);
            rest = after;
        }
    }

    fn tree(&mut self, tree: &TokenTree) {
        match tree {
            TokenTree::Ident(ident) => self.atom(b'i', &ident.to_string()),
            // A literal's text is its source form (`"a\n"`, `1u8`), which is what it means.
            TokenTree::Literal(literal) => self.atom(b'l', &literal.to_string()),
            // Spacing (`Joint` / `Alone`) is left out: it records whitespace, and `+=`
            // cannot be written as `+ =` in valid code anyway.
            TokenTree::Punct(punct) => self.atom(b'p', punct.as_char().encode_utf8(&mut [0; 4])),
            TokenTree::Group(group) => {
                let open = match group.delimiter() {
                    Delimiter::Parenthesis => "(",
                    Delimiter::Brace => "{",
                    Delimiter::Bracket => "[",
                    // Invisible groups (from `macro_rules!` fragments) can change precedence.
                    Delimiter::None => "",
                };
                self.atom(b'(', open);
                self.stream(group.stream(), group.delimiter());
                self.atom(b')', open);
            }
        }
    }

    fn atom(&mut self, tag: u8, text: &str) {
        let len = u64::try_from(text.len()).unwrap_or(u64::MAX);
        self.0.update(&[tag]);
        self.0.update(&len.to_le_bytes());
        self.0.update(text.as_bytes());
    }
}

fn is_comma(tree: &TokenTree) -> bool {
    matches!(tree, TokenTree::Punct(p) if p.as_char() == ',')
}

/// The number of tokens of the `#[doc = ..]` or `#![doc = ..]` that starts `trees`, if
/// one does.
fn doc_attribute(trees: &[TokenTree]) -> Option<usize> {
    let [TokenTree::Punct(hash), rest @ ..] = trees else {
        return None;
    };
    if hash.as_char() != '#' {
        return None;
    }
    let (bang, rest) = match rest {
        [TokenTree::Punct(bang), rest @ ..] if bang.as_char() == '!' => (1, rest),
        _ => (0, rest),
    };
    let [TokenTree::Group(group), ..] = rest else {
        return None;
    };
    let mut inner = group.stream().into_iter();
    let is_doc = group.delimiter() == Delimiter::Bracket
        && matches!(inner.next(), Some(TokenTree::Ident(ident)) if ident == "doc")
        && matches!(inner.next(), Some(TokenTree::Punct(eq)) if eq.as_char() == '=');
    is_doc.then_some(2 + bang)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(src: &str) -> String {
        source_hash(&syn::parse_str(src).unwrap())
    }

    #[test]
    fn is_32_hex_digits() {
        let h = hash("fn f() {}");
        assert_eq!(h.len(), 32);
        assert!(h.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{h}");
    }

    #[test]
    fn ignores_comments_formatting_and_attributes() {
        let plain = hash("async fn add(a: u32, b: u32) -> u32 { let c = a + b; c * 2 }");
        let noisy = hash(
            "/// Adds.\n#[allow(unused)]\npub async fn add(\n    a: u32, // first\n    b: u32,\n) -> u32 {\n    \
             //! inner doc\n    /// doc on a statement\n    /* sum */ let c = a+b;\n    c*2\n}",
        );
        assert_eq!(plain, noisy);
    }

    #[test]
    fn changes_with_the_body_or_signature() {
        let base = hash("fn f(a: u32) -> u32 { a + 1 }");
        assert_ne!(base, hash("fn f(a: u32) -> u32 { a + 2 }"));
        assert_ne!(base, hash("fn f(a: u32) -> u32 { (a + 1) }"));
        assert_ne!(base, hash("fn f(a: u64) -> u64 { a + 1 }"));
        assert_ne!(base, hash("fn g(a: u32) -> u32 { a + 1 }"));
        assert_ne!(hash("fn f() { m!(ab) }"), hash("fn f() { m!(a b) }"));
        assert_ne!(hash("fn f() { m!(a, b) }"), hash("fn f() { m!(a; b) }"));
        assert_ne!(hash("fn f() { \"a\" }"), hash("fn f() { r\"a\" }"));
    }

    #[test]
    fn trailing_commas_of_lists_are_formatting() {
        assert_eq!(hash("fn f() { g(a, b,); [1, 2,]; }"), hash("fn f() { g(a, b); [1, 2]; }"));
        assert_eq!(
            hash("fn f() { match x { A => 1, B => 2, } }"),
            hash("fn f() { match x { A => 1, B => 2 } }")
        );
        assert_eq!(hash("fn f(a: u8,) { S { a, }; [a,]; }"), hash("fn f(a: u8) { S { a }; [a]; }"));
        assert_ne!(hash("fn f() -> (u8,) { (a,) }"), hash("fn f() -> (u8) { (a) }"));
    }

    #[test]
    fn keeps_non_doc_attributes_in_the_body() {
        assert_ne!(hash("fn f() { #[cfg(x)] g(); }"), hash("fn f() { #[cfg(y)] g(); }"));
        assert_ne!(hash("fn f() { #[doc(hidden)] fn g() {} }"), hash("fn f() { fn g() {} }"));
    }
}
