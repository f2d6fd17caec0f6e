/* vocab_export.c: a tokenizer as GGUF tokenizer.ggml.* keys, the way llama.cpp's
 * convert_hf_to_gguf.py (c392e50) writes them, from the tok_desc a loader produced.
 *
 * Design
 *   The loaders (tokenizer.model, tokenizer.json) hand their tok_desc to a callback instead of
 *   building a vocab (tok_parse_*_desc); export_cb writes the keys while the desc is alive. The
 *   desc keeps what the source said (texts in the source's alphabet, merges, the token types
 *   before llama.cpp's load-time overrides), which is what a GGUF file stores; the built tok_vocab
 *   would not (BPE texts decoded to bytes, merges indexed away).
 *   Keys, in the converter's order:
 *     model "llama" (SentencePiece) | "gpt2" (byte-level BPE); pre ("default" for "llama");
 *     tokens; scores ("llama" only); token_type; merges ("gpt2" only);
 *     bos/eos/unknown/padding ids; add_bos_token, add_eos_token; add_space_prefix when it is
 *     not the model's default; chat_template.
 *   A tokenizer.model is read with the family its tokenizer_config.json names (family.c), so
 *   ChatGLM2/3's specials appended after the pieces are exported as control tokens, as
 *   llama.cpp's converter writes them.
 *   The vocabulary is padded to config.json's vocab_size with "[PAD<id>]" unused tokens (score
 *   -10000), as the converter does. GGUF has no key for the pre-tokenizer regexes, only a name:
 *   the name is the one (hint first, then a fixed list) whose regexes encode a probe text to the
 *   same ids as the desc's own regexes (llama.cpp's converter identifies it by a hash of such
 *   an encoding). NFC normalization has no key either; a desc that asks for it is exported
 *   without it, as llama.cpp's converter does (its qwen2 tokenizer does not normalize).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/filemap.h"
#include "formats/hf_config.h"
#include "tokenizer/tok_internal.h"

/* Pre-tokenizers tried, after the hint, for a byte-level BPE desc. */
static const char *const pre_candidates[] = {
    "llama-bpe", "qwen2", "deepseek-llm", "deepseek-coder", "deepseek-v3", "gpt-2",
    "starcoder", "falcon", "dbrx", "poro-chat", "viking", "default",
};

/* Text that tells the pre-tokenizers apart (llama.cpp's converter uses one like it). */
static const char probe_text[] =
    "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n\xf0\x9f\x9a\x80 (normal) "
    "\xf0\x9f\x98\xb6\xe2\x80\x8d\xf0\x9f\x8c\xab\xef\xb8\x8f (multiple emojis) \xe2\x9c\x85 "
    "3 33 333 3333 33333 333333 3333333 3.3 3..3 3...3 "
    "\xe1\x9e\x80\xe1\x9e\xb6\xe1\x9e\x93\xe1\x9f\x8b ------======= "
    "\xd0\xbd\xd0\xb5\xd1\x89\xd0\xbe \xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c "
    "''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? "
    "'M not sure I'll make it, 'D you like some tea? We'Ve a'lL Hello World HELLO 123abc";

/* ---------------------------------------------------------------------------------------------
 * Pre-tokenizer name
 * ------------------------------------------------------------------------------------------- */

static ward_status encode_probe(const tok_desc *d, int32_t **ids, size_t *n, ward_error *err) {
    tok_vocab *v = NULL;
    *ids = NULL;
    ward_status rc = tok_vocab_build(d, &v, err);
    if (rc != WARD_OK) return rc;
    size_t need = 0;
    rc = tok_encode(v, probe_text, sizeof probe_text - 1, 0, NULL, 0, &need);
    if (rc == WARD_ERANGE || rc == WARD_OK) {
        *ids = ward_malloc((need ? need : 1) * sizeof **ids);
        rc = *ids ? tok_encode(v, probe_text, sizeof probe_text - 1, 0, *ids, need, n)
                  : WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory for the probe");
    }
    tok_vocab_free(v);
    return rc;
}

/* The candidate's regexes give the same ids as d's own? */
static ward_status same_split(const tok_desc *d, const tok_pre *pre, const int32_t *ref,
                              size_t n_ref, bool *same, ward_error *err) {
    tok_desc c = *d;
    c.n_pre = tok_pre_count(pre);
    c.pre_regexes = pre->regexes;
    c.ignore_merges = pre->ignore_merges;
    int32_t *ids;
    size_t n = 0;
    ward_status rc = encode_probe(&c, &ids, &n, err);
    *same = rc == WARD_OK && n == n_ref && memcmp(ids, ref, n * sizeof *ids) == 0;
    ward_free(ids);
    return rc;
}

