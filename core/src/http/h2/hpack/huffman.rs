//! Huffman coding of HPACK string literals (RFC 7541 §5.2, Appendix B).
//! Decoding walks a binary tree built once from the code table; a string
//! that decodes EOS, or ends in padding longer than 7 bits or not all
//! ones, is an error.

use std::sync::OnceLock;

use super::huffman_table::CODES;

const EOS: u16 = 256;

/// A node's two children: a node index, or `LEAF | symbol`.
type Node = [u16; 2];
const LEAF: u16 = 0x8000;
const EMPTY: u16 = 0;

fn tree() -> &'static [Node] {
    static TREE: OnceLock<Vec<Node>> = OnceLock::new();
    TREE.get_or_init(|| {
        let mut nodes: Vec<Node> = vec![[EMPTY; 2]];
        for (sym, &(code, len)) in CODES.iter().enumerate() {
            let mut at = 0usize;
            for i in (0..len).rev() {
                let bit = ((code >> i) & 1) as usize;
                if i == 0 {
                    nodes[at][bit] = LEAF | sym as u16;
                } else {
                    if nodes[at][bit] == EMPTY {
                        nodes.push([EMPTY; 2]);
                        nodes[at][bit] = (nodes.len() - 1) as u16;
                    }
                    at = usize::from(nodes[at][bit]);
                }
            }
        }
        nodes
    })
}

/// Appends the decoded `src` to `out`; `Err` if it is not a valid code.
pub(super) fn decode(src: &[u8], out: &mut Vec<u8>) -> Result<(), ()> {
    let tree = tree();
    let mut at = 0usize;
    // Bits walked since the last symbol, and whether all were ones.
    let mut depth = 0u32;
    let mut all_ones = true;
    for &byte in src {
        for i in (0..8).rev() {
            let bit = usize::from((byte >> i) & 1);
            let next = tree[at][bit];
            depth += 1;
            all_ones &= bit == 1;
            if next & LEAF != 0 {
                let sym = next & !LEAF;
                if sym == EOS {
                    return Err(());
                }
                out.push(sym as u8);
                at = 0;
                depth = 0;
                all_ones = true;
            } else if next == EMPTY {
                return Err(());
            } else {
                at = usize::from(next);
            }
        }
    }
    if depth > 7 || !all_ones {
        return Err(());
    }
    Ok(())
}

/// Appends the Huffman code of `src` to `out`.
pub(super) fn encode(src: &[u8], out: &mut Vec<u8>) {
    let mut acc: u64 = 0;
    let mut bits = 0u32;
    for &b in src {
        let (code, len) = CODES[usize::from(b)];
        acc = (acc << len) | u64::from(code);
        bits += u32::from(len);
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits > 0 {
        out.push(((acc << (8 - bits)) | (0xff >> bits)) as u8);
    }
}

/// The length of `src` Huffman-coded, in bytes.
pub(super) fn encoded_len(src: &[u8]) -> usize {
    let bits: usize = src
        .iter()
        .map(|&b| usize::from(CODES[usize::from(b)].1))
        .sum();
    bits.div_ceil(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7541_c4_examples() {
        let cases: [(&[u8], &[u8]); 3] = [
            (
                b"www.example.com",
                &[
                    0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
                ],
            ),
            (b"no-cache", &[0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf]),
            (
                b"custom-key",
                &[0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xa9, 0x7d, 0x7f],
            ),
        ];
        for (plain, coded) in cases {
            let mut enc = Vec::new();
            encode(plain, &mut enc);
            assert_eq!(enc, coded);
            assert_eq!(encoded_len(plain), coded.len());
            let mut dec = Vec::new();
            decode(coded, &mut dec).unwrap();
            assert_eq!(dec, plain);
        }
    }

    #[test]
    fn every_byte_round_trips_and_bad_padding_is_refused() {
        let all: Vec<u8> = (0..=255).collect();
        let mut enc = Vec::new();
        encode(&all, &mut enc);
        let mut dec = Vec::new();
        decode(&enc, &mut dec).unwrap();
        assert_eq!(dec, all);
        // 'a' is 00011 (5 bits): padding with zeros is invalid.
        assert!(decode(&[0b0001_1000], &mut Vec::new()).is_err());
        // A whole byte of ones as padding is longer than 7 bits.
        assert!(decode(&[0b0001_1111, 0xff], &mut Vec::new()).is_err());
        // EOS itself (30 ones) is an error.
        assert!(decode(&[0xff, 0xff, 0xff, 0xff], &mut Vec::new()).is_err());
    }
}
