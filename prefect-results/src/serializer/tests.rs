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

// --- User encodings (`ValueSerializer`, `Serializer::custom`) ---
//
// The registry is process-wide and tests run in parallel: every test uses
// names of its own.

use std::collections::HashSet;

/// A built-in encoding under another name, so it goes through type erasure.
#[derive(Debug)]
struct Renamed<S> {
    name: &'static str,
    inner: S,
}

impl<S: ValueSerializer> ValueSerializer for Renamed<S> {
    fn name(&self) -> &str {
        self.name
    }

    fn serialize(&self, value: &dyn erased_serde::Serialize) -> Result<Vec<u8>, BoxError> {
        self.inner.serialize(value)
    }

    fn deserialize(&self, bytes: &[u8], sink: &mut ValueSink<'_>) -> Result<(), BoxError> {
        self.inner.deserialize(bytes, sink)
    }
}

fn renamed<S: ValueSerializer>(name: &'static str, inner: S) -> Serializer {
    Serializer::custom(Renamed { name, inner }).unwrap()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Empty,
    Circle(f64),
    Pair(u8, i16),
    Rect { w: u32, h: u32 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Unit;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Meters(f32);

/// Every serde data-model shape postcard supports.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Everything {
    shapes: Vec<Shape>,
    some: Option<String>,
    none: Option<u64>,
    nested: Option<Option<bool>>,
    tuple: (char, i128, u128),
    map: BTreeMap<String, Vec<u16>>,
    unit: Unit,
    unit_value: (),
    meters: Meters,
    bytes: Vec<u8>,
    sample: Sample,
}

fn everything() -> Everything {
    Everything {
        shapes: vec![Shape::Empty, Shape::Circle(1.5), Shape::Pair(7, -3), Shape::Rect { w: 2, h: 9 }],
        some: Some("ünïcode".into()),
        none: None,
        nested: Some(None),
        tuple: ('λ', i128::MIN, u128::MAX),
        map: BTreeMap::from([("a".into(), vec![1, 2]), ("b".into(), vec![])]),
        unit: Unit,
        unit_value: (),
        meters: Meters(2.5),
        bytes: vec![0, 255, 7],
        sample: sample(),
    }
}

#[test]
fn postcard_through_type_erasure_matches_the_direct_path() {
    let erased = renamed("test-erased-postcard", PostcardSerializer);
    let value = everything();
    let bytes = erased.serialize(&value).unwrap();
    assert_eq!(bytes, Serializer::POSTCARD.serialize(&value).unwrap());
    assert_eq!(erased.deserialize::<Everything>(&bytes).unwrap(), value);
    // Each shape on its own, as the top-level value.
    for shape in value.shapes {
        let bytes = erased.serialize(&shape).unwrap();
        assert_eq!(erased.deserialize::<Shape>(&bytes).unwrap(), shape);
    }
    for option in [Some(3u8), None] {
        let bytes = erased.serialize(&option).unwrap();
        assert_eq!(erased.deserialize::<Option<u8>>(&bytes).unwrap(), option);
    }
    let bytes = erased.serialize(&vec![sample(), sample()]).unwrap();
    assert_eq!(erased.deserialize::<Vec<Sample>>(&bytes).unwrap(), vec![sample(), sample()]);
}

#[test]
fn json_through_type_erasure_matches_the_direct_path() {
    let erased = renamed("test-erased-json", JsonSerializer);
    // JSON writes `Some(None)` as `null`, which reads back as `None`.
    let value = Everything { nested: Some(Some(true)), ..everything() };
    let bytes = erased.serialize(&value).unwrap();
    assert_eq!(bytes, Serializer::JSON.serialize(&value).unwrap());
    assert_eq!(erased.deserialize::<Everything>(&bytes).unwrap(), value);
    // Self-describing types work through erasure too.
    let any: serde_json::Value = erased.deserialize(&bytes).unwrap();
    assert_eq!(any["some"], "ünïcode");
    // Unsized values serialize as they do directly.
    assert_eq!(erased.serialize("text").unwrap(), b"\"text\"");
    assert_eq!(erased.serialize(&[1u8, 2][..]).unwrap(), b"[1,2]");
}

#[test]
fn erased_decode_errors_are_deserialize_errors() {
    let json = renamed("test-erased-errors", JsonSerializer);
    let bytes = json.serialize(&"text").unwrap();
    let err = json.deserialize::<u32>(&bytes).unwrap_err();
    assert!(matches!(err, Error::Deserialize { serializer, .. } if serializer == json), "{err}");
    assert!(err.to_string().contains("test-erased-errors"), "{err}");
    // Trailing bytes are rejected, as `serde_json::from_slice` does.
    assert!(matches!(json.deserialize::<u32>(b"1 2"), Err(Error::Deserialize { .. })));
    let postcard = renamed("test-erased-errors-bin", PostcardSerializer);
    assert!(matches!(postcard.deserialize::<String>(&[200]), Err(Error::Deserialize { .. })));
}

/// Fails in both directions, or skips the sink, on request.
#[derive(Debug)]
struct Faulty;

impl ValueSerializer for Faulty {
    fn name(&self) -> &str {
        "test-faulty"
    }

    fn serialize(&self, _: &dyn erased_serde::Serialize) -> Result<Vec<u8>, BoxError> {
        Err("cannot encode".into())
    }

    fn deserialize(&self, bytes: &[u8], _: &mut ValueSink<'_>) -> Result<(), BoxError> {
        if bytes.is_empty() { Ok(()) } else { Err("cannot decode".into()) }
    }
}

#[test]
fn faulty_implementations_give_typed_errors() {
    let faulty = Serializer::custom(Faulty).unwrap();
    let err = faulty.serialize(&1).unwrap_err();
    assert!(matches!(&err, Error::Serialize { serializer, .. } if *serializer == faulty));
    assert!(err.to_string().contains("cannot encode"), "{err}");
    let err = faulty.deserialize::<u8>(b"x").unwrap_err();
    assert!(err.to_string().contains("cannot decode"), "{err}");
    // Returning Ok without decoding is an error, not a panic.
    let err = faulty.deserialize::<u8>(b"").unwrap_err();
    assert!(matches!(err, Error::Deserialize { .. }));
    assert!(err.to_string().contains("without decoding a value"), "{err}");
}

#[test]
fn custom_names_round_trip_and_compare_by_name() {
    let s = renamed("test-names.v1", JsonSerializer);
    assert_eq!(s.to_string(), "test-names.v1");
    assert!(matches!(s.format(), Format::Custom(c) if c.name() == "test-names.v1"));
    assert_eq!(s.format().name(), "test-names.v1");
    assert_eq!(s.compression(), Compression::None);
    assert!(s.is_supported());
    for s in [s, s.compressed()] {
        assert_eq!(s.to_string().parse::<Serializer>().unwrap(), s);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Serializer>(&json).unwrap(), s);
    }
    assert_eq!(s.compressed().to_string(), "zstd+test-names.v1");
    assert_eq!("compressed/test-names.v1".parse::<Serializer>().unwrap(), s.compressed());
    let set = HashSet::from([s, "test-names.v1".parse().unwrap(), Serializer::JSON]);
    assert_eq!(set.len(), 2);
    assert_ne!(s, Serializer::JSON);
    assert_ne!(s, renamed("test-names.v2", JsonSerializer));
}

