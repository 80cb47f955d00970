//! DNS messages, just enough for the relay to answer a guest's query itself: read a query's one
//! question, write an answer of A records or an error code. This module never resolves a name
//! (the `resolver` does) and reads nothing but the header and the question.

use std::net::Ipv4Addr;

/// Header bytes of every DNS message.
const HEADER_BYTES: usize = 12;
/// Seconds a guest may keep an answer (the relay remembers what it answered for longer).
pub const ANSWER_TTL_SECS: u32 = 60;

/// Record type A (an IPv4 address).
pub const TYPE_A: u16 = 1;

/// Response codes the relay answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Rcode {
    NoError = 0,
    FormErr = 1,
    ServFail = 2,
    NxDomain = 3,
    /// A name the allowlist does not name: the relay will not resolve it.
    Refused = 5,
}

/// A query's header and its one question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    id: u16,
    flags: u16,
    /// The question as it was sent (name, type, class), copied into the answer.
    question: Vec<u8>,
    /// The name asked about, lower-case, without a trailing dot.
    pub name: String,
    pub qtype: u16,
}

/// A message that is not a query the relay can answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("the DNS message is shorter than its header")]
    Short,
    #[error("the DNS message is not a standard query with one question")]
    NotOneQuestion,
    #[error("the DNS question's name is malformed")]
    BadName,
}

impl Query {
    /// Reads a query. On `Err`, [`format_error`] may still answer it.
    pub fn parse(msg: &[u8]) -> Result<Query, DnsError> {
        if msg.len() < HEADER_BYTES {
            return Err(DnsError::Short);
        }
        let id = u16::from_be_bytes([msg[0], msg[1]]);
        let flags = u16::from_be_bytes([msg[2], msg[3]]);
        let qdcount = u16::from_be_bytes([msg[4], msg[5]]);
        let is_query = flags & 0x8000 == 0;
        let opcode = (flags >> 11) & 0xf;
        if !is_query || opcode != 0 || qdcount != 1 {
            return Err(DnsError::NotOneQuestion);
        }
        let mut at = HEADER_BYTES;
        let mut labels: Vec<String> = Vec::new();
        loop {
            let len = *msg.get(at).ok_or(DnsError::BadName)? as usize;
            at += 1;
            if len == 0 {
                break;
            }
            // A compression pointer (or a reserved label type) has no place in a question.
            if len > 63 {
                return Err(DnsError::BadName);
            }
            let label = msg.get(at..at + len).ok_or(DnsError::BadName)?;
            if !label
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            {
                return Err(DnsError::BadName);
            }
            labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
            at += len;
        }
        let fixed = msg.get(at..at + 4).ok_or(DnsError::BadName)?;
        let qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let name = labels.join(".");
        if name.is_empty() || name.len() > 253 {
            return Err(DnsError::BadName);
        }
        Ok(Query {
            id,
            flags,
            question: msg[HEADER_BYTES..at + 4].to_vec(),
            name,
            qtype,
        })
    }

    /// The answer: `addrs` as A records (none for another record type), or `rcode` alone.
    pub fn answer(&self, rcode: Rcode, addrs: &[Ipv4Addr]) -> Vec<u8> {
        let addrs = if rcode == Rcode::NoError && self.qtype == TYPE_A {
            addrs
        } else {
            &[]
        };
        let mut out = Vec::with_capacity(HEADER_BYTES + self.question.len() + 16 * addrs.len());
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&response_flags(self.flags, rcode).to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&(addrs.len() as u16).to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&self.question);
        for addr in addrs {
            // The name as a pointer to the question's (offset 12), type A, class IN.
            out.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
            out.extend_from_slice(&ANSWER_TTL_SECS.to_be_bytes());
            out.extend_from_slice(&4u16.to_be_bytes());
            out.extend_from_slice(&addr.octets());
        }
        out
    }
}

/// FORMERR for a message that has a header but no readable question; `None` without a header.
pub fn format_error(msg: &[u8]) -> Option<Vec<u8>> {
    if msg.len() < HEADER_BYTES {
        return None;
    }
    let flags = u16::from_be_bytes([msg[2], msg[3]]);
    let mut out = msg[..2].to_vec();
    out.extend_from_slice(&response_flags(flags, Rcode::FormErr).to_be_bytes());
    out.extend_from_slice(&[0; 8]);
    Some(out)
}

/// QR set, the query's opcode and RD kept, RA set, and `rcode`.
fn response_flags(query_flags: u16, rcode: Rcode) -> u16 {
    0x8000 | (query_flags & 0x7900) | 0x0080 | rcode as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A query as a stub resolver writes it: id, RD, one question, and an EDNS OPT record.
    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut q = vec![0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&[0, 1]);
        q.extend_from_slice(&[0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]);
        q
    }

    #[test]
    fn a_query_reads_its_name_and_type() {
        let q = Query::parse(&query("Example.ORG", TYPE_A)).unwrap();
        assert_eq!((q.name.as_str(), q.qtype), ("example.org", TYPE_A));
    }

    #[test]
    fn an_answer_carries_the_question_and_one_a_record_per_address() {
        let q = Query::parse(&query("a.example.org", TYPE_A)).unwrap();
        let a = q.answer(Rcode::NoError, &[Ipv4Addr::new(10, 1, 2, 3)]);
        assert_eq!(&a[..2], &[0xab, 0xcd]);
        assert_eq!(u16::from_be_bytes([a[2], a[3]]), 0x8180);
        assert_eq!(&a[4..12], &[0, 1, 0, 1, 0, 0, 0, 0]);
        let question_end = 12 + "a.example.org".len() + 2 + 4;
        assert_eq!(
            &a[12..question_end],
            &query("a.example.org", 1)[12..question_end]
        );
        assert_eq!(&a[question_end..question_end + 2], &[0xc0, 0x0c]);
        assert_eq!(&a[a.len() - 4..], &[10, 1, 2, 3]);
    }

    #[test]
    fn a_refusal_has_no_answers_and_its_code() {
        let q = Query::parse(&query("nope.test", TYPE_A)).unwrap();
        let a = q.answer(Rcode::Refused, &[Ipv4Addr::LOCALHOST]);
        assert_eq!(u16::from_be_bytes([a[2], a[3]]) & 0xf, 5);
        assert_eq!(&a[6..8], &[0, 0]);
        // AAAA of an allowed name: no error, no records.
        let q = Query::parse(&query("ok.test", 28)).unwrap();
        let a = q.answer(Rcode::NoError, &[Ipv4Addr::LOCALHOST]);
        assert_eq!(&a[6..8], &[0, 0]);
    }

    #[test]
    fn malformed_queries_are_errors_and_answered_formerr_when_they_have_a_header() {
        assert_eq!(Query::parse(&[0; 5]), Err(DnsError::Short));
        assert_eq!(format_error(&[0; 5]), None);
        let mut two = query("a.b", TYPE_A);
        two[5] = 2;
        assert_eq!(Query::parse(&two), Err(DnsError::NotOneQuestion));
        let mut pointer = query("a.b", TYPE_A);
        pointer[12] = 0xc0;
        assert_eq!(Query::parse(&pointer), Err(DnsError::BadName));
        let formerr = format_error(&two).unwrap();
        assert_eq!(
            u16::from_be_bytes([formerr[2], formerr[3]]) & 0x800f,
            0x8001
        );
    }

    proptest! {
        #[test]
        fn no_message_panics_the_reader(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(q) = Query::parse(&bytes) {
                let _ = q.answer(Rcode::NoError, &[Ipv4Addr::LOCALHOST]);
            }
            let _ = format_error(&bytes);
        }
    }
}
