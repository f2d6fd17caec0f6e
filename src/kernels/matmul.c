/* matmul.c: y = x · Wᵀ over a thread pool (see matmul.h).
 *
 * Two steps. First the caller's thread converts each activation row once to W's vec_dot_type
 * in the scratch buffer (F32 weights use x as it is). Then tp_run gives each thread a share of
 * the weight rows, in groups of four; a group is dotted with every activation row through the
 * type's tile kernels where it has them (4 rows x 2 tokens at a time: each loaded block is
 * used several times and four to eight independent chains hide the FMA latency), else dot by
 * dot. A weight row is fetched from memory once per call and reused from cache for the whole
 * batch. Tiles sum each dot exactly as vec_dot does, so the result does not depend on them. Threads write disjoint elements of y; tp_run's barrier publishes
 * them. A NULL pool runs the job on the calling thread alone.
 */
#include "kernels/matmul.h"

#include <assert.h>
#include <stdatomic.h>
#include <string.h>

#include "kernels/kernels_impl.h"
#include "kernels/ops.h"
#include "kernels/packed.h"

typedef struct matmul_job {
    kern_vec_dot_fn vec_dot;
    kern_tile_fn tile1, tile2; /* 4 x 1 and 4 x 2 tiles, or NULL */
    const uint8_t *w; /* (n_rows, w_row_bytes) */
    size_t w_row_bytes;
    int64_t n_rows, n_cols;
    const uint8_t *x; /* (n_tok, x_row_bytes) in vec_dot_type */
    size_t x_row_bytes;
    int64_t n_tok;
    float *y; /* (n_tok, n_rows) */
} matmul_job;

/* Rows [r, r + nr) against every activation row, one dot at a time. */
static void rows_by_dots(const matmul_job *j, int64_t r, int64_t nr) {
    for (int64_t k = r; k < r + nr; k++)
        for (int64_t t = 0; t < j->n_tok; t++)
            j->vec_dot(j->n_cols, &j->y[t * j->n_rows + k], j->w + (size_t)k * j->w_row_bytes,
                       j->x + (size_t)t * j->x_row_bytes);
}

/* Four rows at r against every activation row: 4 x 2 tiles, then a 4 x 1 tile for an odd one. */
static void rows_by_tiles(const matmul_job *j, int64_t r) {
    const uint8_t *w = j->w + (size_t)r * j->w_row_bytes;
    int64_t t = 0;
    for (; j->tile2 && t + 2 <= j->n_tok; t += 2)
        j->tile2(j->n_cols, &j->y[t * j->n_rows + r], (size_t)j->n_rows, w, j->w_row_bytes,
                 j->x + (size_t)t * j->x_row_bytes, j->x_row_bytes);
    for (; t < j->n_tok; t++)
        j->tile1(j->n_cols, &j->y[t * j->n_rows + r], (size_t)j->n_rows, w, j->w_row_bytes,
                 j->x + (size_t)t * j->x_row_bytes, j->x_row_bytes);
}

/* Thread ith takes a contiguous share of the row groups of KERN_TILE_ROWS (the last group may be
 * shorter and goes dot by dot). */
static void matmul_rows(void *arg, int ith, int nth) {
    const matmul_job *j = arg;
    const int64_t n_groups = (j->n_rows + KERN_TILE_ROWS - 1) / KERN_TILE_ROWS;
    const int64_t g0 = n_groups * ith / nth, g1 = n_groups * (ith + 1) / nth;
    for (int64_t g = g0; g < g1; g++) {
        const int64_t r = g * KERN_TILE_ROWS;
        const int64_t nr = j->n_rows - r < KERN_TILE_ROWS ? j->n_rows - r : KERN_TILE_ROWS;
        if (j->tile1 && nr == KERN_TILE_ROWS)
            rows_by_tiles(j, r);
        else
            rows_by_dots(j, r, nr);
    }
}

