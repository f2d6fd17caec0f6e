/* jsonc.c: JSON Schema to a byte-level matcher, and the tokens it accepts (see jsonc.h).
 *
 * A compiled schema is a table of nodes; the matcher is a stack of frames, one per value being
 * written (the root object, a property's value, an array's item, ...). Each frame's phase says
 * what its node expects next; whitespace is taken in the gaps JSON allows, at most JC_MAX_WS
 * characters each. A value that can only be seen to end when the next byte is not part of it
 * (a number, a literal that is a prefix of another) ends there, and that byte goes to its
 * parent. A union (a list of types) is resolved by the value's first byte, so its types must
 * start differently.
 */
#include "server/jsonc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum jn_kind {
    JN_OBJECT,      /* the schema's properties, in order */
    JN_FREE_OBJECT, /* any members: child[0] the key (a string), child[1] the values */
    JN_ARRAY,       /* child[0] the items; min, max items */
    JN_STRING,      /* min, max characters */
    JN_NUMBER,
    JN_INTEGER,
    JN_LITERALS, /* one of lit[]: enum, const, booleans, null */
    JN_UNION,    /* one of child[], chosen by the first byte */
    /* tool calls (jc_compile_tools): raw text, no whitespace between parts */
    JN_SEQ,      /* child[0..n) one after the other */
    JN_REPEAT,   /* child[0] min to max times */
    JN_CHOICE,   /* lit[k] then child[k] (-1: nothing), the lit[] prefix-free; bytes that
                  * start no lit[] go to child dflt (-1: refused) */
    JN_FREE,     /* any text: the constraint is off */
} jn_kind;

typedef struct jn {
    jn_kind kind;
    int n;       /* properties, literals or alternatives */
    int *child;  /* object: each property's value node; see jn_kind */
    char **lit;  /* object: each property's key as JSON ("\"name\""); literals: their JSON */
    size_t *lit_len;
    int min, max;
    int dflt;    /* JN_CHOICE */
} jn;

struct jc_schema {
    jn *nodes;
    int n_nodes, cap;
    int root;
};

/* ---------------------------------------------------------------------------------------------
 * Compiling
 * ------------------------------------------------------------------------------------------- */

typedef struct compiler {
    jc_schema *s;
    char *err;
    size_t cap;
} compiler;

static int fail(compiler *c, const char *fmt, const char *a, const char *b) {
    snprintf(c->err, c->cap, fmt, a, b);
    return -1;
}

static int new_node(compiler *c, jn_kind kind) {
    jc_schema *s = c->s;
    if (s->n_nodes == s->cap) {
        const int cap = s->cap ? 2 * s->cap : 16;
        jn *grown = realloc(s->nodes, sizeof *grown * (size_t)cap);
        if (!grown) return fail(c, "out of memory%s%s", "", "");
        s->nodes = grown, s->cap = cap;
    }
    memset(&s->nodes[s->n_nodes], 0, sizeof s->nodes[0]);
    s->nodes[s->n_nodes].kind = kind;
    return s->n_nodes++;
}

/* Space for n children and literals of node i. */
static bool node_arrays(compiler *c, int i, int n) {
    jn *x = &c->s->nodes[i];
    x->n = n;
    x->child = calloc((size_t)(n ? n : 1), sizeof *x->child);
    x->lit = calloc((size_t)(n ? n : 1), sizeof *x->lit);
    x->lit_len = calloc((size_t)(n ? n : 1), sizeof *x->lit_len);
    if (!x->child || !x->lit || !x->lit_len) return fail(c, "out of memory%s%s", "", "") == 0;
    return true;
}

static bool set_literal(compiler *c, int node, int k, const cJSON *value) {
    char *text = cJSON_PrintUnformatted(value);
    if (!text) return fail(c, "out of memory%s%s", "", "") == 0;
    c->s->nodes[node].lit[k] = text;
    c->s->nodes[node].lit_len[k] = strlen(text);
    return true;
}

static int literals_node(compiler *c, const cJSON *values, const char *path) {
    const int n = cJSON_GetArraySize(values);
    if (n < 1 || n > 64) return fail(c, "'enum' at %s must have 1 to 64 values%s", path, "");
    const int node = new_node(c, JN_LITERALS);
    if (node < 0 || !node_arrays(c, node, n)) return -1;
    int k = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, values) {
        if (cJSON_IsObject(v) || cJSON_IsArray(v))
            return fail(c, "'enum' or 'const' at %s: object and array values are not "
                        "supported%s", path, "");
        if (!set_literal(c, node, k++, v)) return -1;
    }
    return node;
}

static int any_node(compiler *c, int depth);

static int string_node(compiler *c, int min, int max) {
    const int node = new_node(c, JN_STRING);
    if (node >= 0) c->s->nodes[node].min = min, c->s->nodes[node].max = max;
    return node;
}

/* true, false, null */
static int scalar_literals(compiler *c, const char *const *texts, int n) {
    const int node = new_node(c, JN_LITERALS);
    if (node < 0 || !node_arrays(c, node, n)) return -1;
    for (int k = 0; k < n; k++) {
        jn *x = &c->s->nodes[node];
        if (!(x->lit[k] = strdup(texts[k]))) return fail(c, "out of memory%s%s", "", "");
        x->lit_len[k] = strlen(texts[k]);
    }
    return node;
}

