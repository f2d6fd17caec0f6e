/* test_serve.c: a real `ward serve` on a loopback port, driven over HTTP.
 *
 * References: the greedy completion must be the text of llama.cpp's greedy tokens for the same
 * prompt (../shared/golden/stories260K-once.json), so the whole path (tokenize, schedule,
 * sample, detokenize, JSON) is checked against an independent engine. Also: the OpenAI shapes
 * of responses, stream chunks and errors; streamed deltas adding up to the whole answer; stop
 * strings cut and never sent; the prefix cache (cached_tokens); the same seeded request giving
 * the same answer alone and beside other requests (bit-identical: a sequence's logits do not
 * depend on the rest of the batch); a client leaving mid-stream (its slot is freed: /metrics);
 * bad requests (400 naming the field, 404, 405, 413, 401 with a key file); function calling
 * (calls valid under their schemas, streamed deltas adding up, refusals); and SIGTERM ending
 * the process with status 0. Behind a proxy: SIGTERM refusing new connections, closing idle
 * keep-alive ones at once and finishing the requests under way ("Connection: close", /health
 * "stopping"); X-Forwarded-For/-Proto believed from --trusted-proxy peers only (seen in the log
 * line's client address and the workbench's HSTS header and Secure cookie); event streams
 * marked X-Accel-Buffering: no.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "srvtest.h"
#include "ward.h"


/* The OpenAI API alone (the workbench has test_workbench). */
static pid_t start_api_server(const char *args) {
    char all[4200];
    snprintf(all, sizeof all, "%s --no-workbench", args);
    return start_server(all);
}

/* choices[0] of a response. */
static const cJSON *choice0(const cJSON *o) {
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "choices"), 0);
}

/* Concatenated deltas of an SSE stream; checks the framing. */
static char *stream_text(const char *body, bool chat, const char **finish, bool *usage_seen) {
    size_t cap = strlen(body) + 1, n = 0;
    char *text = calloc(1, cap);
    static char fin[32];
    fin[0] = '\0';
    *usage_seen = false;
    bool done = false, first = true;
    for (const char *p = body; (p = strstr(p, "data: ")); p += 6) {
        if (strncmp(p, "data: [DONE]", 12) == 0) {
            done = true;
            break;
        }
        const char *end = strstr(p, "\n\n");
        cJSON *o = cJSON_ParseWithLength(p + 6, end ? (size_t)(end - p - 6) : strlen(p + 6));
        CHECK(o != NULL, "each SSE event is JSON");
        if (!o) continue;
        CHECK(strcmp(json_str(o, "object", NULL), chat ? "chat.completion.chunk"
                                                       : "text_completion") == 0,
              "chunk object type");
        const cJSON *c = choice0(o);
        if (!c) {
            *usage_seen = cJSON_GetObjectItemCaseSensitive(o, "usage") != NULL;
        } else {
            const char *piece = chat ? json_str(c, "delta", "content") : json_str(c, "text", NULL);
            if (chat && first)
                CHECK(json_str(c, "delta", "role") && strcmp(json_str(c, "delta", "role"),
                                                             "assistant") == 0,
                      "the first chat chunk carries the role");
            first = false;
            if (piece) {
                memcpy(text + n, piece, strlen(piece));
                n += strlen(piece);
            }
            const char *f = json_str(c, "finish_reason", NULL);
            if (f) snprintf(fin, sizeof fin, "%s", f);
        }
        cJSON_Delete(o);
    }
    CHECK(done, "the stream ends with data: [DONE]");
    *finish = fin;
    return text;
}

/* ---------------------------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------------------------- */

/* The text of llama.cpp's greedy tokens for the golden prompt. */
static char *golden_greedy_text(int *n_tokens, char *prompt, size_t cap) {
    const char *jp = shared_path("golden/stories260K-once.json");
    char *js = NULL; /* read before the next shared_path(), which reuses jp's buffer */
    size_t size;
    if (jp) js = read_file(jp, &size);
    const char *mp = jp ? shared_path("models/stories260K.gguf") : NULL;
    cJSON *j = js ? cJSON_Parse(js) : NULL;
    free(js);
    ward_model *m = NULL;
    ward_error err;
    if (!j || !mp || ward_model_open(mp, &m, &err)) {
        cJSON_Delete(j);
        return NULL;
    }
    snprintf(prompt, cap, "%s", json_str(j, "prompt", NULL));
    const cJSON *toks = cJSON_GetObjectItemCaseSensitive(j, "greedy_tokens");
    char *text = calloc(1, 65536);
    size_t n = 0;
    *n_tokens = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, toks) {
        if (ward_token_is_eog(m, t->valueint)) break;
        size_t len;
        ward_token_to_bytes(m, t->valueint, false, text + n, 65535 - n, &len);
        n += len;
        (*n_tokens)++;
    }
    ward_model_close(m);
    cJSON_Delete(j);
    return text;
}

static void test_greedy_and_stream(void) {
    char prompt[256], body[1024];
    int n_tokens = 0;
    char *want = golden_greedy_text(&n_tokens, prompt, sizeof prompt);
    if (!want) return;
    snprintf(body, sizeof body, "{\"model\":\"stories\",\"prompt\":\"%s\",\"max_tokens\":%d,"
             "\"temperature\":0}", prompt, n_tokens);
    http_reply r = http("POST", "/v1/completions", body, NULL);
    cJSON *o = cJSON_Parse(r.body ? r.body : "");
    const char *text = o ? json_str(choice0(o), "text", NULL) : NULL;
    CHECK(r.status == 200 && text && strcmp(text, want) == 0,
          "greedy completion is the reference's greedy text (%d tokens): got %s", n_tokens,
          text ? text : r.body);
    CHECK(r.head && !strstr(r.head, "X-Accel-Buffering"), "a whole response may be buffered");
    CHECK(o && strcmp(json_str(o, "object", NULL), "text_completion") == 0 &&
              strncmp(json_str(o, "id", NULL), "cmpl-", 5) == 0,
          "completion object and id");
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(o, "usage");
    CHECK(cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens")->valueint == 5 &&
              cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens")->valueint == n_tokens,
          "usage counts the 5 prompt tokens and the completion");
    cJSON_Delete(o);
    reply_free(&r);

    /* the same streamed: deltas add up to the same text; the usage chunk when asked */
    snprintf(body, sizeof body, "{\"model\":\"stories\",\"prompt\":\"%s\",\"max_tokens\":%d,"
             "\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
             prompt, n_tokens);
    r = http("POST", "/v1/completions", body, NULL);
    const char *finish;
    bool usage_seen;
    char *streamed = stream_text(r.body ? r.body : "", false, &finish, &usage_seen);
    CHECK(r.status == 200 && strstr(r.head, "text/event-stream") &&
              strstr(r.head, "X-Accel-Buffering: no"),
          "stream content type; proxies told not to buffer it");
    CHECK(strcmp(streamed, want) == 0, "streamed deltas add up to the greedy text: %s", streamed);
    CHECK(strcmp(finish, "length") == 0 && usage_seen, "finish_reason length, usage chunk");
    free(streamed);
    reply_free(&r);

    /* the prefix cache: the same prompt again reuses all but its last token */
    r = http("POST", "/v1/completions", body, NULL);
    CHECK(r.body && strstr(r.body, "\"cached_tokens\":4"), "cached_tokens 4 of 5 on a repeat");
    reply_free(&r);
    /* ... also from a slot that is busy: the prefix is copied into a free one */
    const int fd = connect_server();
    const char *hold = "{\"model\":\"stories\",\"prompt\":\"Tim and Sue went to the park to "
                       "play with a red ball\",\"max_tokens\":1500,\"stream\":true}";
    send_request(fd, "POST", "/v1/completions", NULL, hold, strlen(hold));
    char buf[256];
    CHECK(recv(fd, buf, sizeof buf, 0) > 0, "a long stream holds a slot");
    r = http("POST", "/v1/completions", "{\"model\":\"stories\",\"prompt\":\"Tim and Sue went to "
             "the park to play with a red ball and\",\"max_tokens\":2}", NULL);
    const char *cached = r.body ? strstr(r.body, "\"cached_tokens\":") : NULL;
    CHECK(cached && atoi(cached + 16) >= 10, "a busy slot's prefix is reused: %s", r.body ? r.body : "");
    reply_free(&r);
    close(fd);
    free(want);
}

