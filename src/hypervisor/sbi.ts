/**
 * The SBI a guest sees (VS-mode ecall -> VM exit -> here), SBI v2.0 as the built-in firmware:
 * BASE (with an honest probe_extension: exactly the extensions below), TIME, IPI, RFENCE, HSM,
 * SRST, DBCN and the legacy extensions 0x00-0x08; anything else answers
 * SBI_ERR_NOT_SUPPORTED. Hart ids are the VM's vCPU ids; addresses are guest-physical (DBCN,
 * HSM) or guest-virtual (legacy hart-mask pointers, read like HLV would).
 *
 * The implementation id and version are hvtrace's (the firmware's), so a guest prints the same
 * lines under the hypervisor as on bare hvtrace.
 */
import type { Hart } from '../hart/hart.js';
import * as C from '../hart/constants.js';
import {
  SBI_SUCCESS, SBI_ERR_NOT_SUPPORTED, SBI_ERR_INVALID_PARAM, SBI_ERR_INVALID_ADDRESS, SBI_ERR_ALREADY_AVAILABLE,
  SBI_SPEC_VERSION, SBI_IMPL_ID, SBI_IMPL_VERSION,
  EXT_BASE, EXT_TIME, EXT_IPI, EXT_RFENCE, EXT_HSM, EXT_SRST, EXT_DBCN, dbcnCall, srstRequest,
} from '../firmware/sbi.js';
import { HSM_STOPPED, HSM_SUSPENDED, U64_MAX, type VCpu } from './vcpu.js';
import type { Vm } from './vm.js';
import type { Hypervisor } from './hypervisor.js';

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** Extensions probe_extension reports as available (SBI spec §4.8). */
export const GUEST_EXTENSIONS: readonly number[] = [EXT_BASE, EXT_TIME, EXT_IPI, EXT_RFENCE, EXT_HSM, EXT_SRST, EXT_DBCN, 0, 1, 2, 3, 4, 5, 6, 7, 8];

/** [error, value], or null when the call does not return to the caller (stop, reset). */
type SbiResult = [bigint, bigint] | null;

/**
 * Handle the SBI call of vCPU v (its registers are in the hart): a0/a1 get the result and the
 * guest pc moves past the ecall, or the vCPU / VM does not come back.
 */
export function handleSbiCall(hv: Hypervisor, h: Hart, vm: Vm, v: VCpu): void {
  const eid = Number(h.getX(17) & 0xffffffffn);
  const fid = Number(h.getX(16) & 0xffffffffn);
  const args = [h.getX(10), h.getX(11), h.getX(12), h.getX(13), h.getX(14), h.getX(15)];
  const r = dispatch(hv, h, vm, v, eid, fid, args);
  if (r === null) {
    if (h.obs) h.obs.sbiCall(h, { callerPriv: v.priv, eid, fid, args, error: 0n, value: 0n, handler: 'hypervisor' });
    return;
  }
  const [error, value] = r;
  h.setX(10, U64(error));
  if (eid > 0x08) h.setX(11, U64(value)); // legacy calls return one value, in a0
  if (h.obs) h.obs.sbiCall(h, { callerPriv: v.priv, eid, fid, args, error: U64(error), value: U64(value), handler: 'hypervisor' });
  v.pc += 4n;
}

/** vCPUs selected by (hart_mask, hart_mask_base) (SBI spec §3.2), or null if one does not exist. */
function selectVcpus(vm: Vm, mask: bigint, base: bigint): VCpu[] | null {
  const n = vm.vcpus.length;
  if (base === U64(-1n)) return vm.vcpus.list.slice();
  const out: VCpu[] = [];
  for (let i = 0; i < 64; i++) {
    if ((mask >> BigInt(i)) & 1n) {
      const id = base + BigInt(i);
      if (id >= BigInt(n)) return null;
      out.push(vm.vcpus.list[Number(id)]!);
    }
  }
  return out;
}

/** A legacy hart mask: a guest-virtual pointer to an unsigned long (0 = all harts). */
function legacyMask(h: Hart, vm: Vm, ptr: bigint): VCpu[] | null {
  if (ptr === 0n) return vm.vcpus.list.slice();
  const mask = h.guestLoad(ptr, 8, false);
  if (mask === null) return null;
  return selectVcpus(vm, mask, 0n);
}