#[test]
fn unregistered_names_are_unknown() {
    for name in ["test-never-registered", "zstd+test-never-registered", "compressed/test-never-registered"] {
        let err = name.parse::<Serializer>().unwrap_err();
        assert!(matches!(&err, Error::UnknownSerializer { name: n } if n == name), "{name}");
        assert!(err.to_string().contains("Serializer::custom"), "{err}");
    }
    let err = serde_json::from_str::<Serializer>("\"test-never-registered\"").unwrap_err();
    assert!(err.to_string().contains("unknown serializer"), "{err}");
}

#[test]
fn names_that_collide_or_cannot_be_stored_are_rejected() {
    let long = "n".repeat(65);
    let bad: [&'static str; 14] = [
        "json",
        "JSON",
        "postcard",
        "binary",
        "zstd",
        "Compressed",
        "",
        "zstd+json",
        "compressed/json",
        "my format",
        "dé",
        "a\nb",
        "x/y",
        "x+y",
    ];
    for name in bad.into_iter().chain([long.leak() as &'static str]) {
        match Serializer::custom(Renamed { name, inner: JsonSerializer }) {
            Err(Error::InvalidSerializerName { name: n, reason }) => {
                assert_eq!(n, name);
                assert!(!reason.is_empty());
            }
            other => panic!("{name:?}: expected InvalidSerializerName, got {other:?}"),
        }
    }
    // The built-ins are `ValueSerializer`s too, and hold their names.
    assert!(matches!(Serializer::custom(JsonSerializer), Err(Error::InvalidSerializerName { .. })));
    assert!(matches!(Serializer::custom(PostcardSerializer), Err(Error::InvalidSerializerName { .. })));
    // 64 bytes of allowed characters are fine.
    let ok: &'static str = "A-z_0.9".repeat(9).chars().take(64).collect::<String>().leak();
    assert_eq!(renamed(ok, JsonSerializer).to_string(), ok);
}

#[test]
fn a_name_held_by_another_type_is_rejected() {
    let first = renamed("test-taken", JsonSerializer);
    let err = Serializer::custom(Renamed { name: "test-taken", inner: PostcardSerializer }).unwrap_err();
    let Error::InvalidSerializerName { name, reason } = &err else { panic!("{err:?}") };
    assert_eq!(name, "test-taken");
    assert!(reason.contains("Renamed<prefect_results::serializer::builtin::JsonSerializer>"), "{reason}");
    // The registered one is untouched.
    assert_eq!("test-taken".parse::<Serializer>().unwrap(), first);
    assert_eq!(first.serialize(&1u8).unwrap(), b"1");
}

/// JSON behind a one-byte tag, to tell registrations apart.
#[derive(Debug)]
struct Tagged(u8);

impl ValueSerializer for Tagged {
    fn name(&self) -> &str {
        "test-tagged"
    }

    fn serialize(&self, value: &dyn erased_serde::Serialize) -> Result<Vec<u8>, BoxError> {
        let mut out = vec![self.0];
        serde_json::to_writer(&mut out, value)?;
        Ok(out)
    }

    fn deserialize(&self, bytes: &[u8], sink: &mut ValueSink<'_>) -> Result<(), BoxError> {
        let (tag, json) = bytes.split_first().ok_or("empty")?;
        if *tag != self.0 {
            return Err(format!("tag {tag}, expected {}", self.0).into());
        }
        let mut de = serde_json::Deserializer::from_slice(json);
        sink.deserialize_from(&mut de)?;
        Ok(de.end()?)
    }
}

#[test]
fn registering_a_name_again_with_the_same_type_replaces_it() {
    let first = Serializer::custom(Tagged(1)).unwrap();
    assert_eq!(first.serialize(&7).unwrap(), b"\x017");
    let second = Serializer::custom(Tagged(2)).unwrap();
    assert_eq!(first, second);
    // Last one wins, for every handle and for readers.
    assert_eq!(first.serialize(&7).unwrap(), b"\x027");
    let parsed: Serializer = "test-tagged".parse().unwrap();
    assert_eq!(parsed.deserialize::<u8>(b"\x027").unwrap(), 7);
    assert!(parsed.deserialize::<u8>(b"\x017").is_err());
    let Format::Custom(custom) = first.format() else { panic!() };
    assert!(format!("{custom:?}").contains("Tagged(2)"), "{custom:?}");
}

#[cfg(feature = "zstd")]
#[test]
fn zstd_wraps_custom_formats() {
    let s = renamed("test-zstd-wrapped", PostcardSerializer).with_zstd_level(5);
    let bytes = s.serialize(&everything()).unwrap();
    assert_eq!(s.deserialize::<Everything>(&bytes).unwrap(), everything());
    let plain = renamed("test-zstd-wrapped", PostcardSerializer).serialize(&everything()).unwrap();
    assert_eq!(zstd::decode_all(&bytes[..]).unwrap(), plain);
}

#[cfg(not(feature = "zstd"))]
#[test]
fn zstd_over_custom_without_feature_is_unsupported() {
    let s = renamed("test-zstd-missing", JsonSerializer).compressed();
    assert!(!s.is_supported());
    assert!(matches!(s.serialize(&1).unwrap_err(), Error::FeatureDisabled { .. }));
}