static void test_chat_and_stop(void) {
    const char *chat = "{\"model\":\"stories\",\"messages\":[{\"role\":\"system\",\"content\":"
                       "\"Be brief.\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                       "\"text\":\"Tell a story\"}]}],\"max_tokens\":24,\"seed\":7}";
    http_reply a = http("POST", "/v1/chat/completions", chat, NULL);
    cJSON *o = cJSON_Parse(a.body ? a.body : "");
    const char *content = o ? json_str(choice0(o), "message", "content") : NULL;
    CHECK(a.status == 200 && content && json_str(choice0(o), "message", "role") &&
              strcmp(json_str(o, "object", NULL), "chat.completion") == 0,
          "chat completion shape: %s", a.body);
    /* a stop string taken from the middle of that answer: cut there, never sent */
    char stop[8] = "";
    if (content && strlen(content) > 12) memcpy(stop, content + 8, 3);
    char body[1024];
    snprintf(body, sizeof body, "{\"model\":\"stories\",\"messages\":[{\"role\":\"system\","
             "\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Tell a story\"}],"
             "\"max_tokens\":24,\"seed\":7,\"stop\":[\"%s\"],\"stream\":true}", stop);
    http_reply b = http("POST", "/v1/chat/completions", body, NULL);
    const char *finish;
    bool usage_seen;
    char *streamed = stream_text(b.body ? b.body : "", true, &finish, &usage_seen);
    const char *cut = content && stop[0] ? strstr(content, stop) : NULL;
    CHECK(cut && strncmp(streamed, content, (size_t)(cut - content)) == 0 &&
              strlen(streamed) == (size_t)(cut - content) && strcmp(finish, "stop") == 0,
          "stop '%s': the text ends before it (finish stop): %s", stop, streamed);
    free(streamed);
    cJSON_Delete(o);
    reply_free(&a), reply_free(&b);
}

/* n choices batched together, and log-probabilities: greedy choices are equal; each chosen
 * token's entry is the best of its alternatives (greedy), the tokens' bytes spell the text, the
 * probabilities of the alternatives sum to at most 1; completions' legacy form too. */
static double metric(const char *name);
static void test_tools_unsupported(void);

static void test_choices_and_logprobs(void) {
    const char *req = "{\"model\":\"stories\",\"messages\":[{\"role\":\"user\",\"content\":"
                      "\"Tell a story\"}],\"max_tokens\":12,\"temperature\":0,\"n\":2,"
                      "\"logprobs\":true,\"top_logprobs\":3}";
    http_reply r = http("POST", "/v1/chat/completions", req, NULL);
    cJSON *o = cJSON_Parse(r.body ? r.body : "");
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(o, "choices");
    const cJSON *c0 = cJSON_GetArrayItem(choices, 0), *c1 = cJSON_GetArrayItem(choices, 1);
    const char *t0 = c0 ? json_str(c0, "message", "content") : NULL;
    const char *t1 = c1 ? json_str(c1, "message", "content") : NULL;
    CHECK(cJSON_GetArraySize(choices) == 2 && t0 && t1 && strcmp(t0, t1) == 0 &&
              cJSON_GetObjectItemCaseSensitive(c1, "index")->valueint == 1,
          "n=2 greedy: two equal choices with indexes: %s", r.body ? r.body : "");
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(o, "usage");
    CHECK(cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens")->valueint == 24,
          "usage sums the choices' tokens");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(c0, "logprobs"), "content");
    char spelled[512] = "";
    bool best = cJSON_GetArraySize(content) == 12, summed = true;
    const cJSON *e;
    cJSON_ArrayForEach(e, content) {
        const cJSON *top = cJSON_GetObjectItemCaseSensitive(e, "top_logprobs"), *t;
        const double lp = cJSON_GetObjectItemCaseSensitive(e, "logprob")->valuedouble;
        best &= cJSON_GetArraySize(top) == 3 &&
                lp == cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(top, 0), "logprob")->valuedouble;
        double p = 0;
        cJSON_ArrayForEach(t, top) p += exp(cJSON_GetObjectItemCaseSensitive(t, "logprob")->valuedouble);
        summed &= p <= 1.0 + 1e-6 && lp <= 0;
        const cJSON *b;
        size_t n = strlen(spelled);
        cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(e, "bytes")) spelled[n++] = (char)b->valueint;
        spelled[n] = '\0';
    }
    CHECK(best && summed, "12 entries, the greedy token the best of 3, probabilities <= 1");
    /* n choices of a long prompt compute it once: the later choices copy it (prefix cache) */
    const double cached_before = metric("ward_prompt_cached_tokens_total");
    http_reply three = http("POST", "/v1/completions", "{\"model\":\"stories\",\"prompt\":\"Lily "
                            "and Ben went to the big park with their mom and dad. They saw a tall "
                            "tree, a small dog and a red ball. Lily wanted to play with the ball "
                            "but Ben wanted to climb the tree.\",\"max_tokens\":4,\"n\":3}", NULL);
    const cJSON *u3 = NULL;
    cJSON *o3 = cJSON_Parse(three.body ? three.body : "");
    u3 = cJSON_GetObjectItemCaseSensitive(o3, "usage");
    const int n_prompt3 = u3 ? cJSON_GetObjectItemCaseSensitive(u3, "prompt_tokens")->valueint : 0;
    const double saved = metric("ward_prompt_cached_tokens_total") - cached_before;
    CHECK(three.status == 200 && n_prompt3 > 40 && saved >= 2.0 * (n_prompt3 - 1),
          "n=3 over a %d-token prompt: the two later choices copy it (%g tokens reused)",
          n_prompt3, saved);
    cJSON_Delete(o3);
    reply_free(&three);
    CHECK(t0 && strcmp(spelled, t0) == 0, "the entries' bytes spell the content: %s", spelled);
    cJSON_Delete(o);
    reply_free(&r);

    r = http("POST", "/v1/completions", "{\"model\":\"stories\",\"prompt\":\"Once upon a time\","
             "\"max_tokens\":6,\"temperature\":0,\"logprobs\":2}", NULL);
    o = cJSON_Parse(r.body ? r.body : "");
    const cJSON *lps = cJSON_GetObjectItemCaseSensitive(choice0(o), "logprobs");
    const cJSON *toks = cJSON_GetObjectItemCaseSensitive(lps, "tokens");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(lps, "text_offset");
    char joined[256] = "";
    const cJSON *t;
    cJSON_ArrayForEach(t, toks) strcat(joined, t->valuestring);
    const char *text = json_str(choice0(o), "text", NULL);
    CHECK(text && strcmp(joined, text) == 0 && cJSON_GetArraySize(offs) == 6 &&
              cJSON_GetArrayItem(offs, 1)->valueint == (int)strlen(cJSON_GetArrayItem(toks, 0)->valuestring),
          "legacy logprobs: tokens spell the text, offsets follow them: %s", r.body ? r.body : "");
    cJSON_Delete(o);
    reply_free(&r);
}

