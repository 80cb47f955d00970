//! A saved machine state with the 9p server's fid table: `state | fids (JSON) | length (u32 LE)
//! | MAGIC`. A resumed guest still holds the fids it had (its working folder, its open files);
//! the table lets the page's new server resolve them. A state without the trailer was saved by a
//! build before the live files (its guest expects another 9p device) and is not resumed.

/// The trailer's last bytes.
const MAGIC: &[u8; 8] = b"AETHER9P";

/// `state` with `fids` appended.
pub fn attach(mut state: Vec<u8>, fids: &str) -> Vec<u8> {
    state.extend_from_slice(fids.as_bytes());
    state.extend_from_slice(&(fids.len() as u32).to_le_bytes());
    state.extend_from_slice(MAGIC);
    state
}

/// The state and the fid table of a saved file.
pub fn detach(mut saved: Vec<u8>) -> (Vec<u8>, Option<String>) {
    let Some(body) = saved.len().checked_sub(MAGIC.len() + 4) else {
        return (saved, None);
    };
    if !saved.ends_with(MAGIC) {
        return (saved, None);
    }
    let l = &saved[body..body + 4];
    let len = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
    let Some(start) = body.checked_sub(len) else {
        return (saved, None);
    };
    let fids = String::from_utf8(saved[start..body].to_vec()).ok();
    saved.truncate(start);
    (saved, fids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fid_table_rides_with_the_state_and_old_states_still_read() {
        let saved = attach(vec![1, 2, 3], "[{\"fid\":1}]");
        assert_eq!(
            detach(saved),
            (vec![1, 2, 3], Some("[{\"fid\":1}]".to_owned()))
        );
        assert_eq!(detach(vec![9; 5]), (vec![9; 5], None));
        let mut lying = vec![0; 4];
        lying.extend_from_slice(&1000u32.to_le_bytes());
        lying.extend_from_slice(MAGIC);
        assert_eq!(detach(lying.clone()), (lying, None));
    }
}
