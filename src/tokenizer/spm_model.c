/* spm_model.c: SentencePiece tokenizer.model files (protobuf ModelProto) into a tok_vocab.
 *
 * Design
 *   The file is mapped and read with a small protobuf wire-format reader that checks every
 *   varint (at most 10 bytes, none running off the end) and every length against the enclosing
 *   message before a pointer is formed. Two passes over the top-level message: the first counts
 *   pieces and reads trainer_spec / normalizer_spec, the second fills the piece arrays (texts
 *   point into the mapping; tok_vocab_build() copies them). Unknown fields are skipped by wire
 *   type; groups (wire types 3, 4) and the invalid types 6, 7 are format errors.
 *
 * Format (sentencepiece_model.proto; only the fields used here)
 *   ModelProto      1 pieces (repeated SentencePiece)  2 trainer_spec  3 normalizer_spec
 *   SentencePiece   1 piece (string)  2 score (float)  3 type (NORMAL=1 UNKNOWN=2 CONTROL=3
 *                   USER_DEFINED=4 UNUSED=5 BYTE=6; default NORMAL)
 *   TrainerSpec     3 model_type (UNIGRAM=1 default, BPE=2, WORD=3, CHAR=4)
 *                   24 treat_whitespace_as_suffix  35 byte_fallback
 *                   40 unk_id (0)  41 bos_id (1)  42 eos_id (2)  43 pad_id (-1); -1 = none
 *   NormalizerSpec  1 name  3 add_dummy_prefix (true)  4 remove_extra_whitespaces (true)
 *                   5 escape_whitespaces (true)
 *   Wire: tag = varint (field << 3 | type); 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.
 *
 * Families (family.c, chosen from tokenizer_config.json beside the file or by name): ChatGLM2/3
 * append their specials after the pieces (control, ids from n_pieces on), others force texts
 * already in the vocabulary to control and name BOS/EOS/EOT/EOM by text.
 *
 * Semantics follow llama.cpp's converter for "llama" vocabs: only BPE models are accepted (the
 * SPM encoder merges by score; unigram needs Viterbi), add_space_prefix = add_dummy_prefix, BOS
 * added, EOS not. Like llama.cpp, the normalizer's rules (name, precompiled charsmap,
 * remove_extra_whitespaces) are not applied; Llama 2's model uses "identity" and no removal.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/filemap.h"
#include "tokenizer/tok.h"

#define SPM_MAX_FILE ((size_t)512 << 20)
#define SPM_MAX_PIECES (1 << 24)

/* ---------------------------------------------------------------------------------------------
 * Protobuf wire-format reader
 * ------------------------------------------------------------------------------------------- */

/* One message: bytes data[pos..end) of the file (offsets are file offsets, for messages). */
typedef struct pb_msg {
    const uint8_t *data;
    size_t pos, end;
    const char *name; /* for messages: "ModelProto", "piece 3", ... */
} pb_msg;

typedef struct pb_field {
    uint32_t num;
    uint32_t wire;
    uint64_t v;         /* varint, fixed32 and fixed64 values */
    const uint8_t *ptr; /* length-delimited payload */
    size_t off, len;    /* its file offset and length */
} pb_field;

static ward_status pb_varint(pb_msg *m, uint64_t *out, ward_error *err) {
    uint64_t v = 0;
    size_t start = m->pos;
    for (int i = 0; i < 10; i++) {
        if (m->pos >= m->end)
            return WARD_FAIL(err, WARD_EFORMAT, "%s: varint at byte %zu runs off the end",
                             m->name, start);
        uint8_t c = m->data[m->pos++];
        if (i == 9 && c > 1)
            return WARD_FAIL(err, WARD_EFORMAT, "%s: varint at byte %zu overflows 64 bits",
                             m->name, start);
        v |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            *out = v;
            return WARD_OK;
        }
    }
    return WARD_FAIL(err, WARD_EFORMAT, "%s: varint at byte %zu is longer than 10 bytes",
                     m->name, start);
}

