//! The HPACK decoder: one header block in, fields out through a callback,
//! the dynamic table kept across blocks.
//!
//! Rules: integers over 2^28 and strings longer than the block are errors;
//! a dynamic table size update is allowed only before the first field and
//! up to our `SETTINGS_HEADER_TABLE_SIZE`; an index past the tables is an
//! error. Past `max_list_size`, fields are no longer handed out (or
//! copied) but the block is still decoded to its end, so the table stays
//! in step and the connection can go on.

use std::collections::VecDeque;

use super::field_size;
use super::huffman;
use super::static_table::STATIC;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HpackError {
    Truncated,
    IntegerOverflow,
    BadIndex,
    BadHuffman,
    BadTableSizeUpdate,
}

/// A dynamic table entry: name and value.
type Entry = (Box<[u8]>, Box<[u8]>);

pub struct Decoder {
    /// Newest first.
    entries: VecDeque<Entry>,
    size: usize,
    max_size: usize,
    /// The most the client may set `max_size` to: our SETTINGS value.
    limit: usize,
    name: Vec<u8>,
    value: Vec<u8>,
}

/// Whether a block's fields all fitted the list size limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fit {
    Whole,
    /// Some fields were not handed out: the list was over the limit.
    Oversize,
}

impl Decoder {
    /// A decoder whose table may hold `table_size` bytes.
    pub fn new(table_size: usize) -> Self {
        Decoder {
            entries: VecDeque::new(),
            size: 0,
            max_size: table_size,
            limit: table_size,
            name: Vec::new(),
            value: Vec::new(),
        }
    }

    /// Decodes one whole header block, calling `emit` for each field while
    /// the list stays within `max_list_size`.
    pub fn decode(
        &mut self,
        mut block: &[u8],
        max_list_size: usize,
        mut emit: impl FnMut(&[u8], &[u8]),
    ) -> Result<Fit, HpackError> {
        let mut list = 0usize;
        let mut fit = Fit::Whole;
        let mut first = true;
        while let Some(&b) = block.first() {
            if b & 0xe0 == 0x20 {
                if !first {
                    return Err(HpackError::BadTableSizeUpdate);
                }
                let size = read_int(&mut block, 5)?;
                if size > self.limit {
                    return Err(HpackError::BadTableSizeUpdate);
                }
                self.max_size = size;
                self.evict(0);
                continue;
            }
            first = false;
            let over = |list: usize, size: usize| list.saturating_add(size) > max_list_size;
            if b & 0x80 != 0 {
                let index = read_int(&mut block, 7)?;
                let (name, value) = self.get(index)?;
                let size = field_size(name, value);
                if fit == Fit::Whole && !over(list, size) {
                    emit(name, value);
                } else {
                    fit = Fit::Oversize;
                }
                list = list.saturating_add(size);
                continue;
            }
            let (prefix, index_it) = if b & 0x40 != 0 { (6, true) } else { (4, false) };
            let name_index = read_int(&mut block, prefix)?;
            let mut name = std::mem::take(&mut self.name);
            name.clear();
            if name_index == 0 {
                read_string(&mut block, &mut name)?;
            } else {
                name.extend_from_slice(self.get(name_index)?.0);
            }
            let mut value = std::mem::take(&mut self.value);
            value.clear();
            read_string(&mut block, &mut value)?;
            let size = field_size(&name, &value);
            if fit == Fit::Whole && !over(list, size) {
                emit(&name, &value);
            } else {
                fit = Fit::Oversize;
            }
            list = list.saturating_add(size);
            if index_it {
                self.insert(&name, &value);
            }
            self.name = name;
            self.value = value;
        }
        Ok(fit)
    }

    fn get(&self, index: usize) -> Result<(&[u8], &[u8]), HpackError> {
        match index {
            0 => Err(HpackError::BadIndex),
            1..=61 => Ok(STATIC[index - 1]),
            _ => self
                .entries
                .get(index - 62)
                .map(|(n, v)| (&n[..], &v[..]))
                .ok_or(HpackError::BadIndex),
        }
    }

    fn insert(&mut self, name: &[u8], value: &[u8]) {
        let size = field_size(name, value);
        if size > self.max_size {
            self.entries.clear();
            self.size = 0;
            return;
        }
        self.evict(size);
        self.entries.push_front((name.into(), value.into()));
        self.size += size;
    }

