//! A read-only walk through a bbolt database file (etcd's backend, and what a snapshot
//! holds): its top-level buckets in name order, and every entry of each in key order.
//! Only what reading needs: the newer valid meta page, branch and leaf pages, overflow
//! pages and inline buckets; every offset is checked against the file, so a damaged
//! file is an error, never a panic. The layout is bbolt's (native little-endian on the
//! platforms etcd ships for).

/// A page's header: id u64, flags u16, count u16, overflow u32.
const HEADER: usize = 16;
/// Branch and leaf elements are 16 bytes each, right after the header.
const ELEMENT: usize = 16;
const BRANCH: u16 = 0x01;
const LEAF: u16 = 0x02;
const META: u16 = 0x04;
const MAGIC: u32 = 0xED0C_DAED;
const VERSION: u32 = 2;
/// A leaf entry that is a bucket (its value the bucket's header).
const BUCKET_ENTRY: u32 = 0x01;
/// No real database nests this deep; a damaged one that loops would.
const MAX_DEPTH: usize = 64;

/// A bbolt file as its valid meta page describes it.
pub struct Bolt<'a> {
    data: &'a [u8],
    page_size: usize,
    root: u64,
    /// The high-water mark: pages below it make up the database.
    pages: u64,
}

/// What `walk_all` meets: a top-level bucket, then its entries.
pub enum Item<'a> {
    Bucket(&'a [u8]),
    Entry(Entry<'a>),
}

/// One entry of a bucket, as bbolt's cursor gives it: a sub-bucket's value is empty.
pub struct Entry<'a> {
    pub key: &'a [u8],
    pub value: &'a [u8],
    pub bucket: bool,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// bbolt's meta checksum: FNV-1a (64 bits).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A meta page at `at` when it is valid: (page size, root, high-water mark, txid).
fn meta(data: &[u8], at: usize) -> Option<(usize, u64, u64, u64)> {
    let page = data.get(at..at + HEADER + 64)?;
    let valid = u16_at(page, 8)? & META != 0
        && u32_at(page, 16)? == MAGIC
        && u32_at(page, 20)? == VERSION
        && u64_at(page, 72)? == fnv1a(&page[16..72]);
    valid.then_some(())?;
    let page_size = u32_at(page, 24)? as usize;
    Some((
        page_size,
        u64_at(page, 32)?,
        u64_at(page, 56)?,
        u64_at(page, 64)?,
    ))
}

impl<'a> Bolt<'a> {
    /// Reads the meta pages of the file `data`: the newer of the valid two is the
    /// database (bbolt writes them in turn).
    pub fn open(data: &'a [u8]) -> Result<Self, String> {
        let first = meta(data, 0);
        // The second meta page is one page in: found from the first's page size, or
        // at each size bbolt allows when the first is damaged.
        let second = first
            .and_then(|(size, ..)| meta(data, size))
            .or_else(|| (10..=16).find_map(|shift| meta(data, 1 << shift)));
        let newest = match (first, second) {
            (Some(a), Some(b)) => Some(if b.3 > a.3 { b } else { a }),
            (a, b) => a.or(b),
        };
        let (page_size, root, pages, _) =
            newest.ok_or("neither meta page is valid: not a bbolt database, or a damaged one")?;
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(format!("its meta page gives a page size of {page_size}"));
        }
        let size = pages.saturating_mul(page_size as u64);
        if size > data.len() as u64 {
            return Err(format!(
                "it says it is {size} bytes long, and the file has only {}",
                data.len()
            ));
        }
        Ok(Self {
            data,
            page_size,
            root,
            pages,
        })
    }

    /// The database's size, as bbolt counts it: every page up to the high-water mark.
    pub fn size(&self) -> u64 {
        self.pages * self.page_size as u64
    }

    /// Calls `f` with every top-level bucket in name order, each followed by its
    /// entries in key order.
    pub fn walk_all(&self, mut f: impl FnMut(Item<'a>)) -> Result<(), String> {
        let mut top = Vec::new();
        self.walk_page(self.root, 0, &mut |e| top.push(e))?;
        for (entry, header) in top {
            if !entry.bucket {
                return Err(format!(
                    "the top level holds {:?}, which is not a bucket",
                    String::from_utf8_lossy(entry.key)
                ));
            }
            f(Item::Bucket(entry.key));
            self.walk_bucket(header, 1, &mut |(e, _)| f(Item::Entry(e)))?;
        }
        Ok(())
    }

    /// The entries of a bucket whose header (root pgid, sequence, then an inline page
    /// when the root is 0) is `header`.
    fn walk_bucket(
        &self,
        header: &'a [u8],
        depth: usize,
        f: &mut dyn FnMut((Entry<'a>, &'a [u8])),
    ) -> Result<(), String> {
        let root = u64_at(header, 0).ok_or("a bucket header is cut short")?;
        if root == 0 {
            let page = header.get(16..).ok_or("an inline bucket is cut short")?;
            return self.walk(page, depth, f);
        }
        self.walk_page(root, depth, f)
    }

    /// The page `id`, with its overflow pages.
    fn page(&self, id: u64) -> Result<&'a [u8], String> {
        if id < 2 || id >= self.pages {
            return Err(format!("a page points at page {id}, outside the database"));
        }
        let start = id as usize * self.page_size;
        let overflow = u32_at(self.data, start + 12).ok_or("a page header is cut short")?;
        let len = (1 + overflow as usize) * self.page_size;
        if id + u64::from(overflow) >= self.pages {
            return Err(format!("page {id} runs past the end of the database"));
        }
        self.data
            .get(start..start + len)
            .ok_or_else(|| format!("page {id} runs past the end of the file"))
    }

    fn walk_page(
        &self,
        id: u64,
        depth: usize,
        f: &mut dyn FnMut((Entry<'a>, &'a [u8])),
    ) -> Result<(), String> {
        let page = self.page(id)?;
        self.walk(page, depth, f)
    }

    /// The entries under `page` (a branch or a leaf), in key order.
    fn walk(
        &self,
        page: &'a [u8],
        depth: usize,
        f: &mut dyn FnMut((Entry<'a>, &'a [u8])),
    ) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("its pages nest deeper than any database does: a loop".into());
        }
        let flags = u16_at(page, 8).ok_or("a page header is cut short")?;
        let count = usize::from(u16_at(page, 10).ok_or("a page header is cut short")?);
        for i in 0..count {
            let at = HEADER + i * ELEMENT;
            let bad = || format!("element {i} of a page lies outside it");
            if flags & BRANCH != 0 {
                let child = u64_at(page, at + 8).ok_or_else(bad)?;
                self.walk_page(child, depth + 1, f)?;
            } else if flags & LEAF != 0 {
                let entry_flags = u32_at(page, at).ok_or_else(bad)?;
                let pos = u32_at(page, at + 4).ok_or_else(bad)? as usize;
                let ksize = u32_at(page, at + 8).ok_or_else(bad)? as usize;
                let vsize = u32_at(page, at + 12).ok_or_else(bad)? as usize;
                let key_at = at + pos;
                let key = page.get(key_at..key_at + ksize).ok_or_else(bad)?;
                let value = page
                    .get(key_at + ksize..key_at + ksize + vsize)
                    .ok_or_else(bad)?;
                let bucket = entry_flags & BUCKET_ENTRY != 0;
                let shown = if bucket { &value[..0] } else { value };
                f((
                    Entry {
                        key,
                        value: shown,
                        bucket,
                    },
                    value,
                ));
            } else {
                return Err(format!(
                    "a page of kind {flags:#x} where a branch or leaf belongs"
                ));
            }
        }
        Ok(())
    }
}
