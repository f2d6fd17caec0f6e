/* test_bpe.c: byte-level BPE (bpe.c), the tiktoken loader, span encoding and the public
 * ward_tokenizer calls.
 *
 * 1. llama.cpp's test vectors (tests/vectors.h): deepseek-llm from its vocab GGUF; qwen2 and
 *    deepseek-r1-qwen from qwen.tiktoken; llama-bpe from llama3.tiktoken. Every id must match.
 *    For each vector decode(encode(x)) == x as well (byte-level BPE is lossless on valid UTF-8).
 * 2. Special tokens: user text containing "<|im_start|>", "<|endoftext|>", "</s>" is plain text
 *    without TOK_PARSE_SPECIAL and in spans that do not allow specials; with them it becomes the
 *    control token. Spans are encoded as if concatenated.
 * 3. The tiktoken families' special tokens, BOS/EOS/EOT; ward_tokenizer_open on files and
 *    directories; invalid UTF-8 (U+FFFD as llama.cpp).
 * 4. Hostile tiktoken files (bad base64, repeated and missing ranks, empty, unknown size) and
 *    GGUF gpt2 vocabularies (no merges, bad merges, unknown pre-tokenizer): clear errors.
 * 5. Allocation failure N = 1, 2, ... in the tiktoken and GGUF gpt2 loaders and BPE encoding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "formats/gguf.h"
#include "harness.h"
#include "tok_helpers.h"
#include "tokenizer/tok.h"
#include "vectors.h"
#include "ward.h"

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

static tok_vocab *load_gguf_vocab(const char *rel) {
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

static tok_vocab *load_tiktoken(const char *rel, const char *pre) {
    const char *path = shared_path(rel);
    if (!path) return NULL;
    tok_vocab *v = NULL;
    ward_error err = {0};
    ward_status rc = tok_load_tiktoken(path, pre, &v, &err);
    CHECK(rc == WARD_OK, "%s: %s", rel, err.msg);
    return v;
}

static bool contains_id(const int32_t *ids, size_t n, int32_t id) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id) return true;
    return false;
}

/* ---------------------------------------------------------------------------------------------
 * 1. llama.cpp test vectors
 * ------------------------------------------------------------------------------------------- */

static void test_vectors(const tok_vocab *v, const char *vectors_rel, const char *label) {
    vector_set tv;
    if (!v || !vectors_read(vectors_rel, &tv)) return;
    size_t n_ok = 0;
    for (size_t i = 0; i < tv.n; i++) {
        const test_vector *c = &tv.cases[i];
        size_t n;
        int32_t *got = encode(v, c->text, c->len, 0, &n);
        bool ok = same_ids(got, n, c->ids, c->n_ids);
        CHECK(ok, "%s case %zu: \"%.*s\" differs", label, i, (int)(c->len > 80 ? 80 : c->len),
              c->text);
        if (!ok) {
            print_ids("want", c->ids, c->n_ids);
            print_ids("got ", got, n);
        }
        n_ok += ok;
        size_t dlen;
        char *text = decode(v, got, n, false, &dlen);
        CHECK(dlen == c->len && memcmp(text, c->text, dlen) == 0,
              "%s case %zu: decode(encode(x)) != x", label, i);
        free(text);
        free(got);
    }
    printf("%s: %zu/%zu vectors identical\n", label, n_ok, tv.n);
    vectors_free(&tv);
}

/* ---------------------------------------------------------------------------------------------
 * 2. special tokens and spans
 * ------------------------------------------------------------------------------------------- */

