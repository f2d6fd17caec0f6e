/* prompt.c: loading and filling the workbench's prompt templates (see prompt.h). */
#include "app/prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/store.h"
#include "server/jsonc.h"

static char *read_file(const char *path, char *err, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "%s: cannot be read", path);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, got;
    char chunk[4096];
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        char *grown = len + got < 1 << 20 ? realloc(buf, len + got + 1) : NULL;
        if (!grown) {
            snprintf(err, cap, "%s: too large or out of memory", path);
            free(buf);
            fclose(f);
            return NULL;
        }
        buf = grown;
        memcpy(buf + len, chunk, got);
        len += got;
    }
    fclose(f);
    if (!buf && (buf = malloc(1))) buf[0] = '\0';
    else if (buf) buf[len] = '\0';
    return buf;
}

static const char *const placeholders[] = {"{{patient}}", "{{department}}", "{{case}}", NULL};

/* Every "{{" starts a known placeholder. */
static bool check_placeholders(const char *text, const char *path, char *err, size_t cap) {
    for (const char *p = strstr(text, "{{"); p; p = strstr(p + 2, "{{")) {
        bool known = false;
        for (int i = 0; placeholders[i] && !known; i++)
            known = strncmp(p, placeholders[i], strlen(placeholders[i])) == 0;
        if (!known) {
            const char *end = strstr(p, "}}");
            snprintf(err, cap, "%s: unknown placeholder %.*s (known: {{patient}}, "
                     "{{department}}, {{case}})", path, end ? (int)(end - p + 2) : 12, p);
            return false;
        }
    }
    return true;
}

static char *dup_range(const char *a, const char *b) {
    while (b > a && (b[-1] == '\n' || b[-1] == '\r')) b--; /* the text before the next marker */
    char *s = malloc((size_t)(b - a) + 1);
    if (s) memcpy(s, a, (size_t)(b - a)), s[b - a] = '\0';
    return s;
}

/* Header lines, then the two messages. */
static bool parse(prompt_template *t, char *text, const char *path, const char *name, char *err,
                  size_t cap) {
    char *sys = strstr(text, "\n---- system\n"), *user = strstr(text, "\n---- user\n");
    if (!user || (sys && sys > user)) {
        snprintf(err, cap, "%s: needs a \"---- user\" line (and any \"---- system\" before it)",
                 path);
        return false;
    }
    const char *end = text + strlen(text);
    t->system = sys ? dup_range(sys + strlen("\n---- system\n"), user) : strdup("");
    t->user = dup_range(user + strlen("\n---- user\n"), end);
    if (!t->system || !t->user) {
        snprintf(err, cap, "out of memory");
        return false;
    }
    *(sys ? sys : user) = '\0'; /* the header alone, for strtok */
    char file_name[64] = "";
    int version = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || line[0] == '\0') continue;
        if (sscanf(line, "name: %63s", file_name) == 1) continue;
        if (sscanf(line, "version: %d", &version) == 1) continue;
        snprintf(err, cap, "%s: unexpected header line: %.60s", path, line);
        return false;
    }
    if (strcmp(file_name, name) != 0 || version < 1) {
        snprintf(err, cap, "%s: the header needs \"name: %s\" and \"version: N\" (N >= 1)", path,
                 name);
        return false;
    }
    snprintf(t->id, sizeof t->id, "%s@%d", name, version);
    return check_placeholders(t->system, path, err, cap) &&
           check_placeholders(t->user, path, err, cap);
}