/* Next field of m into *f; *done when the message ends. */
static ward_status pb_next(pb_msg *m, pb_field *f, bool *done, ward_error *err) {
    *done = m->pos >= m->end;
    if (*done) return WARD_OK;
    size_t at = m->pos;
    uint64_t tag;
    ward_status rc = pb_varint(m, &tag, err);
    if (rc != WARD_OK) return rc;
    if (tag >> 3 == 0 || tag >> 3 > 0x1fffffff)
        return WARD_FAIL(err, WARD_EFORMAT, "%s: bad field number %llu at byte %zu", m->name,
                         (unsigned long long)(tag >> 3), at);
    f->num = (uint32_t)(tag >> 3);
    f->wire = (uint32_t)(tag & 7);
    f->v = 0, f->ptr = NULL, f->off = 0, f->len = 0;
    size_t left;
    switch (f->wire) {
    case 0:
        return pb_varint(m, &f->v, err);
    case 1:
    case 5: {
        size_t n = f->wire == 1 ? 8 : 4;
        if (m->end - m->pos < n)
            return WARD_FAIL(err, WARD_EFORMAT, "%s: field %u at byte %zu runs off the end",
                             m->name, f->num, at);
        for (size_t i = 0; i < n; i++) f->v |= (uint64_t)m->data[m->pos + i] << (8 * i);
        m->pos += n;
        return WARD_OK;
    }
    case 2:
        if ((rc = pb_varint(m, &f->v, err)) != WARD_OK) return rc;
        left = m->end - m->pos;
        if (f->v > left)
            return WARD_FAIL(err, WARD_EFORMAT,
                             "%s: field %u at byte %zu: length %llu but only %zu bytes left",
                             m->name, f->num, at, (unsigned long long)f->v, left);
        f->off = m->pos;
        f->len = (size_t)f->v;
        f->ptr = m->data + m->pos;
        m->pos += f->len;
        return WARD_OK;
    default:
        return WARD_FAIL(err, WARD_EFORMAT, "%s: field %u at byte %zu has wire type %u%s",
                         m->name, f->num, at, f->wire,
                         f->wire == 3 || f->wire == 4 ? " (groups are not supported)"
                                                      : " (not a valid type)");
    }
}

static ward_status pb_expect(const pb_msg *m, const pb_field *f, uint32_t wire, const char *field,
                             ward_error *err) {
    if (f->wire == wire) return WARD_OK;
    return WARD_FAIL(err, WARD_EFORMAT, "%s: %s (field %u) has wire type %u, expected %u",
                     m->name, field, f->num, f->wire, wire);
}

static pb_msg pb_sub(const pb_msg *m, const pb_field *f, const char *name) {
    return (pb_msg){m->data, f->off, f->off + f->len, name};
}

/* proto int32: the low 32 bits of the varint (negative values are sign-extended to 64). */
static int32_t pb_int32(uint64_t v) { return (int32_t)(uint32_t)(v & 0xffffffffu); }

/* ---------------------------------------------------------------------------------------------
 * ModelProto
 * ------------------------------------------------------------------------------------------- */

typedef struct spm_specs {
    int32_t model_type, unk_id, bos_id, eos_id, pad_id;
    bool byte_fallback, whitespace_suffix;
    bool add_dummy_prefix, escape_whitespaces;
} spm_specs;

static ward_status read_trainer(pb_msg m, spm_specs *s, ward_error *err) {
    pb_field f;
    bool done;
    ward_status rc;
    for (;;) {
        if ((rc = pb_next(&m, &f, &done, err)) != WARD_OK) return rc;
        if (done) return WARD_OK;
        int32_t *id = NULL;
        bool *flag = NULL;
        const char *what = NULL;
        switch (f.num) {
        case 3: id = &s->model_type, what = "model_type"; break;
        case 40: id = &s->unk_id, what = "unk_id"; break;
        case 41: id = &s->bos_id, what = "bos_id"; break;
        case 42: id = &s->eos_id, what = "eos_id"; break;
        case 43: id = &s->pad_id, what = "pad_id"; break;
        case 24: flag = &s->whitespace_suffix, what = "treat_whitespace_as_suffix"; break;
        case 35: flag = &s->byte_fallback, what = "byte_fallback"; break;
        default: continue;
        }
        if ((rc = pb_expect(&m, &f, 0, what, err)) != WARD_OK) return rc;
        if (id) *id = pb_int32(f.v);
        else *flag = f.v != 0;
    }
}

static ward_status read_normalizer(pb_msg m, spm_specs *s, ward_error *err) {
    pb_field f;
    bool done;
    ward_status rc;
    for (;;) {
        if ((rc = pb_next(&m, &f, &done, err)) != WARD_OK) return rc;
        if (done) return WARD_OK;
        bool *flag = NULL;
        const char *what = NULL;
        switch (f.num) {
        case 3: flag = &s->add_dummy_prefix, what = "add_dummy_prefix"; break;
        case 5: flag = &s->escape_whitespaces, what = "escape_whitespaces"; break;
        default: continue; /* name, charsmap, remove_extra_whitespaces: not applied */
        }
        if ((rc = pb_expect(&m, &f, 0, what, err)) != WARD_OK) return rc;
        *flag = f.v != 0;
    }
}