/* Any JSON value nested at most depth containers deep (json_object mode's members). */
static int any_node(compiler *c, int depth) {
    static const char *const words[] = {"true", "false", "null"};
    const int n_alts = depth > 0 ? 5 : 3;
    const int u = new_node(c, JN_UNION);
    if (u < 0 || !node_arrays(c, u, n_alts)) return -1;
    int alts[5] = {string_node(c, 0, JC_DEFAULT_MAX_LEN), new_node(c, JN_NUMBER),
                   scalar_literals(c, words, 3), -1, -1};
    if (depth > 0) {
        const int obj = new_node(c, JN_FREE_OBJECT), arr = new_node(c, JN_ARRAY);
        if (obj < 0 || arr < 0 || !node_arrays(c, obj, 2) || !node_arrays(c, arr, 1)) return -1;
        const int key = string_node(c, 0, 64), val = any_node(c, depth - 1);
        const int item = any_node(c, depth - 1);
        if (key < 0 || val < 0 || item < 0) return -1;
        jn *o = &c->s->nodes[obj], *a = &c->s->nodes[arr];
        o->child[0] = key, o->child[1] = val, o->max = JC_DEFAULT_MAX_ITEMS;
        a->child[0] = item, a->max = JC_DEFAULT_MAX_ITEMS;
        alts[3] = obj, alts[4] = arr;
    }
    for (int k = 0; k < n_alts; k++) {
        if (alts[k] < 0) return -1;
        c->s->nodes[u].child[k] = alts[k];
    }
    return u;
}

static bool known_keyword(const char *k) {
    static const char *const known[] = {
        "type", "properties", "required", "additionalProperties", "items", "minItems",
        "maxItems", "enum", "const", "minLength", "maxLength", "title", "description",
        "$schema", "default", "examples"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(k, known[i]) == 0) return true;
    return false;
}

/* A non-negative integer keyword, or dflt when absent; -2 when malformed. */
static int count_keyword(const cJSON *sch, const char *name, int dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(sch, name);
    if (!v) return dflt;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 100000 ||
        v->valuedouble != (int)v->valuedouble)
        return -2;
    return (int)v->valuedouble;
}

static int compile(compiler *c, const cJSON *sch, const char *path);

static int object_node(compiler *c, const cJSON *sch, const char *path) {
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(sch, "properties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(sch, "required");
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(sch, "additionalProperties");
    if (props && !cJSON_IsObject(props))
        return fail(c, "'properties' at %s must be an object%s", path, "");
    if (extra && !cJSON_IsBool(extra))
        return fail(c, "'additionalProperties' at %s: only true or false is supported%s", path, "");
    if (req && !cJSON_IsArray(req)) return fail(c, "'required' at %s must be an array%s", path, "");
    const cJSON *r;
    cJSON_ArrayForEach(r, req) {
        if (!cJSON_IsString(r)) return fail(c, "'required' at %s must list strings%s", path, "");
        if (!cJSON_GetObjectItemCaseSensitive(props, r->valuestring))
            return fail(c, "required property '%s' at %s is not in 'properties'", r->valuestring, path);
    }
    const int node = new_node(c, JN_OBJECT);
    if (node < 0 || !node_arrays(c, node, cJSON_GetArraySize(props))) return -1;
    int k = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, props) {
        char sub[256];
        snprintf(sub, sizeof sub, "%s.%s", path, p->string);
        cJSON *key = cJSON_CreateString(p->string);
        const bool ok = key && set_literal(c, node, k, key);
        cJSON_Delete(key);
        if (!ok) return -1;
        const int child = compile(c, p, sub);
        if (child < 0) return -1;
        c->s->nodes[node].child[k++] = child;
    }
    return node;
}

static int array_node(compiler *c, const cJSON *sch, const char *path) {
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(sch, "items");
    const int min = count_keyword(sch, "minItems", 0);
    int max = count_keyword(sch, "maxItems", -1);
    if (min < 0 || max == -2) return fail(c, "'minItems'/'maxItems' at %s must be counts%s", path, "");
    if (max < 0) max = min > JC_DEFAULT_MAX_ITEMS ? min : JC_DEFAULT_MAX_ITEMS;
    if (max < min) return fail(c, "'maxItems' at %s is below 'minItems'%s", path, "");
    char sub[256];
    snprintf(sub, sizeof sub, "%s[]", path);
    const int item = items ? compile(c, items, sub) : any_node(c, 1);
    const int node = item < 0 ? -1 : new_node(c, JN_ARRAY);
    if (node < 0 || !node_arrays(c, node, 1)) return -1;
    jn *x = &c->s->nodes[node];
    x->child[0] = item, x->min = min, x->max = max;
    return node;
}