/* The same seeded request alone and while another long request streams: identical text. */
static void test_same_seed_under_load(void) {
    const char *req = "{\"model\":\"stories\",\"prompt\":\"Lily saw a\",\"max_tokens\":40,"
                      "\"temperature\":1.0,\"seed\":123}";
    http_reply alone = http("POST", "/v1/completions", req, NULL);
    const int fd = connect_server();
    const char *load = "{\"model\":\"stories\",\"prompt\":\"Once upon\",\"max_tokens\":400,"
                       "\"temperature\":0.9,\"seed\":5,\"stream\":true}";
    send_request(fd, "POST", "/v1/completions", NULL, load, strlen(load));
    http_reply busy = http("POST", "/v1/completions", req, NULL);
    http_reply bg = read_reply(fd);
    cJSON *a = cJSON_Parse(alone.body ? alone.body : ""), *b = cJSON_Parse(busy.body ? busy.body : "");
    const char *ta = a ? json_str(choice0(a), "text", NULL) : NULL;
    const char *tb = b ? json_str(choice0(b), "text", NULL) : NULL;
    CHECK(ta && tb && strcmp(ta, tb) == 0 && strlen(ta) > 0,
          "same seed, same answer alone and beside another request");
    CHECK(bg.status == 200, "the background stream completed");
    /* again with the new request's prompt in a lower slot than a generating one: two streams
     * take slots 0 and 1, the first leaves, the request gets slot 0 beside slot 1's stream */
    const int f1 = connect_server(), f2 = connect_server();
    send_request(f1, "POST", "/v1/completions", NULL, load, strlen(load));
    char buf[256];
    CHECK(recv(f1, buf, sizeof buf, 0) > 0, "first stream started");
    send_request(f2, "POST", "/v1/completions", NULL, load, strlen(load));
    CHECK(recv(f2, buf, sizeof buf, 0) > 0, "second stream started");
    close(f1);
    const struct timespec t = {0, 100 * 1000 * 1000};
    nanosleep(&t, NULL);
    http_reply low = http("POST", "/v1/completions", req, NULL);
    close(f2);
    cJSON *l = cJSON_Parse(low.body ? low.body : "");
    const char *tl = l ? json_str(choice0(l), "text", NULL) : NULL;
    CHECK(ta && tl && strcmp(ta, tl) == 0, "same answer from a lower slot beside a stream: %s",
          low.body ? low.body : "");
    cJSON_Delete(l), cJSON_Delete(a), cJSON_Delete(b);
    reply_free(&alone), reply_free(&busy), reply_free(&bg), reply_free(&low);
}

/* A /metrics value of the served model `model`; -1 if absent. */
static double model_metric(const char *model, const char *name) {
    http_reply r = http("GET", "/metrics", NULL, NULL);
    double v = -1;
    char key[128];
    snprintf(key, sizeof key, "%s{model=\"%s\"} ", name, model);
    const char *p = r.body ? strstr(r.body, key) : NULL;
    if (p) v = strtod(p + strlen(key), NULL);
    reply_free(&r);
    return v;
}

static double metric(const char *name) { return model_metric("stories", name); }

/* A client that leaves mid-stream: its slot is free again soon after. */
static void test_disconnect(void) {
    const int fd = connect_server();
    const char *req = "{\"model\":\"stories\",\"prompt\":\"Once\",\"max_tokens\":1900,"
                      "\"temperature\":1,\"stream\":true}";
    send_request(fd, "POST", "/v1/completions", NULL, req, strlen(req));
    char buf[512];
    CHECK(recv(fd, buf, sizeof buf, 0) > 0, "the stream started");
    close(fd);
    double active = 1;
    for (int i = 0; i < 100 && active != 0; i++) {
        const struct timespec t = {0, 20 * 1000 * 1000};
        nanosleep(&t, NULL);
        active = metric("ward_slots_active");
    }
    CHECK(active == 0, "the slot of a client that left is free (ward_slots_active %g)", active);
    http_reply h = http("GET", "/health", NULL, NULL);
    CHECK(h.status == 200, "the server is still up");
    reply_free(&h);
}

/* A completion request (malloc'ed) whose prompt is n words "a", one token each. */
static char *words_request(int n) {
    static const char head[] = "{\"model\":\"stories\",\"prompt\":\"", tail[] = "\"}";
    char *body = malloc(sizeof head + 2 * (size_t)n + sizeof tail), *p = body;
    p += sprintf(p, "%s", head);
    for (int i = 0; i < n; i++) p += sprintf(p, i ? " a" : "a");
    sprintf(p, "%s", tail);
    return body;
}

static void expect_error(const char *path, const char *body, int status, const char *param,
                         const char *what) {
    http_reply r = http(body ? "POST" : "GET", path, body, NULL);
    cJSON *o = cJSON_Parse(r.body ? r.body : "");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    const char *p = json_str(e, "param", NULL);
    CHECK(r.status == status && json_str(e, "message", NULL) && json_str(e, "type", NULL) &&
              (!param || (p && strcmp(p, param) == 0)),
          "%s: %d with an OpenAI error%s%s: got %d %s", what, status, param ? " naming " : "",
          param ? param : "", r.status, r.body ? r.body : "");
    cJSON_Delete(o);
    reply_free(&r);
}