/* One SentencePiece message into text, score, type. */
static ward_status read_piece(pb_msg m, const char **text, uint32_t *len, float *score,
                              int32_t *type, ward_error *err) {
    pb_field f;
    bool done;
    ward_status rc;
    *text = "", *len = 0, *score = 0.0f, *type = TOK_TYPE_NORMAL;
    for (;;) {
        if ((rc = pb_next(&m, &f, &done, err)) != WARD_OK) return rc;
        if (done) break;
        if (f.num == 1) {
            if ((rc = pb_expect(&m, &f, 2, "piece", err)) != WARD_OK) return rc;
            *text = (const char *)f.ptr, *len = (uint32_t)f.len; /* < 512 MB */
        } else if (f.num == 2) {
            if ((rc = pb_expect(&m, &f, 5, "score", err)) != WARD_OK) return rc;
            uint32_t bits = (uint32_t)f.v;
            memcpy(score, &bits, sizeof *score);
        } else if (f.num == 3) {
            if ((rc = pb_expect(&m, &f, 0, "type", err)) != WARD_OK) return rc;
            if (f.v < TOK_TYPE_NORMAL || f.v > TOK_TYPE_BYTE)
                return WARD_FAIL(err, WARD_EFORMAT, "%s: type %llu is not a piece type",
                                 m.name, (unsigned long long)f.v);
            *type = (int32_t)f.v;
        }
    }
    if (*len == 0) return WARD_FAIL(err, WARD_EFORMAT, "%s: empty piece text", m.name);
    if (isnan(*score)) return WARD_FAIL(err, WARD_EFORMAT, "%s: score is NaN", m.name);
    return WARD_OK;
}

static ward_status check_id(const char *what, int32_t id, int32_t n, ward_error *err) {
    if (id == -1 || (id >= 0 && id < n)) return WARD_OK;
    return WARD_FAIL(err, WARD_EFORMAT, "trainer_spec.%s = %d: not a piece id (%d pieces)", what,
                     id, n);
}

/* ---------------------------------------------------------------------------------------------
 * Families (family.c): appended specials, forced control types, BOS/EOS/EOT by text
 * ------------------------------------------------------------------------------------------- */

static int32_t count_list(const char *const *l) {
    int32_t n = 0;
    while (l && l[n]) n++;
    return n;
}

/* Id of the piece whose text is s among the first n, or -1 (a linear scan: families list a
 * handful of texts). */
static int32_t find_piece(const char **texts, const uint32_t *lens, int32_t n, const char *s) {
    size_t len = strlen(s);
    for (int32_t i = 0; i < n; i++)
        if (lens[i] == len && memcmp(texts[i], s, len) == 0) return i;
    return -1;
}

/* Append fam's specials after the n pieces and apply its rules to d (whose arrays have room). */
static void apply_family(const tok_family *fam, tok_desc *d, const char **texts, uint32_t *lens,
                         float *scores, int32_t *types) {
    int32_t n = d->n_vocab;
    for (const char *const *a = fam->appended; a && *a; a++, n++) {
        texts[n] = *a, lens[n] = (uint32_t)strlen(*a), scores[n] = 0.0f;
        types[n] = TOK_TYPE_CONTROL;
    }
    d->n_vocab = n;
    for (const char *const *c = fam->control; c && *c; c++) {
        int32_t id = find_piece(texts, lens, n, *c);
        if (id >= 0) types[id] = TOK_TYPE_CONTROL;
    }
    const char *const by_text[4] = {fam->bos, fam->eos, fam->eot, fam->eom};
    int32_t *const slot[4] = {&d->bos, &d->eos, &d->eot, &d->eom};
    for (int k = 0; k < 4; k++) {
        int32_t id = by_text[k] ? find_piece(texts, lens, n, by_text[k]) : -1;
        if (id >= 0) *slot[k] = id;
    }
    if (fam->no_add_bos) d->add_bos = false;
    d->text_rules = fam->text_rules;
}

