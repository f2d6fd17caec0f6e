/* test_tls.c: `ward serve --tls-cert/--tls-key` (libmicrohttpd with GnuTLS), checked with curl
 * as the TLS client (tests/data/tls: a self-signed certificate for 127.0.0.1).
 *
 * HTTPS answers with the certificate (curl verifies it against the test CA: the chain and the
 * name); plain HTTP on the same port gets no answer; the workbench's session cookie is Secure
 * and the pages carry Strict-Transport-Security; a key that does not match the certificate, a
 * missing file, or one flag without the other are refused at start with a message.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "srvtest.h"

#define TLS_DIR WARD_SOURCE_DIR "/tests/data/tls"
#define PASSWORD "correct-horse-battery"

/* curl -s ARGS https://127.0.0.1:PORT/PATH, with the response headers (-i) in out. */
static int curl(const char *args, const char *path, char *out, size_t cap) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "curl -s -i --max-time 10 --cacert " TLS_DIR "/cert.pem %s "
             "https://127.0.0.1:%d%s", args, srvtest_port(), path);
    return run_cmd(cmd, out, cap);
}

static void test_https(const char *model) {
    char db[256], args[1400], out[8192], cmd[1200];
    snprintf(db, sizeof db, "%s", test_tmp_path("tls.db"));
    test_remove_db(db);
    CHECK(add_user(db, "doc", "doctor", PASSWORD), "a doctor");
    snprintf(args, sizeof args, "-m s=%s -t 1 --db %s --tls-cert " TLS_DIR "/cert.pem --tls-key "
             TLS_DIR "/key.pem", model, db);
    const pid_t pid = start_server_https(args, TLS_DIR "/cert.pem");
    CHECK(pid > 0, "ward serve over HTTPS started; curl verified its certificate");
    if (pid <= 0) return;
    CHECK(curl("", "/v1/models", out, sizeof out) == 0 && strstr(out, "HTTP/1.1 200") &&
              strstr(out, "\"id\":\"s\""), "the OpenAI API over HTTPS");
    CHECK(curl("-H 'Content-Type: application/json' -d "
               "'{\"name\":\"doc\",\"password\":\"" PASSWORD "\"}'", "/api/login", out, sizeof out) == 0 &&
              strstr(out, "HTTP/1.1 200") && strstr(out, "HttpOnly; SameSite=Strict") &&
              strstr(out, "; Secure") && strstr(out, "Strict-Transport-Security: max-age="),
          "signing in over HTTPS: the cookie is Secure, HSTS is on");
    snprintf(cmd, sizeof cmd, "curl -s --max-time 5 -o /dev/null -w '%%{http_code}' "
             "http://127.0.0.1:%d/health", srvtest_port());
    out[0] = '\0';
    run_cmd(cmd, out, sizeof out);
    CHECK(strcmp(out, "200") != 0, "plain HTTP on the HTTPS port gets no answer (%s)", out);
    snprintf(cmd, sizeof cmd, "curl -s --max-time 5 -o /dev/null https://127.0.0.1:%d/health",
             srvtest_port());
    CHECK(run_cmd(cmd, out, sizeof out) != 0, "a client that does not trust the certificate "
          "refuses it");
    CHECK(stop_server(pid) == 0, "SIGTERM: exit status 0");
    test_remove_db(db);
}

/* `ward serve ARGS` must exit with status 1 and say says on stderr. */
static void expect_refused(const char *model, const char *tls_args, const char *says) {
    char cmd[2048], out[4096] = "";
    snprintf(cmd, sizeof cmd, "%s serve -m s=%s --no-workbench --port 0 %s 2>&1", WARD_BINARY,
             model, tls_args);
    const int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 1 && strstr(out, says), "refused (%s): %s", tls_args, out);
}

int main(void) {
    const char *model = shared_path("models/stories260K.gguf");
    if (!model) return test_summary();
    char m[1024];
    snprintf(m, sizeof m, "%s", model);
    test_https(m);
    expect_refused(m, "--tls-cert " TLS_DIR "/cert.pem", "go together");
    expect_refused(m, "--tls-cert " TLS_DIR "/missing.pem --tls-key " TLS_DIR "/key.pem",
                   "cannot read");
    expect_refused(m, "--tls-cert " TLS_DIR "/cert.pem --tls-key " TLS_DIR "/other-key.pem",
                   "not a valid PEM pair"); /* a key, not the certificate's */
    expect_refused(m, "--tls-cert " TLS_DIR "/cert.pem --tls-key " TLS_DIR "/README.md",
                   "not a valid PEM pair"); /* not a key at all */
    return test_summary();
}