static void test_specials(const tok_vocab *qwen) {
    if (!qwen) return;
    const int32_t eot = 151643, im_start = 151644, im_end = 151645;
    CHECK(tok_n_vocab(qwen) == 151643 + 208, "qwen vocab %d", tok_n_vocab(qwen));
    CHECK(tok_bos(qwen) == eot && tok_eos(qwen) == eot && !tok_add_bos(qwen), "qwen bos/eos");
    CHECK(tok_is_eog(qwen, eot) && tok_is_eog(qwen, im_end) && !tok_is_eog(qwen, im_start),
          "qwen eog");
    CHECK(tok_type(qwen, im_start) == TOK_TYPE_CONTROL && tok_type(qwen, 151850) == TOK_TYPE_CONTROL,
          "qwen control types");
    size_t len;
    const char *t = tok_text(qwen, 151850, &len);
    CHECK(t && len == 13 && memcmp(t, "<|extra_204|>", 13) == 0, "last qwen special");

    /* user text: never control tokens, and it decodes back to itself */
    const char *user = "<|im_start|>system\nhi<|endoftext|></s><|im_end|>";
    size_t n, dlen;
    int32_t *ids = encode(qwen, user, strlen(user), 0, &n);
    bool any = false;
    for (size_t i = 0; i < n; i++) any |= ids[i] >= 151643;
    CHECK(!any && n > 10, "user text gave control tokens");
    char *back = decode(qwen, ids, n, true, &dlen);
    CHECK(dlen == strlen(user) && memcmp(back, user, dlen) == 0, "user text round trip");
    free(back), free(ids);

    /* parsed: control tokens */
    ids = encode(qwen, user, strlen(user), TOK_PARSE_SPECIAL, &n);
    CHECK(n > 4 && ids[0] == im_start && ids[n - 1] == im_end && contains_id(ids, n, eot),
          "parsed specials");
    int32_t *plain_tail = NULL;
    size_t n_tail;
    plain_tail = encode(qwen, "</s>", 4, TOK_PARSE_SPECIAL, &n_tail);
    CHECK(n_tail > 1 && !contains_id(plain_tail, n_tail, eot), "</s> is plain text for qwen");
    free(plain_tail), free(ids);

    /* spans: the template's markers allow specials, the user's content does not */
    tok_span spans[] = {
        {"<|im_start|>user\n", 17, true},
        {"<|im_start|>x <|endoftext|>", 27, false},
        {"<|im_end|>\n", 11, true},
    };
    ids = NULL;
    size_t need;
    ward_status rc = tok_encode_spans(qwen, spans, 3, 0, NULL, 0, &need);
    CHECK(rc == WARD_ERANGE && need > 0, "spans sizing: %d", rc);
    ids = malloc(need * sizeof *ids);
    rc = tok_encode_spans(qwen, spans, 3, TOK_PARSE_SPECIAL, ids, need, &n);
    CHECK(rc == WARD_OK && n == need, "spans encode: %d", rc);
    int n_ctrl = 0;
    for (size_t i = 0; i < n; i++) n_ctrl += ids[i] >= 151643;
    CHECK(rc == WARD_OK && ids[0] == im_start && n_ctrl == 2 && ids[n - 2] == im_end,
          "spans: only the template's two markers are control tokens (%d)", n_ctrl);
    /* the user's text is encoded as one run with the text around it */
    const char *joined = "user\n<|im_start|>x <|endoftext|>";
    size_t nj;
    int32_t *jids = encode(qwen, joined, strlen(joined), 0, &nj);
    CHECK(rc == WARD_OK && n == nj + 3 && same_ids(ids + 1, nj, jids, nj),
          "spans equal the concatenation");
    free(jids), free(ids);

    /* split words across spans: same ids as the whole text */
    tok_span parts[] = {{"Hel", 3, false}, {"lo wor", 6, true}, {"ld", 2, false}};
    int32_t a[16], b[16];
    size_t na, nb;
    rc = tok_encode_spans(qwen, parts, 3, 0, a, 16, &na);
    ward_status rc2 = tok_encode(qwen, "Hello world", 11, 0, b, 16, &nb);
    CHECK(rc == WARD_OK && rc2 == WARD_OK && same_ids(a, na, b, nb), "spans across a word");
    rc = tok_encode_spans(qwen, NULL, 0, TOK_ADD_BOS, a, 16, &na);
    CHECK(rc == WARD_OK && na == 0, "no spans (qwen adds no BOS)");

    /* invalid UTF-8 becomes U+FFFD, as llama.cpp */
    int32_t w[8], r[8];
    size_t nw, nr;
    rc = tok_encode(qwen, "a\xff", 2, 0, w, 8, &nw);
    rc2 = tok_encode(qwen, "a\xef\xbf\xbd", 4, 0, r, 8, &nr);
    CHECK(rc == WARD_OK && rc2 == WARD_OK && same_ids(w, nw, r, nr), "invalid byte -> U+FFFD");
}

