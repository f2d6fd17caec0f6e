/* test_chat_cli.c: `ward chat` as a script and a terminal drive it: piped conversations
 * (exit codes, /reset, /exit, the KV cache reused across turns, a full context) and Ctrl-C on a
 * pseudo-terminal (stops the answer, not the program; a second one at the prompt quits).
 *
 * The model is a random-weight synth model, so answers are noise: the checks are on structure,
 * mostly the "[prompt: N new tokens, M cached]" lines that -v writes to stderr. Its vocabulary
 * has no chat control tokens, so chatml's markers are tokenized as plain text, which is all
 * these checks need.
 */
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "ward.h"

static char model_path[256], err_path[256];

/* `ward chat -m MODEL args` with stdin from the here-document `input`; stderr into *err
 * (malloc'ed, caller frees). Returns the exit status. */
static int chat(const char *args, const char *input, char **err) {
    char cmd[8192], out[65536];
    snprintf(cmd, sizeof cmd, "%s chat -m %s -t 2 %s 2>%s <<'WARD_EOF'\n%sWARD_EOF\n",
             WARD_BINARY, model_path, args, err_path, input);
    int rc = run_cmd(cmd, out, sizeof out);
    size_t size;
    *err = read_file(err_path, &size);
    if (*err) {
        char *z = realloc(*err, size + 1);
        if (z) (*err = z)[size] = '\0';
        else free(*err), *err = NULL;
    }
    return rc;
}

typedef struct prompt_line {
    long n_new, n_cached;
} prompt_line;

/* The "[prompt: N new tokens, M cached]" lines of text, in order; returns how many. */
static int prompt_lines(const char *text, prompt_line *out, int cap) {
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, "[prompt: ")) && n < cap; p++)
        if (sscanf(p, "[prompt: %ld new tokens, %ld cached]", &out[n].n_new,
                   &out[n].n_cached) == 2)
            n++;
    return n;
}

static int count(const char *text, const char *needle) {
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p++) n++;
    return n;
}

/* ---------------------------------------------------------------------------------------------
 * Piped
 * ------------------------------------------------------------------------------------------- */

static void test_usage(void) {
    char cmd[8192], out[65536];
    snprintf(cmd, sizeof cmd, "%s chat --help", WARD_BINARY);
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && strstr(out, "/reset") &&
              strstr(out, "--chat-template") && strstr(out, "baichuan2"),
          "chat --help exits 0 and explains commands and templates");
    snprintf(cmd, sizeof cmd, "%s chat -m %s --no-such-flag 2>/dev/null", WARD_BINARY,
             model_path);
    CHECK(run_cmd(cmd, out, sizeof out) == 2, "an unknown flag exits 2");
    snprintf(cmd, sizeof cmd, "%s chat </dev/null 2>/dev/null", WARD_BINARY);
    CHECK(run_cmd(cmd, out, sizeof out) == 2, "no model exits 2");
    snprintf(cmd, sizeof cmd, "%s chat -m %s --chat-template vicuna 2>&1 </dev/null",
             WARD_BINARY, model_path);
    CHECK(run_cmd(cmd, out, sizeof out) == 2 && strstr(out, "vicuna") && strstr(out, "chatml"),
          "an unknown template exits 2 naming the choices: %s", out);
    snprintf(cmd, sizeof cmd, "%s chat -m /nonexistent.gguf </dev/null 2>/dev/null",
             WARD_BINARY);
    CHECK(run_cmd(cmd, out, sizeof out) == 1, "a missing model exits 1");
}

/* Two turns, /reset, the first turn again: the second turn reuses the whole first prompt. */
static void test_turns(void) {
    char *err = NULL;
    int rc = chat("--chat-template chatml -n 8 --temp 0 -v",
                  "Hello there\n\nHow are you?\n/reset\nHello there\n", &err);
    CHECK(rc == 0, "a piped conversation exits 0 at end of input, got %d", rc);
    if (!err) return;
    prompt_line pl[8];
    int n = prompt_lines(err, pl, 8);
    CHECK(n == 3, "three turns (the empty line is not one), got %d:\n%s", n, err);
    if (n == 3) {
        CHECK(pl[0].n_cached == 0 && pl[0].n_new > 0, "turn 1 evaluates everything");
        CHECK(pl[1].n_cached >= pl[0].n_new && pl[1].n_new < pl[1].n_new + pl[1].n_cached,
              "turn 2 reuses turn 1's %ld prompt tokens: %ld new, %ld cached", pl[0].n_new,
              pl[1].n_new, pl[1].n_cached);
        CHECK(pl[2].n_cached == 0 && pl[2].n_new == pl[0].n_new,
              "after /reset the first turn again: %ld new, %ld cached", pl[2].n_new,
              pl[2].n_cached);
    }
    CHECK(count(err, "[conversation cleared]") == 1, "/reset says so");
    free(err);

    rc = chat("--chat-template chatml -n 4 --temp 0 -v", "Hi\n/exit\nHello\n", &err);
    CHECK(rc == 0 && err && count(err, "[prompt: ") == 1, "/exit stops reading");
    free(err);

    /* the synth model is a llama without a template: llama2's default, <s> included */
    rc = chat("-n 4 --temp 0 -v --system 'Be brief.'", "Hi\nAgain\n", &err);
    CHECK(rc == 0 && err && strstr(err, "chat template llama2") && count(err, "[prompt: ") == 2,
          "the architecture's default template: %s", err ? err : "");
    free(err);
}

