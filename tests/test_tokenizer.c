/* test_tokenizer.c: the SentencePiece tokenizer against llama.cpp, and against hostile input.
 *
 * 1. llama.cpp's test vectors (tokenizers/ggml-vocab-{llama-spm,baichuan}.gguf.inp/.out), read
 *    exactly as its test-tokenizer-0 does: inputs split on "\n__ggml_vocab_test__\n", one line
 *    of ids per input, no BOS, no special parsing. Every id must match.
 * 2. golden JSON prompt_tokens for every model with a "llama" tokenizer (others must be refused
 *    as unsupported, naming their tokenizer).
 * 3. special tokens with and without TOK_PARSE_SPECIAL; user-defined tokens; BOS/EOS; the SPM
 *    merge order on small synthetic vocabularies written with gguf_writer.
 * 4. token bytes, and decode(encode(text)) == " " + text for mixed and invalid UTF-8 text.
 * 5. hostile vocabularies (wrong types, lengths, ids, duplicates, NaN, byte texts), every
 *    truncation of a small vocab file and random byte mutations: errors, never a crash.
 * 6. allocation failure N = 1, 2, ... in loading and encoding: WARD_ENOMEM and no leak (ASan).
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "formats/gguf.h"
#include "harness.h"
#include "tok_helpers.h"
#include "tokenizer/tok.h"
#include "vectors.h"

#define SPM_MARK "\xe2\x96\x81" /* U+2581 */

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

/* Load the vocab of a file under ../shared; NULL (and a recorded failure) on error. */
static tok_vocab *load_shared_vocab(const char *rel) {
    const char *path = shared_path(rel);
    if (!path) return NULL;
    gguf_file *g = NULL;
    tok_vocab *v = NULL;
    ward_error err = {0};
    ward_status rc = gguf_open(path, &g, &err);
    if (rc == WARD_OK) rc = tok_vocab_from_gguf(g, &v, &err);
    CHECK(rc == WARD_OK, "%s: %s", rel, err.msg);
    gguf_close(g);
    return v;
}

static int32_t *encode_str(const tok_vocab *v, const char *s, unsigned flags, size_t *n) {
    return encode(v, s, strlen(s), flags, n);
}

/* Does encoding s give exactly the ids in want? */
static void check_encoding(const tok_vocab *v, const char *s, size_t len, unsigned flags,
                           const int32_t *want, size_t n_want, const char *label) {
    size_t n;
    int32_t *got = encode(v, s, len, flags, &n);
    bool ok = same_ids(got, n, want, n_want);
    CHECK(ok, "%s: encoding of \"%.*s\" differs", label, (int)(len > 80 ? 80 : len), s);
    if (!ok) {
        print_ids("want", want, n_want);
        print_ids("got ", got, n);
    }
    free(got);
}

/* ---------------------------------------------------------------------------------------------
 * 1. llama.cpp test vectors
 * ------------------------------------------------------------------------------------------- */

static void test_vectors(const char *vocab_rel, bool roundtrip) {
    tok_vocab *v = load_shared_vocab(vocab_rel);
    vector_set tv;
    if (!vectors_read(vocab_rel, &tv) || !v) goto done;
    size_t n_ok = 0;
    for (size_t i = 0; i < tv.n; i++) {
        const test_vector *c = &tv.cases[i];
        size_t n;
        int32_t *got = encode(v, c->text, c->len, 0, &n);
        bool ok = same_ids(got, n, c->ids, c->n_ids);
        CHECK(ok, "%s case %zu: \"%.*s\" differs", vocab_rel, i, (int)c->len, c->text);
        if (!ok) {
            print_ids("want", c->ids, c->n_ids);
            print_ids("got ", got, n);
        }
        n_ok += ok;
        if (roundtrip && c->len > 0) { /* byte fallback makes every text decodable */
            size_t dlen;
            char *text = decode(v, got, n, false, &dlen);
            CHECK(dlen == c->len + 1 && text[0] == ' ' && memcmp(text + 1, c->text, c->len) == 0,
                  "%s case %zu: decode(encode(x)) != \" \" + x", vocab_rel, i);
            free(text);
        }
        free(got);
    }
    printf("%s: %zu/%zu vectors identical\n", vocab_rel, n_ok, tv.n);
done:
    vectors_free(&tv);
    tok_vocab_free(v);
}

/* ---------------------------------------------------------------------------------------------
 * 2. golden prompt tokens
 * ------------------------------------------------------------------------------------------- */

