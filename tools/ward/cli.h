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

#include "ward.h"

typedef enum cli_kind { CLI_FLAG, CLI_INT, CLI_U64, CLI_FLOAT, CLI_STR, CLI_LIST } cli_kind;

/* A repeatable string option (CLI_LIST): each use appends; more than CLI_LIST_MAX is an error. */
#define CLI_LIST_MAX 16
typedef struct cli_list {
    const char *v[CLI_LIST_MAX];
    int n;
} cli_list;

typedef struct cli_opt {
    const char *name; /* long name without "--" */
    char short_name;  /* 0 if none */
    cli_kind kind;
    void *dst;        /* bool*, int32_t*, uint64_t*, float*, const char**, cli_list* */
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

/* The sampling option rows shared by run and chat, for a ward_sampler_params lvalue sp. */
#define CLI_SAMPLING_OPTS(sp)                                                                      \
    {"temp", 0, CLI_FLOAT, &(sp).temperature, "X", "temperature; 0 = greedy (default 0.8)", 0, 100}, \
    {"top-k", 0, CLI_INT, &(sp).top_k, "N", "keep the N most likely tokens; 0 = off (default 40)", 0, 1 << 24}, \
    {"top-p", 0, CLI_FLOAT, &(sp).top_p, "X", "nucleus sampling; 1 = off (default 0.95)", 0.0001, 1}, \
    {"min-p", 0, CLI_FLOAT, &(sp).min_p, "X", "drop tokens below X times the top probability (default 0.05)", 0, 1}, \
    {"repeat-penalty", 0, CLI_FLOAT, &(sp).repeat_penalty, "X", "penalize repeated tokens; 1 = off (default 1)", 0.01, 100}, \
    {"presence-penalty", 0, CLI_FLOAT, &(sp).presence_penalty, "X", "subtract X from seen tokens (default 0)", -100, 100}, \
    {"frequency-penalty", 0, CLI_FLOAT, &(sp).frequency_penalty, "X", "subtract X per occurrence (default 0)", -100, 100}, \
    {"repeat-last-n", 0, CLI_INT, &(sp).penalty_last_n, "N", "how many recent tokens penalties see (default 64)", 0, 1 << 20}, \
    {"seed", 's', CLI_U64, &(sp).seed, "N", "random seed (default 0); same seed, same output", 0, 0}

/* A progress bar on stderr for long jobs: redrawn in place on a terminal, only the final line
 * when stderr is a file. Pass cli_progress_show as the progress callback and the bar as user. */
typedef struct cli_progress {
    bool tty;
    double start;
} cli_progress;
cli_progress cli_progress_start(void);
void cli_progress_show(void *user, int64_t done, int64_t total);
double cli_now_s(void);

/* Parse argv[1..argc) (argv[0] is the subcommand name). On CLI_HELP the help was printed to
 * stdout; on CLI_ERROR a message was printed to stderr. */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, const char **positional, int *n_pos);
void cli_help(const cli_cmd *cmd, FILE *out);
/* "ward CMD: message" on stderr; returns exit code 1. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A whole text file (up to CLI_READ_MAX bytes), NUL-terminated and malloc'ed; NULL if it
 * cannot be read or is larger. */
#define CLI_READ_MAX (64u << 20)
char *cli_read_file(const char *path);

int cmd_run(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_feedback(int argc, char **argv);
int cmd_deid(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_apikey(int argc, char **argv);
int cmd_audit(int argc, char **argv);

struct ward_model;
/* Open a model for cmd (a GGUF file or a HuggingFace directory), converted to the recipe quant
 * (NULL: none) while loading. Returns 0, or the exit code after printing the error (2 for an
 * unknown recipe). */
int cli_open_model(const char *cmd, const char *path, const char *quant, int32_t n_threads,
                   struct ward_model **out);
/* The KV cache type named by --kv-type (NULL: F16) into *out; 0, or 2 after printing the error. */
int cli_kv_type(const char *cmd, const char *name, ward_type *out);
#define CLI_KV_TYPE_HELP "KV cache type: f16 (default) or q8_0 (about half the memory; heads of a multiple of 32)"

#endif