/* A context too small for the conversation: a clear message, /reset recovers. */
static void test_context_full(void) {
    char *err = NULL, args[256];
    int rc = chat("--chat-template chatml -n 1 --temp 0 -v", "Hello there\n", &err);
    prompt_line pl[2];
    if (rc != 0 || !err || prompt_lines(err, pl, 2) != 1) {
        CHECK(false, "measuring the first prompt: %d %s", rc, err ? err : "");
        free(err);
        return;
    }
    free(err);
    /* room for the prompt and 3 tokens of the answer */
    snprintf(args, sizeof args, "--chat-template chatml -n 50 --ignore-eos --temp 0 -v -c %ld",
             pl[0].n_new + 4);
    rc = chat(args, "Hello there\nAnd now?\n/reset\nHello there\n", &err);
    CHECK(rc == 0, "a full context is not an error, got %d", rc);
    if (!err) return;
    CHECK(strstr(err, "[context full: the answer filled") != NULL,
          "the answer that fills the context says so:\n%s", err);
    CHECK(strstr(err, "[context full: the conversation") && strstr(err, "/reset"),
          "a turn that cannot fit says so and offers /reset:\n%s", err);
    CHECK(count(err, "[prompt: ") == 2, "the turn that cannot fit is not evaluated:\n%s", err);
    free(err);

    snprintf(args, sizeof args, "--chat-template chatml -n 4 -v -c %ld", pl[0].n_new / 2);
    rc = chat(args, "Hello there\n", &err);
    CHECK(rc == 0 && err && strstr(err, "[context full: the conversation") &&
              count(err, "[prompt: ") == 0, "a first turn that cannot fit");
    free(err);
}

/* ---------------------------------------------------------------------------------------------
 * Pseudo-terminal: Ctrl-C
 * ------------------------------------------------------------------------------------------- */

typedef struct pty_out {
    char buf[1 << 16];
    size_t n;
} pty_out;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Read from fd until needle occurs at or after byte from and at least min_bytes follow from,
 * or timeout. Returns the offset just past the needle, or -1. */
static long pty_wait(int fd, pty_out *o, size_t from, const char *needle, size_t min_bytes,
                     double timeout) {
    const double end = now_s() + timeout;
    for (;;) {
        o->buf[o->n] = '\0';
        const char *hit = from <= o->n ? strstr(o->buf + from, needle) : NULL;
        if (hit && o->n - from >= min_bytes) return (long)(hit - o->buf + (long)strlen(needle));
        const double left = end - now_s();
        if (left <= 0 || o->n + 1 >= sizeof o->buf) return -1;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0) continue;
        ssize_t got = read(fd, o->buf + o->n, sizeof o->buf - 1 - o->n);
        if (got <= 0 && errno != EINTR) return -1; /* EIO: the child closed the terminal */
        if (got > 0) o->n += (size_t)got;
    }
}

static void test_ctrl_c(void) {
    int fd;
    pid_t pid = forkpty(&fd, NULL, NULL, NULL);
    if (pid < 0) {
        CHECK(false, "forkpty: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        execl(WARD_BINARY, WARD_BINARY, "chat", "-m", model_path, "--chat-template", "chatml",
              "-n", "1000000", "--ignore-eos", "-c", "4096", "--temp", "0", "-t", "2",
              (char *)NULL);
        _exit(127);
    }
    static pty_out o;
    o.n = 0;
    long at = pty_wait(fd, &o, 0, "> ", 0, 60);
    CHECK(at >= 0, "a terminal gets a prompt:\n%s", o.buf);
    if (at >= 0) {
        CHECK(write(fd, "hello\n", 6) == 6, "typing");
        /* the echo, then some of the answer */
        at = pty_wait(fd, &o, (size_t)at, "hello\r\n", 0, 10);
        if (at >= 0) at = pty_wait(fd, &o, (size_t)at, "", 64, 60);
        CHECK(at >= 0, "an answer streams:\n%s", o.buf);
    }
    if (at >= 0) {
        CHECK(write(fd, "\x03", 1) == 1, "Ctrl-C");
        at = pty_wait(fd, &o, (size_t)at, "[interrupted]", 0, 30);
        CHECK(at >= 0, "Ctrl-C stops the answer:\n%s", o.buf + o.n - (o.n > 400 ? 400 : o.n));
        if (at >= 0) at = pty_wait(fd, &o, (size_t)at, "> ", 0, 30);
        CHECK(at >= 0, "and the program carries on to the next prompt");
    }
    if (at >= 0) {
        CHECK(write(fd, "\x03", 1) == 1, "Ctrl-C again");
    }
    int status = -1;
    const double end = now_s() + 30;
    pid_t w;
    while ((w = waitpid(pid, &status, WNOHANG)) == 0 && now_s() < end) {
        pty_wait(fd, &o, o.n, "\x01", 0, 0.05); /* keep the terminal drained */
    }
    if (w == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    CHECK(w == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "Ctrl-C at the prompt quits with status 0 (status %d)", status);
    close(fd);
}

int main(void) {
    snprintf(model_path, sizeof model_path, "%s", test_tmp_path("chat-model.gguf"));
    snprintf(err_path, sizeof err_path, "%s", test_tmp_path("chat-stderr.txt"));
    ward_synth_params p = ward_synth_default_params();
    p.n_ctx = 4096;
    ward_error err;
    if (ward_synth_write(&p, model_path, &err) != WARD_OK) {
        CHECK(false, "synth model: %s", err.msg);
        return test_summary();
    }
    test_usage();
    test_turns();
    test_context_full();
    test_ctrl_c();
    remove(model_path);
    remove(err_path);
    return test_summary();
}
