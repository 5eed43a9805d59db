/**
 * objdump-compatible RISC-V disassembler (RV64GC + Zicsr/Zifencei/Zihintpause
 * + privileged + H + Zba/Zbb/Zbc/Zbs/Zicond/Zicbom/Zicboz/Zicbop/Svinval).
 *
 * The reference is GNU objdump 2.40 (`riscv64-unknown-elf-objdump -d`, default
 * options, i.e. with aliases and ABI register names) disassembling an ELF whose
 * arch attribute is rv64gc_zihintpause_h_zba_zbb_zbc_zbs_zicbom_zicboz_zicbop_svinval and whose
 * priv-spec attribute is 1.12 (Zicond, newer than 2.40, as binutils 2.41 prints it).
 * test/disasm.test.ts checks this module against a fixture produced by that
 * objdump (scripts/gen-disasm-fixture.sh).
 *
 * Things objdump 2.40 does that are reproduced on purpose (they look odd but
 * they are what the tool prints, and hvtrace output is meant to be diffable
 * against it):
 *  - immediate forms of ALU ops are printed with the register-form mnemonic:
 *    addi -> "add a0,a1,5", andi -> "and", ori -> "or", xori -> "xor",
 *    slli/srli/srai -> "sll/srl/sra a0,a1,0x3", addiw -> "addw",
 *    slliw/srliw/sraiw -> "sllw/srlw/sraw", csrrwi/csrrsi/csrrci ->
 *    "csrrw/csrrs/csrrc a0,csr,5" (and csrw/csrs/csrc with rd=x0), while
 *    the usual aliases still win where they apply (li, mv, nop, not, seqz,
 *    zext.b, sext.w, neg(w), snez, sltz, sgtz, j, jal, jr, ret, beqz, ...);
 *  - a few legacy encodings outside RV64GC+H are still named (uret, hret,
 *    dret, sfence.vm), and 0xc0001073 (csrw cycle,zero) is "unimp";
 *  - compressed instructions print as their base-ISA equivalent with the
 *    same quirks (c.addi4spn -> "add s0,sp,8", c.slli -> "sll"), except HINT
 *    encodings which keep a "c." mnemonic ("c.nop 5", "c.li zero,3",
 *    "c.slli64 a0", "c.mv zero,a1", ...);
 *  - rounding mode is appended only when it is not dyn (111); the reserved
 *    values 101/110 print as "unknown";
 *  - fcvt.d.s / fcvt.d.w / fcvt.d.wu only decode with rm=000;
 *  - objdump annotates some operands with an absolute address ("# 1234
 *    <sym>"): loads/stores/jalr/addi(w) whose base is x0 or tp (or gp when
 *    the __global_pointer$ value is known), and — statefully — the second
 *    half of lui/auipc + addi/load/store/jalr pairs.  Pass a DisasmState in
 *    the options to get the stateful part when disassembling sequentially.
 */
import {
  matchOpcode,
  rd as rdOf,
  rs1 as rs1Of,
  rs2 as rs2Of,
  rs3 as rs3Of,
  immI,
  immS,
  immB,
  immU,
  immJ,
  csrOf,
} from './opcodes.js';

export const ABI_NAMES: readonly string[] = Object.freeze([
  'zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2',
  's0', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5',
  'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7',
  's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6',
]);

export const FABI_NAMES: readonly string[] = Object.freeze([
  'ft0', 'ft1', 'ft2', 'ft3', 'ft4', 'ft5', 'ft6', 'ft7',
  'fs0', 'fs1', 'fa0', 'fa1', 'fa2', 'fa3', 'fa4', 'fa5',
  'fa6', 'fa7', 'fs2', 'fs3', 'fs4', 'fs5', 'fs6', 'fs7',
  'fs8', 'fs9', 'fs10', 'fs11', 'ft8', 'ft9', 'ft10', 'ft11',
]);

