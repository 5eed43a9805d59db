import { describe, it, expect } from 'vitest';
import { Bytes, Code, ModuleBuilder, I32, I64, W } from '../src/hart/wasm/emit.js';

/**
 * The tier's wasm emitter: LEB128 as the spec encodes it, modules that WebAssembly.validate
 * accepts, and functions that compute over an imported (shared) memory.
 */
const hex = (b: Bytes): string => Array.from(b.toArray(), (x) => x.toString(16).padStart(2, '0')).join(' ');

function instantiate(mb: ModuleBuilder, mem: WebAssembly.Memory, imports: Record<string, unknown> = {}): WebAssembly.Exports {
  const bytes = mb.toBytes();
  expect(WebAssembly.validate(bytes)).toBe(true);
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), { m: { mem, ...imports } }).exports;
}

describe('wasm emitter', () => {
  it('encodes LEB128 as the spec examples', () => {
    expect(hex(new Bytes().u32(0))).toBe('00');
    expect(hex(new Bytes().u32(624485))).toBe('e5 8e 26');
    expect(hex(new Bytes().u32(0xffffffff))).toBe('ff ff ff ff 0f');
    expect(hex(new Bytes().s32(-123456))).toBe('c0 bb 78');
    expect(hex(new Bytes().s32(63))).toBe('3f');
    expect(hex(new Bytes().s32(64))).toBe('c0 00');
    expect(hex(new Bytes().s32(-64))).toBe('40');
    expect(hex(new Bytes().s32(-65))).toBe('bf 7f');
    expect(hex(new Bytes().s32(-0x80000000))).toBe('80 80 80 80 78');
    expect(hex(new Bytes().s64(-1n))).toBe('7f');
    expect(hex(new Bytes().s64(0x7fffffffffffffffn))).toBe('ff ff ff ff ff ff ff ff ff 00');
    expect(hex(new Bytes().s64(-0x8000000000000000n))).toBe('80 80 80 80 80 80 80 80 80 7f');
  });

  it('encodes an i64 immediate given as a number as the same bigint', () => {
    const values = [0, 1, -1, 63, 64, -64, -65, 2 ** 31, -(2 ** 31) - 1, 0x7fffffff, 2 ** 32, -(2 ** 32), 2 ** 52, -(2 ** 53) + 1, 2 ** 53 - 1, -0x7fe00000 - 0x1234];
    for (const v of values) expect(hex(new Bytes().s64(v)), String(v)).toBe(hex(new Bytes().s64(BigInt(v))));
    expect(() => new Bytes().s64(2 ** 53)).toThrow(/not a safe integer/);
    expect(hex(new Code([], []).i64c(-2).i64c(2n ** 63n))).toBe('42 7e 42 80 80 80 80 80 80 80 80 80 7f');
  });

  it('internal functions and mutable globals: only named functions are exported', () => {
    const mem = new WebAssembly.Memory({ initial: 1 });
    const mb = new ModuleBuilder(1);
    const g = mb.global(I32);
    // bump(a): g += a, returns g (internal); twice(a): bump(a) + bump(a) (exported).
    const bump = new Code([I32], [I32]);
    bump.globalGet(g).get(0).op(W.I32_ADD).globalSet(g).globalGet(g);
    const fb = mb.func(null, bump);
    const twice = new Code([I32], [I32]);
    twice.get(0).call(fb).get(0).call(fb).op(W.I32_ADD);
    mb.func('twice', twice);
    const ex = instantiate(mb, mem);
    expect(Object.keys(ex)).toEqual(['twice']);
    const f = ex['twice'] as (a: number) => number;
    expect(f(3)).toBe(3 + 6);
    expect(f(1)).toBe(7 + 8);
  });

  it('rejects nothing it builds and runs i64 arithmetic on the shared memory', () => {
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    const mb = new ModuleBuilder(1);
    // add3(a) = mem64[8] + mem64[16] + a; stores the sum at mem64[24]; returns its low word.
    const f = new Code([I32], [I32]);
    const t = f.local(I64);
    f.i32c(0).i32c(0).mem(W.I64_LOAD, 3, 8).i32c(0).mem(W.I64_LOAD, 3, 16).op(W.I64_ADD)
      .get(0).op(W.I64_EXTEND_I32_S).op(W.I64_ADD).tee(t).mem(W.I64_STORE, 3, 24)
      .get(t).op(W.I32_WRAP_I64);
    mb.func('add3', f);
    const ex = instantiate(mb, mem);
    const x = new BigInt64Array(mem.buffer);
    x[1] = 0x1_0000_0005n;
    x[2] = -7n;
    expect((ex['add3'] as (a: number) => number)(-3)).toBe(-5);
    expect(x[3]).toBe(0x1_0000_0005n - 10n);
  });

  it('builds loops, br_table dispatch, if/else with results and calls to imports', () => {
    const mem = new WebAssembly.Memory({ initial: 1 });
    const mb = new ModuleBuilder(1);
    const log: number[] = [];
    const imp = mb.importFunc({ module: 'm', name: 'note', params: [I32], results: [] });
    // sum(n): 1 + 2 + ... + n with a loop; note(k) for k = n mod 3 through br_table.
    const f = new Code([I32], [I32]);
    const acc = f.local(I32), k = f.local(I32);
    f.get(0).set(k);
    f.begin(W.BLOCK).begin(W.LOOP);
    f.get(k).op(W.I32_EQZ).brIf(1);
    f.get(acc).get(k).op(W.I32_ADD).set(acc);
    f.get(k).i32c(1).op(W.I32_SUB).set(k);
    f.br(0).end().end();
    f.begin(W.BLOCK).begin(W.BLOCK).begin(W.BLOCK);
    f.get(0).i32c(3).op(W.I32_REM_U).brTable([0, 1], 2);
    f.end().i32c(100).byte(W.CALL).u32(imp).get(acc).op(W.RETURN);
    f.end().i32c(101).byte(W.CALL).u32(imp).get(acc).op(W.RETURN);
    f.end().i32c(102).byte(W.CALL).u32(imp);
    f.get(0).i32c(5).op(W.I32_GT_U).begin(W.IF, I32).get(acc).op(W.ELSE).i32c(-1).end();
    mb.func('sum', f);
    const ex = instantiate(mb, mem, { note: (v: number) => log.push(v) });
    const sum = ex['sum'] as (n: number) => number;
    expect(sum(10)).toBe(55);
    expect(sum(9)).toBe(45);
    expect(sum(5)).toBe(-1);
    expect(log).toEqual([101, 100, 102]);
  });

  it('an invalid body fails validation (the tests above can fail)', () => {
    const mb = new ModuleBuilder(1);
    const f = new Code([], [I32]);
    f.i64c(1n); // wrong result type
    mb.func('bad', f);
    expect(WebAssembly.validate(mb.toBytes())).toBe(false);
  });
});
