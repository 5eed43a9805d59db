/**
 * A small WebAssembly binary emitter (core spec 1.0 + sign-extension ops, §5 "Binary Format"):
 * enough for the wasm translation tier (wasm/tier.ts) to build one module per translated unit
 * directly as bytes, without a text format or a library. A module here has a type section,
 * imports (the shared memory, functions), functions with their code, and exports.
 *
 * Encoding notes (spec §5.2.2): integers are LEB128, unsigned for indices and sizes, signed for
 * i32.const / i64.const immediates; memory immediates are (align log2, offset).
 */

/** Value types (§5.3.1). */
export const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c;
/** The empty block type (§5.3.6). */
export const VOID = 0x40;

/** Opcodes the tier uses (§5.4). Names: the text format's, upper case, '.' -> '_'. */
export const W = {
  UNREACHABLE: 0x00, NOP: 0x01, BLOCK: 0x02, LOOP: 0x03, IF: 0x04, ELSE: 0x05, END: 0x0b,
  BR: 0x0c, BR_IF: 0x0d, BR_TABLE: 0x0e, RETURN: 0x0f, CALL: 0x10, CALL_INDIRECT: 0x11,
  DROP: 0x1a, SELECT: 0x1b,
  LOCAL_GET: 0x20, LOCAL_SET: 0x21, LOCAL_TEE: 0x22, GLOBAL_GET: 0x23, GLOBAL_SET: 0x24,
  I32_LOAD: 0x28, I64_LOAD: 0x29, F32_LOAD: 0x2a, F64_LOAD: 0x2b,
  I32_LOAD8_S: 0x2c, I32_LOAD8_U: 0x2d, I32_LOAD16_S: 0x2e, I32_LOAD16_U: 0x2f,
  I64_LOAD8_S: 0x30, I64_LOAD8_U: 0x31, I64_LOAD16_S: 0x32, I64_LOAD16_U: 0x33,
  I64_LOAD32_S: 0x34, I64_LOAD32_U: 0x35,
  I32_STORE: 0x36, I64_STORE: 0x37, F32_STORE: 0x38, F64_STORE: 0x39,
  I32_STORE8: 0x3a, I32_STORE16: 0x3b, I64_STORE8: 0x3c, I64_STORE16: 0x3d, I64_STORE32: 0x3e,
  I32_CONST: 0x41, I64_CONST: 0x42, F64_CONST: 0x44,
  I32_EQZ: 0x45, I32_EQ: 0x46, I32_NE: 0x47, I32_LT_S: 0x48, I32_LT_U: 0x49, I32_GT_S: 0x4a,
  I32_GT_U: 0x4b, I32_LE_S: 0x4c, I32_LE_U: 0x4d, I32_GE_S: 0x4e, I32_GE_U: 0x4f,
  I64_EQZ: 0x50, I64_EQ: 0x51, I64_NE: 0x52, I64_LT_S: 0x53, I64_LT_U: 0x54, I64_GT_S: 0x55,
  I64_GT_U: 0x56, I64_LE_S: 0x57, I64_LE_U: 0x58, I64_GE_S: 0x59, I64_GE_U: 0x5a,
  I32_CLZ: 0x67, I32_CTZ: 0x68, I32_POPCNT: 0x69, I32_ADD: 0x6a, I32_SUB: 0x6b, I32_MUL: 0x6c,
  I32_DIV_S: 0x6d, I32_DIV_U: 0x6e, I32_REM_S: 0x6f, I32_REM_U: 0x70, I32_AND: 0x71, I32_OR: 0x72,
  I32_XOR: 0x73, I32_SHL: 0x74, I32_SHR_S: 0x75, I32_SHR_U: 0x76, I32_ROTL: 0x77, I32_ROTR: 0x78,
  I64_CLZ: 0x79, I64_CTZ: 0x7a, I64_POPCNT: 0x7b, I64_ADD: 0x7c, I64_SUB: 0x7d, I64_MUL: 0x7e,
  I64_DIV_S: 0x7f, I64_DIV_U: 0x80, I64_REM_S: 0x81, I64_REM_U: 0x82, I64_AND: 0x83, I64_OR: 0x84,
  I64_XOR: 0x85, I64_SHL: 0x86, I64_SHR_S: 0x87, I64_SHR_U: 0x88, I64_ROTL: 0x89, I64_ROTR: 0x8a,
  F64_EQ: 0x61, F64_NE: 0x62, F64_LT: 0x63, F64_GT: 0x64, F64_LE: 0x65, F64_GE: 0x66,
  F64_ABS: 0x99, F64_NEG: 0x9a, F64_SQRT: 0x9f, F64_ADD: 0xa0, F64_SUB: 0xa1, F64_MUL: 0xa2, F64_DIV: 0xa3,
  I32_WRAP_I64: 0xa7, I64_TRUNC_F64_S: 0xb0, I64_EXTEND_I32_S: 0xac, I64_EXTEND_I32_U: 0xad,
  F64_CONVERT_I32_S: 0xb7, F64_CONVERT_I32_U: 0xb8, F64_CONVERT_I64_S: 0xb9, F64_CONVERT_I64_U: 0xba,
  I64_REINTERPRET_F64: 0xbd, F64_REINTERPRET_I64: 0xbf,
  I32_EXTEND8_S: 0xc0, I32_EXTEND16_S: 0xc1, I64_EXTEND8_S: 0xc2, I64_EXTEND16_S: 0xc3, I64_EXTEND32_S: 0xc4,
} as const;

