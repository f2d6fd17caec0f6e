/* test_tokenizer_files.c: the tokenizer.json and tokenizer.model loaders (hf_json.c,
 * spm_model.c), on real files and on hostile ones.
 *
 * 1. Llama 2's tokenizer.model reproduces every llama.cpp vector of ggml-vocab-llama-spm.gguf,
 *    and its vocabulary equals the GGUF one token for token (text, type, specials).
 * 2. MiniCPM3 (SentencePiece-style BPE) and MiniMind (byte-level BPE) tokenizer.json files load;
 *    decode(encode(text)) gives the text back for mixed Chinese / English / emoji text; a few id
 *    sequences checked by hand against the files' vocab (the ids in the comments come from
 *    reading the JSON, never from our own output).
 * 3. Hostile input: a small tokenizer.json built here, cut at every byte and with wrong types,
 *    bad ids, duplicates, unknown merges, unsupported components; a small ModelProto with
 *    varints and lengths running off the end, bad wire types, bad values, absurd piece counts.
 *    Each must be an error with a message (and the expected code), never a crash.
 * 4. Allocation failure N = 1, 2, ... while loading: WARD_ENOMEM, nothing built, no leak (ASan).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "formats/gguf.h"
#include "harness.h"
#include "pb_writer.h"
#include "tok_helpers.h"
#include "tokenizer/tok.h"
#include "vectors.h"

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

static void check_ids(const tok_vocab *v, const char *text, unsigned flags, const int32_t *want,
                      size_t n_want, const char *label) {
    size_t n;
    int32_t *got = encode(v, text, strlen(text), flags, &n);
    bool ok = n == n_want && memcmp(got, want, n * sizeof *got) == 0;
    CHECK(ok, "%s: encoding of \"%s\" differs", label, text);
    if (!ok) {
        print_ids("want", want, n_want);
        print_ids("got ", got, n);
    }
    free(got);
}

/* decode(encode(text)) == prefix + text */
static void check_roundtrip(const tok_vocab *v, const char *text, const char *prefix,
                            const char *label) {
    size_t n, dlen, plen = strlen(prefix), tlen = strlen(text);
    int32_t *ids = encode(v, text, tlen, 0, &n);
    char *back = decode(v, ids, n, false, &dlen);
    CHECK(dlen == plen + tlen && memcmp(back, prefix, plen) == 0 &&
              memcmp(back + plen, text, tlen) == 0,
          "%s: decode(encode(\"%s\")) = \"%s\"", label, text, back);
    free(back);
    free(ids);
}

static tok_vocab *load_hf(const char *rel) {
    const char *path = shared_path(rel);
    if (!path) return NULL;
    tok_vocab *v = NULL;
    ward_error err = {0};
    ward_status rc = tok_load_hf_json(path, &v, &err);
    CHECK(rc == WARD_OK && v, "%s: %s", rel, err.msg);
    return v;
}

/* ---------------------------------------------------------------------------------------------
 * 1. Llama 2's tokenizer.model
 * ------------------------------------------------------------------------------------------- */

