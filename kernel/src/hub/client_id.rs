//! Client ids: `c-` and eight random hex digits, unique among connected clients.

/// A fresh random client id.
pub(super) fn fresh() -> String {
    format!("c-{:08x}", rand::random::<u32>())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_have_the_documented_shape() {
        let id = super::fresh();
        assert_eq!(id.len(), 10);
        assert!(id.starts_with("c-"));
        assert!(id[2..].bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
