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
/* Unmaps; safe on a zeroed or already-closed map. */
void ward_filemap_close(ward_filemap *map);

#endif
