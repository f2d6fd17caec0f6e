/* cmd_tokenize.c: `ward tokenize`: the token ids (and pieces) of a text.
 *
 * The tokenizer comes from a model (-m, any GGUF file including vocab-only ones: no weights are
 * loaded) or from the files models ship (--tokenizer: tokenizer.json, tokenizer.model, a
 * tiktoken file, or a directory holding one); both go through ward_tokenizer_open().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ward.h"

/* Bytes of the UTF-8 character at s if it is complete (n bytes available), else 0. Only the
 * shape is checked: this decides what to print, not what is valid input. */
static size_t utf8_char(const unsigned char *s, size_t n) {
    const size_t len = s[0] < 0xC2 ? 0 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : s[0] < 0xF5 ? 4 : 0;
    if (len == 0 || len > n) return 0;
    for (size_t k = 1; k < len; k++)
        if ((s[k] & 0xC0) != 0x80) return 0;
    return len;
}

/* The entry in quotes: ASCII and whole UTF-8 characters as they are, anything else (control
 * bytes, pieces of a character that byte-level BPE splits) as \xNN. */
static void print_piece(const ward_tokenizer *t, ward_token id) {
    size_t len;
    const unsigned char *s = (const unsigned char *)ward_tokenizer_token_text(t, id, &len);
    putchar('\'');
    for (size_t i = 0; s && i < len;) {
        const size_t n = s[i] >= 0x80 ? utf8_char(s + i, len - i) : 1;
        if (n == 0 || s[i] < 0x20 || s[i] == 0x7f || s[i] == '\'' || s[i] == '\\') {
            printf("\\x%02x", s[i++]);
            continue;
        }
        fwrite(s + i, 1, n, stdout);
        i += n;
    }
    putchar('\'');
}

/* Encode text into a malloc'ed array (*toks, *n); returns a status. */
static ward_status encode(const ward_tokenizer *t, const char *text, unsigned flags,
                          ward_token **toks, size_t *n) {
    size_t len = strlen(text), cap = len + 8;
    *toks = malloc(cap * sizeof **toks);
    if (!*toks) return WARD_ENOMEM;
    ward_status st = ward_tokenizer_encode(t, text, len, flags, *toks, cap, n);
    if (st != WARD_ERANGE) return st;
    ward_token *p = realloc(*toks, *n * sizeof **toks);
    if (!p) return WARD_ENOMEM;
    *toks = p;
    return ward_tokenizer_encode(t, text, len, flags, *toks, *n, n);
}

static int tokenize(const char *path, const char *text, unsigned flags, bool ids_only) {
    ward_error err;
    ward_tokenizer *t;
    if (ward_tokenizer_open(path, &t, &err)) return cli_fail("tokenize", "%s", err.msg);
    ward_token *toks = NULL;
    size_t n = 0;
    ward_status st = encode(t, text, flags, &toks, &n);
    int rc = 0;
    if (st) {
        rc = cli_fail("tokenize", "%s", ward_status_str(st));
    } else {
        for (size_t i = 0; i < n; i++) {
            if (ids_only) {
                printf(i ? " %d" : "%d", toks[i]);
                continue;
            }
            printf("%6d ", toks[i]);
            print_piece(t, toks[i]);
            putchar('\n');
        }
        if (ids_only) putchar('\n');
    }
    free(toks);
    ward_tokenizer_close(t);
    return rc;
}

int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *tokenizer = NULL;
    bool ids = false, bos = false, special = false;
    const cli_opt opts[] = {
        {"model", 'm', CLI_STR, &model, "FILE", "GGUF model (or vocab-only GGUF) whose tokenizer to use", 0, 0},
        {"tokenizer", 0, CLI_STR, &tokenizer, "PATH", "tokenizer.json, tokenizer.model, *.tiktoken, or a directory with one", 0, 0},
        {"ids", 0, CLI_FLAG, &ids, NULL, "print only the ids, space-separated on one line", 0, 0},
        {"bos", 0, CLI_FLAG, &bos, NULL, "add the BOS token as the model would for a prompt", 0, 0},
        {"special", 0, CLI_FLAG, &special, NULL, "parse control-token text such as </s>", 0, 0},
    };
    const cli_cmd cmd = {"tokenize", "(-m MODEL | --tokenizer PATH) [--ids] [--bos] [--special] TEXT",
                         "Print the tokens of TEXT: one line per token with its id and vocabulary "
                         "entry, or only the ids with --ids. No BOS is added unless --bos; "
                         "control-token text is plain text unless --special.",
                         NULL, opts, (int)(sizeof opts / sizeof opts[0]), 1};
    const char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    if (!model == !tokenizer || n_pos != 1) {
        cli_fail("tokenize", "expected one of -m MODEL or --tokenizer PATH, and one TEXT; see "
                 "ward tokenize --help");
        return 2;
    }
    unsigned flags = (bos ? WARD_TOKENIZE_ADD_BOS : 0) | (special ? WARD_TOKENIZE_PARSE_SPECIAL : 0);
    return tokenize(model ? model : tokenizer, pos[0], flags, ids);
}