static void test_golden_one(const char *json_path, const char *name) {
    size_t size;
    char *json = read_file(json_path, &size);
    cJSON *root = json ? cJSON_Parse(json) : NULL;
    free(json);
    if (!root) {
        CHECK(false, "%s: cannot parse", name);
        return;
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(root, "prompt");
    const cJSON *add_bos = cJSON_GetObjectItemCaseSensitive(root, "add_bos");
    const cJSON *toks = cJSON_GetObjectItemCaseSensitive(root, "prompt_tokens");
    if (!cJSON_IsString(model) || !cJSON_IsString(prompt) || !cJSON_IsArray(toks)) {
        CHECK(false, "%s: missing fields", name);
        goto done;
    }
    size_t mlen = strlen(model->valuestring);
    if (mlen < 5 || strcmp(model->valuestring + mlen - 5, ".gguf") != 0) {
        printf("golden %s: model \"%s\" is not a GGUF file, skipped\n", name, model->valuestring);
        goto done;
    }
    char rel[512];
    snprintf(rel, sizeof rel, "models/%s", model->valuestring);
    const char *path = shared_path(rel);
    if (!path) goto done;
    gguf_file *g = NULL;
    tok_vocab *v = NULL;
    ward_error err = {0};
    ward_status rc = gguf_open(path, &g, &err);
    CHECK(rc == WARD_OK, "%s: %s", rel, err.msg);
    if (rc == WARD_OK) rc = tok_vocab_from_gguf(g, &v, &err);
    gguf_str tm = {0};
    const gguf_kv *kv = g ? gguf_find(g, "tokenizer.ggml.model") : NULL;
    if (kv && kv->type == GGUF_VT_STR) tm = kv->val.str;
    if (tm.len == 5 && memcmp(tm.ptr, "llama", 5) == 0) {
        CHECK(rc == WARD_OK, "%s: %s", rel, err.msg);
        if (v) {
            int32_t want[4096];
            size_t n_want = 0;
            const cJSON *t;
            cJSON_ArrayForEach(t, toks) if (n_want < 4096) want[n_want++] = (int32_t)t->valuedouble;
            unsigned flags = cJSON_IsTrue(add_bos) ? TOK_ADD_BOS : 0;
            check_encoding(v, prompt->valuestring, strlen(prompt->valuestring), flags, want,
                           n_want, name);
        }
    } else if (g) { /* another algorithm: refused, by name */
        char want_name[64];
        snprintf(want_name, sizeof want_name, "\"%.*s\"", (int)(tm.len > 50 ? 50 : tm.len),
                 tm.ptr ? tm.ptr : "");
        CHECK(rc == WARD_EUNSUPPORTED && strstr(err.msg, want_name),
              "%s: tokenizer %s: status %d, \"%s\"", rel, want_name, rc, err.msg);
    }
    tok_vocab_free(v);
    gguf_close(g);
done:
    cJSON_Delete(root);
}

static void test_golden(void) {
    const char *dir_path = shared_path("golden");
    if (!dir_path) return;
    char dir_copy[4096];
    snprintf(dir_copy, sizeof dir_copy, "%s", dir_path);
    DIR *dir = opendir(dir_copy);
    if (!dir) {
        CHECK(false, "cannot list %s", dir_copy);
        return;
    }
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 5, ".json") != 0) continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir_copy, de->d_name);
        test_golden_one(path, de->d_name);
        n++;
    }
    closedir(dir);
    CHECK(n >= 3, "only %d golden files", n);
    printf("golden: %d prompt files checked\n", n);
}

/* ---------------------------------------------------------------------------------------------
 * Synthetic vocabularies (written with gguf_writer)
 * ------------------------------------------------------------------------------------------- */

enum { N_BASE = 3 + 256 };

/* A vocabulary description; each test builds one and may break a part of it. */
typedef struct vocab_spec {
    const char *model;           /* NULL: key omitted */
    const char *extra[32];       /* tokens after <unk> <s> </s> and the 256 byte tokens */
    float extra_score[32];
    int32_t extra_type[32];      /* 0 = normal */
    int n_extra;
    bool no_tokens, tokens_as_u32, scores_as_str, nan_score, bad_byte_text, add_bos_as_u32;
    int scores_delta, types_delta; /* array length minus token count; < -1000: omitted */
    int64_t bos;                 /* INT64_MIN: key omitted */
    bool bos_as_str;
    int add_space_prefix;        /* -1: key omitted */
    const char *name;            /* general.name, NULL: omitted */
} vocab_spec;

static vocab_spec base_spec(void) {
    vocab_spec s = {.model = "llama", .bos = 1, .add_space_prefix = -1};
    return s;
}

static void add_tok(vocab_spec *s, const char *text, float score, int32_t type) {
    s->extra[s->n_extra] = text;
    s->extra_score[s->n_extra] = score;
    s->extra_type[s->n_extra] = type;
    s->n_extra++;
}

