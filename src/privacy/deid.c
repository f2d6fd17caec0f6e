/* deid.c: the de-identification API (deid.h): configuration, UTF-8 decoding, running the
 * detectors, resolving overlaps, rewriting the text (placeholders, shifted dates) and scoring
 * against labelled text.
 *
 * deid_find decodes the text once into code points (deid_text), runs the enabled detectors
 * (deid_detect.c), then keeps candidates longest first (ties: lower deid_type first, then the
 * earlier start), skipping any that overlaps one kept; what is kept is returned sorted by start.
 * deid_apply decodes again (byte offsets of each character) and copies the text, writing each
 * span's replacement; a date is re-parsed (deid_date_at) and its year, month and day fields are
 * rewritten in place with the shifted values, so separators and a time after it stay as written.
 * All allocation goes through ward_malloc (tests make it fail); nothing is global.
 *
 * Sections: errors and types, config, UTF-8, find, apply, scoring.
 */
#include "privacy/deid.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "privacy/deid_internal.h"
#include "base/error.h"

/* ---------------------------------------------------------------------------------------------
 * Errors and types
 * ------------------------------------------------------------------------------------------- */

__attribute__((format(printf, 5, 6))) static deid_status
deid_fail(deid_error *e, deid_status code, const char *file, int line, const char *fmt, ...) {
    if (!e) return code;
    e->status = code;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
#ifndef NDEBUG
    if (n >= 0 && (size_t)n < sizeof e->msg)
        snprintf(e->msg + n, sizeof e->msg - (size_t)n, " [%s:%d]", strrchr(file, '/') ? strrchr(file, '/') + 1 : file, line);
#else
    (void)n, (void)file, (void)line;
#endif
    return code;
}
#define DEID_FAIL(e, code, ...) deid_fail((e), (code), __FILE__, __LINE__, __VA_ARGS__)

static const char *const type_names[DEID_N_TYPES] = {
    [DEID_ID_NUMBER] = "id_number", [DEID_RECORD_NUMBER] = "record_number",
    [DEID_PHONE] = "phone",         [DEID_DATE] = "date",
    [DEID_AGE] = "age",             [DEID_ORG] = "org",
    [DEID_ADDRESS] = "address",     [DEID_NAME] = "name",
};

static const char *const default_placeholders[DEID_N_TYPES] = {
    [DEID_ID_NUMBER] = "[身份证号]", [DEID_RECORD_NUMBER] = "[病案号]", [DEID_PHONE] = "[电话]",
    [DEID_DATE] = "[日期]",         [DEID_AGE] = "[年龄]",            [DEID_ORG] = "[单位]",
    [DEID_ADDRESS] = "[地址]",      [DEID_NAME] = "[姓名]",
};

const char *deid_type_name(deid_type t) {
    return (int)t >= 0 && t < DEID_N_TYPES ? type_names[t] : NULL;
}

bool deid_type_from_name(const char *name, deid_type *out) {
    for (int k = 0; name && k < DEID_N_TYPES; k++)
        if (strcmp(name, type_names[k]) == 0) return *out = (deid_type)k, true;
    return false;
}

/* ---------------------------------------------------------------------------------------------
 * UTF-8
 * ------------------------------------------------------------------------------------------- */

/* Decodes one code point at s[i] (strictly: no overlong forms, surrogates or > U+10FFFF; no
 * NUL); returns its length or 0 if invalid. */
