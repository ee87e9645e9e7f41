//! What a snapshot file holds, read as `etcdutl snapshot status` reads it: the CRC-32C
//! of every bucket's name, keys and values in order (its `hash`), the newest revision
//! in the `key` bucket, how many entries the buckets hold (3.5's `totalKey`) and the
//! database's size; and what etcd 3.6 counts instead, the live keys. A file saved from
//! the snapshot stream ends with the sha256 of the database, which is checked first.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::bolt::{Bolt, Item};

/// A snapshot file's contents, as read.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileStatus {
    /// etcdutl's hash (CRC-32C), in its hex form.
    pub hash: String,
    pub revision: u64,
    /// Entries in every bucket, as etcdutl 3.5 counts them (`totalKey`).
    pub total_key: u64,
    /// Keys alive at `revision` (etcdutl 3.6's `totalKey`).
    pub keys: u64,
    /// The database's size as bbolt counts it (`totalSize`).
    pub total_size: u64,
    /// The file's length, trailer included.
    pub bytes: u64,
    /// The sha256 of the database (hex), checked against the trailer.
    pub sha256: String,
    /// The raft state it was taken at, from its `meta` bucket.
    pub consistent_index: u64,
    pub term: u64,
}

/// The database of a file that ends with its sha256, as `etcdctl snapshot save` writes
/// one (its length is then 32 past a multiple of 512), with that sha256 in hex; an
/// error saying why when the trailer is missing or does not match.
pub fn check_trailer(data: &[u8]) -> Result<(&[u8], String), String> {
    let mut check = TrailerCheck::default();
    check.update(data);
    let sha256 = check.finish()?;
    Ok((&data[..data.len() - 32], sha256))
}

/// `check_trailer` on a file as it streams in, so that nothing has to read it again for
/// its sha256: the database is hashed as it comes, all but the last 32 bytes seen.
#[derive(Default)]
pub struct TrailerCheck {
    hasher: Sha256,
    /// The last bytes seen (at most 32): the trailer, once the stream has ended.
    tail: Vec<u8>,
    len: u64,
}

impl TrailerCheck {
    pub fn update(&mut self, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        let keep = 32;
        if bytes.len() >= keep {
            self.hasher.update(&self.tail);
            let (body, tail) = bytes.split_at(bytes.len() - keep);
            self.hasher.update(body);
            self.tail.clear();
            self.tail.extend_from_slice(tail);
        } else {
            self.tail.extend_from_slice(bytes);
            let over = self.tail.len().saturating_sub(keep);
            self.hasher.update(&self.tail[..over]);
            self.tail.drain(..over);
        }
    }

