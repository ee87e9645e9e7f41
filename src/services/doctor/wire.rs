//! One question on the wire, the raw answer kept: hickory decodes a compressed SRV
//! target without a word, while Go's resolver, which etcd uses, refuses the whole
//! answer (golang/go#27546). So the bytes are looked at, not only the records.
//!
//! Non-recursive (RD=0), no cache, through the one DNS exchange (UDP, with a TCP retry
//! for a truncated answer).

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use super::served::{Lookup, Rr, RrData};
use crate::providers::dns::exchange::{Failure, Over, Tries, exchange, question};

/// A second each, twice over UDP.
const TRIES: Tries = Tries {
    timeout: Duration::from_secs(1),
    attempts: 2,
};
const SRV: u16 = 33;

/// Asks `server` for `name`/`rtype` and says what it answered.
pub async fn ask(server: SocketAddr, name: &str, rtype: RecordType) -> Lookup {
    let qname = match Name::from_str(&format!("{}.", name.trim_end_matches('.'))) {
        Ok(n) => n,
        Err(e) => return Lookup::Failed(format!("{name:?} is not a DNS name: {e}")),
    };
    let msg = question(qname, rtype, false);
    let id = msg.metadata.id;
    let request = match msg.to_vec() {
        Ok(b) => b,
        Err(e) => return Lookup::Failed(format!("cannot encode the question: {e}")),
    };
    match exchange(server, &request, id, TRIES).await {
        Ok(raw) => decode(&raw),
        Err(Failure::Silent {
            over: Over::Udp, ..
        }) => Lookup::Failed(format!(
            "no answer within {}",
            crate::base::human::duration(TRIES.timeout)
        )),
        // "Connection refused", without the errno.
        Err(Failure::Io {
            over: Over::Udp,
            source,
        }) => Lookup::Failed(Failure::plain(&source)),
        Err(Failure::Silent {
            over: Over::Tcp, ..
        }) => Lookup::Failed("no answer over TCP".into()),
        Err(Failure::Io {
            over: Over::Tcp,
            source,
        }) => Lookup::Failed(format!("over TCP: {source}")),
    }
}

/// An answer's bytes as the doctor reads them.
pub fn decode(raw: &[u8]) -> Lookup {
    let msg = match Message::from_vec(raw) {
        Ok(m) => m,
        Err(e) => return Lookup::Failed(format!("the answer does not parse: {e}")),
    };
    if msg.metadata.message_type != MessageType::Response {
        return Lookup::Failed("the server sent a question, not an answer".into());
    }
    let compressed = match compressed_srv_targets(raw) {
        Ok(c) => c,
        Err(why) => return Lookup::Failed(format!("the answer does not parse: {why}")),
    };
    let nxdomain = match msg.metadata.response_code {
        ResponseCode::NoError => false,
        ResponseCode::NXDomain => true,
        ResponseCode::Refused => return Lookup::Refused,
        other => return Lookup::Failed(format!("the server answered {other}")),
    };
    // A server that is not authoritative and has nothing to say is pointing elsewhere
    // (a referral): it does not hold the zone either.
    if !msg.metadata.authoritative && msg.answers.is_empty() {
        return Lookup::Refused;
    }
    let records = msg
        .answers
        .iter()
        .zip(compressed.into_iter().chain(std::iter::repeat(false)))
        .map(|(r, compressed)| Rr {
            owner: plain(&r.name),
            ttl: r.ttl,
            data: match &r.data {
                RData::SRV(s) => RrData::Srv {
                    priority: s.priority,
                    weight: s.weight,
                    port: s.port,
                    target: plain(&s.target),
                    compressed,
                },
                RData::A(a) => RrData::Address(IpAddr::V4(a.0)),
                RData::AAAA(a) => RrData::Address(IpAddr::V6(a.0)),
                RData::CNAME(c) => RrData::Cname(plain(&c.0)),
                other => RrData::Other {
                    rtype: r.record_type().to_string(),
                    text: other.to_string(),
                },
            },
        })
        .collect();
    Lookup::Answer { records, nxdomain }
}

/// A name as rigger writes them: lowercase, no final dot.
fn plain(name: &Name) -> String {
    name.to_string().trim_end_matches('.').to_ascii_lowercase()
}