static int utf8_decode(const unsigned char *s, size_t len, size_t i, char32_t *out) {
    const unsigned c = s[i];
    int n;
    char32_t cp, min;
    if (c == 0) return 0;
    if (c < 0x80) return *out = c, 1;
    if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (len - i < (size_t)n) return 0;
    for (int k = 1; k < n; k++) {
        if ((s[i + k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    *out = cp;
    return n;
}

int64_t deid_utf8_chars(const char *text, size_t len) {
    int64_t n = 0;
    char32_t cp;
    for (size_t i = 0; i < len; n++) {
        const int l = utf8_decode((const unsigned char *)text, len, i, &cp);
        if (!l) return -1;
        i += (size_t)l;
    }
    return n;
}

/* Decodes text into *cp (n + 1 code points, 0 after the last) and, if off is given, the byte
 * offset of every character (n + 1 entries). */
static deid_status decode(const char *text, size_t len, char32_t **cp, size_t **off, int64_t *n,
                          deid_error *e) {
    *cp = NULL;
    if (off) *off = NULL;
    if (len > ((size_t)1 << 40)) return DEID_FAIL(e, DEID_INVALID, "text too long (%zu bytes)", len);
    *cp = ward_malloc((len + 1) * sizeof **cp);
    if (off) *off = ward_malloc((len + 1) * sizeof **off);
    if (!*cp || (off && !*off)) {
        ward_free(*cp), *cp = NULL;
        if (off) ward_free(*off), *off = NULL;
        return DEID_FAIL(e, DEID_NO_MEMORY, "out of memory (%zu bytes of text)", len);
    }
    int64_t k = 0;
    for (size_t i = 0; i < len; k++) {
        const int l = utf8_decode((const unsigned char *)text, len, i, &(*cp)[k]);
        if (!l) {
            ward_free(*cp), *cp = NULL;
            if (off) ward_free(*off), *off = NULL;
            return DEID_FAIL(e, DEID_INVALID, "invalid UTF-8 at byte %zu%s", i,
                             text[i] == '\0' ? " (a NUL byte)" : "");
        }
        if (off) (*off)[k] = i;
        i += (size_t)l;
    }
    (*cp)[k] = 0;
    if (off) (*off)[k] = len;
    *n = k;
    return DEID_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Config
 * ------------------------------------------------------------------------------------------- */

void deid_config_init(deid_config *c) {
    memset(c, 0, sizeof *c);
    for (int k = 0; k < DEID_N_TYPES; k++) {
        c->enabled[k] = true;
        snprintf(c->placeholder[k], sizeof c->placeholder[k], "%s", default_placeholders[k]);
    }
}

static void free_words(char **w, int n) {
    for (int k = 0; w && k < n; k++) ward_free(w[k]);
    ward_free(w);
}

void deid_config_free(deid_config *c) {
    if (!c) return;
    free_words(c->names, c->n_names);
    free_words(c->org_words, c->n_org_words);
    c->names = c->org_words = NULL;
    c->n_names = c->n_org_words = 0;
}

deid_status deid_config_set_types(deid_config *c, const char *list, deid_error *e) {
    bool on[DEID_N_TYPES] = {0};
    const char *p = list ? list : "";
    while (*p) {
        const char *end = strchr(p, ',');
        const size_t l = end ? (size_t)(end - p) : strlen(p);
        char name[32];
        deid_type t;
        if (l == 0 || l >= sizeof name)
            return DEID_FAIL(e, DEID_INVALID, "types: empty or overlong name in '%s'", list);
        memcpy(name, p, l), name[l] = '\0';
        if (!deid_type_from_name(name, &t))
            return DEID_FAIL(e, DEID_INVALID,
                             "unknown type '%s' (name, id_number, phone, address, record_number, "
                             "date, age, org)", name);
        on[t] = true;
        p += l + (end != NULL);
    }
    memcpy(c->enabled, on, sizeof on);
    return DEID_OK;
}

/* A JSON array of non-empty UTF-8 strings into a new word list. */
static deid_status word_list(const cJSON *arr, const char *key, char ***out, int *n_out,
                             deid_error *e) {
    if (!cJSON_IsArray(arr)) return DEID_FAIL(e, DEID_INVALID, "config: \"%s\" must be an array of strings", key);
    const int n = cJSON_GetArraySize(arr);
    if (n > 100000) return DEID_FAIL(e, DEID_INVALID, "config: \"%s\" has more than 100000 entries", key);
    char **w = ward_calloc((size_t)n + 1, sizeof *w);
    if (!w) return DEID_FAIL(e, DEID_NO_MEMORY, "out of memory");
    int k = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, arr) {
        const char *s = cJSON_IsString(item) ? item->valuestring : NULL;
        const size_t l = s ? strlen(s) : 0;
        if (!s || l == 0 || l > 256 || deid_utf8_chars(s, l) < 0) {
            free_words(w, k);
            return DEID_FAIL(e, DEID_INVALID,
                             "config: \"%s\"[%d] must be a non-empty UTF-8 string of at most 256 bytes",
                             key, k);
        }
        if (!(w[k] = ward_malloc(l + 1))) {
            free_words(w, k);
            return DEID_FAIL(e, DEID_NO_MEMORY, "out of memory");
        }
        memcpy(w[k++], s, l + 1);
    }
    *out = w, *n_out = k;
    return DEID_OK;
}

deid_status deid_config_from_json(deid_config *c, const cJSON *json, deid_error *e) {
    if (!cJSON_IsObject(json)) return DEID_FAIL(e, DEID_INVALID, "config: not a JSON object");
    const cJSON *item;
    cJSON_ArrayForEach(item, json) {
        const char *key = item->string ? item->string : "";
        deid_status st = DEID_OK;
        if (strcmp(key, "types") == 0) {
            if (!cJSON_IsArray(item))
                return DEID_FAIL(e, DEID_INVALID, "config: \"types\" must be an array of type names");
            bool on[DEID_N_TYPES] = {0};
            const cJSON *v;
            cJSON_ArrayForEach(v, item) {
                deid_type t;
                if (!cJSON_IsString(v) || !deid_type_from_name(v->valuestring, &t))
                    return DEID_FAIL(e, DEID_INVALID, "config: unknown type %s in \"types\"",
                                     cJSON_IsString(v) ? v->valuestring : "(not a string)");
                on[t] = true;
            }
            memcpy(c->enabled, on, sizeof on);
        } else if (strcmp(key, "placeholders") == 0) {
            if (!cJSON_IsObject(item))
                return DEID_FAIL(e, DEID_INVALID, "config: \"placeholders\" must be an object");
            const cJSON *v;
            cJSON_ArrayForEach(v, item) {
                deid_type t;
                if (!deid_type_from_name(v->string, &t))
                    return DEID_FAIL(e, DEID_INVALID, "config: unknown type \"%s\" in \"placeholders\"", v->string);
                const size_t l = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
                if (!cJSON_IsString(v) || l >= DEID_PLACEHOLDER_MAX || deid_utf8_chars(v->valuestring, l) < 0)
                    return DEID_FAIL(e, DEID_INVALID,
                                     "config: placeholder for %s must be a UTF-8 string under %d bytes",
                                     v->string, DEID_PLACEHOLDER_MAX);
                memcpy(c->placeholder[t], v->valuestring, l + 1);
            }
        } else if (strcmp(key, "shift_days") == 0) {
            const double d = cJSON_IsNumber(item) ? item->valuedouble : 0.5;
            if (!cJSON_IsNumber(item) || d != (double)(int32_t)d || d < -DEID_SHIFT_MAX || d > DEID_SHIFT_MAX)
                return DEID_FAIL(e, DEID_INVALID, "config: \"shift_days\" must be a whole number from %d to %d",
                                 -DEID_SHIFT_MAX, DEID_SHIFT_MAX);
            c->shift_days = (int32_t)d, c->shift_days_set = true;
        } else if (strcmp(key, "names") == 0) {
            char **w = NULL;
            int n = 0;
            if ((st = word_list(item, key, &w, &n, e)) != DEID_OK) return st;
            free_words(c->names, c->n_names);
            c->names = w, c->n_names = n;
        } else if (strcmp(key, "org_words") == 0) {
            char **w = NULL;
            int n = 0;
            if ((st = word_list(item, key, &w, &n, e)) != DEID_OK) return st;
            free_words(c->org_words, c->n_org_words);
            c->org_words = w, c->n_org_words = n;
        } else {
            return DEID_FAIL(e, DEID_INVALID,
                             "config: unknown key \"%.60s\" (types, placeholders, shift_days, names, org_words)", key);
        }
    }
    return DEID_OK;
}

deid_status deid_config_parse(deid_config *c, const char *text, size_t len, deid_error *e) {
    cJSON *json = cJSON_ParseWithLength(text, len);
    if (!json) return DEID_FAIL(e, DEID_INVALID, "config: not valid JSON");
    const deid_status st = deid_config_from_json(c, json, e);
    cJSON_Delete(json);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Find
 * ------------------------------------------------------------------------------------------- */

void deid_cand_add(deid_cands *c, int64_t start, int64_t end, deid_type type) {
    if (c->oom || end <= start) return;
    if (c->n == c->cap) {
        const size_t cap = c->cap ? 2 * c->cap : 64;
        deid_span *v = ward_realloc(c->v, cap * sizeof *v);
        if (!v) {
            c->oom = true;
            return;
        }
        c->v = v, c->cap = cap;
    }
    c->v[c->n++] = (deid_span){start, end, type};
}

static int by_preference(const void *a, const void *b) {
    const deid_span *x = a, *y = b;
    const int64_t lx = x->end - x->start, ly = y->end - y->start;
    if (lx != ly) return lx > ly ? -1 : 1;
    if (x->type != y->type) return x->type < y->type ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

static int by_start(const void *a, const void *b) {
    const deid_span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* The config's extra words decoded for one call: *store holds the strings, *list the pointers. */
static deid_status decode_words(char *const *w, int n, deid_words *list, char32_t ***ptrs,
                                deid_error *e) {
    *list = (deid_words){NULL, 0};
    *ptrs = NULL;
    if (n <= 0) return DEID_OK;
    char32_t **p = ward_calloc((size_t)n, sizeof *p);
    if (!p) return DEID_FAIL(e, DEID_NO_MEMORY, "out of memory");
    for (int k = 0; k < n; k++) {
        int64_t len;
        const deid_status st = decode(w[k], strlen(w[k]), &p[k], NULL, &len, e);
        if (st != DEID_OK) {
            for (int j = 0; j < k; j++) ward_free(p[j]);
            ward_free(p);
            return st;
        }
    }
    *ptrs = p;
    *list = (deid_words){(const char32_t *const *)p, (size_t)n};
    return DEID_OK;
}

static void free_decoded(char32_t **p, int n) {
    for (int k = 0; p && k < n; k++) ward_free(p[k]);
    ward_free(p);
}

typedef void (*detector)(const deid_config *, const deid_text *, deid_cands *);
static const detector detectors[DEID_N_TYPES] = {
    [DEID_ID_NUMBER] = deid_detect_id,   [DEID_RECORD_NUMBER] = deid_detect_record,
    [DEID_PHONE] = deid_detect_phone,    [DEID_DATE] = deid_detect_date,
    [DEID_AGE] = deid_detect_age,        [DEID_ORG] = deid_detect_org,
    [DEID_ADDRESS] = deid_detect_address, [DEID_NAME] = deid_detect_name,
};

deid_status deid_find(const deid_config *c, const char *text, size_t len, deid_span **spans,
                      size_t *n_spans, deid_error *e) {
    *spans = NULL, *n_spans = 0;
    if (!text && len) return DEID_FAIL(e, DEID_INVALID, "no text");
    char32_t *cp = NULL, **names = NULL, **orgs = NULL;
    int64_t n = 0;
    deid_status st = decode(text ? text : "", len, &cp, NULL, &n, e);
    if (st != DEID_OK) return st;
    deid_text t = {cp, n, {NULL, 0}, {NULL, 0}};
    deid_cands cands = {0};
    bool *taken = NULL;
    if ((st = decode_words(c->names, c->n_names, &t.extra_names, &names, e)) != DEID_OK ||
        (st = decode_words(c->org_words, c->n_org_words, &t.extra_orgs, &orgs, e)) != DEID_OK)
        goto done;
    for (int k = 0; k < DEID_N_TYPES; k++)
        if (c->enabled[k]) detectors[k](c, &t, &cands);
    if (cands.oom || (cands.n && !(taken = ward_calloc((size_t)n, sizeof *taken)))) {
        st = DEID_FAIL(e, DEID_NO_MEMORY, "out of memory");
        goto done;
    }
    /* longest first; a candidate overlapping one kept is dropped */
    if (cands.n) qsort(cands.v, cands.n, sizeof *cands.v, by_preference);
    size_t kept = 0;
    for (size_t k = 0; k < cands.n; k++) {
        const deid_span s = cands.v[k];
        bool free_run = s.start >= 0 && s.end <= n;
        for (int64_t q = s.start; free_run && q < s.end; q++) free_run = !taken[q];
        if (!free_run) continue;
        for (int64_t q = s.start; q < s.end; q++) taken[q] = true;
        cands.v[kept++] = s;
    }
    if (kept) qsort(cands.v, kept, sizeof *cands.v, by_start);
    *spans = kept ? cands.v : NULL, *n_spans = kept;
    if (kept) cands.v = NULL;
done:
    ward_free(cands.v);
    ward_free(taken);
    free_decoded(names, c->n_names);
    free_decoded(orgs, c->n_org_words);
    ward_free(cp);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Apply
 * ------------------------------------------------------------------------------------------- */

typedef struct outbuf {
    char *p;
    size_t n, cap;
    bool oom;
} outbuf;

static void put(outbuf *o, const char *s, size_t l) {
    if (o->oom) return;
    if (o->n + l + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->n + l + 1) cap *= 2;
        char *p = ward_realloc(o->p, cap);
        if (!p) {
            o->oom = true;
            return;
        }
        o->p = p, o->cap = cap;
    }
    memcpy(o->p + o->n, s, l);
    o->n += l;
    o->p[o->n] = '\0';
}

/* A number with at least width digits, ASCII or full-width. */
static void put_number(outbuf *o, int v, int width, bool wide) {
    char digits[16];
    const int l = snprintf(digits, sizeof digits, "%0*d", width, v);
    for (int k = 0; k < l; k++) {
        if (wide) {
            const char w[3] = {(char)0xEF, (char)0xBC, (char)(0x90 + (digits[k] - '0'))};
            put(o, w, 3);
        } else {
            put(o, digits + k, 1);
        }
    }
}

/* The date span [s, end) shifted: the fields rewritten, everything between them copied. */
static bool put_shifted(outbuf *o, const deid_text *t, const char *text, const size_t *off,
                        const deid_span *s, int shift, int *year_hint) {
    deid_date d;
    if (!deid_date_at(t, s->start, *year_hint, &d) || d.end > s->end) return false;
    const int y = d.has_year ? d.year.value : *year_hint;
    int y2, m2, d2;
    deid_civil_from_days(deid_days_from_civil(y, d.month.value, d.day.value) + shift, &y2, &m2, &d2);
    if (d.has_year) *year_hint = d.year.value;
    const deid_date_field *f[3] = {d.has_year ? &d.year : NULL, &d.month, &d.day};
    const int v[3] = {y2, m2, d2};
    /* zero padding: kept where the text shows it ("03"); for "12" the style is guessed from the
     * other field, and numeric dates (2023-12-15) count as padded */
    const bool numeric = d.has_year && t->cp[d.year.end] != U'年' && t->cp[d.year.end] != ' ';
    const bool zeros = (d.month.end - d.month.start == 2 && d.month.value < 10) ||
                       (d.day.end - d.day.start == 2 && d.day.value < 10);
    int64_t pos = s->start;
    for (int k = 0; k < 3; k++) {
        if (!f[k]) continue;
        put(o, text + off[pos], off[f[k]->start] - off[pos]);
        const bool two = f[k]->end - f[k]->start == 2;
        put_number(o, v[k], k == 0 ? 4 : two && (f[k]->value < 10 || zeros || numeric) ? 2 : 1,
                   f[k]->wide);
        pos = f[k]->end;
    }
    put(o, text + off[pos], off[s->end] - off[pos]);
    return true;
}

deid_status deid_apply(const deid_config *c, const char *text, size_t len, const deid_span *spans,
                       size_t n_spans, char **out, deid_error *e) {
    *out = NULL;
    if (!text && len) return DEID_FAIL(e, DEID_INVALID, "no text");
    if (!text) text = "";
    char32_t *cp = NULL;
    size_t *off = NULL;
    int64_t n = 0;
    deid_status st = decode(text, len, &cp, &off, &n, e);
    if (st != DEID_OK) return st;
    const deid_text t = {cp, n, {NULL, 0}, {NULL, 0}};
    outbuf o = {0};
    put(&o, "", 0);
    int64_t pos = 0;
    int year_hint = 2000;
    for (size_t k = 0; k < n_spans && st == DEID_OK; k++) {
        const deid_span *s = &spans[k];
        if (s->start < pos || s->end <= s->start || s->end > n || (int)s->type < 0 ||
            s->type >= DEID_N_TYPES) {
            st = DEID_FAIL(e, DEID_INVALID,
                           "span %zu [%lld, %lld) is empty, outside the text (%lld characters), "
                           "overlaps the one before or has an unknown type", k,
                           (long long)s->start, (long long)s->end, (long long)n);
            break;
        }
        put(&o, text + off[pos], off[s->start] - off[pos]);
        if (s->type != DEID_DATE || !put_shifted(&o, &t, text, off, s, c->shift_days, &year_hint))
            put(&o, c->placeholder[s->type], strlen(c->placeholder[s->type]));
        pos = s->end;
    }
    if (st == DEID_OK) put(&o, text + off[pos], off[n] - off[pos]);
    if (st == DEID_OK && o.oom) st = DEID_FAIL(e, DEID_NO_MEMORY, "out of memory");
    if (st == DEID_OK) *out = o.p;
    else ward_free(o.p);
    ward_free(cp);
    ward_free(off);
    return st;
}

deid_status deid_redact(const deid_config *c, const char *text, size_t len, char **out,
                        deid_error *e) {
    deid_span *spans = NULL;
    size_t n = 0;
    *out = NULL;
    deid_status st = deid_find(c, text, len, &spans, &n, e);
    if (st == DEID_OK) st = deid_apply(c, text, len, spans, n, out, e);
    ward_free(spans);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Scoring
 * ------------------------------------------------------------------------------------------- */

static bool overlaps(const deid_span *a, const deid_span *b) {
    return a->type == b->type && a->start < b->end && b->start < a->end;
}

static bool same(const deid_span *a, const deid_span *b) {
    return a->type == b->type && a->start == b->start && a->end == b->end;
}

void deid_score_add(deid_score *s, const deid_span *gold, size_t n_gold, const deid_span *found,
                    size_t n_found) {
    for (size_t g = 0; g < n_gold; g++) {
        const deid_type t = gold[g].type;
        bool hit = false, exact = false;
        for (size_t f = 0; f < n_found; f++)
            hit |= overlaps(&gold[g], &found[f]), exact |= same(&gold[g], &found[f]);
        s->gold[t]++, s->gold_hit[t] += hit, s->gold_exact[t] += exact;
    }
    for (size_t f = 0; f < n_found; f++) {
        const deid_type t = found[f].type;
        bool hit = false, exact = false;
        for (size_t g = 0; g < n_gold; g++)
            hit |= overlaps(&gold[g], &found[f]), exact |= same(&gold[g], &found[f]);
        s->found[t]++, s->found_hit[t] += hit, s->found_exact[t] += exact;
    }
}

deid_status deid_gold_from_json(const cJSON *json, const char **text, deid_span **gold,
                                size_t *n_gold, deid_error *e) {
    *text = NULL, *gold = NULL, *n_gold = 0;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(json, "text");
    const cJSON *spans = cJSON_GetObjectItemCaseSensitive(json, "spans");
    if (!cJSON_IsString(t)) return DEID_FAIL(e, DEID_INVALID, "no \"text\" string");
    if (spans && !cJSON_IsArray(spans)) return DEID_FAIL(e, DEID_INVALID, "\"spans\" is not an array");
    const int64_t n_chars = deid_utf8_chars(t->valuestring, strlen(t->valuestring));
    if (n_chars < 0) return DEID_FAIL(e, DEID_INVALID, "\"text\" is not valid UTF-8");
    const int n = cJSON_GetArraySize(spans);
    deid_span *g = n ? ward_calloc((size_t)n, sizeof *g) : NULL;
    if (n && !g) return DEID_FAIL(e, DEID_NO_MEMORY, "out of memory");
    int k = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, spans) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(s, "start");
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(s, "end");
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(s, "type");
        deid_type type;
        if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b) || a->valuedouble != (double)(int64_t)a->valuedouble ||
            b->valuedouble != (double)(int64_t)b->valuedouble || a->valuedouble < 0 ||
            b->valuedouble <= a->valuedouble || b->valuedouble > (double)n_chars) {
            ward_free(g);
            return DEID_FAIL(e, DEID_INVALID,
                             "span %d: \"start\" and \"end\" must be whole numbers with 0 <= start < "
                             "end <= %lld (the text's characters)", k, (long long)n_chars);
        }
        if (!cJSON_IsString(ty) || !deid_type_from_name(ty->valuestring, &type)) {
            ward_free(g);
            return DEID_FAIL(e, DEID_INVALID, "span %d: unknown \"type\" %s", k,
                             cJSON_IsString(ty) ? ty->valuestring : "(missing)");
        }
        g[k++] = (deid_span){(int64_t)a->valuedouble, (int64_t)b->valuedouble, type};
    }
    *text = t->valuestring, *gold = g, *n_gold = (size_t)k;
    return DEID_OK;
}
