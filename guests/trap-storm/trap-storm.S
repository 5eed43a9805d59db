/*
 * trap-storm: an M-mode program (--bios none) whose trap handler's first instruction is
 * illegal, so every step is a trap into that same handler, forever. It measures the trap path
 * (scripts/bench-traps.mjs: traps per second) and that --max-insns N stops it after N attempted
 * instructions (issue 12).
 */
    .section .text.entry, "ax"
    .globl _start
_start:
    lla     t0, handler
    csrw    mtvec, t0
    .balign 4
handler:
    .word   0                       /* illegal instruction: traps to handler again */