/* The node for one type name. */
static int type_node(compiler *c, const cJSON *sch, const char *type, const char *path) {
    static const char *const booleans[] = {"true", "false"}, *const null[] = {"null"};
    if (strcmp(type, "object") == 0) return object_node(c, sch, path);
    if (strcmp(type, "array") == 0) return array_node(c, sch, path);
    if (strcmp(type, "number") == 0) return new_node(c, JN_NUMBER);
    if (strcmp(type, "integer") == 0) return new_node(c, JN_INTEGER);
    if (strcmp(type, "boolean") == 0) return scalar_literals(c, booleans, 2);
    if (strcmp(type, "null") == 0) return scalar_literals(c, null, 1);
    if (strcmp(type, "string") == 0) {
        const int min = count_keyword(sch, "minLength", 0);
        int max = count_keyword(sch, "maxLength", -1);
        if (min < 0 || max == -2) return fail(c, "'minLength'/'maxLength' at %s must be counts%s", path, "");
        if (max < 0) max = min > JC_DEFAULT_MAX_LEN ? min : JC_DEFAULT_MAX_LEN;
        if (max < min) return fail(c, "'maxLength' at %s is below 'minLength'%s", path, "");
        return string_node(c, min, max);
    }
    return fail(c, "type '%s' at %s is not supported", type, path);
}

/* Which first bytes a type's values can have, as a small bit set, for unions. */
static unsigned first_class(const char *type) {
    if (strcmp(type, "object") == 0) return 1;
    if (strcmp(type, "array") == 0) return 2;
    if (strcmp(type, "string") == 0) return 4;
    if (strcmp(type, "number") == 0 || strcmp(type, "integer") == 0) return 8;
    if (strcmp(type, "boolean") == 0) return 16;
    if (strcmp(type, "null") == 0) return 32;
    return 0;
}

static int compile(compiler *c, const cJSON *sch, const char *path) {
    if (!cJSON_IsObject(sch)) return fail(c, "the schema at %s must be an object%s", path, "");
    const cJSON *kw;
    cJSON_ArrayForEach(kw, sch)
        if (!known_keyword(kw->string))
            return fail(c, "schema keyword '%s' (at %s) is not supported", kw->string, path);
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(sch, "enum");
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(sch, "const");
    if (en && !cJSON_IsArray(en)) return fail(c, "'enum' at %s must be an array%s", path, "");
    if (en) return literals_node(c, en, path);
    if (cn) {
        cJSON *one = cJSON_CreateArray();
        cJSON_AddItemToArray(one, cJSON_Duplicate(cn, true));
        const int node = literals_node(c, one, path);
        cJSON_Delete(one);
        return node;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(sch, "type");
    if (!type) return any_node(c, 1);
    if (cJSON_IsString(type)) return type_node(c, sch, type->valuestring, path);
    if (!cJSON_IsArray(type) || cJSON_GetArraySize(type) < 1 || cJSON_GetArraySize(type) > 6)
        return fail(c, "'type' at %s must be a type name or a list of them%s", path, "");
    unsigned seen = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, type) {
        const unsigned cls = cJSON_IsString(t) ? first_class(t->valuestring) : 0;
        if (!cls) return fail(c, "'type' at %s lists an unknown type%s", path, "");
        if (seen & cls)
            return fail(c, "'type' at %s lists two types whose values start alike (%s); "
                        "not supported", path, t->valuestring);
        seen |= cls;
    }
    const int u = new_node(c, JN_UNION);
    if (u < 0 || !node_arrays(c, u, cJSON_GetArraySize(type))) return -1;
    int k = 0;
    cJSON_ArrayForEach(t, type) {
        const int child = type_node(c, sch, t->valuestring, path);
        if (child < 0) return -1;
        c->s->nodes[u].child[k++] = child;
    }
    return u;
}

bool jc_compile(const cJSON *schema, jc_schema **out, char *err, size_t cap) {
    *out = NULL;
    jc_schema *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, cap, "out of memory");
        return false;
    }
    compiler c = {s, err, cap};
    if (schema) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(schema, "type");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "object") != 0) {
            snprintf(err, cap, "the schema's root must have \"type\": \"object\"");
            jc_free(s);
            return false;
        }
        s->root = compile(&c, schema, "$");
    } else {
        const int u = any_node(&c, JC_ANY_DEPTH);
        s->root = u < 0 ? -1 : s->nodes[u].child[3]; /* the object alternative */
    }
    if (s->root < 0) {
        jc_free(s);
        return false;
    }
    *out = s;
    return true;
}

static char *join3(const char *a, const char *b, const char *c) {
    const size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (s) memcpy(s, a, la), memcpy(s + la, b, lb), memcpy(s + la + lb, c, lc + 1);
    return s;
}

/* One call of each tool: lit[k] = before + open + name + name_close, then the arguments (and
 * close when it is not empty). */
