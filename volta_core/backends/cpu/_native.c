/* Native float32 convolution kernels of the CPU backend (x86-64, AVX2 + FMA).
 *
 * Three ops, reading and writing NCHW tensors, in place of the NumPy im2col
 * path of spatial.py, which stays the reference the tests compare them with:
 *
 *   conv2d              y[n,o,p]    = b[o] + sum_{tap,c} x[n,c,src(p,tap)] w[o,c,tap]
 *   conv_transpose2d    y[n,q,p]    = b[q] + sum_{tap,i} x[n,i,src(p,tap)] w[i,q,tap]
 *                       (the adjoint of conv2d: conv2d's map read backwards)
 *   conv2d_weight_grad  dw[o,c,tap] = sum_{n,p} x[n,c,src(p,tap)] dy[n,o,p]
 *
 * Both product forms run one 6x16 register tile (12 AVX2 accumulators): six
 * rows broadcast from the image, sixteen columns loaded from a panel. There is
 * no im2col copy. The op's input is first copied channels-last (one pass); a
 * tile row then keeps one pointer per tap to a run of channels (or to a zero
 * run where the tap falls in the padding), and the kernel walks the channels.
 *
 * Determinism: each output element is one chain of FMAs in a fixed order
 * (conv2d and conv_transpose2d: taps, then channels; the weight gradient:
 * positions in order, in fixed blocks of WG_BLOCK). Threads split the outputs,
 * never a sum, so the bits do not depend on the thread count.
 *
 * The scratch comes from the caller (the memory plan's workspace), laid out as
 * workspace_floats() says; nothing is allocated per call but thread stacks.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#define MR 6
#define NR 16
#define MAX_THREADS 64
#define MAX_TAPS 1024
/* Row pointers a block of slivers keeps (at least one sliver's: MAX_TAPS * MR). */
#define GATHER_ROWS (MAX_TAPS * MR)
/* Positions per block of the weight gradient's sums: a block's dy rows stay in L2. */
#define WG_BLOCK 128
/* Floats after each channels-last copy, so a tile's last row or column may read past
 * the end (those lanes are computed and dropped). */
#define SLACK 16

#define AVX2 __attribute__((target("avx2,fma")))

typedef struct {
    long n, c, h, w;     /* the op's input x [n, c, h, w] */
    long o, ho, wo;      /* output channels and size; for the weight gradient dy's */
    long kh, kw, sh, sw, dh, dw, ph, pw, groups;
    int transpose;       /* conv_transpose2d: taps read conv2d's map backwards */
    const long *ymap;    /* [kh][ho]: the input row tap row a of output row oy reads, or -1 */
    const long *xmap;    /* [kw][wo]: the same for columns */
} geom;

static long round_up(long v, long to) { return (v + to - 1) / to * to; }

/* The input index tap t of output index o reads along one axis (conv2d's window, or read
 * backwards for conv_transpose2d), or -1 where it falls in the padding or between strides. */
static long axis_source(long o, long t, long stride, long dilation, long before, long size, int transpose) {
    long i = o * stride - before + t * dilation;
    if (transpose) {
        long num = o + before - t * dilation;
        if (num < 0 || num % stride) return -1;
        i = num / stride;
    }
    return i >= 0 && i < size ? i : -1;
}

static void fill_map(long *map, long taps, long outs, long stride, long dilation, long before, long size,
                     int transpose) {
    for (long t = 0; t < taps; t++)
        for (long o = 0; o < outs; o++) map[t * outs + o] = axis_source(o, t, stride, dilation, before, size, transpose);
}

/* Where output position (oy, ox) reads tap (a, b) in its input plane (in pixels), or -1. */
static inline long source(const geom *g, long oy, long ox, long a, long b) {
    long iy = g->ymap[a * g->ho + oy], ix = g->xmap[b * g->wo + ox];
    return iy < 0 || ix < 0 ? -1 : iy * g->w + ix;
}

/* The sample and output coordinates of positions j0 .. j0+count-1 (count >= 1). */
static void positions(const geom *g, long j0, long count, long *n, long *oy, long *ox) {
    long p_out = g->ho * g->wo, a = j0 / p_out, p = j0 % p_out, y = p / g->wo, x = p % g->wo;
    for (long i = 0; i < count; i++) {
        n[i] = a; oy[i] = y; ox[i] = x;
        if (++x == g->wo) {
            x = 0;
            if (++y == g->ho) { y = 0; a++; }
        }
    }
}

/* ------------------------------------------------------------------ micro-kernels */

/* acc[6][16] = sum_t sum_c rows[t][r][c] * panel[t][c * ldb + j]   (zero when there are no taps) */
AVX2 static void tile_rows(long taps, const float *const *rows, long C, const float *const *panel, long ldb,
                           float *acc) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (long t = 0; t < taps; t++, rows += MR) {
        const float *p0 = rows[0], *p1 = rows[1], *p2 = rows[2], *p3 = rows[3], *p4 = rows[4], *p5 = rows[5];
        const float *B = panel[t];
        for (long c = 0; c < C; c++, B += ldb) {
            __m256 b0 = _mm256_load_ps(B), b1 = _mm256_load_ps(B + 8), a;
            a = _mm256_broadcast_ss(p0 + c); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
            a = _mm256_broadcast_ss(p1 + c); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
            a = _mm256_broadcast_ss(p2 + c); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
            a = _mm256_broadcast_ss(p3 + c); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
            a = _mm256_broadcast_ss(p4 + c); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
            a = _mm256_broadcast_ss(p5 + c); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
        }
    }
    _mm256_store_ps(acc, c00); _mm256_store_ps(acc + 8, c01); _mm256_store_ps(acc + 16, c10);
    _mm256_store_ps(acc + 24, c11); _mm256_store_ps(acc + 32, c20); _mm256_store_ps(acc + 40, c21);
    _mm256_store_ps(acc + 48, c30); _mm256_store_ps(acc + 56, c31); _mm256_store_ps(acc + 64, c40);
    _mm256_store_ps(acc + 72, c41); _mm256_store_ps(acc + 80, c50); _mm256_store_ps(acc + 88, c51);
}

/* acc[6][16] += sum_i src[i][off + r] * B[i*ldb + j] */
AVX2 static void tile_cols(long count, const float *const *src, long off, const float *B, long ldb, float *acc) {
    __m256 c00 = _mm256_load_ps(acc), c01 = _mm256_load_ps(acc + 8), c10 = _mm256_load_ps(acc + 16);
    __m256 c11 = _mm256_load_ps(acc + 24), c20 = _mm256_load_ps(acc + 32), c21 = _mm256_load_ps(acc + 40);
    __m256 c30 = _mm256_load_ps(acc + 48), c31 = _mm256_load_ps(acc + 56), c40 = _mm256_load_ps(acc + 64);
    __m256 c41 = _mm256_load_ps(acc + 72), c50 = _mm256_load_ps(acc + 80), c51 = _mm256_load_ps(acc + 88);
    for (long i = 0; i < count; i++, B += ldb) {
        const float *p = src[i] + off;
        __m256 b0 = _mm256_loadu_ps(B), b1 = _mm256_loadu_ps(B + 8), a;
        a = _mm256_broadcast_ss(p); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(p + 1); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(p + 2); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(p + 3); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(p + 4); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(p + 5); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
    }
    _mm256_store_ps(acc, c00); _mm256_store_ps(acc + 8, c01); _mm256_store_ps(acc + 16, c10);
    _mm256_store_ps(acc + 24, c11); _mm256_store_ps(acc + 32, c20); _mm256_store_ps(acc + 40, c21);
    _mm256_store_ps(acc + 48, c30); _mm256_store_ps(acc + 56, c31); _mm256_store_ps(acc + 64, c40);
    _mm256_store_ps(acc + 72, c41); _mm256_store_ps(acc + 80, c50); _mm256_store_ps(acc + 88, c51);
}

/* acc[6][16] += sum_i rows[r][i][off[r]] * B[i*ldb + j]: six rows of their own (taps and
 * channels mixed, for inputs with fewer than six channels) */
