//! `prefect profile ls | use | create`.

use anyhow::Result;
use prefect_settings::Profiles;
use serde_json::json;

use crate::commands::config::target;
use crate::output::Output;

/// Lists profiles, marking the active one with `*`.
pub(crate) fn ls(out: &mut Output) -> Result<()> {
    let target = target()?;
    let profiles = Profiles::load(&target.home)?;
    let names = profiles.names();
    if out.json {
        let rows: Vec<_> =
            names.iter().map(|name| json!({ "name": name, "active": *name == target.profile })).collect();
        return Ok(out.json(&json!(rows))?);
    }
    for name in names {
        let mark = if name == target.profile { '*' } else { ' ' };
        out.line(format_args!("{mark} {name}"))?;
    }
    Ok(())
}

/// Makes `name` the active profile in `profiles.toml`.
pub(crate) fn use_profile(out: &mut Output, name: &str) -> Result<()> {
    let mut profiles = Profiles::load(&target()?.home)?;
    profiles.use_profile(name)?;
    profiles.save()?;
    out.line(format_args!("now using profile {name}"))?;
    if let Ok(env) = std::env::var("PREFECT_PROFILE").map(|p| p.trim().to_owned())
        && !env.is_empty()
        && env != name
    {
        eprintln!("warning: PREFECT_PROFILE={env} is set and overrides the active profile");
    }
    Ok(())
}

/// Adds an empty profile.
pub(crate) fn create(out: &mut Output, name: &str) -> Result<()> {
    let mut profiles = Profiles::load(&target()?.home)?;
    profiles.create(name)?;
    profiles.save()?;
    Ok(out.line(format_args!("created profile {name}; switch to it with `prefect profile use {name}`"))?)
}