const F64_BITS = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64_BITS.buffer); // little-endian hosts only (x86-64, arm64), as the spec's encoding

/** A growable byte buffer with the spec's integer encodings. */
export class Bytes {
  private buf: Uint8Array<ArrayBuffer> = new Uint8Array(256);
  length = 0;

  /** Room for `n` more bytes. */
  private room(n: number): Uint8Array {
    if (this.length + n > this.buf.length) {
      const b = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      b.set(this.buf);
      this.buf = b;
    }
    return this.buf;
  }
  byte(b: number): this {
    this.room(1)[this.length++] = b;
    return this;
  }
  /** An opcode and an immediate below 128 (one byte), the common forms of local.get, br, ... */
  protected byte2(o: number, v: number): this {
    const buf = this.room(2);
    buf[this.length] = o;
    buf[this.length + 1] = v;
    this.length += 2;
    return this;
  }
  bytes(bs: ArrayLike<number>): this {
    const buf = this.room(bs.length);
    if (bs instanceof Uint8Array) buf.set(bs, this.length);
    else for (let i = 0; i < bs.length; i++) buf[this.length + i] = bs[i]!;
    this.length += bs.length;
    return this;
  }
  /** Unsigned LEB128 of a non-negative integer below 2^32 (§5.2.2). */
  u32(v: number): this {
    v >>>= 0;
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.byte(b);
    } while (v !== 0);
    return this;
  }
  /** Signed LEB128 of an int32. */
  s32(v: number): this {
    v |= 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
        this.byte(b);
        return this;
      }
      this.byte(b | 0x80);
    }
  }
  /** Signed LEB128 of an int64: a safe integer (|v| < 2^53), or a bigint taken modulo 2^64 as a signed value. */
  s64(v: bigint | number): this {
    if (typeof v === 'number') {
      if ((v | 0) === v) return this.s32(v);
      if (!Number.isSafeInteger(v)) throw new Error(`internal: i64 immediate ${v} is not a safe integer`);
      for (;;) {
        const q = Math.floor(v / 128), b = v - q * 128; // the low 7 bits (two's complement), the rest
        v = q;
        if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) return this.byte(b);
        this.byte(b | 0x80);
      }
    }
    if (v >= -0x1fffffffffffffn && v <= 0x1fffffffffffffn) return this.s64(Number(v));
    v = BigInt.asIntN(64, v);
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
        this.byte(b);
        return this;
      }
      this.byte(b | 0x80);
    }
  }
  f64(v: number): this {
    F64_BITS[0] = v;
    for (let i = 0; i < 8; i++) this.byte(F64_BYTES[i]!);
    return this;
  }
  name(s: string): this {
    const e = new TextEncoder().encode(s);
    return this.u32(e.length).bytes(e);
  }
  /** A length-prefixed copy of another buffer (section and function bodies). */
  sized(b: Bytes): this {
    return this.u32(b.length).append(b);
  }
  /** A copy of another buffer. */
  append(b: Bytes): this {
    this.room(b.length).set(b.buf.subarray(0, b.length), this.length);
    this.length += b.length;
    return this;
  }
  toArray(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.length);
  }
}

