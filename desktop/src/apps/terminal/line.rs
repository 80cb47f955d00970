//! The line discipline of a Terminal attached to a WASI program: a WASI program reads whole
//! lines from stdin and never echoes, so the Terminal echoes what is typed, lets Backspace edit
//! the line, sends it on Enter and ends stdin on Ctrl-D. Pure, unit tested natively.

/// What one keystroke (or paste) does.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Keyed {
    /// To write on the screen.
    pub echo: String,
    /// Lines to send to the program's stdin, and whether stdin then ends.
    pub send: Option<(String, bool)>,
}

/// The line being typed.
#[derive(Debug, Default)]
pub struct LineEditor {
    line: String,
}

impl LineEditor {
    /// Takes what xterm.js reports as typed.
    pub fn key(&mut self, data: &str) -> Keyed {
        let mut out = Keyed::default();
        let mut ready = String::new();
        for c in data.chars() {
            match c {
                '\r' | '\n' => {
                    self.line.push('\n');
                    ready.push_str(&std::mem::take(&mut self.line));
                    out.echo.push_str("\r\n");
                }
                '\u{7f}' | '\u{8}' => {
                    if self.line.pop().is_some() {
                        out.echo.push_str("\u{8} \u{8}");
                    }
                }
                '\u{4}' => {
                    ready.push_str(&std::mem::take(&mut self.line));
                    out.send = Some((ready, true));
                    return out;
                }
                c if c.is_control() => {}
                c => {
                    self.line.push(c);
                    out.echo.push(c);
                }
            }
        }
        if !ready.is_empty() {
            out.send = Some((ready, false));
        }
        out
    }
}

/// Program output for the screen: xterm.js needs `\r\n` to start a new line.
pub fn to_screen(data: &str) -> String {
    data.replace("\r\n", "\n").replace('\n', "\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_echoed_edited_and_sent_on_enter() {
        let mut editor = LineEditor::default();
        assert_eq!(editor.key("helo").echo, "helo");
        assert_eq!(editor.key("\u{7f}").echo, "\u{8} \u{8}");
        let keyed = editor.key("lo\r");
        assert_eq!(keyed.echo, "lo\r\n");
        assert_eq!(keyed.send, Some(("hello\n".to_owned(), false)));
        // Backspace on an empty line does nothing; escape sequences are not typed text.
        assert_eq!(editor.key("\u{7f}\u{1b}"), Keyed::default());
    }

    #[test]
    fn ctrl_d_sends_the_pending_line_and_ends_stdin() {
        let mut editor = LineEditor::default();
        editor.key("last");
        assert_eq!(editor.key("\u{4}").send, Some(("last".to_owned(), true)));
        assert_eq!(to_screen("a\nb\r\nc"), "a\r\nb\r\nc");
    }
}
