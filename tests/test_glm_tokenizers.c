/* test_glm_tokenizers.c: the tokenizer families of ChatGLM-6B/2/3, GLM-4, Baichuan and InternLM
 * (tokenizer/family.c): special tokens get their documented ids and control type, user text
 * never produces them, template spans do, and text round-trips.
 *
 * No real GLM tokenizer files are in ../shared, so the test builds small synthetic ones: a
 * SentencePiece ModelProto (BPE, byte fallback, no dummy prefix) written here with the family's
 * tokenizer_config.json beside it, a 256-rank tiktoken file for GLM-4, and GGUF vocabularies in
 * the layout llama.cpp's converter writes. Expected ids follow the families' tokenizer code:
 * ChatGLM2/3 append their specials at the piece count (64789 on in the real files), GLM-4's
 * follow its ranks (151329 on). Baichuan-7B's real vocabulary (ggml-vocab-baichuan.gguf) holds
 * <reserved_106>/<reserved_107> as normal pieces 199/200; its "baichuan" architecture makes
 * them control tokens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "formats/gguf.h"
#include "harness.h"
#include "pb_writer.h"
#include "models/model.h"
#include "tokenizer/tok.h"

/* ---------------------------------------------------------------------------------------------
 * Helpers: a small tokenizer.model (pb_writer.h), files, encode
 * ------------------------------------------------------------------------------------------- */

/* <unk> <s> </s>, 256 byte pieces, a few merges, then extra pieces (type 4 unless "!" first,
 * which means control). Returns the piece count. */
static int32_t spm_model_prefix(pb_buf *b, const char *const *extra, bool dummy_prefix);
static int32_t spm_model(pb_buf *b, const char *const *extra) {
    return spm_model_prefix(b, extra, false);
}

/* The same with the normalizer's add_dummy_prefix as given. */
static int32_t spm_model_prefix(pb_buf *b, const char *const *extra, bool dummy_prefix) {
    pb_buf t = {0}, n = {0};
    int32_t count = 0;
    pb_piece(b, "<unk>", 0, 2), count++;
    pb_piece(b, "<s>", 0, 3), count++;
    pb_piece(b, "</s>", 0, 3), count++;
    for (int c = 0; c < 256; c++, count++) {
        char hex[8];
        snprintf(hex, sizeof hex, "<0x%02X>", c);
        pb_piece(b, hex, 0, 6);
    }
    const char *normal[] = {"h", "i", "hi", "\xe2\x96\x81", "\xe2\x96\x81hi", "<", ">", "|"};
    for (size_t i = 0; i < sizeof normal / sizeof normal[0]; i++, count++)
        pb_piece(b, normal[i], -(float)i - 1.0f, 1);
    for (const char *const *e = extra; e && *e; e++, count++)
        pb_piece(b, **e == '!' ? *e + 1 : *e, 0, **e == '!' ? 3 : 4);
    pb_uint(&t, 3, 2);  /* BPE */
    pb_uint(&t, 35, 1); /* byte_fallback */
    pb_uint(&n, 3, dummy_prefix); /* none by default: round trips are exact */
    pb_bytes(b, 3, n.data, n.len);
    pb_bytes(b, 2, t.data, t.len);
    free(t.data);
    free(n.data);
    return count;
}

static bool write_bytes(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;
    if (f) ok = fclose(f) == 0 && ok;
    CHECK(ok, "writing %s", path);
    return ok;
}

/* A directory dir with tokenizer.model (extra pieces) and, if config, tokenizer_config.json. */
static char *make_dir(const char *tag, const char *const *extra, const char *config,
                      int32_t *n_pieces) {
    char *dir = strdup(test_tmp_path(tag));
    mkdir(dir, 0700);
    char path[512];
    pb_buf b = {0};
    *n_pieces = spm_model(&b, extra);
    snprintf(path, sizeof path, "%s/tokenizer.model", dir);
    write_bytes(path, b.data, b.len);
    free(b.data);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    if (config) write_bytes(path, config, strlen(config));
    else remove(path);
    return dir;
}

static void remove_dir(char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.model", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    remove(path);
    rmdir(dir);
    free(dir);
}

static tok_vocab *load_dir(const char *dir, const char *family, ward_status want, ward_error *err) {
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.model", dir);
    tok_vocab *v = NULL;
    ward_status rc = tok_load_spm_model_family(path, family, &v, err);
    CHECK(rc == want && (v != NULL) == (want == WARD_OK), "%s (family %s): status %d (%s), "
          "expected %d", dir, family ? family : "from config", rc, err->msg, want);
    return v;
}

static size_t enc(const tok_vocab *v, const char *s, unsigned flags, int32_t *out, size_t cap) {
    size_t n = 0;
    ward_status rc = tok_encode(v, s, strlen(s), flags, out, cap, &n);
    CHECK(rc == WARD_OK, "encode \"%s\": status %d", s, rc);
    return rc == WARD_OK ? n : 0;
}

