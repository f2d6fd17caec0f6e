/* fuzz_tokenizer.c: libFuzzer target for the tokenizer (src/tokenizer/: vocab loading, encode,
 * token bytes).
 *
 * Both untrusted inputs get fuzzed; bit 0 of the first byte picks which (seeds use 'g', 't',
 * 'v' so they read well; fuzz/run.sh puts 'g' in front of the shared GGUF files):
 *   set   (vocab mode, 'g'): the rest is a GGUF blob -> gguf_parse -> tok_vocab_from_gguf. A
 *         vocab that loads encodes a fixed mixed text and a text made of its own token texts
 *         (so fuzzed merges and specials are hit), each with flags 0 and ADD_BOS|PARSE_SPECIAL;
 *         then every id goes through tok_text, tok_type, tok_is_eog and tok_token_bytes
 *         (render_special both ways, size query then exact buffer).
 *   clear (text mode, 't' / 'v'): the rest is text, encoded with a fixed SentencePiece vocab
 *         built once in memory (written with gguf_writer to a temporary file and loaded):
 *         <unk> <s> </s>, 256 byte tokens, merges for English and Chinese, a user-defined
 *         token and a control-looking one. Bit 1 picks add_space_prefix true ('t') or false
 *         ('v'). Encoded with all four flag combinations.
 * Invariants (abort() when broken, so libFuzzer reports the input):
 *   every id in [0, n_vocab); the ERANGE sizing protocol gives the same ids as a big buffer;
 *   token bytes fit their size query. Text mode also: ADD_BOS = [bos] ++ the ids without it;
 *   without PARSE_SPECIAL no control or unknown id appears; concatenating the ids' texts (byte
 *   tokens as their byte) gives the escaped input exactly, for any bytes: each raw run between
 *   special tokens with U+2581 in front (when add_space_prefix) and its spaces as U+2581, each
 *   special token its text (user-defined always, control/unknown with PARSE_SPECIAL). For valid
 *   UTF-8 input, tok_token_bytes (render_special as PARSE_SPECIAL) gives the same with U+2581
 *   turned back into spaces. (Invalid UTF-8 is exempt there: a bad lead byte can take an
 *   escaped space into a byte-fallback symbol, which then decodes as U+2581's bytes.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/gguf.h"
#include "tokenizer/tok.h"

#define SPM_MARK "\xe2\x96\x81" /* U+2581 */

/* Print why and abort: libFuzzer saves the input as a crash. */
static void fail(const char *what) {
    fprintf(stderr, "fuzz_tokenizer: invariant broken: %s\n", what);
    abort();
}

/* ---------------------------------------------------------------------------------------------
 * Growable byte buffer (harness only)
 * ------------------------------------------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void buf_add(buf *b, const void *s, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) fail("harness out of memory");
        b->cap = cap;
    }
    if (s && n) memcpy(b->p + b->n, s, n); /* s NULL: reserve n bytes */
    b->n += n;
}

/* ---------------------------------------------------------------------------------------------
 * Encoding through the sizing protocol
 * ------------------------------------------------------------------------------------------- */

/* Encode text (size query, then exact buffer, then one short); malloc'ed ids, NULL with *n = 0
 * when encoding fails (WARD_EINVAL for absurd lengths cannot happen at fuzz sizes). */
static int32_t *encode(const tok_vocab *v, const char *text, size_t len, unsigned flags,
                       size_t *n) {
    size_t need = 0, got = 0;
    ward_status rc = tok_encode(v, text, len, flags, NULL, 0, &need);
    if (rc != (need ? WARD_ERANGE : WARD_OK)) fail("size query status");
    int32_t *ids = malloc((need + 1) * sizeof *ids);
    if (!ids) fail("harness out of memory");
    rc = tok_encode(v, text, len, flags, ids, need, &got);
    if (rc != WARD_OK || got != need) fail("encode into an exact buffer differs from the query");
    if (need > 0) {
        int32_t *short_ids = malloc(need * sizeof *short_ids);
        if (!short_ids) fail("harness out of memory");
        rc = tok_encode(v, text, len, flags, short_ids, need - 1, &got);
        if (rc != WARD_ERANGE || got != need ||
            memcmp(short_ids, ids, (need - 1) * sizeof *ids) != 0)
            fail("encode into a short buffer: not ERANGE with the same prefix");
        free(short_ids);
    }
    int32_t n_vocab = tok_n_vocab(v);
    for (size_t i = 0; i < need; i++)
        if (ids[i] < 0 || ids[i] >= n_vocab) fail("id out of range");
    *n = need;
    return ids;
}

