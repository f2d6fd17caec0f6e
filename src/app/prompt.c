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

static const char *str_field(const cJSON *o, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* "男，58岁" from {"sex", "age"}; "未注明" when neither is given. */
static void put_patient(FILE *out, const cJSON *patient) {
    const char *sex = str_field(patient, "sex");
    const cJSON *age = cJSON_GetObjectItemCaseSensitive(patient, "age");
    char years[32] = "";
    if (cJSON_IsNumber(age)) snprintf(years, sizeof years, "%g岁", age->valuedouble);
    else if (cJSON_IsString(age)) snprintf(years, sizeof years, "%.24s", age->valuestring);
    fprintf(out, "%s%s%s", sex[0] || years[0] ? sex : "未注明", sex[0] && years[0] ? "，" : "",
            years);
}

/* Each non-empty section as "【label】text", one per line, then the free text. */
static void put_case(FILE *out, const prompt_template *t, const cJSON *c) {
    const cJSON *sections = cJSON_GetObjectItemCaseSensitive(c, "sections");
    const char *sep = "";
    for (int i = 0; i < store_n_case_sections; i++) {
        const char *key = store_case_sections[i].key, *text = str_field(sections, key);
        if (!text[0] || (!t->with_diagnosis && strcmp(key, "diagnosis") == 0)) continue;
        fprintf(out, "%s【%s】%s", sep, store_case_sections[i].label, text);
        sep = "\n";
    }
    const char *free_text = str_field(c, "free_text");
    if (free_text[0]) fprintf(out, "%s【病历原文】%s", sep, free_text);
}

/* The text with its placeholders filled, written through a memory stream. */
char *prompt_fill(const prompt_template *t, const char *text, const cJSON *case_record) {
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) return NULL;
    const char *dept = str_field(case_record, "department");
    for (const char *p = text; *p;) {
        const char *at = strstr(p, "{{");
        if (!at) {
            fputs(p, f);
            break;
        }
        fwrite(p, 1, (size_t)(at - p), f);
        if (!strncmp(at, "{{patient}}", 11))
            put_patient(f, cJSON_GetObjectItemCaseSensitive(case_record, "patient"));
        else if (!strncmp(at, "{{department}}", 14)) fputs(dept[0] ? dept : "未注明", f);
        else if (!strncmp(at, "{{case}}", 8)) put_case(f, t, case_record);
        else { /* not a placeholder (the loader refuses those in files): kept as text */
            fputs("{{", f);
            p = at + 2;
            continue;
        }
        p = strstr(at, "}}") + 2;
    }
    if (ferror(f)) {
        fclose(f);
        free(out);
        return NULL;
    }
    fclose(f);
    return out;
}
