//! A run's output as the Console shows it: stdout and stderr chunks put in `seq` order, merged
//! into segments (one per stretch of the same stream), with the user's stdin and the Console's
//! own notes in between, and capped at [`MAX_TRANSCRIPT_BYTES`] by dropping the oldest text.
//!
//! `seq` counts the chunks of both streams together from 0 (SPEC §5), so a chunk that arrives
//! early waits for the ones before it; a duplicate is ignored. If the run ends with a gap, what
//! waited is shown anyway ([`Transcript::flush`]). Pure and unit tested; it never renders.

use std::collections::BTreeMap;

/// The most text one transcript keeps, in bytes; older text is dropped first.
pub const MAX_TRANSCRIPT_BYTES: usize = 256 * 1024;

/// Where a piece of text came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
    /// What the user typed (a local echo, as a terminal shows it).
    Stdin,
    /// A remark of the Console itself (a failed `vm.stdin`, chunks that never came).
    Note,
}

impl Stream {
    /// The CSS class of its text.
    pub fn class(self) -> &'static str {
        match self {
            Stream::Stdout => "console-stdout",
            Stream::Stderr => "console-stderr",
            Stream::Stdin => "console-stdin-echo",
            Stream::Note => "console-note",
        }
    }
}

/// A stretch of text from one stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Unique within the transcript, for keyed rendering.
    pub id: u64,
    pub stream: Stream,
    pub text: String,
}

/// The ordered, merged, capped output of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transcript {
    segments: Vec<Segment>,
    /// The `seq` expected next.
    next_seq: u64,
    /// Chunks that arrived before an earlier `seq`.
    early: BTreeMap<u64, (Stream, String)>,
    bytes: usize,
    dropped_bytes: usize,
    next_id: u64,
}

impl Transcript {
    /// Adds chunk `seq` of `stream`; it shows once every earlier chunk has.
    pub fn push(&mut self, seq: u64, stream: Stream, data: String) {
        if seq < self.next_seq {
            return;
        }
        self.early.insert(seq, (stream, data));
        while let Some((stream, data)) = self.early.remove(&self.next_seq) {
            self.next_seq += 1;
            self.append(stream, &data);
        }
    }

    /// Adds text that has no `seq` (stdin echo, notes) after everything shown so far.
    pub fn push_local(&mut self, stream: Stream, text: &str) {
        self.append(stream, text);
    }

    /// Shows chunks still waiting for a missing earlier one, after a note on how many are
    /// missing. Call it when the run has ended.
    pub fn flush(&mut self) {
        let Some(&last) = self.early.keys().next_back() else {
            return;
        };
        let missing = last + 1 - self.next_seq - self.early.len() as u64;
        self.append(
            Stream::Note,
            &format!("[{missing} chunk(s) of output never arrived]\n"),
        );
        for (_, (stream, data)) in std::mem::take(&mut self.early) {
            self.append(stream, &data);
        }
        self.next_seq = last + 1;
    }

    /// What is shown, oldest first.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// How many bytes of old text were dropped to respect [`MAX_TRANSCRIPT_BYTES`].
    pub fn dropped_bytes(&self) -> usize {
        self.dropped_bytes
    }

    fn append(&mut self, stream: Stream, text: &str) {
        if text.is_empty() {
            return;
        }
        match self.segments.last_mut() {
            Some(last) if last.stream == stream => last.text.push_str(text),
            _ => {
                self.next_id += 1;
                self.segments.push(Segment {
                    id: self.next_id,
                    stream,
                    text: text.to_owned(),
                });
            }
        }
        self.bytes += text.len();
        self.trim();
    }

