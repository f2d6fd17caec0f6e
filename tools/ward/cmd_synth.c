/* cmd_synth.c: `ward synth`: write a random-weight model of a given architecture, shape and
 * type. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ward.h"

/* A number the user did not give stays 0, so --shape's values and then the defaults fill it. */
static void fill_unset(int32_t *given, int32_t fallback) {
    if (*given == 0) *given = fallback;
}

static const char *shape_list(char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = '\0';
    for (const char *const *s = ward_synth_shape_names(); *s && n < cap; s++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? " " : "", *s);
    return buf;
}

int cmd_synth(int argc, char **argv) {
    ward_synth_params given = {0}, p = ward_synth_default_params();
    const char *out = NULL, *type = "f32", *shape = NULL;
    bool tied = false;
    const cli_opt opts[] = {
        {"output", 'o', CLI_STR, &out, "FILE", "where to write the GGUF file (required)", 0, 0},
        {"shape", 0, CLI_STR, &shape, "NAME", "a real model's architecture and dimensions: tinyllama-1.1b llama2-7b qwen2-1.5b qwen2-7b chatglm3-6b baichuan2-7b (the flags below override it)", 0, 0},
        {"arch", 0, CLI_STR, &given.arch, "NAME", "architecture: llama (default), qwen2, chatglm, chatglm1, baichuan, internlm", 0, 0},
        {"type", 0, CLI_STR, &type, "TYPE", "weight types, as ward quantize's recipes: f32 (default) f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k_m q5_k_m q6_k", 0, 0},
        {"layers", 0, CLI_INT, &given.n_layer, "N", "transformer layers (default 2)", 1, 512},
        {"embd", 0, CLI_INT, &given.n_embd, "N", "embedding size (default 256)", 1, 65536},
        {"ff", 0, CLI_INT, &given.n_ff, "N", "feed-forward size (default 512)", 1, 262144},
        {"heads", 0, CLI_INT, &given.n_head, "N", "attention heads (default 4)", 1, 1024},
        {"kv-heads", 0, CLI_INT, &given.n_head_kv, "N", "key/value heads (default 2; chatglm1: --heads)", 1, 1024},
        {"vocab", 0, CLI_INT, &given.n_vocab, "N", "vocabulary size, at least 259 (default 512)", 259, 1 << 20},
        {"ctx", 0, CLI_INT, &given.n_ctx, "N", "training context length recorded in the file (default 2048)", 1, 1 << 24},
        {"tied", 0, CLI_FLAG, &tied, NULL, "no output matrix: logits use the embedding matrix", 0, 0},
        {"alibi", 0, CLI_FLOAT, &p.alibi_max_bias, "X", "baichuan: ALiBi with this maximum bias at any depth (default: 32 layers rotary, 40 ALiBi)", 0, 10000},
        {"seed", 0, CLI_U64, &p.seed, "N", "random seed (default 1); same seed, same file", 0, 0},
    };
    const cli_cmd cmd = {"synth", "-o FILE [--shape NAME] [--type TYPE] [options]",
                         "Write a random-weight model with llama.cpp's tensor names and metadata, "
                         "for tests and benchmarks without downloads (tensor by tensor, never the "
                         "whole model in memory). Its output is noise.",
                         NULL, opts, (int)(sizeof opts / sizeof opts[0]), 0};
    const char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    if (!out) {
        cli_fail("synth", "no output file given (-o FILE); see ward synth --help");
        return 2;
    }
    char names[256];
    if (shape && !ward_synth_shape(shape, &p)) {
        cli_fail("synth", "unknown shape '%s' (%s)", shape, shape_list(names, sizeof names));
        return 2;
    }
    if (!(p.ftype = ward_ftype_from_name(type))) {
        cli_fail("synth", "unknown type '%s' (f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k_m "
                 "q5_k_m q6_k)", type);
        return 2;
    }
    if (given.arch) p.arch = given.arch;
    fill_unset(&given.n_layer, p.n_layer), fill_unset(&given.n_embd, p.n_embd);
    fill_unset(&given.n_ff, p.n_ff), fill_unset(&given.n_head, p.n_head);
    fill_unset(&given.n_vocab, p.n_vocab), fill_unset(&given.n_ctx, p.n_ctx);
    /* chatglm1 has no grouped-query attention: its default is one KV head per head */
    const bool glm1 = p.arch && strcmp(p.arch, "chatglm1") == 0;
    fill_unset(&given.n_head_kv, shape ? p.n_head_kv : glm1 ? given.n_head : p.n_head_kv);
    p.n_layer = given.n_layer, p.n_embd = given.n_embd, p.n_ff = given.n_ff;
    p.n_head = given.n_head, p.n_head_kv = given.n_head_kv, p.n_vocab = given.n_vocab;
    p.n_ctx = given.n_ctx;
    p.tied_output = p.tied_output || tied;
    ward_error err;
    if (ward_synth_write(&p, out, &err)) return cli_fail("synth", "%s", err.msg);
    fprintf(stderr, "wrote %s: random %s model, %d layers, n_embd %d, n_ff %d, %s weights\n", out,
            p.arch, p.n_layer, p.n_embd, p.n_ff, type);
    return 0;
}
