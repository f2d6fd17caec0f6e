/* deid_detect.c: the de-identification scanners, one per PHI type, over the decoded text.
 *
 * Each detector walks the code points once (tables in deid_tables.c) and adds candidate spans;
 * deid.c keeps the longest of overlapping ones. Numbers (ID, phone, record, date, age) are
 * parsed by hand: digits may be ASCII or full-width. Names, organisations and addresses are
 * found from context: a surname plus a cue word before or after it; a suffix such as 有限公司
 * after a cue such as 就职于; a chain of place components (省 市 区 路 号 室). Each detector's
 * comment says what it accepts; docs/deid.md says it for users. Work is O(n x table size).
 *
 * Sections: helpers, ID numbers, phones, record numbers, dates, ages, organisations,
 * addresses, names.
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

static bool is_alpha(char32_t c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= 0xFF21 && c <= 0xFF3A) ||
           (c >= 0xFF41 && c <= 0xFF5A);
}

static char32_t at(const deid_text *t, int64_t i) { return i >= 0 && i < t->n ? t->cp[i] : 0; }

static bool is_space(char32_t c) { return c == ' ' || c == '\t' || c == 0x3000; }

/* Skips what may stand between a label and its value: spaces, colons, 为/是. */
static int64_t skip_label_sep(const deid_text *t, int64_t j, bool *colon) {
    for (int k = 0; k < 6 && j < t->n; k++) {
        const char32_t c = t->cp[j];
        if (c == ':' || c == 0xFF1A) {
            if (colon) *colon = true;
        } else if (!(is_space(c) || c == U'为' || c == U'是' || c == '#' || c == 0xFF03 ||
                     c == '=')) {
            break;
        }
        j++;
    }
    return j;
}

/* Backs over the same separators from i; the position where a label would end. */
static int64_t back_label_sep(const deid_text *t, int64_t i, bool *colon) {
    for (int k = 0; k < 4 && i > 0; k++) {
        const char32_t c = t->cp[i - 1];
        if (c == ':' || c == 0xFF1A) {
            if (colon) *colon = true;
        } else if (!is_space(c)) {
            break;
        }
        i--;
    }
    return i;
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
        if (deid_digit(t->cp[i]) < 0 || deid_digit(at(t, i - 1)) >= 0) continue;
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
                       (deid_digit(at(t, j + 1)) >= 0 || (k == 17 && is_x(at(t, j + 1))))) {
                seps++, j++;
            } else {
                break;
            }
        }
        id[k] = '\0';
        if (k == 18 && deid_digit(at(t, j)) < 0 && !is_x(at(t, j)) && deid_id_checksum_ok(id)) {
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
        } else if ((t->cp[j] == ' ' || t->cp[j] == '-') && k > 0 && deid_digit(at(t, j + 1)) >= 0) {
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
    if (e < 0 || d[0] != 1 || d[1] < 3 || deid_digit(at(t, e)) >= 0) return -1;
    /* no separator inside the first three digits (that would be a different number) */
    for (int64_t k = j; k < j + 3; k++)
        if (deid_digit(t->cp[k]) < 0) return -1;
    return e;
}

static int64_t country_code(const deid_text *t, int64_t i) {
    int64_t j = i;
    bool paren = false;
    if (t->cp[j] == '(' || t->cp[j] == 0xFF08) paren = true, j++;
    if (at(t, j) == '+' || at(t, j) == 0xFF0B) j++;
    else if (deid_digit(at(t, j)) == 0 && deid_digit(at(t, j + 1)) == 0) j += 2;
    if (deid_digit(at(t, j)) != 8 || deid_digit(at(t, j + 1)) != 6) return -1;
    j += 2;
    if (paren) {
        if (at(t, j) != ')' && at(t, j) != 0xFF09) return -1;
        j++;
    }
    while (at(t, j) == ' ' || at(t, j) == '-') j++;
    return j;
}