    /// The database's sha256 in hex, once the trailer is known to match it.
    pub fn finish(self) -> Result<String, String> {
        if self.len <= 32 || self.len % 512 != 32 {
            return Err(format!(
                "it is {} bytes long, which is not a database followed by its sha256, as a snapshot saved from etcd is",
                self.len
            ));
        }
        let hash = self.hasher.finalize();
        if hash.as_slice() != self.tail {
            return Err(
                "its sha256 does not match the one etcd sent with it: the file is damaged".into(),
            );
        }
        Ok(hash.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// Reads the snapshot at `path`.
pub fn status(path: &Path) -> Result<FileStatus, String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let (db, sha256) = check_trailer(&data)?;
    read_database(db, sha256)
}

/// Reads the database `db` of a snapshot whose trailer, the sha256 `sha256`, was
/// checked already.
pub fn read_database(db: &[u8], sha256: String) -> Result<FileStatus, String> {
    let bolt = Bolt::open(db)?;
    // CRC-32C in the processor's own instruction where it has one (SSE 4.2): a large
    // snapshot's values cost a twentieth of a byte-wise table's time.
    let mut hash = 0u32;
    let mut bucket: &[u8] = b"";
    let (mut revision, mut total_key) = (0, 0);
    let mut live: BTreeSet<&[u8]> = BTreeSet::new();
    let (mut consistent_index, mut term) = (0, 0);
    let mut bad_key = None;
    bolt.walk_all(|item| match item {
        Item::Bucket(name) => {
            bucket = name;
            hash = crc32c::crc32c_append(hash, name);
        }
        Item::Entry(e) => {
            hash = crc32c::crc32c_append(hash, e.key);
            hash = crc32c::crc32c_append(hash, e.value);
            total_key += 1;
            match bucket {
                b"key" => match revision_of(e.key) {
                    Some((main, tombstone)) => {
                        revision = main;
                        if let Some(key) = user_key(e.value) {
                            if tombstone {
                                live.remove(key);
                            } else {
                                live.insert(key);
                            }
                        }
                    }
                    None => bad_key = Some(e.key.len()),
                },
                b"meta" => match e.key {
                    b"consistent_index" => consistent_index = big_endian(e.value),
                    b"term" => term = big_endian(e.value),
                    _ => {}
                },
                _ => {}
            }
        }
    })?;
    if let Some(len) = bad_key {
        return Err(format!(
            "its key bucket holds a key of {len} bytes, which is no revision"
        ));
    }
    Ok(FileStatus {
        hash: format!("{hash:x}"),
        revision,
        total_key,
        keys: live.len() as u64,
        total_size: bolt.size(),
        bytes: db.len() as u64 + 32,
        sha256,
        consistent_index,
        term,
    })
}

/// A revision key: the main revision (8 bytes, big-endian), `_`, the sub revision, and
/// `t` when it marks a deletion.
fn revision_of(key: &[u8]) -> Option<(u64, bool)> {
    if !(key.len() == 17 || key.len() == 18) || key[8] != b'_' {
        return None;
    }
    let tombstone = key.len() == 18 && key[17] == b't';
    Some((big_endian(&key[..8]), tombstone))
}

fn big_endian(bytes: &[u8]) -> u64 {
    bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

/// The user's key in an `mvccpb.KeyValue` (protobuf field 1, bytes).
fn user_key(value: &[u8]) -> Option<&[u8]> {
    bytes_field(value, 1)
}

/// The first length-delimited field `number` of the protobuf message `value` (bytes,
/// a string or a message), or `None` when it has none or is not one.
pub(super) fn bytes_field(value: &[u8], number: u64) -> Option<&[u8]> {
    let mut at = 0;
    while at < value.len() {
        let (tag, n) = varint(&value[at..])?;
        at += n;
        match tag & 7 {
            0 => at += varint(&value[at..])?.1,
            1 => at += 8,
            2 => {
                let (len, n) = varint(&value[at..])?;
                let start = at + n;
                let end = start.checked_add(usize::try_from(len).ok()?)?;
                if tag >> 3 == number {
                    return value.get(start..end);
                }
                at = end;
            }
            5 => at += 4,
            _ => return None,
        }
    }
    None
}

fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: usize = 4096;

    fn page_header(page: &mut [u8], id: u64, flags: u16, count: u16) {
        page[0..8].copy_from_slice(&id.to_le_bytes());
        page[8..10].copy_from_slice(&flags.to_le_bytes());
        page[10..12].copy_from_slice(&count.to_le_bytes());
    }

    fn meta_page(page: &mut [u8], id: u64, root: u64, pages: u64, txid: u64) {
        page_header(page, id, 0x04, 0);
        page[16..20].copy_from_slice(&0xED0C_DAEDu32.to_le_bytes());
        page[20..24].copy_from_slice(&2u32.to_le_bytes());
        page[24..28].copy_from_slice(&(PAGE as u32).to_le_bytes());
        page[32..40].copy_from_slice(&root.to_le_bytes());
        page[48..56].copy_from_slice(&u64::MAX.to_le_bytes());
        page[56..64].copy_from_slice(&pages.to_le_bytes());
        page[64..72].copy_from_slice(&txid.to_le_bytes());
        let sum = page[16..72].iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
        page[72..80].copy_from_slice(&sum.to_le_bytes());
    }

    /// A leaf page (or an inline bucket's page) holding `entries` (flags, key, value).
    fn leaf(id: u64, entries: &[(u32, Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        let mut page = vec![0u8; 16 + 16 * entries.len()];
        page_header(&mut page, id, 0x02, entries.len() as u16);
        for (i, (flags, k, v)) in entries.iter().enumerate() {
            let at = 16 + 16 * i;
            let pos = (page.len() - at) as u32;
            page[at..at + 4].copy_from_slice(&flags.to_le_bytes());
            page[at + 4..at + 8].copy_from_slice(&pos.to_le_bytes());
            page[at + 8..at + 12].copy_from_slice(&(k.len() as u32).to_le_bytes());
            page[at + 12..at + 16].copy_from_slice(&(v.len() as u32).to_le_bytes());
            page.extend_from_slice(k);
            page.extend_from_slice(v);
        }
        page
    }

    fn inline_bucket(entries: &[(u32, Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        let mut v = vec![0u8; 16];
        v.extend(leaf(0, entries));
        v
    }

    fn rev(main: u64, tombstone: bool) -> Vec<u8> {
        let mut k = main.to_be_bytes().to_vec();
        k.push(b'_');
        k.extend(0u64.to_be_bytes());
        if tombstone {
            k.push(b't');
        }
        k
    }

    /// An `mvccpb.KeyValue` with its key (field 1) after a create revision (field 2).
    fn kv(key: &str) -> Vec<u8> {
        let mut v = vec![0x10, 0x05, 0x0a, key.len() as u8];
        v.extend_from_slice(key.as_bytes());
        v
    }

    /// A three-page database: the metas, and a root leaf with the buckets `key` (a put
    /// of a and b, then a's deletion) and `meta` (consistent_index 7, term 2), both
    /// inline; then its sha256, as a saved snapshot ends.
    fn snapshot() -> Vec<u8> {
        let mut db = vec![0u8; 3 * PAGE];
        meta_page(&mut db[..PAGE], 0, 2, 3, 4);
        meta_page(&mut db[PAGE..2 * PAGE], 1, 2, 3, 3);
        let keys = inline_bucket(&[
            (0, rev(2, false), kv("a")),
            (0, rev(3, false), kv("b")),
            (0, rev(4, true), kv("a")),
        ]);
        let meta = inline_bucket(&[
            (0, b"consistent_index".to_vec(), 7u64.to_be_bytes().to_vec()),
            (0, b"term".to_vec(), 2u64.to_be_bytes().to_vec()),
        ]);
        let root = leaf(
            2,
            &[(1, b"key".to_vec(), keys), (1, b"meta".to_vec(), meta)],
        );
        db[2 * PAGE..2 * PAGE + root.len()].copy_from_slice(&root);
        let sum = Sha256::digest(&db);
        db.extend_from_slice(&sum);
        db
    }

    fn status_of(bytes: &[u8]) -> Result<FileStatus, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        std::fs::write(&path, bytes).unwrap();
        status(&path)
    }

    #[test]
    fn a_snapshot_is_read_as_etcdutl_reads_it() {
        let s = status_of(&snapshot()).unwrap();
        assert_eq!(s.revision, 4);
        assert_eq!(s.total_key, 5, "three revisions and two meta entries");
        assert_eq!(s.keys, 1, "a was deleted, b lives");
        assert_eq!(s.total_size, 3 * PAGE as u64);
        assert_eq!(s.bytes, 3 * PAGE as u64 + 32);
        assert_eq!((s.consistent_index, s.term), (7, 2));
        // The hash runs over the bucket names, keys and values in order.
        let mut stream = b"key".to_vec();
        for (k, v) in [
            (rev(2, false), kv("a")),
            (rev(3, false), kv("b")),
            (rev(4, true), kv("a")),
        ] {
            stream.extend(k);
            stream.extend(v);
        }
        stream.extend(b"meta");
        stream.extend(b"consistent_index");
        stream.extend(7u64.to_be_bytes());
        stream.extend(b"term");
        stream.extend(2u64.to_be_bytes());
        // CRC-32C's check value, as its specification gives it, before it is trusted.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        let want = crc32c::crc32c(&stream);
        assert_eq!(s.hash, format!("{want:x}"));
    }

    #[test]
    fn a_flipped_byte_or_a_missing_trailer_is_refused() {
        let mut file = snapshot();
        file[2 * PAGE + 100] ^= 1;
        assert!(status_of(&file).unwrap_err().contains("damaged"));
        let file = snapshot();
        let db = &file[..file.len() - 32];
        assert!(
            status_of(db)
                .unwrap_err()
                .contains("not a database followed by its sha256")
        );
    }

    #[test]
    fn the_trailer_checked_as_the_file_streams_in_is_the_one_checked_whole() {
        let file = snapshot();
        let (_, whole) = check_trailer(&file).unwrap();
        for size in [1, 7, 31, 32, 33, 500, file.len()] {
            let mut check = TrailerCheck::default();
            file.chunks(size).for_each(|c| check.update(c));
            assert_eq!(check.finish().unwrap(), whole, "pieces of {size}");
        }
        let mut damaged = file.clone();
        *damaged.last_mut().unwrap() ^= 1;
        let mut check = TrailerCheck::default();
        damaged.chunks(100).for_each(|c| check.update(c));
        assert!(check.finish().unwrap_err().contains("damaged"));
    }

    #[test]
    fn a_page_pointing_outside_the_database_is_an_error_not_a_panic() {
        let mut db = snapshot();
        db.truncate(db.len() - 32);
        // The root's first element made a bucket whose root page lies past the end.
        let root = 2 * PAGE;
        let first_value = root + 16 + 16 * 2 + 3;
        db[first_value..first_value + 8].copy_from_slice(&99u64.to_le_bytes());
        let sum = Sha256::digest(&db);
        db.extend_from_slice(&sum);
        let why = status_of(&db).unwrap_err();
        assert!(why.contains("page 99, outside the database"), "{why}");
        // Both meta pages damaged: no database at all.
        let mut db = snapshot();
        db.truncate(db.len() - 32);
        db[20] ^= 1;
        db[PAGE + 20] ^= 1;
        let sum = Sha256::digest(&db);
        db.extend_from_slice(&sum);
        assert!(
            status_of(&db)
                .unwrap_err()
                .contains("neither meta page is valid")
        );
    }
}
