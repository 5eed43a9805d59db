/**
 * A self-modifying guest for the translation tiers' tests (test/wasm-batch.test.ts,
 * test/wasm-compile-thread.test.ts): a loop that adds the immediate of its first instruction to
 * t1, 4 passes of 10 iterations, then one of 1000; after each pass the program rewrites that
 * instruction with an immediate one larger (a store into the loop's own page, while its region
 * is queued or being compiled). The interpreter ends with t1 = 10 * (1 + 2 + 3 + 4) + 1000 * 5.
 */
import { Asm, a0, a1, a6, a7, s3, s4, s5, s6, s7, t1, t2 } from './harness.js';

/** `addi t1, t1, imm`. */
const addiT1 = (imm: number): number => ((imm & 0xfff) << 20) | (t1 << 15) | (t1 << 7) | 0x13;

/** The program's image, linked at the built-in SBI's kernel address (0x8020_0000). */
export function smcProgram(): Uint8Array {
  const a = new Asm(0x8020_0000);
  a.la(s4, 'patch').li(s7, addiT1(1)).li(s6, 4).li(s5, 1 << 20);
  a.label('outer').li(s3, 10);
  a.bne(s6, 0, 'loop');
  a.li(s3, 1000);
  a.label('loop');
  a.label('patch').word(addiT1(1));
  a.addi(s3, s3, -1).bne(s3, 0, 'loop');
  a.beq(s6, 0, 'done');
  a.add(s7, s7, s5).sw(s7, 0, s4); // the next pass adds one more
  a.addi(s6, s6, -1).jal(0, 'outer');
  a.label('done').li(t2, 0);
  a.li(a7, 0x53525354).li(a6, 0).li(a0, 0).li(a1, 0).ecall();
  return a.assemble();
}
