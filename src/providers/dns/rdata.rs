//! rigger's record data as DNS's own: what an UPDATE carries and what a DNS server
//! serves are the same records.

use hickory_proto::rr::rdata::{A, AAAA, CNAME, SRV, TXT};
use hickory_proto::rr::{Name, RData};

use crate::providers::RecordData;

/// `name` as a fully qualified name (the root for an empty one).
pub fn fqdn(name: &str) -> Result<Name, String> {
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.is_empty() {
        return Ok(Name::root());
    }
    Name::from_ascii(format!("{bare}."))
        .map_err(|e| format!("{name:?} is not a valid DNS name: {e}"))
}

/// `data` as a record's data on the wire.
pub fn rdata(data: &RecordData) -> Result<RData, String> {
    Ok(match data {
        RecordData::A { content } => RData::A(A(*content)),
        RecordData::AAAA { content } => RData::AAAA(AAAA(*content)),
        RecordData::CNAME { content } => RData::CNAME(CNAME(fqdn(content)?)),
        RecordData::TXT { content } => {
            // A TXT character-string holds at most 255 bytes.
            let bytes = content.as_bytes();
            let chunks: Vec<&[u8]> = if bytes.is_empty() {
                vec![&[][..]]
            } else {
                bytes.chunks(255).collect()
            };
            RData::TXT(TXT::from_bytes(chunks))
        }
        RecordData::SRV {
            priority,
            weight,
            port,
            target,
        } => RData::SRV(SRV::new(*priority, *weight, *port, fqdn(target)?)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_txt_is_cut_into_strings_of_255_bytes() {
        let RData::TXT(txt) = rdata(&RecordData::TXT {
            content: "x".repeat(300),
        })
        .unwrap() else {
            panic!("not a TXT");
        };
        let lengths: Vec<usize> = txt.txt_data.iter().map(|s| s.len()).collect();
        assert_eq!(lengths, [255, 45]);
        assert_eq!(fqdn("").unwrap(), Name::root());
        assert_eq!(fqdn("a.test.").unwrap(), fqdn("a.test").unwrap());
    }
}
