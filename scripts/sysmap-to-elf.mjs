#!/usr/bin/env node
/**
 * System.map -> a symbols-only ELF for gdb (`add-symbol-file OUT` or `symbol-file OUT`).
 *
 *   node scripts/sysmap-to-elf.mjs guests/build/linux/System.map -o linux.syms.elf
 *
 * A raw kernel Image has no symbols and a distribution rarely ships the vmlinux; its System.map
 * has them all. gdb reads symbols only from object files, so this writes a small ELF64 RISC-V
 * file: an SHT_NOBITS `.text` section over the text symbols (t/T/w/W: functions, so `break
 * start_kernel` and `<func+off>` in `x/i` work), an SHT_NOBITS `.data` over the data symbols
 * (objects: `x/gx &jiffies`, `p (long)jiffies`), the rest absolute. No section has contents, so
 * gdb reads every byte from the target. Sizes run to the next symbol (`info symbol ADDR`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

function usage(msg) {
  if (msg) process.stderr.write(`sysmap-to-elf: ${msg}\n`);
  process.stderr.write('usage: node scripts/sysmap-to-elf.mjs SYSTEM.MAP [-o OUT.elf]\n');
  process.exit(2);
}

const args = process.argv.slice(2);
let input;
let output;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '-o') output = args[++i];
  else if (args[i] === '-h' || args[i] === '--help') usage();
  else if (input === undefined) input = args[i];
  else usage(`unexpected argument ${args[i]}`);
}
if (!input) usage('no System.map given');
output ??= `${input}.elf`;

let text;
try {
  text = readFileSync(input, 'latin1');
} catch (e) {
  usage(`${input}: ${e.message}`);
}

/** @type {{name: string, addr: bigint, kind: 'text'|'data'|'abs', global: boolean, weak: boolean}[]} */
const syms = [];
for (const line of text.split('\n')) {
  const m = /^([0-9a-fA-F]{1,16}) ([a-zA-Z]) (\S+)$/.exec(line.trim());
  if (!m) continue;
  const t = m[2];
  const name = m[3];
  if (name.startsWith('$') || name.startsWith('.L')) continue; // mapping symbols, local labels
  const lower = t.toLowerCase();
  const kind = lower === 't' || lower === 'w' ? 'text' : lower === 'a' || lower === 'u' ? 'abs' : 'data';
  syms.push({ name, addr: BigInt(`0x${m[1]}`), kind, global: t !== lower, weak: lower === 'w' || lower === 'v' });
}
if (syms.length === 0) usage(`${input}: no symbols (expected System.map lines "ADDRESS TYPE NAME")`);

function range(kind) {
  const a = syms.filter((s) => s.kind === kind).map((s) => s.addr);
  if (a.length === 0) return null;
  let lo = a[0];
  let hi = a[0];
  for (const x of a) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return { lo, hi: hi + 1n };
}
const textR = range('text');
let dataR = range('data');
// Overlapping sections confuse gdb's address -> section lookup: data symbols inside the text
// range become absolute then.
if (textR && dataR && dataR.lo < textR.hi && textR.lo < dataR.hi) {
  for (const s of syms) if (s.kind === 'data') s.kind = 'abs';
  dataR = null;
}

// Sizes: up to the next symbol of the same kind (at most 1 MiB).
for (const kind of ['text', 'data']) {
  const list = syms.filter((s) => s.kind === kind).sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  for (let i = 0; i < list.length; i++) {
    let next = null;
    for (let j = i + 1; j < list.length; j++) if (list[j].addr > list[i].addr) { next = list[j].addr; break; }
    const sz = next === null ? 0n : next - list[i].addr;
    list[i].size = sz > 0x100000n ? 0n : sz;
  }
}

// ---- ELF64 little-endian, EM_RISCV ----
const SHN_ABS = 0xfff1;
const sections = [{ name: '', type: 0, flags: 0n, addr: 0n, size: 0n }];
let textIdx = 0;
let dataIdx = 0;
if (textR) {
  textIdx = sections.length;
  sections.push({ name: '.text', type: 8 /* NOBITS */, flags: 0x6n /* ALLOC|EXECINSTR */, addr: textR.lo, size: textR.hi - textR.lo, align: 4n });
}
if (dataR) {
  dataIdx = sections.length;
  sections.push({ name: '.data', type: 8, flags: 0x3n /* WRITE|ALLOC */, addr: dataR.lo, size: dataR.hi - dataR.lo, align: 8n });
}

const strtab = [0];
const strOff = (s) => {
  const off = strtab.length;
  for (const b of Buffer.from(s, 'latin1')) strtab.push(b);
  strtab.push(0);
  return off;
};