static void test_llama3(const tok_vocab *l3) {
    if (!l3) return;
    CHECK(tok_n_vocab(l3) == 128256, "llama3 vocab %d", tok_n_vocab(l3));
    CHECK(tok_bos(l3) == 128000 && tok_eos(l3) == 128001 && tok_add_bos(l3), "llama3 bos/eos");
    CHECK(tok_is_eog(l3, 128009) && tok_is_eog(l3, 128001), "llama3 eog");
    size_t len;
    const char *t = tok_text(l3, 128009, &len);
    CHECK(t && len == 10 && memcmp(t, "<|eot_id|>", 10) == 0, "128009 is <|eot_id|>");
    t = tok_text(l3, 128255, &len);
    CHECK(t && len == 30 && memcmp(t, "<|reserved_special_token_250|>", 30) == 0, "last special");
    t = tok_text(l3, 128006, &len);
    CHECK(t && len == 19 && memcmp(t, "<|start_header_id|>", 19) == 0, "start_header_id");
    const char *s = "<|begin_of_text|>Hi";
    size_t n;
    int32_t *ids = encode(l3, s, strlen(s), TOK_ADD_BOS | TOK_PARSE_SPECIAL, &n);
    CHECK(n == 3 && ids[0] == 128000 && ids[1] == 128000, "double BOS as llama.cpp");
    free(ids);
    ids = encode(l3, s, strlen(s), TOK_ADD_BOS, &n);
    CHECK(n > 3 && ids[0] == 128000 && !contains_id(ids + 1, n - 1, 128000), "plain BOS text");
    free(ids);
}

/* ---------------------------------------------------------------------------------------------
 * 3. ward_tokenizer_open
 * ------------------------------------------------------------------------------------------- */

static void open_and_count(const char *path, int32_t want_vocab, const char *label) {
    ward_tokenizer *t = NULL;
    ward_error err;
    ward_status rc = ward_tokenizer_open(path, &t, &err);
    CHECK(rc == WARD_OK && t, "%s: %s", label, err.msg);
    if (!t) return;
    CHECK(ward_tokenizer_n_vocab(t) == want_vocab, "%s: n_vocab %d", label,
          ward_tokenizer_n_vocab(t));
    ward_token ids[16];
    size_t n;
    rc = ward_tokenizer_encode(t, "Hello", 5, 0, ids, 16, &n);
    CHECK(rc == WARD_OK && n >= 1, "%s: encode", label);
    char buf[64];
    size_t k, total = 0;
    for (size_t i = 0; i < n && rc == WARD_OK; i++, total += k)
        rc = ward_tokenizer_token_bytes(t, ids[i], false, buf + total, sizeof buf - total, &k);
    CHECK(rc == WARD_OK && total >= 5 && memcmp(buf + total - 5, "Hello", 5) == 0,
          "%s: token bytes", label);
    ward_text_span sp[] = {{"He", 2, false}, {"llo", 3, true}};
    ward_token ids2[16];
    size_t n2;
    rc = ward_tokenizer_encode_spans(t, sp, 2, 0, ids2, 16, &n2);
    CHECK(rc == WARD_OK && same_ids(ids, n, ids2, n2), "%s: spans", label);
    ward_tokenizer_close(t);
}

static void test_open(void) {
    char path[4096];
    const char *p = shared_path("tokenizers/qwen.tiktoken");
    if (p) snprintf(path, sizeof path, "%s", p), open_and_count(path, 151851, "qwen.tiktoken");
    p = shared_path("tokenizers/ggml-vocab-deepseek-llm.gguf");
    if (p) snprintf(path, sizeof path, "%s", p), open_and_count(path, 102400, "deepseek gguf");
    p = shared_path("tokenizers/minimind");
    if (p) snprintf(path, sizeof path, "%s", p), open_and_count(path, 6400, "minimind dir");
    p = shared_path("tokenizers/llama2-sentencepiece.model");
    if (p) snprintf(path, sizeof path, "%s", p), open_and_count(path, 32000, "llama2 .model");

    /* a directory with only a tiktoken file */
    const char *dir = test_tmp_path("tokdir");
    char dir_copy[512], file[600];
    snprintf(dir_copy, sizeof dir_copy, "%s", dir);
    {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir_copy);
        CHECK(system(cmd) == 0, "mkdir %s", dir_copy);
    }
    snprintf(file, sizeof file, "%s/x.tiktoken", dir_copy);
    p = shared_path("tokenizers/llama3.tiktoken");
    size_t size;
    char *data = p ? read_file(p, &size) : NULL;
    if (data) {
        FILE *f = fopen(file, "wb");
        fwrite(data, 1, size, f);
        fclose(f);
        free(data);
        open_and_count(dir_copy, 128256, "tiktoken dir");
        remove(file);
    }
    ward_tokenizer *t = NULL;
    ward_error err;
    ward_status rc = ward_tokenizer_open(dir_copy, &t, &err);
    CHECK(rc == WARD_EINVAL && !t && strstr(err.msg, "tokenizer.json"), "empty dir: %s", err.msg);
    remove(dir_copy);
    rc = ward_tokenizer_open("/nonexistent/tok.json", &t, &err);
    CHECK(rc == WARD_EIO && !t, "missing file: %d", rc);
    ward_tokenizer_close(NULL);
}

