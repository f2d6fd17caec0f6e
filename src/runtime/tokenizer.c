/* tokenizer.c: the public standalone-tokenizer calls (ward_tokenizer_*) and span tokenization
 * with a model's tokenizer (ward_tokenize_spans).
 *
 * A ward_tokenizer wraps a tok_vocab (struct in tokenizer/tok.h): owned when opened from a file,
 * borrowed when it is a model's (the model keeps one inside, pointing at its vocab).
 * ward_tokenizer_open() picks the loader:
 *   directory  DIR/tokenizer.json, else DIR/tokenizer.model (as a file, below: GLM-4's is a
 *              tiktoken file), else the first *.tiktoken in it (by name), else WARD_EINVAL
 *              naming what was looked for;
 *   file       by content: "GGUF" magic -> GGUF vocab; '{' after whitespace -> tokenizer.json;
 *              a ".tiktoken" name or a first line "<base64> <digits>" -> tiktoken; a ".model"
 *              name or a protobuf field-1 string (0x0A) first -> SentencePiece .model, with the
 *              model family named by a tokenizer_config.json beside it (ChatGLM2/3 append
 *              their special tokens; see tokenizer/family.c).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "models/model.h"
#include "tokenizer/tok.h"

/* ---------------------------------------------------------------------------------------------
 * Opening
 * ------------------------------------------------------------------------------------------- */

enum { KIND_UNKNOWN, KIND_GGUF, KIND_JSON, KIND_TIKTOKEN, KIND_SPM };

static bool has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool is_b64(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/' || c == '=';
}

/* What a file is, from its first bytes and its name. */
static int sniff(const char *path, ward_error *err, ward_status *rc) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        *rc = WARD_FAIL(err, WARD_EIO, "%s: cannot open", path);
        return KIND_UNKNOWN;
    }
    char head[256];
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    *rc = WARD_OK;
    if (n >= 4 && memcmp(head, "GGUF", 4) == 0) return KIND_GGUF;
    size_t i = 0;
    while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\n' || head[i] == '\r'))
        i++;
    if (i < n && head[i] == '{') return KIND_JSON;
    if (has_suffix(path, ".tiktoken")) return KIND_TIKTOKEN;
    /* before the ".model" name: GLM-4 ships its tiktoken ranks as tokenizer.model (a protobuf
     * starts with 0x0A, never a base64 character) */
    size_t j = 0;
    while (j < n && is_b64(head[j])) j++;
    if (j > 0 && j < n && head[j] == ' ' && j + 1 < n && head[j + 1] >= '0' && head[j + 1] <= '9')
        return KIND_TIKTOKEN;
    if (has_suffix(path, ".model") || (n > 0 && head[0] == 0x0A)) return KIND_SPM;
    *rc = WARD_FAIL(err, WARD_EFORMAT,
                    "%s: not a GGUF, tokenizer.json, tiktoken or SentencePiece .model file", path);
    return KIND_UNKNOWN;
}

static ward_status open_gguf(const char *path, tok_vocab **out, ward_error *err) {
    gguf_file *g = NULL;
    ward_status rc = gguf_open(path, &g, err);
    if (rc == WARD_OK) {
        rc = tok_vocab_from_gguf(g, out, err);
        if (rc != WARD_OK) ward_error_prefix(err, path);
    }
    gguf_close(g);
    return rc;
}

static ward_status open_file(const char *path, tok_vocab **out, ward_error *err) {
    ward_status rc;
    switch (sniff(path, err, &rc)) {
    case KIND_GGUF: return open_gguf(path, out, err);
    case KIND_JSON: return tok_load_hf_json(path, out, err);
    case KIND_TIKTOKEN: return tok_load_tiktoken(path, NULL, out, err);
    case KIND_SPM: return tok_load_spm_model(path, out, err);
    default: return rc;
    }
}

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The first *.tiktoken file in dir by name, into buf; false if none. */
static bool find_tiktoken(const char *dir, char *buf, size_t cap) {
    DIR *d = opendir(dir);
    if (!d) return false;
    char best[256] = "";
    struct dirent *de;
    while ((de = readdir(d)))
        if (has_suffix(de->d_name, ".tiktoken") && strlen(de->d_name) < sizeof best &&
            (!best[0] || strcmp(de->d_name, best) < 0))
            snprintf(best, sizeof best, "%s", de->d_name);
    closedir(d);
    if (!best[0]) return false;
    int n = snprintf(buf, cap, "%s/%s", dir, best);
    return n > 0 && (size_t)n < cap && is_file(buf);
}