// ----------------------------------------------------------------- CSRs ----
// Standard CSR names (unprivileged spec ch. 24 / privileged spec v20211203
// Tables 2.2-2.6, hypervisor ch. 8, plus the ratified extensions that
// binutils 2.40 also knows: V, Zkr, Smstateen, Sstc, Sscofpmf, AIA, Sdtrig).
const CSR_NAMES = new Map<number, string>([
  [0x001, 'fflags'], [0x002, 'frm'], [0x003, 'fcsr'], [0x008, 'vstart'], [0x009, 'vxsat'], [0x00a, 'vxrm'],
  [0x00f, 'vcsr'], [0x015, 'seed'], [0x100, 'sstatus'], [0x104, 'sie'], [0x105, 'stvec'],
  [0x106, 'scounteren'], [0x10a, 'senvcfg'], [0x10c, 'sstateen0'], [0x10d, 'sstateen1'], [0x10e, 'sstateen2'],
  [0x10f, 'sstateen3'], [0x114, 'sieh'], [0x140, 'sscratch'], [0x141, 'sepc'], [0x142, 'scause'],
  [0x143, 'stval'], [0x144, 'sip'], [0x14d, 'stimecmp'], [0x150, 'siselect'], [0x151, 'sireg'],
  [0x154, 'siph'], [0x15c, 'stopei'], [0x15d, 'stimecmph'], [0x180, 'satp'], [0x200, 'vsstatus'],
  [0x204, 'vsie'], [0x205, 'vstvec'], [0x214, 'vsieh'], [0x240, 'vsscratch'], [0x241, 'vsepc'],
  [0x242, 'vscause'], [0x243, 'vstval'], [0x244, 'vsip'], [0x24d, 'vstimecmp'], [0x250, 'vsiselect'],
  [0x251, 'vsireg'], [0x254, 'vsiph'], [0x25c, 'vstopei'], [0x25d, 'vstimecmph'], [0x280, 'vsatp'],
  [0x300, 'mstatus'], [0x301, 'misa'], [0x302, 'medeleg'], [0x303, 'mideleg'], [0x304, 'mie'],
  [0x305, 'mtvec'], [0x306, 'mcounteren'], [0x308, 'mvien'], [0x309, 'mvip'], [0x30a, 'menvcfg'],
  [0x30c, 'mstateen0'], [0x30d, 'mstateen1'], [0x30e, 'mstateen2'], [0x30f, 'mstateen3'], [0x310, 'mstatush'],
  [0x313, 'midelegh'], [0x314, 'mieh'], [0x318, 'mvienh'], [0x319, 'mviph'], [0x31a, 'menvcfgh'],
  [0x31c, 'mstateen0h'], [0x31d, 'mstateen1h'], [0x31e, 'mstateen2h'], [0x31f, 'mstateen3h'],
  [0x320, 'mcountinhibit'], [0x340, 'mscratch'], [0x341, 'mepc'], [0x342, 'mcause'], [0x343, 'mtval'],
  [0x344, 'mip'], [0x34a, 'mtinst'], [0x34b, 'mtval2'], [0x350, 'miselect'], [0x351, 'mireg'], [0x354, 'miph'],
  [0x35c, 'mtopei'], [0x5a8, 'scontext'], [0x600, 'hstatus'], [0x602, 'hedeleg'], [0x603, 'hideleg'],
  [0x604, 'hie'], [0x605, 'htimedelta'], [0x606, 'hcounteren'], [0x607, 'hgeie'], [0x608, 'hvien'],
  [0x609, 'hvictl'], [0x60a, 'henvcfg'], [0x60c, 'hstateen0'], [0x60d, 'hstateen1'], [0x60e, 'hstateen2'],
  [0x60f, 'hstateen3'], [0x613, 'hidelegh'], [0x615, 'htimedeltah'], [0x618, 'hvienh'], [0x61a, 'henvcfgh'],
  [0x61c, 'hstateen0h'], [0x61d, 'hstateen1h'], [0x61e, 'hstateen2h'], [0x61f, 'hstateen3h'], [0x643, 'htval'],
  [0x644, 'hip'], [0x645, 'hvip'], [0x646, 'hviprio1'], [0x647, 'hviprio2'], [0x64a, 'htinst'],
  [0x655, 'hviph'], [0x656, 'hviprio1h'], [0x657, 'hviprio2h'], [0x680, 'hgatp'], [0x6a8, 'hcontext'],
  [0x747, 'mseccfg'], [0x757, 'mseccfgh'], [0x7a0, 'tselect'], [0x7a1, 'tdata1'], [0x7a2, 'tdata2'],
  [0x7a3, 'tdata3'], [0x7a4, 'tinfo'], [0x7a5, 'tcontrol'], [0x7a8, 'mcontext'], [0x7aa, 'mscontext'],
  [0x7b0, 'dcsr'], [0x7b1, 'dpc'], [0x7b2, 'dscratch0'], [0x7b3, 'dscratch1'], [0xb00, 'mcycle'],
  [0xb02, 'minstret'], [0xb80, 'mcycleh'], [0xb82, 'minstreth'], [0xc00, 'cycle'], [0xc01, 'time'],
  [0xc02, 'instret'], [0xc20, 'vl'], [0xc21, 'vtype'], [0xc22, 'vlenb'], [0xc80, 'cycleh'], [0xc81, 'timeh'],
  [0xc82, 'instreth'], [0xda0, 'scountovf'], [0xdb0, 'stopi'], [0xe12, 'hgeip'], [0xeb0, 'vstopi'],
  [0xf11, 'mvendorid'], [0xf12, 'marchid'], [0xf13, 'mimpid'], [0xf14, 'mhartid'], [0xf15, 'mconfigptr'],
  [0xfb0, 'mtopi'],
]);
for (let i = 0; i < 16; i++) CSR_NAMES.set(0x3a0 + i, `pmpcfg${i}`);
for (let i = 0; i < 64; i++) CSR_NAMES.set(0x3b0 + i, `pmpaddr${i}`);
for (let i = 3; i < 32; i++) {
  CSR_NAMES.set(0x320 + i, `mhpmevent${i}`);
  CSR_NAMES.set(0x720 + i, `mhpmevent${i}h`); // Sscofpmf
  CSR_NAMES.set(0xb00 + i, `mhpmcounter${i}`);
  CSR_NAMES.set(0xb80 + i, `mhpmcounter${i}h`);
  CSR_NAMES.set(0xc00 + i, `hpmcounter${i}`);
  CSR_NAMES.set(0xc80 + i, `hpmcounter${i}h`);
}

