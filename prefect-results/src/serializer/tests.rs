use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::*;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Sample {
    name: String,
    values: Vec<i64>,
    nested: Option<BTreeMap<String, f64>>,
    flag: bool,
}

fn sample() -> Sample {
    Sample {
        name: "fetch ✓".into(),
        values: vec![-1, 0, i64::MAX],
        nested: Some(BTreeMap::from([("pi".into(), 3.25)])),
        flag: true,
    }
}

fn round_trip(s: Serializer) {
    let bytes = s.serialize(&sample()).unwrap();
    assert_eq!(s.deserialize::<Sample>(&bytes).unwrap(), sample(), "{s}");
}

#[test]
fn json_round_trip() {
    round_trip(Serializer::JSON);
    let bytes = Serializer::JSON.serialize(&sample()).unwrap();
    assert!(bytes.starts_with(b"{\"name\""));
}

#[test]
fn postcard_round_trip_is_compact() {
    round_trip(Serializer::POSTCARD);
    let json = Serializer::JSON.serialize(&sample()).unwrap();
    let bin = Serializer::POSTCARD.serialize(&sample()).unwrap();
    assert!(bin.len() < json.len());
}

#[cfg(feature = "zstd")]
#[test]
fn zstd_round_trip_and_shrinks() {
    round_trip(Serializer::JSON.compressed());
    round_trip(Serializer::POSTCARD.with_zstd_level(19));
    let big = vec!["same text"; 1000];
    let plain = Serializer::JSON.serialize(&big).unwrap();
    let small = Serializer::JSON.compressed().serialize(&big).unwrap();
    assert!(small.len() * 10 < plain.len());
    let err = Serializer::JSON.compressed().deserialize::<u8>(b"not zstd");
    assert!(matches!(err, Err(Error::Deserialize { .. })));
}

#[cfg(not(feature = "zstd"))]
#[test]
fn zstd_without_feature_is_a_typed_error() {
    let err = Serializer::JSON.compressed().serialize(&1).unwrap_err();
    assert!(matches!(err, Error::FeatureDisabled { feature: "zstd", .. }));
}

#[test]
fn wrong_type_is_a_deserialize_error() {
    let bytes = Serializer::JSON.serialize(&"text").unwrap();
    let err = Serializer::JSON.deserialize::<u32>(&bytes).unwrap_err();
    assert!(matches!(err, Error::Deserialize { serializer, .. } if serializer == Serializer::JSON));
    let err = Serializer::POSTCARD.deserialize::<String>(&[200]).unwrap_err();
    assert!(matches!(err, Error::Deserialize { .. }));
}

#[test]
fn names_round_trip() {
    for s in [
        Serializer::JSON,
        Serializer::POSTCARD,
        Serializer::JSON.compressed(),
        Serializer::POSTCARD.compressed(),
    ] {
        assert_eq!(s.to_string().parse::<Serializer>().unwrap(), s);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Serializer>(&json).unwrap(), s);
    }
}

#[test]
fn prefect_aliases_parse() {
    let parse = |s: &str| s.parse::<Serializer>().unwrap();
    assert_eq!(parse("binary"), Serializer::POSTCARD);
    assert_eq!(parse("compressed/json"), Serializer::JSON.compressed());
    assert_eq!(parse("compressed/binary"), Serializer::POSTCARD.compressed());
    assert_eq!(parse("zstd+postcard").to_string(), "zstd+postcard");
    for bad in ["pickle", "compressed/pickle", "lzma+json", "", "json+zstd"] {
        let err = bad.parse::<Serializer>().unwrap_err();
        assert!(matches!(err, Error::UnknownSerializer { .. }), "{bad}");
    }
}
