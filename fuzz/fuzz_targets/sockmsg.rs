//! The decoders of what `sendmsg` reads from guest memory (`msghdr`,
//! `iovec`s, control messages) on arbitrary bytes: never a panic, and
//! control messages that decode re-encode to the same walk.
#![no_main]

use condo::sockmsg::{decode_control, decode_iovecs, encode_control, MsgHdr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = MsgHdr::decode(data);
    let _ = decode_iovecs(data);
    if let Ok(cmsgs) = decode_control(data) {
        let again = decode_control(&encode_control(&cmsgs)).expect("re-encoded control decodes");
        assert_eq!(again, cmsgs);
    }
});