size_t kern_matmul_scratch_bytes(ward_type wtype, int64_t n_cols, int64_t n_tok) {
    const kern_type_row *row = kern_type(wtype);
    assert(row && n_tok >= 0);
    /* the larger of the two layouts' needs: whether W is packed depends on the machine */
    const size_t packed = kern_packable(wtype, WARD_ISA_REF) &&
                                  n_cols % kern_packed_block_cols(wtype) == 0
                              ? kern_packed_act_row_bytes(wtype, n_cols) * (size_t)n_tok : 0;
    const size_t plain = row->vec_dot_type == WARD_TYPE_F32
                             ? 0 : kern_row_bytes(row->vec_dot_type, n_cols) * (size_t)n_tok;
    return packed > plain ? packed : plain;
}

void kern_matmul(tp_pool *pool, ward_isa isa, ward_type wtype, const void *w, int64_t n_rows,
                 int64_t n_cols, const float *x, int64_t n_tok, float *y, void *scratch) {
    const kern_type_row *row = kern_type(wtype);
    assert(row && ward_type_is_computable(wtype) && n_rows >= 0 && n_tok >= 0);
    assert(n_cols % row->block_elems == 0);
    const ward_type xtype = row->vec_dot_type;

    /* 1. activations to vec_dot_type, once */
    const uint8_t *xq = (const uint8_t *)x;
    size_t x_row_bytes = (size_t)n_cols * sizeof(float);
    if (xtype != WARD_TYPE_F32) {
        const kern_from_float_fn from_float = kern_act_from_float(wtype, isa);
        x_row_bytes = kern_row_bytes(xtype, n_cols);
        assert(scratch || n_tok == 0);
        for (int64_t t = 0; t < n_tok; t++)
            from_float(x + t * n_cols, (uint8_t *)scratch + (size_t)t * x_row_bytes, n_cols);
        xq = scratch;
    }

    /* 2. weight rows split across threads, each against the whole batch */
    matmul_job job = {
        .vec_dot = kern_vec_dot(wtype, isa),
        /* one token (decoding): dot by dot, which streams each row in order; four interleaved
         * rows measured half as fast on matrices read from memory (the prefetchers lose) */
        .tile1 = n_tok > 1 ? kern_tile(wtype, isa, 1) : NULL,
        .tile2 = kern_tile(wtype, isa, 2),
        .w = w,
        .w_row_bytes = kern_row_bytes(wtype, n_cols),
        .n_rows = n_rows,
        .n_cols = n_cols,
        .x = xq,
        .x_row_bytes = x_row_bytes,
        .n_tok = n_tok,
        .y = y,
    };
    if (pool)
        tp_run(pool, matmul_rows, &job);
    else
        matmul_rows(&job, 0, 1);
}

/* ---------------------------------------------------------------------------------------------
 * Packed weights (packed.h)
 * ------------------------------------------------------------------------------------------- */

/* Row groups handed out at a time: small enough that a thread slowed by a noisy neighbour
 * takes fewer of them (instead of the others waiting at the barrier), large enough that the
 * shared counter, whose cache line moves between cores, is touched rarely. Measured on
 * tinyllama Q4_0, 2 threads: one token is 2-4% faster with 8 groups than 4, a 128-token prompt
 * 6% slower (its chunks are long, so the last ones balance worse). */
static int64_t chunk_groups(int64_t n_tok) { return n_tok <= KERN_PACK_MAX_TOK ? 8 : 4; }

typedef struct packed_job {
    kern_packed_gemm_fn gemm;
    ward_isa isa;
    const kern_packed_mat *mats;
    int n_mats;
    bool swiglu; /* mats are gate and up: a chunk is the same groups of both, then SwiGLU */
    int64_t chunk;                           /* row groups per chunk */
    int64_t chunk_end[KERN_MATMUL_MAX_MANY]; /* cumulative chunk counts of the matrices */
    size_t group_bytes;
    int64_t n_cols;
    const uint8_t *x;
    size_t x_row_bytes;
    int64_t n_tok;
    _Atomic int64_t next_chunk;
} packed_job;