/** One function's code: locals and the instruction stream, with helpers for the common forms. */
export class Code extends Bytes {
  /** Local variable groups after the parameters: [count, type]. */
  readonly locals: [number, number][] = [];
  private nLocals: number;

  constructor(readonly params: readonly number[], readonly results: readonly number[]) {
    super();
    this.nLocals = params.length;
  }
  /** A new local of type `t`; returns its index. */
  local(t: number): number {
    const last = this.locals[this.locals.length - 1];
    if (last !== undefined && last[1] === t) last[0]++;
    else this.locals.push([1, t]);
    return this.nLocals++;
  }
  op(o: number): this {
    return this.byte(o);
  }
  i32c(v: number): this {
    return v >= 0 && v < 64 ? this.byte2(W.I32_CONST, v) : this.byte(W.I32_CONST).s32(v);
  }
  i64c(v: bigint | number): this {
    return this.byte(W.I64_CONST).s64(v);
  }
  f64c(v: number): this {
    return this.byte(W.F64_CONST).f64(v);
  }
  get(l: number): this {
    return l < 128 ? this.byte2(W.LOCAL_GET, l) : this.byte(W.LOCAL_GET).u32(l);
  }
  set(l: number): this {
    return l < 128 ? this.byte2(W.LOCAL_SET, l) : this.byte(W.LOCAL_SET).u32(l);
  }
  tee(l: number): this {
    return l < 128 ? this.byte2(W.LOCAL_TEE, l) : this.byte(W.LOCAL_TEE).u32(l);
  }
  /** A load or store with its memory immediate (alignment hint log2, constant offset). */
  mem(o: number, alignLog2: number, offset: number): this {
    return this.byte(o).u32(alignLog2).u32(offset);
  }
  /** block / loop / if with a block type (VOID or one value type). */
  begin(o: number, bt: number = VOID): this {
    return this.byte2(o, bt);
  }
  end(): this {
    return this.byte(W.END);
  }
  globalGet(g: number): this {
    return this.byte(W.GLOBAL_GET).u32(g);
  }
  globalSet(g: number): this {
    return this.byte(W.GLOBAL_SET).u32(g);
  }
  br(depth: number): this {
    return depth < 128 ? this.byte2(W.BR, depth) : this.byte(W.BR).u32(depth);
  }
  brIf(depth: number): this {
    return depth < 128 ? this.byte2(W.BR_IF, depth) : this.byte(W.BR_IF).u32(depth);
  }
  /** call_indirect through table 0 with function type `type`. */
  callIndirect(type: number): this {
    return this.byte(W.CALL_INDIRECT).u32(type).byte(0x00);
  }
  call(f: number): this {
    return this.byte(W.CALL).u32(f);
  }
  brTable(depths: readonly number[], dflt: number): this {
    this.byte(W.BR_TABLE).u32(depths.length);
    for (const d of depths) this.u32(d);
    return this.u32(dflt);
  }
}

export interface FuncImport { module: string; name: string; params: readonly number[]; results: readonly number[] }

