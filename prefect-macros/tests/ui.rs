//! Compile-time behaviour of `#[task]` and `#[flow]`: every rule has a failing case
//! whose `.stderr` pins the message and its span, and the pass cases prove that
//! every option, signature shape and return type expands to code that compiles.
//!
//! Messages differ between compiler versions, so this runs on stable only.
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test -p prefect-macros --test ui`
//! and review the diff.

#[rustversion::stable]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/task/pass/*.rs");
    t.pass("tests/ui/flow/pass/*.rs");
    t.compile_fail("tests/ui/task/fail/*.rs");
    t.compile_fail("tests/ui/flow/fail/*.rs");
    t.compile_fail("tests/ui/schedule/fail/*.rs");
}
