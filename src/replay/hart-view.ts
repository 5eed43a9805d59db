/**
 * The state of one hart as `replay --to` shows it: registers, CSRs, disassembly around pc
 * (src/replay/replayer.ts is the API).
 */
import { HartState, type Hart } from '../hart/hart.js';
import { ABI_NAMES, FABI_NAMES } from '../isa/disasm.js';
import { CodeView, type DisasmLine } from './code-view.js';

export interface HartView {
  readonly id: number;
  readonly state: 'running' | 'wfi' | 'stopped';
  readonly pc: bigint;
  readonly symbol?: string;
  readonly priv: number;
  /** V (virtualization mode, H extension): priv 1 / 0 are then VS / VU. */
  readonly virt: boolean;
  readonly instret: number;
  readonly attempted: number;
  /** x0..x31 (unsigned). */
  readonly x: bigint[];
  /** f0..f31 raw bits. */
  readonly f: bigint[];
  readonly csrs: Record<string, bigint>;
  readonly disasm: DisasmLine[];
}

const CSRS: [string, number][] = [
  ['mstatus', 0x300], ['misa', 0x301], ['medeleg', 0x302], ['mideleg', 0x303], ['mie', 0x304], ['mtvec', 0x305],
  ['mscratch', 0x340], ['mepc', 0x341], ['mcause', 0x342], ['mtval', 0x343], ['mip', 0x344],
  ['sstatus', 0x100], ['sie', 0x104], ['stvec', 0x105], ['sscratch', 0x140], ['sepc', 0x141], ['scause', 0x142],
  ['stval', 0x143], ['sip', 0x144], ['satp', 0x180],
];
/**
 * With guests of the built-in hypervisor, the H-extension CSRs too. While V = 1 the supervisor
 * CSRs above are the guest's (the VS CSRs stand in for them); hs* are the hypervisor's own.
 */
const H_CSRS: [string, number][] = [
  ['hstatus', 0x600], ['hedeleg', 0x602], ['hideleg', 0x603], ['hie', 0x604], ['hip', 0x644], ['hvip', 0x645],
  ['htval', 0x643], ['htinst', 0x64a], ['hgatp', 0x680], ['vsstatus', 0x200], ['vstvec', 0x205], ['vsepc', 0x241],
  ['vscause', 0x242], ['vstval', 0x243], ['vsatp', 0x280], ['mtval2', 0x34b],
];

export function hartView(code: CodeView, h: Hart, opts: { disasmBefore?: number; disasmAfter?: number }): HartView {
  const csrs: Record<string, bigint> = {};
  for (const [name, num] of code.machine.hypervisor ? [...CSRS, ...H_CSRS] : CSRS) {
    try {
      csrs[name] = h.csrGet(num);
    } catch {
      /* not implemented */
    }
  }
  const pc = h.getPc();
  const symbol = code.symbolize(pc, code.spaceOf(h));
  return {
    id: h.id,
    state: h.runState === HartState.Running ? 'running' : h.runState === HartState.Wfi ? 'wfi' : 'stopped',
    pc,
    ...(symbol ? { symbol } : {}),
    priv: h.priv,
    virt: h.virt,
    instret: h.instret,
    attempted: h.attempted,
    x: Array.from({ length: 32 }, (_, i) => h.getX(i)),
    f: Array.from(h.fb, (v) => BigInt.asUintN(64, v)),
    csrs,
    disasm: code.around(h, pc, opts.disasmBefore ?? 6, opts.disasmAfter ?? 8),
  };
}

export const REGISTER_NAMES = { x: ABI_NAMES, f: FABI_NAMES };