static int64_t extension(const deid_text *t, int64_t e) {
    int64_t j = e;
    if (at(t, j) == '-' || at(t, j) == U'转') j++;
    else if (at(t, j) == U'分' && at(t, j + 1) == U'机') j += 2;
    else if ((at(t, j) == 'e' || at(t, j) == 'E') && (at(t, j + 1) == 'x' || at(t, j + 1) == 'X') &&
             (at(t, j + 2) == 't' || at(t, j + 2) == 'T'))
        j += 3 + (at(t, j + 3) == '.');
    else return e;
    int k = 0;
    while (k < 6 && deid_digit(at(t, j + k)) >= 0) k++;
    return k >= 1 && k <= 5 && deid_digit(at(t, j + k)) < 0 ? j + k : e;
}

static int64_t landline_at(const deid_text *t, int64_t i, bool labelled) {
    int64_t j = i;
    bool paren = false, sep = false;
    if (t->cp[j] == '(' || t->cp[j] == 0xFF08) paren = true, j++;
    if (deid_digit(at(t, j)) != 0) return -1;
    int area = 1;
    while (area < 4 && deid_digit(at(t, j + area)) >= 0) area++;
    const int second = deid_digit(at(t, j + 1));
    if (paren) {
        if (area < 3 || (at(t, j + area) != ')' && at(t, j + area) != 0xFF09)) return -1;
        j += area + 1;
        while (at(t, j) == ' ' || at(t, j) == '-') j++;
        sep = true;
    } else if (area >= 3 && (at(t, j + area) == '-' || at(t, j + area) == ' ') &&
               deid_digit(at(t, j + area + 1)) >= 0) {
        j += area + 1, sep = true;
    } else {
        area = second == 1 || second == 2 ? 3 : 4; /* 010, 02x: three digits; else four */
        j += area;
    }
    if (second < 1) return -1;
    /* the local number: 7 or 8 digits, one separator allowed inside */
    int64_t e = read_grouped(t, j, 8, NULL);
    if (e < 0 || deid_digit(at(t, e)) >= 0) e = read_grouped(t, j, 7, NULL);
    if (e < 0 || deid_digit(at(t, e)) >= 0) return -1;
    if (!sep && !labelled && (at(t, e) == '.' || is_alpha(at(t, e)))) return -1;
    return extension(t, e);
}

static bool after_label(const deid_text *t, int64_t i, const deid_words *labels) {
    return deid_word_before(labels, t, back_label_sep(t, i, NULL)) > 0;
}