static void test_llama2_model(void) {
    const char *path = shared_path("tokenizers/llama2-sentencepiece.model");
    if (!path) return;
    tok_vocab *v = NULL, *ref = NULL;
    ward_error err = {0};
    ward_status rc = tok_load_spm_model(path, &v, &err);
    CHECK(rc == WARD_OK && v, "llama2-sentencepiece.model: %s", err.msg);
    if (!v) return;

    /* the same vocabulary as llama.cpp's GGUF conversion */
    const char *gpath = shared_path("tokenizers/ggml-vocab-llama-spm.gguf");
    gguf_file *g = NULL;
    if (gpath && gguf_open(gpath, &g, &err) == WARD_OK) rc = tok_vocab_from_gguf(g, &ref, &err);
    gguf_close(g);
    CHECK(ref != NULL, "ggml-vocab-llama-spm.gguf: %s", err.msg);
    if (ref) {
        CHECK(tok_n_vocab(v) == tok_n_vocab(ref), "n_vocab %d vs %d", tok_n_vocab(v),
              tok_n_vocab(ref));
        int32_t n_diff = 0;
        for (int32_t id = 0; id < tok_n_vocab(v) && id < tok_n_vocab(ref); id++) {
            size_t la, lb;
            const char *a = tok_text(v, id, &la), *b = tok_text(ref, id, &lb);
            if (la != lb || memcmp(a, b, la) != 0 || tok_type(v, id) != tok_type(ref, id))
                n_diff++;
        }
        CHECK(n_diff == 0, "%d tokens differ from the GGUF vocabulary", n_diff);
        CHECK(tok_bos(v) == tok_bos(ref) && tok_eos(v) == tok_eos(ref) &&
                  tok_unk(v) == tok_unk(ref),
              "specials: bos %d eos %d unk %d", tok_bos(v), tok_eos(v), tok_unk(v));
        CHECK(tok_add_bos(v) && !tok_add_eos(v) && tok_add_space_prefix(v), "add_* flags");
        tok_vocab_free(ref);
    }

    /* llama.cpp's vectors, every one */
    vector_set tv;
    if (vectors_read("tokenizers/ggml-vocab-llama-spm.gguf", &tv)) {
        size_t n_ok = 0;
        for (size_t i = 0; i < tv.n; i++) {
            const test_vector *c = &tv.cases[i];
            size_t n;
            int32_t *got = encode(v, c->text, c->len, 0, &n);
            bool ok = n == c->n_ids && (n == 0 || memcmp(got, c->ids, n * sizeof *got) == 0);
            CHECK(ok, "llama2 model case %zu: \"%.*s\" differs", i, (int)c->len, c->text);
            if (!ok) {
                print_ids("want", c->ids, c->n_ids);
                print_ids("got ", got, n);
            }
            n_ok += ok;
            free(got);
        }
        printf("llama2-sentencepiece.model: %zu/%zu vectors identical\n", n_ok, tv.n);
    }
    vectors_free(&tv);
    tok_vocab_free(v);
}

/* ---------------------------------------------------------------------------------------------
 * 2. Real tokenizer.json files
 * ------------------------------------------------------------------------------------------- */

static const char *const mixed_texts[] = {
    "Hello world",
    "\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c\xef\xbc\x81 Hello, world!",
    "\xe4\xba\xba\xe5\xb7\xa5\xe6\x99\xba\xe8\x83\xbd (AI) is \xf0\x9f\x98\x80\xf0\x9f\x9a\x80 fun",
    "  leading spaces, tabs\tand\nnew lines\n\n",
    "mixed \xe4\xb8\xad\xe6\x96\x87" "English123 \xf0\x9f\x8e\x89\xf0\x9f\x8e\x89 4567",
    "\xe6\x88\x91\xe4\xbb\xac\xe7\x9a\x84 emoji \xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80"
    "\x8d\xf0\x9f\x91\xa7 family",
};

static void test_minimind(void) {
    tok_vocab *v = load_hf("tokenizers/minimind/tokenizer.json");
    if (!v) return;
    CHECK(tok_n_vocab(v) == 6400, "minimind n_vocab %d", tok_n_vocab(v));
    /* tokenizer_config.json: bos <|im_start|> (1), eos <|im_end|> (2), add_bos_token false */
    CHECK(tok_bos(v) == 1 && tok_eos(v) == 2 && !tok_add_bos(v), "minimind bos %d eos %d add %d",
          tok_bos(v), tok_eos(v), tok_add_bos(v));
    CHECK(tok_type(v, 0) == TOK_TYPE_CONTROL, "<|endoftext|> is special: control");
    for (size_t i = 0; i < sizeof mixed_texts / sizeof *mixed_texts; i++)
        check_roundtrip(v, mixed_texts[i], "", "minimind");
    /* vocab: "Hello" 1602, "Ġworld" 1707; "你好" (bytes ä½łå¥½) 1968; "人工智能" 2225 */
    check_ids(v, "Hello world", 0, (const int32_t[]){1602, 1707}, 2, "minimind");
    check_ids(v, "\xe4\xbd\xa0\xe5\xa5\xbd", 0, (const int32_t[]){1968}, 1, "minimind");
    check_ids(v, "\xe4\xba\xba\xe5\xb7\xa5\xe6\x99\xba\xe8\x83\xbd", 0, (const int32_t[]){2225}, 1,
              "minimind");
    /* added tokens: <|im_start|> is id 1, special */
    check_ids(v, "<|im_start|>hello", TOK_PARSE_SPECIAL, (const int32_t[]){1, 6170}, 2,
              "minimind special");
    tok_vocab_free(v);
}

