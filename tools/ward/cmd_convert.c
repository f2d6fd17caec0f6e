/* cmd_convert.c: `ward convert HF_DIR -o OUT.gguf [--type TYPE]`, HuggingFace checkpoint to
 * GGUF with a progress bar on stderr; and the model and context options other commands share:
 * cli_open_model(), the --quant option of run and chat (a HuggingFace directory converted and
 * quantized while loading), and cli_kv_type(), --kv-type. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ward.h"

int cli_open_model(const char *cmd, const char *path, const char *quant, int32_t n_threads,
                   ward_model **out) {
    ward_model_params p = ward_model_default_params();
    ward_error err;
    if (quant && !(p.ftype = ward_ftype_from_name(quant))) {
        cli_fail(cmd, "unknown --quant type '%s' (one of f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 "
                      "q4_k_m q5_k_m q6_k)", quant);
        return 2;
    }
    p.n_threads = n_threads;
    if (ward_model_open_ex(path, &p, out, &err)) return cli_fail(cmd, "%s", err.msg);
    return 0;
}

int cli_kv_type(const char *cmd, const char *name, ward_type *out) {
    *out = WARD_TYPE_F16;
    if (!name || strcmp(name, "f16") == 0) return 0;
    if (strcmp(name, "q8_0") == 0) {
        *out = WARD_TYPE_Q8_0;
        return 0;
    }
    cli_fail(cmd, "unknown --kv-type '%s' (f16 or q8_0)", name);
    return 2;
}

int cmd_convert(int argc, char **argv) {
    ward_convert_params p = ward_convert_default_params();
    const char *out = NULL, *type = NULL;
    const cli_opt opts[] = {
        {"output", 'o', CLI_STR, &out, "OUT.gguf", "the GGUF file to write (required)", 0, 0},
        {"type", 0, CLI_STR, &type, "TYPE", "weight type (default: the checkpoint's F32/F16/BF16)", 0, 0},
        {"pure", 0, CLI_FLAG, &p.pure, NULL, "every weight matrix in TYPE's base type (no Q6_K output, no _M layers)", 0, 0},
        {"threads", 't', CLI_INT, &p.n_threads, "N", "threads (default: all cores)", 0, 512},
    };
    const cli_cmd cmd = {"convert", "HF_DIR -o OUT.gguf [--type TYPE] [--pure] [-t N]",
                         "Convert a HuggingFace checkpoint directory (LlamaForCausalLM or "
                         "Qwen2ForCausalLM: config.json, safetensors in F32/F16/BF16, "
                         "tokenizer.model or tokenizer.json) to GGUF as llama.cpp's "
                         "convert_hf_to_gguf.py lays it out. TYPE is one of f32 f16 bf16 q8_0 "
                         "q4_0 q4_1 q5_0 q5_1 q4_k_m q5_k_m q6_k, chosen per tensor as ward "
                         "quantize does. OUT appears only once it is complete.",
                         NULL, opts, (int)(sizeof opts / sizeof opts[0]), 1};
    const char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    if (n_pos != 1 || !out) {
        cli_fail("convert", "expected HF_DIR -o OUT.gguf; see ward convert --help");
        return 2;
    }
    if (type && !(p.ftype = ward_ftype_from_name(type))) {
        cli_fail("convert", "unknown type '%s' (see ward convert --help)", type);
        return 2;
    }
    cli_progress bar = cli_progress_start();
    p.progress = cli_progress_show;
    p.user = &bar;
    ward_error err;
    if (ward_convert(pos[0], out, &p, &err)) return cli_fail("convert", "%s", err.msg);
    fprintf(stderr, "wrote %s (%s%s)\n", out, type ? type : "checkpoint's type",
            p.pure ? ", pure" : "");
    return 0;
}