AVX2 static void tile_cols6(long count, const float *const *const *rows, const long *off, const float *B, long ldb,
                            float *acc) {
    __m256 c00 = _mm256_load_ps(acc), c01 = _mm256_load_ps(acc + 8), c10 = _mm256_load_ps(acc + 16);
    __m256 c11 = _mm256_load_ps(acc + 24), c20 = _mm256_load_ps(acc + 32), c21 = _mm256_load_ps(acc + 40);
    __m256 c30 = _mm256_load_ps(acc + 48), c31 = _mm256_load_ps(acc + 56), c40 = _mm256_load_ps(acc + 64);
    __m256 c41 = _mm256_load_ps(acc + 72), c50 = _mm256_load_ps(acc + 80), c51 = _mm256_load_ps(acc + 88);
    const float *const *r0 = rows[0], *const *r1 = rows[1], *const *r2 = rows[2];
    const float *const *r3 = rows[3], *const *r4 = rows[4], *const *r5 = rows[5];
    for (long i = 0; i < count; i++, B += ldb) {
        __m256 b0 = _mm256_loadu_ps(B), b1 = _mm256_loadu_ps(B + 8), a;
        a = _mm256_broadcast_ss(r0[i] + off[0]); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(r1[i] + off[1]); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(r2[i] + off[2]); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(r3[i] + off[3]); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(r4[i] + off[4]); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(r5[i] + off[5]); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
    }
    _mm256_store_ps(acc, c00); _mm256_store_ps(acc + 8, c01); _mm256_store_ps(acc + 16, c10);
    _mm256_store_ps(acc + 24, c11); _mm256_store_ps(acc + 32, c20); _mm256_store_ps(acc + 40, c21);
    _mm256_store_ps(acc + 48, c30); _mm256_store_ps(acc + 56, c31); _mm256_store_ps(acc + 64, c40);
    _mm256_store_ps(acc + 72, c41); _mm256_store_ps(acc + 80, c50); _mm256_store_ps(acc + 88, c51);
}

/* ------------------------------------------------------------------ threads */

typedef void (*part_fn)(void *ctx, int part, int parts);
typedef struct { part_fn fn; void *ctx; int part, parts; } job;

static void *job_main(void *arg) {
    job *j = (job *)arg;
    j->fn(j->ctx, j->part, j->parts);
    return NULL;
}

/* OpenBLAS's gotoblas_pthread(n, fn, args, stride): runs fn(args + i * stride) for i < n on
 * OpenBLAS's own worker threads (i = 0 on the caller). When NumPy's BLAS is OpenBLAS, the
 * kernels run their parts there: one pool for matrix products and convolutions. A second
 * pool would compete with OpenBLAS's idle workers, which spin for ~0.1 s after every
 * product (measured: a convolution right after a matmul took twice as long). */
typedef int (*blas_runner)(int, void *, void *, int);
static blas_runner runner = NULL;
static int runner_threads = 1;

/* fn(ctx, p, threads) for every part p, part 0 on this thread. -1 if a thread could not
 * start: the caller raises, and every output is rewritten by the next call. */
static int run_parts(part_fn fn, void *ctx, int threads) {
    job jobs[MAX_THREADS];
    if (threads <= 1) {
        fn(ctx, 0, 1);
        return 0;
    }
    for (int t = 0; t < threads; t++) jobs[t] = (job){fn, ctx, t, threads};
    if (runner) {
        runner(threads, (void *)job_main, jobs, (int)sizeof(job));
        return 0;
    }
    pthread_t ids[MAX_THREADS];
    int started = 0;
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&ids[t], NULL, job_main, &jobs[t]) != 0) break;
        started = t;
    }
    if (started == threads - 1) fn(ctx, 0, threads);
    for (int t = 1; t <= started; t++) pthread_join(ids[t], NULL);
    return started == threads - 1 ? 0 : -1;
}

/* Part `part` of [0, total) cut in `parts` runs of whole `unit`s. */
static void split(long total, long unit, int part, int parts, long *lo, long *hi) {
    long units = (total + unit - 1) / unit, per = units / parts, extra = units % parts;
    long a = part * per + (part < extra ? part : extra), b = a + per + (part < extra ? 1 : 0);
    *lo = a * unit < total ? a * unit : total;
    *hi = b * unit < total ? b * unit : total;
}

/* ------------------------------------------------------------------ channels-last copies */

typedef struct { const float *src; float *dst; long n, c, p, stride, pad; } nhwc_ctx;

/* dst[n][p][c] (rows of `stride` floats) = src[n][c][p], and `pad` zeros after each row's c
 * values; in 8x8 blocks (transposed in registers where whole), each thread its own samples. */
