/* api.c: OpenAI request parsing and response JSON (see api.h). */
#include "server/api.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool api_fail(api_error *e, int status, const char *type, const char *code, const char *param,
              const char *fmt, ...) {
    e->status = status;
    e->type = type;
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return false;
}

static bool bad_request(api_error *e, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool bad_request(api_error *e, const char *param, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return api_fail(e, 400, "invalid_request_error", NULL, param, "%s", msg);
}

/* ---------------------------------------------------------------------------------------------
 * Typed fields: absent and null mean "not given"; anything else must have the right type
 * ------------------------------------------------------------------------------------------- */

static const cJSON *field(const cJSON *obj, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static bool get_number(const cJSON *obj, const char *name, double lo, double hi, double *out,
                       api_error *e) {
    const cJSON *v = field(obj, name);
    if (!v) return true;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return bad_request(e, name, "'%s' must be a number", name);
    if (v->valuedouble < lo || v->valuedouble > hi)
        return bad_request(e, name, "'%s' must be between %g and %g (got %g)", name, lo, hi,
                           v->valuedouble);
    *out = v->valuedouble;
    return true;
}

static bool get_int(const cJSON *obj, const char *name, double lo, double hi, double *out,
                    bool *given, api_error *e) {
    const cJSON *v = field(obj, name);
    if (!v) return true;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
        return bad_request(e, name, "'%s' must be an integer", name);
    if (given) *given = true;
    return get_number(obj, name, lo, hi, out, e);
}

static bool get_bool(const cJSON *obj, const char *name, bool *out, api_error *e) {
    const cJSON *v = field(obj, name);
    if (!v) return true;
    if (!cJSON_IsBool(v)) return bad_request(e, name, "'%s' must be a boolean", name);
    *out = cJSON_IsTrue(v);
    return true;
}

/* ---------------------------------------------------------------------------------------------
 * Request parts
 * ------------------------------------------------------------------------------------------- */

static void *own(api_request *r, void *s) {
    void **grown = realloc(r->owned, sizeof *grown * (r->n_owned + 1));
    if (!grown) {
        free(s);
        return NULL;
    }
    r->owned = grown;
    return r->owned[r->n_owned++] = s;
}

/* A message's content: a string, or an array of text parts joined. */
static bool message_content(api_request *r, const cJSON *c, const char *param, const char **out,
                            api_error *e) {
    if (!c) {
        *out = "";
        return true;
    }
    if (cJSON_IsString(c)) {
        *out = c->valuestring;
        return true;
    }
    if (!cJSON_IsArray(c))
        return bad_request(e, param, "'%s' must be a string or an array of content parts", param);
    size_t total = 1;
    const cJSON *part;
    cJSON_ArrayForEach(part, c) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsObject(part) || !cJSON_IsString(type))
            return bad_request(e, param, "each part of '%s' must be an object with a 'type'", param);
        if (strcmp(type->valuestring, "text") != 0)
            return bad_request(e, param, "content parts of type '%s' are not supported (only "
                               "'text')", type->valuestring);
        if (!cJSON_IsString(text))
            return bad_request(e, param, "a text part of '%s' must have a string 'text'", param);
        total += strlen(text->valuestring);
    }
    char *joined = malloc(total);
    if (!joined || !own(r, joined))
        return api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    joined[0] = '\0';
    cJSON_ArrayForEach(part, c) strcat(joined, cJSON_GetObjectItemCaseSensitive(part, "text")->valuestring);
    *out = joined;
    return true;
}

/* An assistant message's tool_calls: [{"type": "function", "function": {"name", "arguments"}}]
 * with the arguments a JSON object in a string, as OpenAI sends them back. */
