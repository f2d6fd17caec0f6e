/* test_cli.c: the ward command as a user runs it: exit codes, help, bad flags, and outputs
 * checked against the reference data (greedy text, logits, token ids). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"

static int run_quiet(const char *fmt, const char *arg) {
    char cmd[8192], out[65536];
    snprintf(cmd, sizeof cmd, fmt, WARD_BINARY, arg);
    return run_cmd(cmd, out, sizeof out);
}

static void test_usage_errors(void) {
    static const char *const cmds[] = {"run", "inspect", "tokenize", "synth", "bench"};
    for (size_t i = 0; i < 5; i++) {
        CHECK(run_quiet("%s %s --help >/dev/null 2>&1", cmds[i]) == 0, "%s --help exits 0",
              cmds[i]);
        CHECK(run_quiet("%s %s --no-such-flag 2>/dev/null", cmds[i]) == 2,
              "%s with an unknown flag exits 2", cmds[i]);
    }
    CHECK(run_quiet("%s %s 2>/dev/null", "frobnicate") == 2, "unknown command exits 2");
    CHECK(run_quiet("%s %s >/dev/null", "--help") == 0, "ward --help exits 0");
    CHECK(run_quiet("%s run -m x -n %s 2>/dev/null", "12x") == 2, "bad integer exits 2");
    CHECK(run_quiet("%s run -m x --top-p %s 2>/dev/null", "2") == 2, "out-of-range value exits 2");
    CHECK(run_quiet("%s run -m x -n %s 2>/dev/null", "") == 2, "empty value exits 2");
    CHECK(run_quiet("%s run -m x --seed %s 2>/dev/null", "-1") == 2, "negative seed exits 2");
    CHECK(run_quiet("%s synth -o /dev/null --vocab 300 --seed %s 2>/dev/null",
                    "18446744073709551615") == 0, "the largest 64-bit seed is accepted");
    {
        struct stat st;
        CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode), "/dev/null is still a device");
    }
    CHECK(run_quiet("%s run -m %s -p hi 2>/dev/null", "/nonexistent.gguf") == 1,
          "missing model exits 1");
    CHECK(run_quiet("%s synth -o /tmp/x.gguf --type %s 2>/dev/null", "q9_9") == 2,
          "unknown type exits 2");
    CHECK(run_quiet("%s synth -o /tmp/x.gguf --embd 100 --type %s 2>/dev/null", "q4_0") == 1,
          "synth rejects shapes the type cannot hold");
}

/* `ward run --temp 0` prints the prompt and then exactly the reference's greedy text. */
static void test_run_greedy(void) {
    const char *jp = shared_path("golden/stories260K-once.json");
    if (!jp) return;
    size_t size;
    char *text = read_file(jp, &size);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!j) return;
    const char *mp = shared_path("models/stories260K.gguf");
    if (mp) {
        const int n = cJSON_GetArraySize(cJSON_GetObjectItem(j, "greedy_tokens"));
        const char *lf = test_tmp_path("logits.f32");
        char cmd[8192], out[65536], expect[65536];
        snprintf(cmd, sizeof cmd, "%s run -m %s -p 'Once upon a time' -n %d --temp 0 -t 2 "
                 "--logits-out %s 2>/dev/null", WARD_BINARY, mp, n, lf);
        CHECK(run_cmd(cmd, out, sizeof out) == 0, "ward run exits 0");
        snprintf(expect, sizeof expect, "Once upon a time%s\n",
                 cJSON_GetObjectItem(j, "greedy_text")->valuestring);
        CHECK(strcmp(out, expect) == 0, "ward run greedy text:\n%s\nexpected:\n%s", out, expect);

        size_t n_ours, n_ref;
        float *ours = read_file(lf, &n_ours);
        const char *rp = shared_path("golden/stories260K-once.logits.f32");
        float *ref = rp ? read_file(rp, &n_ref) : NULL;
        if (ours && ref) {
            CHECK(n_ours == n_ref, "--logits-out size %zu, reference %zu", n_ours, n_ref);
            float worst = 0;
            for (size_t i = 0; n_ours == n_ref && i < n_ref / sizeof(float); i++)
                worst = fmaxf(worst, fabsf(ours[i] - ref[i]));
            /* same tolerance as test_golden's F32 cases (the 1e-3) */
            CHECK(worst <= 1e-3f, "--logits-out differs from the reference by %g", (double)worst);
        }
        free(ours);
        free(ref);
        remove(lf);
    }
    cJSON_Delete(j);
}