AVX2 static void nhwc_part(void *arg, int part, int parts) {
    nhwc_ctx *k = (nhwc_ctx *)arg;
    long lo, hi;
    split(k->n, 1, part, parts, &lo, &hi);
    for (long n = lo; n < hi; n++) {
        const float *s = k->src + n * k->c * k->p;
        float *d = k->dst + n * k->p * k->stride;
        for (long p0 = 0; p0 < k->p; p0 += 8)
            for (long c0 = 0; c0 < k->c; c0 += 8) {
                long pe = p0 + 8 < k->p ? p0 + 8 : k->p, ce = c0 + 8 < k->c ? c0 + 8 : k->c;
                if (pe - p0 == 8 && ce - c0 == 8) {
                    __m256 r[8], t[8];
                    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(s + (c0 + i) * k->p + p0);
                    for (int i = 0; i < 8; i += 2) {
                        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
                        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
                    }
                    for (int i = 0; i < 8; i += 4) {
                        r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
                        r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
                        r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
                        r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
                    }
                    /* r[0..3] hold positions {0,4}, {1,5}, {2,6}, {3,7} of channels 0-3 and r[4..7] of 4-7 */
                    for (int i = 0; i < 4; i++) {
                        _mm256_storeu_ps(d + (p0 + i) * k->stride + c0, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
                        _mm256_storeu_ps(d + (p0 + i + 4) * k->stride + c0, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
                    }
                    continue;
                }
                for (long p = p0; p < pe; p++)
                    for (long c = c0; c < ce; c++) d[p * k->stride + c] = s[c * k->p + p];
            }
        for (long p = 0; p < k->p && k->pad; p++) memset(d + p * k->stride + k->c, 0, k->pad * sizeof(float));
    }
}

/* ------------------------------------------------------------------ conv2d, conv_transpose2d */

/* The weights as the tiles read them: packed[gi][q][c][t][j] = the weight from input channel c
 * to output channel 16 q + j at tap t (0 past the group's last output channel). conv2d's w is
 * [o, cg, taps], conv_transpose2d's [c_in, og, taps]. Each thread packs its own panels, reading
 * sixteen rows of w (conv2d) or one run (conv_transpose2d) front to back. */
typedef struct {
    const float *w;
    float *packed;
    long groups, panels, taps, cg, og;
    int transpose;
} pack_ctx;

static void pack_part(void *arg, int part, int parts) {
    pack_ctx *k = (pack_ctx *)arg;
    long lo, hi, run = k->cg * k->taps;
    split(k->groups * k->panels, 1, part, parts, &lo, &hi);
    for (long gq = lo; gq < hi; gq++) {
        long gi = gq / k->panels, q = gq % k->panels;
        float *dst = k->packed + gq * run * NR;
        for (long j = 0; j < NR; j++) {
            long oc = q * NR + j;
            if (oc >= k->og) {
                for (long i = 0; i < run; i++) dst[i * NR + j] = 0.0f;
            } else if (!k->transpose) {
                const float *src = k->w + (gi * k->og + oc) * run;
                for (long i = 0; i < run; i++) dst[i * NR + j] = src[i];
            } else {
                for (long c = 0; c < k->cg; c++) {
                    const float *src = k->w + ((gi * k->cg + c) * k->og + oc) * k->taps;
                    for (long t = 0; t < k->taps; t++) dst[(c * k->taps + t) * NR + j] = src[t];
                }
            }
        }
    }
}

typedef struct {
    const geom *g;
    const float *xt;       /* channels-last input [n][h*w][c] */
    const float *packed;   /* [groups][panels][taps][cin][16] */
    const float *bias, *zero;
    float *y;              /* [n][groups*cout][ho*wo] */
    long cin, cout, panels;
} gather_ctx;

AVX2 static void gather_part(void *arg, int part, int parts) {
    gather_ctx *k = (gather_ctx *)arg;
    const geom *g = k->g;
    long c_all = g->c, o_all = g->groups * k->cout, p_out = g->ho * g->wo;
    /* conv_transpose2d with stride s: the outputs fall in s*s phases (oy % s, ox % s), and within
     * one phase the same taps are on the stride grid; the others never contribute. conv2d has
     * one phase with every tap. Either way a tap t of a position reads input row A + dy[t] and
     * column B + dx[t], with (A, B) the position's and (dy, dx) the tap's. */
    long py_n = g->transpose ? g->sh : 1, px_n = g->transpose ? g->sw : 1;
    const float *rows[GATHER_ROWS], *grows[MAX_TAPS * MR];
    const float *panel[MAX_TAPS];
    long tap_i[MAX_TAPS], dy[MAX_TAPS], dx[MAX_TAPS], tapoff[MAX_TAPS];
    float acc[MR * NR] __attribute__((aligned(32)));
    for (long py = 0; py < py_n && py < g->ho; py++)
        for (long px = 0; px < px_n && px < g->wo; px++) {
            long hop = (g->ho - py + py_n - 1) / py_n, wop = (g->wo - px + px_n - 1) / px_n, taps = 0, lo, hi;
            long dy_lo = 0, dy_hi = 0, dx_lo = 0, dx_hi = 0;
            for (long a = 0; a < g->kh; a++)
                for (long b = 0; b < g->kw; b++) {
                    long ny = py + g->ph - a * g->dh, nx = px + g->pw - b * g->dw;
                    if (g->transpose && (ny % g->sh || nx % g->sw)) continue;
                    tap_i[taps] = a * g->kw + b;
                    dy[taps] = g->transpose ? ny / g->sh : a * g->dh;
                    dx[taps] = g->transpose ? nx / g->sw : b * g->dw;
                    tapoff[taps] = (dy[taps] * g->w + dx[taps]) * c_all;
                    dy_lo = taps == 0 || dy[taps] < dy_lo ? dy[taps] : dy_lo;
                    dy_hi = taps == 0 || dy[taps] > dy_hi ? dy[taps] : dy_hi;
                    dx_lo = taps == 0 || dx[taps] < dx_lo ? dx[taps] : dx_lo;
                    dx_hi = taps == 0 || dx[taps] > dx_hi ? dx[taps] : dx_hi;
                    taps++;
                }
            split(g->n * hop * wop, MR, part, parts, &lo, &hi);
            /* slivers of six positions, taken `per` at a time: each panel of weights is read once
             * per block (few positions and many channels, as in a ResNet's last stage, made every
             * sliver read all of them) */
            long per = taps && GATHER_ROWS / (taps * MR) < 8 ? GATHER_ROWS / (taps * MR) : 8;  /* no taps: outputs are the bias */
            for (long b0 = lo; b0 < hi; b0 += per * MR) {
                long nsl = (hi - b0 + MR - 1) / MR < per ? (hi - b0 + MR - 1) / MR : per;
                long out_at[8][MR], nrs[8];
                int inside[8];
                for (long sl = 0; sl < nsl; sl++) {
                    long j0 = b0 + sl * MR, nr = hi - j0 < MR ? hi - j0 : MR, n[MR], A[MR], B[MR];
                    /* positions j0.. of this phase: sample, then rows and columns on the phase's grid */
                    long jn = j0 / (hop * wop), jr = j0 % (hop * wop), y = jr / wop, x = jr % wop, in = 1;
                    for (long r = 0; r < MR; r++) {
                        long oy = py + y * py_n, ox = px + x * px_n;
                        n[r] = jn;
                        A[r] = g->transpose ? y : oy * g->sh - g->ph;
                        B[r] = g->transpose ? x : ox * g->sw - g->pw;
                        out_at[sl][r] = jn * o_all * p_out + oy * g->wo + ox;
                        in &= A[r] + dy_lo >= 0 && A[r] + dy_hi < g->h && B[r] + dx_lo >= 0 && B[r] + dx_hi < g->w;
                        if (r + 1 < nr && ++x == wop) {
                            x = 0;
                            if (++y == hop) { y = 0; jn++; }
                        }
                    }
                    const float **srows = rows + sl * taps * MR;
                    for (long r = 0; r < MR; r++) {
                        const float *base = k->xt + ((n[r] * g->h + A[r]) * g->w + B[r]) * c_all;
                        for (long t = 0; t < taps; t++) {
                            long iy = A[r] + dy[t], ix = B[r] + dx[t];
                            srows[t * MR + r] = in || (iy >= 0 && iy < g->h && ix >= 0 && ix < g->w) ? base + tapoff[t] : NULL;
                        }
                    }
                    inside[sl] = (int)in;
                    nrs[sl] = nr;
                }
                for (long gi = 0; gi < g->groups; gi++)
                    for (long q = 0; q < k->panels; q++) {
                        const float *pbase = k->packed + (gi * k->panels + q) * g->kh * g->kw * k->cin * NR;
                        for (long t = 0; t < taps; t++) panel[t] = pbase + tap_i[t] * NR;
                        long oc0 = gi * k->cout + q * NR, nc = k->cout - q * NR < NR ? k->cout - q * NR : NR;
                        for (long sl = 0; sl < nsl; sl++) {
                            const float *const *use = rows + sl * taps * MR;
                            if (gi > 0 || !inside[sl]) {
                                for (long i = 0; i < taps * MR; i++) grows[i] = use[i] ? use[i] + gi * k->cin : k->zero;
                                use = grows;
                            }
                            tile_rows(taps, use, k->cin, panel, g->kh * g->kw * NR, acc);
                            for (long col = 0; col < nc; col++) {
                                float bv = k->bias ? k->bias[oc0 + col] : 0.0f;
                                float *yo = k->y + (oc0 + col) * p_out;
                                for (long r = 0; r < nrs[sl]; r++) yo[out_at[sl][r]] = acc[r * NR + col] + bv;
                            }
                        }
                    }
            }
        }
}

/* conv2d with few positions and many weights (a ResNet's last stages at inference): the
 * weights stay as they are and are read once. Tile rows are six output channels, whose
 * weight rows w[o][c][t] are broadcast in place; columns are sixteen positions, gathered
 * from x (NCHW) into panels xp[k][16] (k = c * taps + t, w's order) before the products. */
static int weights_stationary(const geom *g) {
    long npos = g->n * g->ho * g->wo;
    return !g->transpose && g->groups == 1 && npos < g->o && g->kh * g->kw <= MAX_TAPS;
}

typedef struct {
    const geom *g;
    const float *x, *w, *bias;
    float *xp;   /* [ceil(positions / 16)][K][16] */
    float *y;
} ws_ctx;

static void ws_pack_part(void *arg, int part, int parts) {
    ws_ctx *k = (ws_ctx *)arg;
    const geom *g = k->g;
    long taps = g->kh * g->kw, K = g->c * taps, hw = g->h * g->w, npos = g->n * g->ho * g->wo, lo, hi;
    split((npos + NR - 1) / NR, 1, part, parts, &lo, &hi);
    for (long pn = lo; pn < hi; pn++) {
        float *dst = k->xp + pn * K * NR;
        long n[NR], oy[NR], ox[NR], cnt = npos - pn * NR < NR ? npos - pn * NR : NR;
        positions(g, pn * NR, cnt, n, oy, ox);
        for (long j = 0; j < NR; j++)
            for (long t = 0; t < taps; t++) {
                long s = j < cnt ? source(g, oy[j], ox[j], t / g->kw, t % g->kw) : -1;
                const float *src = k->x + n[j < cnt ? j : 0] * g->c * hw + s;
                for (long c = 0; c < g->c; c++) dst[(c * taps + t) * NR + j] = s < 0 ? 0.0f : src[c * hw];
            }
    }
}

AVX2 static void ws_part(void *arg, int part, int parts) {
    ws_ctx *k = (ws_ctx *)arg;
    const geom *g = k->g;
    long K = g->c * g->kh * g->kw, p_out = g->ho * g->wo, npos = g->n * p_out, lo, hi;
    float acc[MR * NR] __attribute__((aligned(32)));
    split(g->o, MR, part, parts, &lo, &hi);
    for (long o0 = lo; o0 < hi; o0 += MR) {
        long nr = hi - o0 < MR ? hi - o0 : MR;
        const float *rows[MR];
        for (long r = 0; r < MR; r++) rows[r] = k->w + (o0 + (r < nr ? r : nr - 1)) * K;
        for (long pn = 0; pn * NR < npos; pn++) {
            const float *panel = k->xp + pn * K * NR;
            tile_rows(1, rows, K, &panel, NR, acc);
            long n[NR], oy[NR], ox[NR], cnt = npos - pn * NR < NR ? npos - pn * NR : NR;
            positions(g, pn * NR, cnt, n, oy, ox);
            for (long r = 0; r < nr; r++) {
                float bv = k->bias ? k->bias[o0 + r] : 0.0f;
                for (long j = 0; j < cnt; j++)
                    k->y[(n[j] * g->o + o0 + r) * p_out + oy[j] * g->wo + ox[j]] = acc[r * NR + j] + bv;
            }
        }
    }
}

/* Inputs with fewer channels than a tile has rows (a first layer's 1 or 3) take their rows
 * across taps: row r of block kb is k = 6 kb + r of the (tap, channel) pairs, tap-major. */
#define SMALL_TAPS 64

typedef struct {
    const geom *g;
    const float *xt;     /* channels-last x [n][h*w][c] (+ SLACK) */
    const float *dyt;    /* channels-last dy [n][ho*wo][ostride] (+ SLACK) */
    const float *zero;   /* cg + 6 zeros: a padding tap's row at any channel offset */
    float *acc;          /* [tiles][6*16] running sums */
    float *dw;           /* [o][cg][kh][kw] */
    long cg, og, ostride, blocks, panels, tiles;
    int small;           /* rows across taps (cg < 6) */
} wgrad_ctx;

/* Tile = (group gi, row block, panel q). Row r of the block: tap t and channel c (*valid: a
 * row of its own, not a repeat that fills a short last block). */
static void wgrad_row(const wgrad_ctx *k, long block, long r, long *t, long *c, int *valid) {
    if (k->small) {
        long taps = k->g->kh * k->g->kw, kk = block * MR + r, last = taps * k->cg - 1;
        *valid = kk <= last;
        kk = kk < last ? kk : last;
        *t = kk / k->cg;
        *c = kk % k->cg;
        return;
    }
    long cblocks = k->blocks / (k->g->kh * k->g->kw), cb = block % cblocks;
    long c0 = cb * MR < k->cg - MR ? cb * MR : (k->cg > MR ? k->cg - MR : 0);  /* the last block shifts back */
    *t = block / cblocks;
    *c = c0 + r;
    *valid = c0 + r >= cb * MR && c0 + r < k->cg;  /* rows an earlier block wrote are repeats */
}

AVX2 static void wgrad_part(void *arg, int part, int parts) {
    wgrad_ctx *k = (wgrad_ctx *)arg;
    const geom *g = k->g;
    long taps = g->kh * g->kw, p_out = g->ho * g->wo, total = g->n * p_out, lo, hi;
    split(k->tiles, 1, part, parts, &lo, &hi);
    /* src[t][i]: where position j0 + i reads tap t (channel 0 of the group), built per block */
    const float *src[SMALL_TAPS][WG_BLOCK];
    long bn[WG_BLOCK], by[WG_BLOCK], bx[WG_BLOCK], boff[WG_BLOCK];
    for (long tile = lo; tile < hi; tile++) memset(k->acc + tile * MR * NR, 0, MR * NR * sizeof(float));
    for (long j0 = 0; j0 < total; j0 += WG_BLOCK) {
        long count = total - j0 < WG_BLOCK ? total - j0 : WG_BLOCK, built_g = -1, built_t = -1;
        positions(g, j0, count, bn, by, bx);
        for (long i = 0; i < count; i++) {  /* each position's window corner and its offset in x */
            by[i] = by[i] * g->sh - g->ph;
            bx[i] = bx[i] * g->sw - g->pw;
            boff[i] = ((bn[i] * g->h + by[i]) * g->w + bx[i]) * g->c;
        }
        for (long tile = lo; tile < hi; tile++) {
            long q = tile % k->panels, rest = tile / k->panels, block = rest % k->blocks, gi = rest / k->blocks;
            long t[MR], c[MR];
            int valid;
            /* every row when small; otherwise the rows share row 0's tap and follow its channel */
            for (long r = 0; r < (k->small ? MR : 1); r++) wgrad_row(k, block, r, &t[r], &c[r], &valid);
            /* pointers for the taps this tile reads (every tap when small; else the one) */
            long t_lo = k->small ? 0 : t[0], t_hi = k->small ? taps : t[0] + 1;
            if (gi != built_g || (!k->small && t[0] != built_t)) {
                for (long tt = t_lo; tt < t_hi; tt++) {
                    const float **row = src[k->small ? tt : 0];
                    long ty = (tt / g->kw) * g->dh, tx = (tt % g->kw) * g->dw;
                    const float *base = k->xt + (ty * g->w + tx) * g->c + gi * k->cg;
                    for (long i = 0; i < count; i++) {
                        long iy = by[i] + ty, ix = bx[i] + tx;
                        row[i] = iy >= 0 && iy < g->h && ix >= 0 && ix < g->w ? base + boff[i] : k->zero;
                    }
                }
                built_g = gi;
                built_t = t[0];
            }
            const float *B = k->dyt + j0 * k->ostride + gi * round_up(k->og, NR) + q * NR;
            if (k->small) {
                const float *const *rows[MR];
                for (long r = 0; r < MR; r++) rows[r] = src[t[r]];
                tile_cols6(count, rows, c, B, k->ostride, k->acc + tile * MR * NR);
            } else {
                tile_cols(count, src[0], c[0], B, k->ostride, k->acc + tile * MR * NR);
            }
        }
    }
    for (long tile = lo; tile < hi; tile++) {
        long q = tile % k->panels, rest = tile / k->panels, block = rest % k->blocks, gi = rest / k->blocks;
        const float *acc = k->acc + tile * MR * NR;
        for (long r = 0; r < MR; r++) {
            long t, c;
            int valid;
            wgrad_row(k, block, r, &t, &c, &valid);
            for (long col = 0; valid && col < NR && q * NR + col < k->og; col++) {
                long o = gi * k->og + q * NR + col;
                k->dw[(o * k->cg + c) * taps + t] = acc[r * NR + col];
            }
        }
    }
}

static int parse_geom(PyObject *t, geom *g);
static int get_buffer(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t floats, const char *what);

/* ------------------------------------------------------------------ max pooling */

/* The same rules as the NumPy kernels (spatial.py), bit for bit: taps in row-major order,
 * padding reads -inf; the maximum is np.maximum's folded over the taps (NaN wins; of two
 * equal values, -0.0 and +0.0 included, the later tap's); a window's gradient goes to its
 * first tap that is not below the maximum; where windows overlap, an element adds its
 * windows' gradients in the order of the tap it is in each of them, from +0.0. */

typedef struct {
    const geom *g;
    const float *x, *y, *v;  /* v: the pooled gradient (grad) or the values to select (select) */
    float *out;
    int32_t *picked;         /* [planes][ho*wo] the tap each window picked (grad) */
    int op;                  /* 0 max_pool2d, 1 max_pool2d_grad, 2 max_pool2d_select */
    int disjoint;
} pool_ctx;

static inline float np_max(float a, float b) { return (a > b || a != a) ? a : b; }  /* np.maximum: equal values give b */

/* One tap of eight windows in an input row: lane i reads column col + i * step, or -inf where
 * that column is outside [0, w) or lane i >= nv (no window there). Masked loads never touch
 * the columns they leave out. */
AVX2 static inline __m256 window_row(const float *row, long col, long step, long w, long nv) {
    if (nv == 8 && col >= 0 && (step == 1 || step == 2) && col + 8 * step <= w) {  /* inside: plain loads */
        if (step == 1) return _mm256_loadu_ps(row + col);
        __m256 even = _mm256_shuffle_ps(_mm256_loadu_ps(row + col), _mm256_loadu_ps(row + col + 8), _MM_SHUFFLE(2, 0, 2, 0));
        return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), _MM_SHUFFLE(3, 1, 2, 0)));
    }
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nv), lane);
    if (step == 1 || step == 2) {
        /* element e (0..15) is column col + e: in range and its lane (e / step) is live */
        __m256i e0 = _mm256_add_epi32(_mm256_set1_epi32((int)col), lane), e1 = _mm256_add_epi32(e0, _mm256_set1_epi32(8));
        __m256i lo = _mm256_set1_epi32(-1), hi = _mm256_set1_epi32((int)w);
        __m256i ok0 = _mm256_and_si256(_mm256_cmpgt_epi32(e0, lo), _mm256_cmpgt_epi32(hi, e0));
        __m256i ok1 = _mm256_and_si256(_mm256_cmpgt_epi32(e1, lo), _mm256_cmpgt_epi32(hi, e1));
        if (step == 1) {
            ok0 = _mm256_and_si256(ok0, live);
            return _mm256_blendv_ps(ninf, _mm256_maskload_ps(row + col, ok0), _mm256_castsi256_ps(ok0));
        }
        __m256 a = _mm256_maskload_ps(row + col, ok0), b = _mm256_maskload_ps(row + col + 8, ok1);
        __m256 ok = _mm256_shuffle_ps(_mm256_castsi256_ps(ok0), _mm256_castsi256_ps(ok1), _MM_SHUFFLE(2, 0, 2, 0));
        __m256 even = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
        ok = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ok), _MM_SHUFFLE(3, 1, 2, 0)));
        even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), _MM_SHUFFLE(3, 1, 2, 0)));
        ok = _mm256_and_ps(ok, _mm256_castsi256_ps(live));
        return _mm256_blendv_ps(ninf, even, ok);
    }
    __m256i cols = _mm256_add_epi32(_mm256_set1_epi32((int)col), _mm256_mullo_epi32(lane, _mm256_set1_epi32((int)step)));
    __m256i ok = _mm256_and_si256(_mm256_and_si256(_mm256_cmpgt_epi32(cols, _mm256_set1_epi32(-1)),
                                                   _mm256_cmpgt_epi32(_mm256_set1_epi32((int)w), cols)), live);
    return _mm256_mask_i32gather_ps(ninf, row, cols, _mm256_castsi256_ps(ok), 4);
}

