/**
 * `--rtc base=utc|localtime|YYYY-MM-DDTHH:MM:SS|YYYY-MM-DD[,clock=vm]`: the goldfish RTC's date
 * at virtual time 0 (src/devices/goldfish-rtc.ts), in QEMU's -rtc syntax (qemu-options.hx; a
 * datetime as QEMU's configure_rtc_base_datetime reads it, in UTC).
 *
 * This is the only place the host clock sets the guest's date: `base=utc` (the default) and
 * `base=localtime` read it here, in src/cli/, once; from then on the RTC advances with virtual
 * time, and the trace stores the base, so a replay reads the same dates.
 */
import { ImageError } from '../image/loader.js';

export interface RtcConfig {
  /** Whole seconds since 1970-01-01 UTC. */
  readonly base: number;
}

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2}))?Z?$/;

/** One-line errors (ImageError: exit 2). `now` is the host clock (a parameter for tests). */
export function parseRtcOption(spec: string | undefined, now: Date = new Date()): RtcConfig {
  let base: number | null = null;
  for (const part of spec === undefined ? [] : spec.split(',')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    switch (key) {
      case 'base':
        base = parseBase(value, now);
        break;
      case 'clock':
        // The RTC always follows virtual time: QEMU's clock=vm. host / rt would be the host's.
        if (value !== 'vm') throw new ImageError(`--rtc clock=${value}: hvtrace's RTC follows virtual time only (clock=vm), so that replays read the same dates`);
        break;
      default:
        throw new ImageError(`--rtc ${spec}: unknown '${part}'; expected base=utc|localtime|YYYY-MM-DDTHH:MM:SS and optionally clock=vm`);
    }
  }
  return { base: base ?? Math.floor(now.getTime() / 1000) };
}

function parseBase(value: string, now: Date): number {
  if (value === 'utc') return Math.floor(now.getTime() / 1000);
  // QEMU: the host's local time, presented to the guest as if it were UTC.
  if (value === 'localtime') return Math.floor(now.getTime() / 1000) - now.getTimezoneOffset() * 60;
  const m = DATETIME.exec(value);
  if (!m) throw new ImageError(`--rtc base=${value}: expected utc, localtime, YYYY-MM-DDTHH:MM:SS or YYYY-MM-DD (UTC)`);
  const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1).map((x) => x ?? '0');
  const t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const back = new Date(t);
  // Date.UTC rolls 2024-02-30 over to March: a field out of range is an error.
  if (back.getUTCFullYear() !== Number(y) || back.getUTCMonth() !== Number(mo) - 1 || back.getUTCDate() !== Number(d)
    || back.getUTCHours() !== Number(h) || back.getUTCMinutes() !== Number(mi) || back.getUTCSeconds() !== Number(s)) {
    throw new ImageError(`--rtc base=${value}: not a valid date and time`);
  }
  if (t < 0) throw new ImageError(`--rtc base=${value}: before 1970-01-01, which the RTC cannot count from`);
  return t / 1000;
}

/** The base as QEMU's datetime syntax (UTC), for messages and `info`. */
export function formatRtcBase(base: number): string {
  return new Date(base * 1000).toISOString().replace(/\.\d{3}Z$/, '');
}
