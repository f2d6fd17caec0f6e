/* deid_detect.c: the de-identification scanners, one per PHI type, over the decoded text.
 *
 * Each detector walks the code points once (tables in deid_tables.c) and adds candidate spans;
 * deid.c keeps the longest of overlapping ones. Numbers (ID, phone, record, date, age) are
 * parsed by hand: digits may be ASCII or full-width. Names, organisations and addresses are
 * found from context: a surname plus a cue word before or after it; a suffix such as 有限公司
 * after a cue such as 就职于; a chain of place components (省 市 区 路 号 室). Each detector's
 * comment says what it accepts; docs/deid.md says it for users. Work is O(n x table size).
 *
 * Sections: helpers (shared with deid_name.c), ID numbers, phones, record numbers, dates, ages,
 * organisations, addresses. Names are in deid_name.c.
 */
#include <string.h>

#include "privacy/deid_internal.h"

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

bool deid_in(const char32_t *set, char32_t c) {
    if (c == 0) return false;
    for (; *set; set++)
        if (*set == c) return true;
    return false;
}

static int64_t str_len32(const char32_t *s) {
    int64_t n = 0;
    while (s[n]) n++;
    return n;
}

int64_t deid_str_at(const char32_t *s, const deid_text *t, int64_t i) {
    int64_t k = 0;
    for (; s[k]; k++)
        if (i + k >= t->n || t->cp[i + k] != s[k]) return 0;
    return k;
}

int64_t deid_word_at(const deid_words *ws, const deid_text *t, int64_t i) {
    int64_t best = 0;
    if (i < 0 || i >= t->n) return 0;
    for (size_t k = 0; k < ws->n; k++) {
        if (ws->w[k][0] != t->cp[i]) continue;
        const int64_t l = deid_str_at(ws->w[k], t, i);
        if (l > best) best = l;
    }
    return best;
}

int64_t deid_word_before(const deid_words *ws, const deid_text *t, int64_t i) {
    int64_t best = 0;
    for (size_t k = 0; k < ws->n; k++) {
        const int64_t l = str_len32(ws->w[k]);
        if (l <= best || l > i) continue;
        if (deid_str_at(ws->w[k], t, i - l) == l) best = l;
    }
    return best;
}

bool deid_is_cjk(char32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FFFF) || c == 0x3007;
}

int deid_digit(char32_t c) {
    if (c >= '0' && c <= '9') return (int)(c - '0');
    if (c >= 0xFF10 && c <= 0xFF19) return (int)(c - 0xFF10);
    return -1;
}

bool deid_is_alpha(char32_t c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= 0xFF21 && c <= 0xFF3A) ||
           (c >= 0xFF41 && c <= 0xFF5A);
}


/* Skips what may stand between a label and its value: spaces, colons, 为/是. */
static int64_t skip_label_sep(const deid_text *t, int64_t j, bool *colon) {
    for (int k = 0; k < 6 && j < t->n; k++) {
        const char32_t c = t->cp[j];
        if (c == ':' || c == 0xFF1A) {
            if (colon) *colon = true;
        } else if (!(deid_is_space(c) || c == U'为' || c == U'是' || c == '#' || c == 0xFF03 ||
                     c == '=')) {
            break;
        }
        j++;
    }
    return j;
}

/* Backs over the same separators from i; the position where a label would end. */
int64_t deid_back_label_sep(const deid_text *t, int64_t i, bool *colon) {
    for (int k = 0; k < 4 && i > 0; k++) {
        const char32_t c = t->cp[i - 1];
        if (c == ':' || c == 0xFF1A) {
            if (colon) *colon = true;
        } else if (!deid_is_space(c)) {
            break;
        }
        i--;
    }
    return i;
}

/* Like deid_word_at, but the word's CJK characters may be spread by spaces, as in table headers
 * ("住 院 号", "姓    名"): the end of the longest match, or i if none. */
static int64_t word_end_spaced(const deid_words *ws, const deid_text *t, int64_t i) {
    int64_t best = i;
    if (i < 0 || i >= t->n) return i;
    for (size_t k = 0; k < ws->n; k++) {
        const char32_t *w = ws->w[k];
        if (w[0] != t->cp[i]) continue;
        int64_t p = i + 1;
        size_t m = 1;
        for (; w[m]; m++, p++) {
            if (deid_is_cjk(w[m]))
                for (int gap = 0; gap < 6 && deid_is_space(deid_at(t, p)); gap++) p++;
            if (deid_at(t, p) != w[m]) break;
        }
        if (!w[m] && p > best) best = p;
    }
    return best;
}

/* The same backwards: whether a word of ws, spaces allowed between its CJK characters, ends at i. */
bool deid_word_before_spaced(const deid_words *ws, const deid_text *t, int64_t i) {
    for (size_t k = 0; k < ws->n; k++) {
        const char32_t *w = ws->w[k];
        int64_t m = str_len32(w), p = i;
        if (m < 2) continue;
        while (m > 0) {
            if (deid_at(t, p - 1) != w[m - 1]) break;
            p--, m--;
            if (m > 0 && deid_is_cjk(w[m - 1]))
                for (int gap = 0; gap < 6 && deid_is_space(deid_at(t, p - 1)); gap++) p--;
        }
        if (m == 0) return true;
    }
    return false;
}

/* Text tables: cells are split on spaces, tabs and '|', one row a line. */
typedef struct deid_cell {
    int64_t start, end;
} deid_cell;
#define MAX_CELLS 24

static bool is_cell_sep(char32_t c) { return deid_is_space(c) || c == '|' || c == 0xFF5C; }

