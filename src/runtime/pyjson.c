/* pyjson.c: Python's json.dumps spacing for cJSON values (see pyjson.h).
 *
 * Strings escape what Python escapes with ensure_ascii=False: the quote, the backslash and the
 * control characters below 0x20 (\n, \r, \t, \b, \f by name, the rest as \u00XX). Numbers that
 * are whole and below 2^53 print as integers (JSON does not say whether 1 and 1.0 differ, and
 * requests write integers), others with the fewest digits that read back the same, as Python's
 * repr does.
 */
#include "runtime/pyjson.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

typedef struct outbuf {
    char *p;
    size_t len, cap;
    bool oom;
} outbuf;

static void put(outbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = ward_realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(outbuf *b, const char *s) { put(b, s, strlen(s)); }

static void put_string(outbuf *b, const char *s) {
    put(b, "\"", 1);
    for (; *s; s++) {
        const unsigned char c = (unsigned char)*s;
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n"
                        : c == '\r' ? "\\r" : c == '\t' ? "\\t" : c == '\b' ? "\\b"
                        : c == '\f' ? "\\f" : NULL;
        char hex[8];
        if (!esc && c < 0x20) snprintf(hex, sizeof hex, "\\u%04x", c), esc = hex;
        if (esc) puts_(b, esc);
        else put(b, s, 1);
    }
    put(b, "\"", 1);
}

static void put_number(outbuf *b, double v) {
    char s[40];
    if (!isfinite(v)) snprintf(s, sizeof s, "%s", isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0) snprintf(s, sizeof s, "%.0f", v);
    else
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(s, sizeof s, "%.*g", prec, v);
            if (strtod(s, NULL) == v) break;
        }
    puts_(b, s);
}

static void newline(outbuf *b, int indent, int depth) {
    put(b, "\n", 1);
    for (int i = 0; i < indent * depth; i++) put(b, " ", 1);
}

static void put_value(outbuf *b, const cJSON *v, int indent, int depth) {
    if (cJSON_IsString(v)) return put_string(b, v->valuestring ? v->valuestring : "");
    if (cJSON_IsNumber(v)) return put_number(b, v->valuedouble);
    if (cJSON_IsBool(v)) return puts_(b, cJSON_IsTrue(v) ? "true" : "false");
    if (!cJSON_IsArray(v) && !cJSON_IsObject(v)) return puts_(b, "null");
    const bool obj = cJSON_IsObject(v);
    puts_(b, obj ? "{" : "[");
    if (!v->child) return puts_(b, obj ? "}" : "]");
    for (const cJSON *c = v->child; c; c = c->next) {
        if (c != v->child) puts_(b, indent < 0 ? ", " : ",");
        if (indent >= 0) newline(b, indent, depth + 1);
        if (obj) {
            put_string(b, c->string ? c->string : "");
            puts_(b, ": ");
        }
        put_value(b, c, indent, depth + 1);
    }
    if (indent >= 0) newline(b, indent, depth);
    puts_(b, obj ? "}" : "]");
}

char *pyjson_dump(const cJSON *value, int indent) {
    outbuf b = {0};
    put_value(&b, value, indent, 0);
    if (b.oom) {
        ward_free(b.p);
        return NULL;
    }
    return b.p;
}
