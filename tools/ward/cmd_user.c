/* cmd_user.c: `ward user add|passwd|disable|enable|list`: the workbench's accounts, managed on
 * the server's machine (whoever can write the database file is its administrator; each change
 * is an audit entry by "cli:LOGIN"). Passwords are read without echo from the terminal, or as
 * the first line of standard input when it is not one (for scripts), never from the command
 * line (it would sit in the shell history and in ps). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "app/store.h"
#include "cli.h"

/* One line of input without its newline; on a terminal, prompt and do not echo. */
static bool read_secret(const char *prompt, char *buf, size_t cap) {
    const bool tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    const bool ok = fgets(buf, (int)cap, stdin) != NULL;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        fprintf(stderr, "\n");
    }
    if (ok) buf[strcspn(buf, "\r\n")] = '\0';
    return ok;
}

static bool new_password(char *buf, size_t cap) {
    if (!read_secret("new password (10 characters or more): ", buf, cap)) return false;
    if (!isatty(STDIN_FILENO)) return true;
    char again[1100];
    const bool same = read_secret("again: ", again, sizeof again) && strcmp(buf, again) == 0;
    if (!same) cli_fail("user", "the passwords differ");
    return same;
}

static int print_users(store *s, const store_actor *by) {
    cJSON *o = NULL;
    store_error e = {0};
    if (store_user_list(s, by, &o, &e) != STORE_OK) return cli_fail("user", "%s", e.msg);
    printf("%-20s %-8s %-9s %-25s %s\n", "NAME", "ROLE", "STATE", "LAST SIGN-IN", "FULL NAME");
    const cJSON *u;
    cJSON_ArrayForEach(u, cJSON_GetObjectItem(o, "users")) {
        const cJSON *last = cJSON_GetObjectItem(u, "last_login");
        printf("%-20s %-8s %-9s %-25s %s\n", cJSON_GetObjectItem(u, "name")->valuestring,
               cJSON_GetObjectItem(u, "role")->valuestring,
               cJSON_GetObjectItem(u, "disabled")->valuedouble ? "disabled" : "active",
               cJSON_IsString(last) ? last->valuestring : "never",
               cJSON_GetObjectItem(u, "display_name")->valuestring);
    }
    cJSON_Delete(o);
    return 0;
}

static int run(store *s, const char *action, const char *name, const char *role,
               const char *display) {
    store_actor by;
    store_cli_actor(&by);
    store_error e = {0};
    char password[1100];
    store_status st;
    if (strcmp(action, "list") == 0) return print_users(s, &by);
    if (!name) return cli_fail("user", "'%s' needs a user name (ward user --help)", action), 2;
    if (strcmp(action, "add") == 0 || strcmp(action, "passwd") == 0) {
        if (strcmp(action, "add") == 0 && !role)
            return cli_fail("user", "add needs --role doctor|admin|auditor"), 2;
        if (!new_password(password, sizeof password)) return cli_fail("user", "no password read");
        st = strcmp(action, "add") == 0
                 ? store_user_add(s, &by, name, display, role, password, &e)
                 : store_user_passwd(s, &by, name, password, &e);
        memset(password, 0, sizeof password);
    } else if (strcmp(action, "disable") == 0 || strcmp(action, "enable") == 0) {
        st = store_user_set_disabled(s, &by, name, strcmp(action, "disable") == 0, &e);
    } else {
        return cli_fail("user", "unknown action '%s' (add, passwd, disable, enable, list)",
                        action), 2;
    }
    if (st != STORE_OK) return cli_fail("user", "%s", e.msg);
    fprintf(stderr, "ward user: %s %s: done\n", action, name);
    return 0;
}

int cmd_user(int argc, char **argv) {
    const char *db = "ward-workbench.db", *role = NULL, *display = NULL;
    const cli_opt opts[] = {
        {"db", 0, CLI_STR, &db, "FILE|URI", "the workbench's records: an SQLite file (default ward-workbench.db here) or postgresql://...", 0, 0},
        {"role", 'r', CLI_STR, &role, "ROLE", "add: doctor (cases, answers, feedback, signing), admin (accounts, keys, adoption numbers; no patient records) or auditor (the audit trail only)", 0, 0},
        {"display-name", 'n', CLI_STR, &display, "TEXT", "add: the full name shown in the workbench and on signed discharge records", 0, 0},
    };
    const cli_cmd cmd = {
        "user", "(add NAME --role ROLE [--display-name TEXT] | passwd NAME | disable NAME | "
        "enable NAME | list) [--db FILE|URI]",
        "Manage the workbench's accounts. add and passwd read the password without echo from "
        "the terminal, or the first line of standard input; it must be 10 characters or more "
        "and is stored as an Argon2id hash. disable ends the user's sessions at once. Each "
        "change is recorded in the audit trail.",
        "Names are 2 to 64 of a-z 0-9 . _ -. Example:\n"
        "  ward user add wangli --role doctor --display-name 王丽 --db ward-workbench.db\n",
        opts, (int)(sizeof opts / sizeof opts[0]), 2};
    const char *pos[2] = {0};
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    if (n_pos < 1) return cli_fail("user", "an action: add, passwd, disable, enable or list"), 2;
    store *s = NULL;
    store_error e = {0};
    if (store_open(db, &s, &e) != STORE_OK) return cli_fail("user", "%s", e.msg);
    rc = run(s, pos[0], n_pos > 1 ? pos[1] : NULL, role, display);
    store_close(s);
    return rc;
}