static bool message_calls(api_request *r, const cJSON *m, size_t i, ward_chat_message *out,
                          api_error *e) {
    const cJSON *calls = field(m, "tool_calls");
    char param[64];
    snprintf(param, sizeof param, "messages[%zu].tool_calls", i);
    if (!calls) return true;
    if (strcmp(out->role, "assistant") != 0)
        return bad_request(e, param, "only assistant messages have 'tool_calls'");
    if (!cJSON_IsArray(calls) || cJSON_GetArraySize(calls) > API_MAX_TOOLS)
        return bad_request(e, param, "'%s' must be an array of at most %d calls", param,
                           API_MAX_TOOLS);
    const int n = cJSON_GetArraySize(calls);
    ward_chat_tool_call *tc = calloc((size_t)(n ? n : 1), sizeof *tc);
    if (!tc || !own(r, tc)) return api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    const cJSON *c;
    int k = 0;
    cJSON_ArrayForEach(c, calls) {
        const cJSON *fn = field(c, "function");
        const cJSON *name = field(fn, "name"), *args = field(fn, "arguments");
        cJSON *parsed = cJSON_IsString(args) ? cJSON_Parse(args->valuestring) : NULL;
        const bool object = cJSON_IsObject(parsed);
        cJSON_Delete(parsed);
        if (!cJSON_IsObject(c) || !cJSON_IsString(name) || !object)
            return bad_request(e, param, "each of '%s' needs a 'function' with a string 'name' "
                               "and 'arguments' that are a JSON object as a string", param);
        tc[k++] = (ward_chat_tool_call){name->valuestring, args->valuestring};
    }
    out->tool_calls = tc;
    out->n_tool_calls = (size_t)n;
    return true;
}

static bool parse_messages(api_request *r, api_error *e) {
    const cJSON *msgs = field(r->root, "messages");
    if (!msgs) return bad_request(e, "messages", "'messages' is required");
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
        return bad_request(e, "messages", "'messages' must be a non-empty array");
    r->n_messages = (size_t)cJSON_GetArraySize(msgs);
    if (!(r->messages = calloc(r->n_messages, sizeof *r->messages)))
        return api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    size_t i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        char param[64];
        snprintf(param, sizeof param, "messages[%zu]", i);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsObject(m) || !cJSON_IsString(role))
            return bad_request(e, param, "'%s' must be an object with a string 'role'", param);
        const char *rs = role->valuestring;
        if (strcmp(rs, "developer") == 0) rs = "system"; /* OpenAI's newer name for it */
        if (strcmp(rs, "system") != 0 && strcmp(rs, "user") != 0 &&
            strcmp(rs, "assistant") != 0 && strcmp(rs, "tool") != 0)
            return bad_request(e, param, "role '%s' is not supported (system, user, assistant, "
                               "tool)", role->valuestring);
        r->messages[i].role = rs;
        if (!message_calls(r, m, i, &r->messages[i], e)) return false;
        snprintf(param, sizeof param, "messages[%zu].content", i);
        if (!message_content(r, field(m, "content"), param, &r->messages[i].content, e))
            return false;
        i++;
    }
    return true;
}

static bool parse_prompt(api_request *r, api_error *e) {
    const cJSON *p = field(r->root, "prompt");
    if (!p) return bad_request(e, "prompt", "'prompt' is required");
    if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 1 && cJSON_IsString(cJSON_GetArrayItem(p, 0)))
        p = cJSON_GetArrayItem(p, 0);
    if (!cJSON_IsString(p))
        return bad_request(e, "prompt", "'prompt' must be a string (or an array of one string)");
    r->prompt = p->valuestring;
    return true;
}

static bool parse_stop(api_request *r, api_error *e) {
    const cJSON *s = field(r->root, "stop");
    if (!s) return true;
    if (cJSON_IsString(s)) {
        if (!*s->valuestring) return bad_request(e, "stop", "'stop' must not be empty");
        r->gen.stop[r->gen.n_stop++] = s->valuestring;
        return true;
    }
    if (!cJSON_IsArray(s) || cJSON_GetArraySize(s) > SRV_MAX_STOP)
        return bad_request(e, "stop", "'stop' must be a string or an array of up to %d strings",
                           SRV_MAX_STOP);
    const cJSON *v;
    cJSON_ArrayForEach(v, s) {
        if (!cJSON_IsString(v) || !*v->valuestring)
            return bad_request(e, "stop", "each 'stop' entry must be a non-empty string");
        r->gen.stop[r->gen.n_stop++] = v->valuestring;
    }
    return true;
}

/* n, and log-probabilities: chat's logprobs (bool) + top_logprobs, or completions' logprobs
 * (the number of alternatives, legacy form). */