static bool contains_id(const int32_t *ids, size_t n, int32_t id) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id) return true;
    return false;
}

/* decode(encode(s)) == s without special parsing, and no control token appears. */
static void check_round_trip(const tok_vocab *v, const char *label, const char *s) {
    int32_t ids[256];
    size_t n = enc(v, s, 0, ids, 256);
    char out[1024];
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK(tok_type(v, ids[i]) != TOK_TYPE_CONTROL, "%s: \"%s\" gave control token %d", label,
              s, ids[i]);
        size_t k = 0;
        ward_status rc = tok_token_bytes(v, ids[i], false, out + used, sizeof out - used, &k);
        CHECK(rc == WARD_OK, "%s: token bytes of %d", label, ids[i]);
        if (rc == WARD_OK) used += k;
    }
    CHECK(used == strlen(s) && memcmp(out, s, used) == 0, "%s: \"%s\" round trips to \"%.*s\"",
          label, s, (int)used, out);
}

/* The special at id has text t and control type. */
static void check_special(const tok_vocab *v, const char *label, int32_t id, const char *t) {
    size_t len = 0;
    const char *s = tok_text(v, id, &len);
    CHECK(s && len == strlen(t) && memcmp(s, t, len) == 0, "%s: token %d is \"%.*s\", expected "
          "\"%s\"", label, id, s ? (int)len : 6, s ? s : "(none)", t);
    CHECK(tok_type(v, id) == TOK_TYPE_CONTROL, "%s: %s (%d) has type %d, expected control",
          label, t, id, (int)tok_type(v, id));
}

/* "<|user|>" typed by a user is text; with special parsing, or from a template span, the token. */
static void check_user_vs_template(const tok_vocab *v, const char *label, const char *text,
                                   int32_t id) {
    int32_t ids[64];
    size_t n = enc(v, text, 0, ids, 64);
    CHECK(n > 1 && !contains_id(ids, n, id), "%s: user-typed %s gave the token", label, text);
    n = enc(v, text, TOK_PARSE_SPECIAL, ids, 64);
    CHECK(n == 1 && ids[0] == id, "%s: %s with special parsing: %zu ids", label, text, n);
    const tok_span spans[] = {{text, strlen(text), true}, {text, strlen(text), false}};
    size_t m = 0;
    CHECK(tok_encode_spans(v, spans, 2, 0, ids, 64, &m) == WARD_OK && m > 2 && ids[0] == id &&
              !contains_id(ids + 1, m - 1, id), "%s: %s in a template span, then in content",
          label, text);
}

/* ---------------------------------------------------------------------------------------------
 * ChatGLM2 / ChatGLM3: specials appended after the pieces
 * ------------------------------------------------------------------------------------------- */

static const char *const glm3_specials[] = {"[MASK]", "[gMASK]", "[sMASK]", "sop", "eop",
                                            "<|system|>", "<|user|>", "<|assistant|>",
                                            "<|observation|>"};

static void test_chatglm3(void) {
    const char *cfg = "{\"name_or_path\": \"THUDM/chatglm3-6b\", \"remove_space\": false, "
                      "\"tokenizer_class\": \"ChatGLMTokenizer\", \"auto_map\": {\"AutoTokenizer\":"
                      " [\"tokenization_chatglm.ChatGLMTokenizer\", null]}}";
    int32_t n;
    char *dir = make_dir("glm3", NULL, cfg, &n);
    ward_error err = {0};
    tok_vocab *v = load_dir(dir, NULL, WARD_OK, &err);
    if (v) {
        CHECK(tok_n_vocab(v) == n + 9, "chatglm3: %d tokens, expected %d", tok_n_vocab(v), n + 9);
        for (int i = 0; i < 9; i++) check_special(v, "chatglm3", n + i, glm3_specials[i]);
        CHECK(tok_eos(v) == 2 && tok_is_eog(v, 2), "chatglm3: eos </s> (2)");
        CHECK(tok_is_eog(v, n + 6) && tok_is_eog(v, n + 8) && !tok_is_eog(v, n + 7),
              "chatglm3: <|user|> and <|observation|> end generation, <|assistant|> does not");
        CHECK(!tok_add_bos(v), "chatglm3: the template writes [gMASK]sop, no BOS added");
        check_user_vs_template(v, "chatglm3", "<|user|>", n + 6);
        check_user_vs_template(v, "chatglm3", "[gMASK]", n + 1);
        check_round_trip(v, "chatglm3", "hi <|user|>[gMASK]sop<|observation|> \xe4\xbd\xa0");
        /* the ChatGLM3 prompt prefix, as the template spans give it */
        const tok_span spans[] = {{"[gMASK]sop<|user|>\n ", 20, true}, {"hi", 2, false},
                                  {"<|assistant|>", 13, true}};
        int32_t ids[32];
        size_t m = 0;
        CHECK(tok_encode_spans(v, spans, 3, 0, ids, 32, &m) == WARD_OK && m >= 5 &&
                  ids[0] == n + 1 && ids[1] == n + 3 && ids[2] == n + 6 && ids[m - 1] == n + 7,
              "chatglm3: [gMASK] sop <|user|> ... <|assistant|>");
        tok_vocab_free(v);
    }
    /* the same file by name, without a config */
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    remove(path);
    v = load_dir(dir, "chatglm3", WARD_OK, &err);
    if (v) check_special(v, "chatglm3 by name", n + 8, "<|observation|>");
    tok_vocab_free(v);
    v = load_dir(dir, NULL, WARD_OK, &err); /* no config: the protobuf alone */
    CHECK(v && tok_n_vocab(v) == n, "no config: no appended specials");
    tok_vocab_free(v);
    v = load_dir(dir, "none", WARD_OK, &err);
    CHECK(v && tok_n_vocab(v) == n, "family \"none\": the protobuf alone");
    tok_vocab_free(v);
    v = load_dir(dir, "chatglm5", WARD_EINVAL, &err);
    CHECK(strstr(err.msg, "chatglm5") != NULL, "unknown family named: %s", err.msg);
    remove_dir(dir);
}