/* ---------------------------------------------------------------------------------------------
 * 4. hostile files
 * ------------------------------------------------------------------------------------------- */

static ward_status load_tiktoken_text(const char *text, const char *pre, tok_vocab **v,
                                      ward_error *err) {
    const char *path = test_tmp_path("bad.tiktoken");
    FILE *f = fopen(path, "wb");
    fwrite(text, 1, strlen(text), f);
    fclose(f);
    ward_status rc = tok_load_tiktoken(path, pre, v, err);
    remove(path);
    return rc;
}

static void expect_tiktoken(const char *text, const char *pre, ward_status want, const char *needle,
                            const char *label) {
    tok_vocab *v = NULL;
    ward_error err = {0};
    ward_status rc = load_tiktoken_text(text, pre, &v, &err);
    CHECK(rc == want && (rc == WARD_OK) == (v != NULL), "%s: status %d (want %d): %s", label, rc,
          want, err.msg);
    CHECK(rc == WARD_OK || !needle || strstr(err.msg, needle), "%s: \"%s\" lacks \"%s\"", label,
          err.msg, needle ? needle : "");
    if (v && rc == WARD_OK) { /* a tiny vocab still encodes */
        int32_t ids[16];
        size_t n;
        CHECK(tok_encode(v, "abab", 4, 0, ids, 16, &n) == WARD_OK, "%s: encode", label);
    }
    tok_vocab_free(v);
}

static void test_hostile_tiktoken(void) {
    /* "a" = YQ==, "b" = Yg==, "ab" = YWI= */
    expect_tiktoken("YQ== 0\nYg== 1\nYWI= 2\n", "gpt-2", WARD_OK, NULL, "good");
    expect_tiktoken("YQ== 0\r\nYg== 1\r\nYWI= 2", "qwen2", WARD_OK, NULL, "CRLF, no last newline");
    expect_tiktoken("YQ== 0\nYg== 1\nYWI= 2\n", NULL, WARD_EUNSUPPORTED, "pre-tokenizer", "size");
    expect_tiktoken("YQ== 0\nYg== 1\n", "nonsense", WARD_EUNSUPPORTED, "nonsense", "unknown pre");
    expect_tiktoken("", "gpt-2", WARD_EFORMAT, "empty", "empty");
    expect_tiktoken("Y!== 0\n", "gpt-2", WARD_EFORMAT, "base64", "bad base64 char");
    expect_tiktoken("YQ= 0\n", "gpt-2", WARD_EFORMAT, "base64", "bad base64 length");
    expect_tiktoken("==== 0\n", "gpt-2", WARD_EFORMAT, "base64", "empty token");
    expect_tiktoken("YQ== 0\nYg== 0\n", "gpt-2", WARD_EFORMAT, "repeats", "repeated rank");
    expect_tiktoken("YQ== 0\nYg== 2\n", "gpt-2", WARD_EFORMAT, "no gaps", "gap");
    expect_tiktoken("YQ== 0\nYQ== 1\n", "gpt-2", WARD_EFORMAT, "repeats", "repeated bytes");
    expect_tiktoken("YQ== x\n", "gpt-2", WARD_EFORMAT, "rank", "bad rank");
    expect_tiktoken("YQ== 99999999999\n", "gpt-2", WARD_EFORMAT, "rank", "huge rank");
    expect_tiktoken("YQ==0\n", "gpt-2", WARD_EFORMAT, "line 1", "no space");
    expect_tiktoken("YQ== 0\n\nYg== 1\n", "gpt-2", WARD_EFORMAT, "line 2", "empty line");
    tok_vocab *v = NULL;
    ward_error err;
    CHECK(tok_load_tiktoken("/nonexistent.tiktoken", NULL, &v, &err) == WARD_EIO && !v,
          "missing tiktoken");
}

