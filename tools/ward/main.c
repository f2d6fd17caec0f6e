/* main.c: the ward command: dispatch to subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} subcommand;

static const subcommand subcommands[] = {
    {"run", cmd_run, "generate text from a prompt"},
    {"chat", cmd_chat, "chat with a model, interactively or from a script"},
    {"inspect", cmd_inspect, "print a GGUF file's metadata and tensor table"},
    {"tokenize", cmd_tokenize, "show the tokens of a text"},
    {"bench", cmd_bench, "measure prompt and generation speed (tokens/s)"},
    {"perplexity", cmd_perplexity, "score a model on a text (and compare it with another)"},
    {"quantize", cmd_quantize, "rewrite a GGUF model with its weights in another type"},
    {"convert", cmd_convert, "convert a HuggingFace checkpoint to GGUF"},
    {"serve", cmd_serve, "serve models over an OpenAI-compatible HTTP API and the clinical workbench"},
    {"feedback", cmd_feedback, "export the workbench's feedback as training data (DPO pairs)"},
    {"user", cmd_user, "manage the workbench's accounts: add, passwd, disable, enable, list"},
    {"apikey", cmd_apikey, "manage API keys for machine clients (an EMR): create, list, revoke"},
    {"audit", cmd_audit, "verify the audit trail's hash chain, or list its entries"},
    {"deid", cmd_deid, "replace identifying data in clinical text with typed placeholders"},
    {"synth", cmd_synth, "write a random-weight model (for tests and benchmarks)"},
};
#define N_SUBCOMMANDS (int)(sizeof subcommands / sizeof subcommands[0])

static void usage(FILE *out) {
    fprintf(out, "usage: ward COMMAND [options]\n\nward runs large language models on the CPU, "
                 "privately: nothing leaves the machine.\n\ncommands:\n");
    for (int i = 0; i < N_SUBCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(out, "\n'ward COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (int i = 0; i < N_SUBCOMMANDS; i++)
        if (strcmp(argv[1], subcommands[i].name) == 0) return subcommands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "ward: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
