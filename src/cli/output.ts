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
