/* gguf.h: reading and writing GGUF files (versions 2 and 3).
 *
 * Layout (little-endian; "str" = u64 length + bytes, not NUL-terminated):
 *   u32 magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
 *   n_kv x { str key | u32 value_type | value }
 *       value: u8 i8 u16 i16 u32 i32 f32 bool(u8) str u64 i64 f64, or
 *              array = u32 elem_type | u64 n | n values (no nested arrays of arrays... see below)
 *   n_tensors x { str name | u32 n_dims | n_dims x u64 ne | u32 ggml_type | u64 offset }
 *   padding to general.alignment (u32 key, default 32)
 *   tensor data: each tensor at data_start + offset, offset a multiple of the alignment
 * ne[0] is the innermost (contiguous) dimension. Version 1 (u32 counts) is refused. Versions 2
 * and 3 share this layout (3 only allowed big-endian files, which ward refuses: the reader and
 * writer assume a little-endian host, i.e. x86-64, and copy numbers with memcpy).
 *
 * Reading: gguf_parse() validates a whole blob once (every count, length, offset and dimension
 * against the real size with overflow-safe arithmetic; tensor byte ranges inside the file and not
 * overlapping; names unique) and builds an index; afterwards nothing re-checks. Strings and tensor
 * data point into the blob: the blob must outlive the gguf_file. gguf_open() maps a file and owns
 * the mapping. Arrays of arrays are refused (no model uses them). Keys and tensor names are
 * also indexed in sorted order, so lookups are O(log n) and duplicates are found in O(n log n)
 * (a fuzzed header may declare hundreds of thousands of entries).
 *
 * Writing: gguf_writer collects key/values and tensor infos in memory, then streams the header
 * and tensor data to the file tensor by tensor, so a writer never holds the whole model.
 */
#ifndef WARD_FORMATS_GGUF_H
#define WARD_FORMATS_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/filemap.h"
#include "ward.h"

#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32

typedef enum gguf_vtype {
    GGUF_VT_U8 = 0,
    GGUF_VT_I8 = 1,
    GGUF_VT_U16 = 2,
    GGUF_VT_I16 = 3,
    GGUF_VT_U32 = 4,
    GGUF_VT_I32 = 5,
    GGUF_VT_F32 = 6,
    GGUF_VT_BOOL = 7,
    GGUF_VT_STR = 8,
    GGUF_VT_ARR = 9,
    GGUF_VT_U64 = 10,
    GGUF_VT_I64 = 11,
    GGUF_VT_F64 = 12,
    GGUF_VT_COUNT
} gguf_vtype;

typedef struct gguf_str {
    const char *ptr; /* into the blob; not NUL-terminated */
    uint64_t len;
} gguf_str;

typedef struct gguf_kv {
    gguf_str key;
    gguf_vtype type;
    union {
        uint64_t u64; /* U8 U16 U32 U64 BOOL, zero-extended */
        int64_t i64;  /* I8 I16 I32 I64, sign-extended */
        double f64;   /* F32 F64 */
        gguf_str str;
        struct {
            gguf_vtype type; /* element type (never ARR) */
            uint64_t n;
            const void *data; /* numeric arrays: n packed little-endian elements in the blob */
            gguf_str *strs;   /* string arrays: (n) index built at parse time; else NULL */
        } arr;
    } val;
} gguf_kv;

typedef struct gguf_tensor {
    gguf_str name;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS]; /* unused dimensions are 1 */
    ward_type type;
    uint64_t offset;  /* relative to the data section */
    uint64_t nbytes;
    const void *data; /* (nbytes) into the blob */
} gguf_tensor;

typedef struct gguf_file {
    uint32_t version;
    uint64_t n_kv;
    gguf_kv *kv;          /* (n_kv) */
    uint64_t n_tensors;
    gguf_tensor *tensors; /* (n_tensors) */
    uint64_t alignment;
    uint64_t data_start;  /* file offset of the data section */
    ward_filemap map;     /* owned when opened with gguf_open(), else zero */
    const gguf_str **kv_index;     /* (n_kv) &kv[i].key, sorted by bytes, for gguf_find */
    const gguf_str **tensor_index; /* (n_tensors) &tensors[i].name, sorted, for find_tensor */
} gguf_file;

/* Parse and validate size bytes at data (borrowed; must outlive *out). */
ward_status gguf_parse(const void *data, size_t size, gguf_file **out, ward_error *err);
/* Map path and parse it; the gguf_file owns the mapping. Messages start with the path. */
ward_status gguf_open(const char *path, gguf_file **out, ward_error *err);
void gguf_close(gguf_file *g);

const char *gguf_vtype_name(gguf_vtype t); /* "u32", "str", ...; "unknown" if out of range */
/* Bytes of one numeric scalar of type t; 0 for STR, ARR and unknown ids. */
size_t gguf_vtype_size(gguf_vtype t);
/* Lookups: NULL when absent. Keys and names are compared as exact byte strings. */
const gguf_kv *gguf_find(const gguf_file *g, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name);

/* Typed getters. Return WARD_OK, or WARD_EFORMAT with a message naming the key when the key is
 * absent (if required) or its type does not fit. Integer getters accept any integer type whose
 * value fits the target. Optional getters leave *out untouched when the key is absent. */
ward_status gguf_get_u32(const gguf_file *g, const char *key, bool required, uint32_t *out,
                         ward_error *err);
