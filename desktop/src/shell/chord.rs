//! Keyboard chords as people read them (`Ctrl+Shift+P`, `Alt+↑`, `F1`): the one grammar the
//! palette's and the help's key hints are written in, checked by tests against what the key
//! handlers really do.
//!
//! A chord is zero or more modifiers in the order `Ctrl`, `Alt`, `Shift`, then one key: a
//! capital letter, a digit, `F1`…`F12`, `Enter`, `Escape`, `Space`, `Tab`, `Delete`, an arrow
//! (`↑ ↓ ← →`) or `?`. The palette gives each command's chord to assistive technology as
//! `aria-keyshortcuts` ([`Chord::aria`]). Pure; nothing here listens to the keyboard.

/// A parsed chord.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chord<'a> {
    pub ctrl: bool,
    pub alt: bool,
    pub shift: bool,
    /// The key as written (`P`, `Enter`, `↑`).
    pub key: &'a str,
}

impl<'a> Chord<'a> {
    /// Parses `text`; `None` when it is not a chord of the grammar above.
    pub fn parse(text: &'a str) -> Option<Chord<'a>> {
        let mut parts: Vec<&str> = text.split('+').collect();
        let key = parts.pop().filter(|key| is_key(key))?;
        let mut chord = Chord {
            ctrl: false,
            alt: false,
            shift: false,
            key,
        };
        let mut rank = 0;
        for modifier in parts {
            let (flag, at) = match modifier {
                "Ctrl" => (&mut chord.ctrl, 1),
                "Alt" => (&mut chord.alt, 2),
                "Shift" => (&mut chord.shift, 3),
                _ => return None,
            };
            // Each modifier once, in the canonical order.
            if at <= rank {
                return None;
            }
            rank = at;
            *flag = true;
        }
        Some(chord)
    }

    /// `KeyboardEvent.code` of the key (`KeyP`, `Digit1`, `ArrowUp`, `F1`, `Enter`).
    pub fn code(&self) -> String {
        match self.key {
            "↑" => "ArrowUp".into(),
            "↓" => "ArrowDown".into(),
            "←" => "ArrowLeft".into(),
            "→" => "ArrowRight".into(),
            "?" => "Slash".into(),
            key if key.len() == 1 && key.as_bytes()[0].is_ascii_uppercase() => format!("Key{key}"),
            key if key.len() == 1 && key.as_bytes()[0].is_ascii_digit() => format!("Digit{key}"),
            key => key.into(),
        }
    }

    /// `KeyboardEvent.key` of the key on a US layout (`p`/`P`, `ArrowUp`, `?`), for tests that
    /// press the chord.
    #[cfg(test)]
    pub fn key_value(&self) -> String {
        let code = self.code();
        match self.key {
            key if key.len() == 1 && key.as_bytes()[0].is_ascii_uppercase() => {
                if self.shift {
                    key.into()
                } else {
                    key.to_ascii_lowercase()
                }
            }
            "?" => "?".into(),
            key if key.len() == 1 => key.into(),
            _ if code.starts_with("Arrow") => code,
            key => key.into(),
        }
    }
}

impl Chord<'_> {
    /// The chord as `aria-keyshortcuts` writes it (`Control+Shift+P`, `Alt+ArrowUp`).
    pub fn aria(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        for (on, name) in [
            (self.ctrl, "Control"),
            (self.alt, "Alt"),
            (self.shift, "Shift"),
        ] {
            if on {
                parts.push(name.to_owned());
            }
        }
        let key = self.code();
        parts.push(match key.as_str() {
            "Space" => "Space".to_owned(),
            "Slash" => "?".to_owned(),
            code if code.starts_with("Key") || code.starts_with("Digit") => self.key.to_owned(),
            code => code.to_owned(),
        });
        parts.join("+")
    }
}

/// True for a key of the grammar.
fn is_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    match key {
        "Enter" | "Escape" | "Space" | "Tab" | "Delete" | "↑" | "↓" | "←" | "→" | "?" => {
            true
        }
        _ if bytes.len() == 1 => bytes[0].is_ascii_uppercase() || bytes[0].is_ascii_digit(),
        _ => key
            .strip_prefix('F')
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| (1..=12).contains(&n) && !key[1..].starts_with('0')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chords_parse_into_modifiers_and_a_key() {
        let chord = Chord::parse("Ctrl+Shift+P").unwrap();
        assert!(chord.ctrl && chord.shift && !chord.alt);
        assert_eq!(
            (chord.code(), chord.key_value()),
            ("KeyP".into(), "P".into())
        );
        let chord = Chord::parse("Alt+↑").unwrap();
        assert!(chord.alt && !chord.ctrl && !chord.shift);
        assert_eq!(
            (chord.code(), chord.key_value()),
            ("ArrowUp".into(), "ArrowUp".into())
        );
        assert_eq!(Chord::parse("F1").unwrap().code(), "F1");
        assert_eq!(Chord::parse("Ctrl+Enter").unwrap().code(), "Enter");
        assert_eq!(Chord::parse("Alt+J").unwrap().key_value(), "j");
        assert_eq!(
            Chord::parse("Ctrl+Shift+P").unwrap().aria(),
            "Control+Shift+P"
        );
        assert_eq!(Chord::parse("Alt+↑").unwrap().aria(), "Alt+ArrowUp");
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "Ctrl+",
            "Ctrl+p",
            "Shift+Ctrl+P",
            "Ctrl+Ctrl+P",
            "Cmd+P",
            "Ctrl+Shift",
            "F0",
            "F13",
            "F01",
            "Ctrl P",
            "PP",
            "Alt+Shift+",
        ] {
            assert_eq!(Chord::parse(bad), None, "{bad:?}");
        }
    }
}
