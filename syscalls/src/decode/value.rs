//! [`Value`]: one decoded argument, and its two renderings.

use std::fmt::{self, Write as _};

/// One decoded argument.
///
/// `Display` renders it the way strace does; [`Value::write_json`] renders it
/// as a JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A number shown in hex.
    Hex(u64),
    /// A null pointer.
    Null,
    /// A file descriptor.
    Fd(i32),
    /// The `AT_FDCWD` pseudo descriptor.
    AtFdcwd,
    /// Bytes read from the guest (a string or buffer), cut to
    /// `DecodeOptions::max_str`; `truncated` says there was more.
    Str {
        /// The bytes, without any terminating NUL.
        bytes: Vec<u8>,
        /// Whether the guest data went on beyond `bytes`.
        truncated: bool,
    },
    /// A pointer that could not be read (the kernel would say `EFAULT`).
    BadAddr(u64),
    /// A flag word: the names that matched and the bits that did not.
    Flags {
        /// Names of the set flags, in table order.
        names: Vec<&'static str>,
        /// Bits no name covers, shown in hex.
        rest: u64,
    },
    /// An array read from the guest; the flag says it was cut to
    /// `DecodeOptions::max_array` elements.
    Array(Vec<Value>, bool),
    /// A symbolic constant: `SIGINT`, `SEEK_SET`, `AF_INET`, ...
    Named(&'static str),
    /// A pointer shown only as its address (not read, or not readable yet).
    Omitted(u64),
    /// A number shown in octal (file modes).
    Octal(u64),
    /// A structure read from the guest, e.g. a socket address:
    /// `{sa_family=AF_INET, sin_port=80, sin_addr="127.0.0.1"}`.
    Struct(Vec<(&'static str, Value)>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::UInt(u) => write!(f, "{u}"),
            Value::Hex(u) | Value::BadAddr(u) | Value::Omitted(u) => write!(f, "{u:#x}"),
            Value::Null => f.write_str("NULL"),
            Value::Fd(fd) => write!(f, "{fd}"),
            Value::AtFdcwd => f.write_str("AT_FDCWD"),
            Value::Str { bytes, truncated } => {
                f.write_char('"')?;
                for &b in bytes {
                    match b {
                        b'"' => f.write_str("\\\"")?,
                        b'\\' => f.write_str("\\\\")?,
                        b'\n' => f.write_str("\\n")?,
                        b'\t' => f.write_str("\\t")?,
                        b'\r' => f.write_str("\\r")?,
                        0x0b => f.write_str("\\v")?,
                        0x0c => f.write_str("\\f")?,
                        0x20..=0x7e => f.write_char(char::from(b))?,
                        _ => write!(f, "\\x{b:02x}")?,
                    }
                }
                f.write_char('"')?;
                if *truncated {
                    f.write_str("...")?;
                }
                Ok(())
            }
            Value::Flags { names, rest } => {
                if names.is_empty() {
                    return if *rest == 0 { f.write_str("0") } else { write!(f, "{rest:#x}") };
                }
                f.write_str(&names.join("|"))?;
                if *rest != 0 {
                    write!(f, "|{rest:#x}")?;
                }
                Ok(())
            }
            Value::Array(items, truncated) => {
                f.write_char('[')?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                if *truncated {
                    f.write_str(if items.is_empty() { "..." } else { ", ..." })?;
                }
                f.write_char(']')
            }
            Value::Named(n) => f.write_str(n),
            Value::Octal(m) => f.write_str(&octal(*m)),
            Value::Struct(fields) => {
                f.write_char('{')?;
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}={v}")?;
                }
                f.write_char('}')
            }
        }
    }
}

/// C's `%#03o`, which is how strace prints modes: `0644`, `000`, `007`.
fn octal(m: u64) -> String {
    let digits = format!("{m:o}");
    let s = if digits == "0" { digits } else { format!("0{digits}") };
    format!("{s:0>3}")
}