/* Group g of matrix m against every activation row, KERN_PACK_MAX_TOK rows per call: the group
 * stays in cache while the batch goes past it. A last group with fewer than KERN_PACK_ROWS real
 * rows is computed into a local tile and only its real rows are copied out. */
static void packed_group(const packed_job *j, const kern_packed_mat *m, int64_t g) {
    const int64_t r = g * KERN_PACK_ROWS;
    const int64_t nr = m->n_rows - r < KERN_PACK_ROWS ? m->n_rows - r : KERN_PACK_ROWS;
    const uint8_t *w = (const uint8_t *)m->packed + (size_t)g * j->group_bytes;
    for (int64_t t = 0; t < j->n_tok; t += KERN_PACK_MAX_TOK) {
        const int nt = (int)(j->n_tok - t < KERN_PACK_MAX_TOK ? j->n_tok - t : KERN_PACK_MAX_TOK);
        const uint8_t *x = j->x + (size_t)t * j->x_row_bytes;
        if (nr == KERN_PACK_ROWS) {
            j->gemm(j->n_cols, &m->y[t * m->n_rows + r], (size_t)m->n_rows, w, x, j->x_row_bytes,
                    nt);
            continue;
        }
        float tile[KERN_PACK_MAX_TOK * KERN_PACK_ROWS];
        j->gemm(j->n_cols, tile, KERN_PACK_ROWS, w, x, j->x_row_bytes, nt);
        for (int k = 0; k < nt; k++)
            memcpy(&m->y[(t + k) * m->n_rows + r], &tile[k * KERN_PACK_ROWS],
                   (size_t)nr * sizeof(float));
    }
}

/* The SwiGLU epilogue of groups [g0, g1) of gate (mats[0]) and up (mats[1]): up = silu(gate) *
 * up over those rows of every token, while they are in cache. The rows start at a multiple of
 * 16, so ops_swiglu's blocks of 8 fall where they would on the whole row. */
static void swiglu_groups(const packed_job *j, int64_t g0, int64_t g1) {
    const kern_packed_mat *gate = &j->mats[0], *up = &j->mats[1];
    const int64_t r0 = g0 * KERN_PACK_ROWS;
    const int64_t r1 = g1 * KERN_PACK_ROWS < gate->n_rows ? g1 * KERN_PACK_ROWS : gate->n_rows;
    for (int64_t t = 0; t < j->n_tok; t++)
        ops_swiglu(j->isa, &up->y[t * up->n_rows + r0], &gate->y[t * gate->n_rows + r0],
                   &up->y[t * up->n_rows + r0], r1 - r0);
}

/* Threads take chunks of j->chunk row groups from a shared counter, over the matrices one
 * after another (or, for SwiGLU, over gate and up together). */