/* Messages without a file prefix; the public functions add one. */
static ward_status parse_model(const uint8_t *data, size_t len, const tok_family *fam,
                               tok_desc_fn fn, void *user, ward_error *err) {
    if (len > SPM_MAX_FILE)
        return WARD_FAIL(err, WARD_EFORMAT, "%zu bytes is more than the %zu MB limit", len,
                         SPM_MAX_FILE >> 20);
    spm_specs s = {.model_type = 1, .unk_id = 0, .bos_id = 1, .eos_id = 2, .pad_id = -1,
                   .add_dummy_prefix = true, .escape_whitespaces = true};
    pb_msg top = {data, 0, len, "ModelProto"};
    pb_field f;
    bool done;
    ward_status rc;
    uint64_t n = 0;

    /* pass 1: count pieces, read the specs */
    for (;;) {
        if ((rc = pb_next(&top, &f, &done, err)) != WARD_OK) return rc;
        if (done) break;
        if (f.num < 1 || f.num > 3) continue;
        static const char *const names[] = {"", "pieces", "trainer_spec", "normalizer_spec"};
        if ((rc = pb_expect(&top, &f, 2, names[f.num], err)) != WARD_OK) return rc;
        if (f.num == 1 && ++n > SPM_MAX_PIECES)
            return WARD_FAIL(err, WARD_EFORMAT, "more than %d pieces", SPM_MAX_PIECES);
        if (f.num == 2) rc = read_trainer(pb_sub(&top, &f, "trainer_spec"), &s, err);
        if (f.num == 3) rc = read_normalizer(pb_sub(&top, &f, "normalizer_spec"), &s, err);
        if (rc != WARD_OK) return rc;
    }
    if (n == 0) return WARD_FAIL(err, WARD_EFORMAT, "no pieces");
    static const char *const types[] = {"?", "UNIGRAM", "BPE", "WORD", "CHAR"};
    if (s.model_type != 2)
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "model_type %s is not supported (only BPE: ward's SentencePiece encoder "
                         "merges by score)",
                         s.model_type >= 1 && s.model_type <= 4 ? types[s.model_type] : "?");
    if (s.whitespace_suffix)
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "treat_whitespace_as_suffix is not supported");
    if (!s.escape_whitespaces)
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "escape_whitespaces = false is not supported");
    int32_t n_vocab = (int32_t)n;
    if ((rc = check_id("unk_id", s.unk_id, n_vocab, err)) != WARD_OK ||
        (rc = check_id("bos_id", s.bos_id, n_vocab, err)) != WARD_OK ||
        (rc = check_id("eos_id", s.eos_id, n_vocab, err)) != WARD_OK ||
        (rc = check_id("pad_id", s.pad_id, n_vocab, err)) != WARD_OK)
        return rc;

    /* pass 2: the pieces (room for the family's appended specials after them) */
    const size_t cap = (size_t)n + (size_t)count_list(fam ? fam->appended : NULL);
    const char **texts = ward_calloc(cap, sizeof *texts);
    uint32_t *lens = ward_calloc(cap, sizeof *lens);
    float *scores = ward_calloc(cap, sizeof *scores);
    int32_t *ptypes = ward_calloc(cap, sizeof *ptypes);
    if (!texts || !lens || !scores || !ptypes) {
        rc = WARD_FAIL(err, WARD_ENOMEM, "no memory for %d pieces", n_vocab);
        goto done;
    }
    top.pos = 0;
    for (int32_t i = 0; i < n_vocab;) {
        if ((rc = pb_next(&top, &f, &done, err)) != WARD_OK) goto done;
        if (done) { /* cannot happen: pass 1 saw n_vocab pieces */
            rc = WARD_FAIL(err, WARD_EFORMAT, "pieces changed between passes");
            goto done;
        }
        if (f.num != 1) continue;
        char name[32];
        snprintf(name, sizeof name, "piece %d", i);
        rc = read_piece(pb_sub(&top, &f, name), &texts[i], &lens[i], &scores[i], &ptypes[i], err);
        if (rc != WARD_OK) goto done;
        i++;
    }

    tok_desc d = {
        .algo = TOK_ALGO_SPM,
        .n_vocab = n_vocab,
        .texts = texts,
        .text_lens = lens,
        .scores = scores,
        .types = ptypes,
        .bos = s.bos_id, .eos = s.eos_id, .unk = s.unk_id, .pad = s.pad_id,
        .eot = -1, .eom = -1,
        .add_bos = true, .add_eos = false, .add_space_prefix = s.add_dummy_prefix,
        .name = "",
    };
    if (fam) apply_family(fam, &d, texts, lens, scores, ptypes);
    rc = fn(&d, user, err);
