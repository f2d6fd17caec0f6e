/* toolcall.c: tool calls read out of a streaming reply (see toolcall.h).
 *
 * Modes: M_START holds the reply's first bytes while they could open a call (open + name +
 * name_close of some tool); M_TEXT passes text through; M_ARGS streams a call's arguments,
 * following the JSON's nesting (outside strings) to see where the object ends; M_BETWEEN holds
 * what follows (close, then perhaps sep + the next call's opening). Bytes are few per step, so
 * each is looked at once and held bytes are compared again as they grow.
 */
#include "server/toolcall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { M_START, M_TEXT, M_ARGS, M_BETWEEN };

void tc_init(tc_parser *p, const ward_chat_tool_syntax *syn, const char *const *names,
             int n_names, const char *id_prefix) {
    memset(p, 0, sizeof *p);
    p->syn = syn;
    p->names = names;
    p->n_names = n_names;
    snprintf(p->id_prefix, sizeof p->id_prefix, "%s", id_prefix);
}

void tc_free(tc_parser *p) {
    free(p->held);
    p->held = NULL;
    p->held_len = 0;
}

void tc_delta_free(tc_delta *d) {
    free(d->content);
    cJSON_Delete(d->calls);
    d->content = NULL;
    d->calls = NULL;
}

/* Does s[0..n) start parts[0] + parts[1] + ... (NULL-terminated)? 1: all of it, 0: a proper
 * prefix, -1: neither. */
static int starts_parts(const char *s, size_t n, const char *const *parts) {
    size_t at = 0;
    for (; *parts; parts++) {
        const size_t len = strlen(*parts);
        const size_t k = n - at < len ? n - at : len;
        if (memcmp(s + at, *parts, k) != 0) return -1;
        at += k;
        if (k < len) return 0;
    }
    return at == n ? 1 : -1;
}

/* Which call the held bytes open: the tool's index; -2 while undecided; -1 when none. Between
 * calls, the bytes are close, then perhaps sep and the next call's opening. */
static int held_call(const tc_parser *p, bool between) {
    const char *before = between ? p->syn->close : "", *sep = between ? p->syn->sep : "";
    if (between) {
        const char *close[] = {before, NULL};
        if (starts_parts(p->held, p->held_len, close) >= 0) return -2;
        if (!sep) return -1;
    }
    bool open = false;
    for (int k = 0; k < p->n_names; k++) {
        const char *parts[] = {before, sep, p->syn->open, p->names[k], p->syn->name_close, NULL};
        const int m = starts_parts(p->held, p->held_len, parts);
        if (m == 1) return k;
        open |= m == 0;
    }
    return open ? -2 : -1;
}

static bool append(char **s, const char *add, size_t n) {
    const size_t len = *s ? strlen(*s) : 0;
    char *grown = realloc(*s, len + n + 1);
    if (!grown) return false;
    memcpy(grown + len, add, n);
    grown[len + n] = '\0';
    *s = grown;
    return true;
}

static cJSON *entries(tc_delta *d) {
    if (!d->calls) d->calls = cJSON_CreateArray();
    return d->calls;
}

static bool start_call(tc_parser *p, int tool, tc_delta *d) {
    char id[80];
    snprintf(id, sizeof id, "%s%d", p->id_prefix, p->n_calls);
    cJSON *e = cJSON_CreateObject(), *fn;
    if (!e || !cJSON_AddItemToArray(entries(d), e)) return cJSON_Delete(e), false;
    cJSON_AddNumberToObject(e, "index", p->n_calls++);
    cJSON_AddStringToObject(e, "id", id);
    cJSON_AddStringToObject(e, "type", "function");
    fn = cJSON_AddObjectToObject(e, "function");
    return fn && cJSON_AddStringToObject(fn, "name", p->names[tool]) &&
           cJSON_AddStringToObject(fn, "arguments", "");
}