static bool parse_choices(api_request *r, api_error *e) {
    double n = 1, top = 0;
    bool lp = false, top_given = false;
    if (!get_int(r->root, "n", 1, 16, &n, NULL, e)) return false;
    r->n = (int)n;
    r->gen.top_logprobs = -1;
    if (r->chat) {
        if (!get_bool(r->root, "logprobs", &lp, e) ||
            !get_int(r->root, "top_logprobs", 0, SRV_MAX_TOP_LOGPROBS, &top, &top_given, e))
            return false;
        if (top_given && !lp)
            return bad_request(e, "top_logprobs", "'top_logprobs' needs 'logprobs': true");
    } else {
        if (!get_int(r->root, "logprobs", 0, 5, &top, &lp, e)) return false;
    }
    if (lp) r->gen.top_logprobs = (int)top;
    return true;
}

/* OpenAI's function names: letters, digits, '_' and '-', at most 64; such a name can be
 * written in every template's call syntax as it is. */
static bool tool_name_ok(const char *s) {
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
              (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '-'))
            return false;
    return n >= 1 && n <= 64;
}

int api_tool_names(const api_request *r, const char **names) {
    int n = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, r->tools)
        names[n++] = field(field(t, "function"), "name")->valuestring;
    return n;
}

/* Each tool {"type": "function", "function": {"name", "description", "parameters",
 * "strict"}} with a distinct name. */
static bool check_tools(const cJSON *tools, api_error *e) {
    if (!cJSON_IsArray(tools) || cJSON_GetArraySize(tools) > API_MAX_TOOLS)
        return bad_request(e, "tools", "'tools' must be an array of at most %d tools",
                           API_MAX_TOOLS);
    int k = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, tools) {
        const cJSON *type = field(t, "type"), *fn = field(t, "function");
        const cJSON *name = field(fn, "name"), *desc = field(fn, "description");
        const cJSON *params = field(fn, "parameters"), *strict = field(fn, "strict");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "function") != 0 ||
            !cJSON_IsObject(fn))
            return bad_request(e, "tools", "tools[%d] must be {\"type\": \"function\", "
                               "\"function\": {...}}", k);
        if (!cJSON_IsString(name) || !tool_name_ok(name->valuestring))
            return bad_request(e, "tools", "tools[%d].function.name must be 1 to 64 letters, "
                               "digits, '_' or '-'", k);
        if ((desc && !cJSON_IsString(desc)) || (params && !cJSON_IsObject(params)) ||
            (strict && !cJSON_IsBool(strict)))
            return bad_request(e, "tools", "tools[%d].function: 'description' must be a string, "
                               "'parameters' an object, 'strict' a boolean", k);
        const cJSON *u;
        cJSON_ArrayForEach(u, tools) {
            if (u == t) break;
            if (strcmp(field(field(u, "function"), "name")->valuestring, name->valuestring) == 0)
                return bad_request(e, "tools", "two tools are named '%s'", name->valuestring);
        }
        k++;
    }
    return true;
}

/* tools, tool_choice ("none", "auto", "required" or {"type": "function", "function":
 * {"name"}}) and parallel_tool_calls. */
static bool parse_tools(api_request *r, api_error *e) {
    const cJSON *tools = field(r->root, "tools"), *choice = field(r->root, "tool_choice");
    r->parallel_tool_calls = true;
    if (!get_bool(r->root, "parallel_tool_calls", &r->parallel_tool_calls, e)) return false;
    if (tools && !check_tools(tools, e)) return false;
    if (tools && cJSON_GetArraySize(tools) == 0) tools = NULL;
    if (choice && !tools)
        return bad_request(e, "tool_choice", "'tool_choice' needs 'tools'");
    if (cJSON_IsString(choice)) {
        if (strcmp(choice->valuestring, "none") == 0) return true; /* tools left out */
        if (strcmp(choice->valuestring, "required") == 0) r->tool_required = true;
        else if (strcmp(choice->valuestring, "auto") != 0)
            return bad_request(e, "tool_choice", "'tool_choice' must be \"none\", \"auto\", "
                               "\"required\" or {\"type\": \"function\", \"function\": "
                               "{\"name\": ...}}");
    } else if (choice) {
        const cJSON *name = field(field(choice, "function"), "name");
        if (!cJSON_IsObject(choice) || !cJSON_IsString(name))
            return bad_request(e, "tool_choice", "'tool_choice' must be a string or "
                               "{\"type\": \"function\", \"function\": {\"name\": ...}}");
        const cJSON *t;
        cJSON_ArrayForEach(t, tools)
            if (strcmp(field(field(t, "function"), "name")->valuestring, name->valuestring) == 0)
                r->forced_tool = name->valuestring;
        if (!r->forced_tool)
            return bad_request(e, "tool_choice", "'tool_choice' names '%s', which is not among "
                               "the tools", name->valuestring);
        r->tool_required = true;
    }
    if (!tools) return true;
    if (r->format != API_TEXT)
        return bad_request(e, "response_format", "'response_format' cannot be combined with "
                           "'tools' (the reply follows the tool-call grammar)");
    r->tools = tools;
    if (!(r->tools_json = cJSON_PrintUnformatted(tools)) || !own(r, r->tools_json))
        return api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    return true;
}