    /// Drops the oldest entries until `room` more bytes fit.
    fn evict(&mut self, room: usize) {
        while self.size + room > self.max_size {
            let Some((n, v)) = self.entries.pop_back() else {
                break;
            };
            self.size -= field_size(&n, &v);
        }
    }
}

/// An integer with an `prefix`-bit prefix (RFC 7541 §5.1).
fn read_int(block: &mut &[u8], prefix: u32) -> Result<usize, HpackError> {
    let mask = (1usize << prefix) - 1;
    let (&first, mut rest) = block.split_first().ok_or(HpackError::Truncated)?;
    let mut value = usize::from(first) & mask;
    if value == mask {
        let mut shift = 0;
        loop {
            let (&b, tail) = rest.split_first().ok_or(HpackError::Truncated)?;
            rest = tail;
            value += usize::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
            if shift > 21 {
                return Err(HpackError::IntegerOverflow);
            }
        }
    }
    *block = rest;
    Ok(value)
}

/// A string literal (RFC 7541 §5.2), appended to `out`.
fn read_string(block: &mut &[u8], out: &mut Vec<u8>) -> Result<(), HpackError> {
    let huff = block.first().ok_or(HpackError::Truncated)? & 0x80 != 0;
    let len = read_int(block, 7)?;
    if len > block.len() {
        return Err(HpackError::Truncated);
    }
    let (raw, rest) = block.split_at(len);
    *block = rest;
    if huff {
        huffman::decode(raw, out).map_err(|()| HpackError::BadHuffman)
    } else {
        out.extend_from_slice(raw);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(d: &mut Decoder, block: &[u8]) -> Vec<(String, String)> {
        let mut fields = Vec::new();
        let fit = d
            .decode(block, usize::MAX, |n, v| {
                fields.push((
                    String::from_utf8_lossy(n).into(),
                    String::from_utf8_lossy(v).into(),
                ))
            })
            .unwrap();
        assert_eq!(fit, Fit::Whole);
        fields
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc7541_c4_requests_with_huffman() {
        let mut d = Decoder::new(4096);
        let first = decode_all(&mut d, &hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"));
        assert_eq!(first[3], (":authority".into(), "www.example.com".into()));
        let second = decode_all(&mut d, &hex("8286 84be 5886 a8eb 1064 9cbf"));
        assert_eq!(second[3], (":authority".into(), "www.example.com".into()));
        assert_eq!(second[4], ("cache-control".into(), "no-cache".into()));
        let third = decode_all(
            &mut d,
            &hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"),
        );
        assert_eq!(third[4], ("custom-key".into(), "custom-value".into()));
        assert_eq!(d.size, 164);
    }

    #[test]
    fn bomb_of_indexed_references_is_cut_at_the_list_limit() {
        let mut d = Decoder::new(4096);
        // One 4000-byte value inserted, then referenced 1000 times.
        let mut block = vec![0x40, 0x01, b'x', 0x7f];
        let mut n = Vec::new();
        encode_len(3000 - 127, &mut n);
        block.extend_from_slice(&n);
        block.extend(std::iter::repeat_n(b'a', 3000));
        block.extend(std::iter::repeat_n(0xbe, 1000));
        let mut handed = 0usize;
        let fit = d
            .decode(&block, 65536, |n, v| handed += field_size(n, v))
            .unwrap();
        assert_eq!(fit, Fit::Oversize);
        assert!(handed <= 65536);
        // The table is still in step: the entry is there.
        assert_eq!(d.get(62).unwrap().0, b"x");
    }

    fn encode_len(mut v: usize, out: &mut Vec<u8>) {
        while v >= 128 {
            out.push((v % 128) as u8 | 0x80);
            v /= 128;
        }
        out.push(v as u8);
    }

    #[test]
    fn malformed_blocks_are_errors() {
        let mut d = Decoder::new(4096);
        let bad: [&[u8]; 5] = [
            &[0x80],
            &[0xff, 0x80, 0x80, 0x80, 0x80, 0x01],
            &[0x41, 0x05, b'a'],
            &[0x3f, 0xe2, 0x1f],
            &[0x82, 0x20],
        ];
        for block in bad {
            assert!(d.decode(block, usize::MAX, |_, _| {}).is_err(), "{block:?}");
        }
    }
}