void deid_detect_phone(const deid_config *cfg, const deid_text *t, deid_cands *out) {
    for (int64_t i = 0; i < t->n; i++) {
        const char32_t c = t->cp[i];
        if (!(deid_digit(c) >= 0 || c == '+' || c == 0xFF0B || c == '(' || c == 0xFF08)) continue;
        if (deid_digit(at(t, i - 1)) >= 0 || is_alpha(at(t, i - 1))) continue;
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
                else if ((t->cp[j] == '-' || t->cp[j] == ' ') && deid_digit(at(t, j + 1)) >= 0) j++;
                else break;
            }
            if (digits >= 7 && deid_digit(at(t, j)) < 0) e = j;
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

void deid_detect_record(const deid_config *cfg, const deid_text *t, deid_cands *out) {
    for (int64_t i = 0; i < t->n; i++) {
        int64_t l = deid_word_at(&deid_record_labels, t, i);
        if (!l || is_alpha(at(t, i - 1))) continue;
        const bool ascii_label = t->cp[i] < 0x80;
        int64_t j = i + l;
        bool colon = false;
        for (int round = 0; round < 3; round++) {
            j = skip_label_sep(t, j, &colon);
            if (at(t, j) == '/' || at(t, j) == U'、' || at(t, j) == U'／') {
                const int64_t l2 = deid_word_at(&deid_record_labels, t, j + 1);
                if (l2) {
                    j += 1 + l2;
                    continue;
                }
            }
            if ((at(t, j) == 'N' || at(t, j) == 'n') && (at(t, j + 1) == 'o' || at(t, j + 1) == 'O') &&
                (at(t, j + 2) == '.' || at(t, j + 2) == ':')) {
                j += 3;
                continue;
            }
            break;
        }
        if (ascii_label && !colon && at(t, i + l) != U'号') continue; /* "ID" needs "ID：" */
        int64_t e = j;
        int digits = 0;
        while (e < t->n && e - j < 40) {
            const char32_t c = t->cp[e];
            if (deid_digit(c) >= 0) digits++;
            else if (!(is_alpha(c) || c == '-' || c == '_')) break;
            e++;
        }
        while (e > j && (t->cp[e - 1] == '-' || t->cp[e - 1] == '_')) e--;
        if (digits >= 1 && e - j >= 3) {
            deid_cand_add(out, j, e, DEID_RECORD_NUMBER);
            i = e - 1;
        }
    }
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
    while (deid_digit(at(t, e)) >= 0 && e - j <= max) v = v * 10 + deid_digit(t->cp[e]), e++;
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
    if (at(t, p) == ' ' || at(t, p) == 'T') p++;
    deid_date_field h, m, s;
    if (!number_field(t, p, 2, &h) || h.value > 24) return j;
    p = h.end;
    if (at(t, p) == ':' || at(t, p) == 0xFF1A) {
        if (!number_field(t, p + 1, 2, &m) || m.end - m.start != 2 || m.value > 59) return j;
        p = m.end;
        if ((at(t, p) == ':' || at(t, p) == 0xFF1A) && number_field(t, p + 1, 2, &s) &&
            s.end - s.start == 2 && s.value <= 60)
            p = s.end;
        return p;
    }
    if (at(t, p) == U'时' || at(t, p) == U'点') {
        p++;
        if (number_field(t, p, 2, &m) && m.value <= 59 && at(t, m.end) == U'分') p = m.end + 1;
        else if (at(t, p) == U'半') p++;
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
        if (at(t, p) == ' ' && at(t, p + 1) == U'年') p++;
        if (at(t, p) == U'年') {
            p++;
            if (at(t, p) == ' ') p++;
            if (!number_field(t, p, 2, &d->month) || at(t, d->month.end) != U'月') return false;
            p = d->month.end + 1;
            if (at(t, p) == ' ') p++;
            if (!number_field(t, p, 2, &d->day)) return false;
            p = d->day.end;
            if (at(t, p) != U'日' && at(t, p) != U'号') return false;
            p++;
        } else if (is_date_sep(at(t, p))) {
            const char32_t sep = t->cp[p];
            if (!number_field(t, p + 1, 2, &d->month) || at(t, d->month.end) != sep) return false;
            if (!number_field(t, d->month.end + 1, 2, &d->day)) return false;
            p = d->day.end;
            if (deid_digit(at(t, p)) >= 0 || (at(t, p) == sep && deid_digit(at(t, p + 1)) >= 0))
                return false;
        } else {
            return false;
        }
    } else if (a.end - a.start <= 2 && at(t, p) == U'月') {
        d->month = a;
        if (!number_field(t, p + 1, 2, &d->day)) return false;
        p = d->day.end;
        if (at(t, p) != U'日' && at(t, p) != U'号') return false;
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
        if (deid_digit(t->cp[i]) < 0 || deid_digit(at(t, i - 1)) >= 0) continue;
        if (at(t, i - 1) == '.' && deid_digit(at(t, i - 2)) >= 0) continue; /* 3.2023... */
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
    if (cn_digit(at(t, p)) == 1 && at(t, p + 1) == U'百') p += 2, v = 100;
    else if (at(t, p) == U'百') p++, v = 100;
    if (v && at(t, p) == U'零') p++;
    int tens = -1;
    if (cn_digit(at(t, p)) > 0 && at(t, p + 1) == U'十') tens = cn_digit(at(t, p)), p += 2;
    else if (at(t, p) == U'十') tens = 1, p++;
    if (tens >= 0) v += tens * 10;
    if (cn_digit(at(t, p)) > 0) v += cn_digit(at(t, p)), p++;
    if (p == j) return -1;
    *end = p;
    return v;
}

/* The unit after an age at j: its end, or -1. */
static int64_t age_unit(const deid_text *t, int64_t j, bool labelled) {
    if (at(t, j) == ' ') j++;
    if (at(t, j) == U'岁') return j + 1 + (at(t, j + 1) == U'余' || at(t, j + 1) == U'半');
    if ((at(t, j) == U'周' || at(t, j) == U'余' || at(t, j) == U'多') && at(t, j + 1) == U'岁')
        return j + 2;
    if (labelled) {
        if ((at(t, j) == 'y' || at(t, j) == 'Y') && !is_alpha(at(t, j + 1))) return j + 1;
        return j;
    }
    return -1;
}

void deid_detect_age(const deid_config *cfg, const deid_text *t, deid_cands *out) {
    for (int64_t i = 0; i < t->n; i++) {
        const char32_t c = t->cp[i];
        if (c == U'九' && at(t, i + 1) == U'旬') {
            deid_cand_add(out, i, i + 2, DEID_AGE);
            i++;
            continue;
        }
        int64_t e = -1;
        int v = -1;
        if (deid_digit(c) >= 0) {
            if (deid_digit(at(t, i - 1)) >= 0 || at(t, i - 1) == '.') continue;
            v = 0;
            for (e = i; deid_digit(at(t, e)) >= 0 && e - i < 4; e++) v = v * 10 + deid_digit(t->cp[e]);
            if (deid_digit(at(t, e)) >= 0 || at(t, e) == '.') continue;
        } else if (cn_digit(c) >= 0 || c == U'十' || c == U'百') {
            if (cn_digit(at(t, i - 1)) >= 0 || at(t, i - 1) == U'十' || at(t, i - 1) == U'百') continue;
            v = cn_number(t, i, &e);
        } else {
            continue;
        }
        if (v < 90 || v > 150) continue;
        const bool labelled = after_label(t, i, &deid_age_labels);
        const int64_t u = age_unit(t, e, labelled);
        if (u < 0 || (u == e && deid_digit(c) < 0)) continue;
        if ((at(t, u) == U'以' || at(t, u) == U'及') && deid_in(U"上下内", at(t, u + 1 + (at(t, u) == U'及'))))
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
    return (deid_is_cjk(c) || deid_digit(c) >= 0 || is_alpha(c) || c == 0xB7) &&
           !deid_in(deid_org_stop_chars, c);
}

/* "（中国）" inside a name: from an opening parenthesis at k, the index after its closing one
 * (at most 8 characters inside), or -1. */
static int64_t paren_forward(const deid_text *t, int64_t k) {
    if (at(t, k) != '(' && at(t, k) != 0xFF08) return -1;
    for (int64_t q = k + 1; q < t->n && q - k <= 9; q++) {
        if (t->cp[q] == ')' || t->cp[q] == 0xFF09) return q > k + 1 ? q + 1 : -1;
        if (!org_char(t->cp[q])) return -1;
    }
    return -1;
}

/* The same backwards: b is just after a closing parenthesis; the index of its opening one. */
static int64_t paren_backward(const deid_text *t, int64_t b) {
    if (at(t, b - 1) != ')' && at(t, b - 1) != 0xFF09) return -1;
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
            if (org_char(t->cp[k])) k++;
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
        if (deid_in(U"做当任的在", at(t, a)) && !deid_word_at(&deid_org_after, t, a)) a++;
        if (!deid_word_at(&deid_org_after, t, a)) continue;
        int64_t b = i - l;
        for (int64_t p; b > 0 && i - b < 24;) {
            if (org_char(t->cp[b - 1])) b--;
            else if ((p = paren_backward(t, b)) >= 0 && p > 0 && org_char(t->cp[p - 1])) b = p;
            else break;
        }
        if (i - l - b < 2) continue;
        if (deid_word_before(&deid_org_cues, t, b) && l == 1) continue;
        deid_cand_add(out, b, i, DEID_ORG);
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
    return (deid_is_cjk(c) || deid_digit(c) >= 0 || is_alpha(c)) &&
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
        if (l) best = p + k2 + l;
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
        while (deid_digit(at(t, r)) >= 0 && r - q < 6) r++;
        if (r - q >= 2 && r - q <= 5 && !deid_is_cjk(at(t, r)) && deid_digit(at(t, r)) < 0 &&
            at(t, r) != '-' && at(t, r) != '.')
            q = r;
    }
    return q;
}

void deid_detect_address(const deid_config *cfg, const deid_text *t, deid_cands *out) {
    for (int64_t i = 0; i < t->n; i++) {
        int n_comp, n_place;
        const int64_t l = deid_word_at(&deid_addr_labels, t, i);
        if (l) {
            bool colon = false;
            int64_t j = skip_label_sep(t, i + l, &colon);
            if (deid_in(U"在于", at(t, j))) j++;
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
        if (n_comp >= 2 && n_place >= 1) {
            deid_cand_add(out, i, e, DEID_ADDRESS);
            i = e - 1;
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Names: a surname (compound first) and one or two given-name characters, taken when
 *   - a strong label stands before it (姓名：, 签名：, 联系人, any cue word with a colon), or
 *   - a weak cue stands before it (患者, 其子, 医生) and a name-follower comes after it, or
 *   - a title or relation follows (先生, 医生, 之子, "，男"); a bare common surname before a
 *     title counts too (张医生 -> 张), or
 *   - it is a pseudonym (李某, 张某某, 王XX), or one of the config's names, or the same string
 *     was taken elsewhere in the text.
 * Words like 高血压 or 平素 are refused (deid_name_stop_words, deid_non_name_chars).
 * ------------------------------------------------------------------------------------------- */

static bool given_char(char32_t c) { return deid_is_cjk(c) && !deid_in(deid_non_name_chars, c); }

static int64_t surname_at(const deid_text *t, int64_t i) {
    const int64_t l = deid_word_at(&deid_surnames2, t, i);
    if (l) return l;
    return deid_in(deid_surnames1, t->cp[i]) ? 1 : 0;
}

/* 某, 某某, X, XX, *, ** after a surname: the pseudonym's end, or -1. */
static int64_t pseudonym(const deid_text *t, int64_t i, int64_t sl) {
    int64_t e = i + sl;
    const char32_t c = at(t, e);
    if (c == U'某') {
        e += at(t, e + 1) == U'某' ? 2 : 1;
        if (deid_in(deid_mou_determined, at(t, e))) return -1;
        return e;
    }
    if (c == 'X' || c == 'x' || c == '*' || c == 0xFF0A || c == 0xD7) {
        while (at(t, e) == c && e - (i + sl) < 3) e++;
        return is_alpha(at(t, e)) ? -1 : e;
    }
    return -1;
}

static bool follower_ok(const deid_text *t, int64_t e) {
    const char32_t c = at(t, e);
    return c == 0 || !deid_is_cjk(c) || deid_in(deid_name_followers, c) ||
           deid_word_at(&deid_name_cues_after, t, e) > 0;
}

/* A bare surname before a title stands unless it ends a word ("提高医生", "处方医生"). */
static bool left_ok(const deid_text *t, int64_t i) {
    static const char32_t *const endings[] = {
        U"提高", U"升高", U"增高", U"较高", U"最高", U"偏高", U"过高", U"很高", U"身高", U"稍高",
        U"略高", U"处方", U"开方", U"对方", U"院方", U"各方", U"双方", U"医方", U"药方", U"配方",
        U"任何", U"如何", U"为何", U"几何", U"蛋白", U"明白", U"空白", U"苍白", U"坦白"};
    static const deid_words ends = {endings, sizeof endings / sizeof endings[0]};
    return deid_word_before(&ends, t, i + 1) == 0;
}

/* The end of a name starting at i, or -1. prev_name_end: where the last name ended ("、" lists). */
static int64_t name_at(const deid_text *t, int64_t i, int64_t prev_name_end) {
    const int64_t sl = surname_at(t, i);
    if (!sl) return -1;
    /* the cue before */
    bool colon = false;
    const int64_t lb = back_label_sep(t, i, &colon);
    int strength = 0; /* 0 none, 1 weak, 2 strong */
    if (deid_word_before(&deid_name_cues_strong, t, lb)) strength = 2;
    else if (deid_word_before(&deid_name_cues_weak, t, lb)) strength = colon ? 2 : 1;
    if (!strength && (at(t, i - 1) == ')' || at(t, i - 1) == 0xFF09)) { /* 家属（儿子）张伟 */
        for (int64_t q = i - 2; q >= 0 && q >= i - 10 && !strength; q--) {
            if (t->cp[q] != '(' && t->cp[q] != 0xFF08) continue;
            if (deid_word_before(&deid_name_cues_strong, t, q)) strength = 2;
            else if (deid_word_before(&deid_name_cues_weak, t, q)) strength = 1;
            break;
        }
    }
    bool listed = false; /* 张三、李四 */
    if (!strength && prev_name_end >= 0 && (prev_name_end == i - 1 || prev_name_end == i - 2) &&
        deid_in(U"、，, 和与及/", at(t, i - 1)))
        strength = 2, listed = true;
    if (strength == 1 && t->cp[i] == U'于') strength = 0; /* 患者于… */
    const int64_t ps = pseudonym(t, i, sl);
    if (ps > 0 && (deid_in(deid_surnames_strong, t->cp[i]) || sl == 2 || strength)) return ps;
    const bool stop = deid_word_at(&deid_name_stop_words, t, i) > sl;
    if (stop && listed) return -1;
    /* a title or relation after the name */
    for (int g = 2; g >= 0; g--) {
        const int64_t e = i + sl + g;
        bool ok = e <= t->n;
        for (int64_t k = i + sl; ok && k < e; k++) ok = given_char(t->cp[k]);
        if (!ok) continue;
        if (g == 0) {
            if (sl == 1 && !deid_in(deid_surnames_strong, t->cp[i])) continue;
            if (deid_word_at(&deid_name_titles, t, e) && left_ok(t, i) && !stop) return e;
            continue;
        }
        const int64_t a = deid_word_at(&deid_name_cues_after, t, e);
        if (!a || (stop && strength < 2)) continue;
        const bool sex_cue = t->cp[e] == U'，' || t->cp[e] == ',' || t->cp[e] == ' ' ||
                             t->cp[e] == U'（' || t->cp[e] == '(';
        if (sex_cue && !strength && deid_is_cjk(at(t, i - 1)) && !deid_in(U"：:", at(t, i - 1)))
            continue; /* "，男" only right after a line start or punctuation */
        return e;
    }
    if (!strength || (stop && strength < 2)) return -1;
    for (int g = 2; g >= 1; g--) {
        const int64_t e = i + sl + g;
        bool ok = e <= t->n;
        for (int64_t k = i + sl; ok && k < e; k++) ok = given_char(t->cp[k]);
        if (!ok) continue;
        if (strength == 2 || follower_ok(t, e)) return e;
    }
    return -1;
}

void deid_detect_name(const deid_config *cfg, const deid_text *t, deid_cands *out) {
    const size_t first = out->n;
    int64_t prev_end = -1;
    for (int64_t i = 0; i < t->n; i++) {
        if (!deid_is_cjk(t->cp[i])) continue;
        const int64_t e = name_at(t, i, prev_end);
        if (e > i) {
            deid_cand_add(out, i, e, DEID_NAME);
            prev_end = e;
            i = e - 1;
        }
    }
    /* the names found, and the config's, wherever else they occur */
    const size_t found = out->n;
    for (size_t k = first; k < found && !out->oom; k++) {
        const int64_t s = out->v[k].start, l = out->v[k].end - s;
        if (l < 2 || out->v[k].type != DEID_NAME || pseudonym(t, s, l - 1) > 0) continue;
        if (surname_at(t, s) >= l) continue; /* a surname alone (欧阳 of 欧阳医生) */
        for (int64_t i = 0; i + l <= t->n; i++)
            if (i != s && memcmp(t->cp + i, t->cp + s, (size_t)l * sizeof(char32_t)) == 0)
                deid_cand_add(out, i, i + l, DEID_NAME), i += l - 1;
    }
    for (size_t k = 0; k < t->extra_names.n; k++) {
        const char32_t *w = t->extra_names.w[k];
        if (!w[0]) continue;
        for (int64_t i = 0; i < t->n; i++) {
            const int64_t l = deid_str_at(w, t, i);
            if (l) deid_cand_add(out, i, i + l, DEID_NAME), i += l - 1;
        }
    }
}