static ward_status write_spec(const vocab_spec *s, const char *path) {
    int n = N_BASE + s->n_extra;
    const char **texts = calloc((size_t)n, sizeof *texts);
    char (*bytes)[8] = calloc(256, 8);
    float *scores = calloc((size_t)n + 8, sizeof *scores);
    int32_t *types = calloc((size_t)n + 8, sizeof *types);
    texts[0] = "<unk>", texts[1] = "<s>", texts[2] = "</s>";
    types[0] = TOK_TYPE_UNKNOWN, types[1] = types[2] = TOK_TYPE_CONTROL;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], 8, "<0x%02X>", b);
        texts[3 + b] = bytes[b];
        types[3 + b] = TOK_TYPE_BYTE;
    }
    if (s->bad_byte_text) texts[3 + 0x41] = "<0xZZ>";
    for (int i = 0; i < s->n_extra; i++) {
        texts[N_BASE + i] = s->extra[i];
        scores[N_BASE + i] = s->extra_score[i];
        types[N_BASE + i] = s->extra_type[i] ? s->extra_type[i] : TOK_TYPE_NORMAL;
    }
    if (s->nan_score) scores[N_BASE] = 0.0f / 0.0f;

    gguf_writer *w = NULL;
    ward_error err = {0};
    ward_status rc = gguf_writer_open(path, &w, &err);
    if (rc != WARD_OK) goto done;
    gguf_writer_set_str(w, "general.architecture", "llama");
    if (s->name) gguf_writer_set_str(w, "general.name", s->name);
    if (s->model) gguf_writer_set_str(w, "tokenizer.ggml.model", s->model);
    if (s->tokens_as_u32)
        gguf_writer_set_arr(w, "tokenizer.ggml.tokens", GGUF_VT_I32, types, (uint64_t)n);
    else if (!s->no_tokens)
        gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", texts, (uint64_t)n);
    if (s->scores_delta > -1000) {
        if (s->scores_as_str)
            gguf_writer_set_arr_str(w, "tokenizer.ggml.scores", texts, (uint64_t)n);
        else
            gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_VT_F32, scores,
                                (uint64_t)(n + s->scores_delta));
    }
    if (s->types_delta > -1000)
        gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_VT_I32, types,
                            (uint64_t)(n + s->types_delta));
    if (s->bos_as_str) gguf_writer_set_str(w, "tokenizer.ggml.bos_token_id", "1");
    else if (s->bos != INT64_MIN)
        gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)s->bos);
    gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
    gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    if (s->add_bos_as_u32) gguf_writer_set_u32(w, "tokenizer.ggml.add_bos_token", 1);
    if (s->add_space_prefix >= 0)
        gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", s->add_space_prefix != 0);
    rc = gguf_writer_write_header(w);
    if (rc == WARD_OK) rc = gguf_writer_finish(w, &err);
    else gguf_writer_close(w);
    CHECK(rc == WARD_OK, "writing %s: %s", path, err.msg);
done:
    free(texts);
    free(bytes);
    free(scores);
    free(types);
    return rc;
}

