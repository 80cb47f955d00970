//! Who is connecting: the token in `Authorization: Bearer …` or `?token=` decides the principal.
//! Tokens are compared in constant time.

use axum::http::{HeaderMap, header};
use subtle::ConstantTimeEq;

use crate::config::Config;

/// The identity a connection acts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Principal {
    /// Presented `admin_token`: bypasses permissions and rate limits.
    Admin,
    /// Presented `client_token`.
    TokenHolder,
    /// No token, and none is required (a loopback kernel without `client_token`).
    Local,
}

impl Principal {
    pub fn as_str(self) -> &'static str {
        match self {
            Principal::Admin => "admin",
            Principal::TokenHolder => "token",
            Principal::Local => "local",
        }
    }

    pub fn is_admin(self) -> bool {
        self == Principal::Admin
    }
}

/// Why a connection has no principal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error(
        "this kernel requires a token: open the desktop with ?token=… or send `Authorization: Bearer …`"
    )]
    Missing,
    #[error("the token is not valid for this kernel; check it with the person who runs the kernel")]
    Wrong,
}

/// The token a request carries: the bearer header wins over the query parameter.
pub fn presented_token<'a>(
    headers: &'a HeaderMap,
    query_token: Option<&'a str>,
) -> Option<&'a str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .or(query_token)
        .filter(|t| !t.is_empty())
}

/// Decides the principal of a connection presenting `token`.
pub fn authenticate(config: &Config, token: Option<&str>) -> Result<Principal, AuthError> {
    let matches = |configured: &Option<String>| match (configured, token) {
        (Some(expected), Some(given)) => bool::from(expected.as_bytes().ct_eq(given.as_bytes())),
        _ => false,
    };
    if matches(&config.admin_token) {
        return Ok(Principal::Admin);
    }
    if matches(&config.client_token) {
        return Ok(Principal::TokenHolder);
    }
    match (token, &config.client_token) {
        (Some(_), _) => Err(AuthError::Wrong),
        (None, Some(_)) => Err(AuthError::Missing),
        (None, None) => Ok(Principal::Local),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(admin: Option<&str>, client: Option<&str>) -> Config {
        Config {
            admin_token: admin.map(str::to_owned),
            client_token: client.map(str::to_owned),
            ..Config::default()
        }
    }

    #[test]
    fn tokens_decide_the_principal() {
        let c = config(Some("adm"), Some("cli"));
        assert_eq!(authenticate(&c, Some("adm")), Ok(Principal::Admin));
        assert_eq!(authenticate(&c, Some("cli")), Ok(Principal::TokenHolder));
        assert_eq!(authenticate(&c, Some("nope")), Err(AuthError::Wrong));
        assert_eq!(authenticate(&c, None), Err(AuthError::Missing));
    }

    #[test]
    fn without_a_client_token_local_clients_need_none() {
        let c = config(Some("adm"), None);
        assert_eq!(authenticate(&c, None), Ok(Principal::Local));
        assert_eq!(authenticate(&c, Some("adm")), Ok(Principal::Admin));
        assert_eq!(authenticate(&c, Some("guess")), Err(AuthError::Wrong));
    }

    #[test]
    fn the_bearer_header_wins_over_the_query() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(presented_token(&headers, Some("q")), Some("abc"));
        assert_eq!(presented_token(&HeaderMap::new(), Some("q")), Some("q"));
        assert_eq!(presented_token(&HeaderMap::new(), Some("")), None);
    }
}
