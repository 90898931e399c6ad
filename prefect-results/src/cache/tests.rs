use std::collections::{BTreeMap, HashMap};

use serde::{Serialize, Serializer};
use serde_json::json;

use super::canonical;
use super::*;

fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    canonical::encode(value, &mut out).unwrap();
    out
}

#[derive(Serialize)]
struct Point {
    x: i32,
    y: Option<String>,
}

#[derive(Serialize)]
enum Shape {
    Dot,
    Circle(f64),
    Rect { w: u8, h: u8 },
    Pair(u8, u8),
}

struct Unserializable;

impl Serialize for Unserializable {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("a socket has no value"))
    }
}

#[test]
fn encoding_is_fixed() {
    // A change here changes every cache key on disk: bump the key context instead.
    assert_eq!(encode(&json!({"b": [1, -2, 1.5], "a": null, "c": true})), {
        let mut v = b"m".to_vec();
        v.extend(b"s\x01an");
        v.extend(b"s\x01bli\x01j\x01f\x3f\xf8\0\0\0\0\0\0e");
        v.extend(b"s\x01cT");
        v.push(b'e');
        v
    });
    assert_eq!(encode(&300u16), b"i\xac\x02");
    assert_eq!(encode(&Shape::Dot), b"s\x03Dot");
    assert_eq!(encode(&Shape::Pair(1, 2)), b"ms\x04Pairli\x01i\x02ee");
}

#[test]
fn typed_values_encode_like_their_json() {
    let point = Point { x: 3, y: Some("a".into()) };
    assert_eq!(encode(&point), encode(&json!({"y": "a", "x": 3})));
    assert_eq!(encode(&Shape::Circle(2.0)), encode(&json!({"Circle": 2.0})));
    assert_eq!(encode(&Shape::Rect { w: 1, h: 2 }), encode(&json!({"Rect": {"h": 2, "w": 1}})));
    assert_eq!(encode(&Some(5u8)), encode(&5i64));
    assert_eq!(encode(&()), encode(&None::<u8>));
}

#[test]
fn numbers_have_one_form() {
    assert_eq!(encode(&5u8), encode(&5i128));
    assert_eq!(encode(&-1i8), encode(&-1i64));
    assert_eq!(encode(&0.0f64), encode(&-0.0f64));
    assert_eq!(encode(&f64::NAN), encode(&-f64::NAN));
    assert_eq!(encode(&1.5f32), encode(&1.5f64));
    assert_ne!(encode(&1u8), encode(&1.0f64));
    assert_ne!(encode(&f64::NAN), encode(&()));
    assert_ne!(encode(&u128::MAX), encode(&i128::MAX));
}

#[test]
fn map_order_does_not_matter() {
    let pairs: Vec<(String, u32)> = (0..50).map(|i| (format!("k{i}"), i)).collect();
    let forward: HashMap<_, _> = pairs.iter().cloned().collect();
    let backward: HashMap<_, _> = pairs.iter().rev().cloned().collect();
    let sorted: BTreeMap<_, _> = pairs.iter().cloned().collect();
    assert_eq!(CacheKey::of(&forward), CacheKey::of(&backward));
    assert_eq!(CacheKey::of(&forward), CacheKey::of(&sorted));
}

#[test]
fn distinct_structures_differ() {
    assert_ne!(encode(&vec!["ab"]), encode(&vec!["a", "b"]));
    assert_ne!(encode(&(vec![1], vec![2])), encode(&(vec![1, 2], Vec::<u8>::new())));
    assert_ne!(encode(&"1"), encode(&1));
}

fn task() -> TaskIdentity<'static> {
    TaskIdentity::new("fetch").with_source_hash("src-v1")
}

#[test]
fn keys_are_stable() {
    let key = CachePolicy::DEFAULT
        .key_for(task())
        .input("url", "https://example.com")
        .input("retries", &3)
        .run_id("0190a0b0-0000-7000-8000-000000000000")
        .finish()
        .unwrap();
    assert_eq!(key.to_string(), "84230fc264339d2af8fa4dfe680a661a473472fb7652a5832f6d9ad38f4d5671");
    let value_key = CacheKey::of(&json!({"a": 1})).unwrap();
    assert_eq!(value_key.to_string(), "8d1934781c6da4d5aed5aed8202945cb7d2111848fb1986385758b462f80640a");
}

#[test]
fn key_is_blake3_of_the_documented_layout() {
    let key = CachePolicy::DEFAULT.key_for(task()).input("n", &1).run_id("r").finish().unwrap();
    let layout = b"ls\x04tasks\x05fetchs\x06sources\x06src-v1s\x06inputsms\x01ni\x01es\x03runs\x01re";
    let expected = blake3::derive_key("prefect-rs cache key v1", layout);
    assert_eq!(key.as_bytes(), &expected);
}