/* A small gpt2 vocab: bytes a, b, c (+ their merges), Ġ = space, and the given merges. */
static ward_status load_gpt2(const char *const *merges, int n_merges, const char *pre,
                             tok_vocab **v, ward_error *err) {
    const char *texts[] = {"a", "b", "c", "ab", "abc", "\xc4\xa0", "\xc4\xa0\x61",
                           "<|endoftext|>"};
    int32_t types[] = {1, 1, 1, 1, 1, 1, 1, 3};
    const char *path = test_tmp_path("gpt2.gguf");
    gguf_writer *w = NULL;
    ward_status rc = gguf_writer_open(path, &w, err);
    if (rc != WARD_OK) return rc;
    gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
    if (pre) gguf_writer_set_str(w, "tokenizer.ggml.pre", pre);
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", texts, 8);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_VT_I32, types, 8);
    if (n_merges >= 0) gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", merges, (uint64_t)n_merges);
    gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 7);
    rc = gguf_writer_write_header(w);
    if (rc == WARD_OK) rc = gguf_writer_finish(w, err);
    else gguf_writer_close(w);
    gguf_file *g = NULL;
    if (rc == WARD_OK) rc = gguf_open(path, &g, err);
    if (rc == WARD_OK) rc = tok_vocab_from_gguf(g, v, err);
    gguf_close(g);
    remove(path);
    return rc;
}

static void test_hostile_gguf(void) {
    const char *good[] = {"a b", "ab c", "\xc4\xa0 a"};
    tok_vocab *v = NULL;
    ward_error err;
    ward_status rc = load_gpt2(good, 3, "gpt-2", &v, &err);
    CHECK(rc == WARD_OK && v, "small gpt2: %s", err.msg);
    if (v) {
        /* "abc": a+b (rank 0), then ab+c; " ab": a+b first (rank 0 beats Ġ+a), then Ġ+ab is
         * no merge */
        int32_t want[] = {4, 5, 3};
        int32_t ids[16];
        size_t n;
        rc = tok_encode(v, "abc ab", 6, 0, ids, 16, &n);
        CHECK(rc == WARD_OK && same_ids(ids, n, want, 3), "small gpt2 encode (%zu ids)", n);
        CHECK(tok_is_eog(v, 7) && tok_type(v, 7) == TOK_TYPE_CONTROL, "eos is eog");
        CHECK(!tok_add_bos(v) && !tok_add_space_prefix(v), "gpt2 flags");
        tok_vocab_free(v);
    }
    const char *no_space[] = {"ab"};
    const char *unknown_left[] = {"x b"};
    const char *no_result[] = {"b c"};
    rc = load_gpt2(good, -1, "gpt-2", &v, &err);
    CHECK(rc == WARD_EFORMAT && !v && strstr(err.msg, "merges"), "no merges: %s", err.msg);
    rc = load_gpt2(no_space, 1, "gpt-2", &v, &err);
    CHECK(rc == WARD_EFORMAT && !v && strstr(err.msg, "merge 0"), "merge w/o space: %s", err.msg);
    rc = load_gpt2(unknown_left, 1, "gpt-2", &v, &err);
    CHECK(rc == WARD_EFORMAT && !v && strstr(err.msg, "left part"), "unknown left: %s", err.msg);
    rc = load_gpt2(no_result, 1, "gpt-2", &v, &err);
    CHECK(rc == WARD_EFORMAT && !v && strstr(err.msg, "result"), "no result: %s", err.msg);
    rc = load_gpt2(good, 3, "klingon", &v, &err);
    CHECK(rc == WARD_EUNSUPPORTED && !v && strstr(err.msg, "klingon"), "unknown pre: %s",
          err.msg);
    rc = load_gpt2(good, 3, NULL, &v, &err); /* missing pre: "default" */
    CHECK(rc == WARD_OK && v, "no pre: %s", err.msg);
    tok_vocab_free(v);
}

