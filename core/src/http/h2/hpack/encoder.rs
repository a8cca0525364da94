//! The HPACK encoder for responses: stateless (nothing is indexed, so the
//! client's table is never used), names from the static table by index,
//! strings Huffman-coded when shorter.

use super::huffman;
use super::static_table::name_index;

/// `:status`, indexed when the static table has it.
pub fn encode_status(status: u16, out: &mut Vec<u8>) {
    let index = match status {
        200 => 8,
        204 => 9,
        206 => 10,
        304 => 11,
        400 => 12,
        404 => 13,
        500 => 14,
        _ => 0,
    };
    if index != 0 {
        write_int(out, 0x80, 7, index);
        return;
    }
    let mut digits = itoa::Buffer::new();
    write_int(out, 0x00, 4, 8);
    write_string(out, digits.format(status).as_bytes());
}

/// A field as a literal without indexing; `name` must be lower case.
pub fn encode_field(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    match name_index(name) {
        Some(index) => write_int(out, 0x00, 4, index),
        None => {
            out.push(0x00);
            write_string(out, name);
        }
    }
    write_string(out, value);
}

fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    let huff_len = huffman::encoded_len(s);
    if huff_len < s.len() {
        write_int(out, 0x80, 7, huff_len);
        huffman::encode(s, out);
    } else {
        write_int(out, 0x00, 7, s.len());
        out.extend_from_slice(s);
    }
}

fn write_int(out: &mut Vec<u8>, high_bits: u8, prefix: u32, mut value: usize) {
    let mask = (1usize << prefix) - 1;
    if value < mask {
        out.push(high_bits | value as u8);
        return;
    }
    out.push(high_bits | mask as u8);
    value -= mask;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::super::Decoder;
    use super::*;

    #[test]
    fn what_is_encoded_decodes_back() {
        let mut block = Vec::new();
        encode_status(200, &mut block);
        encode_status(103, &mut block);
        encode_field(b"content-type", b"text/plain", &mut block);
        encode_field(b"x-long", &[b'z'; 300], &mut block);
        let mut fields = Vec::new();
        Decoder::new(4096)
            .decode(&block, usize::MAX, |n, v| {
                fields.push((n.to_vec(), v.to_vec()))
            })
            .unwrap();
        assert_eq!(fields[0], (b":status".to_vec(), b"200".to_vec()));
        assert_eq!(fields[1], (b":status".to_vec(), b"103".to_vec()));
        assert_eq!(
            fields[2],
            (b"content-type".to_vec(), b"text/plain".to_vec())
        );
        assert_eq!(fields[3].1.len(), 300);
    }
}
