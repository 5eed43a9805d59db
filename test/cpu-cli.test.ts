/**
 * `--cpu rv64[,sscofpmf=on]` (QEMU's `-cpu rv64,sscofpmf=true`): the harts get Sscofpmf and the
 * device tree's riscv,isa says so; the trace records it, so a replay rebuilds the same harts.
 * Bad input: one line, exit 2, nothing written.
 *
 * Needs the build (dist/cli/main.js).
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliSandbox, ROOT } from './cli-sandbox.js';
import { TraceReader } from '../src/trace/store.js';
import { parseDtb, fdtFindNode, fdtGetProp, fdtStrings } from '../src/devices/fdt.js';

const HELLO = `${ROOT}guests/build/hello.elf`;

const box = cliSandbox('hvtrace-cpu-');
const { hv, tmp } = box;

const isaOf = (file: string): string => fdtStrings(fdtGetProp(fdtFindNode(parseDtb(readFileSync(file)).root, '/cpus/cpu@0')!, 'riscv,isa')!)[0]!;

describe('--cpu', () => {
  it('sscofpmf=on puts _sscofpmf in riscv,isa where QEMU 7.2 does; the default CPU has none', () => {
    expect(hv(['run', '--kernel', HELLO, '--dump-dtb', tmp('a.dtb'), '-q']).status).toBe(0);
    expect(hv(['run', '--kernel', HELLO, '--cpu', 'rv64,sscofpmf=on', '--dump-dtb', tmp('b.dtb'), '-q']).status).toBe(0);
    expect(isaOf(tmp('a.dtb'))).not.toContain('sscofpmf');
    expect(isaOf(tmp('b.dtb'))).toMatch(/_zbs_sscofpmf_sstc$/);
    rmSync(tmp('a.dtb')); rmSync(tmp('b.dtb'));
  });

  it('is recorded in the trace and replayed', () => {
    const rec = hv(['record', '--kernel', HELLO, '--cpu', 'rv64,sscofpmf=true', '-o', tmp('s.trace'), '-q']);
    expect(rec.status, rec.stderr).toBe(0);
    const r = TraceReader.open(tmp('s.trace'));
    try {
      expect(r.config.machine!.sscofpmf).toBe(true);
    } finally {
      r.close();
    }
    const rep = hv(['replay', tmp('s.trace')]);
    expect(rep.status, rep.stderr + rep.stdout).toBe(0);
    rmSync(tmp('s.trace'));
  });

  it.each([['rv32', /model must be rv64/], ['rv64,zfh=on', /unknown property 'zfh=on'/], ['rv64,sscofpmf=maybe', /unknown property/]])(
    'bad --cpu %s: one line, exit 2, nothing written', (spec, want) => {
      const r = hv(['record', '--kernel', HELLO, '--cpu', spec, '-o', tmp('x.trace')]);
      expect(r.status).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(want);
      expect(readdirSync(box.dir)).toEqual([]);
    });
});
