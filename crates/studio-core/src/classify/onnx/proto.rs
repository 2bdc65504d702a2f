//! The few protocol-buffer messages an ONNX file needs, written by hand.
//!
//! Why not a protobuf crate: we only ever write, a handful of message kinds, and the
//! weights must stream to disk without being copied into nested buffers (a 470 MB model
//! would otherwise sit in memory three times). A message here is a list of fields whose
//! encoded length is computed before it is written, so nesting costs no copies.
//!
//! Field numbers are those of `onnx.proto` (ONNX 1.x, IR version 8).

use std::io::{self, Write};

/// One field of a message.
enum Field {
    /// A varint-encoded scalar (int32, int64, enum).
    Varint(u32, u64),
    /// A 32-bit float.
    Float(u32, f32),
    /// Bytes or a UTF-8 string.
    Bytes(u32, Vec<u8>),
    /// A nested message.
    Message(u32, Message),
}

/// A protocol-buffer message under construction.
#[derive(Default)]
pub struct Message {
    fields: Vec<Field>,
}

const WIRE_VARINT: u32 = 0;
const WIRE_LEN: u32 = 2;
const WIRE_FIXED32: u32 = 5;

fn varint_len(mut v: u64) -> u64 {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn write_varint(w: &mut impl Write, mut v: u64) -> io::Result<()> {
    let mut buf = [0u8; 10];
    let mut i = 0;
    while v >= 0x80 {
        buf[i] = (v as u8) | 0x80;
        v >>= 7;
        i += 1;
    }
    buf[i] = v as u8;
    w.write_all(&buf[..=i])
}

fn key(field: u32, wire: u32) -> u64 {
    u64::from(field << 3 | wire)
}

impl Message {
    /// An empty message.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an integer field (negative values are written as ten-byte varints, as
    /// protobuf does for int64).
    pub fn int(mut self, field: u32, v: i64) -> Self {
        self.fields.push(Field::Varint(field, v as u64));
        self
    }

    /// Adds a float field.
    pub fn float(mut self, field: u32, v: f32) -> Self {
        self.fields.push(Field::Float(field, v));
        self
    }

    /// Adds a string field.
    pub fn string(self, field: u32, s: &str) -> Self {
        self.bytes(field, s.as_bytes().to_vec())
    }

    /// Adds a bytes field.
    pub fn bytes(mut self, field: u32, b: Vec<u8>) -> Self {
        self.fields.push(Field::Bytes(field, b));
        self
    }

    /// Adds a nested message.
    pub fn message(mut self, field: u32, m: Message) -> Self {
        self.fields.push(Field::Message(field, m));
        self
    }

    /// Adds a nested message in place (for repeated fields filled in a loop).
    pub fn push(&mut self, field: u32, m: Message) {
        self.fields.push(Field::Message(field, m));
    }

    /// The encoded size in bytes.
    pub fn encoded_len(&self) -> u64 {
        self.fields
            .iter()
            .map(|f| match f {
                Field::Varint(n, v) => varint_len(key(*n, WIRE_VARINT)) + varint_len(*v),
                Field::Float(n, _) => varint_len(key(*n, WIRE_FIXED32)) + 4,
                Field::Bytes(n, b) => {
                    let len = b.len() as u64;
                    varint_len(key(*n, WIRE_LEN)) + varint_len(len) + len
                }
                Field::Message(n, m) => {
                    let len = m.encoded_len();
                    varint_len(key(*n, WIRE_LEN)) + varint_len(len) + len
                }
            })
            .sum()
    }

    /// Writes the message (without a length prefix: a whole file's top message).
    pub fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        for f in &self.fields {
            match f {
                Field::Varint(n, v) => {
                    write_varint(w, key(*n, WIRE_VARINT))?;
                    write_varint(w, *v)?;
                }
                Field::Float(n, v) => {
                    write_varint(w, key(*n, WIRE_FIXED32))?;
                    w.write_all(&v.to_le_bytes())?;
                }
                Field::Bytes(n, b) => {
                    write_varint(w, key(*n, WIRE_LEN))?;
                    write_varint(w, b.len() as u64)?;
                    w.write_all(b)?;
                }
                Field::Message(n, m) => {
                    write_varint(w, key(*n, WIRE_LEN))?;
                    write_varint(w, m.encoded_len())?;
                    m.write_to(w)?;
                }
            }
        }
        Ok(())
    }

    /// The encoded bytes (for tests).
    #[cfg(test)]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len() as usize);
        self.write_to(&mut out)
            .expect("writing to a Vec cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_protobuf_does() {
        // Reference bytes from the protobuf encoding rules: field 1 varint 150 is
        // 08 96 01; field 2 string "testing" is 12 07 74 65 73 74 69 6e 67.
        let m = Message::new().int(1, 150).string(2, "testing");
        assert_eq!(
            m.to_bytes(),
            [0x08, 0x96, 0x01, 0x12, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g']
        );
        // Nested: field 3 holding the message above.
        let outer = Message::new().message(3, Message::new().int(1, 150));
        assert_eq!(outer.to_bytes(), [0x1a, 0x03, 0x08, 0x96, 0x01]);
        assert_eq!(outer.encoded_len(), 5);
        // A negative int64 takes ten bytes; a float is little-endian fixed32.
        assert_eq!(Message::new().int(1, -1).to_bytes().len(), 11);
        assert_eq!(
            Message::new().float(2, 1.0).to_bytes(),
            [0x15, 0x00, 0x00, 0x80, 0x3f]
        );
    }
}