/* response_format: text, json_object, or json_schema {name, schema, strict}; the schema is
 * compiled once here so a bad one is a 400 before anything is queued. */
static bool parse_format(api_request *r, api_error *e) {
    const cJSON *rf = field(r->root, "response_format");
    if (!rf) return true;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(rf, "type");
    if (!cJSON_IsObject(rf) || !cJSON_IsString(type))
        return bad_request(e, "response_format", "'response_format' must be an object with a "
                           "string 'type'");
    if (strcmp(type->valuestring, "text") == 0) return true;
    if (strcmp(type->valuestring, "json_object") == 0) {
        r->format = API_JSON_OBJECT;
    } else if (strcmp(type->valuestring, "json_schema") == 0) {
        const cJSON *js = cJSON_GetObjectItemCaseSensitive(rf, "json_schema");
        const cJSON *strict = cJSON_GetObjectItemCaseSensitive(js, "strict");
        if (!cJSON_IsObject(js))
            return bad_request(e, "response_format", "'response_format.json_schema' must be an "
                               "object with a 'schema'");
        if (strict && !cJSON_IsBool(strict) && !cJSON_IsNull(strict))
            return bad_request(e, "response_format", "'json_schema.strict' must be a boolean");
        r->schema = cJSON_GetObjectItemCaseSensitive(js, "schema");
        if (!cJSON_IsObject(r->schema))
            return bad_request(e, "response_format", "'json_schema.schema' must be an object");
        r->format = API_JSON_SCHEMA;
    } else {
        return bad_request(e, "response_format", "response_format '%s' is not supported (text, "
                           "json_object, json_schema)", type->valuestring);
    }
    jc_schema *probe;
    if (!api_compile_format(r, NULL, &probe, e)) return false;
    jc_free(probe);
    return true;
}

/* The tools' call grammar (the forced one alone when tool_choice names it). */
static bool compile_tools(const api_request *r, const ward_chat_tool_syntax *syn, jc_schema **out,
                          api_error *e) {
    jc_tool tools[API_MAX_TOOLS];
    int n = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, r->tools) {
        const cJSON *fn = field(t, "function");
        const char *name = field(fn, "name")->valuestring;
        if (!r->forced_tool || strcmp(name, r->forced_tool) == 0)
            tools[n++] = (jc_tool){name, field(fn, "parameters")};
    }
    char msg[300];
    if (!jc_compile_tools(syn, tools, n, r->parallel_tool_calls ? API_MAX_TOOL_CALLS : 1,
                          !r->tool_required, out, msg, sizeof msg))
        return bad_request(e, "tools", "%s", msg);
    return true;
}

bool api_compile_format(const api_request *r, const ward_chat_tool_syntax *syn, jc_schema **out,
                        api_error *e) {
    *out = NULL;
    if (r->tools && syn) return compile_tools(r, syn, out, e);
    if (r->format == API_TEXT) return true;
    char msg[300];
    if (!jc_compile(r->format == API_JSON_SCHEMA ? r->schema : NULL, out, msg, sizeof msg))
        return bad_request(e, "response_format", "json_schema: %s", msg);
    return true;
}