/* Write spec, then load it: returns the load status, *out the vocab when OK. */
static ward_status load_spec(const vocab_spec *s, tok_vocab **out, ward_error *err) {
    const char *path = test_tmp_path("vocab.gguf");
    *out = NULL;
    ward_error_clear(err);
    if (write_spec(s, path) != WARD_OK) return WARD_EIO;
    gguf_file *g = NULL;
    ward_status rc = gguf_open(path, &g, err);
    CHECK(rc == WARD_OK, "reopening the written vocab: %s", err->msg);
    if (rc == WARD_OK) rc = tok_vocab_from_gguf(g, out, err);
    gguf_close(g);
    remove(path);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * 3. special tokens, BOS/EOS, merge order
 * ------------------------------------------------------------------------------------------- */

/* ids = a ++ [mid] ++ b (mid < 0: left out) */
static int32_t *concat(const int32_t *a, size_t na, int32_t mid, const int32_t *b, size_t nb,
                       size_t *n) {
    int32_t *r = malloc((na + nb + 1) * sizeof *r);
    if (na) memcpy(r, a, na * sizeof *r);
    *n = na;
    if (mid >= 0) r[(*n)++] = mid;
    if (nb) memcpy(r + *n, b, nb * sizeof *r);
    *n += nb;
    return r;
}

static void test_special_llama(void) {
    tok_vocab *v = load_shared_vocab("tokenizers/ggml-vocab-llama-spm.gguf");
    if (!v) return;
    CHECK(tok_bos(v) == 1 && tok_eos(v) == 2 && tok_unk(v) == 0, "llama special ids");
    CHECK(tok_add_bos(v) && !tok_add_eos(v) && tok_add_space_prefix(v), "llama flags");
    CHECK(tok_is_eog(v, 2) && !tok_is_eog(v, 1) && !tok_is_eog(v, 13), "llama eog");
    CHECK(tok_type(v, 0) == TOK_TYPE_UNKNOWN && tok_type(v, 1) == TOK_TYPE_CONTROL &&
              tok_type(v, 13) == TOK_TYPE_BYTE && tok_type(v, 278) == TOK_TYPE_NORMAL,
          "llama types");

    size_t n_hello, n_a, n_b, n_w, n_hs;
    int32_t *hello = encode_str(v, "Hello", 0, &n_hello);
    int32_t *a = encode_str(v, "a", 0, &n_a);
    int32_t *b = encode_str(v, "b", 0, &n_b);
    int32_t *w = encode_str(v, " world", 0, &n_w);
    int32_t *hs = encode_str(v, "Hello ", 0, &n_hs);
    CHECK(n_hello == 1 && hello[0] == 15043, "\"Hello\" = [15043]");

    /* parsed: <s>Hello</s> = [1] ++ Hello ++ [2]; the text after a special gets a space */
    size_t n1, n2;
    int32_t *t1 = concat(NULL, 0, 1, hello, n_hello, &n1);
    int32_t *want = concat(t1, n1, 2, NULL, 0, &n2);
    check_encoding(v, "<s>Hello</s>", 12, TOK_PARSE_SPECIAL, want, n2, "parse special");
    free(t1), free(want);
    want = concat(a, n_a, 2, b, n_b, &n2);
    check_encoding(v, "a</s>b", 6, TOK_PARSE_SPECIAL, want, n2, "space prefix after special");
    free(want);
    want = concat(hs, n_hs, 0, w, n_w, &n2);
    check_encoding(v, "Hello <unk> world", 17, TOK_PARSE_SPECIAL, want, n2, "unknown token");
    free(want);
    int32_t twice[] = {1, 2, 2};
    check_encoding(v, "<s></s></s>", 11, TOK_PARSE_SPECIAL, twice, 3, "adjacent specials");

    /* not parsed: plain text, no control ids, decodes back to itself */
    const char *plain = "<s>Hello</s> <unk>";
    size_t n;
    int32_t *ids = encode_str(v, plain, 0, &n);
    bool any_special = false;
    for (size_t i = 0; i < n; i++) any_special |= ids[i] <= 2;
    CHECK(!any_special && n > 5, "\"%s\" without TOK_PARSE_SPECIAL gave special ids", plain);
    size_t dlen;
    char *text = decode(v, ids, n, false, &dlen);
    CHECK(strcmp(text, " <s>Hello</s> <unk>") == 0, "plain specials decode to \"%s\"", text);
    free(text), free(ids);

    /* BOS: add_special adds BOS (not EOS: add_eos_token is false); empty text */
    int32_t bos_hello[] = {1, 15043};
    check_encoding(v, "Hello", 5, TOK_ADD_BOS, bos_hello, 2, "BOS");
    check_encoding(v, "", 0, TOK_ADD_BOS, bos_hello, 1, "empty with BOS");
    check_encoding(v, "", 0, 0, NULL, 0, "empty");
    int32_t bos_bos[] = {1, 1, 15043};
    check_encoding(v, "<s>Hello", 8, TOK_ADD_BOS | TOK_PARSE_SPECIAL, bos_bos, 3, "double BOS");

    /* buffer too small: ERANGE with the full count, the prefix written */
    int32_t small[1] = {-7};
    ward_status rc = tok_encode(v, "Hello world", 11, TOK_ADD_BOS, small, 1, &n);
    CHECK(rc == WARD_ERANGE && n == 3 && small[0] == 1, "ERANGE: status %d, n %zu", rc, n);
    free(hello), free(a), free(b), free(w), free(hs);
    tok_vocab_free(v);
}

static void test_special_synthetic(void) {
    /* user-defined tokens are matched even without TOK_PARSE_SPECIAL; "<|im_end|>" is a
     * control-looking token: llama.cpp forces it to control and end-of-generation */
    vocab_spec s = base_spec();
    add_tok(&s, SPM_MARK, -1, 0);
    add_tok(&s, "a", -2, 0);
    add_tok(&s, "b", -2, 0);
    add_tok(&s, "<|user|>", 0, TOK_TYPE_USER_DEFINED);
    add_tok(&s, "<|im_end|>", 0, 0);
    add_tok(&s, "<|im", 0, TOK_TYPE_USER_DEFINED); /* shorter, overlaps: longest goes first */
    add_tok(&s, "", -5, 0);                       /* empty: renamed [EMPTY_<id>] */
    tok_vocab *v;
    ward_error err;
    ward_status rc = load_spec(&s, &v, &err);
    CHECK(rc == WARD_OK, "synthetic vocab: %s", err.msg);
    if (!v) return;
    int32_t mark = N_BASE, ta = N_BASE + 1, tb = N_BASE + 2, user = N_BASE + 3;
    int32_t im_end = N_BASE + 4, im = N_BASE + 5;
    size_t len;
    const char *t = tok_text(v, N_BASE + 6, &len);
    char empty_name[32];
    snprintf(empty_name, sizeof empty_name, "[EMPTY_%d]", N_BASE + 6);
    CHECK(t && len == strlen(empty_name) && memcmp(t, empty_name, len) == 0, "empty renamed");
    CHECK(tok_type(v, im_end) == TOK_TYPE_CONTROL && tok_is_eog(v, im_end), "im_end forced");
    CHECK(tok_type(v, user) == TOK_TYPE_USER_DEFINED && !tok_is_eog(v, user), "user token");

    int32_t w1[] = {mark, ta, user, mark, tb}; /* no space prefix after a user-defined token? */
    /* llama.cpp: any special fragment sets is_prev_special, so "b" gets its prefix again */
    check_encoding(v, "a<|user|>b", 10, 0, w1, 5, "user-defined without parse");
    check_encoding(v, "a<|user|>b", 10, TOK_PARSE_SPECIAL, w1, 5, "user-defined with parse");
    /* with parsing, the longer control token wins over the user-defined prefix */
    int32_t w3[] = {mark, ta, im_end, mark, tb};
    check_encoding(v, "a<|im_end|>b", 12, TOK_PARSE_SPECIAL, w3, 5, "longest special first");
    /* without parsing, only the user-defined "<|im" is split off; "_end|>" is bytes */
    size_t n;
    int32_t *ids = encode_str(v, "a<|im_end|>b", 0, &n);
    CHECK(n == 2 + 1 + 1 + 6 + 1 && ids[2] == im && ids[3] == mark && ids[4] == 3 + '_',
          "user-defined prefix without parse");
    free(ids);
    char buf[16];
    rc = tok_token_bytes(v, user, false, buf, sizeof buf, &n);
    CHECK(rc == WARD_OK && n == 8 && memcmp(buf, "<|user|>", 8) == 0, "user-defined bytes");
    rc = tok_token_bytes(v, im_end, false, buf, sizeof buf, &n);
    CHECK(rc == WARD_OK && n == 0, "control bytes hidden");
    tok_vocab_free(v);

    /* Phi-3 rule: special tokens eat the whitespace after them, except <s> */
    s.name = "Phi-3-mini";
    rc = load_spec(&s, &v, &err);
    CHECK(rc == WARD_OK, "phi3 vocab: %s", err.msg);
    if (v) {
        int32_t p1[] = {mark, ta, user, mark, tb};
        check_encoding(v, "a<|user|> \n b", 13, 0, p1, 5, "phi3 rstrip");
        int32_t p2[] = {1, mark, mark, tb};
        check_encoding(v, "<s> b", 5, TOK_PARSE_SPECIAL, p2, 4, "phi3 keeps space after <s>");
        tok_vocab_free(v);
    }
}

static void test_merge_order(void) {
    /* SPM merges the highest-scoring pair first; equal scores: the leftmost */
    vocab_spec s = base_spec();
    s.add_space_prefix = 0;
    add_tok(&s, "a", -10, 0);
    add_tok(&s, "b", -10, 0);
    add_tok(&s, "c", -10, 0);
    add_tok(&s, "ab", -1, 0);
    add_tok(&s, "bc", -1, 0);
    add_tok(&s, "abc", -3, 0);
    add_tok(&s, " ", -10, 0); /* a literal space token is never used: spaces become U+2581 */
    tok_vocab *v;
    ward_error err;
    CHECK(load_spec(&s, &v, &err) == WARD_OK, "merge vocab: %s", err.msg);
    if (!v) return;
    int32_t a = N_BASE, b = N_BASE + 1, c = N_BASE + 2, ab = N_BASE + 3, bc = N_BASE + 4;
    int32_t abc = N_BASE + 5;
    CHECK(!tok_add_space_prefix(v), "add_space_prefix false");
    int32_t w1[] = {abc};
    check_encoding(v, "abc", 3, 0, w1, 1, "tie: ab first, then ab+c");
    int32_t w2[] = {ab, b};
    check_encoding(v, "abb", 3, 0, w2, 2, "abb");
    /* a space: U+2581 is not in this vocab, so its three bytes fall back */
    int32_t w4[] = {a, 3 + 0xE2, 3 + 0x96, 3 + 0x81, b};
    check_encoding(v, "a b", 3, 0, w4, 5, "space byte fallback");
    /* invalid UTF-8: a lone lead byte swallows the next bytes into one symbol, which falls
     * back to bytes (llama.cpp's unicode_len_utf8 rule) */
    int32_t w5[] = {3 + 0xE4, 3 + 'a', 3 + 'b', c};
    check_encoding(v, "\xe4" "abc", 4, 0, w5, 4, "invalid UTF-8");
    tok_vocab_free(v);

    s.extra_score[4] = -0.5f; /* "bc" now beats "ab"; without "abc" nothing merges further */
    s.extra[5] = "zzz";
    CHECK(load_spec(&s, &v, &err) == WARD_OK, "merge vocab 2: %s", err.msg);
    if (!v) return;
    int32_t w6[] = {a, bc};
    check_encoding(v, "abc", 3, 0, w6, 2, "higher score first");
    tok_vocab_free(v);
}

/* ---------------------------------------------------------------------------------------------
 * 4. token bytes and round trips
 * ------------------------------------------------------------------------------------------- */

static void test_token_bytes(void) {
    tok_vocab *v = load_shared_vocab("tokenizers/ggml-vocab-llama-spm.gguf");
    if (!v) return;
    char buf[64];
    size_t n, len;
    const char *t = tok_text(v, 278, &len);
    CHECK(t && len == 6 && memcmp(t, SPM_MARK "the", 6) == 0, "token 278 is \"▁the\"");
    ward_status rc = tok_token_bytes(v, 278, false, buf, sizeof buf, &n);
    CHECK(rc == WARD_OK && n == 4 && memcmp(buf, " the", 4) == 0, "\"▁the\" -> \" the\"");
    rc = tok_token_bytes(v, 278, false, buf, 2, &n);
    CHECK(rc == WARD_ERANGE && n == 4, "ERANGE for a short buffer");
    rc = tok_token_bytes(v, 278, false, NULL, 0, &n);
    CHECK(rc == WARD_ERANGE && n == 4, "size query");
    rc = tok_token_bytes(v, 13, false, buf, sizeof buf, &n);
    CHECK(rc == WARD_OK && n == 1 && buf[0] == '\n', "<0x0A> -> newline");
    rc = tok_token_bytes(v, 3 + 0xF0, false, buf, sizeof buf, &n);
    CHECK(rc == WARD_OK && n == 1 && (uint8_t)buf[0] == 0xF0, "<0xF0> -> byte F0");
    rc = tok_token_bytes(v, 2, false, buf, sizeof buf, &n);
    CHECK(rc == WARD_OK && n == 0, "</s> hidden");
    rc = tok_token_bytes(v, 2, true, buf, sizeof buf, &n);
    CHECK(rc == WARD_OK && n == 4 && memcmp(buf, "</s>", 4) == 0, "</s> rendered");
    rc = tok_token_bytes(v, 0, false, buf, sizeof buf, &n);
    CHECK(rc == WARD_OK && n == 0, "<unk> hidden (as llama.cpp)");
    rc = tok_token_bytes(v, 0, true, buf, sizeof buf, &n);
    CHECK(rc == WARD_OK && n == 5 && memcmp(buf, "<unk>", 5) == 0, "<unk> rendered");
    CHECK(tok_token_bytes(v, -1, false, buf, sizeof buf, &n) == WARD_EINVAL, "id -1");
    CHECK(tok_token_bytes(v, 32000, false, buf, sizeof buf, &n) == WARD_EINVAL, "id n_vocab");
    CHECK(tok_text(v, 32000, &len) == NULL && tok_text(v, -1, &len) == NULL, "tok_text range");

    /* decode(encode(x)) == " " + x, for text that byte fallback makes encodable */
    const char *texts[] = {
        "Hello, world! 1234 \t\n\n  indented",
        "患者发热三天，伴咳嗽。 The patient has had a fever.",
        "emoji \xf0\x9f\xa6\x99 mixed \xe2\x9c\x85 and Cyrillic нещо",
        "invalid \xff\xfe\xfd\xfc bytes \xc3\xc3lone \xe4\xb8\xe4\xb8 cut \x80 continuation",
        "    leading spaces and trailing   ",
        "\x01\x02 control chars \x7f",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int32_t *ids = encode_str(v, texts[i], 0, &n);
        char *out = decode(v, ids, n, false, &len);
        CHECK(len == strlen(texts[i]) + 1 && out[0] == ' ' && strcmp(out + 1, texts[i]) == 0,
              "round trip %zu: \"%s\"", i, out);
        free(out), free(ids);
    }
    /* llama.cpp's quirk: a bad lead byte takes the next bytes into its symbol even when they
     * are an escaped space, which then comes back as U+2581's bytes, not as a space */
    int32_t *q = encode_str(v, "\xff b", 0, &n);
    char *qs = decode(v, q, n, false, &len);
    CHECK(len == 6 && memcmp(qs, " \xff" SPM_MARK "b", 6) == 0, "invalid lead byte before space");
    free(qs), free(q);
    /* a NUL byte inside the text is just a byte */
    int32_t *ids = encode(v, "a\0b", 3, 0, &n);
    char *out = decode(v, ids, n, false, &len);
    CHECK(len == 4 && memcmp(out, " a\0b", 4) == 0, "NUL byte round trip");
    free(out), free(ids);
    tok_vocab_free(v);
}

/* ---------------------------------------------------------------------------------------------
 * 5. hostile vocabularies
 * ------------------------------------------------------------------------------------------- */

static void expect_refused(const vocab_spec *s, ward_status want, const char *needle,
                           const char *label) {
    tok_vocab *v;
    ward_error err;
    ward_status rc = load_spec(s, &v, &err);
    CHECK(rc == want && v == NULL, "%s: status %d (want %d): %s", label, rc, want, err.msg);
    CHECK(rc == WARD_OK || (err.msg[0] && (!needle || strstr(err.msg, needle))),
          "%s: message \"%s\" should mention \"%s\"", label, err.msg, needle ? needle : "");
    tok_vocab_free(v);
}

static void test_hostile(void) {
    vocab_spec s;
    tok_vocab *v;
    ward_error err;

    s = base_spec();
    CHECK(load_spec(&s, &v, &err) == WARD_OK && v, "base spec loads: %s", err.msg);
    if (v) { /* byte fallback for everything; no U+2581 token */
        int32_t want[] = {3 + 0xE2, 3 + 0x96, 3 + 0x81, 3 + 'x'};
        check_encoding(v, "x", 1, 0, want, 4, "byte-only vocab");
    }
    tok_vocab_free(v);

    s = base_spec(), s.model = NULL;
    expect_refused(&s, WARD_EFORMAT, "tokenizer.ggml.model", "no model key");
    s = base_spec(), s.model = "gpt2"; /* byte-level BPE needs merges (test_bpe.c has more) */
    expect_refused(&s, WARD_EFORMAT, "tokenizer.ggml.merges", "gpt2 without merges");
    s = base_spec(), s.model = "t5";
    expect_refused(&s, WARD_EUNSUPPORTED, "\"t5\"", "t5");
    s = base_spec(), s.no_tokens = true;
    expect_refused(&s, WARD_EFORMAT, "tokenizer.ggml.tokens", "no tokens");
    s = base_spec(), s.tokens_as_u32 = true;
    expect_refused(&s, WARD_EFORMAT, "tokenizer.ggml.tokens", "tokens of i32");
    s = base_spec(), s.scores_delta = -1;
    expect_refused(&s, WARD_EFORMAT, "tokenizer.ggml.scores", "short scores");
    s = base_spec(), s.scores_delta = 1;
    expect_refused(&s, WARD_EFORMAT, "tokenizer.ggml.scores", "long scores");
    s = base_spec(), s.scores_as_str = true;
    expect_refused(&s, WARD_EFORMAT, "tokenizer.ggml.scores", "scores of str");
    s = base_spec(), s.types_delta = -5;
    expect_refused(&s, WARD_EFORMAT, "tokenizer.ggml.token_type", "short types");
    s = base_spec(), s.bos = N_BASE;
    expect_refused(&s, WARD_EFORMAT, "bos_token_id", "bos = n_vocab");
    s = base_spec(), s.bos = 1000000;
    expect_refused(&s, WARD_EFORMAT, "bos_token_id", "bos huge");
    s = base_spec(), s.bos_as_str = true;
    expect_refused(&s, WARD_EFORMAT, "bos_token_id", "bos as str");
    s = base_spec(), s.nan_score = true, add_tok(&s, "x", 0, 0);
    expect_refused(&s, WARD_EFORMAT, "NaN", "NaN score");
    s = base_spec(), s.bad_byte_text = true;
    expect_refused(&s, WARD_EFORMAT, "<0xXX>", "bad byte text");
    s = base_spec(), s.add_bos_as_u32 = true;
    expect_refused(&s, WARD_EFORMAT, "add_bos_token", "add_bos as u32");
    s = base_spec(), add_tok(&s, "dup", 0, 0), add_tok(&s, "dup", 0, 0);
    expect_refused(&s, WARD_EFORMAT, "repeats", "duplicate text");
    s = base_spec(), add_tok(&s, "<s>", 0, 0);
    expect_refused(&s, WARD_EFORMAT, "repeats", "duplicate of <s>");

    /* tolerated, as llama.cpp: 0xFFFFFFFF = unset (keeps default 1), missing scores and types
     * (normal, 0), unknown type values (undefined, rendered as "") */
    s = base_spec(), s.bos = 0xFFFFFFFFll;
    CHECK(load_spec(&s, &v, &err) == WARD_OK && v && tok_bos(v) == 1, "bos unset: %s", err.msg);
    tok_vocab_free(v);
    s = base_spec(), s.bos = -1; /* written as u32 0xFFFFFFFF */
    CHECK(load_spec(&s, &v, &err) == WARD_OK && v && tok_bos(v) == 1, "bos -1: %s", err.msg);
    tok_vocab_free(v);
    s = base_spec(), s.bos = INT64_MIN, s.scores_delta = -2000, s.types_delta = -2000;
    CHECK(load_spec(&s, &v, &err) == WARD_OK && v && tok_type(v, 5) == TOK_TYPE_NORMAL,
          "no scores/types: %s", err.msg);
    tok_vocab_free(v);
    s = base_spec(), add_tok(&s, "odd", 0, 99);
    CHECK(load_spec(&s, &v, &err) == WARD_OK && v && tok_type(v, N_BASE) == TOK_TYPE_UNDEFINED,
          "type 99: %s", err.msg);
    if (v) {
        char buf[8];
        size_t n = 1;
        CHECK(tok_token_bytes(v, N_BASE, true, buf, sizeof buf, &n) == WARD_OK && n == 0,
              "undefined token renders as nothing");
    }
    tok_vocab_free(v);
}

/* Parse, load, encode and render whatever a damaged blob gives; only crashes would fail.
 * Returns whether the vocab loaded. */
static bool exercise_blob(const void *data, size_t size) {
    gguf_file *g = NULL;
    tok_vocab *v = NULL;
    if (gguf_parse(data, size, &g, NULL) == WARD_OK &&
        tok_vocab_from_gguf(g, &v, NULL) == WARD_OK) {
        static const char text[] = "<s>Hello <|user|> w\xc3\xb6rld</s>\xff";
        int32_t ids[256];
        size_t n;
        tok_encode(v, text, sizeof text - 1, TOK_ADD_BOS | TOK_PARSE_SPECIAL, ids, 256, &n);
        tok_encode(v, text, sizeof text - 1, 0, ids, 256, &n);
        char buf[64];
        for (int32_t i = 0; i < tok_n_vocab(v); i++) {
            tok_token_bytes(v, i, true, buf, sizeof buf, &n);
            tok_is_eog(v, i);
        }
    }
    bool loaded = v != NULL;
    tok_vocab_free(v);
    gguf_close(g);
    return loaded;
}

static void test_damaged_files(void) {
    vocab_spec s = base_spec();
    add_tok(&s, SPM_MARK, -1, 0);
    add_tok(&s, "Hello", -2, 0);
    add_tok(&s, "<|user|>", 0, TOK_TYPE_USER_DEFINED);
    add_tok(&s, "<|im_end|>", 0, TOK_TYPE_CONTROL);
    const char *path = test_tmp_path("damaged.gguf");
    if (write_spec(&s, path) != WARD_OK) return;
    size_t size;
    uint8_t *blob = read_file(path, &size);
    remove(path);
    if (!blob) return;
    for (size_t cut = 0; cut < size; cut++) exercise_blob(blob, cut);
    uint8_t *copy = malloc(size);
    uint64_t rng = 12345;
    int n_loaded = 0, n_iter = 3000;
    for (int iter = 0; iter < n_iter; iter++) {
        memcpy(copy, blob, size);
        int flips = 1 + (int)(test_rand_u64(&rng) % 4);
        for (int f = 0; f < flips; f++) {
            size_t at = (size_t)(test_rand_u64(&rng) % size);
            copy[at] = (uint8_t)test_rand_u64(&rng);
        }
        n_loaded += exercise_blob(copy, size);
    }
    free(copy);
    free(blob);
    printf("damaged: %zu truncations, %d mutations (%d still loaded and were encoded with)\n",
           size, n_iter, n_loaded);
    CHECK(n_loaded > 0, "no mutated file loaded: the encode paths were not exercised");
}

/* ---------------------------------------------------------------------------------------------
 * 6. allocation failure
 * ------------------------------------------------------------------------------------------- */

static void test_oom(void) {
    const char *path = shared_path("tokenizers/ggml-vocab-llama-spm.gguf");
    if (!path) return;
    gguf_file *g = NULL;
    ward_error err;
    if (gguf_open(path, &g, &err) != WARD_OK) {
        CHECK(false, "%s", err.msg);
        return;
    }
    tok_vocab *v = NULL;
    long n;
    ward_status rc = WARD_ENOMEM;
    for (n = 1; n < 1000; n++) {
        ward_alloc_fail_after(n);
        rc = tok_vocab_from_gguf(g, &v, &err);
        ward_alloc_fail_after(0);
        if (rc == WARD_OK) break;
        CHECK(rc == WARD_ENOMEM && v == NULL, "load, allocation %ld failing: status %d", n, rc);
    }
    CHECK(rc == WARD_OK, "load never succeeded");
    printf("oom: load succeeded once %ld allocations were allowed\n", n);
    gguf_close(g);
    if (!v) return;

    const char *text = "<s>Hello</s> world <unk> \xe4\xb8\xad\xe6\x96\x87 \xff and more</s>";
    size_t want_n, got_n;
    int32_t *want = encode_str(v, text, TOK_ADD_BOS | TOK_PARSE_SPECIAL, &want_n);
    int32_t ids[256];
    for (n = 1; n < 1000; n++) {
        ward_alloc_fail_after(n);
        rc = tok_encode(v, text, strlen(text), TOK_ADD_BOS | TOK_PARSE_SPECIAL, ids, 256, &got_n);
        ward_alloc_fail_after(0);
        if (rc == WARD_OK) break;
        CHECK(rc == WARD_ENOMEM && got_n == 0, "encode, allocation %ld failing: status %d", n, rc);
    }
    CHECK(rc == WARD_OK && same_ids(ids, got_n, want, want_n), "encode after OOM loop");
    printf("oom: encode succeeded once %ld allocations were allowed\n", n);
    free(want);
    tok_vocab_free(v);
}

/* ---------------------------------------------------------------------------------------------
 * Speed (printed, not checked)
 * ------------------------------------------------------------------------------------------- */

int main(void) {
    test_vectors("tokenizers/ggml-vocab-llama-spm.gguf", true);
    test_vectors("tokenizers/ggml-vocab-baichuan.gguf", false);
    test_golden();
    test_special_llama();
    test_special_synthetic();
    test_merge_order();
    test_token_bytes();
    test_hostile();
    test_damaged_files();
    test_oom();
    return test_summary();
}
