// bf16's ceiling beside fp32's on one core: how many multiply-adds per second VDPBF16PS (two bf16 products summed
// into each fp32 lane) does, against VFMADD (one fp32 product per lane), both on registers only. docs/bf16.md uses
// the ratio to say what bf16 can buy over an fp32 forward that already runs near the fp32 peak.
// Build and run (x86-64 with avx512_bf16): gcc -O3 -mavx512f -mavx512bf16 tools/cpu/bf16_peak.c -o /tmp/bf16_peak && /tmp/bf16_peak
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#define CHAINS 16          // independent accumulators: more than latency x pipes, so the loop is throughput-bound
#define ITERS 20000000L

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static double fp32_gflops(void) {
    __m512 acc[CHAINS], a = _mm512_set1_ps(1.0001f), b = _mm512_set1_ps(0.9999f);
    for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_set1_ps((float)c);
    double t0 = now();
    for (long i = 0; i < ITERS; i++) {
#pragma GCC unroll 16
        for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
    }
    double t = now() - t0;
    float sink = 0; for (int c = 0; c < CHAINS; c++) sink += _mm512_reduce_add_ps(acc[c]);
    if (sink == 42.0f) puts("");
    return ITERS * CHAINS * 16.0 * 2 / t / 1e9;   // 16 lanes, multiply + add
}

static double bf16_gflops(void) {
    __m512 acc[CHAINS];
    __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1.0f), _mm512_set1_ps(1.0f));
    __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f));
    for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_set1_ps((float)c);
    double t0 = now();
    for (long i = 0; i < ITERS; i++) {
#pragma GCC unroll 16
        for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
    }
    double t = now() - t0;
    float sink = 0; for (int c = 0; c < CHAINS; c++) sink += _mm512_reduce_add_ps(acc[c]);
    if (sink == 42.0f) puts("");
    return ITERS * CHAINS * 32.0 * 2 / t / 1e9;   // 32 bf16 products per instruction, multiply + add
}

int main(void) {
    double best32 = 0, best16 = 0;
    for (int round = 0; round < 3; round++) {
        double f = fp32_gflops(), h = bf16_gflops();
        if (f > best32) best32 = f;
        if (h > best16) best16 = h;
    }
    printf("one core, best of 3: fp32 FMA %.1f GFLOP/s, bf16 dot product %.1f GFLOP/s, bf16/fp32 %.2fx\n", best32, best16, best16 / best32);
    return 0;
}