AVX2 static void pool_part(void *arg, int part, int parts) {
    pool_ctx *k = (pool_ctx *)arg;
    const geom *g = k->g;
    long planes = g->n * g->c, hw = g->h * g->w, p_out = g->ho * g->wo, taps = g->kh * g->kw, lo, hi;
    long tcol[MAX_TAPS], ta[MAX_TAPS], tb[MAX_TAPS];  /* tap t's column offset, row and column in its window */
    for (long t = 0; t < taps; t++) {
        ta[t] = t / g->kw;
        tb[t] = t % g->kw;
        tcol[t] = tb[t] * g->dw;
    }
    split(planes, 1, part, parts, &lo, &hi);
    for (long pl = lo; pl < hi; pl++) {
        const float *x = k->x + pl * hw;
        const float *y = k->y ? k->y + pl * p_out : NULL;
        int32_t *picked = k->picked ? k->picked + pl * p_out : NULL;
        for (long oy = 0; oy < g->ho; oy++)
            for (long ox = 0; ox < g->wo; ox += 8) {  /* eight windows at a time; padding reads -inf */
                long nv = g->wo - ox < 8 ? g->wo - ox : 8;
                __m256i lanes = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nv), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
                __m256 m = _mm256_setzero_ps();
                __m256i pick = _mm256_set1_epi32(-1), open = _mm256_set1_epi32(-1);
                if (k->op) m = _mm256_maskload_ps(y + oy * g->wo + ox, lanes);
                for (long t = 0; t < taps; t++) {
                    long iy = g->ymap[(t / g->kw) * g->ho + oy];
                    __m256 v = iy < 0 ? _mm256_set1_ps(-INFINITY)
                                      : window_row(x + iy * g->w, ox * g->sw - g->pw + tcol[t], g->sw, g->w, nv);
                    if (k->op == 0) {
                        __m256 keep = _mm256_or_ps(_mm256_cmp_ps(m, v, _CMP_GT_OQ), _mm256_cmp_ps(m, m, _CMP_UNORD_Q));
                        m = t == 0 ? v : _mm256_blendv_ps(v, m, keep);
                    } else {
                        __m256i below = _mm256_castps_si256(_mm256_cmp_ps(v, m, _CMP_LT_OQ));
                        __m256i hit = _mm256_andnot_si256(below, open);
                        pick = _mm256_blendv_epi8(pick, _mm256_set1_epi32((int)t), hit);
                        open = _mm256_and_si256(open, below);
                    }
                }
                if (k->op == 0)
                    _mm256_maskstore_ps(k->out + pl * p_out + oy * g->wo + ox, lanes, m);
                else
                    _mm256_maskstore_epi32((int *)(picked + oy * g->wo + ox), lanes, pick);
            }
        if (k->op == 0) continue;
        const float *v = k->v + (k->op == 1 ? pl * p_out : pl * hw);
        /* where window (oy, ox)'s tap t reads x, or -1 */
#define TAP_AT(oy, ox, t)                                                                                  \
    (g->ymap[ta[t] * g->ho + (oy)] < 0 || g->xmap[tb[t] * g->wo + (ox)] < 0                                \
         ? -1 : g->ymap[ta[t] * g->ho + (oy)] * g->w + g->xmap[tb[t] * g->wo + (ox)])
        if (k->op == 2) {  /* select: the picked tap's value of v (0 in the padding), + 0.0 */
            float *o = k->out + pl * p_out;
            for (long oy = 0, j = 0; oy < g->ho; oy++)
                for (long ox = 0; ox < g->wo; ox++, j++) {
                    long t = picked[j], s = t < 0 ? -1 : TAP_AT(oy, ox, t);
                    o[j] = 0.0f + (s < 0 ? 0.0f : v[s]);
                }
            continue;
        }
        float *dx = k->out + pl * hw;
        memset(dx, 0, hw * sizeof(float));
        if (k->disjoint) {  /* each element is in one window at most: only the picked tap is nonzero */
            for (long oy = 0, j = 0; oy < g->ho; oy++)
                for (long ox = 0; ox < g->wo; ox++, j++) {
                    long t = picked[j], s = t < 0 ? -1 : TAP_AT(oy, ox, t);
                    if (s >= 0) dx[s] = v[j];
                }
        } else {  /* tap by tap, as NumPy adds them: an element's windows in the order of its tap */
            for (long t = 0; t < taps; t++)
                for (long oy = 0, j = 0; oy < g->ho; oy++)
                    for (long ox = 0; ox < g->wo; ox++, j++) {
                        long s = TAP_AT(oy, ox, t);
                        if (s >= 0) dx[s] += picked[j] == t ? v[j] : 0.0f;
                    }
        }
#undef TAP_AT
    }
}