impl Value {
    /// Appends this value as JSON to `out`.
    ///
    /// Numbers are JSON numbers; addresses (`Hex`, `BadAddr`, `Omitted`) are
    /// `"0x..."` strings, since JSON numbers lose precision above 2^53;
    /// flags, named constants and modes are strings in their text form;
    /// guest bytes are a JSON string (invalid UTF-8 bytes as `\u00XX`, with
    /// `...` appended when truncated); arrays are arrays (a final `"..."`
    /// element when truncated); structs are objects.
    pub fn write_json(&self, out: &mut String) {
        match self {
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::UInt(u) => {
                let _ = write!(out, "{u}");
            }
            Value::Fd(fd) => {
                let _ = write!(out, "{fd}");
            }
            Value::Null => out.push_str("null"),
            Value::Str { bytes, truncated } => {
                out.push('"');
                json_escape_bytes(bytes, out);
                if *truncated {
                    out.push_str("...");
                }
                out.push('"');
            }
            Value::Array(items, truncated) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                if *truncated {
                    out.push_str(if items.is_empty() { "\"...\"" } else { ",\"...\"" });
                }
                out.push(']');
            }
            Value::Struct(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    json_escape_bytes(k.as_bytes(), out);
                    out.push_str("\":");
                    v.write_json(out);
                }
                out.push('}');
            }
            Value::Hex(_)
            | Value::BadAddr(_)
            | Value::Omitted(_)
            | Value::AtFdcwd
            | Value::Flags { .. }
            | Value::Named(_)
            | Value::Octal(_) => {
                // The text form of these is plain ASCII, but escape anyway so
                // the output stays valid whatever a table holds.
                out.push('"');
                json_escape_bytes(self.to_string().as_bytes(), out);
                out.push('"');
            }
        }
    }
}

/// JSON string body for arbitrary bytes: valid UTF-8 is kept (escaped as
/// JSON requires), each byte of an invalid sequence becomes `\u00XX`.
fn json_escape_bytes(bytes: &[u8], out: &mut String) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                    let _ = write!(out, "\\u{:04x}", u32::from(c));
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\u{:04x}", b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(v: &Value) -> String {
        let mut s = String::new();
        v.write_json(&mut s);
        s
    }

    #[test]
    fn display() {
        assert_eq!(
            Value::Str { bytes: b"a\"b\\\n\x1b\xff".to_vec(), truncated: true }.to_string(),
            r#""a\"b\\\n\x1b\xff"..."#
        );
        assert_eq!(Value::Flags { names: vec![], rest: 0 }.to_string(), "0");
        assert_eq!(Value::Flags { names: vec![], rest: 0x40 }.to_string(), "0x40");
        assert_eq!(Value::Flags { names: vec!["A", "B"], rest: 0x40 }.to_string(), "A|B|0x40");
        assert_eq!(Value::Array(vec![], true).to_string(), "[...]");
        assert_eq!(Value::Array(vec![Value::Int(1)], true).to_string(), "[1, ...]");
        assert_eq!(Value::Octal(0o644).to_string(), "0644");
        assert_eq!(Value::Octal(0).to_string(), "000");
        assert_eq!(Value::Octal(7).to_string(), "007");
        assert_eq!(Value::Octal(0o100755).to_string(), "0100755");
        assert_eq!(Value::Omitted(0x7ffd_0000).to_string(), "0x7ffd0000");
        assert_eq!(
            Value::Struct(vec![("a", Value::Named("AF_INET")), ("b", Value::UInt(80))]).to_string(),
            "{a=AF_INET, b=80}"
        );
    }

    #[test]
    fn json_forms() {
        assert_eq!(json(&Value::Int(-1)), "-1");
        assert_eq!(json(&Value::Null), "null");
        assert_eq!(json(&Value::Hex(255)), "\"0xff\"");
        assert_eq!(
            json(&Value::Str { bytes: b"\x00\x7f\xc3\xa9\xff\"".to_vec(), truncated: false }),
            r#""\u0000\u007fé\u00ff\"""#
        );
        assert_eq!(json(&Value::Array(vec![Value::Fd(3)], true)), "[3,\"...\"]");
        assert_eq!(json(&Value::Struct(vec![("k", Value::UInt(1))])), "{\"k\":1}");
    }
}
