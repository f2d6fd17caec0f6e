/* matmul.c: y = x · Wᵀ over a thread pool (see matmul.h).
 *
 * Two steps. First the caller's thread converts each activation row once to W's vec_dot_type
 * in the scratch buffer (F32 weights use x as it is). Then tp_run gives thread ith the weight
 * rows [ith * n_rows / nth, (ith + 1) * n_rows / nth) and it dots each of them with every
 * activation row, so a weight row is fetched from memory once per call and then reused from
 * cache for the whole batch. Threads write disjoint elements of y; tp_run's barrier publishes
 * them. A NULL pool runs the job on the calling thread alone.
 */
#include "kernels/matmul.h"

#include <assert.h>

#include "kernels/kernels_impl.h"

typedef struct matmul_job {
    kern_vec_dot_fn vec_dot;
    const uint8_t *w; /* (n_rows, w_row_bytes) */
    size_t w_row_bytes;
    int64_t n_rows, n_cols;
    const uint8_t *x; /* (n_tok, x_row_bytes) in vec_dot_type */
    size_t x_row_bytes;
    int64_t n_tok;
    float *y; /* (n_tok, n_rows) */
} matmul_job;

static void matmul_rows(void *arg, int ith, int nth) {
    const matmul_job *j = arg;
    const int64_t r0 = j->n_rows * ith / nth, r1 = j->n_rows * (ith + 1) / nth;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *wr = j->w + (size_t)r * j->w_row_bytes;
        for (int64_t t = 0; t < j->n_tok; t++)
            j->vec_dot(j->n_cols, &j->y[t * j->n_rows + r], wr, j->x + (size_t)t * j->x_row_bytes);
    }
}

size_t kern_matmul_scratch_bytes(ward_type wtype, int64_t n_cols, int64_t n_tok) {
    const kern_type_row *row = kern_type(wtype);
    assert(row && n_tok >= 0);
    if (row->vec_dot_type == WARD_TYPE_F32) return 0;
    return kern_row_bytes(row->vec_dot_type, n_cols) * (size_t)n_tok;
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
