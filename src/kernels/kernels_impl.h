/* kernels_impl.h: declarations of every kernel function and the table rows built from them.
 * Only types.c and the kernel files include this; everything else goes through types.h.
 *
 * PLACEHOLDER: the kernels helper replaces this with the real declarations. Until then the
 * computable types are declared as geometry only so the tree builds.
 */
#ifndef WARD_KERNELS_IMPL_H
#define WARD_KERNELS_IMPL_H

#include "kernels/types.h"

#define KERN_ROWS_FLOAT                                                                       \
    [WARD_TYPE_F32] = {.name = "F32", .block_elems = 1, .block_bytes = 4,                     \
                       .vec_dot_type = WARD_TYPE_F32},                                        \
    [WARD_TYPE_F16] = {.name = "F16", .block_elems = 1, .block_bytes = 2,                     \
                       .vec_dot_type = WARD_TYPE_F16},                                        \
    [WARD_TYPE_BF16] = {.name = "BF16", .block_elems = 1, .block_bytes = 2,                   \
                        .vec_dot_type = WARD_TYPE_BF16}
#define KERN_ROW_Q8_0 \
    [WARD_TYPE_Q8_0] = {.name = "Q8_0", .block_elems = 32, .block_bytes = 34, .vec_dot_type = WARD_TYPE_Q8_0}
#define KERN_ROW_Q4_0 \
    [WARD_TYPE_Q4_0] = {.name = "Q4_0", .block_elems = 32, .block_bytes = 18, .vec_dot_type = WARD_TYPE_Q8_0}

#endif