/* pool(op, x, y or None, v or None, out, scratch, geometry, threads): op 0 max_pool2d (x),
 * 1 max_pool2d_grad (x, y, g), 2 max_pool2d_select (x, y, v). geometry as conv's, o = c. */
static PyObject *py_pool(PyObject *self, PyObject *args) {
    int op, threads;
    PyObject *ox, *oy, *ov, *oo, *ows, *ogeom;
    if (!PyArg_ParseTuple(args, "iOOOOOOi", &op, &ox, &oy, &ov, &oo, &ows, &ogeom, &threads)) return NULL;
    geom g;
    if (op < 0 || op > 2 || parse_geom(ogeom, &g) < 0) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "op must be 0, 1 or 2");
        return NULL;
    }
    if (g.kh * g.kw > MAX_TAPS) {
        PyErr_SetString(PyExc_ValueError, "pooling window: at most 1024 taps");
        return NULL;
    }
    threads = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    if (runner && threads > runner_threads) threads = runner_threads;
    long *maps = PyMem_Malloc((g.kh * g.ho + g.kw * g.wo) * sizeof(long));
    if (!maps) return PyErr_NoMemory();
    fill_map(maps, g.kh, g.ho, g.sh, g.dh, g.ph, g.h, 0);
    fill_map(maps + g.kh * g.ho, g.kw, g.wo, g.sw, g.dw, g.pw, g.w, 0);
    g.ymap = maps;
    g.xmap = maps + g.kh * g.ho;
    long xs = g.n * g.c * g.h * g.w, ps = g.n * g.c * g.ho * g.wo;
    Py_buffer bx, by, bv, bo, bws;
    int rc = 0, have = op > 0;
    if (get_buffer(ox, &bx, 0, xs, "x") < 0) goto done;
    if (have && get_buffer(oy, &by, 0, ps, "y") < 0) goto fail_x;
    if (have && get_buffer(ov, &bv, 0, op == 1 ? ps : xs, "v") < 0) goto fail_y;
    if (get_buffer(oo, &bo, 1, op == 1 ? xs : ps, "out") < 0) goto fail_v;
    if (get_buffer(ows, &bws, 1, have ? ps : 0, "scratch") < 0) goto fail_o;
    {
        pool_ctx k = {&g, bx.buf, have ? by.buf : NULL, have ? bv.buf : NULL, bo.buf, bws.buf, op,
                      g.sh >= (g.kh - 1) * g.dh + 1 && g.sw >= (g.kw - 1) * g.dw + 1};
        Py_BEGIN_ALLOW_THREADS
        rc = run_parts(pool_part, &k, threads);
        Py_END_ALLOW_THREADS
    }
    if (rc != 0) PyErr_SetString(PyExc_RuntimeError, "could not start the pooling's threads");
    PyBuffer_Release(&bws);