static bool add_arguments(tc_parser *p, const char *s, size_t n, tc_delta *d) {
    if (n == 0) return true;
    char *text = malloc(n + 1);
    cJSON *e = cJSON_CreateObject();
    if (!text || !e || !cJSON_AddItemToArray(entries(d), e)) {
        free(text);
        cJSON_Delete(e);
        return false;
    }
    memcpy(text, s, n);
    text[n] = '\0';
    cJSON_AddNumberToObject(e, "index", p->n_calls - 1);
    cJSON *fn = cJSON_AddObjectToObject(e, "function");
    const bool ok = fn && cJSON_AddStringToObject(fn, "arguments", text);
    free(text);
    return ok;
}

/* One byte of the arguments: true when it closes the object. */
static bool args_end(tc_parser *p, char c) {
    if (p->in_string) {
        if (p->escaped) p->escaped = false;
        else if (c == '\\') p->escaped = true;
        else if (c == '"') p->in_string = false;
        return false;
    }
    if (c == '"') p->in_string = true;
    else if (c == '{' || c == '[') p->depth++;
    else if (c == '}' || c == ']') return --p->depth == 0;
    return false;
}

/* A held byte: decide the call or text it starts, if it does now. */
static bool feed_held(tc_parser *p, char c, tc_delta *d) {
    if (!append(&p->held, &c, 1)) return false;
    p->held_len++;
    const int k = held_call(p, p->mode == M_BETWEEN);
    if (k == -2) return true;
    bool ok = true;
    if (k >= 0) {
        ok = start_call(p, k, d);
        p->mode = M_ARGS;
        p->depth = 0, p->in_string = p->escaped = false;
    } else { /* not a call: text (a reply the grammar set free, or bytes past the calls) */
        ok = append(&d->content, p->held, p->held_len);
        p->mode = M_TEXT;
    }
    tc_free(p);
    return ok;
}

bool tc_feed(tc_parser *p, const char *text, size_t n, tc_delta *d) {
    size_t i = 0;
    while (i < n) {
        if (p->mode == M_TEXT) return append(&d->content, text + i, n - i);
        if (p->mode == M_ARGS) {
            const size_t from = i;
            bool closed = false;
            while (i < n && !closed) closed = args_end(p, text[i++]);
            if (!add_arguments(p, text + from, i - from, d)) return false;
            if (closed) p->mode = M_BETWEEN;
            continue;
        }
        if (!feed_held(p, text[i++], d)) return false;
    }
    return true;
}

bool tc_finish(tc_parser *p, tc_delta *d) {
    bool ok = true;
    if (p->mode == M_START && p->held_len) ok = append(&d->content, p->held, p->held_len);
    tc_free(p); /* M_BETWEEN: the last call's close */
    p->mode = M_TEXT;
    return ok;
}

bool tc_merge(cJSON **calls, const cJSON *delta_calls) {
    if (!*calls && !(*calls = cJSON_CreateArray())) return false;
    const cJSON *e;
    cJSON_ArrayForEach(e, delta_calls) {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(e, "function");
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
        if (cJSON_GetObjectItemCaseSensitive(e, "id")) {
            cJSON *call = cJSON_Duplicate(e, true);
            if (!call || !cJSON_AddItemToArray(*calls, call)) return cJSON_Delete(call), false;
            cJSON_DeleteItemFromObjectCaseSensitive(call, "index");
            continue;
        }
        const int index = cJSON_GetObjectItemCaseSensitive(e, "index")->valueint;
        cJSON *to = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(*calls, index), "function"),
            "arguments");
        char *joined = NULL;
        if (!to || !append(&joined, to->valuestring, strlen(to->valuestring)) ||
            !append(&joined, args->valuestring, strlen(args->valuestring))) {
            free(joined);
            return false;
        }
        cJSON *s = cJSON_CreateString(joined);
        free(joined);
        if (!s) return false;
        cJSON_ReplaceItemInObjectCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(*calls, index), "function"),
            "arguments", s);
    }
    return true;
}
