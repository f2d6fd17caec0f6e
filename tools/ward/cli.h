/* cli.h: option tables shared by the ward subcommands.
 *
 * Each subcommand declares its options once, as a table of cli_opt rows; the same table parses
 * argv (long "--name VALUE" / "--name=VALUE" and short "-x VALUE" forms, range-checked numbers)
 * and prints --help, so the help can never disagree with the parser. Unknown options and bad
 * values are errors (exit code 2). Positional arguments are collected in order.
 */
#ifndef WARD_CLI_H
#define WARD_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef enum cli_kind { CLI_FLAG, CLI_INT, CLI_U64, CLI_FLOAT, CLI_STR } cli_kind;

typedef struct cli_opt {
    const char *name; /* long name without "--" */
    char short_name;  /* 0 if none */
    cli_kind kind;
    void *dst;        /* bool*, int32_t*, uint64_t*, float*, const char** */
    const char *metavar;
    const char *help;
    double min, max;  /* inclusive range for numbers (ignored when min == max) */
} cli_opt;

typedef struct cli_cmd {
    const char *name;     /* "run" */
    const char *synopsis; /* "-m MODEL -p PROMPT [options]" */
    const char *summary;  /* one line */
    const char *details;  /* paragraphs printed after the options, or NULL */
    const cli_opt *opts;
    int n_opts;
    int max_positional;
} cli_cmd;

enum { CLI_OK = 0, CLI_HELP = 1, CLI_ERROR = 2 };

/* Parse argv[1..argc) (argv[0] is the subcommand name). On CLI_HELP the help was printed to
 * stdout; on CLI_ERROR a message was printed to stderr. */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, const char **positional, int *n_pos);
void cli_help(const cli_cmd *cmd, FILE *out);
/* "ward CMD: message" on stderr; returns exit code 1. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cmd_run(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_convert(int argc, char **argv);

struct ward_model;
/* Open a model for cmd (a GGUF file or a HuggingFace directory), converted to the recipe quant
 * (NULL: none) while loading. Returns 0, or the exit code after printing the error (2 for an
 * unknown recipe). */
int cli_open_model(const char *cmd, const char *path, const char *quant, int32_t n_threads,
                   struct ward_model **out);

#endif