static void test_tokenize_ids(void) {
    const char *mp = shared_path("models/llama-2-tiny-random.gguf");
    if (!mp) return;
    char cmd[8192], out[4096];
    /* the fever prompt's reference ids (golden/llama2-tiny-random-fever.json), BOS dropped */
    snprintf(cmd, sizeof cmd, "%s tokenize -m %s --ids 'The patient has had a fever for 3 "
             "days. 患者发热三天，伴咳嗽。'", WARD_BINARY, mp);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "tokenize exits 0");
    CHECK(strcmp(out, "450 16500 756 750 263 1238 369 363 29871 29941 3841 29889 29871 233 133 "
                      "166 30767 30910 234 134 176 30457 30408 30214 231 191 183 232 149 182 232 "
                      "154 192 30267\n") == 0, "tokenize --ids: %s", out);
    snprintf(cmd, sizeof cmd, "%s tokenize -m %s --ids --bos 'fever'", WARD_BINARY, mp);
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && strncmp(out, "1 ", 2) == 0,
          "--bos adds BOS: %s", out);

    /* the same from a vocab-only GGUF, the SentencePiece model file and a tiktoken file */
    static const struct { const char *opt, *rel, *text, *ids; } srcs[] = {
        {"-m", "tokenizers/ggml-vocab-llama-spm.gguf", "Hello world", "15043 3186\n"},
        {"--tokenizer", "tokenizers/llama2-sentencepiece.model", "Hello world", "15043 3186\n"},
        {"--tokenizer", "tokenizers/qwen.tiktoken", "Hello world", "9707 1879\n"},
    };
    for (size_t i = 0; i < sizeof srcs / sizeof srcs[0]; i++) {
        const char *p = shared_path(srcs[i].rel);
        if (!p) continue;
        snprintf(cmd, sizeof cmd, "%s tokenize %s %s --ids '%s'", WARD_BINARY, srcs[i].opt, p,
                 srcs[i].text);
        CHECK(run_cmd(cmd, out, sizeof out) == 0 && strcmp(out, srcs[i].ids) == 0,
              "tokenize %s %s: %s", srcs[i].opt, srcs[i].rel, out);
    }
    snprintf(cmd, sizeof cmd, "%s tokenize -m %s --tokenizer %s x 2>/dev/null", WARD_BINARY, mp, mp);
    CHECK(run_cmd(cmd, out, sizeof out) == 2, "-m and --tokenizer together exit 2");
}