static int calls_node(compiler *c, const ward_chat_tool_syntax *syn, const jc_tool *tools,
                      const int *args, int n, const char *before, int dflt) {
    const int node = new_node(c, JN_CHOICE);
    if (node < 0 || !node_arrays(c, node, n)) return -1;
    c->s->nodes[node].dflt = dflt;
    for (int k = 0; k < n; k++) {
        char *head = join3(before, syn->open, tools[k].name);
        char *lit = head ? join3(head, syn->name_close, "") : NULL;
        free(head);
        if (!lit) return fail(c, "out of memory%s%s", "", "");
        c->s->nodes[node].lit[k] = lit;
        c->s->nodes[node].lit_len[k] = strlen(lit);
        c->s->nodes[node].child[k] = args[k];
    }
    return node;
}

/* The nodes of each tool's arguments, then of its arguments and close. */
static bool tool_args(compiler *c, const ward_chat_tool_syntax *syn, const jc_tool *tools,
                      int n, int *out) {
    for (int k = 0; k < n; k++) {
        const cJSON *p = tools[k].parameters;
        char path[96];
        snprintf(path, sizeof path, "tool '%.64s' parameters", tools[k].name);
        if (p) {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "type");
            if (!cJSON_IsString(type) || strcmp(type->valuestring, "object") != 0)
                return fail(c, "%s must have \"type\": \"object\"%s", path, "") == 0;
        }
        int args = p ? compile(c, p, path) : any_node(c, JC_ANY_DEPTH);
        if (args >= 0 && !p) args = c->s->nodes[args].child[3]; /* the object alternative */
        if (args < 0) return false;
        out[k] = args;
        if (!syn->close[0]) continue;
        const int seq = new_node(c, JN_SEQ), close = new_node(c, JN_LITERALS);
        if (seq < 0 || close < 0 || !node_arrays(c, seq, 2) || !node_arrays(c, close, 1) ||
            !(c->s->nodes[close].lit[0] = strdup(syn->close)))
            return fail(c, "out of memory%s%s", "", "") == 0;
        c->s->nodes[close].lit_len[0] = strlen(syn->close);
        c->s->nodes[seq].child[0] = args, c->s->nodes[seq].child[1] = close;
        out[k] = seq;
    }
    return true;
}

bool jc_compile_tools(const ward_chat_tool_syntax *syn, const jc_tool *tools, int n_tools,
                      int max_calls, bool text_allowed, jc_schema **out, char *err, size_t cap) {
    *out = NULL;
    int args[64];
    jc_schema *s = calloc(1, sizeof *s);
    if (n_tools < 1 || n_tools > 64 || max_calls < 1 || !s) {
        snprintf(err, cap, !s ? "out of memory" : "1 to 64 tools are supported");
        free(s);
        return false;
    }
    compiler c = {s, err, cap};
    const int free_text = text_allowed ? new_node(&c, JN_FREE) : -1;
    int first = -1;
    if ((!text_allowed || free_text >= 0) && tool_args(&c, syn, tools, n_tools, args))
        first = calls_node(&c, syn, tools, args, n_tools, "", free_text);
    s->root = first;
    if (first >= 0 && max_calls > 1 && syn->sep) { /* first, then up to max_calls - 1 more */
        const int more = calls_node(&c, syn, tools, args, n_tools, syn->sep, -1);
        const int rep = new_node(&c, JN_REPEAT), seq = new_node(&c, JN_SEQ);
        if (more < 0 || rep < 0 || seq < 0 || !node_arrays(&c, rep, 1) ||
            !node_arrays(&c, seq, 2)) {
            s->root = -1;
        } else {
            s->nodes[rep].child[0] = more, s->nodes[rep].max = max_calls - 1;
            s->nodes[seq].child[0] = first, s->nodes[seq].child[1] = rep;
            s->root = seq;
        }
    }
    if (s->root < 0) {
        jc_free(s);
        return false;
    }
    *out = s;
    return true;
}

void jc_free(jc_schema *s) {
    if (!s) return;
    for (int i = 0; i < s->n_nodes; i++) {
        jn *x = &s->nodes[i];
        for (int k = 0; x->lit && k < x->n; k++) free(x->lit[k]);
        free(x->child), free(x->lit), free(x->lit_len);
    }
    free(s->nodes);
    free(s);
}

/* ---------------------------------------------------------------------------------------------
 * Matching
 * ------------------------------------------------------------------------------------------- */

