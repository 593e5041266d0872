//! The schema registry wire format: a magic byte 0, the schema id (4 bytes big-endian, or 8
//! for Apicurio's default encoding), and for Protobuf the message indexes, before the
//! payload. And the ids of schemas that live in the configuration (CRC-32C of the text).

use crate::violation::Violation;

/// How wide the schema id of a framed payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdWidth {
    /// 4 bytes (Confluent, Karapace, Apicurio `legacy`).
    Four,
    /// 8 bytes (Apicurio `default`).
    Eight,
}

impl IdWidth {
    fn bytes(self) -> usize {
        match self {
            Self::Four => 4,
            Self::Eight => 8,
        }
    }
}

/// Writes the frame of schema `id` before a payload.
pub fn frame(id: i64, width: IdWidth, out: &mut Vec<u8>) {
    out.push(0);
    match width {
        // The registry's ids are 32-bit; wider values cannot come from it.
        IdWidth::Four => out.extend_from_slice(&(id as i32).to_be_bytes()),
        IdWidth::Eight => out.extend_from_slice(&id.to_be_bytes()),
    }
}

/// Splits a framed payload into its schema id and the rest.
pub fn unframe(bytes: &[u8], width: IdWidth) -> Result<(i64, &[u8]), Violation> {
    let header = 1 + width.bytes();
    if bytes.len() < header || bytes[0] != 0 {
        return Err(Violation::whole(format!(
            "expected the schema registry wire format: a 0 byte and a {}-byte schema id before the payload",
            width.bytes()
        )));
    }
    let id = match width {
        IdWidth::Four => {
            let mut id = [0u8; 4];
            id.copy_from_slice(&bytes[1..5]);
            i64::from(i32::from_be_bytes(id))
        }
        IdWidth::Eight => {
            let mut id = [0u8; 8];
            id.copy_from_slice(&bytes[1..9]);
            i64::from_be_bytes(id)
        }
    };
    Ok((id, &bytes[header..]))
}

/// Writes Protobuf message indexes (zigzag varints: the count, then each index; `[0]` is
/// the single byte 0).
pub fn write_indexes(indexes: &[i32], out: &mut Vec<u8>) {
    if indexes == [0] {
        out.push(0);
        return;
    }
    write_zigzag(indexes.len() as i64, out);
    for &index in indexes {
        write_zigzag(i64::from(index), out);
    }
}

/// Reads Protobuf message indexes; returns them and the rest.
pub fn read_indexes(bytes: &[u8]) -> Result<(Vec<i32>, &[u8]), Violation> {
    let bad = || Violation::whole("the protobuf message indexes after the schema id are malformed");
    let (count, mut rest) = read_zigzag(bytes).ok_or_else(bad)?;
    if count == 0 {
        return Ok((vec![0], rest));
    }
    if !(1..=32).contains(&count) {
        return Err(bad());
    }
    let mut indexes = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let (index, after) = read_zigzag(rest).ok_or_else(bad)?;
        indexes.push(i32::try_from(index).map_err(|_| bad())?);
        rest = after;
    }
    Ok((indexes, rest))
}

/// Writes a zigzag varint.
pub(crate) fn write_zigzag(value: i64, out: &mut Vec<u8>) {
    let mut n = ((value << 1) ^ (value >> 63)) as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a zigzag varint; `None` when it is cut short or longer than 10 bytes.
pub(crate) fn read_zigzag(bytes: &[u8]) -> Option<(i64, &[u8])> {
    let mut n: u64 = 0;
    for (index, &byte) in bytes.iter().enumerate().take(10) {
        n |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            let value = ((n >> 1) as i64) ^ -((n & 1) as i64);
            return Some((value, &bytes[index + 1..]));
        }
    }
    None
}

/// The id of a schema kept in the configuration: the CRC-32C of its text, as Zilla's inline
/// and filesystem catalogs number them.
pub fn text_id(text: &str) -> i64 {
    i64::from(crc32c(text.as_bytes()) as i32)
}

/// CRC-32C (Castagnoli), bit by bit: schemas are hashed once per configuration.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0x82f6_3b78 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn frames_round_trip() {
        for width in [IdWidth::Four, IdWidth::Eight] {
            let mut out = Vec::new();
            frame(42, width, &mut out);
            out.extend_from_slice(b"payload");
            assert_eq!(unframe(&out, width).unwrap(), (42, &b"payload"[..]));
        }
        assert!(unframe(b"\x01\0\0\0\x01x", IdWidth::Four).is_err());
        assert!(unframe(b"\0\0", IdWidth::Four).is_err());
    }

    #[test]
    fn indexes_round_trip_and_zero_is_one_byte() {
        let mut out = Vec::new();
        write_indexes(&[0], &mut out);
        assert_eq!(out, [0]);
        for indexes in [vec![0], vec![1], vec![2, 0, 5]] {
            let mut out = Vec::new();
            write_indexes(&indexes, &mut out);
            out.push(9);
            assert_eq!(read_indexes(&out).unwrap(), (indexes, &[9u8][..]));
        }
        assert!(read_indexes(&[0x80]).is_err());
    }

    #[test]
    fn zigzag_round_trips_extremes() {
        for value in [0, -1, 1, -64, 64, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            write_zigzag(value, &mut out);
            assert_eq!(read_zigzag(&out), Some((value, &[][..])));
        }
    }
}