fail_o:
    PyBuffer_Release(&bo);
fail_v:
    if (have) PyBuffer_Release(&bv);
fail_y:
    if (have) PyBuffer_Release(&by);
fail_x:
    PyBuffer_Release(&bx);
done:
    PyMem_Free(maps);
    if (PyErr_Occurred()) return NULL;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ elementwise */

/* Float32 elementwise kernels, bit for bit NumPy's (one IEEE operation per element, never
 * fused: the file is compiled with -ffp-contract=off), over the operand shapes the CPU
 * backend sends here: an operand is the whole array (mid 0), or repeats one value along
 * runs of `inner` elements, the value cycling through `mid` (a channel vector [1, C, 1, 1]:
 * inner H*W, mid C; a scalar: inner = the size, mid 1). Threads split the elements. */

enum { EW_ADD, EW_SUB, EW_MUL, EW_DIV, EW_MAX, EW_AFFINE, EW_WHERE0, EW_LT, EW_GT, EW_EQ };

typedef struct {
    int op;
    const float *a, *b, *c;           /* c: the affine's shift */
    const uint8_t *cond;              /* where(cond, a, +0.0) */
    float *out;
    uint8_t *out_bool;                /* comparisons */
    long size, a_inner, a_mid, b_inner, b_mid;
} ew_ctx;

/* How far from i the operand stays contiguous (mid 0) or constant (it repeats a value). */
static inline long ew_run(long i, long inner, long mid) {
    return mid == 0 ? LONG_MAX : inner - i % inner;
}

AVX2 static void ew_part(void *arg, int part, int parts) {
    ew_ctx *k = (ew_ctx *)arg;
    long lo, hi;
    split(k->size, 64, part, parts, &lo, &hi);
    for (long i = lo; i < hi;) {
        long ra = ew_run(i, k->a_inner, k->a_mid), rb = ew_run(i, k->b_inner, k->b_mid);
        long end = hi - i < ra ? hi : i + ra;
        end = end - i < rb ? end : i + rb;
        long ia = k->a_mid ? (i / k->a_inner) % k->a_mid : i, ib = k->b_mid ? (i / k->b_inner) % k->b_mid : i;
        const float *restrict a = k->a + ia, *restrict b = k->b ? k->b + ib : NULL;
        long sa = k->a_mid ? 0 : 1, sb = k->b_mid ? 0 : 1, n = end - i;
        float *restrict o = k->out ? k->out + i : NULL;
/* EXPR computes element j from x (a's) and y (b's), with each operand either contiguous or
 * one value: four loops the compiler can vectorise */
#define EW_LOOP(EXPR)                                                                   \
    do {                                                                                \
        if (sa && sb) {                                                                 \
            for (long j = 0; j < n; j++) { float x = a[j], y = b[j]; EXPR; }            \
        } else if (sa) {                                                                \
            float y = b[0];                                                             \
            for (long j = 0; j < n; j++) { float x = a[j]; EXPR; }                      \
        } else if (sb) {                                                                \
            float x = a[0];                                                             \
            for (long j = 0; j < n; j++) { float y = b[j]; EXPR; }                      \
        } else {                                                                        \
            float x = a[0], y = b[0];                                                   \
            for (long j = 0; j < n; j++) { EXPR; }                                      \
        }                                                                               \
    } while (0)
        uint8_t *restrict ob8 = k->out_bool ? k->out_bool + i : NULL;
        switch (k->op) {
            case EW_ADD: EW_LOOP(o[j] = x + y); break;
            case EW_SUB: EW_LOOP(o[j] = x - y); break;
            case EW_MUL: EW_LOOP(o[j] = x * y); break;
            case EW_DIV: EW_LOOP(o[j] = x / y); break;
            case EW_MAX: EW_LOOP(o[j] = (x > y || x != x) ? x : y); break;  /* np.maximum: NaN wins, ties give y */
            case EW_LT: EW_LOOP(ob8[j] = x < y); break;
            case EW_GT: EW_LOOP(ob8[j] = x > y); break;
            case EW_EQ: EW_LOOP(ob8[j] = x == y); break;
            case EW_AFFINE: {  /* x * alpha + beta, two roundings; alpha and beta share b's runs */
                const float *restrict c = k->c + ib;
                if (sb) {
                    for (long j = 0; j < n; j++) { float t = a[j * sa] * b[j]; o[j] = t + c[j]; }
                } else {
                    float al = b[0], be = c[0];
                    if (sa) for (long j = 0; j < n; j++) { float t = a[j] * al; o[j] = t + be; }
                    else for (long j = 0; j < n; j++) { float t = a[0] * al; o[j] = t + be; }
                }
                break;
            }
            case EW_WHERE0: {  /* where(cond, a, +0.0), a's bits kept */
                const uint8_t *restrict cd = k->cond + i;
                const uint32_t *restrict ab = (const uint32_t *)a;
                uint32_t *restrict obits = (uint32_t *)o;
                for (long j = 0; j < n; j++) obits[j] = ab[j * sa] & (0u - (uint32_t)(cd[j] != 0));
                break;
            }
        }
#undef EW_LOOP
        i = end;
    }
}

/* Per-channel sums of x viewed as [outer, mid, inner] (NCHW: N, C, H*W), each channel's sum
 * accumulated in double in one fixed order (samples, then positions) and rounded once: more
 * accurate than NumPy's float32 pairwise sums, so not NumPy's bits. Threads split the
 * channels. op 0: out[c] = sum. op 1 (moments): out[0][c] = mean, out[1][c] = the mean of
 * (x - mean)^2, the difference and square in float32 as NumPy's two-pass moments. */
typedef struct {
    const float *x;
    float *out;
    long outer, mid, inner;
    int op;
} red_ctx;

AVX2 static double red_run(const float *x, long n, float mean, int centred) {
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    __m256 m = _mm256_set1_ps(mean);
    long j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 v = _mm256_loadu_ps(x + j);
        if (centred) {
            v = _mm256_sub_ps(v, m);
            v = _mm256_mul_ps(v, v);
        }
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    double lanes[4] __attribute__((aligned(32)));
    _mm256_store_pd(lanes, _mm256_add_pd(s0, s1));
    double total = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    for (; j < n; j++) {
        float v = x[j];
        if (centred) {
            v = v - mean;
            v = v * v;
        }
        total += v;
    }
    return total;
}

