/* safetensors.h: reading HuggingFace .safetensors checkpoints, single files and sharded ones.
 *
 * Layout of one file (little-endian):
 *   offset 0      u64 N: byte length of the header (ward caps it at ST_MAX_HEADER)
 *          8      N bytes of UTF-8 JSON, one object, possibly padded with trailing spaces:
 *                   "NAME": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [b, e]}
 *                   "__metadata__": {"key": "string value", ...}        (optional)
 *          8 + N  data section: tensor NAME is bytes [b, e) of it, row-major, d0 outermost
 *                 (an HF (rows, cols) weight is GGUF ne = {cols, rows})
 * Sharded checkpoint: model.safetensors.index.json = {"metadata": {...}, "weight_map":
 * {"NAME": "FILE", ...}}, each FILE a plain file name in the index's directory.
 *
 * Validation (once, at open): header length against the file and the cap; UTF-8; JSON syntax
 * (with the byte offset); every member's JSON type; dtype a known name; shape dims integers
 * >= 0 with an overflow-checked element and byte count; data_offsets inside the data section
 * with e - b == the byte count; tensors tile the data section exactly (no overlap, no gap, no
 * trailing bytes, as the reference implementation requires); names unique across all files;
 * shard names without path separators or "..", every shard present and agreeing with the
 * weight_map. Afterwards nothing re-checks. Errors name the file and the tensor.
 *
 * Ownership: an st_reader owns its mappings and parsed headers; every name, st_tensor and data
 * pointer it hands out is borrowed from it and lives until st_close(). st_parse() reads a blob
 * the caller keeps alive instead (the fuzz target's entry point). Data pointers are only as
 * aligned as the file makes them (the reference writer pads the header to a multiple of 8).
 */
#ifndef WARD_FORMATS_SAFETENSORS_H
#define WARD_FORMATS_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/filemap.h"
#include "ward.h"

#define ST_MAX_HEADER ((uint64_t)100 << 20) /* bytes of JSON header accepted */
#define ST_MAX_DIMS 8
#define ST_INDEX_NAME "model.safetensors.index.json"
#define ST_SINGLE_NAME "model.safetensors"

/* The dtypes of the safetensors format with whole-byte elements. Sub-byte ones (F4, F6_*) are
 * refused as unsupported. */
typedef enum st_dtype {
    ST_BOOL,
    ST_U8,
    ST_I8,
    ST_F8_E5M2,
    ST_F8_E4M3,
    ST_F8_E8M0,
    ST_I16,
    ST_U16,
    ST_F16,
    ST_BF16,
    ST_I32,
    ST_U32,
    ST_F32,
    ST_I64,
    ST_U64,
    ST_F64,
    ST_DTYPE_COUNT
} st_dtype;

/* "F32", "BF16", ...; "unknown" out of range. Static storage. */
const char *st_dtype_name(st_dtype t);
/* Bytes of one element; 0 out of range. */
size_t st_dtype_size(st_dtype t);
/* True for F32, F16 and BF16: the dtypes ward computes with or converts from. The others are
 * read and validated but a loader must refuse them. */
bool st_dtype_supported(st_dtype t);
/* The ward_type with the same element encoding (F32, F16, BF16, F64, I8..I64); false if none. */
bool st_dtype_ward_type(st_dtype t, ward_type *out);

typedef struct st_tensor {
    const char *name; /* NUL-terminated */
    st_dtype dtype;
    uint32_t n_dims;              /* 0 for a scalar */
    int64_t shape[ST_MAX_DIMS];   /* (n_dims) outermost first, as in the file; unused are 1 */
    uint64_t n_elems;
    uint64_t nbytes;              /* n_elems * st_dtype_size(dtype) */
    uint64_t offset;              /* from the start of the file's data section */
    const void *data;             /* (nbytes) into the file */
    uint32_t file;                /* index into st_reader.files */
} st_tensor;

struct cJSON;

typedef struct st_file {
    char *path;                /* as opened, or the `what` given to st_parse (owned) */
    const char *name;          /* the last path component, inside path */
    ward_filemap map;          /* owned when opened from a path, else zero */
    const uint8_t *data;       /* (data_size) the data section */
    uint64_t data_size;
    struct cJSON *header;      /* parsed header; tensor names and metadata point into it */
    const struct cJSON *metadata; /* its "__metadata__" object, or NULL */
    uint64_t n_tensors;
    st_tensor *tensors;        /* (n_tensors) in header order */
} st_file;

typedef struct st_reader {
    uint32_t n_files;
    st_file *files;            /* (n_files) one per shard, sorted by file name */
    uint64_t n_tensors;        /* over all files */
    const st_tensor **by_name; /* (n_tensors) sorted by name (bytes), for st_find */
} st_reader;

/* Parse a whole .safetensors blob of size bytes (borrowed; must outlive *out). what names the
 * blob in messages. */
ward_status st_parse(const void *data, size_t size, const char *what, st_reader **out,
                     ward_error *err);
/* Open path: a .safetensors file, a model.safetensors.index.json (or any *.json: an index), or
 * a directory holding model.safetensors or else model.safetensors.index.json. On failure *out
 * is NULL and err says why, starting with the file concerned. */
ward_status st_open(const char *path, st_reader **out, ward_error *err);
/* Unmaps and frees everything; NULL and half-built readers are fine. */
void st_close(st_reader *r);

/* Tensor by exact name, or NULL. O(log n). */
const st_tensor *st_find(const st_reader *r, const char *name);
/* The i-th tensor in name order (i < r->n_tensors). */
const st_tensor *st_tensor_at(const st_reader *r, uint64_t i);
/* A "__metadata__" string of file i (e.g. "format" -> "pt"), or NULL when absent. */
const char *st_metadata(const st_reader *r, uint32_t file, const char *key);

#endif