/* ---------------------------------------------------------------------------------------------
 * 5. allocation failure
 * ------------------------------------------------------------------------------------------- */

static void test_oom(void) {
    const char *p = shared_path("tokenizers/qwen.tiktoken");
    if (!p) return;
    char path[4096];
    snprintf(path, sizeof path, "%s", p);
    tok_vocab *v = NULL;
    ward_error err;
    ward_status rc = WARD_ENOMEM;
    long n;
    for (n = 1; n < 1000; n++) {
        ward_alloc_fail_after(n);
        rc = tok_load_tiktoken(path, NULL, &v, &err);
        ward_alloc_fail_after(0);
        if (rc == WARD_OK) break;
        CHECK(rc == WARD_ENOMEM && !v, "tiktoken load, allocation %ld failing: %d %s", n, rc,
              err.msg);
    }
    CHECK(rc == WARD_OK, "tiktoken load never succeeded");
    printf("oom: tiktoken load succeeded once %ld allocations were allowed\n", n);

    const char *text = "<|im_start|>user\nHello, 世界! café\xff 123<|im_end|>";
    int32_t want[128], got[128];
    size_t want_n = 0, got_n = 0;
    if (v) CHECK(tok_encode(v, text, strlen(text), TOK_PARSE_SPECIAL, want, 128, &want_n) == WARD_OK,
                 "reference encode");
    for (n = 1; v && n < 1000; n++) {
        ward_alloc_fail_after(n);
        rc = tok_encode(v, text, strlen(text), TOK_PARSE_SPECIAL, got, 128, &got_n);
        ward_alloc_fail_after(0);
        if (rc == WARD_OK) break;
        CHECK(rc == WARD_ENOMEM && got_n == 0, "encode, allocation %ld failing: %d", n, rc);
    }
    CHECK(rc == WARD_OK && same_ids(got, got_n, want, want_n), "encode after OOM loop");
    printf("oom: BPE encode succeeded once %ld allocations were allowed\n", n);
    tok_vocab_free(v);

    p = shared_path("tokenizers/ggml-vocab-deepseek-llm.gguf");
    if (!p) return;
    gguf_file *g = NULL;
    if (gguf_open(p, &g, &err) != WARD_OK) {
        CHECK(false, "%s", err.msg);
        return;
    }
    v = NULL;
    for (n = 1; n < 1000; n++) {
        ward_alloc_fail_after(n);
        rc = tok_vocab_from_gguf(g, &v, &err);
        ward_alloc_fail_after(0);
        if (rc == WARD_OK) break;
        CHECK(rc == WARD_ENOMEM && !v, "gguf gpt2 load, allocation %ld failing: %d %s", n, rc,
              err.msg);
    }
    CHECK(rc == WARD_OK, "gguf gpt2 load never succeeded");
    printf("oom: gguf gpt2 load succeeded once %ld allocations were allowed\n", n);
    tok_vocab_free(v);
    gguf_close(g);
}

int main(void) {
    tok_vocab *ds = load_gguf_vocab("tokenizers/ggml-vocab-deepseek-llm.gguf");
    test_vectors(ds, "tokenizers/ggml-vocab-deepseek-llm.gguf", "deepseek-llm (GGUF)");
    tok_vocab *qwen = load_tiktoken("tokenizers/qwen.tiktoken", NULL);
    test_vectors(qwen, "tokenizers/ggml-vocab-qwen2.gguf", "qwen2 (qwen.tiktoken)");
    test_vectors(qwen, "tokenizers/ggml-vocab-deepseek-r1-qwen.gguf",
                 "deepseek-r1-qwen (qwen.tiktoken)");
    tok_vocab *l3 = load_tiktoken("tokenizers/llama3.tiktoken", NULL);
    test_vectors(l3, "tokenizers/ggml-vocab-llama-bpe.gguf", "llama-bpe (llama3.tiktoken)");
    test_specials(qwen);
    test_llama3(l3);
    test_open();
    test_hostile_tiktoken();
    test_hostile_gguf();
    test_oom();
    tok_vocab_free(ds);
    tok_vocab_free(qwen);
    tok_vocab_free(l3);
    return test_summary();
}
