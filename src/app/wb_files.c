/* wb_files.c: the web app's files, from the directory the build put them in (web/dist): "/" is
 * index.html, anything else a file under that directory. Paths are checked before any file is
 * opened: only letters, digits, '-', '_', '.' and '/', no "..", no hidden files; the types are
 * those the app ships. The files hold no data (that comes through /api/), so they are served
 * without authentication. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/wb_internal.h"

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},  {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},    {".svg", "image/svg+xml"},
    {".png", "image/png"},                  {".woff2", "font/woff2"},
    {".json", "application/json; charset=utf-8"},
};

static const char *type_of(const char *path) {
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0) return types[i].type;
    return NULL;
}

static bool safe_path(const char *p) {
    if (strstr(p, "..") || strstr(p, "/.") || strlen(p) > 200) return false;
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.' || *p == '/'))
            return false;
    return true;
}

bool wb_file(workbench *wb, const char *url, srv_reply *out) {
    if (!wb->web_dir[0]) return false;
    const char *rel = strcmp(url, "/") == 0 ? "/index.html" : url;
    const char *type = type_of(rel);
    if (!type || !safe_path(rel)) return false;
    char path[1400];
    snprintf(path, sizeof path, "%s%s", wb->web_dir, rel);
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    char *body = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && size < 64L << 20 &&
        fseek(f, 0, SEEK_SET) == 0 && (body = malloc((size_t)size + 1)) &&
        fread(body, 1, (size_t)size, f) != (size_t)size) {
        free(body);
        body = NULL;
    }
    fclose(f);
    if (!body) return wb_error(out, 500, "cannot read %s", rel);
    *out = (srv_reply){.status = 200, .content_type = type, .body = body, .len = (size_t)size,
                       .cache = strcmp(rel, "/index.html") == 0 ? "no-cache" : "max-age=3600"};
    return true;
}