/* The cells of the line starting at p (at most MAX_CELLS; -1 if more); *next: the next line. */
static int line_cells(const deid_text *t, int64_t p, deid_cell *c, int64_t *next) {
    int n = 0;
    while (p < t->n && t->cp[p] != '\n') {
        if (is_cell_sep(t->cp[p]) || t->cp[p] == '\r') {
            p++;
            continue;
        }
        const int64_t s = p;
        while (p < t->n && t->cp[p] != '\n' && t->cp[p] != '\r' && !is_cell_sep(t->cp[p])) p++;
        if (n == MAX_CELLS) n = -1;
        if (n >= 0) c[n++] = (deid_cell){s, p};
    }
    *next = p + (p < t->n);
    return n;
}

/* A header line (no digits) with a cell that is a label of ws (a colon after it allowed); the
 * cell in the same column of each line below with as many cells is a value if ok() says so. A
 * one-cell header ("住院号" alone on its line) takes only the next non-empty line. */
void deid_table_columns(const deid_text *t, const deid_words *ws, deid_cell_value_fn ok,
                          deid_type type, deid_cands *out) {
    deid_cell head[MAX_CELLS], row[MAX_CELLS];
    for (int64_t p = 0, next; p < t->n; p = next) {
        const int nh = line_cells(t, p, head, &next);
        bool digits = false;
        for (int64_t q = p; q < next; q++) digits |= deid_digit(t->cp[q]) >= 0;
        if (nh <= 0 || digits) continue;
        for (int col = 0; col < nh; col++) {
            const int64_t s = head[col].start;
            int64_t e = head[col].end;
            if (deid_at(t, e - 1) == ':' || deid_at(t, e - 1) == 0xFF1A) e--;
            if (word_end_spaced(ws, t, s) != e) continue;
            int64_t r = next;
            for (int rows = 0; r < t->n && rows < 200; rows++) {
                int64_t after;
                const int nr = line_cells(t, r, row, &after);
                if (nr == 0 && nh == 1 && rows == 0) { /* a blank line under a lone label */
                    r = after;
                    continue;
                }
                if (nr != nh) break;
                if (ok(t, row[col].start, row[col].end))
                    deid_cand_add(out, row[col].start, row[col].end, type);
                if (nh == 1) break;
                r = after;
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * ID numbers: 17 digits and a check character, checksum-valid; single spaces or hyphens between
 * digits are accepted (at most 4: "110101 19900307 123X"); the number must not touch more digits.
 * ------------------------------------------------------------------------------------------- */

bool deid_id_checksum_ok(const char *id) {
    static const int weight[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char check[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
    if (!id) return false;
    int sum = 0;
    for (int k = 0; k < 17; k++) {
        if (id[k] < '0' || id[k] > '9') return false;
        sum += (id[k] - '0') * weight[k];
    }
    const char c = id[17] == 'x' ? 'X' : id[17];
    return c == check[sum % 11] && id[18] == '\0';
}

static bool is_x(char32_t c) { return c == 'X' || c == 'x' || c == 0xFF38 || c == 0xFF58; }

void deid_detect_id(const deid_config *cfg, const deid_text *t, deid_cands *out) {
    for (int64_t i = 0; i < t->n; i++) {
        if (deid_digit(t->cp[i]) < 0 || deid_digit(deid_at(t, i - 1)) >= 0) continue;
        char id[19];
        int k = 0, seps = 0;
        int64_t j = i;
        while (j < t->n && k < 18) {
            const int d = deid_digit(t->cp[j]);
            if (d >= 0) {
                id[k++] = (char)('0' + d), j++;
            } else if (k == 17 && is_x(t->cp[j])) {
                id[k++] = 'X', j++;
            } else if ((t->cp[j] == ' ' || t->cp[j] == '-') && seps < 4 &&
                       (deid_digit(deid_at(t, j + 1)) >= 0 || (k == 17 && is_x(deid_at(t, j + 1))))) {
                seps++, j++;
            } else {
                break;
            }
        }
        id[k] = '\0';
        if (k == 18 && deid_digit(deid_at(t, j)) < 0 && !is_x(deid_at(t, j)) && deid_id_checksum_ok(id)) {
            deid_cand_add(out, i, j, DEID_ID_NUMBER);
            i = j - 1;
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Phones: mobiles 1[3-9] + 9 digits (3-4-4 with spaces or hyphens, +86 / 0086 / 86- before);
 * landlines 0 + 2-3 digit area code, optionally in parentheses, and 7-8 digits, with an extension
 * (-123, 转123); any 7-13 digit number after a phone label (电话：). Numbers after a specimen or
 * batch label (标本号, 批号) are not phones unless a phone label says so.
 * ------------------------------------------------------------------------------------------- */

/* Reads up to want digits from j allowing one ' ' or '-' before digit number sep_after[k];
 * returns the end or -1 if fewer digits came. digits[] receives them. */
static int64_t read_grouped(const deid_text *t, int64_t j, int want, int *digits) {
    int k = 0;
    while (k < want && j < t->n) {
        const int d = deid_digit(t->cp[j]);
        if (d >= 0) {
            if (digits) digits[k] = d;
            k++, j++;
        } else if ((t->cp[j] == ' ' || t->cp[j] == '-') && k > 0 && deid_digit(deid_at(t, j + 1)) >= 0) {
            j++;
        } else {
            break;
        }
    }
    return k == want ? j : -1;
}

static int64_t mobile_at(const deid_text *t, int64_t j) {
    int d[11];
    const int64_t e = read_grouped(t, j, 11, d);
    if (e < 0 || d[0] != 1 || d[1] < 3 || deid_digit(deid_at(t, e)) >= 0) return -1;
    /* no separator inside the first three digits (that would be a different number) */
    for (int64_t k = j; k < j + 3; k++)
        if (deid_digit(t->cp[k]) < 0) return -1;
    return e;
}

static int64_t country_code(const deid_text *t, int64_t i) {
    int64_t j = i;
    bool paren = false;
    if (t->cp[j] == '(' || t->cp[j] == 0xFF08) paren = true, j++;
    if (deid_at(t, j) == '+' || deid_at(t, j) == 0xFF0B) j++;
    else if (deid_digit(deid_at(t, j)) == 0 && deid_digit(deid_at(t, j + 1)) == 0) j += 2;
    if (deid_digit(deid_at(t, j)) != 8 || deid_digit(deid_at(t, j + 1)) != 6) return -1;
    j += 2;
    if (paren) {
        if (deid_at(t, j) != ')' && deid_at(t, j) != 0xFF09) return -1;
        j++;
    }
    while (deid_at(t, j) == ' ' || deid_at(t, j) == '-') j++;
    return j;
}

static int64_t extension(const deid_text *t, int64_t e) {
    int64_t j = e;
    if (deid_at(t, j) == '-' || deid_at(t, j) == U'转') j++;
    else if (deid_at(t, j) == U'分' && deid_at(t, j + 1) == U'机') j += 2;
    else if ((deid_at(t, j) == 'e' || deid_at(t, j) == 'E') && (deid_at(t, j + 1) == 'x' || deid_at(t, j + 1) == 'X') &&
             (deid_at(t, j + 2) == 't' || deid_at(t, j + 2) == 'T'))
        j += 3 + (deid_at(t, j + 3) == '.');
    else return e;
    int k = 0;
    while (k < 6 && deid_digit(deid_at(t, j + k)) >= 0) k++;
    return k >= 1 && k <= 5 && deid_digit(deid_at(t, j + k)) < 0 ? j + k : e;
}

static int64_t landline_at(const deid_text *t, int64_t i, bool labelled) {
    int64_t j = i;
    bool paren = false, sep = false;
    if (t->cp[j] == '(' || t->cp[j] == 0xFF08) paren = true, j++;
    if (deid_digit(deid_at(t, j)) != 0) return -1;
    int area = 1;
    while (area < 4 && deid_digit(deid_at(t, j + area)) >= 0) area++;
    const int second = deid_digit(deid_at(t, j + 1));
    if (paren) {
        if (area < 3 || (deid_at(t, j + area) != ')' && deid_at(t, j + area) != 0xFF09)) return -1;
        j += area + 1;
        while (deid_at(t, j) == ' ' || deid_at(t, j) == '-') j++;
        sep = true;
    } else if (area >= 3 && (deid_at(t, j + area) == '-' || deid_at(t, j + area) == ' ') &&
               deid_digit(deid_at(t, j + area + 1)) >= 0) {
        j += area + 1, sep = true;
    } else {
        area = second == 1 || second == 2 ? 3 : 4; /* 010, 02x: three digits; else four */
        j += area;
    }
    if (second < 1) return -1;
    /* the local number: 7 or 8 digits, one separator allowed inside */
    int64_t e = read_grouped(t, j, 8, NULL);
    if (e < 0 || deid_digit(deid_at(t, e)) >= 0) e = read_grouped(t, j, 7, NULL);
    if (e < 0 || deid_digit(deid_at(t, e)) >= 0) return -1;
    if (!sep && !labelled && (deid_at(t, e) == '.' || deid_is_alpha(deid_at(t, e)))) return -1;
    return extension(t, e);
}

static bool after_label(const deid_text *t, int64_t i, const deid_words *labels) {
    return deid_word_before(labels, t, deid_back_label_sep(t, i, NULL)) > 0;
}

void deid_detect_phone(const deid_config *cfg, const deid_text *t, deid_cands *out) {
    for (int64_t i = 0; i < t->n; i++) {
        const char32_t c = t->cp[i];
        if (!(deid_digit(c) >= 0 || c == '+' || c == 0xFF0B || c == '(' || c == 0xFF08)) continue;
        if (deid_digit(deid_at(t, i - 1)) >= 0 || deid_is_alpha(deid_at(t, i - 1))) continue;
        const bool labelled = after_label(t, i, &deid_phone_labels);
        if (!labelled && after_label(t, i, &deid_not_phone_labels)) continue;
        int64_t e = -1;
        const int64_t cc = country_code(t, i);
        if (cc > 0) e = mobile_at(t, cc);
        if (e < 0 && deid_digit(c) == 1) e = mobile_at(t, i);
        if (e < 0) e = landline_at(t, i, labelled);
        if (e < 0 && labelled && deid_digit(c) >= 0) {
            /* any 7-13 digit number after a phone label, one separator between groups */
            int64_t j = i, digits = 0;
            while (j < t->n && digits < 13) {
                if (deid_digit(t->cp[j]) >= 0) digits++, j++;
                else if ((t->cp[j] == '-' || t->cp[j] == ' ') && deid_digit(deid_at(t, j + 1)) >= 0) j++;
                else break;
            }
            if (digits >= 7 && deid_digit(deid_at(t, j)) < 0) e = j;
        }
        if (e > i) {
            deid_cand_add(out, i, e, DEID_PHONE);
            i = e - 1;
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Record numbers: the value after a label (住院号：ZY2023-0012): letters, digits, '-', '_', at
 * least 3 characters with a digit; a second label may stand between ("住院号/病案号：").
 * ------------------------------------------------------------------------------------------- */

/* A record number's value from j: letters, digits, '-', '_', a '/' between digit groups
 * ("2023/045678", not a date) and a leading "NO." (groups of 3+ digits may be split by single
 * spaces: "6102 3345 1121"); its end, or j if it is no value (under 3 characters, no digit). */
static int64_t record_value(const deid_text *t, int64_t j, int64_t limit) {
    int64_t e = j;
    int digits = 0;
    while (e < limit && e - j < 40) {
        const char32_t c = t->cp[e];
        if (deid_digit(c) >= 0) {
            digits++;
        } else if (c == ' ' && digits >= 3 && deid_digit(deid_at(t, e - 1)) >= 0) {
            int64_t g = e + 1;
            while (deid_digit(deid_at(t, g)) >= 0) g++;
            const char32_t after = deid_at(t, g);
            if (g - e - 1 < 3 || deid_is_cjk(after) || deid_is_alpha(after) || after == '-') break;
        } else if ((c == '/' || c == 0xFF0F) && e > j && (deid_digit(deid_at(t, e - 1)) >= 0 || deid_is_alpha(deid_at(t, e - 1))) &&
                   deid_digit(deid_at(t, e + 1)) >= 0) {
            /* 2023/045678: a slash between digits; a date (2023/4/5) is no value */
            int64_t g = e + 1;
            while (deid_digit(deid_at(t, g)) >= 0) g++;
            if (g - e - 1 < 3 || deid_at(t, g) == c) break;
        } else if (c == '.' && e - j == 2 && (t->cp[j] == 'N' || t->cp[j] == 'n') &&
                   (t->cp[j + 1] == 'O' || t->cp[j + 1] == 'o') && deid_digit(deid_at(t, e + 1)) >= 0) {
            /* NO.0012345 */
        } else if (!(deid_is_alpha(c) || c == '-' || c == '_' || c == 0xFF0D)) {
            break;
        }
        e++;
    }
    while (e > j && (t->cp[e - 1] == '-' || t->cp[e - 1] == '_' || t->cp[e - 1] == 0xFF0D)) e--;
    return digits >= 1 && e - j >= 3 ? e : j;
}

static bool record_cell(const deid_text *t, int64_t s, int64_t e) {
    return record_value(t, s, e) == e;
}

/* Spaces (any number on the line), colons, 为/是 and '#' between a record label and its value. */
static int64_t skip_record_sep(const deid_text *t, int64_t j, bool *colon) {
    for (int k = 0; k < 40 && j < t->n; k++) {
        const char32_t c = t->cp[j];
        if (c == ':' || c == 0xFF1A) *colon = true;
        else if (!(deid_is_space(c) || c == U'为' || c == U'是' || c == '#' || c == 0xFF03 || c == '='))
            break;
        j++;
    }
    return j;
}

void deid_detect_record(const deid_config *cfg, const deid_text *t, deid_cands *out) {
    for (int64_t i = 0; i < t->n; i++) {
        if (deid_is_alpha(deid_at(t, i - 1))) continue;
        int64_t j = word_end_spaced(&deid_record_labels, t, i);
        if (j == i) continue;
        const bool ascii_label = t->cp[i] < 0x80;
        if (ascii_label && deid_is_alpha(deid_at(t, j))) continue; /* "IDEA", "PIDS" */
        bool colon = false;
        if (ascii_label && deid_at(t, j - 1) == 'o' && deid_at(t, j) == '.') j++, colon = true; /* "No." */
        for (int round = 0; round < 3; round++) {
            j = skip_record_sep(t, j, &colon);
            if (deid_at(t, j) == '/' || deid_at(t, j) == U'、' || deid_at(t, j) == U'／') {
                const int64_t l2 = deid_word_at(&deid_record_labels, t, j + 1);
                if (l2) {
                    j += 1 + l2;
                    continue;
                }
            }
            if (deid_at(t, j) == '(' || deid_at(t, j) == 0xFF08) { /* 住院号（病案号）： */
                const int64_t l2 = deid_word_at(&deid_record_labels, t, j + 1);
                if (l2 && (deid_at(t, j + 1 + l2) == ')' || deid_at(t, j + 1 + l2) == 0xFF09)) {
                    j += 2 + l2;
                    continue;
                }
            }
            if ((deid_at(t, j) == 'N' || deid_at(t, j) == 'n') && (deid_at(t, j + 1) == 'o' || deid_at(t, j + 1) == 'O') &&
                (deid_at(t, j + 2) == '.' || deid_at(t, j + 2) == ':')) {
                j += 3;
                colon = true;
                continue;
            }
            break;
        }
        const int64_t e = record_value(t, j, t->n);
        if (e == j) continue;
        if (ascii_label && !colon) {
            /* "ID" needs "ID：" or "ID号"; longer ones (MRN) a space and four digits */
            int digits = 0;
            for (int64_t q = j; q < e; q++) digits += deid_digit(t->cp[q]) >= 0;
            if (deid_word_at(&deid_record_labels, t, i) == 2 || digits < 4 || !deid_is_space(deid_at(t, j - 1)))
                continue;
        }
        deid_cand_add(out, j, e, DEID_RECORD_NUMBER);
        i = e - 1;
    }
    deid_table_columns(t, &deid_record_labels, record_cell, DEID_RECORD_NUMBER, out);
}

/* ---------------------------------------------------------------------------------------------
 * Dates: 2023年3月5日 (or 号), 2023-03-05, 2023/3/5, 2023.03.05 (the same separator twice), and
 * 3月5日 without a year; a year from 1900 to 2099; a time right after is part of the date
 * (14:30, 14:30:05, 14时30分, 14点). Year and month alone (2019年3月) are not exact dates.
 * ------------------------------------------------------------------------------------------- */

static const int64_t days_before[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

int deid_days_in_month(int y, int m) {
    if (m == 2) return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28;
    return m >= 1 && m <= 12 ? (int)days_before[m] : 0;
}

/* H. Hinnant's days_from_civil. */
int64_t deid_days_from_civil(int y, int m, int d) {
    const int64_t yy = (int64_t)y - (m <= 2);
    const int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    const int64_t yoe = yy - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void deid_civil_from_days(int64_t z, int *y, int *m, int *d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* A run of 1..max digits at j into f; false if none or more than max. */
static bool number_field(const deid_text *t, int64_t j, int max, deid_date_field *f) {
    int64_t e = j;
    int v = 0;
    while (deid_digit(deid_at(t, e)) >= 0 && e - j <= max) v = v * 10 + deid_digit(t->cp[e]), e++;
    if (e == j || e - j > max) return false;
    *f = (deid_date_field){j, e, v, t->cp[j] >= 0xFF10};
    return true;
}

static bool is_date_sep(char32_t c) {
    return c == '-' || c == '/' || c == '.' || c == 0xFF0D || c == 0xFF0F || c == 0xFF0E;
}

/* A time right after a date at j: returns its end, or j. */
static int64_t time_after(const deid_text *t, int64_t j) {
    int64_t p = j;
    if (deid_at(t, p) == ' ' || deid_at(t, p) == 'T') p++;
    deid_date_field h, m, s;
    if (!number_field(t, p, 2, &h) || h.value > 24) return j;
    p = h.end;
    if (deid_at(t, p) == ':' || deid_at(t, p) == 0xFF1A) {
        if (!number_field(t, p + 1, 2, &m) || m.end - m.start != 2 || m.value > 59) return j;
        p = m.end;
        if ((deid_at(t, p) == ':' || deid_at(t, p) == 0xFF1A) && number_field(t, p + 1, 2, &s) &&
            s.end - s.start == 2 && s.value <= 60)
            p = s.end;
        return p;
    }
    if (deid_at(t, p) == U'时' || deid_at(t, p) == U'点') {
        p++;
        if (number_field(t, p, 2, &m) && m.value <= 59 && deid_at(t, m.end) == U'分') p = m.end + 1;
        else if (deid_at(t, p) == U'半') p++;
        return p;
    }
    return j;
}

bool deid_date_at(const deid_text *t, int64_t i, int year_hint, deid_date *d) {
    memset(d, 0, sizeof *d);
    deid_date_field a;
    if (!number_field(t, i, 4, &a)) return false;
    int64_t p = a.end;
    if (a.end - a.start == 4) {
        if (a.value < 1900 || a.value > 2099) return false;
        d->has_year = true, d->year = a;
        if (deid_at(t, p) == ' ' && deid_at(t, p + 1) == U'年') p++;
        if (deid_at(t, p) == U'年') {
            p++;
            if (deid_at(t, p) == ' ') p++;
            if (!number_field(t, p, 2, &d->month) || deid_at(t, d->month.end) != U'月') return false;
            p = d->month.end + 1;
            if (deid_at(t, p) == ' ') p++;
            if (!number_field(t, p, 2, &d->day)) return false;
            p = d->day.end;
            if (deid_at(t, p) != U'日' && deid_at(t, p) != U'号') return false;
            p++;
        } else if (is_date_sep(deid_at(t, p))) {
            const char32_t sep = t->cp[p];
            if (!number_field(t, p + 1, 2, &d->month) || deid_at(t, d->month.end) != sep) return false;
            if (!number_field(t, d->month.end + 1, 2, &d->day)) return false;
            p = d->day.end;
            if (deid_digit(deid_at(t, p)) >= 0 || (deid_at(t, p) == sep && deid_digit(deid_at(t, p + 1)) >= 0))
                return false;
        } else {
            return false;
        }
    } else if (a.end - a.start <= 2 && deid_at(t, p) == U'月') {
        d->month = a;
        if (!number_field(t, p + 1, 2, &d->day)) return false;
        p = d->day.end;
        if (deid_at(t, p) != U'日' && deid_at(t, p) != U'号') return false;
        p++;
    } else {
        return false;
    }
    const int y = d->has_year ? d->year.value : year_hint;
    if (d->month.value < 1 || d->month.value > 12 || d->day.value < 1 ||
        d->day.value > deid_days_in_month(y, d->month.value))
        return false;
    d->end = time_after(t, p);
    return true;
}

void deid_detect_date(const deid_config *cfg, const deid_text *t, deid_cands *out) {
    for (int64_t i = 0; i < t->n; i++) {
        if (deid_digit(t->cp[i]) < 0 || deid_digit(deid_at(t, i - 1)) >= 0) continue;
        if (deid_at(t, i - 1) == '.' && deid_digit(deid_at(t, i - 2)) >= 0) continue; /* 3.2023... */
        deid_date d;
        if (deid_date_at(t, i, 2000, &d)) {
            deid_cand_add(out, i, d.end, DEID_DATE);
            i = d.end - 1;
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Ages over 89: a number (digits or 九十二, 一百零一) before 岁 / 周岁 / 余岁 / 多岁, or after a
 * label (年龄：95); 九旬 and 百岁 too. The span is the number and its unit.
 * ------------------------------------------------------------------------------------------- */

static int cn_digit(char32_t c) {
    static const char32_t digits[] = U"零一二三四五六七八九";
    for (int k = 0; k < 10; k++)
        if (digits[k] == c) return k;
    if (c == U'〇') return 0;
    if (c == U'两') return 2;
    return -1;
}

/* A Chinese numeral 1..199 at j: *end after it; -1 if none. */
static int cn_number(const deid_text *t, int64_t j, int64_t *end) {
    int v = 0;
    int64_t p = j;
    if (cn_digit(deid_at(t, p)) == 1 && deid_at(t, p + 1) == U'百') p += 2, v = 100;
    else if (deid_at(t, p) == U'百') p++, v = 100;
    if (v && deid_at(t, p) == U'零') p++;
    int tens = -1;
    if (cn_digit(deid_at(t, p)) > 0 && deid_at(t, p + 1) == U'十') tens = cn_digit(deid_at(t, p)), p += 2;
    else if (deid_at(t, p) == U'十') tens = 1, p++;
    if (tens >= 0) v += tens * 10;
    if (cn_digit(deid_at(t, p)) > 0) v += cn_digit(deid_at(t, p)), p++;
    if (p == j) return -1;
    *end = p;
    return v;
}

/* The unit after an age at j: its end, or -1. */
static int64_t age_unit(const deid_text *t, int64_t j, bool labelled) {
    if (deid_at(t, j) == ' ') j++;
    if (deid_at(t, j) == U'岁') return j + 1 + (deid_at(t, j + 1) == U'余' || deid_at(t, j + 1) == U'半');
    if ((deid_at(t, j) == U'周' || deid_at(t, j) == U'余' || deid_at(t, j) == U'多') && deid_at(t, j + 1) == U'岁')
        return j + 2;
    if (labelled) {
        if ((deid_at(t, j) == 'y' || deid_at(t, j) == 'Y') && !deid_is_alpha(deid_at(t, j + 1))) return j + 1;
        return j;
    }
    return -1;
}

void deid_detect_age(const deid_config *cfg, const deid_text *t, deid_cands *out) {
    for (int64_t i = 0; i < t->n; i++) {
        const char32_t c = t->cp[i];
        if (c == U'九' && deid_at(t, i + 1) == U'旬') {
            deid_cand_add(out, i, i + 2, DEID_AGE);
            i++;
            continue;
        }
        int64_t e = -1;
        int v = -1;
        if (deid_digit(c) >= 0) {
            if (deid_digit(deid_at(t, i - 1)) >= 0 || deid_at(t, i - 1) == '.') continue;
            v = 0;
            for (e = i; deid_digit(deid_at(t, e)) >= 0 && e - i < 4; e++) v = v * 10 + deid_digit(t->cp[e]);
            if (deid_digit(deid_at(t, e)) >= 0 || deid_at(t, e) == '.') continue;
        } else if (cn_digit(c) >= 0 || c == U'十' || c == U'百') {
            if (cn_digit(deid_at(t, i - 1)) >= 0 || deid_at(t, i - 1) == U'十' || deid_at(t, i - 1) == U'百') continue;
            v = cn_number(t, i, &e);
        } else {
            continue;
        }
        if (v < 90 || v > 150) continue;
        const bool labelled = after_label(t, i, &deid_age_labels);
        const int64_t u = age_unit(t, e, labelled);
        if (u < 0 || (u == e && deid_digit(c) < 0)) continue;
        if ((deid_at(t, u) == U'以' || deid_at(t, u) == U'及') && deid_in(U"上下内", deid_at(t, u + 1 + (deid_at(t, u) == U'及'))))
            continue; /* 90岁以上: a group, not a person */
        deid_cand_add(out, i, u, DEID_AGE);
        i = u - 1;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Organisations: after a cue (工作单位：, 就职于, 就读于), the text up to the last organisation
 * suffix (有限公司, 中学, 局 ...) before the phrase ends, or the whole value after "工作单位："; without
 * a cue, a name ending in an unambiguous suffix (公司, 大学, 厂) followed by an employment word
 * (工作, 学生, 职员). A hospital only counts as an employer (a cue, or 工作 after it).
 * ------------------------------------------------------------------------------------------- */

static bool org_char(char32_t c) {
    return (deid_is_cjk(c) || deid_digit(c) >= 0 || deid_is_alpha(c) || c == 0xB7) &&
           !deid_in(deid_org_stop_chars, c);
}

/* After a cue, a name may hold characters that end one elsewhere (华为, 中国人民财产保险): only
 * these stop it there. */
static bool org_char_inside(char32_t c) {
    return (deid_is_cjk(c) || deid_digit(c) >= 0 || deid_is_alpha(c)) &&
           !deid_in(U"的在于是从与及并且而但或即被把将对给自今昨年月日岁现曾任就读当做", c);
}

/* "（中国）" inside a name: from an opening parenthesis at k, the index after its closing one
 * (at most 8 characters inside), or -1. */
static int64_t paren_forward(const deid_text *t, int64_t k) {
    if (deid_at(t, k) != '(' && deid_at(t, k) != 0xFF08) return -1;
    for (int64_t q = k + 1; q < t->n && q - k <= 9; q++) {
        if (t->cp[q] == ')' || t->cp[q] == 0xFF09) return q > k + 1 ? q + 1 : -1;
        if (!org_char(t->cp[q])) return -1;
    }
    return -1;
}

/* The same backwards: b is just after a closing parenthesis; the index of its opening one. */
static int64_t paren_backward(const deid_text *t, int64_t b) {
    if (deid_at(t, b - 1) != ')' && deid_at(t, b - 1) != 0xFF09) return -1;
    for (int64_t q = b - 2; q >= 0 && b - q <= 10; q--) {
        if (t->cp[q] == '(' || t->cp[q] == 0xFF08) return q < b - 2 ? q : -1;
        if (!org_char(t->cp[q])) return -1;
    }
    return -1;
}

/* The longest organisation suffix (table or config) ending at e. */
static int64_t org_suffix_before(const deid_text *t, int64_t e, bool cued) {
    int64_t l = deid_word_before(&deid_org_suffixes, t, e);
    if (l && !cued && deid_word_before(&deid_org_suffixes_cued, t, e) == l) l = 0;
    const int64_t x = deid_word_before(&t->extra_orgs, t, e);
    return x > l ? x : l;
}

static bool needs_colon(const deid_text *t, int64_t i, int64_t l) {
    static const char32_t *const short_cues[] = {U"单位", U"学校", U"雇主", U"就读"};
    for (size_t k = 0; k < sizeof short_cues / sizeof short_cues[0]; k++)
        if (deid_str_at(short_cues[k], t, i) == l && str_len32(short_cues[k]) == l) return true;
    return false;
}

void deid_detect_org(const deid_config *cfg, const deid_text *t, deid_cands *out) {
    /* with a cue */
    for (int64_t i = 0; i < t->n; i++) {
        const int64_t l = deid_word_at(&deid_org_cues, t, i);
        if (!l) continue;
        bool colon = false;
        const int64_t j = skip_label_sep(t, i + l, &colon);
        if (needs_colon(t, i, l) && !colon && !(l == 2 && t->cp[i] == U'就')) continue;
        int64_t k = j;
        for (int64_t p; k < t->n && k - j < 30;) {
            if (org_char(t->cp[k]) || (k > j && org_char_inside(t->cp[k]))) k++;
            else if ((p = paren_forward(t, k)) > 0) k = p;
            else break;
        }
        int64_t e = -1;
        for (int64_t q = k; q >= j + 2 && e < 0; q--)
            if (org_suffix_before(t, q, true) > 0 && org_suffix_before(t, q, true) < q - j) e = q;
        if (e < 0 && colon && k - j >= 2) {
            const int64_t nv = deid_word_at(&deid_org_not_values, t, j);
            if (nv != k - j) e = k;
        }
        if (e > j) {
            deid_cand_add(out, j, e, DEID_ORG);
            i = e - 1;
        }
    }
    /* without one: suffix + employment word */
    for (int64_t i = 2; i < t->n; i++) {
        const int64_t l = org_suffix_before(t, i, true);
        if (!l) continue;
        int64_t a = i;
        if (deid_in(U"做当任的在", deid_at(t, a)) && !deid_word_at(&deid_org_after, t, a)) a++;
        if (!deid_word_at(&deid_org_after, t, a)) continue;
        /* a hospital, clinic or centre (cued-only suffix) before 医生 or 护士 treats the patient
         * ("当地医院医生", "急诊中心护士"); it is an employer only before 工作, 上班, 职工 ... */
        if (org_suffix_before(t, i, false) < l && !deid_word_at(&deid_org_after_strict, t, a)) continue;
        int64_t b = i - l;
        for (int64_t p; b > 0 && i - b < 24;) {
            if (org_char(t->cp[b - 1])) b--;
            else if ((p = paren_backward(t, b)) >= 0 && p > 0 && org_char(t->cp[p - 1])) b = p;
            else break;
        }
        if (i - l - b < 2 || deid_in(U"一该本我此这那其各", t->cp[b])) continue; /* 一家公司 */
        if (deid_word_before(&deid_org_cues, t, b) && l == 1) continue;
        deid_cand_add(out, b, i, DEID_ORG);
    }
    /* without one: a place word before an unambiguous suffix ("在某某机械有限公司加班",
     * "参加某某律师事务所组织的体检", "职业：工人（某某纺织厂）") */
    for (int64_t i = 2; i < t->n; i++) {
        const int64_t l = org_suffix_before(t, i, false);
        if (!l) continue;
        bool longer = false; /* 浙江大学城市学院: the name goes on to a later suffix */
        for (int64_t k = i; k < t->n && k - i < 12 && org_char(t->cp[k]) && !longer; k++)
            longer = org_suffix_before(t, k + 1, true) > 0;
        if (longer) continue;
        int64_t b = i - l;
        while (b > 0 && i - b < 24 && org_char(t->cp[b - 1])) b--;
        int64_t s = -1;
        for (int64_t q = i - l - 2; q >= b && s < 0; q--)
            if (deid_word_before(&deid_org_leads, t, q)) s = q;
        if (s < 0 && deid_word_before(&deid_org_leads, t, b)) s = b;
        if (s < 0 && (deid_at(t, b - 1) == 0xFF08 || deid_at(t, b - 1) == '(') &&
            (deid_at(t, i) == 0xFF09 || deid_at(t, i) == ')')) {
            for (int64_t q = b - 2; q >= 0 && q >= b - 12 && s < 0 && t->cp[q] != '\n'; q--)
                if (deid_str_at(U"职业", t, q)) s = b; /* 职业：工人（某某纺织厂） */
        }
        if (s < 0 || i - l - s < 2 || deid_in(U"一该本我此这那其某外当原各附", t->cp[s])) continue;
        if (deid_word_before(&deid_org_places, t, i)) continue; /* 在附近超市: a place, no employer */
        deid_cand_add(out, s, i, DEID_ORG);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Addresses: a chain of components, each a place name and a suffix (浙江省, 西湖区, 文三路,
 * 李家村) or a number and a suffix (100号, 3单元, 502室), a known province or city without its
 * suffix (浙江杭州), and a bare room number after a numbered part (3单元502). After an address
 * label (住址：, 家住) one component is enough; elsewhere it takes two, one of them a place.
 * The chain ends where no component follows, so the words after an address stay.
 * ------------------------------------------------------------------------------------------- */

static bool place_char(char32_t c) {
    return (deid_is_cjk(c) || deid_digit(c) >= 0 || deid_is_alpha(c)) &&
           !deid_in(deid_addr_stop_chars, c);
}

static bool number_char(char32_t c) {
    return deid_digit(c) >= 0 || cn_digit(c) >= 0 || c == U'十' || c == U'百' ||
           (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' || c == 0xFF0D;
}

typedef enum comp_kind { COMP_NONE, COMP_PLACE, COMP_NUMBER } comp_kind;

static comp_kind addr_component(const deid_text *t, int64_t p, int64_t *end) {
    if (p >= t->n) return COMP_NONE;
    int64_t l = deid_word_at(&deid_addr_places, t, p);
    if (l) {
        *end = p + l + deid_word_at(&deid_addr_place_suffixes, t, p + l);
        return COMP_PLACE;
    }
    int64_t q = p + (t->cp[p] == U'第');
    int64_t k = q;
    while (k < t->n && k - q < 10 && number_char(t->cp[k])) k++;
    if (k > q && t->cp[q] != '-') {
        l = deid_word_at(&deid_addr_number_suffixes, t, k);
        if (l) {
            *end = k + l;
            return COMP_NUMBER;
        }
    }
    if (!place_char(t->cp[p]) || deid_in(deid_addr_no_start_chars, t->cp[p]) || deid_digit(t->cp[p]) >= 0)
        return COMP_NONE;
    /* the longest name + suffix within 12 characters ("花园路" over "花园"); a known place
     * inside ends the search, so 近期广州市 starts at 广州 */
    int64_t best = -1;
    for (int64_t k2 = 1; k2 <= 12 && p + k2 <= t->n; k2++) {
        if (!place_char(t->cp[p + k2 - 1])) break;
        if (k2 > 1 && deid_word_at(&deid_addr_places, t, p + k2 - 1)) {
            if (best < 0) return COMP_NONE;
            break;
        }
        l = deid_word_at(&deid_addr_place_suffixes, t, p + k2);
        if (l && !deid_word_at(&deid_addr_not_suffix_words, t, p + k2)) best = p + k2 + l;
    }
    if (best < 0) return COMP_NONE;
    *end = best;
    return COMP_PLACE;
}

/* The chain from p: its end; *n_comp components, *n_place of them places. */
static int64_t addr_chain(const deid_text *t, int64_t p, int *n_comp, int *n_place) {
    int64_t q = p, e = p;
    comp_kind last = COMP_NONE, k;
    *n_comp = *n_place = 0;
    while (q - p < 80 && (k = addr_component(t, q, &e)) != COMP_NONE && e > q) {
        ++*n_comp;
        *n_place += k == COMP_PLACE;
        q = e, last = k;
    }
    if (last == COMP_NUMBER) { /* 3单元502: a bare room number */
        int64_t r = q;
        while (deid_digit(deid_at(t, r)) >= 0 && r - q < 6) r++;
        if (r - q >= 2 && r - q <= 5 && !deid_is_cjk(deid_at(t, r)) && deid_digit(deid_at(t, r)) < 0 &&
            deid_at(t, r) != '-' && deid_at(t, r) != '.')
            q = r;
    }
    return q;
}

/* Whether a hospital's name goes on at e (杭州市西湖区|人民医院, 某县|中医院): the places before
 * it name the hospital, which is no PHI, not where a person lives. */
static bool before_hospital(const deid_text *t, int64_t e) {
    for (int64_t k = e; k < t->n && k - e < 10 && (deid_is_cjk(t->cp[k]) || deid_digit(t->cp[k]) >= 0); k++)
        if (deid_word_before(&deid_addr_hospital_words, t, k + 1)) return true;
    return false;
}

void deid_detect_address(const deid_config *cfg, const deid_text *t, deid_cands *out) {
    for (int64_t i = 0; i < t->n; i++) {
        int n_comp, n_place;
        const int64_t l = deid_word_at(&deid_addr_labels, t, i);
        if (l) {
            bool colon = false;
            int64_t j = skip_label_sep(t, i + l, &colon);
            if (deid_in(U"在于", deid_at(t, j))) j++;
            const int64_t e = addr_chain(t, j, &n_comp, &n_place);
            /* a weak label (来自, 住) needs a province or city, or two components */
            const bool weak = !colon && (l == 1 || t->cp[i] == U'来' || t->cp[i] == U'老' ||
                                         t->cp[i] == U'所');
            if (n_comp >= 1 && (!weak || n_comp >= 2 || deid_word_at(&deid_addr_places, t, j))) {
                deid_cand_add(out, j, e, DEID_ADDRESS);
                i = e - 1;
                continue;
            }
        }
        if (!place_char(t->cp[i]) && deid_digit(t->cp[i]) < 0) continue;
        const int64_t e = addr_chain(t, i, &n_comp, &n_place);
        if (n_comp >= 2 && n_place >= 1 && before_hospital(t, e)) { /* 杭州市西湖区人民医院 */
            i = e - 1;
            continue;
        }
        if (n_comp >= 2 && n_place >= 1) {
            deid_cand_add(out, i, e, DEID_ADDRESS);
            i = e - 1;
        }
    }
}
