//! A classic-BPF interpreter for seccomp programs, used to check the emitter
//! (unit tests, proptest, fuzzing). It implements the instructions seccomp
//! accepts and fails, rather than guesses, on anything else.

use super::emit::{JA, JEQ_K, JGE_K, JSET_K, LD_W_ABS, RET_K};

/// Why a program could not be run to a verdict.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InterpError {
    /// The program counter left the program.
    #[error("jump out of the program at instruction {pc}")]
    OutOfBounds {
        /// Where it happened.
        pc: usize,
    },
    /// A load outside `seccomp_data` or misaligned.
    #[error("bad load offset {offset} at instruction {pc}")]
    BadLoad {
        /// Where it happened.
        pc: usize,
        /// The offset.
        offset: u32,
    },
    /// An opcode this interpreter (and our emitter) does not use.
    #[error("unsupported opcode {code:#x} at instruction {pc}")]
    Unsupported {
        /// Where it happened.
        pc: usize,
        /// The opcode.
        code: u16,
    },
}

/// Runs `prog` on the 64-byte `seccomp_data` and returns the filter's
/// return value (`SECCOMP_RET_*`).
pub fn run(prog: &[libc::sock_filter], data: &[u8; 64]) -> Result<u32, InterpError> {
    let mut acc: u32 = 0;
    let mut pc: usize = 0;
    // Classic BPF only jumps forward, so this terminates within len steps.
    loop {
        let insn = prog.get(pc).ok_or(InterpError::OutOfBounds { pc })?;
        let next = pc + 1;
        match insn.code {
            LD_W_ABS => {
                let off = insn.k as usize;
                if off % 4 != 0 || off + 4 > data.len() {
                    return Err(InterpError::BadLoad { pc, offset: insn.k });
                }
                acc = u32::from_le_bytes([data[off], data[off + 1], data[off + 2], data[off + 3]]);
                pc = next;
            }
            JA => pc = next + insn.k as usize,
            JEQ_K | JGE_K | JSET_K => {
                let taken = match insn.code {
                    JEQ_K => acc == insn.k,
                    JGE_K => acc >= insn.k,
                    _ => acc & insn.k != 0,
                };
                pc = next + usize::from(if taken { insn.jt } else { insn.jf });
            }
            RET_K => return Ok(insn.k),
            code => return Err(InterpError::Unsupported { pc, code }),
        }
    }
}