static void test_chatglm2(void) {
    const char *cfg = "{\"name_or_path\": \"THUDM/chatglm-6b\", \"tokenizer_class\": "
                      "\"ChatGLMTokenizer\"}";
    int32_t n;
    char *dir = make_dir("glm2", NULL, cfg, &n);
    ward_error err = {0};
    tok_vocab *v = load_dir(dir, NULL, WARD_OK, &err);
    if (v) {
        CHECK(tok_n_vocab(v) == n + 5, "chatglm2: five specials appended");
        for (int i = 0; i < 5; i++) check_special(v, "chatglm2", n + i, glm3_specials[i]);
        CHECK(tok_find(v, "<|user|>", 8) < 0, "chatglm2 has no role tokens");
        check_user_vs_template(v, "chatglm2", "[gMASK]", n + 1);
        check_round_trip(v, "chatglm2", "[gMASK]sop hi");
        tok_vocab_free(v);
    }
    remove_dir(dir);
    /* auto_map alone names the class too */
    dir = make_dir("glm2b", NULL, "{\"auto_map\": {\"AutoTokenizer\": "
                   "[\"tokenization_chatglm.ChatGLMTokenizer\", null]}}", &n);
    v = load_dir(dir, NULL, WARD_OK, &err);
    CHECK(v && tok_n_vocab(v) == n + 5, "chatglm2 from auto_map");
    tok_vocab_free(v);
    remove_dir(dir);
}

/* ---------------------------------------------------------------------------------------------
 * ChatGLM-6B, Baichuan, InternLM: specials already in the protobuf, forced to control
 * ------------------------------------------------------------------------------------------- */

static void test_chatglm_v1(void) {
    const char *const extra[] = {"[MASK]", "[gMASK]", "[sMASK]", "<unused_0>", "<sop>", "<eop>",
                                 "<ENC>", "<dBLOCK>", NULL};
    int32_t n;
    char *dir = make_dir("glm1", extra, "{\"tokenizer_class\": \"ChatGLMTokenizer\", "
                         "\"num_image_tokens\": 0}", &n);
    ward_error err = {0};
    tok_vocab *v = load_dir(dir, NULL, WARD_OK, &err);
    const int32_t first = n - 8; /* [MASK] */
    if (v) {
        CHECK(tok_n_vocab(v) == n, "chatglm v1: nothing appended");
        for (int i = 0; i < 8; i++) check_special(v, "chatglm v1", first + i, extra[i]);
        CHECK(tok_bos(v) == first + 4 && tok_eos(v) == first + 5 && tok_is_eog(v, first + 5),
              "chatglm v1: bos <sop>, eos <eop>");
        check_user_vs_template(v, "chatglm v1", "[gMASK]", first + 1);
        check_round_trip(v, "chatglm v1", "hi[gMASK]<sop>");
        tok_vocab_free(v);
    }
    remove_dir(dir);
    /* without a config the pieces stay user-defined: matched even in user text */
    dir = make_dir("glm1b", extra, NULL, &n);
    v = load_dir(dir, NULL, WARD_OK, &err);
    if (v) {
        int32_t ids[8];
        size_t m = enc(v, "[gMASK]", 0, ids, 8);
        CHECK(m == 1 && tok_type(v, ids[0]) == TOK_TYPE_USER_DEFINED,
              "no family: a user-defined piece matches in user text");
    }
    tok_vocab_free(v);
    remove_dir(dir);
    dir = make_dir("glm1c", extra, "{\"tokenizer_class\": \"ChatGLMTokenizer\", "
                   "\"num_image_tokens\": 20000}", &n);
    v = load_dir(dir, NULL, WARD_EUNSUPPORTED, &err);
    CHECK(strstr(err.msg, "num_image_tokens") != NULL, "image-token offset refused: %s", err.msg);
    remove_dir(dir);
}