static void test_errors(void) {
    expect_error("/v1/completions", "{not json", 400, NULL, "malformed JSON");
    expect_error("/v1/completions", "[1,2]", 400, NULL, "not an object");
    expect_error("/v1/completions", "{\"model\":\"stories\",\"prompt\":\"x\",\"temperature\":\"hot\"}",
                 400, "temperature", "wrong type");
    expect_error("/v1/completions", "{\"model\":\"stories\",\"prompt\":\"x\",\"max_tokens\":1.5}",
                 400, "max_tokens", "non-integer max_tokens");
    expect_error("/v1/completions", "{\"model\":\"stories\",\"prompt\":\"x\",\"top_p\":3}", 400,
                 "top_p", "top_p out of range");
    expect_error("/v1/completions", "{\"model\":\"stories\"}", 400, "prompt", "missing prompt");
    expect_error("/v1/chat/completions", "{\"model\":\"stories\",\"messages\":[{\"role\":\"robot\","
                 "\"content\":\"x\"}]}", 400, "messages[0]", "unknown role");
    expect_error("/v1/chat/completions", "{\"model\":\"stories\",\"messages\":[{\"role\":\"user\","
                 "\"content\":\"x\"}],\"response_format\":{\"type\":\"json_schema\"}}", 400,
                 "response_format", "unsupported response_format refused, not ignored");
    expect_error("/v1/chat/completions", "{\"model\":\"stories\",\"messages\":[{\"role\":\"user\","
                 "\"content\":\"x\"}],\"top_logprobs\":2}", 400, "top_logprobs",
                 "top_logprobs without logprobs");
    expect_error("/v1/completions", "{\"model\":\"stories\",\"prompt\":\"x\",\"n\":0}", 400,
                 "n", "n out of range");
    expect_error("/v1/completions", "{\"model\":\"nobody\",\"prompt\":\"x\"}", 404, "model",
                 "unknown model");
    expect_error("/v1/nothing", NULL, 404, NULL, "unknown URL");
    expect_error("/v1/completions", NULL, 405, NULL, "GET on a POST route");
    /* a prompt longer than the context: 400 giving both counts */
    char *big = words_request(2100); /* BOS + 2100 tokens */
    http_reply r = http("POST", "/v1/completions", big, NULL);
    CHECK(r.status == 400 && r.body && strstr(r.body, "context_length_exceeded") &&
              strstr(r.body, "2048") && strstr(r.body, "2101"),
          "too long a prompt: 400 with both token counts: %s", r.body ? r.body : "");
    reply_free(&r);
    free(big);
    /* a body over --max-body (64 KiB here) */
    char *huge = malloc(100000);
    memset(huge, 'a', 99999);
    huge[99999] = '\0';
    r = http("POST", "/v1/completions", huge, NULL);
    CHECK(r.status == 413, "a huge body: 413 (got %d)", r.status);
    reply_free(&r);
    free(huge);
    /* a client that sends half a request and waits holds only its own connection */
    const int slow = connect_server();
    send_all(slow, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{\"mo", 61);
    http_reply h = http("GET", "/health", NULL, NULL);
    CHECK(h.status == 200, "still up after the bad requests, beside a half-sent one");
    reply_free(&h);
    r = http("POST", "/v1/completions", "{\"model\":\"stories\",\"prompt\":\"x\",\"max_tokens\":2}", NULL);
    CHECK(r.status == 200, "requests are served while one is half-sent");
    reply_free(&r);
    close(slow);
}

static void test_api_keys(const char *model) {
    const char *keys = test_tmp_path("keys");
    FILE *f = fopen(keys, "w");
    fputs("# keys\nsecret-one\nsecret-two\nlimited 2\n", f);
    fclose(f);
    char args[2400];
    snprintf(args, sizeof args, "-m stories=%s --api-key-file %s -t 1 --cors-origin http://emr.local",
             model, keys);
    const pid_t pid = start_api_server(args);
    CHECK(pid > 0, "server with keys started");
    if (pid <= 0) return;
    http_reply r = http("GET", "/v1/models", NULL, NULL);
    CHECK(r.status == 401 && strstr(r.head, "WWW-Authenticate"), "no key: 401");
    reply_free(&r);
    r = http("GET", "/v1/models", NULL, "Authorization: Bearer secret-on\r\n");
    CHECK(r.status == 401, "a wrong key (a prefix of a right one): 401");
    reply_free(&r);
    r = http("GET", "/v1/models", NULL, "Authorization: Bearer secret-two\r\n");
    CHECK(r.status == 200 && strstr(r.body, "\"stories\""), "a right key: 200");
    CHECK(r.head && strstr(r.head, "Access-Control-Allow-Origin: http://emr.local") != NULL,
          "the configured origin is allowed");
    reply_free(&r);
    r = http("GET", "/health", NULL, NULL);
    CHECK(r.status == 200, "/health needs no key (load balancers)");
    reply_free(&r);
    r = http("OPTIONS", "/v1/chat/completions", NULL, NULL);
    CHECK(r.status == 204 && strstr(r.head, "Access-Control-Allow-Methods"), "CORS preflight: 204");
    reply_free(&r);
    /* a key allowed 2 requests a minute: the third is a 429 saying when to retry */
    int statuses[3];
    for (int i = 0; i < 3; i++) {
        r = http("GET", "/v1/models", NULL, "Authorization: Bearer limited\r\n");
        statuses[i] = r.status;
        if (i == 2)
            CHECK(r.status == 429 && strstr(r.head, "Retry-After: ") &&
                      atoi(strstr(r.head, "Retry-After: ") + 13) >= 1 &&
                      strstr(r.body, "rate_limit_exceeded"),
                  "a key over its quota: 429 with Retry-After: %s", r.head);
        reply_free(&r);
    }
    CHECK(statuses[0] == 200 && statuses[1] == 200, "within the quota: 200");
    CHECK(stop_server(pid) == 0, "SIGTERM: exit status 0");
    f = fopen(keys, "w");
    fputs("key-with-bad-rate fast\n", f);
    fclose(f);
    char cmd[2400], out[2048];
    snprintf(cmd, sizeof cmd, "%s serve -m %s --api-key-file %s --no-workbench --port 0 2>&1", WARD_BINARY, model, keys);
    CHECK(run_cmd(cmd, out, sizeof out) != 0 && strstr(out, "line 1"),
          "a malformed key file is refused naming the line: %s", out);
    remove(keys);
}

/* Whether s holds only whole, valid UTF-8 characters. */
static bool valid_utf8(const unsigned char *s) {
    while (*s) {
        const int n = *s < 0x80 ? 0 : (*s >> 5) == 6 ? 1 : (*s >> 4) == 14 ? 2 : (*s >> 3) == 30 ? 3 : -1;
        if (n < 0) return false;
        for (int k = 1; k <= n; k++)
            if ((s[k] >> 6) != 2) return false;
        s += n + 1;
    }
    return true;
}

/* A byte-level BPE model (random weights: its tokens often hold parts of characters) streams
 * only whole UTF-8 characters in every delta. */
static void test_utf8_deltas(void) {
    const char *mp = shared_path("models/random-qwen2.gguf");
    if (!mp) return;
    char args[2400];
    snprintf(args, sizeof args, "-m qwen=%s -t 1", mp);
    const pid_t pid = start_api_server(args);
    CHECK(pid > 0, "server on a byte-level BPE model started");
    if (pid <= 0) return;
    http_reply r = http("POST", "/v1/completions", "{\"model\":\"qwen\",\"prompt\":\"病人\","
                        "\"max_tokens\":300,\"seed\":3,\"stream\":true}", NULL);
    int deltas = 0, bad = 0, multibyte = 0;
    for (const char *p = r.body; p && (p = strstr(p, "data: {")); p += 6) {
        const char *end = strstr(p, "\n\n");
        cJSON *o = cJSON_ParseWithLength(p + 6, end ? (size_t)(end - p - 6) : strlen(p + 6));
        const char *t = o ? json_str(choice0(o), "text", NULL) : NULL;
        if (t && *t) {
            deltas++;
            bad += !valid_utf8((const unsigned char *)t);
            for (const unsigned char *u = (const unsigned char *)t; *u; u++) multibyte += *u >= 0xC0;
        }
        cJSON_Delete(o);
    }
    CHECK(deltas > 20 && bad == 0, "%d deltas, %d with a broken UTF-8 character", deltas, bad);
    printf("UTF-8 stream: %d deltas, %d multi-byte characters\n", deltas, multibyte);
    reply_free(&r);
    CHECK(stop_server(pid) == 0, "SIGTERM: exit status 0");
}

/* ---------------------------------------------------------------------------------------------
 * Function calling
 * ------------------------------------------------------------------------------------------- */

static const char *k_tools_json =
    "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\","
    "\"maxLength\":12},\"unit\":{\"enum\":[\"c\",\"f\"]}},\"required\":[\"city\",\"unit\"],"
    "\"additionalProperties\":false}}},{\"type\":\"function\",\"function\":{\"name\":"
    "\"get_time\",\"parameters\":{\"type\":\"object\",\"properties\":{\"zone\":{\"type\":"
    "\"integer\"}},\"required\":[\"zone\"]}}}]";

/* Is call a valid call of one of k_tools_json's tools (name, JSON-object arguments matching
 * its schema; checked by hand here, and by ajv in the client tests)? Returns its name. */
static const char *valid_call(const cJSON *call, bool with_id) {
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(call, "function");
    const char *name = json_str(fn, "name", NULL), *args = json_str(fn, "arguments", NULL);
    const char *id = json_str(call, "id", NULL);
    if (!name || !args || (with_id && (!id || strncmp(id, "call_", 5) != 0 ||
                                       strcmp(json_str(call, "type", NULL), "function") != 0)))
        return NULL;
    cJSON *a = cJSON_Parse(args);
    const cJSON *city = cJSON_GetObjectItemCaseSensitive(a, "city");
    const cJSON *unit = cJSON_GetObjectItemCaseSensitive(a, "unit");
    const cJSON *zone = cJSON_GetObjectItemCaseSensitive(a, "zone");
    bool ok = cJSON_IsObject(a);
    if (ok && strcmp(name, "get_weather") == 0)
        ok = cJSON_GetArraySize(a) == 2 && cJSON_IsString(city) &&
             strlen(city->valuestring) <= 4 * 12 && cJSON_IsString(unit) &&
             (!strcmp(unit->valuestring, "c") || !strcmp(unit->valuestring, "f"));
    else if (ok)
        ok = !strcmp(name, "get_time") && cJSON_IsNumber(zone) &&
             zone->valuedouble == floor(zone->valuedouble);
    cJSON_Delete(a);
    return ok ? name : NULL;
}

static char *tool_request(const char *model, const char *choice, bool stream, int seed,
                          const char *extra) {
    char *b = malloc(4096);
    snprintf(b, 4096, "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"Weather "
             "in Oslo?\"}],\"tools\":%s,\"tool_choice\":%s,\"seed\":%d,\"max_tokens\":1500,"
             "\"stream\":%s%s}", model, k_tools_json, choice, seed, stream ? "true" : "false",
             extra);
    return b;
}

/* A streamed reply's tool calls, merged from their deltas as OpenAI clients merge them (by
 * index: the first entry brings id, type and name; arguments are appended). */
static cJSON *stream_calls(const char *body, const char **finish, bool *content_seen) {
    cJSON *calls = cJSON_CreateArray();
    static char fin[32];
    fin[0] = '\0';
    *content_seen = false;
    for (const char *p = body; (p = strstr(p, "data: {")); p += 6) {
        const char *end = strstr(p, "\n\n");
        cJSON *o = cJSON_ParseWithLength(p + 6, end ? (size_t)(end - p - 6) : strlen(p + 6));
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(choice0(o), "delta");
        const char *content = json_str(delta, "content", NULL);
        *content_seen |= content && *content;
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(delta, "tool_calls")) {
            const int index = cJSON_GetObjectItemCaseSensitive(e, "index")->valueint;
            const char *args = json_str(e, "function", "arguments");
            if (index == cJSON_GetArraySize(calls)) {
                cJSON *call = cJSON_Duplicate(e, true);
                cJSON_DeleteItemFromObject(call, "index");
                cJSON_AddItemToArray(calls, call);
                continue;
            }
            cJSON *fn = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(calls, index),
                                                         "function");
            const char *had = json_str(fn, "arguments", NULL);
            CHECK(had && args && !json_str(e, "id", NULL), "later deltas of a call: arguments");
            char joined[8192];
            snprintf(joined, sizeof joined, "%s%s", had ? had : "", args ? args : "");
            cJSON_ReplaceItemInObject(fn, "arguments", cJSON_CreateString(joined));
        }
        const char *f = json_str(choice0(o), "finish_reason", NULL);
        if (f) snprintf(fin, sizeof fin, "%s", f);
        cJSON_Delete(o);
    }
    *finish = fin;
    return calls;
}

