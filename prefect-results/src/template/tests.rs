use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;

fn date() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 1, 13, 14, 15).unwrap()
}

fn render(template: &str, ctx: &KeyContext<'_>) -> Result<String, TemplateError> {
    Ok(KeyTemplate::parse(template)?.render(ctx)?.as_str().to_owned())
}

#[test]
fn every_placeholder_renders() {
    let params = json!({"city": "Lyon", "n": 3, "ok": true, "none": null,
                        "cfg": {"deep": {"x": "y"}}, "list": ["a", "b"]});
    let ctx = KeyContext::new(date())
        .flow_name("etl")
        .task_name("fetch")
        .flow_run_id("fr-1")
        .task_run_id("tr-2")
        .map_index(7)
        .task_run_count(2)
        .parameters(&params)
        .scheduled_start_time(Utc.with_ymd_and_hms(2024, 2, 29, 6, 0, 0).unwrap());
    let cases = [
        ("{flow_name}/{task_name}", "etl/fetch"),
        ("{flow_run.id}-{task_run.id}", "fr-1-tr-2"),
        ("{flow_run_id}-{task_run_id}", "fr-1-tr-2"),
        ("{map_index}-{task_run_count}", "7-2"),
        ("{date}", "20240301T131415Z"),
        ("{date:%A}/{date:%Y/%m}", "Friday/2024/03"),
        ("{today}_{yesterday}_{tomorrow}", "2024-03-01_2024-02-29_2024-03-02"),
        ("{today_nodash}{yesterday_nodash}{tomorrow_nodash}", "202403012024022920240302"),
        ("{scheduled_start_time}", "20240229T060000Z"),
        ("{scheduled_start_time:%H%M}", "0600"),
        ("{parameters.city}-{parameters[n]}-{parameters.ok}-{parameters.none}", "Lyon-3-true-null"),
        ("{parameters.cfg.deep.x}/{parameters.list.1}", "y/b"),
        ("a{{b}}c.json", "a{b}c.json"),
        ("fixed/key.bin", "fixed/key.bin"),
    ];
    for (template, expected) in cases {
        assert_eq!(render(template, &ctx).unwrap(), expected, "{template}");
    }
}

#[test]
fn unknown_placeholder_lists_the_valid_ones() {
    let err = KeyTemplate::parse("x/{flow}/{task_name}").unwrap_err();
    assert_eq!(err, TemplateError::UnknownPlaceholder { name: "flow".into(), position: 2 });
    let message = err.to_string();
    assert!(message.contains("{flow}") && message.contains("parameters.<name>"), "{message}");
    assert!(validate_template("{parameters}").is_err());
    assert!(validate_template("{}").is_err());
}

#[test]
fn syntax_errors_have_positions() {
    let cases = [
        ("ab{task_name", TemplateError::Unclosed { position: 2 }),
        ("a{b{c}}", TemplateError::Unclosed { position: 1 }),
        ("a}b", TemplateError::Unmatched { position: 1 }),
        ("{task_name:%Y}", TemplateError::FormatNotAllowed { name: "task_name".into(), position: 0 }),
        ("{date:%Q}", TemplateError::InvalidDateFormat { format: "%Q".into(), position: 0 }),
        ("{date:}", TemplateError::InvalidDateFormat { format: "".into(), position: 0 }),
        ("{parameters.a..b}", TemplateError::InvalidParameter { path: "a..b".into(), position: 0 }),
        ("{parameters.a b}", TemplateError::InvalidParameter { path: "a b".into(), position: 0 }),
    ];
    for (template, expected) in cases {
        assert_eq!(KeyTemplate::parse(template).unwrap_err(), expected, "{template}");
    }
}

#[test]
fn templates_that_escape_the_root_are_rejected_at_parse_time() {
    for bad in [
        "/abs/{task_name}",
        "../{task_name}",
        "a/../{task_name}",
        "",
        "{task_name}//x",
        ".hidden/{task_name}",
    ] {
        let err = KeyTemplate::parse(bad).unwrap_err();
        assert!(matches!(err, TemplateError::UnsafeTemplate { .. }), "{bad}: {err}");
    }
}

#[test]
fn unsafe_values_are_rejected_at_render_time() {
    let params = json!({"p": "../../etc/passwd", "q": "/abs", "r": "a/b"});
    let ctx = KeyContext::new(date()).parameters(&params);
    for template in ["{parameters.p}", "{parameters.q}", "x/{parameters.p}", "{parameters.p}/x"] {
        let err = render(template, &ctx).unwrap_err();
        assert!(matches!(err, TemplateError::UnsafeKey(ref e) if e.escapes_root()), "{template}");
    }
    // An absolute value after a literal prefix is just a nested path.
    assert_eq!(render("x{parameters.q}", &ctx).unwrap(), "x/abs");
    // A value with a slash nests directories, which stays inside the root.
    assert_eq!(render("{parameters.r}", &ctx).unwrap(), "a/b");
}

#[test]
fn missing_values_are_named() {
    let params = json!({"a": {"b": 1}, "list": [1]});
    let ctx = KeyContext::new(date()).parameters(&params);
    let err = |t| render(t, &ctx).unwrap_err();
    assert_eq!(err("{map_index}"), TemplateError::MissingValue { placeholder: "map_index" });
    assert_eq!(err("{flow_name}"), TemplateError::MissingValue { placeholder: "flow_name" });
    assert_eq!(
        err("{scheduled_start_time}"),
        TemplateError::MissingValue { placeholder: "scheduled_start_time" }
    );
    assert_eq!(err("{parameters.x}"), TemplateError::MissingParameter { name: "x".into() });
    assert_eq!(err("{parameters.a.c}"), TemplateError::MissingParameter { name: "a.c".into() });
    assert_eq!(err("{parameters.list.5}"), TemplateError::MissingParameter { name: "list.5".into() });
    assert_eq!(
        err("{parameters.a}"),
        TemplateError::UnrenderableParameter { name: "a".into(), kind: "an object" }
    );
    assert_eq!(
        err("{parameters.list}"),
        TemplateError::UnrenderableParameter { name: "list".into(), kind: "an array" }
    );
    let bare = KeyContext::new(date());
    assert!(matches!(render("{parameters.x}", &bare), Err(TemplateError::MissingParameter { .. })));
}

#[test]
fn template_text_round_trips() {
    let t: KeyTemplate = "{flow_name}/{date:%A}.json".parse().unwrap();
    assert_eq!(t.to_string(), "{flow_name}/{date:%A}.json");
    assert!(!t.is_fixed());
    assert!(KeyTemplate::parse("a/b").unwrap().is_fixed());
}