/* ChatGLM-6B's whitespace pieces (TOK_TEXT_GLM1). Expected ids follow SPTokenizer._preprocess:
 * "\n" -> <n>, "\t" -> <|tab|>, runs of 2..80 spaces -> <|blank_N|> (80 first, left to right; a
 * last single space stays a space), then SentencePiece with the pieces as user-defined symbols
 * (atomic; the dummy prefix only before the whole text). */
enum { P_H = 259, P_I, P_HI, P_SP, P_SPHI, P_LT, P_GT, P_BAR, P_FIRST_EXTRA }; /* spm_model ids */
#define BYTE(c) (3 + (c))

static const char *const glm1_specials[] = {"[MASK]", "[gMASK]", "[sMASK]", "<unused_0>", "<sop>",
                                            "<eop>", "<ENC>", "<dBLOCK>"};

/* A v1-like tokenizer.model: the 8 specials, <n>, <|tab|> (if with_tab), <|blank_2|> ..
 * <|blank_80|> (user-defined), then a control token with spaces in it. ids: [0] <n>, [1] <|tab|>
 * (or -1), [N] <|blank_N|>, [81] the control token. */
static char *make_glm1_dir(const char *tag, bool dummy_prefix, bool with_tab, const char *config,
                           int32_t ids[82]) {
    static char names[81][16];
    const char *extra[8 + 81 + 2];
    int n = 0, next = P_FIRST_EXTRA;
    for (int i = 0; i < 8; i++) extra[n++] = glm1_specials[i], next++;
    extra[n++] = "<n>", ids[0] = next++;
    ids[1] = -1;
    if (with_tab) extra[n++] = "<|tab|>", ids[1] = next++;
    for (int k = 2; k <= 80; k++) {
        snprintf(names[k], sizeof names[k], "<|blank_%d|>", k);
        extra[n++] = names[k], ids[k] = next++;
    }
    extra[n++] = "!<|a  b|>", ids[81] = next++;
    extra[n] = NULL;
    char *dir = strdup(test_tmp_path(tag));
    mkdir(dir, 0700);
    char path[512];
    pb_buf b = {0};
    spm_model_prefix(&b, extra, dummy_prefix);
    snprintf(path, sizeof path, "%s/tokenizer.model", dir);
    write_bytes(path, b.data, b.len);
    free(b.data);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    if (config) write_bytes(path, config, strlen(config));
    else remove(path);
    return dir;
}

static void check_ids(const tok_vocab *v, const char *label, const char *s, size_t len,
                      unsigned flags, const int32_t *want, size_t n_want) {
    int32_t ids[64];
    size_t n = 0;
    ward_status rc = tok_encode(v, s, len, flags, ids, 64, &n);
    bool same = rc == WARD_OK && n == n_want;
    for (size_t i = 0; same && i < n; i++) same = ids[i] == want[i];
    CHECK(same, "%s: status %d, %zu ids (expected %zu)", label, rc, n, n_want);
    if (!same)
        for (size_t i = 0; i < n && i < 64; i++)
            fprintf(stderr, "  [%zu] %d (want %d)\n", i, ids[i], i < n_want ? want[i] : -1);
}
#define IDS(...) ((const int32_t[]){__VA_ARGS__}), sizeof((const int32_t[]){__VA_ARGS__}) / 4
#define CHECK_IDS(v, label, s, flags, ...) check_ids(v, label, s, strlen(s), flags, IDS(__VA_ARGS__))

