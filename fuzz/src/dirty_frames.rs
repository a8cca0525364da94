//! The dirty protocol reader on any bytes: no panic, the same messages
//! however the input is split, and every payload that decodes encodes back
//! to bytes that decode and encode to the same bytes again (bytes, not
//! values: a NaN float is not equal to itself).

use rcorn_core::dirty::frame::{Frame, FrameReader};
use rcorn_core::dirty::tlv;

fn read_all(chunks: &[&[u8]]) -> (Vec<Frame>, bool) {
    let mut reader = FrameReader::new();
    let mut frames = Vec::new();
    for chunk in chunks {
        reader.feed(chunk);
        loop {
            match reader.poll_frame() {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(_) => return (frames, true),
            }
        }
    }
    (frames, false)
}

pub fn check_dirty_frames(data: &[u8]) {
    let Some((&cut, input)) = data.split_first() else {
        return;
    };
    let whole = read_all(&[input]);
    let at = (cut as usize).min(input.len());
    let (a, b) = input.split_at(at);
    assert_eq!(
        read_all(&[a, b]),
        whole,
        "split at {at} changed the messages"
    );
    for frame in &whole.0 {
        if let Ok(value) = frame.value() {
            let mut again = Vec::new();
            tlv::encode(&value, &mut again).expect("a decoded value encodes");
            let round = tlv::decode_full(&again).expect("an encoded value decodes");
            let mut third = Vec::new();
            tlv::encode(&round, &mut third).expect("a decoded value encodes");
            assert_eq!(third, again);
        }
    }
}