static bool is_ws(uint8_t c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }
static bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static bool is_hex(uint8_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Whitespace in a gap: 1 taken, -1 refused (too much), 0 not whitespace (ws count reset). */
static int gap(jc_frame *f, uint8_t c) {
    if (!is_ws(c)) {
        f->ws = 0;
        return 0;
    }
    return f->ws < JC_MAX_WS ? (f->ws++, 1) : -1;
}

static bool can_start(const jc_schema *s, int node, uint8_t c) {
    const jn *x = &s->nodes[node];
    switch (x->kind) {
    case JN_OBJECT: case JN_FREE_OBJECT: return c == '{';
    case JN_ARRAY: return c == '[';
    case JN_STRING: return c == '"';
    case JN_NUMBER: case JN_INTEGER: return c == '-' || is_digit(c);
    case JN_LITERALS:
        for (int k = 0; k < x->n; k++)
            if ((uint8_t)x->lit[k][0] == c) return true;
        return false;
    case JN_UNION:
        for (int k = 0; k < x->n; k++)
            if (can_start(s, x->child[k], c)) return true;
        return false;
    case JN_SEQ: case JN_REPEAT: return can_start(s, x->child[0], c);
    case JN_CHOICE:
        for (int k = 0; k < x->n; k++)
            if ((uint8_t)x->lit[k][0] == c) return true;
        return x->dflt >= 0;
    case JN_FREE: return true;
    }
    return false;
}

/* A frame for node in f, ready for its first byte. */
static void frame_init(const jc_schema *s, jc_frame *f, int node) {
    const jn *x = &s->nodes[node];
    memset(f, 0, sizeof *f);
    f->node = (uint16_t)node;
    if (x->kind == JN_LITERALS || x->kind == JN_CHOICE)
        f->cand = x->n == 64 ? ~0ull : (1ull << x->n) - 1;
}

static bool feed(const jc_schema *s, jc_state *st, uint8_t c);

/* A value of node begins with c: a frame for it (a union's matching alternative), fed c. */
static bool start_value(const jc_schema *s, jc_state *st, int node, uint8_t c) {
    const jn *x = &s->nodes[node];
    if (x->kind == JN_UNION) {
        for (int k = 0; k < x->n; k++)
            if (can_start(s, x->child[k], c)) return start_value(s, st, x->child[k], c);
        return false;
    }
    if (st->depth == JC_MAX_DEPTH) return false;
    frame_init(s, &st->f[st->depth++], node);
    return feed(s, st, c);
}

/* The top value is complete: its frame goes, and its parent moves past it. */
static void value_done(const jc_schema *s, jc_state *st) {
    if (--st->depth == 0) {
        st->done = true;
        return;
    }
    jc_frame *p = &st->f[st->depth - 1];
    p->ws = 0;
    switch (s->nodes[p->node].kind) {
    case JN_OBJECT: p->phase = 5, p->count++; break;
    case JN_FREE_OBJECT:
        if (p->phase == 2) p->phase = 3;
        else p->phase = 5, p->count++;
        break;
    case JN_ARRAY: p->phase = 3, p->count++; break;
    case JN_SEQ: /* the next part starts with the next byte; the last one ends the sequence */
        p->phase = 0;
        if (++p->count == s->nodes[p->node].n) value_done(s, st);
        break;
    case JN_REPEAT:
        p->phase = 0;
        if (++p->count == s->nodes[p->node].max) value_done(s, st);
        break;
    default: break;
    }
}

static bool feed_object(const jc_schema *s, jc_state *st, jc_frame *f, const jn *x, uint8_t c) {
    if (f->phase == 0) return c == '{' ? (f->phase = 1, true) : false;
    if (f->phase == 2) { /* inside the key's literal */
        if ((uint8_t)x->lit[f->count][f->aux] != c) return false;
        if (++f->aux == x->lit_len[f->count]) f->phase = 3, f->ws = 0;
        return true;
    }
    const int g = gap(f, c);
    if (g) return g > 0;
    switch (f->phase) {
    case 1: /* a key, or the end of an empty object */
        if (x->n == 0 && c == '}') return value_done(s, st), true;
        if (c == '"' && f->count < x->n) return f->phase = 2, f->aux = 1, true;
        return false;
    case 3: return c == ':' ? (f->phase = 4, true) : false;
    case 4: return start_value(s, st, x->child[f->count], c);
    case 5:
        if (c == ',' && f->count < x->n) return f->phase = 1, true;
        if (c == '}' && f->count == x->n) return value_done(s, st), true;
        return false;
    }
    return false;
}

static bool feed_free_object(const jc_schema *s, jc_state *st, jc_frame *f, const jn *x,
                             uint8_t c) {
    if (f->phase == 0) return c == '{' ? (f->phase = 1, true) : false;
    const int g = gap(f, c);
    if (g) return g > 0;
    switch (f->phase) {
    case 1: /* the first key, or the end of an empty object */
        if (c == '}') return value_done(s, st), true;
        /* fall through */
    case 6: /* a key after a comma */
        if (c != '"') return false;
        f->phase = 2;
        return start_value(s, st, x->child[0], c);
    case 3: return c == ':' ? (f->phase = 4, true) : false;
    case 4: return start_value(s, st, x->child[1], c);
    case 5:
        if (c == ',' && f->count < x->max) return f->phase = 6, true;
        if (c == '}') return value_done(s, st), true;
        return false;
    }
    return false;
}

static bool feed_array(const jc_schema *s, jc_state *st, jc_frame *f, const jn *x, uint8_t c) {
    if (f->phase == 0) return c == '[' ? (f->phase = 1, true) : false;
    const int g = gap(f, c);
    if (g) return g > 0;
    switch (f->phase) {
    case 1: /* the first item, or the end of an empty array */
        if (c == ']' && x->min == 0) return value_done(s, st), true;
        if (x->max == 0) return false;
        f->phase = 2;
        return start_value(s, st, x->child[0], c);
    case 3:
        if (c == ',' && f->count < x->max) return f->phase = 4, true;
        if (c == ']' && f->count >= x->min) return value_done(s, st), true;
        return false;
    case 4: f->phase = 2; return start_value(s, st, x->child[0], c);
    }
    return false;
}

/* UTF-8: a lead byte's number of continuation bytes (0: not a lead byte) and the range code of
 * its first continuation byte (no overlong forms, no surrogates, nothing above U+10FFFF). */
static int utf8_lead(uint8_t c, uint64_t *range) {
    *range = c == 0xE0 ? 1 : c == 0xED ? 2 : c == 0xF0 ? 3 : c == 0xF4 ? 4 : 0;
    if (c >= 0xC2 && c <= 0xDF) return 1;
    if (c >= 0xE0 && c <= 0xEF) return 2;
    if (c >= 0xF0 && c <= 0xF4) return 3;
    return 0;
}

static bool utf8_cont_ok(uint8_t c, uint64_t range) {
    static const uint8_t lo[] = {0x80, 0xA0, 0x80, 0x90, 0x80}, hi[] = {0xBF, 0xBF, 0x9F, 0xBF, 0x8F};
    return c >= lo[range] && c <= hi[range];
}

/* A hex digit of \uXXXX (phase 4) or of the low surrogate that must follow a high one (phase 7,
 * after phases 5 and 6 took its "\\u"): only code points, never a lone surrogate, which strict
 * parsers refuse. Decided by the second digit, so no prefix is a dead end. */
static bool feed_escape(jc_frame *f, uint8_t c) {
    if (!is_hex(c)) return false;
    f->cand = f->cand * 16 + (uint64_t)(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
    const int digits = 5 - f->aux;
    if (digits == 1 && f->phase == 7 && f->cand != 0xD) return false;
    if (digits == 2 && (f->phase == 7) != (f->cand >= 0xDC && f->cand <= 0xDF)) return false;
    if (--f->aux > 0) return true;
    if (f->phase == 4 && f->cand >= 0xD800 && f->cand <= 0xDBFF) return f->phase = 5, true;
    return f->count++, f->phase = 1, true;
}

static bool feed_string(const jc_schema *s, jc_state *st, jc_frame *f, const jn *x, uint8_t c) {
    switch (f->phase) {
    case 0: return c == '"' ? (f->phase = 1, true) : false;
    case 1: {
        if (c == '"') return f->count >= x->min ? (value_done(s, st), true) : false;
        if (f->count >= x->max || c < 0x20) return false;
        if (c == '\\') return f->phase = 2, true;
        if (c < 0x80) return f->count++, true;
        const int n = utf8_lead(c, &f->cand);
        if (!n) return false;
        f->count++, f->aux = (uint16_t)n, f->phase = 3;
        return true;
    }
    case 2: /* after a backslash */
        if (c == 'u') return f->phase = 4, f->aux = 4, f->cand = 0, true;
        if (!strchr("\"\\/bfnrt", c) || c == 0) return false;
        return f->count++, f->phase = 1, true;
    case 3: /* UTF-8 continuation bytes */
        if (!utf8_cont_ok(c, f->cand)) return false;
        f->cand = 0;
        if (--f->aux == 0) f->phase = 1;
        return true;
    case 4: case 7: return feed_escape(f, c);
    case 5: return c == '\\' ? (f->phase = 6, true) : false;
    case 6: return c == 'u' ? (f->phase = 7, f->aux = 4, f->cand = 0, true) : false;
    }
    return false;
}

/* Number states: 0 start, 1 after '-', 2 integer digits, 3 a leading 0, 4 after '.', 5
 * fraction digits, 6 after 'e', 7 after the exponent's sign, 8 exponent digits. */
static bool number_complete(int state) { return state == 2 || state == 3 || state == 5 || state == 8; }

static bool feed_number(const jc_schema *s, jc_state *st, jc_frame *f, const jn *x, uint8_t c) {
    const bool frac = x->kind == JN_NUMBER;
    int next = -1;
    switch (f->aux) {
    case 0: next = c == '-' ? 1 : c == '0' ? 3 : is_digit(c) ? 2 : -1; break;
    case 1: next = c == '0' ? 3 : is_digit(c) ? 2 : -1; break;
    case 2: next = is_digit(c) && f->count < 15 ? 2 : -1; break;
    case 4: next = is_digit(c) ? 5 : -1; break;
    case 5: next = is_digit(c) && f->count < 15 ? 5 : -1; break;
    case 6: next = c == '+' || c == '-' ? 7 : is_digit(c) ? 8 : -1; break;
    case 7: next = is_digit(c) ? 8 : -1; break;
    case 8: next = is_digit(c) && f->count < 3 ? 8 : -1; break;
    }
    if (next < 0 && frac && (f->aux == 2 || f->aux == 3) && c == '.') next = 4;
    if (next < 0 && frac && (f->aux == 2 || f->aux == 3 || f->aux == 5) && (c == 'e' || c == 'E'))
        next = 6;
    if (next >= 0) {
        f->count = next == f->aux ? f->count + 1 : next == 2 || next == 5 || next == 8 ? 1 : 0;
        f->aux = (uint16_t)next;
        return true;
    }
    if (!number_complete(f->aux) || is_digit(c)) return false;
    value_done(s, st); /* c is not part of the number: its parent's */
    return feed(s, st, c);
}

/* The candidate literals of frame f (literals and choices) whose next byte is c. */
static uint64_t literals_taking(const jn *x, const jc_frame *f, uint8_t c) {
    uint64_t keep = 0;
    for (int k = 0; k < x->n; k++)
        if (f->cand >> k & 1 && f->count < x->lit_len[k] && (uint8_t)x->lit[k][f->count] == c)
            keep |= 1ull << k;
    return keep;
}

static bool feed_literals(const jc_schema *s, jc_state *st, jc_frame *f, const jn *x, uint8_t c) {
    const uint64_t keep = literals_taking(x, f, c);
    bool complete = false;
    for (int k = 0; k < x->n; k++)
        if (f->cand >> k & 1 && f->count == x->lit_len[k]) complete = true;
    if (keep) {
        f->cand = keep;
        f->count++;
        bool longer = false; /* can a candidate go on? if not, the value ends now */
        for (int k = 0; k < x->n; k++)
            if (keep >> k & 1 && x->lit_len[k] > f->count) longer = true;
        if (!longer) value_done(s, st);
        return true;
    }
    if (!complete) return false;
    value_done(s, st);
    return feed(s, st, c);
}

static bool feed_seq(const jc_schema *s, jc_state *st, jc_frame *f, const jn *x, uint8_t c) {
    f->phase = 1; /* the part at count is under way */
    return start_value(s, st, x->child[f->count], c);
}

static bool feed_repeat(const jc_schema *s, jc_state *st, jc_frame *f, const jn *x, uint8_t c) {
    if (f->count < x->max && can_start(s, x->child[0], c)) {
        f->phase = 1;
        return start_value(s, st, x->child[0], c);
    }
    if (f->count < x->min) return false;
    value_done(s, st); /* c is the parent's */
    return feed(s, st, c);
}

/* The frame becomes node's (the choice is made: what follows is that node's alone). */
static bool become(const jc_schema *s, jc_state *st, jc_frame *f, int node) {
    if (node < 0) return value_done(s, st), true;
    frame_init(s, f, node);
    return true;
}

static bool feed_choice(const jc_schema *s, jc_state *st, jc_frame *f, const jn *x, uint8_t c) {
    const uint64_t keep = literals_taking(x, f, c);
    if (!keep) return x->dflt >= 0 && become(s, st, f, x->dflt);
    f->cand = keep;
    f->count++;
    for (int k = 0; k < x->n; k++) /* prefix-free: a complete literal is the only candidate */
        if (keep >> k & 1 && x->lit_len[k] == f->count) return become(s, st, f, x->child[k]);
    return true;
}

static bool feed(const jc_schema *s, jc_state *st, uint8_t c) {
    if (st->done || st->depth == 0) return false;
    jc_frame *f = &st->f[st->depth - 1];
    const jn *x = &s->nodes[f->node];
    switch (x->kind) {
    case JN_OBJECT: return feed_object(s, st, f, x, c);
    case JN_FREE_OBJECT: return feed_free_object(s, st, f, x, c);
    case JN_ARRAY: return feed_array(s, st, f, x, c);
    case JN_STRING: return feed_string(s, st, f, x, c);
    case JN_NUMBER: case JN_INTEGER: return feed_number(s, st, f, x, c);
    case JN_LITERALS: return feed_literals(s, st, f, x, c);
    case JN_UNION: return false; /* resolved when a value starts, never a frame */
    case JN_SEQ: return feed_seq(s, st, f, x, c);
    case JN_REPEAT: return feed_repeat(s, st, f, x, c);
    case JN_CHOICE: return feed_choice(s, st, f, x, c);
    case JN_FREE: return true;
    }
    return false;
}

void jc_start(const jc_schema *s, jc_state *st) {
    st->done = false;
    st->depth = 1;
    frame_init(s, &st->f[0], s->root);
}

bool jc_is_free(const jc_schema *s, const jc_state *st) {
    return !st->done && st->depth > 0 && s->nodes[st->f[st->depth - 1].node].kind == JN_FREE;
}

/* Can node match nothing at all? */
static bool nullable(const jc_schema *s, int node) {
    const jn *x = &s->nodes[node];
    if (x->kind == JN_REPEAT) return x->min == 0;
    if (x->kind != JN_SEQ) return false;
    for (int k = 0; k < x->n; k++)
        if (!nullable(s, x->child[k])) return false;
    return true;
}

/* Can frame f end once the part under way in it (if any) ends? */
static bool frame_can_end(const jc_schema *s, const jc_frame *f) {
    const jn *x = &s->nodes[f->node];
    if (x->kind == JN_REPEAT) return f->count + f->phase >= x->min;
    if (x->kind != JN_SEQ) return false;
    for (int k = f->count + f->phase; k < x->n; k++)
        if (!nullable(s, x->child[k])) return false;
    return true;
}

bool jc_can_end(const jc_schema *s, const jc_state *st) {
    if (st->done) return true;
    if (st->depth == 0) return false;
    const jc_frame *top = &st->f[st->depth - 1];
    if (top->phase != 0) return false; /* a part is under way in the top frame: not ended */
    for (int i = st->depth - 1; i >= 0; i--)
        if (!frame_can_end(s, &st->f[i])) return false;
    return true;
}

bool jc_feed(const jc_schema *s, jc_state *st, uint8_t c) { return feed(s, st, c); }

bool jc_feed_all(const jc_schema *s, jc_state *st, const char *bytes, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!feed(s, st, (uint8_t)bytes[i])) return false;
    return true;
}

void jc_copy(jc_state *dst, const jc_state *src) {
    dst->depth = src->depth;
    dst->done = src->done;
    memcpy(dst->f, src->f, sizeof src->f[0] * (size_t)src->depth);
}

/* ---------------------------------------------------------------------------------------------
 * The vocabulary trie
 * ------------------------------------------------------------------------------------------- */

/* Node 0 is the root; a node's children are a linked list; tokens ending at a node are a list
 * through tok_next (several tokens can share their bytes). */
struct jc_vocab {
    int32_t n_nodes, cap, n_vocab;
    int32_t *first_child, *next_sibling, *tok_head;
    uint8_t *byte;
    int32_t *tok_next; /* (n_vocab) */
};

static int32_t trie_child(jc_vocab *v, int32_t node, uint8_t b) {
    for (int32_t c = v->first_child[node]; c >= 0; c = v->next_sibling[c])
        if (v->byte[c] == b) return c;
    if (v->n_nodes == v->cap) {
        const int32_t cap = v->cap * 2;
        int32_t *fc = realloc(v->first_child, sizeof *fc * (size_t)cap);
        if (fc) v->first_child = fc;
        int32_t *ns = realloc(v->next_sibling, sizeof *ns * (size_t)cap);
        if (ns) v->next_sibling = ns;
        int32_t *th = realloc(v->tok_head, sizeof *th * (size_t)cap);
        if (th) v->tok_head = th;
        uint8_t *by = realloc(v->byte, (size_t)cap);
        if (by) v->byte = by;
        if (!fc || !ns || !th || !by) return -1;
        v->cap = cap;
    }
    const int32_t c = v->n_nodes++;
    v->byte[c] = b;
    v->first_child[c] = -1;
    v->tok_head[c] = -1;
    v->next_sibling[c] = v->first_child[node];
    v->first_child[node] = c;
    return c;
}

jc_vocab *jc_vocab_build(const ward_model *m) {
    jc_vocab *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->n_vocab = ward_model_get_info(m)->n_vocab;
    v->cap = 4096;
    v->first_child = malloc(sizeof *v->first_child * (size_t)v->cap);
    v->next_sibling = malloc(sizeof *v->next_sibling * (size_t)v->cap);
    v->tok_head = malloc(sizeof *v->tok_head * (size_t)v->cap);
    v->byte = malloc((size_t)v->cap);
    v->tok_next = malloc(sizeof *v->tok_next * (size_t)v->n_vocab);
    if (!v->first_child || !v->next_sibling || !v->tok_head || !v->byte || !v->tok_next) goto oom;
    v->n_nodes = 1;
    v->first_child[0] = v->next_sibling[0] = v->tok_head[0] = -1;
    for (int32_t t = 0; t < v->n_vocab; t++) {
        char bytes[512];
        size_t n = 0;
        v->tok_next[t] = -1;
        if (ward_token_to_bytes(m, t, false, bytes, sizeof bytes, &n) || n == 0) continue;
        int32_t node = 0;
        for (size_t i = 0; i < n && node >= 0; i++) node = trie_child(v, node, (uint8_t)bytes[i]);
        if (node < 0) goto oom;
        v->tok_next[t] = v->tok_head[node];
        v->tok_head[node] = t;
    }
    return v;
oom:
    jc_vocab_free(v);
    return NULL;
}

void jc_vocab_free(jc_vocab *v) {
    if (!v) return;
    free(v->first_child), free(v->next_sibling), free(v->tok_head), free(v->byte);
    free(v->tok_next);
    free(v);
}

/* Depth-first over the trie from node with the state st has after its bytes: each child byte
 * the state takes marks the tokens ending there and goes deeper with its own copy. */
static int32_t allowed_below(const jc_vocab *v, const jc_schema *s, int32_t node,
                             const jc_state *st, bool *allowed) {
    int32_t n = 0;
    jc_state next;
    for (int32_t c = v->first_child[node]; c >= 0; c = v->next_sibling[c]) {
        jc_copy(&next, st);
        if (!feed(s, &next, v->byte[c])) continue;
        for (int32_t t = v->tok_head[c]; t >= 0; t = v->tok_next[t]) allowed[t] = true, n++;
        if (v->first_child[c] >= 0) n += allowed_below(v, s, c, &next, allowed);
    }
    return n;
}

int32_t jc_allowed(const jc_vocab *v, const jc_schema *s, const jc_state *st, bool *allowed) {
    memset(allowed, 0, (size_t)v->n_vocab);
    return allowed_below(v, s, 0, st, allowed);
}