static void test_chatglm_v1_whitespace(void) {
    const char *cfg = "{\"tokenizer_class\": \"ChatGLMTokenizer\", \"num_image_tokens\": 0}";
    int32_t p[82];
    char sp[200];
    memset(sp, ' ', sizeof sp);
    char *dir = make_glm1_dir("glm1ws", false, true, cfg, p);
    ward_error err = {0};
    tok_vocab *v = load_dir(dir, NULL, WARD_OK, &err);
    if (v) {
        CHECK_IDS(v, "a\\nb", "hi\nhi", 0, P_HI, p[0], P_HI);
        CHECK_IDS(v, "x\\ty", "hi\thi", 0, P_HI, p[1], P_HI);
        CHECK_IDS(v, "one space stays", "hi hi", 0, P_HI, P_SPHI);
        CHECK_IDS(v, "3 spaces", "hi   hi", 0, P_HI, p[3], P_HI);
        CHECK_IDS(v, "newline runs", "\n\nhi\n", 0, p[0], p[0], P_HI, p[0]);
        CHECK_IDS(v, "mixed", "hi\n  \thi hi \n", 0, P_HI, p[0], p[2], p[1], P_HI, P_SPHI, P_SP,
                  p[0]);
        CHECK_IDS(v, "space then newline", "hi \n", 0, P_HI, P_SP, p[0]);
        /* long runs: blanks of 80 first, then the rest */
        char t[256];
        int lens[] = {80, 81, 82, 160, 161, 162, 79};
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            int k = lens[i];
            snprintf(t, sizeof t, "hi%.*shi", k, sp);
            int32_t want[8];
            size_t n = 0;
            want[n++] = P_HI;
            for (int b = 0; b < k / 80; b++) want[n++] = p[80];
            if (k % 80 >= 2) want[n++] = p[k % 80];
            want[n++] = k % 80 == 1 ? P_SPHI : P_HI;
            char label[32];
            snprintf(label, sizeof label, "%d spaces", k);
            check_ids(v, label, t, strlen(t), 0, want, n);
        }
        snprintf(t, sizeof t, "%.*s", 81, sp);
        CHECK_IDS(v, "81 spaces alone", t, 0, p[80], P_SP);
        /* user-typed pieces are the same pieces; control tokens keep their text */
        CHECK_IDS(v, "typed <n>", "hi<n>hi", 0, P_HI, p[0], P_HI);
        CHECK_IDS(v, "control with spaces", "<|a  b|>\thi", TOK_PARSE_SPECIAL, p[81], p[1], P_HI);
        /* template spans are text too, and join across span boundaries */
        const tok_span spans[] = {{"[gMASK]<sop>", 12, true}, {"hi ", 3, false}, {" \n", 2, false}};
        int32_t ids[16];
        size_t m = 0;
        CHECK(tok_encode_spans(v, spans, 3, 0, ids, 16, &m) == WARD_OK && m == 5 &&
                  ids[0] == P_FIRST_EXTRA + 1 && ids[1] == P_FIRST_EXTRA + 4 && ids[2] == P_HI &&
                  ids[3] == p[2] && ids[4] == p[0], "chatglm v1: spans [gMASK] <sop> hi blank_2 <n>");
        /* token bytes give the whitespace back */
        char out[128];
        size_t k = 0;
        CHECK(tok_token_bytes(v, p[0], false, out, sizeof out, &k) == WARD_OK && k == 1 &&
              out[0] == '\n', "<n> is a newline");
        CHECK(tok_token_bytes(v, p[1], false, out, sizeof out, &k) == WARD_OK && k == 1 &&
              out[0] == '\t', "<|tab|> is a tab");
        CHECK(tok_token_bytes(v, p[80], false, out, sizeof out, &k) == WARD_OK && k == 80 &&
              memcmp(out, sp, 80) == 0, "<|blank_80|> is 80 spaces");
        CHECK(tok_token_bytes(v, p[7], false, out, 3, &k) == WARD_ERANGE && k == 7 &&
              memcmp(out, sp, 3) == 0, "<|blank_7|> into 3 bytes: ERANGE, 7 needed");
        CHECK(tok_token_bytes(v, p[81], true, out, sizeof out, &k) == WARD_OK && k == 8 &&
              memcmp(out, "<|a  b|>", 8) == 0, "a control token renders its own text");
        check_round_trip(v, "chatglm v1 ws", "hi\n\thi  hi   \n\n    hi\t\t hi ");
        snprintf(t, sizeof t, "hi%.*s\n%.*shi", 163, sp, 2, sp);
        check_round_trip(v, "chatglm v1 long run", t);
        tok_vocab_free(v);
    }
    remove_dir(dir);

    /* with SentencePiece's dummy prefix: once, before the whole text, even before a piece */
    dir = make_glm1_dir("glm1wsp", true, true, cfg, p);
    v = load_dir(dir, NULL, WARD_OK, &err);
    if (v) {
        CHECK_IDS(v, "prefix a\\nb", "hi\nhi", 0, P_SPHI, p[0], P_HI);
        CHECK_IDS(v, "prefix \\nhi", "\nhi", 0, P_SP, p[0], P_HI);
        CHECK_IDS(v, "prefix typed <n>", "<n>hi", 0, P_SP, p[0], P_HI);
        CHECK_IDS(v, "prefix after control", "<sop>\thi", TOK_PARSE_SPECIAL, P_FIRST_EXTRA + 4,
                  P_SP, p[1], P_HI);
        char t[128];
        snprintf(t, sizeof t, "%.*shi", 81, sp);
        CHECK_IDS(v, "prefix 81 spaces", t, 0, P_SP, p[80], P_SPHI);
        tok_vocab_free(v);
    }
    remove_dir(dir);

    /* a piece missing from the vocabulary: its text is encoded as text */
    dir = make_glm1_dir("glm1wsm", false, false, cfg, p);
    v = load_dir(dir, NULL, WARD_OK, &err);
    if (v) {
        CHECK_IDS(v, "no <|tab|> piece", "hi\thi", 0, P_HI, P_LT, P_BAR, BYTE('t'), BYTE('a'),
                  BYTE('b'), P_BAR, P_GT, P_HI);
        CHECK_IDS(v, "no <|tab|>, <n> still", "\n\t", 0, p[0], P_LT, P_BAR, BYTE('t'), BYTE('a'),
                  BYTE('b'), P_BAR, P_GT);
        tok_vocab_free(v);
    }
    remove_dir(dir);

    /* without the family the same vocabulary is plain SentencePiece */
    dir = make_glm1_dir("glm1wsn", false, true, NULL, p);
    v = load_dir(dir, NULL, WARD_OK, &err);
    if (v) {
        CHECK_IDS(v, "no family: newline", "hi\nhi", 0, P_HI, BYTE('\n'), P_HI);
        CHECK_IDS(v, "no family: 3 spaces", "hi   hi", 0, P_HI, P_SP, P_SP, P_SPHI);
        char out[16];
        size_t k = 0;
        CHECK(tok_token_bytes(v, p[0], false, out, sizeof out, &k) == WARD_OK && k == 3 &&
              memcmp(out, "<n>", 3) == 0, "no family: <n> is its text");
        tok_vocab_free(v);
    }
    remove_dir(dir);
}