/* Token bytes of id with a size query, then an exact buffer; appended to out. */
static void token_bytes(const tok_vocab *v, int32_t id, bool render_special, buf *out) {
    size_t need = 0, got = 0;
    ward_status rc = tok_token_bytes(v, id, render_special, NULL, 0, &need);
    if (rc != (need ? WARD_ERANGE : WARD_OK)) fail("token bytes size query status");
    buf_add(out, NULL, need);
    rc = tok_token_bytes(v, id, render_special, need ? out->p + out->n - need : NULL, need, &got);
    if (rc != WARD_OK || got != need) fail("token bytes into an exact buffer");
    if (tok_type(v, id) == TOK_TYPE_BYTE && need != 1) fail("byte token is not one byte");
}

/* ---------------------------------------------------------------------------------------------
 * Vocab mode: a fuzzed vocabulary
 * ------------------------------------------------------------------------------------------- */

static const char mixed_text[] =
    "Hello, world! 1234 \t\n\n  indented "
    /* 患者发热三天， */
    "\xe6\x82\xa3\xe8\x80\x85\xe5\x8f\x91\xe7\x83\xad\xe4\xb8\x89\xe5\xa4\xa9\xef\xbc\x8c "
    "emoji \xf0\x9f\xa6\x99 \xe2\x9c\x85 invalid \xff\xfe \xc3\xc3 \xe4\xb8 \x80 cut "
    "<s>Hello</s> <unk> <|im_end|> <|user|> <0x41> [EMPTY_3] " SPM_MARK "the\x01\x7f";

static void exercise_vocab(const tok_vocab *v) {
    int32_t n_vocab = tok_n_vocab(v);
    if (n_vocab < 1) fail("empty vocab loaded");
    int32_t specials[] = {tok_bos(v), tok_eos(v), tok_unk(v)};
    for (int i = 0; i < 3; i++)
        if (specials[i] < -1 || specials[i] >= n_vocab) fail("bos/eos/unk out of range");

    /* a text of the vocab's own first token texts, so its merges and specials take part */
    buf own = {0};
    for (int32_t id = 0; id < n_vocab && own.n < 4096; id++) {
        size_t len;
        const char *t = tok_text(v, id, &len);
        if (!t || len == 0) fail("tok_text of an id in range");
        buf_add(&own, t, len < 256 ? len : 256);
        if (id % 3 == 2) buf_add(&own, " ", 1);
    }
    const char *texts[] = {mixed_text, own.p};
    size_t lens[] = {sizeof mixed_text - 1, own.n};
    for (int t = 0; t < 2; t++) {
        for (unsigned flags = 0; flags <= (TOK_ADD_BOS | TOK_PARSE_SPECIAL); flags += 3) {
            size_t n;
            int32_t *ids = encode(v, texts[t], lens[t], flags, &n);
            buf out = {0};
            for (size_t i = 0; i < n; i++) token_bytes(v, ids[i], flags != 0, &out);
            free(out.p);
            free(ids);
        }
    }
    free(own.p);

    volatile unsigned sum = 0;
    buf out = {0};
    for (int32_t id = 0; id < n_vocab; id++) {
        size_t len;
        const char *t = tok_text(v, id, &len);
        sum += (uint8_t)t[0] + (uint8_t)t[len - 1] + tok_is_eog(v, id) + tok_type(v, id);
        out.n = 0;
        token_bytes(v, id, false, &out);
        token_bytes(v, id, true, &out);
    }
    free(out.p);
    (void)sum;
    size_t len;
    if (tok_text(v, -1, &len) || tok_text(v, n_vocab, &len)) fail("tok_text out of range");
    if (tok_token_bytes(v, n_vocab, true, NULL, 0, &len) != WARD_EINVAL)
        fail("token bytes of n_vocab");
}

