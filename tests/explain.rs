//! `gatehouse explain`: documentation from the code's own doc comments.

mod common;

use common::run;

#[test]
fn index_lists_every_kind() {
    let r = run(&["explain"]);
    assert_eq!(r.code, 0);
    for name in gatehouse::rules::registry::names() {
        assert!(r.stdout.contains(name), "{name} missing");
    }
}

#[test]
fn each_kind_is_explained_with_an_example() {
    for name in gatehouse::rules::registry::names() {
        let r = run(&["explain", name]);
        assert_eq!(r.code, 0);
        assert!(r.stdout.contains("Example:"), "{name}");
        insta::assert_snapshot!(format!("explain-{name}"), r.stdout);
    }
}

#[test]
fn unknown_kind_suggests_the_closest() {
    let r = run(&["explain", "mesage"]);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!(r.stderr);
}
