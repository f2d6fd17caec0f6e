/* cmd_quantize.c: `ward quantize IN.gguf OUT.gguf TYPE`, with a progress bar on stderr. */
#include <stdio.h>

#include "cli.h"
#include "ward.h"

int cmd_quantize(int argc, char **argv) {
    ward_quantize_params p = ward_quantize_default_params();
    const cli_opt opts[] = {
        {"threads", 't', CLI_INT, &p.n_threads, "N", "threads (default: all cores)", 0, 512},
        {"pure", 0, CLI_FLAG, &p.pure, NULL, "every weight matrix in TYPE's base type (no Q6_K output, no _M layers)", 0, 0},
    };
    const cli_cmd cmd = {"quantize", "IN.gguf OUT.gguf TYPE [--pure] [-t N]",
                         "Rewrite a GGUF model with its weight matrices quantized. TYPE is one of "
                         "f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k_m q5_k_m q6_k (llama.cpp's "
                         "recipes: unless --pure, the output matrix gets Q6_K, and q4_k_m / q5_k_m "
                         "give Q6_K to attn_v and ffn_down in some layers). Norms and small tensors "
                         "keep their type. The input must hold F32, F16 or BF16 weights. OUT "
                         "appears only once it is complete.",
                         NULL, opts, (int)(sizeof opts / sizeof opts[0]), 3};
    const char *pos[3];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    if (n_pos != 3) {
        cli_fail("quantize", "expected IN.gguf OUT.gguf TYPE; see ward quantize --help");
        return 2;
    }
    if (!(p.ftype = ward_ftype_from_name(pos[2]))) {
        cli_fail("quantize", "unknown type '%s' (see ward quantize --help)", pos[2]);
        return 2;
    }
    cli_progress bar = cli_progress_start();
    p.progress = cli_progress_show;
    p.user = &bar;
    ward_error err;
    if (ward_quantize(pos[0], pos[1], &p, &err)) return cli_fail("quantize", "%s", err.msg);
    fprintf(stderr, "wrote %s (%s%s)\n", pos[1], ward_ftype_name(p.ftype), p.pure ? ", pure" : "");
    return 0;
}
