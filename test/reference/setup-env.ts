/**
 * The reference tests' paths from the environment: $QEMU (the qemu-system-riscv64 to run) and
 * $FW_JUMP (OpenSBI's fw_jump.bin). src/ reads no environment variable outside src/cli/
 * (test/layering-env.test.ts); the tests pass these in.
 */
import { setQemuPaths } from '../../src/diff/qemu-log.js';

setQemuPaths({ qemu: process.env['QEMU'], fwJump: process.env['FW_JUMP'] });