static ward_status find_pre(const tok_desc *d, const char *hint, const char **name,
                            ward_error *err) {
    int32_t *ref;
    size_t n_ref = 0;
    ward_status rc = encode_probe(d, &ref, &n_ref, err);
    const size_t n_cand = sizeof pre_candidates / sizeof *pre_candidates;
    *name = NULL;
    for (size_t i = 0; rc == WARD_OK && !*name && i <= n_cand; i++) {
        const char *cand = i == 0 ? hint : pre_candidates[i - 1];
        const tok_pre *pre = cand ? tok_pre_find(cand, strlen(cand)) : NULL;
        bool same = false;
        if (pre && (rc = same_split(d, pre, ref, n_ref, &same, err)) == WARD_OK && same)
            *name = cand;
    }
    ward_free(ref);
    if (rc == WARD_OK && !*name)
        rc = WARD_FAIL(err, WARD_EUNSUPPORTED,
                       "tokenizer: its pre-tokenizer matches none that GGUF can name");
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Keys
 * ------------------------------------------------------------------------------------------- */

typedef struct export_arrays {
    const char **texts; /* (n) */
    uint32_t *lens;
    float *scores;
    int32_t *types;
    char *pad_names; /* "[PAD<id>]" texts, 24 bytes each */
} export_arrays;

static void arrays_free(export_arrays *a) {
    ward_free(a->texts);
    ward_free(a->lens);
    ward_free(a->scores);
    ward_free(a->types);
    ward_free(a->pad_names);
}

static ward_status fill_arrays(const tok_desc *d, int32_t n, export_arrays *a, ward_error *err) {
    const int32_t n_pad = n - d->n_vocab;
    a->texts = ward_calloc((size_t)n, sizeof *a->texts);
    a->lens = ward_calloc((size_t)n, sizeof *a->lens);
    a->scores = ward_calloc((size_t)n, sizeof *a->scores);
    a->types = ward_calloc((size_t)n, sizeof *a->types);
    a->pad_names = ward_malloc((size_t)(n_pad ? n_pad : 1) * 24);
    if (!a->texts || !a->lens || !a->scores || !a->types || !a->pad_names)
        return WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory to export %d tokens", n);
    for (int32_t i = 0; i < n; i++) {
        if (i < d->n_vocab) {
            a->texts[i] = d->texts[i];
            a->lens[i] = d->text_lens[i];
            a->scores[i] = d->scores ? d->scores[i] : 0.0f;
            a->types[i] = d->types ? d->types[i] : TOK_TYPE_NORMAL;
        } else {
            char *s = a->pad_names + (size_t)(i - d->n_vocab) * 24;
            a->lens[i] = (uint32_t)snprintf(s, 24, "[PAD%d]", (int)i);
            a->texts[i] = s;
            a->scores[i] = -10000.0f;
            a->types[i] = TOK_TYPE_UNUSED;
        }
    }
    return WARD_OK;
}

/* An id key when id is a token. */
static ward_status set_id(gguf_writer *w, const char *key, int32_t id, int32_t n) {
    return id >= 0 && id < n ? gguf_writer_set_u32(w, key, (uint32_t)id) : WARD_OK;
}

static ward_status write_keys(const tok_desc *d, const tok_export_opts *o, const char *pre,
                              const export_arrays *a, int32_t n, gguf_writer *w) {
    const bool spm = d->algo == TOK_ALGO_SPM;
    ward_status rc;
    if ((rc = gguf_writer_set_str(w, "tokenizer.ggml.model", spm ? "llama" : "gpt2")) ||
        (rc = gguf_writer_set_str(w, "tokenizer.ggml.pre", pre)) ||
        (rc = gguf_writer_set_arr_strn(w, "tokenizer.ggml.tokens", a->texts, a->lens,
                                       (uint64_t)n)) ||
        (spm && (rc = gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_VT_F32, a->scores,
                                          (uint64_t)n))) ||
        (rc = gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_VT_I32, a->types,
                                  (uint64_t)n)) ||
        (!spm && (rc = gguf_writer_set_arr_strn(w, "tokenizer.ggml.merges", d->merges,
                                                d->merge_lens, d->n_merges))))
        return rc;
    const int32_t bos = o && o->bos >= 0 ? o->bos : d->bos;
    const int32_t eos = o && o->eos >= 0 ? o->eos : d->eos;
    if ((rc = set_id(w, "tokenizer.ggml.bos_token_id", bos, n)) ||
        (rc = set_id(w, "tokenizer.ggml.eos_token_id", eos, n)) ||
        (rc = set_id(w, "tokenizer.ggml.unknown_token_id", d->unk, n)) ||
        (rc = set_id(w, "tokenizer.ggml.padding_token_id", d->pad, n)) ||
        (rc = gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", d->add_bos)) ||
        (rc = gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", d->add_eos)))
        return rc;
    if (d->add_space_prefix != spm &&
        (rc = gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", d->add_space_prefix)))
        return rc;
    return WARD_OK;
}

ward_status tok_export_desc(const tok_desc *d, const tok_export_opts *o, gguf_writer *w,
                            ward_error *err) {
    if (d->algo == TOK_ALGO_BPE && !d->byte_level)
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "tokenizer: tiktoken-style vocabularies (raw-byte texts, no merges) "
                         "cannot be exported to GGUF yet");
    int32_t n = d->n_vocab;
    if (o && o->n_vocab > 0) {
        if (d->n_vocab > o->n_vocab)
            return WARD_FAIL(err, WARD_EFORMAT,
                             "tokenizer: %d tokens, more than config.json's vocab_size %d",
                             d->n_vocab, o->n_vocab);
        n = o->n_vocab;
    }
    const char *pre = "default";
    ward_status rc = WARD_OK;
    if (d->algo == TOK_ALGO_BPE && (rc = find_pre(d, o ? o->pre_hint : NULL, &pre, err)))
        return rc;
    export_arrays a = {0};
    rc = fill_arrays(d, n, &a, err);
    if (rc == WARD_OK && (rc = write_keys(d, o, pre, &a, n, w)))
        rc = WARD_FAIL(err, rc, "tokenizer: %s", gguf_writer_errmsg(w));
    arrays_free(&a);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * A HuggingFace directory
 * ------------------------------------------------------------------------------------------- */

typedef struct export_ctx {
    const tok_export_opts *o;
    gguf_writer *w;
    int add_bos, add_eos; /* from tokenizer_config.json; -1 = not given */
} export_ctx;

static ward_status export_cb(const tok_desc *d, void *user, ward_error *err) {
    const export_ctx *c = user;
    tok_desc e = *d;
    if (c->add_bos >= 0) e.add_bos = c->add_bos;
    if (c->add_eos >= 0) e.add_eos = c->add_eos;
    return tok_export_desc(&e, c->o, c->w, err);
}

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* add_bos_token, add_eos_token, chat_template (a string, or a list of {name, template} whose
 * "default" entry is taken) from tokenizer_config.json. */
static ward_status read_config(const char *text, size_t len, export_ctx *c, ward_error *err) {
    cJSON *root = NULL;
    ward_status rc = hf_json_parse(text, len, "tokenizer_config.json", &root, err);
    if (rc != WARD_OK) return rc;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "add_bos_token");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "add_eos_token");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "chat_template");
    if (cJSON_IsBool(b)) c->add_bos = cJSON_IsTrue(b);
    if (cJSON_IsBool(e)) c->add_eos = cJSON_IsTrue(e);
    const cJSON *it;
    if (cJSON_IsArray(t))
        cJSON_ArrayForEach(it, t) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
            if (cJSON_IsString(name) && strcmp(name->valuestring, "default") == 0)
                t = cJSON_GetObjectItemCaseSensitive(it, "template");
        }
    if (cJSON_IsString(t) &&
        (rc = gguf_writer_set_str(c->w, "tokenizer.chat_template", t->valuestring)))
        rc = WARD_FAIL(err, rc, "%s", gguf_writer_errmsg(c->w));
    cJSON_Delete(root);
    return rc;
}