AVX2 static void red_part(void *arg, int part, int parts) {
    red_ctx *k = (red_ctx *)arg;
    long lo, hi, count = k->outer * k->inner;
    split(k->mid, 1, part, parts, &lo, &hi);
    for (long c = lo; c < hi; c++) {
        double sum = 0.0;
        for (long n = 0; n < k->outer; n++) sum += red_run(k->x + (n * k->mid + c) * k->inner, k->inner, 0.0f, 0);
        if (k->op == 0) {
            k->out[c] = (float)sum;
            continue;
        }
        float mean = count ? (float)(sum / (double)count) : NAN;
        double sq = 0.0;
        for (long n = 0; n < k->outer; n++) sq += red_run(k->x + (n * k->mid + c) * k->inner, k->inner, mean, 1);
        k->out[c] = mean;
        k->out[k->mid + c] = count ? (float)(sq / (double)count) : NAN;
    }
}

/* channel_sums(op, x, out, (outer, mid, inner), threads) */
static PyObject *py_channel_sums(PyObject *self, PyObject *args) {
    int op, threads;
    long outer, mid, inner;
    PyObject *ox, *oo;
    if (!PyArg_ParseTuple(args, "iOO(lll)i", &op, &ox, &oo, &outer, &mid, &inner, &threads)) return NULL;
    if ((op != 0 && op != 1) || outer < 0 || mid < 1 || inner < 0) {
        PyErr_SetString(PyExc_ValueError, "channel_sums: bad op or layout");
        return NULL;
    }
    threads = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    if (runner && threads > runner_threads) threads = runner_threads;
    Py_buffer bx, bo;
    int rc = 0;
    if (get_buffer(ox, &bx, 0, outer * mid * inner, "x") < 0) return NULL;
    if (get_buffer(oo, &bo, 1, op ? 2 * mid : mid, "out") < 0) {
        PyBuffer_Release(&bx);
        return NULL;
    }
    red_ctx k = {bx.buf, bo.buf, outer, mid, inner, op};
    if (outer * mid * inner < 65536) threads = 1;
    Py_BEGIN_ALLOW_THREADS
    rc = run_parts(red_part, &k, threads);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&bo);
    PyBuffer_Release(&bx);
    if (rc != 0) {
        PyErr_SetString(PyExc_RuntimeError, "could not start the reduction's threads");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* elementwise(op, a, (a_inner, a_mid), b or None, (b_inner, b_mid), c or None, cond or None, out, threads) */
static PyObject *py_elementwise(PyObject *self, PyObject *args) {
    int op, threads;
    long a_inner, a_mid, b_inner, b_mid;
    PyObject *oa, *ob, *oc, *ocond, *oo;
    if (!PyArg_ParseTuple(args, "iO(ll)O(ll)OOOi", &op, &oa, &a_inner, &a_mid, &ob, &b_inner, &b_mid, &oc, &ocond,
                          &oo, &threads))
        return NULL;
    if (op < EW_ADD || op > EW_EQ || a_inner < 1 || b_inner < 1 || a_mid < 0 || b_mid < 0) {
        PyErr_SetString(PyExc_ValueError, "elementwise: bad op or operand layout");
        return NULL;
    }
    threads = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    if (runner && threads > runner_threads) threads = runner_threads;
    Py_buffer bo, ba, bb, bc, bcond;
    int have_b = ob != Py_None, have_c = oc != Py_None, have_cond = ocond != Py_None, rc = 0;
    int bools = op >= EW_LT;
    if (PyObject_GetBuffer(oo, &bo, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) return NULL;
    long size = (long)(bo.len / (bools ? 1 : 4));
    long a_need = a_mid ? a_mid : size, b_need = b_mid ? b_mid : size;
    if (get_buffer(oa, &ba, 0, a_need, "a") < 0) goto fail_o;
    if (have_b && get_buffer(ob, &bb, 0, b_need, "b") < 0) goto fail_a;
    if (have_c && get_buffer(oc, &bc, 0, b_need, "c") < 0) goto fail_b;
    if (have_cond && PyObject_GetBuffer(ocond, &bcond, PyBUF_C_CONTIGUOUS) < 0) goto fail_c;
    if (have_cond && bcond.len < size) {
        PyErr_SetString(PyExc_ValueError, "elementwise: cond is too short");
        goto fail_cond;
    }
    if ((op <= EW_MAX || bools) && !have_b) {
        PyErr_SetString(PyExc_ValueError, "elementwise: this op needs b");
        goto fail_cond;
    }
    if ((op == EW_AFFINE && (!have_b || !have_c)) || (op == EW_WHERE0 && !have_cond)) {
        PyErr_SetString(PyExc_ValueError, "elementwise: missing operand");
        goto fail_cond;
    }
    {
        ew_ctx k = {op, ba.buf, have_b ? bb.buf : NULL, have_c ? bc.buf : NULL, have_cond ? bcond.buf : NULL,
                    bools ? NULL : bo.buf, bools ? bo.buf : NULL, size, a_inner, a_mid, b_inner, b_mid};
        if (size < 65536) threads = 1;  /* below this a thread's start costs more than it saves */
        Py_BEGIN_ALLOW_THREADS
        rc = run_parts(ew_part, &k, threads);
        Py_END_ALLOW_THREADS
    }
    if (rc != 0) PyErr_SetString(PyExc_RuntimeError, "could not start the elementwise threads");
fail_cond:
    if (have_cond) PyBuffer_Release(&bcond);
fail_c:
    if (have_c) PyBuffer_Release(&bc);
fail_b:
    if (have_b) PyBuffer_Release(&bb);
fail_a:
    PyBuffer_Release(&ba);
fail_o:
    PyBuffer_Release(&bo);
    if (PyErr_Occurred()) return NULL;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ Python */

static int cpu_ok = -1;

static int cpu_supported(void) {
    if (cpu_ok < 0) {
        __builtin_cpu_init();
        cpu_ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cpu_ok;
}

static int parse_geom(PyObject *t, geom *g) {
    long v[16];
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 16) {
        PyErr_SetString(PyExc_ValueError, "geometry: a tuple of 16 ints");
        return -1;
    }
    for (int i = 0; i < 16; i++) {
        v[i] = PyLong_AsLong(PyTuple_GET_ITEM(t, i));
        if (v[i] == -1 && PyErr_Occurred()) return -1;
    }
    *g = (geom){v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14],
                v[15], 0, NULL, NULL};
    for (int i = 0; i < 16; i++)
        if (v[i] < (i == 13 || i == 14 ? 0 : 1)) {
            PyErr_Format(PyExc_ValueError, "geometry value %d is %ld", i, v[i]);
            return -1;
        }
    if (g->c % g->groups || g->o % g->groups || g->kh * g->kw > MAX_TAPS) {
        PyErr_SetString(PyExc_ValueError, "geometry: groups must divide the channels; at most 1024 taps");
        return -1;
    }
    return 0;
}

/* Floats of scratch each op needs (the memory plan asks through workspace_floats). */
static long scratch_floats(int op, const geom *g) {
    long taps = g->kh * g->kw, x_rows = g->n * g->h * g->w * g->c + SLACK;
    if (op == 2) {  /* weight gradient: x and dy channels-last, the tiles' sums, a zero run */
        long og = g->o / g->groups, cg = g->c / g->groups, ostride = g->groups * round_up(og, NR);
        long tiles = g->groups * taps * ((cg + MR - 1) / MR) * (round_up(og, NR) / NR);
        return x_rows + g->n * g->ho * g->wo * ostride + SLACK + 8 + tiles * MR * NR + cg + MR;
    }
    if (op == 0 && weights_stationary(g))  /* the gathered position panels */
        return round_up(g->n * g->ho * g->wo, NR) * g->c * taps + 8;
    long cin = g->c / g->groups, cout = g->o / g->groups;  /* conv2d / conv_transpose2d */
    return x_rows + g->groups * round_up(cout, NR) * taps * cin + cin + NR + 8;
}

static int get_buffer(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t floats, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) < 0) return -1;
    if (view->len < floats * (Py_ssize_t)sizeof(float) || ((uintptr_t)view->buf & 3)) {
        PyErr_Format(PyExc_ValueError, "%s: need %zd aligned float32 values, got %zd bytes", what, floats,
                     view->len);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static float *aligned32(float *p) { return (float *)(((uintptr_t)p + 31) & ~(uintptr_t)31); }

/* conv(op, x, w, bias or None, out, workspace, geometry, threads); op 0 conv2d, 1 conv_transpose2d,
 * 2 conv2d_weight_grad (then w is dy). */
static PyObject *py_conv(PyObject *self, PyObject *args) {
    int op, threads;
    PyObject *ox, *ow, *ob, *oy, *ows, *ogeom;
    if (!PyArg_ParseTuple(args, "iOOOOOOi", &op, &ox, &ow, &ob, &oy, &ows, &ogeom, &threads)) return NULL;
    if (!cpu_supported()) {
        PyErr_SetString(PyExc_RuntimeError, "this CPU has no AVX2+FMA");
        return NULL;
    }
    geom g;
    if (op < 0 || op > 2 || parse_geom(ogeom, &g) < 0) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "op must be 0, 1 or 2");
        return NULL;
    }
    g.transpose = op == 1;
    long *maps = PyMem_Malloc((g.kh * g.ho + g.kw * g.wo) * sizeof(long));
    if (!maps) return PyErr_NoMemory();
    /* the window runs over the op's output (dy for the weight gradient); conv_transpose2d reads it backwards */
    fill_map(maps, g.kh, g.ho, g.sh, g.dh, g.ph, g.h, g.transpose);
    fill_map(maps + g.kh * g.ho, g.kw, g.wo, g.sw, g.dw, g.pw, g.w, g.transpose);
    g.ymap = maps;
    g.xmap = maps + g.kh * g.ho;
    threads = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    if (runner && threads > runner_threads) threads = runner_threads;  /* never more parts than its pool */
    long taps = g.kh * g.kw, cg = g.c / g.groups, og = g.o / g.groups, p_out = g.ho * g.wo;
    Py_buffer bx, bw, bb, by, bws;
    int have_b = ob != Py_None, rc = 0;
    long w_floats = op == 2 ? g.n * g.o * p_out : g.c * og * taps;
    long y_floats = op == 2 ? g.o * cg * taps : g.n * g.o * p_out;
    if (get_buffer(ox, &bx, 0, g.n * g.c * g.h * g.w, "x") < 0) goto fail_maps;
    if (get_buffer(ow, &bw, 0, w_floats, op == 2 ? "dy" : "w") < 0) goto fail_x;
    if (have_b && get_buffer(ob, &bb, 0, g.o, "bias") < 0) goto fail_w;
    if (get_buffer(oy, &by, 1, y_floats, "out") < 0) goto fail_b;
    if (get_buffer(ows, &bws, 1, scratch_floats(op, &g), "workspace") < 0) goto fail_y;
    {
        const float *x = bx.buf, *w = bw.buf, *bias = have_b ? bb.buf : NULL;
        float *y = by.buf, *ws = aligned32(bws.buf);
        float *xt = ws;
        long x_rows = g.n * g.h * g.w * g.c + SLACK;
        Py_BEGIN_ALLOW_THREADS
        if (op == 0 && weights_stationary(&g)) {
            ws_ctx k = {&g, x, w, bias, ws, y};
            rc = run_parts(ws_pack_part, &k, threads);
            if (rc == 0) rc = run_parts(ws_part, &k, threads);
            goto computed;
        }
        nhwc_ctx cx = {x, xt, g.n, g.c, g.h * g.w, g.c, 0};
        memset(xt + x_rows - SLACK, 0, SLACK * sizeof(float));
        rc = run_parts(nhwc_part, &cx, threads);
        if (op < 2 && rc == 0) {
            long panels = round_up(og, NR) / NR;
            float *packed = aligned32(xt + x_rows), *zero = packed + g.groups * panels * NR * taps * cg;
            memset(zero, 0, cg * sizeof(float));
            pack_ctx pk = {w, packed, g.groups, panels, taps, cg, og, op == 1};
            rc = run_parts(pack_part, &pk, threads);
            /* conv2d: w [o, cg, kh, kw]; conv_transpose2d: w [c_in, og, kh, kw], where g.c is its
             * input channels and g.o its output channels */
            gather_ctx k = {&g, xt, packed, bias, zero, y, cg, og, panels};
            if (rc == 0) rc = run_parts(gather_part, &k, threads);
        } else if (rc == 0) {
            long ostride = g.groups * round_up(og, NR), panels = round_up(og, NR) / NR;
            int small = cg < MR && taps <= SMALL_TAPS;
            long blocks = small ? (taps * cg + MR - 1) / MR : taps * ((cg + MR - 1) / MR);
            long tiles = g.groups * blocks * panels;
            float *dyt = xt + x_rows, *acc = aligned32(dyt + g.n * p_out * ostride + SLACK);
            float *zero = acc + tiles * MR * NR;
            memset(zero, 0, (cg + MR) * sizeof(float));
            memset(dyt + g.n * p_out * ostride, 0, SLACK * sizeof(float));
            for (long gi = 0; gi < g.groups && rc == 0; gi++) {
                /* dy's group gi, channels-last, at column gi * round_up(og, 16) of each row */
                long pad = round_up(og, NR) - og;
                nhwc_ctx cd = {w + gi * og * p_out, dyt + gi * round_up(og, NR), g.n, og, p_out, ostride, pad};
                if (g.groups == 1) {
                    rc = run_parts(nhwc_part, &cd, threads);
                } else {  /* per sample: the group's channels are a slice of each sample's planes */
                    for (long n = 0; n < g.n; n++) {
                        nhwc_ctx one = {w + (n * g.o + gi * og) * p_out, dyt + n * p_out * ostride + gi * round_up(og, NR),
                                        1, og, p_out, ostride, pad};
                        nhwc_part(&one, 0, 1);
                    }
                }
            }
            wgrad_ctx k = {&g, xt, dyt, zero, acc, y, cg, og, ostride, blocks, panels, tiles, small};
            if (rc == 0) rc = run_parts(wgrad_part, &k, threads);
        }
    computed:
        Py_END_ALLOW_THREADS
    }
    if (rc != 0) PyErr_SetString(PyExc_RuntimeError, "could not start the convolution's threads");
    PyBuffer_Release(&bws);
fail_y:
    PyBuffer_Release(&by);
fail_b:
    if (have_b) PyBuffer_Release(&bb);
fail_w:
    PyBuffer_Release(&bw);
fail_x:
    PyBuffer_Release(&bx);
fail_maps:
    PyMem_Free(maps);
    if (PyErr_Occurred()) return NULL;
    Py_RETURN_NONE;
}