bool prompt_load(const char *dir, const char *name, prompt_template **out, char *err,
                 size_t cap) {
    *out = NULL;
    char path[1024], schema_path[1024];
    snprintf(path, sizeof path, "%s/%s.txt", dir, name);
    snprintf(schema_path, sizeof schema_path, "%s/%s.schema.json", dir, name);
    prompt_template *t = calloc(1, sizeof *t);
    char *text = read_file(path, err, cap), *schema = text ? read_file(schema_path, err, cap) : NULL;
    bool ok = t && text && schema && parse(t, text, path, name, err, cap);
    if (ok && !(t->schema = cJSON_Parse(schema))) {
        snprintf(err, cap, "%s: not valid JSON", schema_path);
        ok = false;
    }
    jc_schema *probe = NULL;
    char why[256];
    if (ok && !jc_compile(t->schema, &probe, why, sizeof why)) {
        snprintf(err, cap, "%s: %s", schema_path, why);
        ok = false;
    }
    jc_free(probe);
    free(text), free(schema);
    if (t) t->with_diagnosis = strcmp(name, "differential") != 0;
    if (!ok) {
        if (!t) snprintf(err, cap, "out of memory");
        prompt_free(t);
        return false;
    }
    *out = t;
    return true;
}

void prompt_free(prompt_template *t) {
    if (!t) return;
    free(t->system), free(t->user);
    cJSON_Delete(t->schema);
    free(t);
}

/* ---------------------------------------------------------------------------------------------
 * Filling
 * ------------------------------------------------------------------------------------------- */

typedef struct strbuf {
    char *p;
    size_t len, cap;
    bool oom;
} strbuf;

static void put(strbuf *b, const char *s, size_t n) {
    if (b->oom || n == 0) return;
    if (b->len + n + 1 > b->cap) {
        const size_t cap = (b->len + n + 1) * 2;
        char *p = realloc(b->p, cap);
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

static void puts_(strbuf *b, const char *s) { put(b, s, strlen(s)); }

static const char *str_field(const cJSON *o, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* "男，58岁" from {"sex", "age"}; "未注明" when neither is given. */
static void put_patient(strbuf *b, const cJSON *patient) {
    const char *sex = str_field(patient, "sex");
    const cJSON *age = cJSON_GetObjectItemCaseSensitive(patient, "age");
    char years[32] = "";
    if (cJSON_IsNumber(age)) snprintf(years, sizeof years, "%g岁", age->valuedouble);
    else if (cJSON_IsString(age)) snprintf(years, sizeof years, "%.24s", age->valuestring);
    puts_(b, sex[0] || years[0] ? sex : "未注明");
    if (sex[0] && years[0]) puts_(b, "，");
    puts_(b, years);
}

/* Each non-empty section as "【label】text", one per line, then the free text. */
static void put_case(strbuf *b, const prompt_template *t, const cJSON *c) {
    const cJSON *sections = cJSON_GetObjectItemCaseSensitive(c, "sections");
    for (int i = 0; i < store_n_case_sections; i++) {
        const char *key = store_case_sections[i].key, *text = str_field(sections, key);
        if (!text[0] || (!t->with_diagnosis && strcmp(key, "diagnosis") == 0)) continue;
        if (b->len) puts_(b, "\n");
        puts_(b, "【"), puts_(b, store_case_sections[i].label), puts_(b, "】"), puts_(b, text);
    }
    const char *free_text = str_field(c, "free_text");
    if (free_text[0]) {
        if (b->len) puts_(b, "\n");
        puts_(b, "【病历原文】"), puts_(b, free_text);
    }
}

char *prompt_fill(const prompt_template *t, const char *text, const cJSON *case_record) {
    strbuf out = {0}, body = {0};
    put_case(&body, t, case_record);
    const char *dept = str_field(case_record, "department");
    for (const char *p = text; *p;) {
        const char *at = strstr(p, "{{");
        if (!at) {
            puts_(&out, p);
            break;
        }
        put(&out, p, (size_t)(at - p));
        if (!strncmp(at, "{{patient}}", 11))
            put_patient(&out, cJSON_GetObjectItemCaseSensitive(case_record, "patient"));
        else if (!strncmp(at, "{{department}}", 14)) puts_(&out, dept[0] ? dept : "未注明");
        else if (!strncmp(at, "{{case}}", 8)) puts_(&out, body.p ? body.p : "");
        else { /* not a placeholder (the loader refuses those in files): kept as text */
            put(&out, at, 2);
            p = at + 2;
            continue;
        }
        p = strstr(at, "}}") + 2;
    }
    free(body.p);
    if (out.oom || body.oom) {
        free(out.p);
        return NULL;
    }
    return out.p ? out.p : strdup("");
}
