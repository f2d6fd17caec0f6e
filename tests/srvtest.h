/* srvtest.h: what the tests of `ward serve` share: a minimal HTTP/1.1 client (one request per
 * connection, a 30 s receive limit so a hung server fails the test) and the server process
 * (started with `ward serve ARGS --port 0`, healthy before it returns, its stderr appended to
 * the test's serve.log). */
#ifndef WARD_TESTS_SRVTEST_H
#define WARD_TESTS_SRVTEST_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct http_reply {
    int status;
    char *head, *body; /* body: de-chunked, NUL-terminated */
    size_t body_len;
} http_reply;

/* The parts of http(), for tests that hold a connection open: a connected socket (-1 on
 * failure), a request written to it, the whole reply read (the socket is closed). */
int connect_server(void);
void send_all(int fd, const char *p, size_t n);
void send_request(int fd, const char *method, const char *path, const char *extra_headers,
                  const char *body, size_t body_len);
http_reply read_reply(int fd);
/* One request to the server started last; status 0 if it could not be sent. */
http_reply http(const char *method, const char *path, const char *body, const char *extra_headers);
void reply_free(http_reply *r);
/* Starts `ward serve ARGS --port 0` and waits until /health says 200; -1 if it never does. */
pid_t start_server(const char *args);
/* The same for a server given --tls-cert/--tls-key: ready when curl, trusting cacert, gets
 * 200 from https://127.0.0.1:PORT/health. */
pid_t start_server_https(const char *args, const char *cacert);
/* SIGTERM and the exit status (-1 if it did not exit normally). */
int stop_server(pid_t pid);
int srvtest_port(void);
/* Sends the next requests to this port (a server started earlier). */
void srvtest_use_port(int port);
/* Runs `ward ARGS` with input on its standard input; its exit status (-1 if it crashed). */
int run_ward(const char *args, const char *input);
/* `ward user add NAME --role ROLE --db DB` with the password. */
bool add_user(const char *db, const char *name, const char *role, const char *password);
/* Signs in on the server started last; headers gets the session cookie and CSRF token lines
 * to send with each request (as http()'s extra_headers). */
bool sign_in(const char *name, const char *password, char *headers, size_t cap);
/* A string at o[path0] or o[path0][path1], or NULL. */
const char *json_str(const cJSON *o, const char *path0, const char *path1);

#endif