static void test_minicpm3(void) {
    tok_vocab *v = load_hf("tokenizers/minicpm3/tokenizer.json");
    if (!v) return;
    CHECK(tok_n_vocab(v) == 73448, "minicpm3 n_vocab %d", tok_n_vocab(v));
    /* post_processor template <s> $A; config: bos <s> (1), eos <|im_end|>, add_bos true */
    size_t len;
    const char *eos = tok_eos(v) >= 0 ? tok_text(v, tok_eos(v), &len) : NULL;
    CHECK(tok_bos(v) == 1 && tok_add_bos(v) && eos && len == 10 && !memcmp(eos, "<|im_end|>", 10),
          "minicpm3 bos %d eos %d add_bos %d", tok_bos(v), tok_eos(v), tok_add_bos(v));
    CHECK(tok_unk(v) == 0 && tok_add_space_prefix(v), "minicpm3 unk %d", tok_unk(v));
    CHECK(tok_type(v, 1099) == TOK_TYPE_BYTE, "<0x0A> is a byte token");
    for (size_t i = 0; i < sizeof mixed_texts / sizeof *mixed_texts; i++)
        check_roundtrip(v, mixed_texts[i], " ", "minicpm3");
    /* vocab: "▁Hello" 21045, "▁world" 2809, "▁中国" 7737, "<s>" 1 */
    check_ids(v, "Hello world", 0, (const int32_t[]){21045, 2809}, 2, "minicpm3");
    check_ids(v, "Hello world", TOK_ADD_BOS, (const int32_t[]){1, 21045, 2809}, 3, "minicpm3");
    check_ids(v, "\xe4\xb8\xad\xe5\x9b\xbd", 0, (const int32_t[]){7737}, 1, "minicpm3");
    tok_vocab_free(v);
}

/* ---------------------------------------------------------------------------------------------
 * 3a. Hostile tokenizer.json
 * ------------------------------------------------------------------------------------------- */

/* A small valid byte-level file; each hostile case replaces one part. */
#define J_VOCAB "{\"a\":0,\"b\":1,\"ab\":2,\"\xc4\xa0\":3,\"\xc4\xa0" "ab\":4}"
#define J_MERGES "[\"a b\",[\"\xc4\xa0\",\"ab\"]]"
#define J_ADDED "[{\"id\":5,\"content\":\"<s>\",\"special\":true}]"
#define J_PRE "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true}"
#define J_POST "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\"," \
               "\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}]}"
#define J_MODEL(type, vocab, merges) \
    "{\"type\":" type ",\"vocab\":" vocab ",\"merges\":" merges ",\"byte_fallback\":false}"
#define J_FILE(model, added, norm, pre, post)                                                   \
    "{\"version\":\"1.0\",\"added_tokens\":" added ",\"normalizer\":" norm                    \
    ",\"pre_tokenizer\":" pre ",\"post_processor\":" post ",\"model\":" model "}"
#define J_OK J_FILE(J_MODEL("\"BPE\"", J_VOCAB, J_MERGES), J_ADDED, "null", J_PRE, J_POST)

