/**
 * Write to stdout. A reader that went away (`| head`) ends the process quietly: main.ts
 * installs the EPIPE handler for the asynchronous case; a synchronous EPIPE is swallowed here.
 */
export function out(s: string): void {
  try {
    process.stdout.write(s);
  } catch {
    /* EPIPE: the reader is gone */
  }
}

/**
 * Guest console bytes for stdout, collected and written in one call per scheduler step
 * (`flush`): the guest writes one byte per UART store or SBI call, and a stdout write each
 * cost more than the emulation of a Linux boot's console (~60 ms of a 1.6 s boot).
 */
export class ConsoleBuffer {
  private chunks: Uint8Array[] = [];
  private size = 0;
  /** A status line on the same terminal (cli/progress.ts): cleared before, redrawn after. */
  statusLine: { beforeConsole(): void; afterConsole(last: number): void } | null = null;
  readonly write = (b: Uint8Array): void => {
    this.chunks.push(b.slice());
    this.size += b.length;
    if (this.size >= 65536) this.flush();
  };
  flush(): void {
    if (this.size === 0) return;
    const all = Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    this.size = 0;
    this.statusLine?.beforeConsole();
    try {
      process.stdout.write(all);
    } catch {
      /* EPIPE: the reader is gone */
    }
    this.statusLine?.afterConsole(all[all.length - 1]!);
  }
}