function dispatch(hv: Hypervisor, h: Hart, vm: Vm, v: VCpu, eid: number, fid: number, a: bigint[]): SbiResult {
  switch (eid) {
    case EXT_BASE: return base(fid, a);
    case EXT_TIME:
      if (fid !== 0) return [SBI_ERR_NOT_SUPPORTED, 0n];
      setTimer(hv, v, a[0]!);
      return [SBI_SUCCESS, 0n];
    case EXT_IPI: {
      if (fid !== 0) return [SBI_ERR_NOT_SUPPORTED, 0n];
      const sel = selectVcpus(vm, a[0]!, a[1]!);
      if (sel === null) return [SBI_ERR_INVALID_PARAM, 0n];
      for (const t of sel) hv.raiseVirq(t, C.MIP_VSSIP);
      return [SBI_SUCCESS, 0n];
    }
    case EXT_RFENCE: {
      // remote fence.i (0), sfence.vma (1), sfence.vma.asid (2); the hfence.* functions are for
      // guests that are hypervisors themselves: not supported (no nested virtualization).
      if (fid > 2) return [SBI_ERR_NOT_SUPPORTED, 0n];
      const sel = selectVcpus(vm, a[0]!, a[1]!);
      if (sel === null) return [SBI_ERR_INVALID_PARAM, 0n];
      if (fid !== 0) for (const t of sel) hv.remoteSfence(t);
      return [SBI_SUCCESS, 0n];
    }
    case EXT_HSM: return hsm(hv, h, vm, v, fid, a);
    case EXT_SRST: {
      const r = srstRequest(fid, a);
      if (Array.isArray(r)) return r;
      vm.shutdown(hv, h, v, r.kind, r.reason);
      return null;
    }
    case EXT_DBCN: return dbcn(hv, vm, fid, a);
    // ---- legacy extensions (SBI spec §5) ----
    case 0x00: setTimer(hv, v, a[0]!); return [SBI_SUCCESS, 0n];
    case 0x01: hv.plat.consoleWrite(Uint8Array.of(Number(a[0]! & 0xffn))); return [SBI_SUCCESS, 0n];
    case 0x02: return [BigInt(hv.plat.consoleRead()), 0n];
    case 0x03: hv.lowerVirq(v, C.MIP_VSSIP); return [SBI_SUCCESS, 0n];
    case 0x04: case 0x05: case 0x06: case 0x07: {
      const sel = legacyMask(h, vm, a[0]!);
      if (sel === null) return [SBI_ERR_INVALID_PARAM, 0n];
      for (const t of sel) {
        if (eid === 0x04) hv.raiseVirq(t, C.MIP_VSSIP);
        else if (eid !== 0x05) hv.remoteSfence(t);
      }
      return [SBI_SUCCESS, 0n];
    }
    case 0x08:
      vm.shutdown(hv, h, v, 'poweroff', 0);
      return null;
    default:
      return [SBI_ERR_NOT_SUPPORTED, 0n];
  }
}

function base(fid: number, a: bigint[]): [bigint, bigint] {
  switch (fid) {
    case 0: return [SBI_SUCCESS, SBI_SPEC_VERSION];
    case 1: return [SBI_SUCCESS, SBI_IMPL_ID];
    case 2: return [SBI_SUCCESS, SBI_IMPL_VERSION];
    case 3: return [SBI_SUCCESS, a[0]! < 0x100000000n && GUEST_EXTENSIONS.includes(Number(a[0]!)) ? 1n : 0n];
    case 4: case 5: case 6: return [SBI_SUCCESS, 0n]; // mvendorid, marchid, mimpid
    default: return [SBI_ERR_NOT_SUPPORTED, 0n];
  }
}

/**
 * TIME.set_timer: the hypervisor injects hvip.VSTIP at the deadline (Hypercraft's timer
 * injection); setting a timer clears a pending one (SBI spec §6.1). A deadline already passed
 * is pending at once, as with Sstc.
 */
function setTimer(hv: Hypervisor, v: VCpu, t: bigint): void {
  hv.lowerVirq(v, C.MIP_VSTIP);
  if (t <= hv.now()) {
    v.timer = U64_MAX;
    hv.raiseVirq(v, C.MIP_VSTIP);
  } else {
    v.timer = t;
  }
}

function hsm(hv: Hypervisor, h: Hart, vm: Vm, v: VCpu, fid: number, a: bigint[]): SbiResult {
  const n = BigInt(vm.vcpus.length);
  switch (fid) {
    case 0: { // hart_start(hartid, start_addr, opaque)
      if (a[0]! >= n) return [SBI_ERR_INVALID_PARAM, 0n];
      const t = vm.vcpus.list[Number(a[0]!)]!;
      if (t.hsm !== HSM_STOPPED) return [SBI_ERR_ALREADY_AVAILABLE, 0n];
      if (!vm.inRam(a[1]!, 2)) return [SBI_ERR_INVALID_ADDRESS, 0n];
      t.reset(a[1]!, a[2]!);
      hv.kick(t.pcpu);
      return [SBI_SUCCESS, 0n];
    }
    case 1: // hart_stop(): does not return
      v.hsm = HSM_STOPPED;
      v.waiting = false;
      return null;
    case 2: { // hart_get_status(hartid)
      if (a[0]! >= n) return [SBI_ERR_INVALID_PARAM, 0n];
      return [SBI_SUCCESS, BigInt(vm.vcpus.list[Number(a[0]!)]!.hsm)];
    }
    case 3: { // hart_suspend(type, resume_addr, opaque)
      const type = a[0]!;
      if (type === 0n) {
        // Retentive: returns SUCCESS when an interrupt wakes the vCPU (like WFI).
        if (!hv.virqPending(h, v)) {
          v.hsm = HSM_SUSPENDED;
          v.waiting = true;
        }
        return [SBI_SUCCESS, 0n];
      }
      if (type === 0x80000000n) {
        // Non-retentive: resumes at resume_addr in S-mode, a0 = hartid, a1 = opaque, MMU off.
        if (!vm.inRam(a[1]!, 2)) return [SBI_ERR_INVALID_ADDRESS, 0n];
        v.hsm = HSM_SUSPENDED;
        v.waiting = true;
        v.resume = { pc: a[1]!, a1: a[2]! };
        if (hv.virqPending(h, v)) hv.wake(v); // an interrupt is pending already: resume at once
        return null;
      }
      return [SBI_ERR_INVALID_PARAM, 0n];
    }
    default: return [SBI_ERR_NOT_SUPPORTED, 0n];
  }
}

function dbcn(hv: Hypervisor, vm: Vm, fid: number, a: bigint[]): [bigint, bigint] {
  // The buffer is guest-physical: through the VM's memory map.
  return dbcnCall(fid, a, hv.plat, hv.plat.mem, (gpa, len) => vm.gpaToHpa(gpa, Math.max(len, 1)));
}
