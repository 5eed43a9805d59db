/* RV64I, M and A checks. Operands go through registers (inline asm) so the
 * compiler cannot fold them. */
#include "check.h"

#define C(name, got, exp) check(name, (uint64_t)(got), (uint64_t)(exp))

static int taken(int which, uint64_t a, uint64_t b);

void check_rv64i(void)
{
    const uint64_t x = 0x8000000000000001UL;
    const uint64_t y = 0xdeadbeef80000001UL;   /* W ops see 0x80000001 */

    /* x0 is hard-wired to zero */
    {
        uint64_t r;
        asm volatile("addi x0, x0, 5\n\tmv %0, x0" : "=r"(r));
        C("x0 write ignored", r, 0);
    }

    /* add/sub and W forms */
    C("add overflow", RR("add", INT64_MAX, 1), 0x8000000000000000UL);
    C("add -1+1", RR("add", -1, 1), 0);
    C("sub 0-1", RR("sub", 0, 1), 0xffffffffffffffffUL);
    C("sub min-1", RR("sub", INT64_MIN, 1), INT64_MAX);
    C("addi -6", RI("addi", 5, -6), -1);
    C("addi max imm", RI("addi", 0, 2047), 2047);
    C("addi min imm", RI("addi", 0, -2048), -2048);
    C("addw sign-ext", RR("addw", 0x7fffffff, 1), 0xffffffff80000000UL);
    C("addw ignores upper", RR("addw", 0x100000001UL, 0x1ffffffffUL), 0);
    C("subw 0-1", RR("subw", 0, 1), -1);
    C("subw 0x80000000-1", RR("subw", 0x80000000UL, 1), 0x7fffffff);
    C("addiw sign-ext", RI("addiw", 0x7fffffff, 1), 0xffffffff80000000UL);
    C("addiw 0 (sext.w)", RI("addiw", 0x12345678fedcba98UL, 0), 0xfffffffffedcba98UL);

    /* logic */
    C("and", RR("and", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL), 0x0f000f000f000f00UL);
    C("or", RR("or", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL), 0xfff0fff0fff0fff0UL);
    C("xor", RR("xor", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL), 0xf0f0f0f0f0f0f0f0UL);
    C("andi -16", RI("andi", 0x123456789abcdef7UL, -16), 0x123456789abcdef0UL);
    C("ori -1", RI("ori", 0x1234, -1), -1);
    C("xori -1 (not)", RI("xori", 0x123456789abcdef0UL, -1), 0xedcba9876543210fUL);
    C("xori 0x7ff", RI("xori", 0xf00, 0x7ff), 0x8ff);

    /* compares */
    C("slt -1<0", RR("slt", -1, 0), 1);
    C("slt 0<-1", RR("slt", 0, -1), 0);
    C("slt min<max", RR("slt", INT64_MIN, INT64_MAX), 1);
    C("sltu -1<0", RR("sltu", -1, 0), 0);
    C("sltu 0<-1", RR("sltu", 0, -1), 1);
    C("sltu x<x", RR("sltu", 5, 5), 0);
    C("slti -1<0", RI("slti", -1, 0), 1);
    C("slti -2048", RI("slti", -2049, -2048), 1);
    C("sltiu imm sign-ext", RI("sltiu", 0xfffffffffffff000UL, -1), 1);
    C("sltiu seqz", RI("sltiu", 0, 1), 1);
    C("sltiu 5<1", RI("sltiu", 5, 1), 0);

    /* 64-bit shifts by 0/31/32/63 (and 64: only 6 bits of rs2 count) */
    C("sll 0", RR("sll", x, 0), x);
    C("sll 31", RR("sll", x, 31), 0x80000000UL);
    C("sll 32", RR("sll", x, 32), 0x100000000UL);
    C("sll 63", RR("sll", x, 63), 0x8000000000000000UL);
    C("sll 64->0", RR("sll", x, 64), x);
    C("srl 0", RR("srl", x, 0), x);
    C("srl 31", RR("srl", x, 31), 0x100000000UL);
    C("srl 32", RR("srl", x, 32), 0x80000000UL);
    C("srl 63", RR("srl", x, 63), 1);
    C("srl 65->1", RR("srl", x, 65), 0x4000000000000000UL);
    C("sra 0", RR("sra", x, 0), x);
    C("sra 31", RR("sra", x, 31), 0xffffffff00000000UL);
    C("sra 32", RR("sra", x, 32), 0xffffffff80000000UL);
    C("sra 63", RR("sra", x, 63), -1);
    C("sra positive", RR("sra", 0x4000000000000000UL, 62), 1);
    C("slli 0", RI("slli", x, 0), x);
    C("slli 31", RI("slli", x, 31), 0x80000000UL);
    C("slli 32", RI("slli", x, 32), 0x100000000UL);
    C("slli 63", RI("slli", x, 63), 0x8000000000000000UL);
    C("srli 0", RI("srli", x, 0), x);
    C("srli 31", RI("srli", x, 31), 0x100000000UL);
    C("srli 32", RI("srli", x, 32), 0x80000000UL);
    C("srli 63", RI("srli", x, 63), 1);
    C("srai 0", RI("srai", x, 0), x);
    C("srai 31", RI("srai", x, 31), 0xffffffff00000000UL);
    C("srai 32", RI("srai", x, 32), 0xffffffff80000000UL);
    C("srai 63", RI("srai", x, 63), -1);

    /* 32-bit shifts: 5-bit shift amount, sign-extended result */
    C("sllw 0", RR("sllw", y, 0), 0xffffffff80000001UL);
    C("sllw 1", RR("sllw", y, 1), 2);
    C("sllw 31", RR("sllw", y, 31), 0xffffffff80000000UL);
    C("sllw 32->0", RR("sllw", y, 32), 0xffffffff80000001UL);
    C("srlw 0", RR("srlw", y, 0), 0xffffffff80000001UL);
    C("srlw 1", RR("srlw", y, 1), 0x40000000);
    C("srlw 31", RR("srlw", y, 31), 1);
    C("srlw 32->0", RR("srlw", y, 32), 0xffffffff80000001UL);
    C("sraw 0", RR("sraw", y, 0), 0xffffffff80000001UL);
    C("sraw 1", RR("sraw", y, 1), 0xffffffffc0000000UL);
    C("sraw 31", RR("sraw", y, 31), -1);
    C("sraw 63->31", RR("sraw", y, 63), -1);
    C("slliw 0", RI("slliw", y, 0), 0xffffffff80000001UL);
    C("slliw 31", RI("slliw", y, 31), 0xffffffff80000000UL);
    C("srliw 0", RI("srliw", y, 0), 0xffffffff80000001UL);
    C("srliw 31", RI("srliw", y, 31), 1);
    C("srliw 1", RI("srliw", 0xffffffffUL, 1), 0x7fffffff);
    C("sraiw 0", RI("sraiw", y, 0), 0xffffffff80000001UL);
    C("sraiw 31", RI("sraiw", y, 31), -1);
    C("sraiw 4", RI("sraiw", 0x0000000070000000UL, 4), 0x07000000);

    /* lui / auipc */
    {
        uint64_t r;
        asm volatile("lui %0, 0x80000" : "=r"(r));
        C("lui sign-ext", r, 0xffffffff80000000UL);
        asm volatile("lui %0, 0x7ffff" : "=r"(r));
        C("lui 0x7ffff", r, 0x7ffff000UL);
        asm volatile("lui %0, 0xfffff" : "=r"(r));
        C("lui 0xfffff", r, 0xfffffffffffff000UL);
        uint64_t pc, lbl;
        asm volatile(".option push\n\t.option norelax\n"
                     "1: auipc %0, 0\n\tlla %1, 1b\n\t.option pop" : "=r"(pc), "=r"(lbl));
        C("auipc 0", pc, lbl);
        asm volatile(".option push\n\t.option norelax\n"
                     "1: auipc %0, 1\n\tlla %1, 1b\n\t.option pop" : "=r"(pc), "=r"(lbl));
        C("auipc 1", pc, lbl + 4096);
        asm volatile(".option push\n\t.option norelax\n"
                     "1: auipc %0, 0xfffff\n\tlla %1, 1b\n\t.option pop" : "=r"(pc), "=r"(lbl));
        C("auipc -1", pc, lbl - 4096);
    }

    /* loads: sign/zero extension */
    {
        static volatile uint64_t mem[2];
        mem[0] = 0x8000ff7f80017ffeUL;   /* bytes: fe 7f 01 80 7f ff 00 80 */
        mem[1] = 0x0123456789abcdefUL;
        volatile uint8_t *b = (volatile uint8_t *)mem;
        uint64_t r;
#define LD(insn, off) ({ asm volatile(insn " %0, %1(%2)" : "=r"(r) : "i"(off), "r"(b) : "memory"); r; })
        C("lb 0xfe", LD("lb", 0), 0xfffffffffffffffeUL);
        C("lb 0x7f", LD("lb", 1), 0x7f);
        C("lbu 0xfe", LD("lbu", 0), 0xfe);
        C("lb 0x80", LD("lb", 3), 0xffffffffffffff80UL);
        C("lh 0x7ffe", LD("lh", 0), 0x7ffe);
        C("lh 0x8001", LD("lh", 2), 0xffffffffffff8001UL);
        C("lhu 0x8001", LD("lhu", 2), 0x8001);
        C("lh 0xff7f", LD("lh", 4), 0xffffffffffffff7fUL);
        C("lw 0x80017ffe", LD("lw", 0), 0xffffffff80017ffeUL);
        C("lwu 0x80017ffe", LD("lwu", 0), 0x80017ffeUL);
        C("lw 0x8000ff7f", LD("lw", 4), 0xffffffff8000ff7fUL);
        C("ld", LD("ld", 0), 0x8000ff7f80017ffeUL);
        C("ld offset 8", LD("ld", 8), 0x0123456789abcdefUL);
        C("lbu offset 15", LD("lbu", 15), 0x01);
        {
            volatile uint8_t *e = b + 16;
            asm volatile("lb %0, -13(%1)" : "=r"(r) : "r"(e) : "memory");
            C("lb negative offset", r, 0xffffffffffffff80UL);
        }
#undef LD
        /* stores */
        asm volatile("sb %1, 0(%0)" :: "r"(b), "r"(0x1122334455667788UL) : "memory");
        C("sb", mem[0], 0x8000ff7f80017f88UL);
        asm volatile("sh %1, 2(%0)" :: "r"(b), "r"(0x1122334455667788UL) : "memory");
        C("sh", mem[0], 0x8000ff7f77887f88UL);
        asm volatile("sw %1, 4(%0)" :: "r"(b), "r"(0x1122334455667788UL) : "memory");
        C("sw", mem[0], 0x5566778877887f88UL);
        asm volatile("sd %1, 8(%0)" :: "r"(b), "r"(0x1122334455667788UL) : "memory");
        C("sd", mem[1], 0x1122334455667788UL);
        C("sw no spill", mem[0], 0x5566778877887f88UL);
    }

    /* branches at signed/unsigned boundaries */
    {
        enum { BEQ, BNE, BLT, BGE, BLTU, BGEU };
        const uint64_t mn = INT64_MIN, mx = INT64_MAX, m1 = -1;
        C("beq equal", taken(BEQ, 7, 7), 1);
        C("beq differ", taken(BEQ, 7, 8), 0);
        C("bne differ", taken(BNE, mn, mx), 1);
        C("bne equal", taken(BNE, m1, m1), 0);
        C("blt min<max", taken(BLT, mn, mx), 1);
        C("blt max<min", taken(BLT, mx, mn), 0);
        C("blt -1<0", taken(BLT, m1, 0), 1);
        C("blt equal", taken(BLT, 5, 5), 0);
        C("bge max>=min", taken(BGE, mx, mn), 1);
        C("bge equal", taken(BGE, mn, mn), 1);
        C("bge -1>=0", taken(BGE, m1, 0), 0);
        C("bltu min<max", taken(BLTU, mn, mx), 0);
        C("bltu 0<-1", taken(BLTU, 0, m1), 1);
        C("bltu -1<0", taken(BLTU, m1, 0), 0);
        C("bgeu -1>=0", taken(BGEU, m1, 0), 1);
        C("bgeu equal", taken(BGEU, mx, mx), 1);
        C("bgeu max>=min", taken(BGEU, mx, mn), 0);
    }

    /* jal / jalr */
    {
        uint64_t link, expect;
        asm volatile("jal %0, 1f\n"
                     "2: j 3f\n"
                     "1: lla %1, 2b\n"
                     "3:"
                     : "=&r"(link), "=&r"(expect) : "1"(0UL));
        C("jal link", link, expect);
        uint64_t back = 0;
        asm volatile("j 2f\n"
                     "1: li %0, 1\n"
                     "   j 3f\n"
                     "2: jal x0, 1b\n"
                     "3:"
                     : "+r"(back));
        C("jal backwards", back, 1);
        asm volatile("lla t0, 1f\n"
                     "addi t0, t0, 1\n"          /* odd target: LSB is cleared */
                     "jalr %0, 0(t0)\n"
                     "2: j 3f\n"
                     "1: lla %1, 2b\n"
                     "3:"
                     : "=&r"(link), "=&r"(expect) : "1"(0UL) : "t0");
        C("jalr odd target", link, expect);
        asm volatile("lla t0, 1f\n"
                     "addi t0, t0, -2\n"
                     "jalr %0, 3(t0)\n"          /* t0+3 = target+1 */
                     "2: j 3f\n"
                     "1: lla %1, 2b\n"
                     "3:"
                     : "=&r"(link), "=&r"(expect) : "1"(0UL) : "t0");
        C("jalr offset+odd", link, expect);
        uint64_t same;
        asm volatile("lla %0, 1f\n"
                     "jalr %0, 0(%0)\n"          /* rd == rs1: target uses old value */
                     "2: j 3f\n"
                     "1: lla %1, 2b\n"
                     "3:"
                     : "=&r"(same), "=&r"(expect) : "1"(0UL));
        C("jalr rd==rs1", same, expect);
    }
}

