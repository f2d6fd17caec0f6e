/* cmd_synth.c: `ward synth`: write a random-weight model of a given architecture, shape and
 * type. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ward.h"

int cmd_synth(int argc, char **argv) {
    ward_synth_params p = ward_synth_default_params();
    const int32_t default_kv = p.n_head_kv;
    p.n_head_kv = 0; /* not given: the default, or n_head for chatglm1 (no grouped-query) */
    const char *out = NULL, *type = "f32";
    bool tied = false;
    const cli_opt opts[] = {
        {"output", 'o', CLI_STR, &out, "FILE", "where to write the GGUF file (required)", 0, 0},
        {"arch", 0, CLI_STR, &p.arch, "NAME", "architecture: llama (default), qwen2, chatglm, chatglm1, baichuan, internlm", 0, 0},
        {"type", 0, CLI_STR, &type, "TYPE", "type of the weight matrices: f32 f16 bf16 q8_0 q4_0 (default f32)", 0, 0},
        {"layers", 0, CLI_INT, &p.n_layer, "N", "transformer layers (default 2)", 1, 512},
        {"embd", 0, CLI_INT, &p.n_embd, "N", "embedding size (default 256)", 1, 65536},
        {"ff", 0, CLI_INT, &p.n_ff, "N", "feed-forward size (default 512)", 1, 262144},
        {"heads", 0, CLI_INT, &p.n_head, "N", "attention heads (default 4)", 1, 1024},
        {"kv-heads", 0, CLI_INT, &p.n_head_kv, "N", "key/value heads (default 2; chatglm1: --heads)", 1, 1024},
        {"vocab", 0, CLI_INT, &p.n_vocab, "N", "vocabulary size, at least 259 (default 512)", 259, 1 << 20},
        {"ctx", 0, CLI_INT, &p.n_ctx, "N", "training context length recorded in the file (default 2048)", 1, 1 << 24},
        {"tied", 0, CLI_FLAG, &tied, NULL, "no output matrix: logits use the embedding matrix", 0, 0},
        {"alibi", 0, CLI_FLOAT, &p.alibi_max_bias, "X", "baichuan: ALiBi with this maximum bias at any depth (default: 32 layers rotary, 40 ALiBi)", 0, 10000},
        {"seed", 0, CLI_U64, &p.seed, "N", "random seed (default 1); same seed, same file", 0, 0},
    };
    const cli_cmd cmd = {"synth", "-o FILE [options]",
                         "Write a random-weight model with llama.cpp's tensor names and metadata, "
                         "for tests and benchmarks without downloads. Its output is noise.",
                         NULL, opts, (int)(sizeof opts / sizeof opts[0]), 0};
    const char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    if (!out) {
        cli_fail("synth", "no output file given (-o FILE); see ward synth --help");
        return 2;
    }
    if (!ward_type_from_name(type, &p.type)) {
        cli_fail("synth", "unknown type '%s' (f32 f16 bf16 q8_0 q4_0)", type);
        return 2;
    }
    if (p.n_head_kv == 0)
        p.n_head_kv = p.arch && strcmp(p.arch, "chatglm1") == 0 ? p.n_head : default_kv;
    p.tied_output = tied;
    ward_error err;
    if (ward_synth_write(&p, out, &err)) return cli_fail("synth", "%s", err.msg);
    fprintf(stderr, "wrote %s: random %s model, %d layers, n_embd %d, n_ff %d, %s weights\n", out,
            p.arch, p.n_layer, p.n_embd, p.n_ff, type);
    return 0;
}
