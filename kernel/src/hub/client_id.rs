//! Client ids: `c-` and 64 random bits (16 hex digits), unique among connected clients, so an id
//! cannot be guessed from another.

/// A fresh random client id.
pub(super) fn fresh() -> String {
    format!("c-{:016x}", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_have_the_documented_shape() {
        let id = super::fresh();
        assert_eq!(id.len(), 18);
        assert!(id.starts_with("c-"));
        assert!(id[2..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(id, super::fresh());
    }
}