/// For every record of the answer section, in order: whether it is an SRV record whose
/// target name holds a compression pointer.
pub fn compressed_srv_targets(raw: &[u8]) -> Result<Vec<bool>, String> {
    let count = |at: usize| -> Result<usize, String> {
        Ok(usize::from(u16::from_be_bytes([
            *raw.get(at).ok_or("short header")?,
            *raw.get(at + 1).ok_or("short header")?,
        ])))
    };
    let (questions, answers) = (count(4)?, count(6)?);
    let mut at = 12;
    for _ in 0..questions {
        at = skip_name(raw, at)? + 4;
    }
    let mut out = Vec::with_capacity(answers);
    for _ in 0..answers {
        at = skip_name(raw, at)?;
        let fixed = raw.get(at..at + 10).ok_or("a record is cut short")?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let length = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        let data = raw
            .get(at + 10..at + 10 + length)
            .ok_or("a record's data is cut short")?;
        out.push(rtype == SRV && data.len() > 6 && has_pointer(&data[6..]));
        at += 10 + length;
    }
    Ok(out)
}

/// The offset just past the name at `at`.
fn skip_name(raw: &[u8], mut at: usize) -> Result<usize, String> {
    loop {
        let len = *raw.get(at).ok_or("a name runs past the end")?;
        match len {
            0 => return Ok(at + 1),
            l if l & 0xC0 == 0xC0 => return Ok(at + 2),
            l => at += 1 + usize::from(l),
        }
    }
}

/// Whether the name that starts `data` ends in a compression pointer.
fn has_pointer(data: &[u8]) -> bool {
    let mut at = 0;
    while let Some(&len) = data.get(at) {
        match len {
            0 => return false,
            l if l & 0xC0 == 0xC0 => return true,
            l => at += 1 + usize::from(l),
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::Query;

    use super::*;

    /// The answer to `SRV _etcd-server-ssl._tcp.d.test` with one record whose target is
    /// `n1.d.test`, as bytes; `compress` writes the target as `n1` plus a pointer to
    /// `d.test` in the question, as some servers did (golang/go#27546).
    fn srv_answer(id: u16, compress: bool) -> Vec<u8> {
        let mut m = vec![];
        m.extend_from_slice(&id.to_be_bytes());
        // QR, AA; NOERROR; one question, one answer.
        m.extend_from_slice(&[0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0]);
        let question = m.len();
        for label in ["_etcd-server-ssl", "_tcp", "d", "test"] {
            m.push(label.len() as u8);
            m.extend_from_slice(label.as_bytes());
        }
        m.push(0);
        m.extend_from_slice(&[0, 33, 0, 1]);
        // The owner: a pointer to the question's name.
        m.extend_from_slice(&[0xC0, question as u8]);
        m.extend_from_slice(&[0, 33, 0, 1, 0, 0, 1, 44]);
        let mut target = vec![2, b'n', b'1'];
        if compress {
            // "d.test" sits after the first two labels of the question.
            let d = question + 1 + "_etcd-server-ssl".len() + 1 + "_tcp".len();
            target.extend_from_slice(&[0xC0, d as u8]);
        } else {
            target.extend_from_slice(&[1, b'd', 4, b't', b'e', b's', b't', 0]);
        }
        let mut data = vec![0, 0, 0, 0, 0x09, 0x4C];
        data.extend_from_slice(&target);
        m.extend_from_slice(&(data.len() as u16).to_be_bytes());
        m.extend_from_slice(&data);
        m
    }

    #[test]
    fn a_compressed_srv_target_is_seen_in_the_bytes() {
        for (compress, want) in [(true, true), (false, false)] {
            let raw = srv_answer(7, compress);
            assert_eq!(compressed_srv_targets(&raw).unwrap(), [want]);
            let Lookup::Answer { records, nxdomain } = decode(&raw) else {
                panic!("{:?}", decode(&raw));
            };
            assert!(!nxdomain);
            assert_eq!(
                records[0].data,
                RrData::Srv {
                    priority: 0,
                    weight: 0,
                    port: 2380,
                    target: "n1.d.test".into(),
                    compressed: want,
                }
            );
        }
    }

    #[test]
    fn hickory_writes_srv_targets_uncompressed() {
        // What the lab's own server sends: the same encoder.
        let mut msg = Message::response(1, hickory_proto::op::OpCode::Query);
        let owner = Name::from_str("_etcd-server-ssl._tcp.d.test.").unwrap();
        msg.add_query(Query::query(owner.clone(), RecordType::SRV));
        let target = Name::from_str("n1.d.test.").unwrap();
        let srv = hickory_proto::rr::rdata::SRV::new(0, 0, 2380, target);
        msg.add_answer(hickory_proto::rr::Record::from_rdata(
            owner,
            300,
            RData::SRV(srv),
        ));
        let raw = msg.to_vec().unwrap();
        assert_eq!(compressed_srv_targets(&raw).unwrap(), [false]);
    }

    #[test]
    fn cut_short_answers_are_said_not_to_parse() {
        let raw = srv_answer(7, false);
        assert!(compressed_srv_targets(&raw[..raw.len() - 3]).is_err());
        assert!(matches!(decode(&raw[..5]), Lookup::Failed(_)));
    }
}