/** Standard name of a CSR, or "0x7c0"-style hex for unknown ones (as objdump). */
export function csrName(csr: number): string {
  csr &= 0xfff;
  return CSR_NAMES.get(csr) ?? `0x${csr.toString(16)}`;
}

// ------------------------------------------------------------- Options ----

/**
 * objdump keeps, per register, the value loaded by the last lui/auipc into it
 * and prints "# <addr>" on the next instruction that uses that register as a
 * base for an addi/load/store/jalr (consuming the value).  Carry one of these
 * across sequential disassemble() calls to reproduce that.
 */
export class DisasmState {
  readonly hi: (bigint | undefined)[] = new Array<bigint | undefined>(32).fill(undefined);
  reset(): void {
    this.hi.fill(undefined);
  }
}

export function createDisasmState(): DisasmState {
  return new DisasmState();
}

export interface DisasmOptions {
  /** Return e.g. "main" or "main+0x10" for an address, or undefined. */
  symbolize?: (addr: bigint) => string | undefined;
  /** Sequential-disassembly state (see DisasmState). */
  state?: DisasmState;
  /** Value of __global_pointer$, if known: gp-relative accesses get annotated. */
  gp?: bigint;
}

export interface DisasmResult {
  text: string;
  length: 2 | 4;
}

// ------------------------------------------------------------- Helpers ----

const M64 = (1n << 64n) - 1n;
const X = ABI_NAMES;
const F = FABI_NAMES;
const RM = ['rne', 'rtz', 'rdn', 'rup', 'rmm', 'unknown', 'unknown', 'dyn'];
// FENCE predecessor/successor sets (bit 3..0 = I,O,R,W); 0 has no name.
const IORW = ['unknown', 'w', 'r', 'rw', 'o', 'ow', 'or', 'orw', 'i', 'iw', 'ir', 'irw', 'io', 'iow', 'ior', 'iorw'];

const hex = (n: number): string => '0x' + (n >>> 0).toString(16);
const sext32 = (v: bigint): bigint => BigInt.asIntN(32, v) & M64;

class Ctx {
  note: bigint | undefined = undefined;
  constructor(
    readonly pc: bigint,
    readonly opts: DisasmOptions | undefined,
  ) {}

  addr(a: bigint): string {
    a &= M64;
    const s = this.opts?.symbolize?.(a);
    return a.toString(16) + (s !== undefined ? ` <${s}>` : '');
  }

  target(off: number): string {
    return this.addr(this.pc + BigInt(off));
  }

  /** objdump's maybe_print_address(): decide the "# addr" annotation. */
  maybeAddr(base: number, off: number, wide: boolean): void {
    const st = this.opts?.state;
    const hi = st?.hi[base];
    let a: bigint;
    if (hi !== undefined) {
      a = (base !== 0 ? hi : 0n) + BigInt(off);
      st!.hi[base] = undefined;
    } else if (base === 3 && this.opts?.gp !== undefined) {
      a = this.opts.gp + BigInt(off);
    } else if (base === 4 || base === 0) {
      a = BigInt(off);
    } else {
      return;
    }
    a &= M64;
    this.note = wide ? sext32(a) : a;
  }