    /// Drops the oldest text until the transcript fits its cap (at a character boundary).
    fn trim(&mut self) {
        let mut excess = self.bytes.saturating_sub(MAX_TRANSCRIPT_BYTES);
        while excess > 0 {
            let first = &mut self.segments[0];
            if first.text.len() <= excess {
                excess -= first.text.len();
                self.bytes -= first.text.len();
                self.dropped_bytes += first.text.len();
                self.segments.remove(0);
                continue;
            }
            let mut cut = excess;
            while !first.text.is_char_boundary(cut) {
                cut += 1;
            }
            first.text.drain(..cut);
            self.bytes -= cut;
            self.dropped_bytes += cut;
            excess = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(t: &Transcript) -> Vec<(Stream, &str)> {
        t.segments()
            .iter()
            .map(|s| (s.stream, s.text.as_str()))
            .collect()
    }

    #[test]
    fn chunks_of_one_stream_in_a_row_merge_into_one_segment() {
        let mut t = Transcript::default();
        t.push(0, Stream::Stdout, "a".into());
        t.push(1, Stream::Stdout, "b".into());
        t.push(2, Stream::Stderr, "oops".into());
        t.push(3, Stream::Stdout, "c".into());
        assert_eq!(
            shown(&t),
            [
                (Stream::Stdout, "ab"),
                (Stream::Stderr, "oops"),
                (Stream::Stdout, "c")
            ]
        );
        let ids: Vec<u64> = t.segments().iter().map(|s| s.id).collect();
        assert_eq!(ids, [1, 2, 3]);
    }

    #[test]
    fn an_early_chunk_waits_for_the_ones_before_it_and_duplicates_are_ignored() {
        let mut t = Transcript::default();
        t.push(2, Stream::Stdout, "c".into());
        t.push(1, Stream::Stderr, "b".into());
        assert!(t.segments().is_empty());
        t.push(0, Stream::Stdout, "a".into());
        assert_eq!(
            shown(&t),
            [
                (Stream::Stdout, "a"),
                (Stream::Stderr, "b"),
                (Stream::Stdout, "c")
            ]
        );
        t.push(1, Stream::Stderr, "b".into());
        assert_eq!(t.segments().len(), 3);
    }

    #[test]
    fn local_text_goes_after_what_is_shown_and_before_what_waits() {
        let mut t = Transcript::default();
        t.push(0, Stream::Stdout, "prompt> ".into());
        t.push(2, Stream::Stdout, "late".into());
        t.push_local(Stream::Stdin, "hi\n");
        t.push(1, Stream::Stdout, "hi\n".into());
        assert_eq!(
            shown(&t),
            [
                (Stream::Stdout, "prompt> "),
                (Stream::Stdin, "hi\n"),
                (Stream::Stdout, "hi\nlate")
            ]
        );
    }

    #[test]
    fn a_gap_left_at_the_end_is_noted_and_what_waited_is_shown() {
        let mut t = Transcript::default();
        t.push(0, Stream::Stdout, "a".into());
        t.push(3, Stream::Stdout, "d".into());
        t.flush();
        assert_eq!(
            shown(&t),
            [
                (Stream::Stdout, "a"),
                (Stream::Note, "[2 chunk(s) of output never arrived]\n"),
                (Stream::Stdout, "d")
            ]
        );
        t.flush();
        assert_eq!(t.segments().len(), 3, "flushing twice adds nothing");
        t.push(4, Stream::Stdout, "e".into());
        assert_eq!(t.segments()[2].text, "de");
    }

    #[test]
    fn old_text_is_dropped_past_the_cap_at_a_character_boundary() {
        let mut t = Transcript::default();
        t.push(0, Stream::Stderr, "é".repeat(10));
        t.push(1, Stream::Stdout, "x".repeat(MAX_TRANSCRIPT_BYTES - 5));
        let total: usize = t.segments().iter().map(|s| s.text.len()).sum();
        assert!(total <= MAX_TRANSCRIPT_BYTES);
        assert_eq!(t.segments()[0].text, "éé");
        assert_eq!(t.dropped_bytes(), 16);
        t.push(2, Stream::Stdout, "y".repeat(10));
        assert_eq!(t.segments().len(), 1, "the stderr segment is gone");
        assert_eq!(t.dropped_bytes(), 25);
    }
}