static bool parse_sampling(api_request *r, api_error *e) {
    ward_sampler_params *sp = &r->gen.sampling;
    *sp = ward_sampler_default_params();
    /* OpenAI's defaults: temperature 1, top_p 1, nothing else */
    double temp = 1.0, top_p = 1.0, min_p = 0.0, top_k = 0, pres = 0, freq = 0, rep = 1.0,
           seed = 0, max_tokens = 0;
    if (!get_number(r->root, "temperature", 0, 2, &temp, e) ||
        !get_number(r->root, "top_p", 0, 1, &top_p, e) ||
        !get_number(r->root, "min_p", 0, 1, &min_p, e) ||
        !get_int(r->root, "top_k", 0, 1 << 20, &top_k, NULL, e) ||
        !get_number(r->root, "presence_penalty", -2, 2, &pres, e) ||
        !get_number(r->root, "frequency_penalty", -2, 2, &freq, e) ||
        !get_number(r->root, "repetition_penalty", 0.01, 10, &rep, e) ||
        !get_int(r->root, "seed", -9.2e18, 9.2e18, &seed, &r->seeded, e) ||
        !get_int(r->root, "max_tokens", 1, 1 << 24, &max_tokens, NULL, e) ||
        !get_int(r->root, "max_completion_tokens", 1, 1 << 24, &max_tokens, NULL, e))
        return false;
    sp->temperature = (float)temp;
    sp->top_p = (float)top_p;
    sp->min_p = (float)min_p;
    sp->top_k = (int32_t)top_k;
    sp->presence_penalty = (float)pres;
    sp->frequency_penalty = (float)freq;
    sp->repeat_penalty = (float)rep;
    sp->seed = (uint64_t)(int64_t)seed;
    r->gen.max_tokens = (int32_t)max_tokens;
    return true;
}

/* The model's defaults for the fields the request leaves out. */
static bool apply_defaults(api_request *r, const cJSON *defaults, api_error *e) {
    const cJSON *d;
    cJSON_ArrayForEach(d, defaults) {
        if (field(r->root, d->string)) continue;
        cJSON *copy = cJSON_Duplicate(d, true);
        if (!copy) return api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        cJSON_DeleteItemFromObjectCaseSensitive(r->root, d->string); /* an explicit null */
        cJSON_AddItemToObject(r->root, d->string, copy);
    }
    return true;
}

bool api_parse_request(const char *body, size_t len, bool chat, api_defaults_fn defaults,
                       void *ctx, api_request *r, api_error *e) {
    memset(r, 0, sizeof *r);
    r->chat = chat;
    r->root = cJSON_ParseWithLength(body, len);
    if (!r->root) return bad_request(e, NULL, "the body is not valid JSON");
    if (!cJSON_IsObject(r->root)) return bad_request(e, NULL, "the body must be a JSON object");
    const cJSON *model = field(r->root, "model");
    if (!model) return bad_request(e, "model", "'model' is required");
    if (!cJSON_IsString(model)) return bad_request(e, "model", "'model' must be a string");
    r->model = model->valuestring;
    if (defaults && !apply_defaults(r, defaults(ctx, r->model), e)) return false;
    const cJSON *so = field(r->root, "stream_options");
    if (so && !cJSON_IsObject(so))
        return bad_request(e, "stream_options", "'stream_options' must be an object");
    if (!get_bool(r->root, "stream", &r->stream, e) ||
        (so && !get_bool(so, "include_usage", &r->include_usage, e)))
        return false;
    const cJSON *user = field(r->root, "user");
    if (user && !cJSON_IsString(user)) return bad_request(e, "user", "'user' must be a string");
    return parse_format(r, e) && (!chat || parse_tools(r, e)) && parse_choices(r, e) &&
           parse_sampling(r, e) && parse_stop(r, e) &&
           (chat ? parse_messages(r, e) : parse_prompt(r, e));
}

void api_request_free(api_request *r) {
    cJSON_Delete(r->root);
    free(r->messages);
    for (size_t i = 0; i < r->n_owned; i++) free(r->owned[i]);
    free(r->owned);
    memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------------------------------------
 * Responses
 * ------------------------------------------------------------------------------------------- */

/* Prints and frees a JSON tree (NULL if anything on the way failed). */
static char *print(cJSON *o) {
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

char *api_error_json(const api_error *e) {
    cJSON *o = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(err, "message", e->message);
    cJSON_AddStringToObject(err, "type", e->type ? e->type : "server_error");
    if (e->param[0]) cJSON_AddStringToObject(err, "param", e->param);
    else cJSON_AddNullToObject(err, "param");
    if (e->code) cJSON_AddStringToObject(err, "code", e->code);
    else cJSON_AddNullToObject(err, "code");
    return print(o);
}

const char *api_finish_reason(srv_finish f) {
    switch (f) {
    case SRV_RUNNING: return NULL;
    case SRV_FINISH_LENGTH: return "length";
    default: return "stop";
    }
}

static cJSON *envelope(const api_request *r, const char *id, long created, const char *model,
                       bool chunk) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "object", r->chat ? (chunk ? "chat.completion.chunk"
                                                          : "chat.completion")
                                                 : "text_completion");
    cJSON_AddNumberToObject(o, "created", (double)created);
    cJSON_AddStringToObject(o, "model", model);
    cJSON_AddStringToObject(o, "system_fingerprint", "ward");
    return o;
}