// Locals first (sh_info = first global).
const ordered = [...syms.filter((s) => !s.global), ...syms.filter((s) => s.global)];
const firstGlobal = 1 + syms.filter((s) => !s.global).length;
const symtab = Buffer.alloc(24 * (ordered.length + 1));
ordered.forEach((s, i) => {
  const o = 24 * (i + 1);
  const bind = s.global ? (s.weak ? 2 : 1) : 0;
  const type = s.kind === 'text' ? 2 /* FUNC */ : s.kind === 'data' ? 1 /* OBJECT */ : 0;
  symtab.writeUInt32LE(strOff(s.name), o);
  symtab.writeUInt8((bind << 4) | type, o + 4);
  symtab.writeUInt8(0, o + 5);
  symtab.writeUInt16LE(s.kind === 'text' ? textIdx : s.kind === 'data' ? dataIdx : SHN_ABS, o + 6);
  symtab.writeBigUInt64LE(s.addr, o + 8);
  symtab.writeBigUInt64LE(s.size ?? 0n, o + 16);
});
const strtabBuf = Buffer.from(strtab);

const symtabIdx = sections.length;
const strtabIdx = symtabIdx + 1;
const shstrIdx = symtabIdx + 2;
sections.push({ name: '.symtab', type: 2, flags: 0n, addr: 0n, data: symtab, link: strtabIdx, info: firstGlobal, align: 8n, entsize: 24n });
sections.push({ name: '.strtab', type: 3, flags: 0n, addr: 0n, data: strtabBuf, align: 1n });
sections.push({ name: '.shstrtab', type: 3, flags: 0n, addr: 0n, align: 1n });

const shstr = [0];
for (const s of sections) {
  if (s.name === '') { s.nameOff = 0; continue; }
  s.nameOff = shstr.length;
  for (const b of Buffer.from(s.name, 'latin1')) shstr.push(b);
  shstr.push(0);
}
sections[shstrIdx].data = Buffer.from(shstr);

// Layout: header, section contents, section headers.
let off = 64;
const parts = [];
for (const s of sections) {
  if (!s.data) continue;
  const align = Number(s.align ?? 1n);
  off = Math.ceil(off / align) * align;
  s.offset = off;
  s.size = BigInt(s.data.length);
  parts.push({ off, data: s.data });
  off += s.data.length;
}
off = Math.ceil(off / 8) * 8;
const shoff = off;
const total = shoff + 64 * sections.length;
const out = Buffer.alloc(total);
// e_ident
out.write('\x7fELF', 0, 'latin1');
out[4] = 2; // ELFCLASS64
out[5] = 1; // little-endian
out[6] = 1; // EV_CURRENT
out.writeUInt16LE(2, 16); // ET_EXEC
out.writeUInt16LE(243, 18); // EM_RISCV
out.writeUInt32LE(1, 20);
out.writeBigUInt64LE(0n, 24); // e_entry
out.writeBigUInt64LE(0n, 32); // e_phoff
out.writeBigUInt64LE(BigInt(shoff), 40);
out.writeUInt32LE(0x1, 48); // e_flags: RVC, soft-float ABI (the kernel's lp64)
out.writeUInt16LE(64, 52); // e_ehsize
out.writeUInt16LE(56, 54); // e_phentsize
out.writeUInt16LE(0, 56); // e_phnum
out.writeUInt16LE(64, 58); // e_shentsize
out.writeUInt16LE(sections.length, 60);
out.writeUInt16LE(shstrIdx, 62);
for (const p of parts) p.data.copy(out, p.off);
sections.forEach((s, i) => {
  const o = shoff + 64 * i;
  out.writeUInt32LE(s.nameOff, o);
  out.writeUInt32LE(s.type, o + 4);
  out.writeBigUInt64LE(s.flags, o + 8);
  out.writeBigUInt64LE(s.addr, o + 16);
  out.writeBigUInt64LE(BigInt(s.offset ?? 0), o + 24);
  out.writeBigUInt64LE(s.size ?? 0n, o + 32);
  out.writeUInt32LE(s.link ?? 0, o + 40);
  out.writeUInt32LE(s.info ?? 0, o + 44);
  out.writeBigUInt64LE(s.align ?? 0n, o + 48);
  out.writeBigUInt64LE(s.entsize ?? 0n, o + 56);
});
writeFileSync(output, out);
process.stderr.write(`sysmap-to-elf: ${syms.length} symbols from ${basename(input)} -> ${output}` +
  `${textR ? ` (.text 0x${textR.lo.toString(16)}-0x${textR.hi.toString(16)})` : ''}\n`);