static void expect_hf(const char *json, const char *config, ward_status want, const char *needle,
                      const char *label) {
    tok_vocab *v = NULL;
    ward_error err = {0};
    ward_status rc = tok_parse_hf_json(json, strlen(json), config, config ? strlen(config) : 0,
                                       &v, &err);
    CHECK(rc == want && (want == WARD_OK) == (v != NULL),
          "%s: status %d (%s), expected %d", label, rc, err.msg, want);
    if (want != WARD_OK)
        CHECK(strstr(err.msg, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", label, err.msg,
              needle);
    tok_vocab_free(v);
}

static void test_hostile_json(void) {
    expect_hf(J_OK, NULL, WARD_OK, "", "valid file");
    {   /* the valid file works: " ab" is one token, <s> comes first */
        tok_vocab *v = NULL;
        ward_error err = {0};
        if (tok_parse_hf_json(J_OK, strlen(J_OK), NULL, 0, &v, &err) == WARD_OK) {
            check_ids(v, "ab ab", TOK_ADD_BOS, (const int32_t[]){5, 2, 4}, 3, "small file");
            tok_vocab_free(v);
        }
    }
    const char *cfg_ok = "{\"bos_token\":{\"content\":\"<s>\"},\"add_bos_token\":false}";
    expect_hf(J_OK, cfg_ok, WARD_OK, "", "valid config");

    /* malformed JSON: every proper prefix, and trailing garbage */
    const char *ok = J_OK;
    size_t n = strlen(ok), n_bad = 0;
    for (size_t cut = 0; cut < n; cut++) {
        tok_vocab *v = NULL;
        ward_error err = {0};
        char *copy = malloc(cut + 1); /* exactly cut bytes, so ASan sees any overread */
        memcpy(copy, ok, cut);
        ward_status rc = tok_parse_hf_json(copy, cut, NULL, 0, &v, &err);
        free(copy);
        n_bad += rc == WARD_EFORMAT && !v && strstr(err.msg, "malformed JSON at byte");
        tok_vocab_free(v);
    }
    CHECK(n_bad == n, "truncated JSON: %zu of %zu cuts gave a malformed-JSON error", n_bad, n);
    expect_hf(J_OK "x", NULL, WARD_EFORMAT, "after the JSON value", "trailing data");
    expect_hf("{\"model\": [1, 2,, 3]}", NULL, WARD_EFORMAT, "byte 16", "error position");
    expect_hf("[]", NULL, WARD_EFORMAT, "top level", "array at top");
    expect_hf(J_OK, "{\"bos_token\": ", WARD_EFORMAT, "tokenizer_config.json: malformed",
              "bad config");

    /* wrong types */
    expect_hf(J_FILE(J_MODEL("\"BPE\"", "[]", J_MERGES), J_ADDED, "null", J_PRE, J_POST), NULL,
              WARD_EFORMAT, "model.vocab is an array", "vocab array");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", "{\"a\":\"0\"}", "[]"), "[]", "null", J_PRE, "null"), NULL,
              WARD_EFORMAT, "id is not an integer", "id string");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, "{}"), J_ADDED, "null", J_PRE, J_POST), NULL,
              WARD_EFORMAT, "model.merges is an object", "merges object");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, "[3]"), J_ADDED, "null", J_PRE, J_POST), NULL,
              WARD_EFORMAT, "model.merges[0] is a number", "merge number");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, J_MERGES), "{}", "null", J_PRE, J_POST), NULL,
              WARD_EFORMAT, "added_tokens is an object", "added object");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, J_MERGES), "[{\"id\":5,\"content\":7}]", "null",
                     J_PRE, J_POST),
              NULL, WARD_EFORMAT, "content is a number", "content number");
    expect_hf(J_FILE(J_MODEL("7", J_VOCAB, J_MERGES), J_ADDED, "null", J_PRE, J_POST), NULL,
              WARD_EFORMAT, "model.type is a number", "type number");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, J_MERGES), J_ADDED, "null",
                     "{\"type\":\"ByteLevel\",\"use_regex\":1}", J_POST),
              NULL, WARD_EFORMAT, "use_regex is a number", "use_regex number");
    expect_hf(J_OK, "{\"add_bos_token\":\"yes\"}", WARD_EFORMAT, "add_bos_token is a string",
              "config bool");

    /* ids */
    expect_hf(J_FILE(J_MODEL("\"BPE\"", "{\"a\":0,\"b\":7}", "[]"), "[]", "null", J_PRE, "null"),
              NULL, WARD_EFORMAT, "not an integer in [0, 2)", "id out of range");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", "{\"a\":0,\"b\":-1}", "[]"), "[]", "null", J_PRE, "null"),
              NULL, WARD_EFORMAT, "not an integer", "negative id");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", "{\"a\":0,\"b\":0.5}", "[]"), "[]", "null", J_PRE, "null"),
              NULL, WARD_EFORMAT, "not an integer", "fractional id");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", "{\"a\":0,\"b\":0,\"c\":1}", "[]"), "[]", "null", J_PRE,
                     "null"),
              NULL, WARD_EFORMAT, "id 0 is both", "duplicate id");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", "{\"a\":0,\"c\":2}", "[]"),
                     "[{\"id\":0,\"content\":\"a\"}]", "null", J_PRE, "null"),
              NULL, WARD_EFORMAT, "token id 1 is in neither", "hole");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", "{\"a\":0,\"a\":1}", "[]"), "[]", "null", J_PRE, "null"),
              NULL, WARD_EFORMAT, "same text", "duplicate text");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, J_MERGES),
                     "[{\"id\":1,\"content\":\"<s>\",\"special\":true}]", "null", J_PRE, J_POST),
              NULL, WARD_EFORMAT, "id 1 is both \"b\" and \"<s>\"", "added id clash");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, J_MERGES),
                     "[{\"id\":99,\"content\":\"<s>\",\"special\":true}]", "null", J_PRE, J_POST),
              NULL, WARD_EFORMAT, "added_tokens[0]: id is not an integer", "added id range");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", "{}", "[]"), "[]", "null", J_PRE, "null"), NULL,
              WARD_EFORMAT, "empty", "empty vocab");

    /* merges */
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, "[\"a c\"]"), J_ADDED, "null", J_PRE, J_POST),
              NULL, WARD_EFORMAT, "model.merges[0] \"a c\": \"c\" is not in the vocabulary",
              "merge unknown part");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, "[\"a b\",\"b a\"]"), J_ADDED, "null", J_PRE,
                     J_POST),
              NULL, WARD_EFORMAT, "model.merges[1] \"b a\": \"ba\" is not in the vocabulary",
              "merge unknown result");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, "[\"ab\"]"), J_ADDED, "null", J_PRE, J_POST),
              NULL, WARD_EFORMAT, "not two tokens", "merge without space");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, "[[\"a\"]]"), J_ADDED, "null", J_PRE, J_POST),
              NULL, WARD_EFORMAT, "expected \"a b\"", "merge pair of one");

    /* unsupported components, named */
    expect_hf(J_FILE(J_MODEL("\"Unigram\"", J_VOCAB, J_MERGES), J_ADDED, "null", J_PRE, J_POST),
              NULL, WARD_EUNSUPPORTED, "\"Unigram\" is not supported", "unigram");
    expect_hf(J_FILE(J_MODEL("\"WordPiece\"", J_VOCAB, J_MERGES), J_ADDED, "null", J_PRE, J_POST),
              NULL, WARD_EUNSUPPORTED, "\"WordPiece\" is not supported", "wordpiece");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, J_MERGES), J_ADDED, "{\"type\":\"Lowercase\"}",
                     J_PRE, J_POST),
              NULL, WARD_EUNSUPPORTED, "normalizer \"Lowercase\"", "lowercase");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, J_MERGES), J_ADDED,
                     "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"},"
                     "{\"type\":\"NFKC\"}]}", J_PRE, J_POST),
              NULL, WARD_EUNSUPPORTED, "normalizer \"NFKC\"", "nfkc in sequence");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, J_MERGES), J_ADDED, "null",
                     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":"
                     "{\"Regex\":\"\\\\s+\"},\"behavior\":\"Removed\"}," J_PRE "]}", J_POST),
              NULL, WARD_EUNSUPPORTED, "behavior \"Removed\"", "split removed");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, J_MERGES), J_ADDED, "null",
                     "{\"type\":\"Whitespace\"}", J_POST),
              NULL, WARD_EUNSUPPORTED, "pre_tokenizer \"Whitespace\"", "whitespace pre");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, J_MERGES), J_ADDED, "null", "null", J_POST), NULL,
              WARD_EUNSUPPORTED, "without a ByteLevel", "no pre-tokenizer");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, J_MERGES), J_ADDED, "null", J_PRE,
                     "{\"type\":\"BertProcessing\"}"),
              NULL, WARD_EUNSUPPORTED, "post_processor \"BertProcessing\"", "bert post");
    /* a Sequence nested past the limit */
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, J_MERGES), J_ADDED,
                     "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Sequence\",\"normalizers\":["
                     "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Sequence\",\"normalizers\":["
                     "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Sequence\",\"normalizers\":["
                     "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Sequence\",\"normalizers\":["
                     "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Sequence\",\"normalizers\":["
                     "]}]}]}]}]}]}]}]}]}]}", J_PRE, J_POST),
              NULL, WARD_EUNSUPPORTED, "nested too deeply", "deep sequence");

    /* special-token names */
    expect_hf(J_OK, "{\"eos_token\":\"</s>\"}", WARD_EFORMAT, "eos_token \"</s>\" is not in",
              "config unknown eos");
    expect_hf(J_FILE(J_MODEL("\"BPE\"", J_VOCAB, J_MERGES), J_ADDED, "null", J_PRE,
                     "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":"
                     "\"<bos>\"}},{\"Sequence\":{\"id\":\"A\"}}]}"),
              NULL, WARD_EFORMAT, "\"<bos>\" is not in the vocabulary", "template unknown");
}

