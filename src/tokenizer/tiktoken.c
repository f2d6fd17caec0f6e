/* tiktoken.c: loading a tiktoken rank file (Qwen's qwen.tiktoken, Llama 3's tokenizer.model).
 *
 * Format: one token per line, "<base64 of the token's bytes> <rank>\n" (standard alphabet, '='
 * padding; a final "\r" and a missing last newline are tolerated). The rank is the token id and
 * the merge priority: BPE merges the adjacent pair whose bytes form the lowest-ranked token.
 * Everything is checked: bad base64, empty tokens, ranks that repeat or leave gaps (the ranks
 * must be exactly 0..N-1), repeated bytes, files over TIKTOKEN_MAX_BYTES.
 *
 * The file holds only the mergeable ranks; the model family's special tokens (control type) are
 * appended after them, as the family's own tokenizer code defines them:
 *   Qwen (151643 ranks; tokenization_qwen.py): <|endoftext|> 151643, <|im_start|> 151644,
 *     <|im_end|> 151645, <|extra_0|> .. <|extra_204|>; no BOS is added; EOS <|endoftext|>,
 *     EOT <|im_end|>. Pre-tokenizer "qwen2".
 *   Llama 3 (128000 ranks; Meta's tokenizer.py): 256 specials from 128000: <|begin_of_text|>,
 *     <|end_of_text|>, <|reserved_special_token_0..3|>, <|start_header_id|>, <|end_header_id|>,
 *     <|reserved_special_token_4|>, <|eot_id|>, <|reserved_special_token_5..250|>; BOS added;
 *     EOS <|end_of_text|>, EOT <|eot_id|>. Pre-tokenizer "llama-bpe" (ignore_merges).
 *   GLM-4 (151329 ranks, or any count with pre "chatglm-bpe"; THUDM/glm-4-9b-chat
 *     tokenization_chatglm.py and tokenizer_config.json): 14 specials from 151329:
 *     <|endoftext|>, [MASK], [gMASK], [sMASK], <sop>, <eop>, <|system|>, <|user|>, <|assistant|>,
 *     <|observation|>, <|begin_of_image|>, <|end_of_image|>, <|begin_of_video|>,
 *     <|end_of_video|>; no BOS (the template writes [gMASK]<sop>); EOS <|endoftext|>, EOT
 *     <|user|>, EOM <|observation|> (generation_config's three stop ids). Its pat_str equals
 *     Llama 3's regex, which llama.cpp's "chatglm-bpe" pre-tokenizer also uses.
 * Other rank counts need the pre-tokenizer by name and get no special tokens.
 */
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/filemap.h"
#include "tokenizer/tok_internal.h"

#define TIKTOKEN_MAX_BYTES ((size_t)256 << 20)

enum { FAMILY_NONE, FAMILY_QWEN, FAMILY_LLAMA3, FAMILY_GLM4 };

typedef struct tiktoken_family {
    int32_t n_ranks;
    const char *pre;
    int32_t n_special;
    int32_t bos, eos, eot, eom; /* offsets from n_ranks, -1 = none */
    bool add_bos;
    bool by_pre; /* also recognised by its pre-tokenizer name, whatever the rank count */
} tiktoken_family;

static const tiktoken_family families[] = {
    [FAMILY_NONE] = {0, NULL, 0, -1, -1, -1, -1, false, false},
    [FAMILY_QWEN] = {151643, "qwen2", 3 + 205, 0, 0, 2, -1, false, false},
    [FAMILY_LLAMA3] = {128000, "llama-bpe", 256, 0, 1, 9, -1, true, false},
    [FAMILY_GLM4] = {151329, "chatglm-bpe", 14, -1, 0, 7, 9, false, true},
};

/* GLM-4's specials in id order (the "control" list of its row in family.c). */
static const char *const glm4_specials[] = {
    "<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>",
    "<|assistant|>", "<|observation|>", "<|begin_of_image|>", "<|end_of_image|>",
    "<|begin_of_video|>", "<|end_of_video|>"};

