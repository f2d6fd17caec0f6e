/* filemap.h: read-only memory mapping of a whole file.
 *
 * Models are mapped, never copied: tensors point into the mapping, and the kernel's page cache
 * is shared by every process that maps the same file. An empty file maps to data == NULL,
 * size == 0 (mmap refuses zero-length mappings) so that parsers see "truncated", not EIO.
 */
#ifndef WARD_BASE_FILEMAP_H
#define WARD_BASE_FILEMAP_H

#include <stddef.h>

#include "ward.h"

typedef struct ward_filemap {
    const void *data; /* (size) bytes, read-only */
    size_t size;
} ward_filemap;

ward_status ward_filemap_open(const char *path, ward_filemap *map, ward_error *err);
/* Drops the pages lying wholly inside [p, p + n), a range of the mapping, from this process's
 * resident memory (for data copied elsewhere); touching them again reads the file again. Does
 * nothing for a range outside the mapping. */
void ward_filemap_release(const ward_filemap *map, const void *p, size_t n);
/* The same for any buffer [base, base + size) whose range [p, p + n) will not be read again:
 * a private file mapping reads the file again if touched, anonymous memory reads zeros. */
void ward_pages_release(const void *base, size_t size, const void *p, size_t n);
/* Unmaps; safe on a zeroed or already-closed map. */
void ward_filemap_close(ward_filemap *map);

#endif