static int taken(int which, uint64_t a, uint64_t b)
{
    uint64_t t = 1;
#define BR(insn) asm volatile(insn " %1, %2, 1f\n\tli %0, 0\n1:" : "+r"(t) : "r"(a), "r"(b))
    switch (which) {
    case 0: BR("beq"); break;
    case 1: BR("bne"); break;
    case 2: BR("blt"); break;
    case 3: BR("bge"); break;
    case 4: BR("bltu"); break;
    default: BR("bgeu"); break;
    }
#undef BR
    return (int)t;
}

void check_rv64m(void)
{
    const uint64_t a = 0x123456789abcdef0UL, b = 0x0fedcba987654321UL;
    C("mul", RR("mul", a, b), 0x2236d88fe5618cf0UL);
    C("mul -1*-1", RR("mul", -1, -1), 1);
    C("mulh", RR("mulh", a, b), 0x0121fa00ad77d742UL);
    C("mulhu", RR("mulhu", a, b), 0x0121fa00ad77d742UL);
    C("mulh neg", RR("mulh", 0xfedcba9876543210UL, 0x0123456789abcdefUL), 0xfffeb49923cc0953UL);
    C("mulh -1*-1", RR("mulh", -1, -1), 0);
    C("mulhu -1*-1", RR("mulhu", -1, -1), 0xfffffffffffffffeUL);
    C("mulh min*min", RR("mulh", INT64_MIN, INT64_MIN), 0x4000000000000000UL);
    C("mulh -1*2", RR("mulh", -1, 2), -1);
    C("mulhu -1*2", RR("mulhu", -1, 2), 1);
    C("mulhsu -1*2", RR("mulhsu", -1, 2), -1);
    C("mulhsu 2*(2^64-1)", RR("mulhsu", 2, -1), 1);
    C("mulhsu min*(2^64-1)", RR("mulhsu", INT64_MIN, -1), 0x8000000000000000UL);
    C("mulw", RR("mulw", 0x12345678, 0x9abcdef), 0xffffffffe242d208UL);
    C("mulw ignores upper", RR("mulw", 0xffffffff00000003UL, 0x100000005UL), 15);
    C("mulw 0x7fffffff*2", RR("mulw", 0x7fffffff, 2), 0xfffffffffffffffeUL);

    C("div 7/-2", RR("div", 7, -2), -3);
    C("div -7/2", RR("div", -7, 2), -3);
    C("rem 7%-2", RR("rem", 7, -2), 1);
    C("rem -7%2", RR("rem", -7, 2), -1);
    C("divu", RR("divu", -1, 3), 0x5555555555555555UL);
    C("remu", RR("remu", -1, 10), 5);
    C("div by 0", RR("div", 42, 0), -1);
    C("divu by 0", RR("divu", 42, 0), 0xffffffffffffffffUL);
    C("rem by 0", RR("rem", -42, 0), -42);
    C("remu by 0", RR("remu", 42, 0), 42);
    C("div min/-1", RR("div", INT64_MIN, -1), INT64_MIN);
    C("rem min/-1", RR("rem", INT64_MIN, -1), 0);
    C("divw", RR("divw", 0xffffffff00000007UL, 0xfffffffe), -3);
    C("divw min/-1", RR("divw", 0x80000000UL, -1), 0xffffffff80000000UL);
    C("remw min/-1", RR("remw", 0x80000000UL, -1), 0);
    C("divw by 0", RR("divw", 5, 0x100000000UL), -1);
    C("remw by 0", RR("remw", 0x1234580000000UL | 0x80000000UL, 0), 0xffffffff80000000UL);
    C("divuw", RR("divuw", 0xffffffffUL, 1), 0xffffffffffffffffUL);
    C("divuw 2", RR("divuw", 0xfffffffe, 2), 0x7fffffff);
    C("divuw by 0", RR("divuw", 7, 0), 0xffffffffffffffffUL);
    C("remuw", RR("remuw", 0xffffffff, 10), 5);
    C("remuw by 0", RR("remuw", 0x80000000UL, 0), 0xffffffff80000000UL);
}