static void test_synth_inspect(void) {
    char a[256], b[256], cmd[8192], out[65536];
    snprintf(a, sizeof a, "%s", test_tmp_path("synth-a.gguf"));
    snprintf(b, sizeof b, "%s", test_tmp_path("synth-b.gguf"));
    static const char *const types[] = {"f32", "f16", "bf16", "q8_0", "q4_0"};
    for (int i = 0; i < 5; i++) {
        snprintf(cmd, sizeof cmd, "%s synth -o %s --type %s --seed 7 2>/dev/null && "
                 "%s synth -o %s --type %s --seed 7 2>/dev/null && cmp -s %s %s",
                 WARD_BINARY, a, types[i], WARD_BINARY, b, types[i], a, b);
        CHECK(run_cmd(cmd, out, sizeof out) == 0, "synth %s is deterministic", types[i]);
        snprintf(cmd, sizeof cmd, "%s run -m %s -p 'hello' -n 8 --temp 0 2>/dev/null",
                 WARD_BINARY, a);
        CHECK(run_cmd(cmd, out, sizeof out) == 0, "a synth %s model runs", types[i]);
    }
    static const char *const archs[] = {"qwen2", "chatglm", "internlm"};
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "%s synth -o %s --arch %s --type q8_0 2>/dev/null && "
                 "%s run -m %s -p 'hello' -n 4 --temp 0 2>/dev/null", WARD_BINARY, b, archs[i],
                 WARD_BINARY, b);
        CHECK(run_cmd(cmd, out, sizeof out) == 0, "a synth %s model runs", archs[i]);
    }
    snprintf(cmd, sizeof cmd, "%s synth -o %s --arch baichuan --layers 2 --alibi 8 "
             "2>/dev/null && %s run -m %s -p 'hello' -n 4 --temp 0 2>/dev/null", WARD_BINARY, b,
             WARD_BINARY, b);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "a synth baichuan model with ALiBi runs");
    CHECK(run_quiet("%s synth -o /tmp/x.gguf --arch %s 2>/dev/null", "gpt2") == 1,
          "synth refuses an unknown architecture");
    snprintf(cmd, sizeof cmd, "%s synth -o %s --seed 8 2>/dev/null && ! cmp -s %s %s",
             WARD_BINARY, b, a, b);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "another seed gives another model");
    snprintf(cmd, sizeof cmd, "%s inspect %s", WARD_BINARY, a);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "inspect exits 0");
    CHECK(strstr(out, "general.architecture") && strstr(out, "blk.1.ffn_down.weight") &&
              strstr(out, "Q4_0"), "inspect shows metadata and tensors");
    snprintf(cmd, sizeof cmd, "head -c 1000 %s > %s; %s inspect %s 2>&1", a, b, WARD_BINARY, b);
    CHECK(run_cmd(cmd, out, sizeof out) == 1, "inspect of a truncated file exits 1");
    CHECK(strstr(out, b) != NULL, "the error names the file: %s", out);
    remove(a);
    remove(b);
}

/* --shape takes a real model's architecture and dimensions, the flags given override them (so
 * the test file stays small); --type takes ward quantize's recipes, q4_k_m's Q6_K rules included. */
static void test_synth_shape(void) {
    char a[256], cmd[8192], out[65536];
    snprintf(a, sizeof a, "%s", test_tmp_path("synth-shape.gguf"));
    snprintf(cmd, sizeof cmd, "%s synth -o %s --shape chatglm3-6b --layers 2 --embd 256 --ff 512 "
             "--heads 4 --vocab 512 --type q4_k_m 2>/dev/null && %s inspect %s", WARD_BINARY, a,
             WARD_BINARY, a);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "synth --shape with overrides, then inspect");
    CHECK(strstr(out, "\"general.architecture\" = \"chatglm\"") &&
              strstr(out, "\"chatglm.attention.head_count_kv\" = 2") &&
              strstr(out, "\"chatglm.context_length\" = 8192") &&
              strstr(out, "\"chatglm.embedding_length\" = 256"),
          "shape values where no flag is given, flags elsewhere");
    CHECK(strstr(out, "Q4_K") && strstr(out, "Q6_K"), "q4_k_m: Q4_K matrices, Q6_K by its rules");
    snprintf(cmd, sizeof cmd, "%s run -m %s -p 'hello' -n 4 --temp 0 2>/dev/null", WARD_BINARY, a);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "the q4_k_m chatglm model runs");
    /* the model scripts/run.sh makes when no MODEL is given: F32 needs no block multiple */
    snprintf(cmd, sizeof cmd, "%s synth -o %s --layers 4 --embd 256 --ff 688 --heads 8 "
             "--kv-heads 4 --seed 1 2>&1", WARD_BINARY, a);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "synth of scripts/run.sh's model: %s", out);
    snprintf(cmd, sizeof cmd, "%s synth -o %s --shape gpt5 2>&1", WARD_BINARY, a);
    CHECK(run_cmd(cmd, out, sizeof out) == 2 && strstr(out, "tinyllama-1.1b"),
          "an unknown shape exits 2 and lists the known ones: %s", out);
    remove(a);
}