/* tool_choice "required" (or a named tool), whole and streamed: finish_reason "tool_calls", no
 * content, calls valid under their tools' schemas, the stream's deltas adding up to the whole
 * response's calls (same seed). */
static void expect_calls(const char *model, const char *choice, const char *extra,
                         const char *only_name, int max_calls) {
    for (int seed = 1; seed <= 3; seed++) {
        char *body = tool_request(model, choice, false, seed, extra);
        http_reply a = http("POST", "/v1/chat/completions", body, NULL);
        free(body);
        cJSON *o = cJSON_Parse(a.body ? a.body : "");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(choice0(o), "message");
        const cJSON *calls = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
        const int n = cJSON_GetArraySize(calls);
        bool valid = n >= 1 && n <= max_calls &&
                     cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(msg, "content"));
        for (int i = 0; valid && i < n; i++) {
            const char *name = valid_call(cJSON_GetArrayItem(calls, i), true);
            valid = name && (!only_name || strcmp(name, only_name) == 0);
        }
        CHECK(a.status == 200 && valid &&
                  strcmp(json_str(choice0(o), "finish_reason", NULL), "tool_calls") == 0,
              "%s, tool_choice %s, seed %d: 1 to %d valid calls, no content, finish tool_calls: "
              "%s", model, choice, seed, max_calls, a.body ? a.body : "");
        body = tool_request(model, choice, true, seed, extra);
        http_reply b = http("POST", "/v1/chat/completions", body, NULL);
        free(body);
        const char *finish;
        bool content_seen;
        cJSON *streamed = stream_calls(b.body ? b.body : "", &finish, &content_seen);
        bool same = cJSON_GetArraySize(streamed) == n;
        for (int i = 0; same && i < n; i++) { /* the same calls; ids are per response */
            const cJSON *x = cJSON_GetArrayItem(streamed, i), *y = cJSON_GetArrayItem(calls, i);
            same = valid_call(x, true) &&
                   cJSON_Compare(cJSON_GetObjectItem(x, "function"),
                                 cJSON_GetObjectItem(y, "function"), true);
        }
        CHECK(same && !content_seen && strcmp(finish, "tool_calls") == 0,
              "%s seed %d: the stream's call deltas add up to the whole response's calls", model,
              seed);
        cJSON_Delete(streamed);
        cJSON_Delete(o);
        reply_free(&a), reply_free(&b);
    }
}

static void test_tool_errors(void) {
    char body[4096];
    const char *user = "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]";
    snprintf(body, sizeof body, "{\"model\":\"q\",%s,\"tools\":{}}", user);
    expect_error("/v1/chat/completions", body, 400, "tools", "tools not an array");
    snprintf(body, sizeof body, "{\"model\":\"q\",%s,\"tools\":[{\"type\":\"function\","
             "\"function\":{\"name\":\"get weather\"}}]}", user);
    expect_error("/v1/chat/completions", body, 400, "tools", "a tool name with a space");
    snprintf(body, sizeof body, "{\"model\":\"q\",%s,\"tools\":[{\"type\":\"function\","
             "\"function\":{\"name\":\"f\"}},{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}",
             user);
    expect_error("/v1/chat/completions", body, 400, "tools", "two tools of one name");
    snprintf(body, sizeof body, "{\"model\":\"q\",%s,\"tools\":%s,\"tool_choice\":{\"type\":"
             "\"function\",\"function\":{\"name\":\"nope\"}}}", user, k_tools_json);
    expect_error("/v1/chat/completions", body, 400, "tool_choice", "tool_choice naming no tool");
    snprintf(body, sizeof body, "{\"model\":\"q\",%s,\"tool_choice\":\"auto\"}", user);
    expect_error("/v1/chat/completions", body, 400, "tool_choice", "tool_choice without tools");
    snprintf(body, sizeof body, "{\"model\":\"q\",%s,\"tools\":%s,\"tool_choice\":\"always\"}",
             user, k_tools_json);
    expect_error("/v1/chat/completions", body, 400, "tool_choice", "an unknown tool_choice");
    snprintf(body, sizeof body, "{\"model\":\"q\",%s,\"tools\":%s,\"response_format\":{\"type\":"
             "\"json_object\"}}", user, k_tools_json);
    expect_error("/v1/chat/completions", body, 400, "response_format", "tools + response_format");
    snprintf(body, sizeof body, "{\"model\":\"q\",%s,\"tools\":[{\"type\":\"function\","
             "\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":"
             "{\"a\":{\"type\":\"string\",\"pattern\":\"x\"}}}}}]}", user);
    http_reply r = http("POST", "/v1/chat/completions", body, NULL);
    CHECK(r.status == 400 && r.body && strstr(r.body, "pattern") && strstr(r.body, "\"tools\""),
          "an unsupported schema keyword in parameters: 400 naming it: %s", r.body ? r.body : "");
    reply_free(&r);
    snprintf(body, sizeof body, "{\"model\":\"q\",\"messages\":[{\"role\":\"assistant\","
             "\"content\":null,\"tool_calls\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
             "\"arguments\":\"not json\"}}]}]}");
    expect_error("/v1/chat/completions", body, 400, "messages[0].tool_calls", "bad call arguments");
}