static ward_status open_dir(const char *dir, tok_vocab **out, ward_error *err) {
    char path[4096];
    static const char *const names[] = {"tokenizer.json", "tokenizer.model"};
    for (int i = 0; i < 2; i++) {
        int n = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (n < 0 || (size_t)n >= sizeof path)
            return WARD_FAIL(err, WARD_EINVAL, "%s: path too long", dir);
        if (is_file(path))
            return i == 0 ? tok_load_hf_json(path, out, err) : open_file(path, out, err);
    }
    if (find_tiktoken(dir, path, sizeof path)) return tok_load_tiktoken(path, NULL, out, err);
    return WARD_FAIL(err, WARD_EINVAL,
                     "%s: no tokenizer.json, tokenizer.model or *.tiktoken in this directory",
                     dir);
}

ward_status ward_tokenizer_open(const char *path, ward_tokenizer **out, ward_error *err) {
    *out = NULL;
    ward_error_clear(err);
    if (!path) return WARD_FAIL(err, WARD_EINVAL, "tokenizer: no path");
    struct stat st;
    if (stat(path, &st) != 0) return WARD_FAIL(err, WARD_EIO, "%s: no such file", path);
    ward_tokenizer *t = ward_calloc(1, sizeof *t);
    if (!t) return WARD_FAIL(err, WARD_ENOMEM, "%s: out of memory", path);
    ward_status rc = S_ISDIR(st.st_mode) ? open_dir(path, &t->vocab, err)
                                         : open_file(path, &t->vocab, err);
    if (rc != WARD_OK) {
        ward_free(t);
        return rc;
    }
    t->owned = true;
    *out = t;
    return WARD_OK;
}

void ward_tokenizer_close(ward_tokenizer *t) {
    if (!t || !t->owned) return; /* a model's tokenizer goes with the model */
    tok_vocab_free(t->vocab);
    ward_free(t);
}

/* ---------------------------------------------------------------------------------------------
 * Using
 * ------------------------------------------------------------------------------------------- */

const ward_tokenizer *ward_model_tokenizer(const ward_model *model) { return &model->tokenizer; }

int32_t ward_tokenizer_n_vocab(const ward_tokenizer *t) { return tok_n_vocab(t->vocab); }

ward_status ward_tokenizer_encode(const ward_tokenizer *t, const char *text, size_t len,
                                  unsigned flags, ward_token *out, size_t cap, size_t *n_out) {
    return tok_encode(t->vocab, text, len, flags, out, cap, n_out);
}

/* ward_text_span and tok_span have the same members; copied, not cast. */
static ward_status encode_spans(const tok_vocab *v, const ward_text_span *spans, size_t n_spans,
                                unsigned flags, ward_token *out, size_t cap, size_t *n_out) {
    *n_out = 0;
    if (!spans && n_spans > 0) return WARD_FAIL(NULL, WARD_EINVAL, "tokenizer: no spans");
    tok_span *ts = ward_calloc(n_spans ? n_spans : 1, sizeof *ts);
    if (!ts) return WARD_FAIL(NULL, WARD_ENOMEM, "tokenizer: no memory for %zu spans", n_spans);
    for (size_t i = 0; i < n_spans; i++)
        ts[i] = (tok_span){spans[i].text, spans[i].len, spans[i].allow_special};
    ward_status rc = tok_encode_spans(v, ts, n_spans, flags, out, cap, n_out);
    ward_free(ts);
    return rc;
}

ward_status ward_tokenizer_encode_spans(const ward_tokenizer *t, const ward_text_span *spans,
                                        size_t n_spans, unsigned flags, ward_token *out,
                                        size_t cap, size_t *n_out) {
    return encode_spans(t->vocab, spans, n_spans, flags, out, cap, n_out);
}

ward_status ward_tokenizer_token_bytes(const ward_tokenizer *t, ward_token tok,
                                       bool render_special, char *out, size_t cap,
                                       size_t *n_out) {
    return tok_token_bytes(t->vocab, tok, render_special, out, cap, n_out);
}

const char *ward_tokenizer_token_text(const ward_tokenizer *t, ward_token tok, size_t *len) {
    return tok_text(t->vocab, tok, len);
}

ward_status ward_tokenize_spans(const ward_model *model, const ward_text_span *spans,
                                size_t n_spans, unsigned flags, ward_token *out, size_t cap,
                                size_t *n_out) {
    return encode_spans(model->vocab, spans, n_spans, flags, out, cap, n_out);
}