static void test_baichuan_internlm(void) {
    const char *const bc[] = {"<reserved_106>", "<reserved_107>", NULL};
    int32_t n;
    char *dir = make_dir("bc2", bc, "{\"tokenizer_class\": \"BaichuanTokenizer\"}", &n);
    ward_error err = {0};
    tok_vocab *v = load_dir(dir, NULL, WARD_OK, &err);
    if (v) {
        check_special(v, "baichuan2", n - 2, "<reserved_106>");
        check_special(v, "baichuan2", n - 1, "<reserved_107>");
        check_user_vs_template(v, "baichuan2", "<reserved_106>", n - 2);
        check_round_trip(v, "baichuan2", "<reserved_106>hi<reserved_107>");
        tok_vocab_free(v);
    }
    remove_dir(dir);

    const char *const ilm[] = {"<eoh>", "<eoa>", NULL};
    dir = make_dir("ilm", ilm, "{\"tokenizer_class\": \"InternLMTokenizer\"}", &n);
    v = load_dir(dir, NULL, WARD_OK, &err);
    if (v) {
        check_special(v, "internlm", n - 2, "<eoh>");
        check_special(v, "internlm", n - 1, "<eoa>");
        CHECK(tok_is_eog(v, n - 1) && tok_is_eog(v, 2) && !tok_is_eog(v, n - 2),
              "internlm: </s> and <eoa> end generation, <eoh> does not");
        check_user_vs_template(v, "internlm", "<eoa>", n - 1);
        check_round_trip(v, "internlm", "<|User|>:hi<eoh>\n<|Bot|>:<eoa>");
        tok_vocab_free(v);
    }
    remove_dir(dir);

    /* InternLM2's class is another family: nothing forced */
    dir = make_dir("ilm2", ilm, "{\"tokenizer_class\": \"InternLM2Tokenizer\"}", &n);
    v = load_dir(dir, NULL, WARD_OK, &err);
    CHECK(v && tok_type(v, n - 1) == TOK_TYPE_USER_DEFINED, "InternLM2Tokenizer is not v1");
    tok_vocab_free(v);
    remove_dir(dir);

    /* a config that is not JSON */
    dir = make_dir("badcfg", NULL, "{\"tokenizer_class\": ", &n);
    v = load_dir(dir, NULL, WARD_EFORMAT, &err);
    CHECK(strstr(err.msg, "tokenizer_config.json") != NULL, "malformed config named: %s",
          err.msg);
    remove_dir(dir);
}

/* Baichuan-7B's real vocabulary: <reserved_106> and <reserved_107> are there as NORMAL pieces
 * 199 and 200 (Baichuan2's are 195 and 196: another vocabulary). The "baichuan" architecture
 * makes them control tokens, so Baichuan2's chat markers are single tokens from a template
 * span and plain text (several pieces, as in llama.cpp) from a user. */