  setHi(reg: number, v: bigint): void {
    const st = this.opts?.state;
    if (st) st.hi[reg] = v & M64;
  }

  out(mn: string, ops?: string): string {
    let t = ops !== undefined && ops !== '' ? `${mn}\t${ops}` : mn;
    if (this.note !== undefined) t += ' # ' + this.addr(this.note);
    return t;
  }
}

/** Zicbop hints by imm[4:0] of `ori x0, rs1, imm`. */
const PREFETCH: Readonly<Record<number, string>> = { 0: 'prefetch.i', 1: 'prefetch.r', 3: 'prefetch.w' };

const rmSuffix = (i: number): string => {
  const rm = (i >>> 12) & 7;
  return rm === 7 ? '' : ',' + RM[rm];
};
const aqrl = (i: number): string => ['', '.rl', '.aq', '.aqrl'][(i >>> 25) & 3]!;

// ------------------------------------------------------ 32-bit decoding ----

function dis32(i: number, c: Ctx): string {
  i >>>= 0;
  const rd = rdOf(i);
  const rs1 = rs1Of(i);
  const rs2 = rs2Of(i);

  // Encodings objdump decodes that are not part of OPCODES (legacy/debug).
  switch (i) {
    case 0x00200073: return c.out('uret');
    case 0x20200073: return c.out('hret');
    case 0x7b200073: return c.out('dret');
    case 0xc0001073: return c.out('unimp'); // csrrw x0, cycle, x0
    case 0x0100000f: return c.out('pause'); // Zihintpause: fence w,0
  }
  if ((i & 0xfff07fff) === 0x10400073) return c.out('sfence.vm', rs1 ? X[rs1] : ''); // priv 1.9

  const d = matchOpcode(i);
  if (!d) return illegal32(i);
  const n = d.name;

  switch (d.fmt) {
    case 'U': {
      const imm = immU(i);
      if (n === 'lui') c.setHi(rd, BigInt(imm));
      else c.setHi(rd, c.pc + BigInt(imm));
      return c.out(n, `${X[rd]},${hex(i >>> 12)}`);
    }
    case 'J': {
      const t = c.target(immJ(i));
      if (rd === 0) return c.out('j', t);
      if (rd === 1) return c.out('jal', t);
      return c.out('jal', `${X[rd]},${t}`);
    }
    case 'JALR': {
      const imm = immI(i);
      if (rd === 0 && rs1 === 1 && imm === 0) return c.out('ret');
      const mn = rd === 0 ? 'jr' : 'jalr';
      const pre = rd === 0 || rd === 1 ? '' : `${X[rd]},`;
      if (imm === 0) {
        c.maybeAddr(rs1, 0, false);
        return c.out(mn, pre + X[rs1]);
      }
      // objdump evaluates the annotation once for the offset, once more for
      // the immediate and once for the base register of "o(s)".
      c.maybeAddr(rs1, imm, false);
      c.maybeAddr(rs1, imm, false);
      c.maybeAddr(rs1, imm, false);
      return c.out(mn, `${pre}${imm}(${X[rs1]})`);
    }
    case 'B': {
      const t = c.target(immB(i));
      if (rs2 === 0 && n === 'beq') return c.out('beqz', `${X[rs1]},${t}`);
      if (rs2 === 0 && n === 'bne') return c.out('bnez', `${X[rs1]},${t}`);
      if (n === 'blt') {
        if (rs2 === 0) return c.out('bltz', `${X[rs1]},${t}`);
        if (rs1 === 0) return c.out('bgtz', `${X[rs2]},${t}`);
      }
      if (n === 'bge') {
        if (rs1 === 0) return c.out('blez', `${X[rs2]},${t}`);
        if (rs2 === 0) return c.out('bgez', `${X[rs1]},${t}`);
      }
      return c.out(n, `${X[rs1]},${X[rs2]},${t}`);
    }
    case 'LOAD': {
      const imm = immI(i);
      c.maybeAddr(rs1, imm, false);
      return c.out(n, `${X[rd]},${imm}(${X[rs1]})`);
    }
    case 'S': {
      const imm = immS(i);
      c.maybeAddr(rs1, imm, false);
      return c.out(n, `${X[rs2]},${imm}(${X[rs1]})`);
    }
    case 'I': {
      const imm = immI(i);
      switch (n) {
        case 'addi':
          if (rs1 === 0) return rd === 0 && imm === 0 ? c.out('nop') : c.out('li', `${X[rd]},${imm}`);
          if (imm === 0) return c.out('mv', `${X[rd]},${X[rs1]}`);
          c.maybeAddr(rs1, imm, false);
          return c.out('add', `${X[rd]},${X[rs1]},${imm}`);
        case 'addiw':
          if (imm === 0) return c.out('sext.w', `${X[rd]},${X[rs1]}`);
          if (rs1 !== 0) c.maybeAddr(rs1, imm, true);
          return c.out('addw', `${X[rd]},${X[rs1]},${imm}`);
        case 'sltiu':
          if (imm === 1) return c.out('seqz', `${X[rd]},${X[rs1]}`);
          return c.out(n, `${X[rd]},${X[rs1]},${imm}`);
        case 'xori':
          if (imm === -1) return c.out('not', `${X[rd]},${X[rs1]}`);
          return c.out('xor', `${X[rd]},${X[rs1]},${imm}`);
        case 'ori':
          // Zicbop: ori with rd = x0 and imm[4:0] = 0/1/3 is prefetch.i/r/w offset(rs1), the
          // offset being imm[11:5] (CMO spec v1.0.1 §2.7); a hint, it executes as the ori.
          if (rd === 0 && PREFETCH[imm & 31] !== undefined) return c.out(PREFETCH[imm & 31]!, `${imm & ~31}(${X[rs1]})`);
          return c.out('or', `${X[rd]},${X[rs1]},${imm}`);
        case 'andi':
          if (imm === 255) return c.out('zext.b', `${X[rd]},${X[rs1]}`);
          return c.out('and', `${X[rd]},${X[rs1]},${imm}`);
        default: // slti
          return c.out(n, `${X[rd]},${X[rs1]},${imm}`);
      }
    }
    case 'SHIFT':
      return c.out(n.slice(0, 3), `${X[rd]},${X[rs1]},${hex((i >>> 20) & 0x3f)}`);
    case 'SHIFTW':
      return c.out(n.slice(0, 3) + 'w', `${X[rd]},${X[rs1]},${hex((i >>> 20) & 0x1f)}`);
    // Bitmanip immediate forms print with the register-form mnemonic, as the base shifts do
    // (objdump 2.40: rori -> "ror", bclri -> "bclr", roriw -> "rorw"); slli.uw keeps its name.
    case 'SHIFTB':
      return c.out(n.slice(0, -1), `${X[rd]},${X[rs1]},${hex((i >>> 20) & 0x3f)}`);
    case 'SHIFTBW':
      return c.out(n.replace(/iw$/, 'w'), `${X[rd]},${X[rs1]},${hex((i >>> 20) & 0x1f)}`);
    case 'SHIFTUW':
      return c.out(n, `${X[rd]},${X[rs1]},${hex((i >>> 20) & 0x3f)}`);
    case 'R1':
      return c.out(n, `${X[rd]},${X[rs1]}`);
    case 'CBO':
      return c.out(n, `(${X[rs1]})`);
    case 'R': {
      if (rs1 === 0) {
        if (n === 'sub') return c.out('neg', `${X[rd]},${X[rs2]}`);
        if (n === 'subw') return c.out('negw', `${X[rd]},${X[rs2]}`);
        if (n === 'sltu') return c.out('snez', `${X[rd]},${X[rs2]}`);
      }
      if (n === 'slt') {
        if (rs2 === 0) return c.out('sltz', `${X[rd]},${X[rs1]}`);
        if (rs1 === 0) return c.out('sgtz', `${X[rd]},${X[rs2]}`);
      }
      if (n === 'add.uw' && rs2 === 0) return c.out('zext.w', `${X[rd]},${X[rs1]}`);
      return c.out(n, `${X[rd]},${X[rs1]},${X[rs2]}`);
    }
    case 'FENCE': {
      // Only fm=0000 with rd=rs1=0 is a plain FENCE for objdump; fm=1000
      // pred=succ=RW is FENCE.TSO (unprivileged spec §2.7).
      if (i === 0x8330000f) return c.out('fence.tso');
      if ((i & 0xf00f8f80) !== 0) return illegal32(i);
      const pred = (i >>> 24) & 0xf;
      const succ = (i >>> 20) & 0xf;
      if (pred === 0xf && succ === 0xf) return c.out('fence');
      return c.out('fence', `${IORW[pred]},${IORW[succ]}`);
    }
    case 'FENCEI':
      return i === 0x0000100f ? c.out('fence.i') : illegal32(i);
    case 'NONE':
      return c.out(n);
    case 'SINVAL':
      return c.out(n, `${X[rs1]},${X[rs2]}`);
    case 'SFENCE':
      if (rs1 === 0 && rs2 === 0) return c.out(n);
      if (rs2 === 0) return c.out(n, X[rs1]);
      return c.out(n, `${X[rs1]},${X[rs2]}`);
    case 'CSR':
    case 'CSRI':
      return disCsr(i, n, c);
    case 'LR':
      return c.out(n + aqrl(i), `${X[rd]},(${X[rs1]})`);
    case 'AMO':
      return c.out(n + aqrl(i), `${X[rd]},${X[rs2]},(${X[rs1]})`);
    case 'FLOAD': {
      const imm = immI(i);
      c.maybeAddr(rs1, imm, false);
      return c.out(n, `${F[rd]},${imm}(${X[rs1]})`);
    }
    case 'FSTORE': {
      const imm = immS(i);
      c.maybeAddr(rs1, imm, false);
      return c.out(n, `${F[rs2]},${imm}(${X[rs1]})`);
    }
    case 'R4':
      return c.out(n, `${F[rd]},${F[rs1]},${F[rs2]},${F[rs3Of(i)]}${rmSuffix(i)}`);
    case 'FR':
      return c.out(n, `${F[rd]},${F[rs1]},${F[rs2]}${rmSuffix(i)}`);
    case 'FRN':
      if (rs1 === rs2 && n.startsWith('fsgnj')) {
        const p = n.slice(0, -2); // "fsgnj", "fsgnjn", "fsgnjx"
        const alias = p === 'fsgnj' ? 'fmv' : p === 'fsgnjn' ? 'fneg' : 'fabs';
        return c.out(alias + n.slice(-2), `${F[rd]},${F[rs1]}`);
      }
      return c.out(n, `${F[rd]},${F[rs1]},${F[rs2]}`);
    case 'FR1':
      return c.out(n, `${F[rd]},${F[rs1]}${rmSuffix(i)}`);
    case 'FCMP':
      return c.out(n, `${X[rd]},${F[rs1]},${F[rs2]}`);
    case 'FCVT_XF':
      return c.out(n, `${X[rd]},${F[rs1]}${rmSuffix(i)}`);
    case 'FCVT_FX':
      // Conversions to double from 32-bit integers are exact; objdump 2.40
      // only accepts rm=000 for them.
      if (n === 'fcvt.d.w' || n === 'fcvt.d.wu') {
        return ((i >>> 12) & 7) === 0 ? c.out(n, `${F[rd]},${X[rs1]}`) : illegal32(i);
      }
      return c.out(n, `${F[rd]},${X[rs1]}${rmSuffix(i)}`);
    case 'FCVT_FF':
      if (n === 'fcvt.d.s') return ((i >>> 12) & 7) === 0 ? c.out(n, `${F[rd]},${F[rs1]}`) : illegal32(i);
      return c.out(n, `${F[rd]},${F[rs1]}${rmSuffix(i)}`);
    case 'FMV_XF':
      return c.out(n, `${X[rd]},${F[rs1]}`);
    case 'FMV_FX':
      return c.out(n, `${F[rd]},${X[rs1]}`);
    case 'HLV':
      return c.out(n, `${X[rd]},(${X[rs1]})`);
    case 'HSV':
      return c.out(n, `${X[rs2]},(${X[rs1]})`);
    default:
      return illegal32(i);
  }
}

