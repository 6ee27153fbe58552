//! Fuzzes the trace decoder of `condo-syscalls`: any syscall, any registers,
//! any guest memory must decode, format and serialize without panicking, and
//! the JSON must stay structurally sound.
//!
//! Input layout (missing bytes read as zero):
//! - byte 0: bit 0 = aarch64 ABI, bit 1 = no memory at all, bits 2..=7 =
//!   "point register i into the memory region" for registers 0..=5
//! - bytes 1..3: syscall index into `Sysno::ALL` (little endian, modulo)
//! - byte 3: `max_str`; byte 4: `max_array`
//! - bytes 5..53: six registers, little endian
//! - the rest: guest memory, mapped at `BASE`

#![no_main]

use condo_syscalls::decode::{decode_args_on, format_call, format_return, DecodeOptions, Memory};
use condo_syscalls::{Arch, Sysno};
use libfuzzer_sys::fuzz_target;

const BASE: u64 = 0x7ff0_0000_0000;

/// One mapped region; reads past its end are partial, outside it fault.
struct Region<'a> {
    bytes: &'a [u8],
}

impl Memory for Region<'_> {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ()> {
        let off = addr.checked_sub(BASE).ok_or(())?;
        let off = usize::try_from(off).map_err(|_| ())?;
        let avail = self.bytes.get(off..).filter(|a| !a.is_empty()).ok_or(())?;
        let n = buf.len().min(avail.len());
        buf[..n].copy_from_slice(&avail[..n]);
        Ok(n)
    }
}

fn byte(data: &[u8], i: usize) -> u8 {
    data.get(i).copied().unwrap_or(0)
}

fuzz_target!(|data: &[u8]| {
    let ctl = byte(data, 0);
    let arch = if ctl & 1 == 0 { Arch::X86_64 } else { Arch::Aarch64 };
    let idx = usize::from(u16::from_le_bytes([byte(data, 1), byte(data, 2)]));
    let sysno = Sysno::ALL[idx % Sysno::ALL.len()];
    let opts = DecodeOptions { max_str: usize::from(byte(data, 3)), max_array: usize::from(byte(data, 4) % 64) };

    let mut raw = [0u64; 6];
    for (i, r) in raw.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        for (j, x) in b.iter_mut().enumerate() {
            *x = byte(data, 5 + i * 8 + j);
        }
        *r = u64::from_le_bytes(b);
    }
    let memory = data.get(53..).unwrap_or(&[]);
    for (i, r) in raw.iter_mut().enumerate() {
        if ctl & (4 << i) != 0 {
            *r = BASE + *r % (memory.len() as u64 + 1);
        }
    }
    let region = Region { bytes: memory };
    let mem: Option<&dyn Memory> = if ctl & 2 == 0 { Some(&region) } else { None };

    let args = decode_args_on(arch, sysno, &raw, mem, &opts);
    assert_eq!(args.len(), sysno.args_on(arch).len());
    let text = format_call(sysno, &args);
    assert!(text.starts_with(sysno.name()));
    let _ = format_return(raw[0] as i64);

    let mut json = String::new();
    for v in &args {
        json.clear();
        v.write_json(&mut json);
        assert!(!json.is_empty());
        // cheap structural check: brackets balance outside strings
        let (mut depth, mut in_str, mut esc) = (0i64, false, false);
        for c in json.chars() {
            match (in_str, esc, c) {
                (true, true, _) => esc = false,
                (true, false, '\\') => esc = true,
                (true, false, '"') => in_str = false,
                (false, _, '"') => in_str = true,
                (false, _, '[' | '{') => depth += 1,
                (false, _, ']' | '}') => depth -= 1,
                _ => {}
            }
            assert!(depth >= 0, "{json}");
            assert!(in_str || !c.is_control(), "{json}");
        }
        assert!(depth == 0 && !in_str, "{json}");
    }
});