static void test_baichuan_gguf(void) {
    const char *path = shared_path("tokenizers/ggml-vocab-baichuan.gguf");
    if (!path) return;
    ward_tokenizer *t = NULL;
    ward_error err = {0};
    if (ward_tokenizer_open(path, &t, &err) != WARD_OK) {
        CHECK(false, "%s: %s", path, err.msg);
        return;
    }
    const tok_vocab *v = t->vocab;
    CHECK(tok_n_vocab(v) == 64000, "Baichuan-7B: 64000 tokens");
    CHECK(tok_find(v, "<reserved_106>", 14) == 199 && tok_find(v, "<reserved_107>", 14) == 200,
          "Baichuan-7B: <reserved_106> 199, <reserved_107> 200");
    check_special(v, "Baichuan-7B", 199, "<reserved_106>");
    check_special(v, "Baichuan-7B", 200, "<reserved_107>");
    check_user_vs_template(v, "Baichuan-7B", "<reserved_106>", 199);
    check_user_vs_template(v, "Baichuan-7B", "<reserved_107>", 200);
    CHECK(tok_type(v, 198) == TOK_TYPE_NORMAL, "Baichuan-7B: <reserved_105> stays normal");
    ward_tokenizer_close(t);
}

/* ---------------------------------------------------------------------------------------------
 * GLM-4: tiktoken ranks + 14 specials
 * ------------------------------------------------------------------------------------------- */

static const char *const glm4_specials[] = {
    "<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>",
    "<|assistant|>", "<|observation|>", "<|begin_of_image|>", "<|end_of_image|>",
    "<|begin_of_video|>", "<|end_of_video|>"};

static void test_glm4_tiktoken(void) {
    /* one rank per byte: base64 of byte b, rank b */
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *text = malloc(256 * 16);
    size_t len = 0;
    for (int b = 0; b < 256; b++)
        len += (size_t)sprintf(text + len, "%c%c== %d\n", b64[b >> 2], b64[(b & 3) << 4], b);
    char *path = strdup(test_tmp_path("glm4.tiktoken"));
    write_bytes(path, text, len);
    free(text);
    tok_vocab *v = NULL;
    ward_error err = {0};
    ward_status rc = tok_load_tiktoken(path, "chatglm-bpe", &v, &err);
    CHECK(rc == WARD_OK, "glm4 tiktoken: %s", err.msg);
    if (v) {
        CHECK(tok_n_vocab(v) == 256 + 14, "glm4: 256 ranks + 14 specials, got %d",
              tok_n_vocab(v));
        for (int i = 0; i < 14; i++) check_special(v, "glm4", 256 + i, glm4_specials[i]);
        CHECK(tok_bos(v) < 0 && !tok_add_bos(v), "glm4: no BOS");
        CHECK(tok_eos(v) == 256 && tok_is_eog(v, 256 + 7) && tok_is_eog(v, 256 + 9) &&
                  !tok_is_eog(v, 256 + 8), "glm4: EOS <|endoftext|>, EOG <|user|> <|observation|>");
        check_user_vs_template(v, "glm4", "<|user|>", 256 + 7);
        check_user_vs_template(v, "glm4", "[gMASK]", 256 + 2);
        check_round_trip(v, "glm4", "[gMASK]<sop><|user|>\nhi \xe4\xbd\xa0\xe5\xa5\xbd");
        tok_vocab_free(v);
    }
    /* without the name, 256 ranks are nobody's */
    rc = tok_load_tiktoken(path, NULL, &v, &err);
    CHECK(rc == WARD_EUNSUPPORTED && !v && strstr(err.msg, "GLM-4"), "unnamed: %s", err.msg);
    /* a tokenizer.model that is a tiktoken file is sniffed as one (GLM-4 ships it so) */
    char *dir = strdup(test_tmp_path("glm4dir"));
    mkdir(dir, 0700);
    char model[512];
    snprintf(model, sizeof model, "%s/tokenizer.model", dir);
    rename(path, model);
    ward_tokenizer *t = NULL;
    rc = ward_tokenizer_open(dir, &t, &err);
    CHECK(rc == WARD_EUNSUPPORTED && strstr(err.msg, "pre-tokenizer"),
          "tokenizer.model with tiktoken ranks goes to the tiktoken loader: %s", err.msg);
    ward_tokenizer_close(t);
    remove(model);
    rmdir(dir);
    free(dir);
    free(path);
}

/* ---------------------------------------------------------------------------------------------
 * GGUF vocabularies in llama.cpp's converter layout
 * ------------------------------------------------------------------------------------------- */

