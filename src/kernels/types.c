/* types.c: the type table (see types.h). Kernels live in one file per format family
 * (float_types.c, q8_0.c, q4_0.c, ...) with their ISA variants beside them (q4_0_avx2.c);
 * this file only wires them into rows. */
#include "kernels/types.h"

#include <assert.h>

#include "kernels/kernels_impl.h"

/* Geometry-only rows: types GGUF defines that ward can read and size but not compute (yet). */
#define GEOMETRY(id, nm, elems, bytes) \
    [id] = {.name = nm, .block_elems = elems, .block_bytes = bytes, .vec_dot_type = id}

static const kern_type_row type_rows[WARD_TYPE_COUNT] = {
    /* computable rows come from kernels_impl.h, one macro per format family */
    KERN_ROWS_FLOAT,
    KERN_ROW_Q8_0,
    KERN_ROW_Q4_0,
    KERN_ROW_Q4_1,
    KERN_ROW_Q5_0,
    KERN_ROW_Q5_1,
    KERN_ROW_Q8_1,
    KERN_ROWS_KQUANT,
    KERN_ROW_Q8_K,
    GEOMETRY(WARD_TYPE_IQ2_XXS, "IQ2_XXS", 256, 66),
    GEOMETRY(WARD_TYPE_IQ2_XS, "IQ2_XS", 256, 74),
    GEOMETRY(WARD_TYPE_IQ3_XXS, "IQ3_XXS", 256, 98),
    GEOMETRY(WARD_TYPE_IQ1_S, "IQ1_S", 256, 50),
    GEOMETRY(WARD_TYPE_IQ4_NL, "IQ4_NL", 32, 18),
    GEOMETRY(WARD_TYPE_IQ3_S, "IQ3_S", 256, 110),
    GEOMETRY(WARD_TYPE_IQ2_S, "IQ2_S", 256, 82),
    GEOMETRY(WARD_TYPE_IQ4_XS, "IQ4_XS", 256, 136),
    GEOMETRY(WARD_TYPE_I8, "I8", 1, 1),
    GEOMETRY(WARD_TYPE_I16, "I16", 1, 2),
    GEOMETRY(WARD_TYPE_I32, "I32", 1, 4),
    GEOMETRY(WARD_TYPE_I64, "I64", 1, 8),
    GEOMETRY(WARD_TYPE_F64, "F64", 1, 8),
    GEOMETRY(WARD_TYPE_IQ1_M, "IQ1_M", 256, 56),
    GEOMETRY(WARD_TYPE_TQ1_0, "TQ1_0", 256, 54),
    GEOMETRY(WARD_TYPE_TQ2_0, "TQ2_0", 256, 66),
};

const kern_type_row *kern_type(ward_type t) {
    if ((unsigned)t >= WARD_TYPE_COUNT || !type_rows[t].name) return NULL;
    return &type_rows[t];
}

size_t kern_row_bytes(ward_type t, int64_t n) {
    const kern_type_row *r = kern_type(t);
    assert(r && n % r->block_elems == 0);
    return (size_t)(n / r->block_elems) * r->block_bytes;
}

/* Walk down from isa to WARD_ISA_REF; the first non-NULL slot wins. */
#define PICK(slot)                                                         \
    const kern_type_row *r = kern_type(t);                                 \
    if (!r) return NULL;                                                   \
    for (int i = (isa < WARD_ISA_COUNT ? (int)isa : WARD_ISA_COUNT - 1); i >= 0; i--) \
        if (r->slot[i]) return r->slot[i];                                 \
    return NULL

kern_to_float_fn kern_to_float(ward_type t, ward_isa isa) { PICK(to_float); }
kern_from_float_fn kern_from_float(ward_type t, ward_isa isa) { PICK(from_float); }
static kern_from_float_fn pick_act(ward_type t, ward_isa isa) { PICK(act_from_float); }
kern_from_float_fn kern_act_from_float(ward_type t, ward_isa isa) {
    kern_from_float_fn f = pick_act(t, isa);
    return f ? f : kern_from_float(kern_type(t)->vec_dot_type, isa);
}
kern_vec_dot_fn kern_vec_dot(ward_type t, ward_isa isa) { PICK(vec_dot); }
static kern_tile_fn pick_tile1(ward_type t, ward_isa isa) { PICK(tile_4x1); }
static kern_tile_fn pick_tile2(ward_type t, ward_isa isa) { PICK(tile_4x2); }
kern_tile_fn kern_tile(ward_type t, ward_isa isa, int n_tok) {
    return n_tok == 2 ? pick_tile2(t, isa) : n_tok == 1 ? pick_tile1(t, isa) : NULL;
}

const char *ward_type_name(ward_type t) {
    const kern_type_row *r = kern_type(t);
    return r ? r->name : NULL;
}

bool ward_type_is_computable(ward_type t) {
    const kern_type_row *r = kern_type(t);
    return r && r->vec_dot[WARD_ISA_REF] && r->to_float[WARD_ISA_REF];
}

bool ward_type_from_name(const char *name, ward_type *out) {
    for (int t = 0; t < WARD_TYPE_COUNT; t++) {
        const char *n = type_rows[t].name;
        if (!n) continue;
        size_t i = 0;
        while (n[i] && name[i] && (n[i] | 0x20) == (name[i] | 0x20)) i++;
        if (!n[i] && !name[i]) {
            *out = (ward_type)t;
            return true;
        }
    }
    return false;
}