static void packed_chunks(void *arg, int ith, int nth) {
    (void)ith, (void)nth;
    packed_job *j = arg;
    const int64_t n_chunks = j->chunk_end[j->swiglu ? 0 : j->n_mats - 1];
    int mi = 0;
    for (int64_t c; (c = atomic_fetch_add_explicit(&j->next_chunk, 1, memory_order_relaxed)) <
                    n_chunks;) {
        while (c >= j->chunk_end[mi]) mi++;
        const kern_packed_mat *m = &j->mats[mi];
        const int64_t n_groups = (m->n_rows + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS;
        const int64_t g0 = (c - (mi ? j->chunk_end[mi - 1] : 0)) * j->chunk;
        const int64_t g1 = g0 + j->chunk < n_groups ? g0 + j->chunk : n_groups;
        for (int64_t g = g0; g < g1; g++) packed_group(j, m, g);
        if (!j->swiglu) continue;
        for (int64_t g = g0; g < g1; g++) packed_group(j, &j->mats[1], g);
        swiglu_groups(j, g0, g1);
    }
}

/* Activation rows prepared in parallel for prompts (a second, short parallel job costs a few
 * microseconds; a 128-row prompt spent about 3% of its time here on one thread); one token is
 * prepared in place. */
#define ACT_PARALLEL_MIN 16

typedef struct act_job {
    ward_type wtype;
    ward_isa isa;
    const float *x;
    int64_t n_cols;
    uint8_t *out;
    size_t out_row_bytes;
    int64_t n_tok;
} act_job;

static void act_rows(void *arg, int ith, int nth) {
    const act_job *j = arg;
    for (int64_t t = j->n_tok * ith / nth; t < j->n_tok * (ith + 1) / nth; t++)
        kern_packed_act(j->wtype, j->isa, j->x + t * j->n_cols, j->out + (size_t)t * j->out_row_bytes,
                        j->n_cols);
}

/* The packed product of mats (SwiGLU of the first two when swiglu). */
static void packed_run(tp_pool *pool, ward_isa isa, ward_type wtype, const kern_packed_mat *mats,
                       int n_mats, bool swiglu, int64_t n_cols, const float *x, int64_t n_tok,
                       void *scratch) {
    assert(kern_packable(wtype, WARD_ISA_REF) && n_mats >= 1 && n_mats <= KERN_MATMUL_MAX_MANY);
    assert(n_tok >= 0 && (scratch || n_tok == 0));
    const size_t x_row_bytes = kern_packed_act_row_bytes(wtype, n_cols);
    act_job aj = {wtype, isa, x, n_cols, scratch, x_row_bytes, n_tok};
    if (pool && n_tok >= ACT_PARALLEL_MIN)
        tp_run(pool, act_rows, &aj);
    else
        act_rows(&aj, 0, 1);
    packed_job job = {
        .gemm = kern_packed_gemm(wtype, isa),
        .isa = isa,
        .mats = mats,
        .n_mats = n_mats,
        .swiglu = swiglu,
        .group_bytes = kern_packed_group_bytes(wtype, n_cols),
        .n_cols = n_cols,
        .x = scratch,
        .x_row_bytes = x_row_bytes,
        .n_tok = n_tok,
        .chunk = chunk_groups(n_tok),
    };
    atomic_init(&job.next_chunk, 0);
    for (int i = 0; i < n_mats; i++) {
        assert(mats[i].n_rows >= 0);
        const int64_t n_groups = (mats[i].n_rows + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS;
        job.chunk_end[i] = (i ? job.chunk_end[i - 1] : 0) + (n_groups + job.chunk - 1) / job.chunk;
    }
    if (pool)
        tp_run(pool, packed_chunks, &job);
    else
        packed_chunks(&job, 0, 1);
}

void kern_matmul_packed_many(tp_pool *pool, ward_isa isa, ward_type wtype,
                             const kern_packed_mat *mats, int n_mats, int64_t n_cols,
                             const float *x, int64_t n_tok, void *scratch) {
    packed_run(pool, isa, wtype, mats, n_mats, false, n_cols, x, n_tok, scratch);
}

void kern_matmul_packed_swiglu(tp_pool *pool, ward_isa isa, ward_type wtype,
                               const kern_packed_mat *gate, const kern_packed_mat *up,
                               int64_t n_cols, const float *x, int64_t n_tok, void *scratch) {
    assert(gate->n_rows == up->n_rows);
    const kern_packed_mat mats[2] = {*gate, *up};
    packed_run(pool, isa, wtype, mats, 2, true, n_cols, x, n_tok, scratch);
}

void kern_matmul_packed(tp_pool *pool, ward_isa isa, ward_type wtype, const void *packed,
                        int64_t n_rows, int64_t n_cols, const float *x, int64_t n_tok, float *y,
                        void *scratch) {
    const kern_packed_mat m = {packed, n_rows, y};
    kern_matmul_packed_many(pool, isa, wtype, &m, 1, n_cols, x, n_tok, scratch);
}
