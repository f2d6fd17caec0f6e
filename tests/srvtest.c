/* srvtest.c: what the tests of `ward serve` share (srvtest.h): a minimal HTTP/1.1 client and
 * the server process. */
#include "srvtest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static int g_port; /* the server under test */

/* ---------------------------------------------------------------------------------------------
 * A minimal HTTP/1.1 client: one request per connection ("Connection: close")
 * ------------------------------------------------------------------------------------------- */


int connect_server(void) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    /* a server that stops answering fails the test instead of hanging it */
    const struct timeval limit = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    return fd;
}

void send_all(int fd, const char *p, size_t n) {
    while (n) {
        const ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) return;
        p += k, n -= (size_t)k;
    }
}

void send_request(int fd, const char *method, const char *path, const char *extra_headers,
                         const char *body, size_t body_len) {
    char head[1024];
    const int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: "
                           "close\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
                           method, path, body_len, extra_headers ? extra_headers : "");
    send_all(fd, head, (size_t)n);
    if (body_len) send_all(fd, body, body_len);
}

/* Undoes chunked transfer coding in place. */
static size_t dechunk(char *b, size_t n) {
    size_t in = 0, out = 0;
    while (in < n) {
        char *end;
        unsigned long len = strtoul(b + in, &end, 16);
        char *crlf = strstr(end, "\r\n");
        if (!crlf || len == 0) break;
        in = (size_t)(crlf + 2 - b);
        if (in + len > n) len = n - in;
        memmove(b + out, b + in, len);
        out += len, in += len + 2;
    }
    b[out] = '\0';
    return out;
}

http_reply read_reply(int fd) {
    http_reply r = {0};
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (ssize_t k; (k = recv(fd, buf + n, cap - n - 1, 0)) > 0;) {
        n += (size_t)k;
        if (cap - n < 4096) buf = realloc(buf, cap *= 2);
    }
    close(fd);
    buf[n] = '\0';
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep) {
        free(buf);
        return r;
    }
    *sep = '\0';
    r.head = strdup(buf);
    sscanf(buf, "HTTP/1.%*d %d", &r.status);
    const size_t body_n = n - (size_t)(sep + 4 - buf);
    r.body = malloc(body_n + 1);
    memcpy(r.body, sep + 4, body_n);
    r.body[body_n] = '\0';
    r.body_len = strstr(r.head, "chunked") ? dechunk(r.body, body_n) : body_n;
    free(buf);
    return r;
}

http_reply http(const char *method, const char *path, const char *body,
                       const char *extra_headers) {
    const int fd = connect_server();
    if (fd < 0) return (http_reply){0};
    send_request(fd, method, path, extra_headers, body, body ? strlen(body) : 0);
    return read_reply(fd);
}

void reply_free(http_reply *r) {
    free(r->head), free(r->body);
    memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------------------------------------
 * The server process
 * ------------------------------------------------------------------------------------------- */

/* Starts `ward serve ARGS --port 0` and reads the port it prints; its pid, or -1. */
static pid_t spawn_server(const char *args) {
    int out[2];
    char cmd[2048]; /* made before the fork: the log's name has the test's pid */
    snprintf(cmd, sizeof cmd, "exec %s serve %s --port 0 2>>%s", WARD_BINARY, args,
             test_tmp_path("serve.log"));
    if (pipe(out) != 0) return -1;
    const pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a crashed or killed test takes its server along */
        dup2(out[1], 1);
        close(out[0]), close(out[1]);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[256] = "";
    g_port = 0;
    if (f && fgets(line, sizeof line, f)) {
        const char *colon = strrchr(line, ':');
        g_port = colon ? atoi(colon + 1) : 0;
    }
    if (f) fclose(f);
    return pid;
}

static int plain_health(void) {
    http_reply r = http("GET", "/health", NULL, NULL);
    const int st = r.status;
    reply_free(&r);
    return st;
}

/* The server is ready when health() says 200 (models load after the port is open). */
static pid_t await_ready(pid_t pid, int (*health)(void)) {
    for (int i = 0; pid > 0 && g_port && i < 200; i++) {
        if (health() == 200) return pid;
        const struct timespec t = {0, 50 * 1000 * 1000};
        nanosleep(&t, NULL);
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return -1;
}

pid_t start_server(const char *args) { return await_ready(spawn_server(args), plain_health); }

static const char *g_cacert;

static int https_health(void) {
    char cmd[1200], out[64] = "";
    snprintf(cmd, sizeof cmd, "curl -s -o /dev/null -w '%%{http_code}' --cacert %s "
             "https://127.0.0.1:%d/health", g_cacert, g_port);
    run_cmd(cmd, out, sizeof out);
    return atoi(out);
}

pid_t start_server_https(const char *args, const char *cacert) {
    g_cacert = cacert;
    return await_ready(spawn_server(args), https_health);
}

int stop_server(pid_t pid) {
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---------------------------------------------------------------------------------------------
 * Helpers on replies
 * ------------------------------------------------------------------------------------------- */

const char *json_str(const cJSON *o, const char *path0, const char *path1) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, path0);
    if (path1) v = cJSON_GetObjectItemCaseSensitive(v, path1);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int srvtest_port(void) { return g_port; }
void srvtest_use_port(int port) { g_port = port; }

/* ---------------------------------------------------------------------------------------------
 * Accounts
 * ------------------------------------------------------------------------------------------- */

int run_ward(const char *args, const char *input) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s >>%s 2>&1", WARD_BINARY, args, test_tmp_path("ward-cli.log"));
    FILE *p = popen(cmd, "w");
    if (!p) return -1;
    if (input) fputs(input, p);
    const int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool add_user(const char *db, const char *name, const char *role, const char *password) {
    char args[1024], input[256];
    snprintf(args, sizeof args, "user add %s --role %s --display-name '%s 医生' --db %s", name,
             role, name, db);
    snprintf(input, sizeof input, "%s\n", password);
    return run_ward(args, input) == 0;
}

bool sign_in(const char *name, const char *password, char *headers, size_t cap) {
    char body[512];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"password\":\"%s\"}", name, password);
    http_reply r = http("POST", "/api/login", body, NULL);
    cJSON *o = cJSON_Parse(r.body ? r.body : "");
    const char *csrf = json_str(o, "csrf", NULL);
    const char *c = r.head ? strstr(r.head, "Set-Cookie: ward_session=") : NULL;
    const bool ok = r.status == 200 && csrf && c;
    if (ok) {
        c += strlen("Set-Cookie: ");
        snprintf(headers, cap, "Cookie: %.*s\r\nX-CSRF-Token: %s\r\n", (int)strcspn(c, ";\r"), c,
                 csrf);
    }
    cJSON_Delete(o);
    reply_free(&r);
    return ok;
}