static PyObject *py_workspace_floats(PyObject *self, PyObject *args) {
    int op;
    PyObject *ogeom;
    geom g;
    if (!PyArg_ParseTuple(args, "iO", &op, &ogeom) || parse_geom(ogeom, &g) < 0) return NULL;
    /* + 8 floats: the caller's buffer may start off a 32-byte boundary */
    return PyLong_FromLong(scratch_floats(op, &g) + 8);
}

/* use_blas_threads(address of gotoblas_pthread or 0, OpenBLAS's thread count) */
static PyObject *py_use_blas_threads(PyObject *self, PyObject *args) {
    unsigned long long address;
    int count;
    if (!PyArg_ParseTuple(args, "Ki", &address, &count)) return NULL;
    runner = (blas_runner)(uintptr_t)address;
    runner_threads = count < 1 ? 1 : count > MAX_THREADS ? MAX_THREADS : count;
    Py_RETURN_NONE;
}

static PyObject *py_supported(PyObject *self, PyObject *unused) { return PyBool_FromLong(cpu_supported()); }

static PyMethodDef methods[] = {
    {"conv", py_conv, METH_VARARGS, "conv(op, x, w_or_dy, bias, out, workspace, geometry, threads)"},
    {"elementwise", py_elementwise, METH_VARARGS, "elementwise(op, a, a_layout, b, b_layout, c, cond, out, threads)"},
    {"channel_sums", py_channel_sums, METH_VARARGS, "channel_sums(op, x, out, (outer, mid, inner), threads)"},
    {"pool", py_pool, METH_VARARGS, "pool(op, x, y, v, out, scratch, geometry, threads)"},
    {"workspace_floats", py_workspace_floats, METH_VARARGS, "workspace_floats(op, geometry)"},
    {"use_blas_threads", py_use_blas_threads, METH_VARARGS, "run the parts on OpenBLAS's thread pool"},
    {"supported", py_supported, METH_NOARGS, "whether this CPU runs the kernels (AVX2 and FMA)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", "Native convolution kernels", -1, methods};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