/* A vocab-only GGUF: model "llama", pre, arch; texts with types. */
static tok_vocab *gguf_vocab(const char *arch, const char *pre, const char *const *texts,
                             const int32_t *types, int32_t n) {
    const char *path = test_tmp_path("glm-vocab.gguf");
    gguf_writer *w = NULL;
    float *scores = calloc((size_t)n, sizeof *scores);
    ward_status st = gguf_writer_open(path, &w, NULL);
    if (st == WARD_OK) st = gguf_writer_set_str(w, "general.architecture", arch);
    if (st == WARD_OK) st = gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    if (st == WARD_OK && pre) st = gguf_writer_set_str(w, "tokenizer.ggml.pre", pre);
    if (st == WARD_OK) st = gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", texts, (uint64_t)n);
    if (st == WARD_OK)
        st = gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_VT_F32, scores, (uint64_t)n);
    if (st == WARD_OK)
        st = gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_VT_I32, types, (uint64_t)n);
    if (st == WARD_OK) st = gguf_writer_write_header(w);
    if (st == WARD_OK) st = gguf_writer_finish(w, NULL);
    else gguf_writer_close(w);
    free(scores);
    tok_vocab *v = NULL;
    gguf_file *g = NULL;
    ward_error err = {0};
    if (st == WARD_OK) st = gguf_open(path, &g, &err);
    if (st == WARD_OK) st = tok_vocab_from_gguf(g, &v, &err);
    gguf_close(g);
    remove(path);
    CHECK(st == WARD_OK, "GGUF vocab (%s, %s): %s", arch, pre ? pre : "-", err.msg);
    return v;
}

static void test_gguf_families(void) {
    /* ChatGLM3 as llama.cpp writes it (pre "chatglm-spm"), but with the role tokens typed
     * user-defined as a careless file might: they become control */
    const char *texts[] = {"<unk>", "<bos>", "<eos>", "h", "i", "<", ">", "|", "u", "s", "e", "r",
                           "[gMASK]", "sop", "<|user|>", "<|observation|>"};
    int32_t types[16] = {2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 4, 4};
    tok_vocab *v = gguf_vocab("chatglm", "chatglm-spm", texts, types, 16);
    if (v) {
        check_special(v, "gguf chatglm3", 14, "<|user|>");
        check_special(v, "gguf chatglm3", 15, "<|observation|>");
        CHECK(tok_is_eog(v, 14) && tok_is_eog(v, 15), "gguf chatglm3: <|user|>, <|observation|> "
              "end generation");
        check_user_vs_template(v, "gguf chatglm3", "<|user|>", 14);
        tok_vocab_free(v);
    }
    /* the same tokens under another architecture keep the file's types */
    v = gguf_vocab("llama", NULL, texts, types, 16);
    CHECK(v && tok_type(v, 14) == TOK_TYPE_USER_DEFINED, "llama arch: types as written");
    tok_vocab_free(v);
    /* Baichuan2 markers and InternLM's by architecture */
    const char *bt[] = {"<unk>", "<s>", "</s>", "a", "<reserved_106>", "<reserved_107>", "<eoh>",
                        "<eoa>"};
    int32_t btypes[8] = {2, 3, 3, 1, 4, 4, 4, 4};
    v = gguf_vocab("baichuan", NULL, bt, btypes, 8);
    if (v) {
        check_special(v, "gguf baichuan", 4, "<reserved_106>");
        check_special(v, "gguf baichuan", 5, "<reserved_107>");
        CHECK(tok_type(v, 7) == TOK_TYPE_USER_DEFINED, "gguf baichuan: <eoa> untouched");
        tok_vocab_free(v);
    }
    /* ChatGLM-6B by architecture: specials control, whitespace pieces */
    const char *g1[] = {"<unk>", "<s>", "</s>", "h", "\xe2\x96\x81", "<n>", "<|tab|>", "<|blank_2|>",
                        "[gMASK]", "<sop>", "<eop>"};
    int32_t g1types[11] = {2, 3, 3, 1, 1, 4, 4, 4, 1, 1, 1};
    v = gguf_vocab("chatglm1", NULL, g1, g1types, 11);
    if (v) {
        check_special(v, "gguf chatglm1", 8, "[gMASK]");
        check_special(v, "gguf chatglm1", 9, "<sop>");
        CHECK_IDS(v, "gguf chatglm1", "h\n  h\t", 0, 4, 3, 5, 7, 3, 6);
        char out[8];
        size_t k = 0;
        CHECK(tok_token_bytes(v, 7, false, out, sizeof out, &k) == WARD_OK && k == 2 &&
              memcmp(out, "  ", 2) == 0, "gguf chatglm1: <|blank_2|> is two spaces");
        tok_vocab_free(v);
    }
    v = gguf_vocab("internlm", NULL, bt, btypes, 8);
    if (v) {
        check_special(v, "gguf internlm", 7, "<eoa>");
        CHECK(tok_is_eog(v, 7), "gguf internlm: <eoa> ends generation");
        tok_vocab_free(v);
    }
}

int main(void) {
    test_chatglm3();
    test_chatglm2();
    test_chatglm_v1();
    test_chatglm_v1_whitespace();
    test_baichuan_internlm();
    test_baichuan_gguf();
    test_glm4_tiktoken();
    test_gguf_families();
    return test_summary();
}