/* ---------------------------------------------------------------------------------------------
 * 3b. Hostile tokenizer.model
 * ------------------------------------------------------------------------------------------- */

/* A small valid model; extra_trainer fields appended to its trainer_spec. */
static pb_buf small_model(const pb_buf *extra_trainer) {
    pb_buf b = {0}, t = {0}, n = {0};
    pb_piece(&b, "<unk>", 0, 2);
    pb_piece(&b, "<s>", 0, 3);
    pb_piece(&b, "</s>", 0, 3);
    pb_piece(&b, "\xe2\x96\x81", -1, 1);
    pb_piece(&b, "a", -2, 1);
    pb_piece(&b, "\xe2\x96\x81" "a", -0.5f, 1);
    pb_piece(&b, "<0x62>", 0, 6);
    pb_uint(&t, 3, 2); /* BPE */
    pb_uint(&t, 35, 1);
    pb_uint(&t, 43, (uint64_t)-1); /* pad_id -1 as protobuf writes it: 10 bytes */
    if (extra_trainer)
        for (size_t i = 0; i < extra_trainer->len; i++) pb_byte(&t, extra_trainer->data[i]);
    pb_bytes(&n, 1, "identity", 8);
    pb_uint(&n, 3, 1);
    pb_uint(&n, 4, 0);
    pb_bytes(&b, 3, n.data, n.len);
    pb_uint(&b, 77, 12345); /* an unknown field, skipped */
    pb_bytes(&b, 2, t.data, t.len); /* last: every proper prefix lacks it (or cuts it) */
    free(t.data);
    free(n.data);
    return b;
}