#define AMO(insn, p, src) ({ uint64_t __r; \
    asm volatile(insn " %0, %2, (%1)" : "=r"(__r) : "r"(p), "r"((uint64_t)(src)) : "memory"); __r; })

void check_rv64a(void)
{
    static volatile uint64_t m[16] __attribute__((aligned(64)));
    volatile uint64_t *p = &m[0];
    volatile uint64_t *q = &m[8];    /* different 64-byte block */
    volatile uint32_t *w = (volatile uint32_t *)&m[4];
    uint64_t r, rc;

    /* lr/sc */
    m[0] = 5;
    asm volatile("lr.d %0, (%2)\n\tsc.d %1, %3, (%2)"
                 : "=&r"(r), "=&r"(rc) : "r"(p), "r"(77UL) : "memory");
    C("lr.d value", r, 5);
    C("sc.d after lr.d succeeds", rc, 0);
    C("sc.d stored", m[0], 77);
    asm volatile("sc.d %0, %2, (%1)" : "=&r"(rc) : "r"(p), "r"(88UL) : "memory");
    C("sc.d without lr fails", rc != 0, 1);
    C("failed sc.d stores nothing", m[0], 77);
    m[8] = 9;
    asm volatile("lr.d %0, (%2)\n\tsc.d %1, %3, (%4)"
                 : "=&r"(r), "=&r"(rc) : "r"(p), "r"(99UL), "r"(q) : "memory");
    C("sc.d to other address fails", rc != 0, 1);
    C("sc.d other address untouched", m[8], 9);
    w[0] = 0x80000000u;
    w[1] = 0x11111111u;
    asm volatile("lr.w.aq %0, (%2)\n\tsc.w.rl %1, %3, (%2)"
                 : "=&r"(r), "=&r"(rc) : "r"(w), "r"(0xdeadbeef12345678UL) : "memory");
    C("lr.w sign-ext", r, 0xffffffff80000000UL);
    C("sc.w succeeds", rc, 0);
    C("sc.w stores 32 bits", m[4], 0x1111111112345678UL);
    asm volatile("sc.w %0, %2, (%1)" : "=&r"(rc) : "r"(w), "r"(1UL) : "memory");
    C("sc.w without lr fails", rc != 0, 1);

    /* AMO .w: old value sign-extended, neighbour word untouched */
    w[0] = 0x80000000u;
    C("amoadd.w old", AMO("amoadd.w", w, 0xdead00000001UL), 0xffffffff80000000UL);
    C("amoadd.w new", w[0], 0x80000001u);
    C("amoswap.w old", AMO("amoswap.w.aqrl", w, 0x7ffffffe), 0xffffffff80000001UL);
    C("amoswap.w new", w[0], 0x7ffffffe);
    C("amoand.w old", AMO("amoand.w", w, 0xf0f0f0f0), 0x7ffffffe);
    C("amoand.w new", w[0], 0x70f0f0f0);
    C("amoor.w old", AMO("amoor.w", w, 0x0f000001), 0x70f0f0f0);
    C("amoor.w new", w[0], 0x7ff0f0f1);
    C("amoxor.w old", AMO("amoxor.w", w, 0xffffffff), 0x7ff0f0f1);
    C("amoxor.w new", w[0], 0x800f0f0eu);
    w[0] = 0xfffffffbu;   /* -5 */
    C("amomin.w old", AMO("amomin.w", w, 3), 0xfffffffffffffffbUL);
    C("amomin.w new", w[0], 0xfffffffbu);
    C("amominu.w old", AMO("amominu.w", w, 3), 0xfffffffffffffffbUL);
    C("amominu.w new", w[0], 3);
    w[0] = 0xfffffffbu;
    C("amomax.w old", AMO("amomax.w", w, 3), 0xfffffffffffffffbUL);
    C("amomax.w new", w[0], 3);
    C("amomaxu.w old", AMO("amomaxu.w", w, 0xfffffffbUL), 3);
    C("amomaxu.w new", w[0], 0xfffffffbu);
    C("amomax.w upper bits ignored", AMO("amomax.w", w, 0x7fffffff00000002UL), 0xfffffffffffffffbUL);
    C("amomax.w upper new", w[0], 2);
    C("amo .w neighbour untouched", w[1], 0x11111111u);

    /* AMO .d */
    m[0] = INT64_MIN;
    C("amomin.d old", AMO("amomin.d", p, 1), INT64_MIN);
    C("amomin.d new", m[0], INT64_MIN);
    C("amominu.d old", AMO("amominu.d.aq", p, 1), INT64_MIN);
    C("amominu.d new", m[0], 1);
    m[0] = INT64_MIN;
    C("amomax.d old", AMO("amomax.d", p, 1), INT64_MIN);
    C("amomax.d new", m[0], 1);
    C("amomaxu.d old", AMO("amomaxu.d.rl", p, INT64_MIN), 1);
    C("amomaxu.d new", m[0], INT64_MIN);
    C("amoadd.d old", AMO("amoadd.d", p, -1), INT64_MIN);
    C("amoadd.d new", m[0], INT64_MAX);
    C("amoswap.d old", AMO("amoswap.d", p, 0x0123456789abcdefUL), INT64_MAX);
    C("amoswap.d new", m[0], 0x0123456789abcdefUL);
    C("amoand.d old", AMO("amoand.d", p, 0xff00ff00ff00ff00UL), 0x0123456789abcdefUL);
    C("amoand.d new", m[0], 0x010045008900cd00UL);
    C("amoor.d old", AMO("amoor.d", p, 0x1UL), 0x010045008900cd00UL);
    C("amoor.d new", m[0], 0x010045008900cd01UL);
    C("amoxor.d old", AMO("amoxor.d", p, -1), 0x010045008900cd01UL);
    C("amoxor.d new", m[0], 0xfeffbaff76ff32feUL);
    C("amoswap.d rd=x0", ({ asm volatile("amoswap.d x0, %1, (%0)" :: "r"(p), "r"(42UL) : "memory"); m[0]; }), 42);
}