function disCsr(i: number, n: string, c: Ctx): string {
  const rd = rdOf(i);
  const rs1 = rs1Of(i);
  const csr = csrOf(i);
  const cn = csrName(csr);
  const imm = n.endsWith('i');
  const src = imm ? String(rs1) : X[rs1]!;
  const base = imm ? n.slice(0, -1) : n; // csrrwi -> csrrw (objdump 2.40)
  if (n === 'csrrw') {
    const fp = csr === 1 ? 'fsflags' : csr === 2 ? 'fsrm' : csr === 3 ? 'fscsr' : undefined;
    if (fp) return c.out(fp, rd === 0 ? X[rs1] : `${X[rd]},${X[rs1]}`);
  } else if (n === 'csrrs' && rs1 === 0) {
    const rdn: Record<number, string> = { 1: 'frflags', 2: 'frrm', 3: 'frcsr', 0xc00: 'rdcycle', 0xc01: 'rdtime', 0xc02: 'rdinstret' };
    const a = rdn[csr];
    if (a) return c.out(a, X[rd]);
    return c.out('csrr', `${X[rd]},${cn}`);
  } else if (n === 'csrrwi' && (csr === 1 || csr === 2)) {
    return c.out(csr === 1 ? 'fsflagsi' : 'fsrmi', `${X[rd]},${rs1}`);
  }
  if (rd === 0) return c.out('csr' + base.slice(4), `${cn},${src}`); // csrw/csrs/csrc
  return c.out(base, `${X[rd]},${cn},${src}`);
}