/**
 * A module: imported memory ("m"."mem", at least `memPages` 64 KiB pages, shared with the
 * host's Memory object), optionally an imported funcref table ("m"."tab", for call_indirect),
 * imported functions, and the functions added with `func`, each exported under its name.
 * Function indices: imports first, then the module's own in order.
 */
export class ModuleBuilder {
  private readonly types: string[] = [];
  private readonly typeBytes: Bytes[] = [];
  private readonly imports: { imp: FuncImport; type: number }[] = [];
  private readonly funcs: { name: string | null; type: number; code: Code }[] = [];
  /** Module-internal mutable globals: [value type, initial value (i32 / i64 0 only)]. */
  private readonly globals: number[] = [];

  constructor(private readonly memPages = 0, private readonly tableSize = -1) {}

  /** The index of a function type (for call_indirect). */
  typeOf(params: readonly number[], results: readonly number[]): number {
    const key = `${params.join(',')}>${results.join(',')}`;
    let i = this.types.indexOf(key);
    if (i < 0) {
      const b = new Bytes().byte(0x60).u32(params.length).bytes(params).u32(results.length).bytes(results);
      i = this.types.push(key) - 1;
      this.typeBytes.push(b);
    }
    return i;
  }
  /** Import a function; returns its index. All imports must come before `func`. */
  importFunc(imp: FuncImport): number {
    if (this.funcs.length > 0) throw new Error('internal: wasm imports must precede functions');
    this.imports.push({ imp, type: this.typeOf(imp.params, imp.results) });
    return this.imports.length - 1;
  }
  /** Add a function, exported under `name` (null: internal); returns its index. */
  func(name: string | null, code: Code): number {
    this.funcs.push({ name, type: this.typeOf(code.params, code.results), code });
    return this.imports.length + this.funcs.length - 1;
  }

  /** A new internal mutable global of value type `t` (I32 or I64), initially 0; returns its index. */
  global(t: number): number {
    return this.globals.push(t) - 1;
  }

  toBytes(): Uint8Array<ArrayBuffer> {
    const out = new Bytes().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    const section = (id: number, body: Bytes): void => {
      out.byte(id).sized(body);
    };
    // 1: types
    const types = new Bytes().u32(this.typeBytes.length);
    for (const t of this.typeBytes) types.append(t);
    section(1, types);
    // 2: imports (memory first, then functions)
    const imps = new Bytes().u32(1 + (this.tableSize >= 0 ? 1 : 0) + this.imports.length);
    imps.name('m').name('mem').byte(0x02).byte(0x00).u32(this.memPages);
    if (this.tableSize >= 0) imps.name('m').name('tab').byte(0x01).byte(0x70).byte(0x00).u32(this.tableSize);
    for (const { imp, type } of this.imports) imps.name(imp.module).name(imp.name).byte(0x00).u32(type);
    section(2, imps);
    // 3: function types
    const fs = new Bytes().u32(this.funcs.length);
    for (const f of this.funcs) fs.u32(f.type);
    section(3, fs);
    // 6: globals (mutable, initialized with a constant 0)
    if (this.globals.length !== 0) {
      const gs = new Bytes().u32(this.globals.length);
      for (const t of this.globals) gs.byte(t).byte(0x01).byte(t === I64 ? W.I64_CONST : W.I32_CONST).byte(0).byte(W.END);
      section(6, gs);
    }
    // 7: exports
    const named = this.funcs.filter((f) => f.name !== null).length;
    const ex = new Bytes().u32(named);
    this.funcs.forEach((f, i) => { if (f.name !== null) ex.name(f.name).byte(0x00).u32(this.imports.length + i); });
    section(7, ex);
    // 10: code
    const code = new Bytes().u32(this.funcs.length);
    for (const f of this.funcs) {
      const body = new Bytes().u32(f.code.locals.length);
      for (const [n, t] of f.code.locals) body.u32(n).byte(t);
      body.append(f.code).byte(W.END);
      code.sized(body);
    }
    section(10, code);
    return out.toArray();
  }
}