ward_status gguf_get_f32(const gguf_file *g, const char *key, bool required, float *out,
                         ward_error *err);
ward_status gguf_get_bool(const gguf_file *g, const char *key, bool required, bool *out,
                          ward_error *err);
ward_status gguf_get_str(const gguf_file *g, const char *key, bool required, gguf_str *out,
                         ward_error *err);
/* An array of elem type (GGUF_VT_COUNT: any element type): *kv_out is the entry (NULL if
 * absent and optional). */
ward_status gguf_get_arr(const gguf_file *g, const char *key, gguf_vtype elem, bool required,
                         const gguf_kv **kv_out, ward_error *err);
/* Element i of a numeric array (i < n checked by the caller): gguf_arr_f32 takes any numeric
 * element type; gguf_arr_i64 integer and bool elements only (asserted), U64 values above
 * INT64_MAX saturate. */
float gguf_arr_f32(const gguf_kv *kv, uint64_t i);
int64_t gguf_arr_i64(const gguf_kv *kv, uint64_t i);

/* Shared by reader and writer: validate a tensor shape (type known, 1 <= n_dims <= 4, every
 * ne > 0, element count fits int64, ne[0] a multiple of the block size) and give its byte size.
 * Messages do not name the tensor (callers prefix it). Unused ne entries are not read. */
ward_status gguf_tensor_size(ward_type type, uint32_t n_dims, const int64_t *ne, uint64_t *nbytes,
                             ward_error *err);
/* general.alignment rule: nonzero power of two. */
bool gguf_alignment_ok(uint64_t alignment);

/* --- writer --------------------------------------------------------------------------------- */

typedef struct gguf_writer gguf_writer;

/* Creates (truncates) path now, so an unwritable path fails here. Writes version 3. */
ward_status gguf_writer_open(const char *path, gguf_writer **out, ward_error *err);
/* A writer whose file is built in memory (what names it in messages): after
 * gguf_writer_write_header() it holds one allocation of the file's exact final size, and
 * gguf_writer_finish_memory() hands it over. */
ward_status gguf_writer_open_memory(const char *what, gguf_writer **out, ward_error *err);
bool gguf_writer_is_memory(const gguf_writer *w);
/* Abandon: closes and removes the file, frees w (NULL is a no-op). After gguf_writer_finish()
 * there is nothing left to close. */
void gguf_writer_close(gguf_writer *w);
/* Metadata (copied). A later value for the same key replaces the earlier one. Setting
 * general.alignment (u32, nonzero power of two) changes the data alignment; otherwise the file
 * has no such key and uses 32. Each setter returns ENOMEM or EINVAL with gguf_writer_errmsg(). */
ward_status gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v);
ward_status gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v);
ward_status gguf_writer_set_f32(gguf_writer *w, const char *key, float v);
ward_status gguf_writer_set_bool(gguf_writer *w, const char *key, bool v);
ward_status gguf_writer_set_str(gguf_writer *w, const char *key, const char *v);
/* Any numeric scalar type (U8..I32, F32, BOOL, U64, I64, F64): *v holds one value of that type. */
ward_status gguf_writer_set_scalar(gguf_writer *w, const char *key, gguf_vtype type,
                                   const void *v);
/* Numeric array of n elements of type elem, packed little-endian at data (copied). */
ward_status gguf_writer_set_arr(gguf_writer *w, const char *key, gguf_vtype elem,
                                const void *data, uint64_t n);
ward_status gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *strs,
                                    uint64_t n);
/* Strings given with their lengths (they may hold any bytes). */
ward_status gguf_writer_set_arr_strn(gguf_writer *w, const char *key, const char *const *strs,
                                     const uint32_t *lens, uint64_t n);
/* Copy a key/value read by gguf_parse (of any type, arrays included), replacing an earlier
 * value of the same key in place. */
ward_status gguf_writer_copy_kv(gguf_writer *w, const gguf_kv *kv);
/* Declare a tensor (ne[0] innermost); data is written later, in declaration order. */
ward_status gguf_writer_add_tensor(gguf_writer *w, const char *name, ward_type type,
                                   uint32_t n_dims, const int64_t *ne);
/* Write the header, metadata and tensor table. After this, no more set/add calls. */
ward_status gguf_writer_write_header(gguf_writer *w);
/* Write the data of the next declared tensor (exactly its nbytes), with alignment padding. */
ward_status gguf_writer_write_tensor(gguf_writer *w, const void *data, size_t nbytes);
/* Memory writers only: the place (nbytes, 32-byte aligned in a 64-byte aligned buffer) where
 * the next tensor's data goes, for the caller to fill before the buffer is handed over; counts
 * as writing it. */
ward_status gguf_writer_next_tensor(gguf_writer *w, size_t nbytes, void **dst);
/* Memory writers: instead of gguf_writer_finish(). On success *data (*size bytes, the whole
 * GGUF file) belongs to the caller, who frees it with ward_free_aligned(); w is freed in every
 * case. */
ward_status gguf_writer_finish_memory(gguf_writer *w, void **data, size_t *size,
                                      ward_error *err);
/* Flush and close successfully; fails if some tensor's data was not written. Frees w in every
 * case; on failure the file is removed and err says why. */
ward_status gguf_writer_finish(gguf_writer *w, ward_error *err);
/* Message of the writer's last failure; valid until the next call on w. */
const char *gguf_writer_errmsg(const gguf_writer *w);

#endif