/* Function calling on a model served with Qwen2.5's chat template (chatml) and one with GLM-4's:
 * required and named calls, parallel calls, auto (text or calls, each valid), a conversation
 * carrying earlier calls and tool results, and the errors. */
static void test_tools(void) {
    const char *qp = shared_path("models/random-qwen2.gguf");
    const char *sp = shared_path("models/stories260K.gguf");
    if (!qp || !sp) return;
    char args[2400];
    snprintf(args, sizeof args, "-m q=%s --chat-template chatml -t 2 --parallel 2 --ctx 4096",
             qp);
    pid_t pid = start_api_server(args);
    CHECK(pid > 0, "server with the chatml template started");
    if (pid > 0) {
        expect_calls("q", "\"required\"", ",\"parallel_tool_calls\":false", NULL, 1);
        expect_calls("q", "\"required\"", "", NULL, 8);
        expect_calls("q", "{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}", "",
                     "get_time", 8);
        int texts = 0, calls = 0;
        for (int seed = 1; seed <= 4; seed++) { /* auto: either is fine, but valid */
            char *body = tool_request("q", "\"auto\"", false, seed, "");
            http_reply a = http("POST", "/v1/chat/completions", body, NULL);
            free(body);
            cJSON *o = cJSON_Parse(a.body ? a.body : "");
            const cJSON *msg = cJSON_GetObjectItemCaseSensitive(choice0(o), "message");
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
            const char *finish = json_str(choice0(o), "finish_reason", NULL);
            if (c) calls += valid_call(cJSON_GetArrayItem(c, 0), true) && finish &&
                            !strcmp(finish, "tool_calls");
            else texts += json_str(msg, "content", NULL) != NULL && a.status == 200;
            cJSON_Delete(o);
            reply_free(&a);
        }
        CHECK(texts + calls == 4, "tool_choice auto: %d text replies, %d valid calls", texts,
              calls);
        http_reply h = http("POST", "/v1/chat/completions",
                            "{\"model\":\"q\",\"max_tokens\":4,\"messages\":[{\"role\":\"user\","
                            "\"content\":\"Weather?\"},{\"role\":\"assistant\",\"content\":null,"
                            "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":"
                            "{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\","
                            "\\\"unit\\\":\\\"c\\\"}\"}}]},{\"role\":\"tool\",\"tool_call_id\":"
                            "\"call_1\",\"content\":\"-3\"}]}", NULL);
        CHECK(h.status == 200, "a conversation with a call and its result: %d %s", h.status,
              h.body ? h.body : "");
        reply_free(&h);
        test_tool_errors();
        CHECK(model_metric("q", "ward_slots_active") == 0, "afterwards every slot is free");
        CHECK(stop_server(pid) == 0, "SIGTERM: exit status 0");
    }
    snprintf(args, sizeof args, "-m q=%s --chat-template glm4 -t 2 --ctx 4096", sp);
    pid = start_api_server(args);
    CHECK(pid > 0, "server with the glm4 template started");
    if (pid <= 0) return;
    expect_calls("q", "\"required\"", "", NULL, 1); /* GLM-4 calls one tool per reply */
    CHECK(stop_server(pid) == 0, "SIGTERM: exit status 0");
}

/* stories260K's own template (llama2) has no tool calls: a 400 that says so. */
static void test_tools_unsupported(void) {
    char *body = tool_request("stories", "\"auto\"", false, 1, "");
    http_reply r = http("POST", "/v1/chat/completions", body, NULL);
    CHECK(r.status == 400 && r.body && strstr(r.body, "llama2") && strstr(r.body, "\"tools\""),
          "a model whose template has no tool calls: 400 saying so: %s", r.body ? r.body : "");
    free(body);
    reply_free(&r);
}

/* A HuggingFace directory converted to Q8_0 while loading: served, and greedy text that starts
 * as the GGUF file's does (Q8_0 weights move logits a little; the first words are clear). */
static void test_hf_dir(void) {
    const char *dir = shared_path("models/hf/stories260K");
    if (!dir) return;
    char args[2400];
    snprintf(args, sizeof args, "-m %s --quant q8_0 -t 1", dir);
    const pid_t pid = start_api_server(args);
    CHECK(pid > 0, "server on a HuggingFace directory started");
    if (pid <= 0) return;
    http_reply r = http("POST", "/v1/completions", "{\"model\":\"stories260K\",\"prompt\":"
                        "\"Once upon a time\",\"max_tokens\":6,\"temperature\":0}", NULL);
    CHECK(r.status == 200 && r.body && strstr(r.body, "\"text\":\", there was a"),
          "the directory's model answers, named after the directory: %s", r.body ? r.body : "");
    reply_free(&r);
    CHECK(stop_server(pid) == 0, "SIGTERM: exit status 0");
}

/* --kv-budget: without --ctx, the slots get the positions that fit; with too large a --ctx, the
 * server refuses to start, saying so. */
static void test_kv_budget(const char *model) {
    char args[2400];
    snprintf(args, sizeof args, "-m stories=%s --parallel 2 --kv-budget 1 -t 1", model);
    const pid_t pid = start_api_server(args);
    CHECK(pid > 0, "server with a KV budget started");
    if (pid <= 0) return;
    char *big = words_request(1000);
    http_reply r = http("POST", "/v1/completions", big, NULL);
    const char *max = r.body ? strstr(r.body, "maximum context length is ") : NULL;
    const int n_ctx = max ? atoi(max + 26) : 0;
    CHECK(r.status == 400 && n_ctx > 16 && n_ctx < 1000,
          "1 MiB for 2 slots: fewer than 1000 positions each (%d): %s", n_ctx, r.body ? r.body : "");
    reply_free(&r);
    free(big);
    CHECK(stop_server(pid) == 0, "SIGTERM: exit status 0");
    char cmd[2400], out[2048];
    snprintf(cmd, sizeof cmd, "%s serve -m %s --parallel 2 --kv-budget 1 --ctx 4000 --no-workbench --port 0 2>&1",
             WARD_BINARY, model);
    CHECK(run_cmd(cmd, out, sizeof out) != 0 && strstr(out, "over the budget"),
          "a context over the budget is refused: %s", out);
}