static void vocab_mode(const uint8_t *data, size_t size) {
    gguf_file *g;
    if (gguf_parse(data, size, &g, NULL) != WARD_OK) return;
    tok_vocab *v;
    if (tok_vocab_from_gguf(g, &v, NULL) == WARD_OK) {
        exercise_vocab(v);
        tok_vocab_free(v);
    }
    gguf_close(g);
}

/* ---------------------------------------------------------------------------------------------
 * Text mode: the fixed vocabulary
 * ------------------------------------------------------------------------------------------- */

enum { N_BYTE_BASE = 3 }; /* <unk> <s> </s>, then <0x00>..<0xFF> */

/* Tokens after the byte tokens: text, score, type (0 = normal). No piece of a special text is
 * a token, so merges never form one; no unused or undefined tokens (they decode as ""). */
static const struct { const char *text; float score; int type; } fixed_tokens[] = {
    {SPM_MARK, -1, 0}, {SPM_MARK SPM_MARK, -2, 0}, {SPM_MARK SPM_MARK SPM_MARK SPM_MARK, -3, 0},
    {"e", -10, 0}, {"t", -10, 0}, {"a", -10, 0}, {"o", -10, 0}, {"h", -11, 0}, {"l", -11, 0},
    {"r", -11, 0}, {"d", -11, 0}, {"w", -12, 0}, {"H", -12, 0}, {"s", -12, 0}, {"n", -12, 0},
    {"i", -12, 0}, {",", -13, 0}, {".", -13, 0}, {"!", -13, 0}, {"th", -4, 0}, {"he", -4, 0},
    {SPM_MARK "t", -3, 0}, {SPM_MARK "th", -3, 0}, {SPM_MARK "the", -2, 0}, {"in", -5, 0},
    {"er", -5, 0}, {"an", -5, 0}, {SPM_MARK "a", -4, 0}, {"ll", -5, 0}, {"llo", -5, 0},
    {"He", -6, 0}, {"Hel", -6, 0}, {"Hello", -3, 0}, {SPM_MARK "H", -5, 0},
    {SPM_MARK "Hello", -2, 0}, {"or", -5, 0}, {"ld", -5, 0}, {"wor", -6, 0}, {"world", -4, 0},
    {SPM_MARK "w", -5, 0}, {SPM_MARK "wor", -5, 0}, {SPM_MARK "world", -2, 0},
    {"\xe6\x82\xa3", -8, 0}, {"\xe8\x80\x85", -8, 0}, {"\xe6\x82\xa3\xe8\x80\x85", -4, 0},
    {"\xe5\x8f\x91", -8, 0}, {"\xe7\x83\xad", -8, 0}, {"\xe5\x8f\x91\xe7\x83\xad", -4, 0},
    {"\xe4\xb8\x89", -8, 0}, {"\xe5\xa4\xa9", -8, 0}, {"\xef\xbc\x8c", -8, 0},
    {"\xe3\x80\x82", -8, 0}, {"1", -9, 0}, {"2", -9, 0}, {"3", -9, 0}, {"4", -9, 0},
    {"12", -6, 0}, {"123", -6, 0}, {"1234", -5, 0}, {"\t", -9, 0}, {"\n", -9, 0},
    {"\n\n", -7, 0}, {"\xf0\x9f\xa6\x99", -7, 0}, {SPM_MARK "\xf0\x9f\xa6\x99", -6, 0},
    {"<|user|>", 0, TOK_TYPE_USER_DEFINED},
    {"<|im_end|>", 0, 0}, /* control-looking: the loader forces it to control and EOG */
};
#define N_FIXED (int)(sizeof fixed_tokens / sizeof fixed_tokens[0])
#define N_VOCAB (N_BYTE_BASE + 256 + N_FIXED)