#[test]
fn input_order_and_exclusions() {
    let policy = CachePolicy::inputs().exclude(["client"]);
    let a = policy.key_for(task()).input("x", &1).input("y", &2).finish().unwrap();
    let b = policy
        .key_for(task())
        .input("y", &2)
        .input("client", &Unserializable)
        .input("x", &1)
        .finish()
        .unwrap();
    assert_eq!(a, b);
    let c = policy.key_for(task()).input("x", &1).input("y", &3).finish().unwrap();
    assert_ne!(a, c);
    assert!(!policy.includes_argument("client") && policy.includes_argument("x"));
}

#[test]
fn every_component_changes_the_key() {
    let params = json!({"city": "Lyon"});
    let key = |policy: &CachePolicy, name, source, run| {
        policy
            .key_for(TaskIdentity::new(name).with_source_hash(source))
            .input("x", &1)
            .flow_parameters(&params)
            .run_id(run)
            .finish()
            .unwrap()
    };
    let all = CachePolicy::DEFAULT.and_flow_parameters();
    let base = key(&all, "t", "s", "r");
    assert_ne!(base, key(&all, "u", "s", "r"));
    assert_ne!(base, key(&all, "t", "s2", "r"));
    assert_ne!(base, key(&all, "t", "s", "r2"));
    // Parts the policy does not use do not matter.
    assert_eq!(key(&CachePolicy::INPUTS, "t", "s", "r"), key(&CachePolicy::INPUTS, "t", "s2", "r2"));
    let other_params = json!({"city": "Oslo"});
    let with = |p| all.key_for(task()).input("x", &1).flow_parameters(p).run_id("r").finish();
    assert_ne!(with(&params), with(&other_params));
}

#[test]
fn unserializable_input_gives_no_key() {
    let err = CachePolicy::INPUTS
        .key_for(task())
        .input("ok", &1)
        .input("sock", &Unserializable)
        .input("later", &2)
        .finish()
        .unwrap_err();
    assert_eq!(
        err,
        CacheKeyError::Unhashable { input: "sock".into(), reason: "a socket has no value".into() }
    );
    assert!(CacheKey::of(&Unserializable).is_err());
}

#[test]
fn missing_parts_and_disabled() {
    let finish = |p: &CachePolicy, t| p.key_for(t).finish();
    assert_eq!(finish(&CachePolicy::NONE, task()), Err(CacheKeyError::Disabled));
    assert_eq!(finish(&CachePolicy::RUN_ID, task()), Err(CacheKeyError::Missing(Component::RunId)));
    assert_eq!(
        finish(&CachePolicy::TASK_SOURCE, TaskIdentity::new("t")),
        Err(CacheKeyError::Missing(Component::TaskSource))
    );
    assert_eq!(
        finish(&CachePolicy::FLOW_PARAMETERS, task()),
        Err(CacheKeyError::Missing(Component::FlowParameters))
    );
}

#[test]
fn policies_combine_and_parse() {
    let p = CachePolicy::INPUTS + CachePolicy::TASK_SOURCE + CachePolicy::RUN_ID;
    assert_eq!(p, CachePolicy::DEFAULT);
    assert_eq!(p.to_string(), "inputs + task_source + run_id");
    assert!(CachePolicy::NONE.is_none() && CachePolicy::default().is_none());
    let excl = CachePolicy::inputs().exclude(["b", "a"]) + CachePolicy::inputs().exclude(["a"]);
    assert_eq!(excl.excluded().collect::<Vec<_>>(), ["a"]);
    for text in ["none", "default", "inputs - a - b + run_id", "flow_parameters + task_source"] {
        let policy: CachePolicy = text.parse().unwrap();
        assert_eq!(policy.to_string().parse::<CachePolicy>().unwrap(), policy, "{text}");
    }
    assert_eq!("default".parse::<CachePolicy>().unwrap(), CachePolicy::DEFAULT);
    for bad in ["bogus", "run_id - x", "inputs -", ""] {
        assert!(matches!(bad.parse::<CachePolicy>(), Err(CacheKeyError::UnknownPolicy { .. })), "{bad}");
    }
}

#[test]
fn key_text_round_trips() {
    let key = CacheKey::of(&1).unwrap();
    assert_eq!(key.to_string().parse::<CacheKey>().unwrap(), key);
    assert_eq!(serde_json::from_str::<CacheKey>(&serde_json::to_string(&key).unwrap()).unwrap(), key);
    assert_eq!(key.storage_key().as_str(), key.to_string());
    assert!(matches!("xyz".parse::<CacheKey>(), Err(CacheKeyError::Malformed { .. })));
}
