//! Look before you create, and count "not there" as removed: the idempotent "ensure" and
//! "remove" every step that makes or takes away a named Exchange object uses.

use serde_json::Value;

use super::{Cmdlet, ExchangeAdmin, ExchangeError, Kind};

/// Finds the object named `name` with `Get-{noun}`.
pub async fn find(
    exchange: &impl ExchangeAdmin,
    noun: &str,
    name: &str,
) -> Result<Option<Value>, ExchangeError> {
    match exchange
        .invoke(&Cmdlet::new(format!("Get-{noun}")).param("Identity", name))
        .await
    {
        Ok(found) => Ok(found.into_iter().next()),
        Err(err) if err.kind() == Some(Kind::NotFound) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Removes the object named `name` with `Remove-{noun}`; answers whether it was there (an
/// object already gone is removed too, so a retry is harmless).
pub async fn remove(exchange: &impl ExchangeAdmin, noun: &str, name: &str) -> Result<bool, ExchangeError> {
    match exchange
        .invoke(&Cmdlet::new(format!("Remove-{noun}")).param("Identity", name))
        .await
    {
        Ok(_) => Ok(true),
        Err(err) if err.kind() == Some(Kind::NotFound) => Ok(false),
        Err(err) => Err(err),
    }
}

/// Creates the object with `new` unless `Get-{noun}` finds it; "already exists" (a lost answer
/// to an earlier attempt) counts as found. Returns the object and whether it was created now.
pub async fn ensure(
    exchange: &impl ExchangeAdmin,
    noun: &str,
    name: &str,
    new: &Cmdlet,
) -> Result<(Value, bool), ExchangeError> {
    if let Some(found) = find(exchange, noun, name).await? {
        return Ok((found, false));
    }
    match exchange.invoke(new).await {
        Ok(created) => Ok((created.into_iter().next().unwrap_or(Value::Null), true)),
        Err(err) if err.kind() == Some(Kind::AlreadyExists) => match find(exchange, noun, name).await? {
            Some(found) => Ok((found, false)),
            None => Err(err),
        },
        Err(err) => Err(err),
    }
}
