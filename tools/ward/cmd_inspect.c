/* cmd_inspect.c: `ward inspect FILE`: a GGUF file's metadata and tensor table.
 *
 * Uses the GGUF reader directly (not the model loader), so it also describes files ward cannot
 * run: unknown architectures, unsupported tensor types, vocabulary-only files.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "formats/gguf.h"
#include "kernels/types.h"

#define ARRAY_PREVIEW 8

/* Print a string with control characters escaped, cut at max bytes. */
static void print_str(gguf_str s, uint64_t max) {
    putchar('"');
    for (uint64_t i = 0; i < s.len && i < max; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c == '\n') fputs("\\n", stdout);
        else if (c < 0x20 || c == 0x7f) printf("\\x%02x", c);
        else putchar(c);
    }
    putchar('"');
    if (s.len > max) printf("... (%llu bytes)", (unsigned long long)s.len);
}

static void print_scalar(gguf_vtype t, const gguf_kv *kv) {
    switch (t) {
    case GGUF_VT_BOOL: fputs(kv->val.u64 ? "true" : "false", stdout); break;
    case GGUF_VT_U8: case GGUF_VT_U16: case GGUF_VT_U32: case GGUF_VT_U64:
        printf("%llu", (unsigned long long)kv->val.u64); break;
    case GGUF_VT_I8: case GGUF_VT_I16: case GGUF_VT_I32: case GGUF_VT_I64:
        printf("%lld", (long long)kv->val.i64); break;
    case GGUF_VT_F32: case GGUF_VT_F64: printf("%g", kv->val.f64); break;
    case GGUF_VT_STR: print_str(kv->val.str, 200); break;
    default: break;
    }
}

static void print_array(const gguf_kv *kv) {
    const uint64_t n = kv->val.arr.n;
    printf("[%s x %llu] ", gguf_vtype_name(kv->val.arr.type), (unsigned long long)n);
    for (uint64_t i = 0; i < n && i < ARRAY_PREVIEW; i++) {
        if (i) fputs(", ", stdout);
        gguf_vtype t = kv->val.arr.type;
        if (t == GGUF_VT_STR) print_str(kv->val.arr.strs[i], 40);
        else if (t == GGUF_VT_F32 || t == GGUF_VT_F64) printf("%g", (double)gguf_arr_f32(kv, i));
        else printf("%lld", (long long)gguf_arr_i64(kv, i));
    }
    if (n > ARRAY_PREVIEW) fputs(", ...", stdout);
}

static void print_tensors(const gguf_file *g) {
    printf("\ntensors (%llu):\n  %-32s %-8s %-24s %14s %12s\n", (unsigned long long)g->n_tensors,
           "name", "type", "shape", "offset", "bytes");
    uint64_t total = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        char shape[64];
        int n = 0;
        for (uint32_t d = 0; d < t->n_dims && n >= 0 && (size_t)n < sizeof shape; d++)
            n += snprintf(shape + n, sizeof shape - (size_t)n, d ? " x %lld" : "%lld",
                          (long long)t->ne[d]);
        const char *type = ward_type_name(t->type);
        printf("  %-32.*s %-8s %-24s %14llu %12llu\n", (int)(t->name.len < 200 ? t->name.len : 200),
               t->name.ptr, type ? type : "?", shape, (unsigned long long)t->offset,
               (unsigned long long)t->nbytes);
        total += t->nbytes;
    }
    printf("  total: %.2f MiB of tensor data\n", (double)total / (1024.0 * 1024.0));
}

int cmd_inspect(int argc, char **argv) {
    bool no_tensors = false;
    const cli_opt opts[] = {
        {"no-tensors", 0, CLI_FLAG, &no_tensors, NULL, "print only the metadata", 0, 0},
    };
    const cli_cmd cmd = {"inspect", "FILE [--no-tensors]",
                         "Print a GGUF file's version, metadata (key = value; arrays show their "
                         "first elements) and tensor table (name, type, shape, offset, bytes).",
                         NULL, opts, 1, 1};
    const char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    if (n_pos != 1) {
        cli_fail("inspect", "expected one FILE; see ward inspect --help");
        return 2;
    }
    gguf_file *g;
    ward_error err;
    if (gguf_open(pos[0], &g, &err)) return cli_fail("inspect", "%s", err.msg);
    printf("%s: GGUF v%u, %llu metadata keys, %llu tensors, alignment %llu\n\nmetadata:\n",
           pos[0], g->version, (unsigned long long)g->n_kv, (unsigned long long)g->n_tensors,
           (unsigned long long)g->alignment);
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const gguf_kv *kv = &g->kv[i];
        printf("  ");
        print_str(kv->key, 100);
        printf(" = ");
        if (kv->type == GGUF_VT_ARR) print_array(kv);
        else print_scalar(kv->type, kv);
        putchar('\n');
    }
    if (!no_tensors) print_tensors(g);
    gguf_close(g);
    return 0;
}