/* A config file: the model's default request fields apply where a request is silent. */
static void test_config(const char *model) {
    const char *path = test_tmp_path("serve.json");
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"log_content\": false, \"models\": [{\"name\": \"tiny\", \"path\": \"%s\", "
               "\"parallel\": 2, \"threads\": 1, \"defaults\": {\"temperature\": 0, "
               "\"max_tokens\": 5}}]}", model);
    fclose(f);
    char args[2400];
    snprintf(args, sizeof args, "--config %s", path);
    const pid_t pid = start_api_server(args);
    CHECK(pid > 0, "server from a config file started");
    if (pid > 0) {
        http_reply a = http("POST", "/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"Once upon a time\"}", NULL);
        http_reply b = http("POST", "/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"Once upon a time\","
                            "\"max_tokens\":2}", NULL);
        CHECK(a.body && strstr(a.body, "\"completion_tokens\":5") &&
                  strstr(a.body, ", there was a little"),
              "defaults: greedy, 5 tokens: %s", a.body ? a.body : "");
        CHECK(b.body && strstr(b.body, "\"completion_tokens\":2"), "a request's own field wins");
        reply_free(&a), reply_free(&b);
        CHECK(stop_server(pid) == 0, "SIGTERM: exit status 0");
    }
    /* bad config files: refused, saying what is wrong */
    static const struct { const char *text, *said; } bad[] = {
        {"{\"models\": [{\"name\": \"x\", \"path\": \"y\", \"paralel\": 2}]}", "paralel"},
        {"{\"models\": [{\"name\": \"x\"}]}", "'path'"},
        {"{\"models\": {\"name\": \"x\"}}", "'models' must be an array"},
        {"{\"port\": \"80\"}", "'port'"},
        {"{\"log_content\": 1}", "'log_content'"},
        {"{\"trusted_proxies\": \"127.0.0.1\"}", "'trusted_proxies'"},
        {"{\"trusted_proxies\": [1]}", "'trusted_proxies'"},
        {"{\"models\": [{\"name\": \"x\", \"path\": \"y\", \"defaults\": 3}]}", "'defaults'"},
        {"[1, 2]", "not a JSON object"},
        {"{\"host\": ", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f = fopen(path, "w");
        fputs(bad[i].text, f);
        fclose(f);
        char cmd[2400], out[2048];
        snprintf(cmd, sizeof cmd, "%s serve --config %s --no-workbench 2>&1", WARD_BINARY, path);
        const int rc = run_cmd(cmd, out, sizeof out);
        CHECK(rc != 0 && strstr(out, bad[i].said), "bad config %s: refused naming %s (%d): %s",
              bad[i].text, bad[i].said, rc, out);
    }
    remove(path);
}

/* ---------------------------------------------------------------------------------------------
 * Behind a proxy
 * ------------------------------------------------------------------------------------------- */

/* Reads one answer (with a Content-Length) from a connection that stays open. */
static bool read_one(int fd, char *buf, size_t cap) {
    size_t n = 0, want = SIZE_MAX;
    buf[0] = '\0';
    for (ssize_t k; n < want && n < cap - 1 && (k = recv(fd, buf + n, cap - 1 - n, 0)) > 0;) {
        buf[n += (size_t)k] = '\0';
        const char *end = strstr(buf, "\r\n\r\n"), *len = strstr(buf, "Content-Length: ");
        if (end && len) want = (size_t)(end + 4 - buf) + strtoul(len + 16, NULL, 10);
    }
    return n == want;
}

/* Did the server close fd (end of stream) within ms milliseconds? */
static bool closed_within(int fd, int ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;
    return poll(&p, 1, ms) == 1 && recv(fd, &c, 1, 0) == 0;
}

static double wall_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* SIGTERM as a proxy needs it: new connections refused; an idle keep-alive connection closed at
 * once (a proxy's pool drops it instead of sending it a request that would be refused);
 * requests under way finish, their answers saying "Connection: close"; /health says
 * "stopping" meanwhile. A request whose body is held back until after SIGTERM keeps the drain
 * going for as long as the test needs. */
static void test_graceful_stop(const char *model) {
    char args[2400], buf[4096];
    snprintf(args, sizeof args, "-m stories=%s -t 1", model);
    const pid_t pid = start_api_server(args);
    CHECK(pid > 0, "server for the graceful stop started");
    if (pid <= 0) return;
    const int idle = connect_server();
    const char *get = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    send_all(idle, get, strlen(get));
    CHECK(read_one(idle, buf, sizeof buf) && strstr(buf, " 200 OK") &&
              !strstr(buf, "Connection: close"),
          "a keep-alive answer before SIGTERM: %s", buf);
    const int held = connect_server();
    const char *head = "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                       "Expect: 100-continue\r\n\r\n";
    send_all(held, head, strlen(head));
    const ssize_t k = recv(held, buf, sizeof buf - 1, 0);
    CHECK(k > 12 && strncmp(buf, "HTTP/1.1 100", 12) == 0, "a request's headers were read");
    const int stream = connect_server();
    const char *req = "{\"model\":\"stories\",\"prompt\":\"Once\",\"max_tokens\":1500,"
                      "\"stream\":true}";
    send_request(stream, "POST", "/v1/completions", NULL, req, strlen(req));
    CHECK(recv(stream, buf, 64, MSG_PEEK) > 0, "a long stream started"); /* read below */

    const double t0 = wall_s();
    kill(pid, SIGTERM);
    const bool closed = closed_within(idle, 2000);
    const double took = wall_s() - t0;
    CHECK(closed, "the idle keep-alive connection is closed at once (%.3f s)", took);
    const int late = connect_server();
    CHECK(late < 0, "a new connection is refused while draining");
    if (late >= 0) close(late);
    send_all(held, "x", 1);
    http_reply h = read_reply(held);
    CHECK(h.status == 503 && h.body && strcmp(h.body, "{\"status\":\"stopping\"}") == 0 &&
              strstr(h.head, "Connection: close"),
          "/health while draining: 503 stopping, Connection: close: %s %s", h.head ? h.head : "",
          h.body ? h.body : "");
    http_reply r = read_reply(stream);
    CHECK(r.status == 200 && r.body && strstr(r.body, "data: [DONE]"),
          "the stream under way at SIGTERM ends whole");
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status 0 after the drain");
    remove(test_tmp_path("serve.log"));
    close(idle);
    reply_free(&h), reply_free(&r);
}

/* The client address of the log's last line (a request's: after the time stamp). */
static void last_client(char *out, size_t cap) {
    FILE *f = fopen(test_tmp_path("serve.log"), "r");
    char line[8192], last[8192] = "";
    while (f && fgets(line, sizeof line, f)) memcpy(last, line, sizeof last);
    if (f) fclose(f);
    const char *sp = strchr(last, ' ');
    snprintf(out, cap, "%.*s", sp ? (int)strcspn(sp + 1, " ") : 0, sp ? sp + 1 : "");
}

/* GET /api/session (the workbench: 401 without a session) with headers; the client address
 * its log line names, and whether the answer carried HSTS (the request counted as HTTPS). */
static void seen_as(const char *headers, char *client, size_t cap, bool *https) {
    char *req = malloc(strlen(headers) + 64); /* headers of any length (not http()'s) */
    sprintf(req, "GET /api/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n", headers);
    const int fd = connect_server();
    send_all(fd, req, strlen(req));
    free(req);
    http_reply r = read_reply(fd);
    *https = r.head && strstr(r.head, "Strict-Transport-Security");
    CHECK(r.status == 401, "the workbench answered (%d)", r.status);
    reply_free(&r);
    last_client(client, cap);
}

/* A workbench event stream, signed in as doc. */
static void check_app_stream(const char *auth) {
    http_reply r = http("POST", "/api/cases", "{\"title\":\"x\",\"free_text\":\"胸闷1天\"}", auth);
    cJSON *o = cJSON_Parse(r.body ? r.body : "");
    char path[128];
    snprintf(path, sizeof path, "/api/cases/%d/differential",
             cJSON_GetObjectItem(o, "id") ? cJSON_GetObjectItem(o, "id")->valueint : 0);
    cJSON_Delete(o), reply_free(&r);
    r = http("POST", path, "{\"seed\":1,\"models\":[\"stories\"]}", auth);
    o = cJSON_Parse(r.body ? r.body : "");
    const cJSON *gen = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "generations"), 0);
    snprintf(path, sizeof path, "/api/generations/%d/events",
             cJSON_GetObjectItem(gen, "id") ? cJSON_GetObjectItem(gen, "id")->valueint : 0);
    cJSON_Delete(o), reply_free(&r);
    r = http("GET", path, NULL, auth);
    CHECK(r.status == 200 && strstr(r.head, "text/event-stream") &&
              strstr(r.head, "X-Accel-Buffering: no"),
          "the workbench's event stream: proxies told not to buffer it: %s", r.head ? r.head : "");
    reply_free(&r);
}