static void add_usage(cJSON *o, const api_usage *u) {
    cJSON *usage = cJSON_AddObjectToObject(o, "usage");
    cJSON_AddNumberToObject(usage, "prompt_tokens", u->prompt_tokens);
    cJSON_AddNumberToObject(usage, "completion_tokens", u->completion_tokens);
    cJSON_AddNumberToObject(usage, "total_tokens", u->prompt_tokens + u->completion_tokens);
    cJSON *details = cJSON_AddObjectToObject(usage, "prompt_tokens_details");
    cJSON_AddNumberToObject(details, "cached_tokens", u->cached_tokens);
}

static void add_finish(cJSON *choice, const char *finish) {
    if (finish) cJSON_AddStringToObject(choice, "finish_reason", finish);
    else cJSON_AddNullToObject(choice, "finish_reason");
}

static void add_logprobs(cJSON *choice, const cJSON *logprobs) {
    if (logprobs) cJSON_AddItemToObject(choice, "logprobs", cJSON_Duplicate(logprobs, true));
    else cJSON_AddNullToObject(choice, "logprobs");
}

char *api_response_json(const api_request *r, const char *id, long created, const char *model,
                        const api_choice *choices, int n_choices, const api_usage *u) {
    cJSON *o = envelope(r, id, created, model, false);
    cJSON *arr = cJSON_AddArrayToObject(o, "choices");
    for (int i = 0; i < n_choices; i++) {
        cJSON *choice = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, choice);
        cJSON_AddNumberToObject(choice, "index", i);
        if (r->chat) {
            cJSON *msg = cJSON_AddObjectToObject(choice, "message");
            cJSON_AddStringToObject(msg, "role", "assistant");
            if (choices[i].tool_calls && !choices[i].text[0])
                cJSON_AddNullToObject(msg, "content");
            else cJSON_AddStringToObject(msg, "content", choices[i].text);
            cJSON_AddNullToObject(msg, "refusal");
            if (choices[i].tool_calls)
                cJSON_AddItemToObject(msg, "tool_calls",
                                      cJSON_Duplicate(choices[i].tool_calls, true));
        } else {
            cJSON_AddStringToObject(choice, "text", choices[i].text);
        }
        add_logprobs(choice, choices[i].logprobs);
        add_finish(choice, choices[i].finish);
    }
    add_usage(o, u);
    return print(o);
}

char *api_chunk_json(const api_request *r, const char *id, long created, const char *model,
                     int index, bool role_only, const api_choice *c) {
    cJSON *o = envelope(r, id, created, model, true);
    cJSON *choice = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "choices"), choice);
    cJSON_AddNumberToObject(choice, "index", index);
    if (r->chat) {
        cJSON *delta = cJSON_AddObjectToObject(choice, "delta");
        if (role_only) {
            cJSON_AddStringToObject(delta, "role", "assistant");
            cJSON_AddStringToObject(delta, "content", "");
        } else {
            if (c->text && *c->text) cJSON_AddStringToObject(delta, "content", c->text);
            if (c->tool_calls)
                cJSON_AddItemToObject(delta, "tool_calls", cJSON_Duplicate(c->tool_calls, true));
        }
    } else {
        cJSON_AddStringToObject(choice, "text", c->text ? c->text : "");
    }
    add_logprobs(choice, role_only ? NULL : c->logprobs);
    add_finish(choice, role_only ? NULL : c->finish);
    return print(o);
}

char *api_usage_chunk_json(const api_request *r, const char *id, long created, const char *model,
                           const api_usage *u) {
    cJSON *o = envelope(r, id, created, model, true);
    cJSON_AddArrayToObject(o, "choices");
    add_usage(o, u);
    return print(o);
}
