/**
 * The target description gdb reads with `qXfer:features:read:target.xml` ("Target
 * Descriptions" and "RISC-V Features" in the gdb manual), and the register numbering the stub
 * uses for `g`/`p`/`P`.
 *
 * Features:
 * - `org.gnu.gdb.riscv.cpu`: x0..x31 under the names gdb's riscv-tdep.c looks for (zero, ra, sp,
 *   ..., fp for x8) and pc. Numbers 0-31 and 32.
 * - `org.gnu.gdb.riscv.fpu` (when the harts have F/D): f0..f31 under their ABI names (ft0, ...,
 *   ft11) as 64-bit `riscv_double` (float/double union), then fflags, frm, fcsr (32 bits).
 * - `org.gnu.gdb.riscv.virtual`: `priv`, as QEMU encodes it: priv | V << 2.
 * - `org.gnu.gdb.riscv.csr`: every CSR the target implements, under gdb's names (those of
 *   binutils' riscv-opc.h, which hvtrace's disassembler also uses), so `p $satp`, `p $hstatus` and
 *   `info registers csr` work.
 *
 * Numbering is gdb's own internal RISC-V numbering (riscv-tdep.h), which QEMU's descriptions
 * also reproduce for the fixed part: x = 0-31, pc = 32, f = 33-64, CSR c = 65 + c (so fflags 66,
 * frm 67, fcsr 68), priv = 65 + 4096. gdb reads the `regnum` attributes, so the `p`/`P` numbers
 * are exactly these.
 */
import type { CsrInfo, RegRef } from './target.js';

export const X_NAMES = [
  'zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 'fp', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5',
  'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6',
] as const;

export const F_NAMES = [
  'ft0', 'ft1', 'ft2', 'ft3', 'ft4', 'ft5', 'ft6', 'ft7', 'fs0', 'fs1', 'fa0', 'fa1', 'fa2', 'fa3', 'fa4', 'fa5',
  'fa6', 'fa7', 'fs2', 'fs3', 'fs4', 'fs5', 'fs6', 'fs7', 'fs8', 'fs9', 'fs10', 'fs11', 'ft8', 'ft9', 'ft10', 'ft11',
] as const;

export const PC_REGNUM = 32;
export const FIRST_FP_REGNUM = 33;
export const FIRST_CSR_REGNUM = 65;
export const PRIV_REGNUM = FIRST_CSR_REGNUM + 4096;

/** CSR numbers the .fpu feature carries (not repeated in .csr). */
const FP_CSRS = new Map<number, string>([[1, 'fflags'], [2, 'frm'], [3, 'fcsr']]);

/** One register of the description: its gdb number, reference for the target, and width. */
export interface RegDesc {
  readonly regnum: number;
  readonly name: string;
  readonly ref: RegRef;
  /** Width in bytes on the wire. */
  readonly bytes: number;
}

export interface TargetLayout {
  readonly xml: string;
  /** By gdb register number. */
  readonly regs: ReadonlyMap<number, RegDesc>;
  /** The `g` packet's registers, in order (x0..x31, pc). */
  readonly gRegs: readonly RegDesc[];
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A CSR's name as a gdb register name: its own when it is an identifier, else csrXXX (as QEMU). */
export function csrRegName(c: CsrInfo): string {
  return /^[a-z][a-z0-9_]*$/i.test(c.name) ? c.name : `csr${c.num.toString(16).padStart(3, '0')}`;
}

export function buildTargetLayout(opts: { hasFpu: boolean; csrs: readonly CsrInfo[] }): TargetLayout {
  const regs = new Map<number, RegDesc>();
  const lines: string[] = [];
  lines.push('<?xml version="1.0"?>');
  lines.push('<!DOCTYPE target SYSTEM "gdb-target.dtd">');
  lines.push('<target version="1.0">');
  lines.push('  <architecture>riscv:rv64</architecture>');
  // Not GNU/Linux (gdb-multiarch's default on a Linux host): its riscv-linux ABI single-steps in
  // software (a breakpoint at the next pc, then continue) instead of asking the stub for `s`.
  lines.push('  <osabi>none</osabi>');

  lines.push('  <feature name="org.gnu.gdb.riscv.cpu">');
  for (let i = 0; i < 32; i++) {
    const type = i === 1 ? 'code_ptr' : i >= 2 && i <= 4 ? 'data_ptr' : 'int';
    lines.push(`    <reg name="${X_NAMES[i]}" bitsize="64" type="${type}" regnum="${i}"/>`);
    regs.set(i, { regnum: i, name: X_NAMES[i]!, ref: { kind: 'x', index: i }, bytes: 8 });
  }
  lines.push(`    <reg name="pc" bitsize="64" type="code_ptr" regnum="${PC_REGNUM}"/>`);
  regs.set(PC_REGNUM, { regnum: PC_REGNUM, name: 'pc', ref: { kind: 'pc' }, bytes: 8 });
  lines.push('  </feature>');
  const gRegs = [...regs.values()];

  if (opts.hasFpu) {
    lines.push('  <feature name="org.gnu.gdb.riscv.fpu">');
    lines.push('    <union id="riscv_double">');
    lines.push('      <field name="float" type="ieee_single"/>');
    lines.push('      <field name="double" type="ieee_double"/>');
    lines.push('    </union>');
    for (let i = 0; i < 32; i++) {
      const n = FIRST_FP_REGNUM + i;
      lines.push(`    <reg name="${F_NAMES[i]}" bitsize="64" type="riscv_double" regnum="${n}"/>`);
      regs.set(n, { regnum: n, name: F_NAMES[i]!, ref: { kind: 'f', index: i }, bytes: 8 });
    }
    for (const [csr, name] of FP_CSRS) {
      const n = FIRST_CSR_REGNUM + csr;
      lines.push(`    <reg name="${name}" bitsize="32" type="int" regnum="${n}"/>`);
      regs.set(n, { regnum: n, name, ref: { kind: 'csr', csr }, bytes: 4 });
    }
    lines.push('  </feature>');
  }

  lines.push('  <feature name="org.gnu.gdb.riscv.virtual">');
  lines.push(`    <reg name="priv" bitsize="64" type="int" regnum="${PRIV_REGNUM}"/>`);
  regs.set(PRIV_REGNUM, { regnum: PRIV_REGNUM, name: 'priv', ref: { kind: 'priv' }, bytes: 8 });
  lines.push('  </feature>');

  lines.push('  <feature name="org.gnu.gdb.riscv.csr">');
  const seen = new Set<number>();
  for (const c of [...opts.csrs].sort((a, b) => a.num - b.num)) {
    if (!Number.isInteger(c.num) || c.num < 0 || c.num > 0xfff || seen.has(c.num)) continue;
    seen.add(c.num);
    const n = FIRST_CSR_REGNUM + c.num;
    if (regs.has(n)) continue; // fflags / frm / fcsr, already in .fpu
    const name = csrRegName(c);
    lines.push(`    <reg name="${xmlEscape(name)}" bitsize="64" type="int" regnum="${n}" group="csr"/>`);
    regs.set(n, { regnum: n, name, ref: { kind: 'csr', csr: c.num }, bytes: 8 });
  }
  lines.push('  </feature>');
  lines.push('</target>');
  return { xml: `${lines.join('\n')}\n`, regs, gRegs };
}
