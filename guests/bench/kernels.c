/*
 * bench kernels: quicksort + merge sort, FNV-1a + CRC32, integer and
 * double matrix multiply. Everything is derived from an xorshift64 PRNG
 * with fixed seeds, so the checksums are constants.
 */
#include "kernels.h"

static uint64_t prng_state;

static void prng_seed(uint64_t s)
{
    prng_state = s ? s : 0x9e3779b97f4a7c15ULL;
}

static uint64_t xorshift64(void)
{
    uint64_t x = prng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    prng_state = x;
    return x;
}

/* ------------------------------------------------------------------ sort */

static uint64_t sort_a[SORT_N], sort_b[SORT_N], sort_tmp[SORT_N];

static void insertion_sort(uint64_t *a, long n)
{
    for (long i = 1; i < n; i++) {
        uint64_t v = a[i];
        long j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void quicksort(uint64_t *a, long n)
{
    while (n > 16) {
        /* median of three */
        uint64_t x = a[0], y = a[n / 2], z = a[n - 1];
        uint64_t pivot = x < y ? (y < z ? y : (x < z ? z : x))
                               : (x < z ? x : (y < z ? z : y));
        long i = -1, j = n;
        for (;;) {
            do i++; while (a[i] < pivot);
            do j--; while (a[j] > pivot);
            if (i >= j)
                break;
            uint64_t t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        /* recurse into the smaller half, loop on the larger one */
        long left = j + 1;
        if (left < n - left) {
            quicksort(a, left);
            a += left;
            n -= left;
        } else {
            quicksort(a + left, n - left);
            n = left;
        }
    }
    insertion_sort(a, n);
}

static void merge_sort(uint64_t *a, uint64_t *tmp, long n)
{
    if (n < 2)
        return;
    long h = n / 2;
    merge_sort(a, tmp, h);
    merge_sort(a + h, tmp, n - h);
    long i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    for (k = 0; k < n; k++)
        a[k] = tmp[k];
}

uint64_t bench_sort(int *err)
{
    uint64_t sum = 0;
    for (int r = 0; r < SORT_ROUNDS; r++) {
        prng_seed(0x2545f4914f6cdd1dULL + (uint64_t)r);
        for (long i = 0; i < SORT_N; i++) {
            /* limit the range a little so there are duplicates */
            uint64_t v = xorshift64() >> (r * 9);
            sort_a[i] = v;
            sort_b[i] = v;
        }
        quicksort(sort_a, SORT_N);
        merge_sort(sort_b, sort_tmp, SORT_N);
        for (long i = 0; i < SORT_N; i++) {
            if (sort_a[i] != sort_b[i] || (i && sort_a[i - 1] > sort_a[i]))
                *err = 1;
            sum = sum * 31 + (sort_a[i] ^ (uint64_t)i);
        }
    }
    return sum;
}

/* ------------------------------------------------------------------ hash */

static uint8_t hash_buf[HASH_LEN];
static uint32_t crc_table[256];

static void crc32_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (0xedb88320u ^ (c >> 1)) : (c >> 1);
        crc_table[i] = c;
    }
}

static uint32_t crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t bench_hash(int *err)
{
    static const uint8_t check[9] = { '1', '2', '3', '4', '5', '6', '7', '8', '9' };
    crc32_init();
    /* standard check values */
    if (crc32(check, 9) != 0xcbf43926u)
        *err = 1;
    if (fnv1a64(check, 0) != 0xcbf29ce484222325ULL)
        *err = 1;
    uint64_t sum = 0;
    prng_seed(0x0123456789abcdefULL);
    for (int r = 0; r < HASH_ROUNDS; r++) {
        for (size_t i = 0; i < HASH_LEN; i += 8) {
            uint64_t v = xorshift64();
            for (int k = 0; k < 8; k++)
                hash_buf[i + k] = (uint8_t)(v >> (8 * k));
        }
        uint64_t f = fnv1a64(hash_buf, HASH_LEN);
        uint32_t c = crc32(hash_buf, HASH_LEN);
        sum = (sum ^ f) * 0x9e3779b97f4a7c15ULL + c;
    }
    return sum;
}

/* ------------------------------------------------------------------ matmul */

static uint32_t mi_a[MATI_N][MATI_N], mi_b[MATI_N][MATI_N], mi_c[MATI_N][MATI_N];
static double md_a[MATD_N][MATD_N], md_b[MATD_N][MATD_N], md_c[MATD_N][MATD_N];

uint64_t bench_matmul_int(int *err)
{
    (void)err;
    uint64_t sum = 0;
    prng_seed(0xfeedfacecafebeefULL);
    for (int i = 0; i < MATI_N; i++)
        for (int j = 0; j < MATI_N; j++) {
            mi_a[i][j] = (uint32_t)xorshift64();
            mi_b[i][j] = (uint32_t)(xorshift64() >> 32);
        }
    for (int rep = 0; rep < MATI_REPS; rep++) {
        for (int i = 0; i < MATI_N; i++)
            for (int j = 0; j < MATI_N; j++) {
                uint32_t acc = 0;
                for (int k = 0; k < MATI_N; k++)
                    acc += mi_a[i][k] * mi_b[k][j];
                mi_c[i][j] = acc;
            }
        for (int i = 0; i < MATI_N; i++)
            for (int j = 0; j < MATI_N; j++) {
                sum = sum * 0x100000001b3ULL + mi_c[i][j];
                mi_a[i][j] ^= mi_c[i][j] >> 3;   /* feed back for the next rep */
            }
    }
    return sum;
}

uint64_t bench_matmul_double(int *err)
{
    uint64_t sum = 0;
    prng_seed(0x1badb002deadbeefULL);
    for (int i = 0; i < MATD_N; i++)
        for (int j = 0; j < MATD_N; j++) {
            md_a[i][j] = (double)(xorshift64() >> 11) * 0x1p-53 - 0.5;
            md_b[i][j] = (double)(xorshift64() >> 11) * 0x1p-52;
        }
    for (int rep = 0; rep < MATD_REPS; rep++) {
        for (int i = 0; i < MATD_N; i++)
            for (int j = 0; j < MATD_N; j++) {
                double acc = 0.0;
                for (int k = 0; k < MATD_N; k++)
                    acc += md_a[i][k] * md_b[k][j];
                md_c[i][j] = acc;
            }
        double total = 0.0;
        for (int i = 0; i < MATD_N; i++)
            for (int j = 0; j < MATD_N; j++) {
                union { double d; uint64_t u; } cv = { md_c[i][j] };
                sum = (sum ^ cv.u) * 0x100000001b3ULL;
                total += md_c[i][j];
                /* keep values bounded: scale back into [-1, 1) */
                md_a[i][j] = md_c[i][j] / (double)MATD_N;
            }
        if (!(total == total))   /* NaN would mean broken FP */
            *err = 1;
        union { double d; uint64_t u; } tv = { total };
        sum ^= tv.u;
    }
    return sum;
}

uint64_t bench_combine(const uint64_t *sums, int n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 8; k++) {
            h ^= (sums[i] >> (8 * k)) & 0xff;
            h *= 0x100000001b3ULL;
        }
    return h;
}