/* Text of special token i of a family into buf (room for 64 bytes). */
static void special_text(int family, int32_t i, char *buf) {
    static const char *const qwen[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    static const char *const llama3[] = {
        "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
        "<|reserved_special_token_1|>", "<|reserved_special_token_2|>",
        "<|reserved_special_token_3|>", "<|start_header_id|>", "<|end_header_id|>",
        "<|reserved_special_token_4|>", "<|eot_id|>"};
    if (family == FAMILY_GLM4) {
        snprintf(buf, 64, "%s", glm4_specials[i]);
    } else if (family == FAMILY_QWEN) {
        if (i < 3) snprintf(buf, 64, "%s", qwen[i]);
        else snprintf(buf, 64, "<|extra_%d|>", (int)(i - 3));
    } else {
        if (i < 10) snprintf(buf, 64, "%s", llama3[i]);
        else snprintf(buf, 64, "<|reserved_special_token_%d|>", (int)(i - 10 + 5));
    }
}

static int b64_value(uint8_t c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decode standard base64 s[0..len) into out; returns the byte count or -1. */
static int64_t b64_decode(const uint8_t *s, size_t len, uint8_t *out) {
    if (len == 0 || len % 4 != 0) return -1;
    size_t pad = s[len - 1] == '=' ? (s[len - 2] == '=' ? 2 : 1) : 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t acc = 0;
        for (size_t j = 0; j < 4; j++) {
            bool is_pad = i + j >= len - pad;
            int d = is_pad ? 0 : b64_value(s[i + j]);
            if (d < 0) return -1;
            acc = acc << 6 | (uint32_t)d;
        }
        size_t k = i + 4 == len ? 3 - pad : 3;
        for (size_t j = 0; j < k; j++) out[n++] = (uint8_t)(acc >> (16 - 8 * j));
    }
    return n == 0 ? -1 : (int64_t)n;
}

/* Parse the file into texts by rank: *texts, *lens (n_ranks + n_extra slots), *bytes. */
static ward_status parse_ranks(const char *path, const uint8_t *data, size_t size,
                               int32_t n_extra_max, char ***texts_out, uint32_t **lens_out,
                               char **bytes_out, int32_t *n_out, ward_error *err) {
    size_t n_lines = 0;
    for (size_t i = 0; i < size; i++) n_lines += data[i] == '\n';
    if (size > 0 && data[size - 1] != '\n') n_lines++;
    if (n_lines == 0) return WARD_FAIL(err, WARD_EFORMAT, "%s: empty tiktoken file", path);
    if (n_lines > (1u << 27))
        return WARD_FAIL(err, WARD_EFORMAT, "%s: %zu lines is too many", path, n_lines);

    char **texts = ward_calloc(n_lines + (size_t)n_extra_max, sizeof *texts);
    uint32_t *lens = ward_calloc(n_lines + (size_t)n_extra_max, sizeof *lens);
    char *bytes = ward_malloc(size + (size_t)n_extra_max * 64);
    *texts_out = texts, *lens_out = lens, *bytes_out = bytes;
    if (!texts || !lens || !bytes)
        return WARD_FAIL(err, WARD_ENOMEM, "%s: no memory for %zu tokens", path, n_lines);

    size_t pos = 0, used = 0, line = 0;
    while (pos < size) {
        line++;
        const uint8_t *s = data + pos;
        const uint8_t *nl = memchr(s, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - s) : size - pos;
        pos += len + (nl != NULL);
        if (len > 0 && s[len - 1] == '\r') len--;
        const uint8_t *sp = memchr(s, ' ', len);
        if (!sp)
            return WARD_FAIL(err, WARD_EFORMAT, "%s: line %zu is not \"<base64> <rank>\"", path,
                             line);
        size_t nb = (size_t)(sp - s);
        int64_t nd = b64_decode(s, nb, (uint8_t *)bytes + used);
        if (nd < 0)
            return WARD_FAIL(err, WARD_EFORMAT, "%s: line %zu: bad base64 \"%.*s\"", path, line,
                             nb > 40 ? 40 : (int)nb, (const char *)s);
        uint64_t rank = 0;
        size_t nr = len - nb - 1;
        if (nr == 0 || nr > 10)
            return WARD_FAIL(err, WARD_EFORMAT, "%s: line %zu: bad rank", path, line);
        for (size_t i = 0; i < nr; i++) {
            uint8_t c = sp[1 + i];
            if (c < '0' || c > '9')
                return WARD_FAIL(err, WARD_EFORMAT, "%s: line %zu: bad rank", path, line);
            rank = rank * 10 + (c - '0');
        }
        if (rank >= n_lines)
            return WARD_FAIL(err, WARD_EFORMAT,
                             "%s: line %zu: rank %llu, but ranks must be 0..%zu (one per line, "
                             "no gaps)", path, line, (unsigned long long)rank, n_lines - 1);
        if (texts[rank])
            return WARD_FAIL(err, WARD_EFORMAT, "%s: line %zu: rank %llu repeats", path, line,
                             (unsigned long long)rank);
        texts[rank] = bytes + used;
        lens[rank] = (uint32_t)nd;
        used += (size_t)nd;
    }
    /* n_lines ranks, each < n_lines, none repeated: every rank is present */
    *n_out = (int32_t)n_lines;
    return WARD_OK;
}

ward_status tok_load_tiktoken(const char *path, const char *pre, tok_vocab **out,
                              ward_error *err) {
    *out = NULL;
    ward_filemap map = {0};
    ward_status rc = ward_filemap_open(path, &map, err);
    if (rc != WARD_OK) return rc;
    char **texts = NULL, *bytes = NULL;
    uint32_t *lens = NULL;
    int32_t *types = NULL;
    const int32_t n_extra_max = 256;
    int32_t n = 0;
    if (map.size > TIKTOKEN_MAX_BYTES) {
        rc = WARD_FAIL(err, WARD_EFORMAT, "%s: %zu bytes is too large for a tiktoken file", path,
                       map.size);
        goto done;
    }
    rc = parse_ranks(path, map.data, map.size, n_extra_max, &texts, &lens, &bytes, &n, err);
    if (rc != WARD_OK) goto done;

    int family = FAMILY_NONE;
    for (int f = 1; f < (int)(sizeof families / sizeof families[0]); f++) {
        bool named = families[f].by_pre && pre && strcmp(pre, families[f].pre) == 0;
        if (families[f].n_ranks == n || named) family = f;
    }
    const tiktoken_family *fam = &families[family];
    const char *pre_name = pre ? pre : fam->pre;
    if (!pre_name) {
        rc = WARD_FAIL(err, WARD_EUNSUPPORTED,
                       "%s: %d ranks is not Qwen's (151643), Llama 3's (128000) or GLM-4's "
                       "(151329): name the pre-tokenizer", path, n);
        goto done;
    }
    const tok_pre *p = tok_pre_find(pre_name, strlen(pre_name));
    if (!p) {
        rc = WARD_FAIL(err, WARD_EUNSUPPORTED, "%s: unknown pre-tokenizer \"%s\"", path, pre_name);
        goto done;
    }

    int32_t n_vocab = n + fam->n_special;
    types = ward_malloc((size_t)n_vocab * sizeof *types);
    if (!types) {
        rc = WARD_FAIL(err, WARD_ENOMEM, "%s: no memory", path);
        goto done;
    }
    char *extra = bytes + map.size; /* parse_ranks left 64 bytes per special after the texts */
    for (int32_t i = 0; i < n; i++) types[i] = TOK_TYPE_NORMAL;
    for (int32_t i = 0; i < fam->n_special; i++) {
        special_text(family, i, extra + 64 * (size_t)i);
        texts[n + i] = extra + 64 * (size_t)i;
        lens[n + i] = (uint32_t)strlen(texts[n + i]);
        types[n + i] = TOK_TYPE_CONTROL;
    }
    bool has_fam = fam->n_special > 0;
#define FAM_ID(off) (has_fam && (off) >= 0 ? n + (off) : -1)
    tok_desc d = {
        .algo = TOK_ALGO_BPE,
        .n_vocab = n_vocab,
        .texts = (const char *const *)texts,
        .text_lens = lens,
        .byte_level = false,
        .types = types,
        .n_pre = tok_pre_count(p),
        .pre_regexes = p->regexes,
        .ignore_merges = p->ignore_merges,
        .bos = FAM_ID(fam->bos),
        .eos = FAM_ID(fam->eos),
        .unk = -1,
        .pad = -1,
        .eot = FAM_ID(fam->eot),
        .eom = FAM_ID(fam->eom),
        .add_bos = fam->add_bos,
        .name = "",
    };
#undef FAM_ID
    rc = tok_vocab_build(&d, out, err);
    if (rc != WARD_OK) ward_error_prefix(err, path);
done:
    ward_free(texts);
    ward_free(lens);
    ward_free(bytes);
    ward_free(types);
    ward_filemap_close(&map);
    return rc;
}
