/* tokenize_speed.c: tokenizer throughput in MB/s, not a test (nothing is checked, ctest does
 * not run it).
 *
 * Encodes a few MB of mixed Chinese/English text, generated deterministically (an LCG picks
 * words, numbers and punctuation), with three tokenizers opened through the public API: Llama 2's
 * SentencePiece vocab (ggml-vocab-llama-spm.gguf), Qwen's BPE (qwen.tiktoken) and Llama 3's BPE
 * (llama3.tiktoken). Usage: tokenize_speed [shared-dir] [MB]; the default dir is ../shared.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ward.h"

#ifndef WARD_SHARED_DIR
#define WARD_SHARED_DIR "../shared"
#endif

static const char *const words[] = {
    "the", "patient", "reported", "a", "mild", "fever", "and", "cough", "for", "three", "days",
    "model", "inference", "engine", "tokenizer", "is", "fast", "enough", "we", "hope", "It's",
    "患者", "发热", "三天", "伴", "咳嗽", "医生", "建议", "休息", "多喝水", "中文", "分词器",
    "速度", "测试", "人工智能", "模型", "推理", "的", "了", "在", "是", "我们",
};
static const char *const puncts[] = {" ", " ", " ", " ", ", ", ". ", "，", "。", "\n", "! ",
                                     "？", "; ", " (", ") ", "：", "\n\n", "  "};

static char *make_text(size_t size) {
    char *t = malloc(size + 64);
    size_t n = 0;
    uint64_t s = 42;
    while (n < size) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t r = (uint32_t)(s >> 33);
        const char *w;
        char num[16];
        if (r % 17 == 0) {
            snprintf(num, sizeof num, "%u", r % 100000);
            w = num;
        } else {
            w = words[r % (sizeof words / sizeof words[0])];
        }
        const char *p = puncts[(r >> 8) % (sizeof puncts / sizeof puncts[0])];
        size_t lw = strlen(w), lp = strlen(p);
        if (n + lw + lp > size) break;
        memcpy(t + n, w, lw), n += lw;
        memcpy(t + n, p, lp), n += lp;
    }
    t[n] = '\0';
    return t;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void bench(const char *dir, const char *file, const char *label, const char *text,
                  size_t len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizers/%s", dir, file);
    ward_tokenizer *t = NULL;
    ward_error err;
    if (ward_tokenizer_open(path, &t, &err) != WARD_OK) {
        fprintf(stderr, "%s: %s\n", label, err.msg);
        return;
    }
    size_t cap = len + 16, n = 0;
    ward_token *ids = malloc(cap * sizeof *ids);
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        ward_status rc = ward_tokenizer_encode(t, text, len, 0, ids, cap, &n);
        double dt = now() - t0;
        if (rc != WARD_OK) {
            fprintf(stderr, "%s: encode failed (%s)\n", label, ward_status_str(rc));
            break;
        }
        if (dt < best) best = dt;
    }
    printf("%-28s %8.2f MB/s  %9zu tokens  %.2f bytes/token\n", label, len / best / 1e6, n,
           (double)len / (double)(n ? n : 1));
    free(ids);
    ward_tokenizer_close(t);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : WARD_SHARED_DIR;
    size_t mb = argc > 2 ? (size_t)atoi(argv[2]) : 4;
    char *text = make_text(mb << 20);
    size_t len = strlen(text);
    printf("text: %zu bytes of mixed Chinese/English, best of 3\n", len);
    bench(dir, "ggml-vocab-llama-spm.gguf", "SPM (Llama 2 vocab)", text, len);
    bench(dir, "qwen.tiktoken", "BPE qwen2 (qwen.tiktoken)", text, len);
    bench(dir, "llama3.tiktoken", "BPE llama3 (llama3.tiktoken)", text, len);
    free(text);
    return 0;
}