function illegal32(i: number): string {
  return `.4byte\t${hex(i)}`;
}

// ------------------------------------------------------ 16-bit decoding ----
// Field layouts: unprivileged spec v20191213 §16.2, Table 16.1 / Figures 16.x.

const b = (h: number, n: number): number => (h >>> n) & 1;
const bs = (h: number, hi: number, lo: number): number => (h >>> lo) & ((1 << (hi - lo + 1)) - 1);
const sx = (x: number, n: number): number => (x << (32 - n)) >> (32 - n);

function dis16(h: number, c: Ctx): string {
  const op = h & 3;
  const f3 = h >>> 13;
  const rdp = 8 + bs(h, 4, 2); // rd' / rs2'
  const rs1p = 8 + bs(h, 9, 7); // rs1' / rd'
  const rd = bs(h, 11, 7);
  const rs2 = bs(h, 6, 2);
  const ciImm = sx((b(h, 12) << 5) | bs(h, 6, 2), 6);
  const ciU = (b(h, 12) << 5) | bs(h, 6, 2);
  const lwOff = (bs(h, 12, 10) << 3) | (b(h, 6) << 2) | (b(h, 5) << 6);
  const ldOff = (bs(h, 12, 10) << 3) | (bs(h, 6, 5) << 6);
  if (h === 0) return c.out('unimp'); // defined illegal instruction (§16.1)
  if (op === 0) {
    switch (f3) {
      case 0: {
        const imm = (bs(h, 12, 11) << 4) | (bs(h, 10, 7) << 6) | (b(h, 6) << 2) | (b(h, 5) << 3);
        if (imm === 0) return illegal16(h); // c.addi4spn nzuimm=0: reserved
        return c.out('add', `${X[rdp]},sp,${imm}`);
      }
      case 1: return c.out('fld', `${F[rdp]},${ldOff}(${X[rs1p]})`);
      case 2: return c.out('lw', `${X[rdp]},${lwOff}(${X[rs1p]})`);
      case 3: return c.out('ld', `${X[rdp]},${ldOff}(${X[rs1p]})`);
      case 5: return c.out('fsd', `${F[rdp]},${ldOff}(${X[rs1p]})`);
      case 6: return c.out('sw', `${X[rdp]},${lwOff}(${X[rs1p]})`);
      case 7: return c.out('sd', `${X[rdp]},${ldOff}(${X[rs1p]})`);
      default: return illegal16(h);
    }
  }
  if (op === 1) {
    switch (f3) {
      case 0: // c.addi / c.nop
        if (rd === 0) return ciImm === 0 ? c.out('nop') : c.out('c.nop', String(ciImm));
        c.maybeAddr(rd, ciImm, false);
        return c.out('add', `${X[rd]},${X[rd]},${ciImm}`);
      case 1: // c.addiw
        if (rd === 0) return illegal16(h);
        if (ciImm === 0) return c.out('sext.w', `${X[rd]},${X[rd]}`);
        c.maybeAddr(rd, ciImm, true);
        return c.out('addw', `${X[rd]},${X[rd]},${ciImm}`);
      case 2: // c.li
        return rd === 0 ? c.out('c.li', `zero,${ciImm}`) : c.out('li', `${X[rd]},${ciImm}`);
      case 3: {
        if (rd === 2) {
          // c.addi16sp; objdump also decodes the reserved nzimm=0 form.
          const imm = sx((b(h, 12) << 9) | (b(h, 6) << 4) | (b(h, 5) << 6) | (bs(h, 4, 3) << 7) | (b(h, 2) << 5), 10);
          return c.out('add', `sp,sp,${imm}`);
        }
        if (ciImm === 0) return illegal16(h); // c.lui nzimm=0: reserved
        c.setHi(rd, BigInt(ciImm << 12));
        return c.out(rd === 0 ? 'c.lui' : 'lui', `${X[rd]},${hex(ciImm & 0xfffff)}`);
      }
      case 4: {
        const k = bs(h, 11, 10);
        if (k === 0 || k === 1) {
          const mn = k === 0 ? 'srl' : 'sra';
          if (ciU === 0) return c.out(`c.${mn}i64`, X[rs1p]); // shamt=0: HINT
          return c.out(mn, `${X[rs1p]},${X[rs1p]},${hex(ciU)}`);
        }
        if (k === 2) return c.out('and', `${X[rs1p]},${X[rs1p]},${ciImm}`);
        const f2 = bs(h, 6, 5);
        const mn = b(h, 12) === 0 ? ['sub', 'xor', 'or', 'and'][f2]! : ['subw', 'addw'][f2];
        if (!mn) return illegal16(h);
        return c.out(mn, `${X[rs1p]},${X[rs1p]},${X[rdp]}`);
      }
      case 5: {
        const off = sx(
          (b(h, 12) << 11) | (b(h, 11) << 4) | (bs(h, 10, 9) << 8) | (b(h, 8) << 10) |
            (b(h, 7) << 6) | (b(h, 6) << 7) | (bs(h, 5, 3) << 1) | (b(h, 2) << 5),
          12,
        );
        return c.out('j', c.target(off));
      }
      default: {
        const off = sx((b(h, 12) << 8) | (bs(h, 11, 10) << 3) | (bs(h, 6, 5) << 6) | (bs(h, 4, 3) << 1) | (b(h, 2) << 5), 9);
        return c.out(f3 === 6 ? 'beqz' : 'bnez', `${X[rs1p]},${c.target(off)}`);
      }
    }
  }
  // op === 2
  switch (f3) {
    case 0:
      if (ciU === 0) return c.out('c.slli64', X[rd]);
      if (rd === 0) return c.out('c.slli', `zero,${hex(ciU)}`);
      return c.out('sll', `${X[rd]},${X[rd]},${hex(ciU)}`);
    case 1: {
      const off = (b(h, 12) << 5) | (bs(h, 6, 5) << 3) | (bs(h, 4, 2) << 6);
      return c.out('fld', `${F[rd]},${off}(sp)`);
    }
    case 2: {
      if (rd === 0) return illegal16(h);
      const off = (b(h, 12) << 5) | (bs(h, 6, 4) << 2) | (bs(h, 3, 2) << 6);
      return c.out('lw', `${X[rd]},${off}(sp)`);
    }
    case 3: {
      if (rd === 0) return illegal16(h);
      const off = (b(h, 12) << 5) | (bs(h, 6, 5) << 3) | (bs(h, 4, 2) << 6);
      return c.out('ld', `${X[rd]},${off}(sp)`);
    }
    case 4:
      if (b(h, 12) === 0) {
        if (rs2 === 0) {
          if (rd === 0) return illegal16(h);
          return rd === 1 ? c.out('ret') : c.out('jr', X[rd]);
        }
        return rd === 0 ? c.out('c.mv', `zero,${X[rs2]}`) : c.out('mv', `${X[rd]},${X[rs2]}`);
      }
      if (rs2 === 0) return rd === 0 ? c.out('ebreak') : c.out('jalr', X[rd]);
      return rd === 0 ? c.out('c.add', `zero,${X[rs2]}`) : c.out('add', `${X[rd]},${X[rd]},${X[rs2]}`);
    case 5: {
      const off = (bs(h, 12, 10) << 3) | (bs(h, 9, 7) << 6);
      return c.out('fsd', `${F[rs2]},${off}(sp)`);
    }
    case 6: {
      const off = (bs(h, 12, 9) << 2) | (bs(h, 8, 7) << 6);
      return c.out('sw', `${X[rs2]},${off}(sp)`);
    }
    default: {
      const off = (bs(h, 12, 10) << 3) | (bs(h, 9, 7) << 6);
      return c.out('sd', `${X[rs2]},${off}(sp)`);
    }
  }
}

function illegal16(h: number): string {
  return `.2byte\t${hex(h)}`;
}

// ----------------------------------------------------------------- API -----

/**
 * Disassemble one instruction.  `insn` holds the raw bits; when its two low
 * bits are not 11 it is a 16-bit instruction in the low half (the upper half
 * is ignored).  `pc` is used for branch/jump targets and auipc.
 */
export function disassemble(insn: number, pc: bigint, opts?: DisasmOptions): DisasmResult {
  const c = new Ctx(pc & M64, opts);
  if ((insn & 3) !== 3) return { text: dis16(insn & 0xffff, c), length: 2 };
  return { text: dis32(insn >>> 0, c), length: 4 };
}
