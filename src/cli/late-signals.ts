/**
 * Signals that arrive after a command has decided how it ends.
 *
 * A command that handles SIGINT / SIGTERM (record, a gdb session, run after a gdb detach) closes
 * its trace or its socket and returns its exit status; the process then exits, and that exit
 * waits for V8's background compile threads (40-90 ms after a boot: a TurboFan job of Hart.loop
 * is usually in flight). Once the last JavaScript listener of a signal is removed, libuv restores
 * the default action, so a Ctrl-C landing in that wait killed a finished recording by the
 * signal, which a CI script reads as "aborted" though the trace is complete (seen in CI: SIGINT
 * 1.5 s into a Linux recording that had just finished).
 *
 * holdLateSignals() is called before a command removes its own listeners (a gdb session: before
 * the server installs its own): no-op listeners keep libuv's handler installed, and main.ts ends
 * every command, once its event loop is empty, with process.exit(), which (unlike the natural
 * exit) does not close them before the wait. A late signal is swallowed; the decided status
 * stands. Signal listeners do not keep the event loop alive.
 */
const LATE_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let held = false;

const swallow = (): void => {};

export function holdLateSignals(): void {
  if (held) return;
  held = true;
  for (const sig of LATE_SIGNALS) process.on(sig, swallow);
}
