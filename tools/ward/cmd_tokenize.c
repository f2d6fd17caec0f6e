/* cmd_tokenize.c: `ward tokenize -m MODEL TEXT`: the token ids (and pieces) of a text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ward.h"

static void print_piece(const ward_model *m, ward_token t) {
    size_t len;
    const char *s = ward_token_text(m, t, &len);
    putchar('\'');
    for (size_t i = 0; s && i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20) printf("\\x%02x", c);
        else putchar(c);
    }
    putchar('\'');
}

static int tokenize(const char *path, const char *text, unsigned flags, bool ids_only) {
    ward_error err;
    ward_model *m;
    if (ward_model_open(path, &m, &err)) return cli_fail("tokenize", "%s", err.msg);
    size_t len = strlen(text), n = 0;
    ward_token *toks = malloc((len + 8) * sizeof *toks);
    ward_status st = toks ? ward_tokenize(m, text, len, flags, toks, len + 8, &n) : WARD_ENOMEM;
    if (st == WARD_ERANGE) {
        ward_token *p = realloc(toks, n * sizeof *toks);
        st = p ? ward_tokenize(m, text, len, flags, p, n, &n) : WARD_ENOMEM;
        if (p) toks = p;
    }
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
            print_piece(m, toks[i]);
            putchar('\n');
        }
        if (ids_only) putchar('\n');
    }
    free(toks);
    ward_model_close(m);
    return rc;
}

int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL;
    bool ids = false, bos = false, special = false;
    const cli_opt opts[] = {
        {"model", 'm', CLI_STR, &model, "FILE", "GGUF model whose tokenizer to use (required)", 0, 0},
        {"ids", 0, CLI_FLAG, &ids, NULL, "print only the ids, space-separated on one line", 0, 0},
        {"bos", 0, CLI_FLAG, &bos, NULL, "add the BOS token as the model would for a prompt", 0, 0},
        {"special", 0, CLI_FLAG, &special, NULL, "parse control-token text such as </s>", 0, 0},
    };
    const cli_cmd cmd = {"tokenize", "-m MODEL [--ids] [--bos] [--special] TEXT",
                         "Print the tokens of TEXT: one line per token with its id and piece, or "
                         "only the ids with --ids. No BOS is added unless --bos.",
                         NULL, opts, (int)(sizeof opts / sizeof opts[0]), 1};
    const char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    if (!model || n_pos != 1) {
        cli_fail("tokenize", "expected -m MODEL and one TEXT; see ward tokenize --help");
        return 2;
    }
    unsigned flags = (bos ? WARD_TOKENIZE_ADD_BOS : 0) | (special ? WARD_TOKENIZE_PARSE_SPECIAL : 0);
    return tokenize(model, pos[0], flags, ids);
}