ward_status tok_export_dir(const char *dir, const tok_export_opts *o, gguf_writer *w,
                           ward_error *err) {
    char model[4096], json[4096], config[4096];
    if (snprintf(model, sizeof model, "%s/tokenizer.model", dir) >= (int)sizeof model ||
        snprintf(json, sizeof json, "%s/tokenizer.json", dir) >= (int)sizeof json ||
        snprintf(config, sizeof config, "%s/tokenizer_config.json", dir) >= (int)sizeof config)
        return WARD_FAIL(err, WARD_EINVAL, "%s: path too long", dir);
    const bool has_model = is_file(model), has_json = is_file(json);
    if (!has_model && !has_json)
        return WARD_FAIL(err, WARD_EINVAL, "%s: no tokenizer.model or tokenizer.json", dir);
    const bool use_spm = has_model && (!has_json || (o && o->prefer_spm));
    const char *path = use_spm ? model : json;

    export_ctx c = {.o = o, .w = w, .add_bos = -1, .add_eos = -1};
    ward_filemap tok = {0}, cfg = {0};
    ward_status rc = WARD_OK;
    if (is_file(config)) {
        if ((rc = ward_filemap_open(config, &cfg, err)) == WARD_OK)
            rc = read_config(cfg.data, cfg.size, &c, err);
        if (rc != WARD_OK) {
            ward_error_prefix(err, dir);
            goto done;
        }
    }
    if ((rc = ward_filemap_open(path, &tok, err)) != WARD_OK) goto done;
    if (use_spm) {
        /* with its family (ChatGLM2/3's appended specials, ...) from tokenizer_config.json */
        rc = tok_parse_spm_model_desc_config(tok.data, tok.size, cfg.size ? cfg.data : NULL,
                                             cfg.size, export_cb, &c, err);
    } else {
        /* the loader reads tokenizer_config.json too (special-token names) */
        rc = tok_parse_hf_json_desc(tok.data, tok.size, cfg.size ? cfg.data : NULL, cfg.size,
                                    export_cb, &c, err);
    }
    if (rc != WARD_OK) ward_error_prefix(err, dir);
done:
    ward_filemap_close(&tok);
    ward_filemap_close(&cfg);
    return rc;
}