/* Write the fixed vocab (add_space_prefix as given) to a temporary file and load it. */
static tok_vocab *build_vocab(bool add_space_prefix) {
    static char bytes[256][8];
    const char *texts[N_VOCAB];
    float scores[N_VOCAB] = {0};
    int32_t types[N_VOCAB];
    texts[0] = "<unk>", texts[1] = "<s>", texts[2] = "</s>";
    types[0] = TOK_TYPE_UNKNOWN, types[1] = types[2] = TOK_TYPE_CONTROL;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        texts[N_BYTE_BASE + b] = bytes[b];
        types[N_BYTE_BASE + b] = TOK_TYPE_BYTE;
    }
    for (int i = 0; i < N_FIXED; i++) {
        int id = N_BYTE_BASE + 256 + i;
        texts[id] = fixed_tokens[i].text;
        scores[id] = fixed_tokens[i].score;
        types[id] = fixed_tokens[i].type ? fixed_tokens[i].type : TOK_TYPE_NORMAL;
    }

    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/ward-fuzz-tok-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) fail("cannot create the vocab file");
    close(fd);
    gguf_writer *w;
    ward_error err = {0};
    ward_status rc = gguf_writer_open(path, &w, &err);
    if (rc != WARD_OK) fail(err.msg);
    rc = gguf_writer_set_str(w, "general.architecture", "llama");
    if (!rc) rc = gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    if (!rc) rc = gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", texts, N_VOCAB);
    if (!rc) rc = gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_VT_F32, scores, N_VOCAB);
    if (!rc)
        rc = gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_VT_I32, types, N_VOCAB);
    if (!rc) rc = gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
    if (!rc) rc = gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
    if (!rc) rc = gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    if (!rc) rc = gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", add_space_prefix);
    if (!rc) rc = gguf_writer_write_header(w);
    if (rc != WARD_OK) fail(gguf_writer_errmsg(w));
    if (gguf_writer_finish(w, &err) != WARD_OK) fail(err.msg);
    gguf_file *g;
    tok_vocab *v = NULL;
    rc = gguf_open(path, &g, &err);
    if (rc == WARD_OK) rc = tok_vocab_from_gguf(g, &v, &err);
    if (rc != WARD_OK) fail(err.msg);
    gguf_close(g);
    remove(path);
    if (tok_n_vocab(v) != N_VOCAB || tok_bos(v) != 1 || !tok_add_bos(v) || tok_add_eos(v))
        fail("fixed vocab loaded wrongly");
    return v;
}

/* What concatenating the ids' texts must give (see the file header): text partitioned on the
 * special tokens that take part, raw runs escaped. Specials in this vocab neither contain nor
 * overlap each other, so a left-to-right scan partitions as tok_encode does. */
static void expected_escaped(const tok_vocab *v, const char *text, size_t len,
                             bool parse_special, buf *out) {
    int32_t specials[8];
    int n_specials = 0;
    for (int32_t id = 0; id < tok_n_vocab(v); id++) {
        tok_attr t = tok_type(v, id);
        if (t == TOK_TYPE_USER_DEFINED ||
            (parse_special && (t == TOK_TYPE_CONTROL || t == TOK_TYPE_UNKNOWN))) {
            if (n_specials == 8) fail("fixed vocab has too many special tokens");
            specials[n_specials++] = id;
        }
    }
    size_t run = 0; /* start of the current raw run */
    for (size_t pos = 0; pos <= len;) {
        size_t slen = 0;
        const char *s = NULL;
        for (int k = 0; pos < len && k < n_specials && !s; k++) {
            const char *st = tok_text(v, specials[k], &slen);
            if (slen <= len - pos && memcmp(text + pos, st, slen) == 0) s = st;
        }
        if (!s && pos < len) {
            pos++;
            continue;
        }
        if (pos > run) { /* flush the raw run [run, pos) */
            if (tok_add_space_prefix(v)) buf_add(out, SPM_MARK, 3);
            for (size_t i = run; i < pos; i++) {
                if (text[i] == ' ') buf_add(out, SPM_MARK, 3);
                else buf_add(out, &text[i], 1);
            }
        }
        if (!s) break;
        buf_add(out, s, slen);
        pos += slen;
        run = pos;
    }
}