/* The t/s column of the bench row whose test column starts with name (0 when absent). */
static double bench_speed(const char *out, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "| %s ", name);
    const char *row = strstr(out, key);
    const char *col = row ? strchr(row + 1, '|') : NULL;
    return col ? strtod(col + 1, NULL) : 0.0;
}

/* ward bench: the table has a pp and a tg row with positive speeds; --batch aggregates; -d
 * fills the context first; the header names the kernels, the repacking and the KV cache type. */
static void test_bench(void) {
    const char *mp = shared_path("models/stories260K.gguf");
    if (!mp) return;
    char cmd[4096], out[8192];
    snprintf(cmd, sizeof cmd, "%s bench -m %s -p 16 -n 8 -r 2 -t 2 2>&1", WARD_BINARY, mp);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "bench exits 0: %s", out);
    CHECK(bench_speed(out, "pp16") > 0 && bench_speed(out, "tg8") > 0,
          "bench prints pp16 and tg8 with speeds: %s", out);
    snprintf(cmd, sizeof cmd, "%s bench -m %s -p 8 -n 4 -d 40 -r 1 --attn-online-from 16 2>&1",
             WARD_BINARY, mp);
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && bench_speed(out, "pp8@d40") > 0 &&
              bench_speed(out, "tg4@d40") > 0,
          "bench -d 40 prints pp8@d40 and tg4@d40 with speeds: %s", out);
    snprintf(cmd, sizeof cmd, "%s bench -m %s -p 8 -n 0 -r 1 --peak 2>&1", WARD_BINARY, mp);
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && strstr(out, "FMA peak") &&
              strstr(out, "efficiency"),
          "bench --peak reports the prompt's share of the multiply-add peak: %s", out);
    snprintf(cmd, sizeof cmd, "%s bench -m %s -p 0 -n 4 -r 1 --batch 3 2>&1", WARD_BINARY, mp);
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && strstr(out, "|     3 | tg4") && !strstr(out, "pp"),
          "bench --batch 3 reports tg only: %s", out);
    snprintf(cmd, sizeof cmd, "%s bench -m %s -r 0 2>/dev/null", WARD_BINARY, mp);
    CHECK(run_cmd(cmd, out, sizeof out) == 2, "bench -r 0 exits 2");
    /* the header says what ran: a Q4_0 model is repacked unless --no-repack */
    const char *q4 = shared_path("models/stories260K-ff192-Q4_0.gguf");
    if (!q4) return;
    snprintf(cmd, sizeof cmd, "%s bench -m %s -p 8 -n 2 -r 1 -t 2 2>&1", WARD_BINARY, q4);
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && strstr(out, "kernels: ") &&
              !strstr(out, " 0 weight matrices repacked") && strstr(out, "KV cache F16"),
          "bench header: %s", out);
    snprintf(cmd, sizeof cmd, "%s bench -m %s -p 8 -n 2 -r 1 -t 2 --no-repack 2>&1", WARD_BINARY, q4);
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && strstr(out, " 0 weight matrices repacked"),
          "bench --no-repack: %s", out);
    snprintf(cmd, sizeof cmd, "%s bench -m %s -p 8 -n 2 -r 1 --kv-type q8_0 2>&1", WARD_BINARY, q4);
    CHECK(run_cmd(cmd, out, sizeof out) == 1 && strstr(out, "multiple of 32"),
          "a Q8_0 KV cache on heads of 8 is refused: %s", out);
    snprintf(cmd, sizeof cmd, "%s bench -m %s --kv-type q5 2>&1", WARD_BINARY, q4);
    CHECK(run_cmd(cmd, out, sizeof out) == 2 && strstr(out, "q5"), "unknown --kv-type: %s", out);
}

int main(void) {
    test_bench();
    test_usage_errors();
    test_run_greedy();
    test_tokenize_ids();
    test_synth_inspect();
    test_synth_shape();
    return test_summary();
}
