//! `cron!`, `timezone!` and `rrule!`: schedule text checked at compile time
//! with the crates and parser settings prefect-deploy reads it with at run
//! time (croner with five fields, no seconds or year; chrono-tz's IANA
//! names; the rrule crate, `RRULE:` and `DTSTART` added as prefect-deploy
//! adds them). The text comes out unchanged.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::LitStr;

fn check(input: TokenStream, verify: fn(&str) -> Result<(), String>) -> TokenStream {
    let text: LitStr = match syn::parse2(input) {
        Ok(text) => text,
        Err(error) => return error.to_compile_error(),
    };
    match verify(&text.value()) {
        Ok(()) => text.into_token_stream(),
        Err(reason) => syn::Error::new(text.span(), reason).to_compile_error(),
    }
}

pub(crate) fn cron(input: TokenStream) -> TokenStream {
    check(input, |pattern| {
        let fields = pattern.split_whitespace().count();
        if fields != 5 {
            return Err(format!(
                "invalid cron pattern `{pattern}`: expected 5 fields (minute hour day-of-month month day-of-week), found {fields}"
            ));
        }
        let parser = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Disallowed)
            .year(croner::parser::Year::Disallowed)
            .build();
        parser.parse(pattern.trim()).map(drop).map_err(|e| format!("invalid cron pattern `{pattern}`: {e}"))
    })
}

pub(crate) fn timezone(input: TokenStream) -> TokenStream {
    check(input, |zone| {
        zone.trim().parse::<chrono_tz::Tz>().map(drop).map_err(|_| {
            format!("unknown time zone `{zone}`: expected an IANA name such as \"Europe/Berlin\" or \"UTC\"")
        })
    })
}

pub(crate) fn rrule(input: TokenStream) -> TokenStream {
    check(input, |rule| {
        let text = prefect_model::text::rrule_with_start(rule, "UTC");
        text.parse::<rrule::RRuleSet>()
            .map(drop)
            .map_err(|e| format!("invalid recurrence rule `{rule}`: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn fails(out: TokenStream) -> String {
        out.to_string()
    }

    #[test]
    fn good_text_comes_out_unchanged_and_bad_text_is_an_error() {
        assert_eq!(cron(quote!("0 6 * * *")).to_string(), "\"0 6 * * *\"");
        assert!(fails(cron(quote!("0 6 * *"))).contains("expected 5 fields"));
        assert!(fails(cron(quote!("0 25 * * *"))).contains("invalid cron pattern"));
        assert_eq!(timezone(quote!("Europe/Berlin")).to_string(), "\"Europe/Berlin\"");
        assert!(fails(timezone(quote!("Europe/Berln"))).contains("unknown time zone"));
        assert_eq!(rrule(quote!("FREQ=WEEKLY;BYDAY=MO")).to_string(), "\"FREQ=WEEKLY;BYDAY=MO\"");
        assert!(fails(rrule(quote!("FREQ=SOMETIMES"))).contains("invalid recurrence rule"));
        assert!(fails(cron(quote!(6))).contains("expected string literal"));
    }
}