static void expect_spm(const pb_buf *b, ward_status want, const char *needle, const char *label) {
    tok_vocab *v = NULL;
    ward_error err = {0};
    ward_status rc = tok_parse_spm_model(b->data, b->len, &v, &err);
    CHECK(rc == want && (want == WARD_OK) == (v != NULL), "%s: status %d (%s), expected %d",
          label, rc, err.msg, want);
    if (want != WARD_OK)
        CHECK(strstr(err.msg, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", label, err.msg,
              needle);
    tok_vocab_free(v);
}

/* The small model with bytes appended at its end. */
static void expect_tail(const uint8_t *tail, size_t n, ward_status want, const char *needle,
                        const char *label) {
    pb_buf b = small_model(NULL);
    for (size_t i = 0; i < n; i++) pb_byte(&b, tail[i]);
    expect_spm(&b, want, needle, label);
    free(b.data);
}

/* The small model with one more piece. */
static void expect_piece(const pb_buf *piece, ward_status want, const char *needle,
                         const char *label) {
    pb_buf b = small_model(NULL);
    pb_bytes(&b, 1, piece->data, piece->len);
    expect_spm(&b, want, needle, label);
    free(b.data);
}

static void expect_trainer(uint32_t field, uint64_t v, ward_status want, const char *needle,
                           const char *label) {
    pb_buf t = {0};
    pb_uint(&t, field, v);
    pb_buf b = small_model(&t);
    expect_spm(&b, want, needle, label);
    free(b.data);
    free(t.data);
}

static void test_hostile_model(void) {
    pb_buf ok = small_model(NULL);
    expect_spm(&ok, WARD_OK, "", "valid model");
    {
        tok_vocab *v = NULL;
        ward_error err = {0};
        if (tok_parse_spm_model(ok.data, ok.len, &v, &err) == WARD_OK) {
            /* " aab" -> "▁a" "a" then "b" through byte fallback */
            check_ids(v, "aab", 0, (const int32_t[]){5, 4, 6}, 3, "small model");
            CHECK(tok_bos(v) == 1 && tok_eos(v) == 2 && tok_unk(v) == 0, "small model specials");
            tok_vocab_free(v);
        }
    }
    /* every truncation: an error with a message or a smaller valid model, never a crash */
    size_t n_err = 0;
    for (size_t cut = 0; cut < ok.len; cut++) {
        tok_vocab *v = NULL;
        ward_error err = {0};
        uint8_t *copy = malloc(cut + 1);
        memcpy(copy, ok.data, cut);
        ward_status rc = tok_parse_spm_model(copy, cut, &v, &err);
        free(copy);
        CHECK(rc == WARD_OK ? v != NULL : (v == NULL && err.msg[0]), "cut %zu: status %d", cut,
              rc);
        n_err += rc != WARD_OK;
        tok_vocab_free(v);
    }
    CHECK(n_err == ok.len, "every cut loses the trainer_spec, so each is an error (%zu of %zu)",
          n_err, ok.len);
    free(ok.data);

    expect_tail((const uint8_t[]){0x0a, 0x80}, 2, WARD_EFORMAT, "runs off the end",
                "length varint off the end");
    expect_tail((const uint8_t[]){0x80}, 1, WARD_EFORMAT, "runs off the end", "tag off the end");
    expect_tail((const uint8_t[]){0x0a, 0x10, 'x'}, 3, WARD_EFORMAT, "length 16 but only 1",
                "length past the end");
    expect_tail((const uint8_t[]){0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0x01},
                11, WARD_EFORMAT, "only 0 bytes left", "length 2^64-1");
    expect_tail((const uint8_t[]){0x48, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                  0x80, 0x00},
                12, WARD_EFORMAT, "varint", "11-byte varint");
    expect_tail((const uint8_t[]){0x48, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0x02},
                11, WARD_EFORMAT, "overflows", "varint past 64 bits");
    expect_tail((const uint8_t[]){0x0f}, 1, WARD_EFORMAT, "wire type 7", "wire type 7");
    expect_tail((const uint8_t[]){0x0b, 0x0c}, 2, WARD_EFORMAT, "groups", "group");
    expect_tail((const uint8_t[]){0x00}, 1, WARD_EFORMAT, "field number 0", "field 0");
    expect_tail((const uint8_t[]){0x08, 0x01}, 2, WARD_EFORMAT, "wire type 0, expected 2",
                "pieces as a varint");
    expect_tail((const uint8_t[]){0x4d, 1, 2}, 3, WARD_EFORMAT, "runs off the end",
                "fixed32 off the end");

    pb_buf p = {0};
    pb_bytes(&p, 1, "q", 1);
    pb_uint(&p, 3, 9);
    expect_piece(&p, WARD_EFORMAT, "type 9", "bad piece type");
    p.len = 0;
    pb_uint(&p, 3, 1);
    expect_piece(&p, WARD_EFORMAT, "empty piece", "empty piece");
    p.len = 0;
    pb_bytes(&p, 1, "q", 1);
    pb_varint(&p, 2 << 3 | 5);
    pb_byte(&p, 0), pb_byte(&p, 0), pb_byte(&p, 0xc0), pb_byte(&p, 0x7f); /* NaN */
    expect_piece(&p, WARD_EFORMAT, "NaN", "NaN score");
    p.len = 0;
    pb_bytes(&p, 1, "a", 1);
    expect_piece(&p, WARD_EFORMAT, "", "duplicate piece");
    p.len = 0;
    pb_bytes(&p, 1, "q", 1);
    pb_uint(&p, 2, 7);
    expect_piece(&p, WARD_EFORMAT, "score (field 2) has wire type 0", "score as varint");
    free(p.data);

    expect_trainer(3, 1, WARD_EUNSUPPORTED, "UNIGRAM", "unigram");
    expect_trainer(41, 99, WARD_EFORMAT, "bos_id = 99", "bos out of range");
    expect_trainer(40, (uint64_t)-7, WARD_EFORMAT, "unk_id = -7", "negative unk");
    expect_trainer(24, 1, WARD_EUNSUPPORTED, "treat_whitespace_as_suffix", "suffix");

    /* absurd piece count: one past the limit of empty pieces (2 bytes each) */
    size_t n = (1u << 24) + 1;
    pb_buf big = {malloc(2 * n), 2 * n, 2 * n};
    for (size_t i = 0; i < n; i++) big.data[2 * i] = 0x0a, big.data[2 * i + 1] = 0;
    expect_spm(&big, WARD_EFORMAT, "more than", "2^24 + 1 pieces");
    free(big.data);
    pb_buf none = {0};
    expect_spm(&none, WARD_EFORMAT, "no pieces", "empty file");
}

/* ---------------------------------------------------------------------------------------------
 * 4. Allocation failure
 * ------------------------------------------------------------------------------------------- */

static void oom_loop(const char *label, ward_status (*load)(const void *, size_t, const void *,
                                                            size_t, tok_vocab **, ward_error *),
                     const void *data, size_t len, const void *cfg, size_t cfg_len) {
    tok_vocab *v = NULL;
    ward_error err = {0};
    ward_status rc = WARD_ENOMEM;
    long n;
    for (n = 1; n < 500; n++) {
        ward_alloc_fail_after(n);
        rc = load(data, len, cfg, cfg_len, &v, &err);
        ward_alloc_fail_after(0);
        if (rc == WARD_OK) break;
        CHECK(rc == WARD_ENOMEM && v == NULL, "%s, allocation %ld failing: status %d (%s)", label,
              n, rc, err.msg);
        if (rc != WARD_ENOMEM) break;
    }
    CHECK(rc == WARD_OK, "%s: load never succeeded", label);
    printf("oom: %s loaded once %ld allocations were allowed\n", label, n);
    tok_vocab_free(v);
}

static ward_status load_json(const void *d, size_t n, const void *c, size_t cn, tok_vocab **out,
                             ward_error *err) {
    return tok_parse_hf_json(d, n, c, cn, out, err);
}

static ward_status load_model(const void *d, size_t n, const void *c, size_t cn,
                              tok_vocab **out, ward_error *err) {
    (void)c, (void)cn;
    return tok_parse_spm_model(d, n, out, err);
}

static void test_oom(void) {
    const char *rels[] = {"tokenizers/llama2-sentencepiece.model",
                          "tokenizers/minimind/tokenizer.json",
                          "tokenizers/minimind/tokenizer_config.json",
                          "tokenizers/minicpm3/tokenizer.json"};
    char *data[4] = {0};
    size_t len[4] = {0};
    for (int i = 0; i < 4; i++) {
        const char *p = shared_path(rels[i]);
        data[i] = p ? read_file(p, &len[i]) : NULL;
    }
    if (data[0]) oom_loop("tokenizer.model", load_model, data[0], len[0], NULL, 0);
    if (data[1] && data[2])
        oom_loop("minimind tokenizer.json", load_json, data[1], len[1], data[2], len[2]);
    if (data[3]) oom_loop("minicpm3 tokenizer.json", load_json, data[3], len[3], NULL, 0);
    const char *cfg = "{\"eos_token\":\"<s>\"}";
    oom_loop("small tokenizer.json", load_json, J_OK, strlen(J_OK), cfg, strlen(cfg));
    for (int i = 0; i < 4; i++) free(data[i]);
}

int main(void) {
    test_llama2_model();
    test_minimind();
    test_minicpm3();
    test_hostile_json();
    test_hostile_model();
    test_oom();
    return test_summary();
}