/* Concatenated texts of ids, byte tokens as their byte. */
static void ids_escaped(const tok_vocab *v, const int32_t *ids, size_t n, buf *out) {
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *t = tok_text(v, ids[i], &len);
        if (tok_type(v, ids[i]) == TOK_TYPE_BYTE) {
            char b = (char)(ids[i] - N_BYTE_BASE);
            buf_add(out, &b, 1);
        } else {
            buf_add(out, t, len);
        }
    }
}

/* Structurally valid UTF-8: each lead byte followed by as many continuation bytes as it says. */
static bool valid_utf8(const uint8_t *s, size_t len) {
    for (size_t i = 0; i < len;) {
        uint8_t c = s[i];
        size_t n = c < 0x80 ? 1 : c < 0xC0 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF8 ? 4 : 0;
        if (n == 0 || n > len - i) return false;
        for (size_t k = 1; k < n; k++)
            if ((s[i + k] & 0xC0) != 0x80) return false;
        i += n;
    }
    return true;
}

static void text_mode(const uint8_t *data, size_t size, int variant) {
    static tok_vocab *vocabs[2]; /* built on first use, kept for the process */
    if (!vocabs[variant]) vocabs[variant] = build_vocab(variant == 0);
    const tok_vocab *v = vocabs[variant];
    const char *text = (const char *)data;
    bool utf8 = valid_utf8(data, size);

    for (unsigned special = 0; special <= 1; special++) {
        unsigned flags = special ? TOK_PARSE_SPECIAL : 0;
        size_t n, n_bos;
        int32_t *ids = encode(v, text, size, flags, &n);
        int32_t *bos = encode(v, text, size, flags | TOK_ADD_BOS, &n_bos);
        if (n_bos != n + 1 || bos[0] != tok_bos(v) ||
            (n && memcmp(bos + 1, ids, n * sizeof *ids) != 0))
            fail("ADD_BOS is not [bos] ++ the ids without it");
        if (!special)
            for (size_t i = 0; i < n; i++)
                if (tok_type(v, ids[i]) == TOK_TYPE_CONTROL ||
                    tok_type(v, ids[i]) == TOK_TYPE_UNKNOWN)
                    fail("control or unknown id without PARSE_SPECIAL");

        buf want = {0}, got = {0};
        expected_escaped(v, text, size, special, &want);
        ids_escaped(v, ids, n, &got);
        if (got.n != want.n || (want.n && memcmp(got.p, want.p, want.n) != 0))
            fail("token texts do not give the escaped input back");

        if (utf8) { /* decoded = escaped with U+2581 back to spaces */
            buf plain = {0};
            for (size_t i = 0; i < want.n;) {
                bool mark = i + 3 <= want.n && memcmp(want.p + i, SPM_MARK, 3) == 0;
                buf_add(&plain, mark ? " " : want.p + i, 1);
                i += mark ? 3 : 1;
            }
            got.n = 0;
            for (size_t i = 0; i < n; i++) token_bytes(v, ids[i], special, &got);
            if (got.n != plain.n || (plain.n && memcmp(got.p, plain.p, plain.n) != 0))
                fail("decode(encode(text)) is not the text with the SPM space handling");
            free(plain.p);
        }
        free(want.p), free(got.p);
        free(ids), free(bos);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Entry
 * ------------------------------------------------------------------------------------------- */

/* Texts longer than this add nothing but time: each is encoded 12 times, and run.sh allows
 * 1 MB inputs for the vocab files. */
#define MAX_TEXT 16384

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    if (data[0] & 1) vocab_mode(data + 1, size - 1);
    else if (size - 1 <= MAX_TEXT) text_mode(data + 1, size - 1, (data[0] >> 1) & 1);
    return 0;
}
