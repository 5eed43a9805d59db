import { describe, expect, it } from 'vitest';
import { TestDevice, type HaltRequest } from '../src/devices/testdev.js';

function setup() {
  const halts: HaltRequest[] = [];
  const dev = new TestDevice((h) => void halts.push(h));
  return { dev, halts };
}

describe('TestDevice (sifive_test)', () => {
  it('has the virt address and size', () => {
    const { dev } = setup();
    expect(dev.base).toBe(0x10_0000);
    expect(dev.size).toBe(0x1000);
  });

  it('0x5555 powers off with code 0 (high half ignored, as QEMU)', () => {
    const { dev, halts } = setup();
    dev.write(0, 4, 0x5555n);
    dev.write(0, 4, 0x0001_5555n);
    expect(halts).toEqual([
      { kind: 'poweroff', code: 0 },
      { kind: 'poweroff', code: 0 },
    ]);
  });

  it('0x3333 | code << 16 fails with that code', () => {
    const { dev, halts } = setup();
    dev.write(0, 4, 0x3333n | (42n << 16n));
    dev.write(0, 4, 0xffff_3333n);
    dev.write(0, 2, 0x3333n); // 16-bit write: code 0
    expect(halts).toEqual([
      { kind: 'fail', code: 42 },
      { kind: 'fail', code: 0xffff },
      { kind: 'fail', code: 0 },
    ]);
  });

  it('0x7777 requests a reset', () => {
    const { dev, halts } = setup();
    dev.write(0, 4, 0x7777n);
    expect(halts).toEqual([{ kind: 'reset', code: 0 }]);
  });

  it('ignores other values, offsets and widths; reads 0', () => {
    const { dev, halts } = setup();
    dev.write(0, 4, 0x1234n);
    dev.write(4, 4, 0x5555n);
    dev.write(0, 1, 0x55n);
    dev.write(0, 8, 0x5555n);
    expect(halts).toEqual([]);
    expect(dev.read(0, 4)).toBe(0n);
    expect(dev.saveState()).toEqual({});
    dev.restoreState({});
  });
});
