/* cli.c: option parsing and help from cli_opt tables (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double cli_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

cli_progress cli_progress_start(void) {
    return (cli_progress){.tty = isatty(2), .start = cli_now_s()};
}

void cli_progress_show(void *user, int64_t done, int64_t total) {
    const cli_progress *bar = user;
    if (!bar->tty && done < total) return;
    const double frac = total > 0 ? (double)done / (double)total : 1.0, t = cli_now_s() - bar->start;
    char cells[31];
    for (int i = 0; i < 30; i++) cells[i] = i < (int)(frac * 30) ? '#' : '.';
    cells[30] = '\0';
    fprintf(stderr, "\r[%s] %3.0f%%  %.1f / %.1f MiB  %.1f s  %.0f MB/s%s", cells, 100 * frac,
            (double)done / 1048576.0, (double)total / 1048576.0, t,
            t > 0 ? (double)done / 1e6 / t : 0.0, done >= total ? "\n" : "");
}

int cli_fail(const char *cmd, const char *fmt, ...) {
    fprintf(stderr, "ward %s: ", cmd);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static const char *kind_metavar(const cli_opt *o) {
    if (o->metavar) return o->metavar;
    switch (o->kind) {
    case CLI_INT: case CLI_U64: return "N";
    case CLI_FLOAT: return "X";
    case CLI_STR: case CLI_LIST: return "TEXT";
    case CLI_FLAG: return "";
    }
    return "";
}

void cli_help(const cli_cmd *cmd, FILE *out) {
    fprintf(out, "usage: ward %s %s\n\n%s\n\noptions:\n", cmd->name, cmd->synopsis, cmd->summary);
    for (int i = 0; i < cmd->n_opts; i++) {
        const cli_opt *o = &cmd->opts[i];
        char left[64];
        int n = o->short_name ? snprintf(left, sizeof left, "-%c, --%s", o->short_name, o->name)
                              : snprintf(left, sizeof left, "    --%s", o->name);
        if (o->kind != CLI_FLAG && n > 0 && (size_t)n < sizeof left)
            snprintf(left + n, sizeof left - (size_t)n, " %s", kind_metavar(o));
        fprintf(out, "  %-28s %s\n", left, o->help);
    }
    fprintf(out, "  %-28s %s\n", "-h, --help", "show this help and exit");
    if (cmd->details) fprintf(out, "\n%s\n", cmd->details);
}

static const cli_opt *find_opt(const cli_cmd *cmd, const char *arg, size_t name_len) {
    for (int i = 0; i < cmd->n_opts; i++) {
        const cli_opt *o = &cmd->opts[i];
        if (arg[1] != '-') {
            if (name_len == 1 && o->short_name == arg[1]) return o;
        } else if (strlen(o->name) == name_len && strncmp(o->name, arg + 2, name_len) == 0) {
            return o;
        }
    }
    return NULL;
}

static int set_value(const cli_cmd *cmd, const cli_opt *o, const char *val) {
    char *end;
    errno = 0;
    double d = 0;
    switch (o->kind) {
    case CLI_FLAG: *(bool *)o->dst = true; return CLI_OK;
    case CLI_STR: *(const char **)o->dst = val; return CLI_OK;
    case CLI_LIST: {
        cli_list *l = o->dst;
        if (l->n == CLI_LIST_MAX) {
            cli_fail(cmd->name, "--%s given more than %d times", o->name, CLI_LIST_MAX);
            return CLI_ERROR;
        }
        l->v[l->n++] = val;
        return CLI_OK;
    }
    case CLI_INT: {
        long long v = strtoll(val, &end, 10);
        if (errno || end == val || *end) goto bad;
        d = (double)v;
        if (o->min != o->max && (d < o->min || d > o->max)) goto range;
        if (v < INT32_MIN || v > INT32_MAX) goto range;
        *(int32_t *)o->dst = (int32_t)v;
        return CLI_OK;
    }
    case CLI_U64: {
        while (*val == ' ') val++;
        if (*val == '-') goto bad; /* strtoull would wrap it */
        unsigned long long v = strtoull(val, &end, 10);
        if (errno || end == val || *end) goto bad;
        *(uint64_t *)o->dst = (uint64_t)v;
        return CLI_OK;
    }
    case CLI_FLOAT:
        d = strtod(val, &end);
        if (errno || end == val || *end || !isfinite(d)) goto bad;
        if (o->min != o->max && (d < o->min || d > o->max)) goto range;
        *(float *)o->dst = (float)d;
        return CLI_OK;
    }
bad:
    cli_fail(cmd->name, "--%s: '%s' is not a valid %s", o->name, val,
             o->kind == CLI_FLOAT ? "number"
             : o->kind == CLI_U64 ? "unsigned integer" : "integer");
    return CLI_ERROR;
range:
    cli_fail(cmd->name, "--%s: %s is out of range [%g, %g]", o->name, val, o->min, o->max);
    return CLI_ERROR;
}

int cli_parse(const cli_cmd *cmd, int argc, char **argv, const char **positional, int *n_pos) {
    *n_pos = 0;
    bool only_positional = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (only_positional || arg[0] != '-' || arg[1] == '\0') {
            if (*n_pos >= cmd->max_positional) {
                cli_fail(cmd->name, "unexpected argument '%s' (see ward %s --help)", arg,
                         cmd->name);
                return CLI_ERROR;
            }
            positional[(*n_pos)++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_positional = true;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            cli_help(cmd, stdout);
            return CLI_HELP;
        }
        const char *eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
        size_t name_len = arg[1] == '-' ? (eq ? (size_t)(eq - arg - 2) : strlen(arg + 2))
                                        : strlen(arg + 1);
        const cli_opt *o = find_opt(cmd, arg, name_len);
        if (!o) {
            cli_fail(cmd->name, "unknown option '%s' (see ward %s --help)", arg, cmd->name);
            return CLI_ERROR;
        }
        const char *val = NULL;
        if (o->kind != CLI_FLAG) {
            if (eq) val = eq + 1;
            else if (i + 1 < argc) val = argv[++i];
            else {
                cli_fail(cmd->name, "option '%s' needs a value", arg);
                return CLI_ERROR;
            }
        } else if (eq) {
            cli_fail(cmd->name, "option --%s takes no value", o->name);
            return CLI_ERROR;
        }
        if (set_value(cmd, o, val) != CLI_OK) return CLI_ERROR;
    }
    return CLI_OK;
}

char *cli_read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap && len < CLI_READ_MAX) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) free(buf);
            buf = bigger, cap *= 2;
        } else if (len + 1 == cap) {
            break; /* too long: an error below */
        }
    }
    const bool bad = ferror(f) || (buf && len + 1 == cap);
    fclose(f);
    if (bad || !buf) {
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}