done:
    ward_free(texts);
    ward_free(lens);
    ward_free(scores);
    ward_free(ptypes);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Public
 * ------------------------------------------------------------------------------------------- */

static ward_status build(const tok_desc *d, void *out, ward_error *err) {
    return tok_vocab_build(d, out, err);
}

ward_status tok_parse_spm_model_desc(const void *data, size_t len, tok_desc_fn fn, void *user,
                                     ward_error *err) {
    ward_status rc = parse_model(data, len, NULL, fn, user, err);
    if (rc != WARD_OK) ward_error_prefix(err, "tokenizer.model");
    return rc;
}

ward_status tok_parse_spm_model_family(const void *data, size_t len, const tok_family *fam,
                                       tok_vocab **out, ward_error *err) {
    *out = NULL;
    ward_status rc = parse_model(data, len, fam, build, out, err);
    if (rc != WARD_OK) ward_error_prefix(err, "tokenizer.model");
    return rc;
}

ward_status tok_parse_spm_model(const void *data, size_t len, tok_vocab **out, ward_error *err) {
    return tok_parse_spm_model_family(data, len, NULL, out, err);
}

/* Does the protobuf hold a piece "[gMASK]"? (ChatGLM-6B's does; 2 and 3 append it.) A cheap
 * byte search: the piece field is the length-prefixed text. */
static bool has_gmask_piece(const ward_filemap *map) {
    static const char needle[] = "\x0a\x07[gMASK]";
    return map->size >= sizeof needle - 1 &&
           memmem(map->data, map->size, needle, sizeof needle - 1) != NULL;
}

ward_status tok_parse_spm_model_desc_config(const void *data, size_t len, const char *config,
                                            size_t config_len, tok_desc_fn fn, void *user,
                                            ward_error *err) {
    const tok_family *fam = NULL;
    const ward_filemap map = {.data = data, .size = len};
    ward_status rc = config ? tok_family_from_config(config, config_len, has_gmask_piece(&map),
                                                     &fam, err)
                            : WARD_OK;
    if (rc != WARD_OK) return rc; /* the message names tokenizer_config.json */
    rc = parse_model(data, len, fam, fn, user, err);
    if (rc != WARD_OK) ward_error_prefix(err, "tokenizer.model");
    return rc;
}

/* The family from the tokenizer_config.json beside path: *fam NULL when there is none. */
static ward_status family_beside(const char *path, const ward_filemap *map,
                                 const tok_family **fam, ward_error *err) {
    *fam = NULL;
    size_t dir = strlen(path);
    while (dir > 0 && path[dir - 1] != '/') dir--;
    char *cfg_path = ward_malloc(dir + sizeof "tokenizer_config.json");
    if (!cfg_path) return WARD_FAIL(err, WARD_ENOMEM, "%s: no memory", path);
    memcpy(cfg_path, path, dir);
    memcpy(cfg_path + dir, "tokenizer_config.json", sizeof "tokenizer_config.json");
    ward_status rc = WARD_OK;
    FILE *probe = fopen(cfg_path, "rb");
    if (probe) {
        fclose(probe);
        ward_filemap cfg = {0};
        rc = ward_filemap_open(cfg_path, &cfg, err);
        if (rc == WARD_OK)
            rc = tok_family_from_config(cfg.data ? cfg.data : "", cfg.size,
                                        has_gmask_piece(map), fam, err);
        if (rc != WARD_OK) ward_error_prefix(err, cfg_path);
        ward_filemap_close(&cfg);
    }
    ward_free(cfg_path);
    return rc;
}

ward_status tok_load_spm_model_family(const char *path, const char *family, tok_vocab **out,
                                      ward_error *err) {
    *out = NULL;
    const tok_family *fam = NULL;
    if (family && strcmp(family, "none") != 0 && !(fam = tok_family_find(family)))
        return WARD_FAIL(err, WARD_EINVAL, "%s: unknown tokenizer family \"%s\"", path, family);
    ward_filemap map = {0};
    ward_status rc = ward_filemap_open(path, &map, err);
    if (rc != WARD_OK) return rc; /* the message names the path */
    if (!family) rc = family_beside(path, &map, &fam, err);
    if (rc == WARD_OK) {
        rc = parse_model(map.data, map.size, fam, build, out, err);
        if (rc != WARD_OK) ward_error_prefix(err, path);
    }
    ward_filemap_close(&map);
    return rc;
}

ward_status tok_load_spm_model(const char *path, tok_vocab **out, ward_error *err) {
    return tok_load_spm_model_family(path, NULL, out, err);
}
