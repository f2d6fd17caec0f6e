/* filemap.c: mmap of a whole file, read-only (see filemap.h). */
#include "base/filemap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"

ward_status ward_filemap_open(const char *path, ward_filemap *map, ward_error *err) {
    map->data = NULL;
    map->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return WARD_FAIL(err, WARD_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return WARD_FAIL(err, WARD_EIO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return WARD_FAIL(err, WARD_EIO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return WARD_OK;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) return WARD_FAIL(err, WARD_EIO, "%s: mmap: %s", path, strerror(e));
    map->data = p;
    map->size = (size_t)st.st_size;
    return WARD_OK;
}

void ward_pages_release(const void *base, size_t size, const void *p, size_t n) {
    const uintptr_t b = (uintptr_t)base, a = (uintptr_t)p;
    if (!base || a < b || n > size || a - b > size - n) return;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t lo = (a + page - 1) / page * page, hi = (a + n) / page * page;
    if (lo < hi) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void ward_filemap_release(const ward_filemap *map, const void *p, size_t n) {
    ward_pages_release(map->data, map->size, p, n);
}

void ward_filemap_close(ward_filemap *map) {
    if (map->data) munmap((void *)map->data, map->size);
    map->data = NULL;
    map->size = 0;
}