/* --trusted-proxy (comma-separated, and the config's "trusted_proxies"): from 127.0.0.1 the
 * last X-Forwarded-For entry is the client and X-Forwarded-Proto https makes the request
 * HTTPS (HSTS, a Secure cookie); malformed entries leave the proxy's own address; a server that
 * does not trust 127.0.0.1 ignores both headers. */
static void test_trusted_proxy(const char *model) {
    const char *fresh = test_fresh_db("serve-proxy.db");
    if (!fresh) return;
    char db[512], args[2400], client[128], doc[512], config[512];
    snprintf(db, sizeof db, "%s", fresh);
    CHECK(add_user(db, "doc", "doctor", "correct-horse-battery"), "a user added");
    snprintf(config, sizeof config, "%s", test_tmp_path("proxy.json"));
    FILE *f = fopen(config, "w");
    fputs("{\"trusted_proxies\": [\"127.0.0.1\"]}", f);
    fclose(f);
    snprintf(args, sizeof args, "-m stories=%s -t 1 --db %s --trusted-proxy 10.9.9.9,192.0.2.7 "
             "--config %s", model, db, config);
    pid_t pid = start_server(args);
    CHECK(pid > 0, "server behind a trusted proxy started");
    if (pid <= 0) return;
    bool https;
    seen_as("X-Forwarded-For: 203.0.113.7, 10.1.2.3\r\nX-Forwarded-Proto: https\r\n", client,
            sizeof client, &https);
    CHECK(strcmp(client, "10.1.2.3") == 0 && https, "through the proxy: %s, https %d", client, https);
    seen_as("X-Forwarded-For: 2001:db8:0::1\r\n", client, sizeof client, &https);
    CHECK(strcmp(client, "2001:db8::1") == 0 && !https, "an IPv6 client, plain HTTP: %s", client);
    seen_as("X-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Proto: http\r\n", client, sizeof client, &https);
    CHECK(!https, "X-Forwarded-Proto: http is plain HTTP");
    static const char *const bad[] = {"garbage", "10.1.2.3, ", "10.1.2.3:8080", "10.1.2.3 4.5.6.7",
                                      "1.2.3.4.5", ",", "::1::2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char h[256];
        snprintf(h, sizeof h, "X-Forwarded-For: %s\r\n", bad[i]);
        seen_as(h, client, sizeof client, &https);
        CHECK(strcmp(client, "127.0.0.1") == 0, "X-Forwarded-For '%s' ignored: %s", bad[i], client);
    }
    char *huge = malloc(7000);
    memcpy(huge, "X-Forwarded-For: ", 17);
    memset(huge + 17, '1', 6970);
    memcpy(huge + 6987, "\r\n", 3);
    seen_as(huge, client, sizeof client, &https);
    CHECK(strcmp(client, "127.0.0.1") == 0, "a 7000-byte X-Forwarded-For ignored: %s", client);
    free(huge);
    http_reply r = http("POST", "/api/login", "{\"name\":\"doc\",\"password\":\"correct-horse-battery\"}",
                        "X-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Proto: https\r\n");
    CHECK(r.status == 200 && r.head && strstr(r.head, "; Secure"),
          "signed in through an HTTPS proxy: a Secure cookie");
    reply_free(&r);
    CHECK(sign_in("doc", "correct-horse-battery", doc, sizeof doc), "signed in directly");
    check_app_stream(doc);
    CHECK(stop_server(pid) == 0, "SIGTERM: exit status 0");
    remove(test_tmp_path("serve.log"));

    snprintf(args, sizeof args, "-m stories=%s -t 1 --db %s --trusted-proxy 10.9.9.9", model, db);
    pid = start_server(args);
    CHECK(pid > 0, "server trusting another proxy started");
    if (pid <= 0) return;
    seen_as("X-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Proto: https\r\n", client, sizeof client, &https);
    CHECK(strcmp(client, "127.0.0.1") == 0 && !https,
          "from a peer not trusted, the headers are ignored: %s, https %d", client, https);
    CHECK(stop_server(pid) == 0, "SIGTERM: exit status 0");
    remove(test_tmp_path("serve.log"));
    test_remove_db(db);
    remove(config);
    char cmd[2400], out[2048];
    snprintf(cmd, sizeof cmd, "%s serve -m %s --trusted-proxy 10.0.0.256 --no-workbench --port 0 "
             "2>&1", WARD_BINARY, model);
    CHECK(run_cmd(cmd, out, sizeof out) != 0 && strstr(out, "10.0.0.256"),
          "a --trusted-proxy that is no IPv4 address is refused: %s", out);
}

int main(void) {
    const char *mp = shared_path("models/stories260K.gguf");
    if (!mp) return test_summary();
    char model[1024], args[1200];
    snprintf(model, sizeof model, "%s", mp);
    snprintf(args, sizeof args, "-m stories=%s --parallel 3 -t 2 --max-body 64 --ping 1", model);
    const pid_t pid = start_api_server(args);
    CHECK(pid > 0, "ward serve started and became healthy");
    if (pid > 0) {
        http_reply r = http("GET", "/v1/models", NULL, NULL);
        CHECK(r.status == 200 && r.body && strstr(r.body, "\"id\":\"stories\"") &&
                  strstr(r.body, "\"object\":\"list\""),
              "/v1/models lists the model: %s", r.body ? r.body : "");
        CHECK(r.head && !strstr(r.head, "Access-Control"), "no cross-origin access by default");
        reply_free(&r);
        test_greedy_and_stream();
        test_chat_and_stop();
        test_choices_and_logprobs();
        test_same_seed_under_load();
        test_disconnect();
        test_errors();
        test_tools_unsupported();
        /* a slot cut by a client that went away frees when the scheduler next looks: allow
         * it a few seconds */
        bool idle = false;
        for (int i = 0; i < 100 && !idle; i++) {
            idle = metric("ward_slots_active") == 0 && metric("ward_queue_depth") == 0;
            if (!idle) nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
        }
        CHECK(idle, "afterwards every slot is free and nothing waits");
        CHECK(stop_server(pid) == 0, "SIGTERM: exit status 0");
    }
    test_api_keys(model);
    test_graceful_stop(model);
    test_trusted_proxy(model);
    test_config(model);
    test_hf_dir();
    test_utf8_deltas();
    test_tools();
    test_kv_budget(model);
    remove(test_tmp_path("serve.log")); /* the servers' stderr, for reading after a failure */
    return test_summary();
}
