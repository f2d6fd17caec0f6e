/* deid_name.c: the name scanner of the de-identification (deid_detect_name), split from
 * deid_detect.c because names need most of the context rules.
 *
 * A name is a surname from the table (deid_tables.c) and one or two given-name characters, taken
 * only in a context that announces a person: a label or role word before it, a title or a relation
 * after it, a list of names, a table cell or column of its own. Where the context is weak the
 * given-name characters must be frequent ones (deid_given_common). Every candidate is checked
 * against stop words (高血压, 向家属) and characters never in names. Work is O(n x table size);
 * the scanners share the helpers of deid_detect.c (deid_internal.h). What is taken, with examples,
 * is in docs/deid.md.
 */
#include <string.h>

#include "privacy/deid_internal.h"

/* ---------------------------------------------------------------------------------------------
 * Names: a surname (compound first) and one or two given-name characters, taken when
 *   - a strong label stands before it (姓名：, 签名：, 联系人, any cue word with a colon), or
 *   - a weak cue stands before it (患者, 其子, 医生) and a name-follower comes after it, or
 *   - a title or relation follows (先生, 医生, 之子, "，男"); a bare common surname before a
 *     title counts too (张医生 -> 张), or
 *   - it is a pseudonym (李某, 张某某, 王XX), or one of the config's names, or the same string
 *     was taken elsewhere in the text, or
 *   - with no cue, it stands at a clause start before a verb of a person (张伟诉, ，王芳表示,
 *     与李强沟通: clause_name).
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
    const char32_t c = deid_at(t, e);
    if (c == U'某') {
        e += deid_at(t, e + 1) == U'某' ? 2 : 1;
        if (deid_in(deid_mou_determined, deid_at(t, e))) return -1;
        return e;
    }
    if (c == 'X' || c == 'x' || c == '*' || c == 0xFF0A || c == 0xD7) {
        while (deid_at(t, e) == c && e - (i + sl) < 3) e++;
        return deid_is_alpha(deid_at(t, e)) ? -1 : e;
    }
    return -1;
}

static bool follower_ok(const deid_text *t, int64_t e) {
    const char32_t c = deid_at(t, e);
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

/* Whether [s, e) are all given-name characters, and (common) all frequent in given names. */
static bool given_run(const deid_text *t, int64_t s, int64_t e, bool common) {
    if (e > t->n) return false;
    for (int64_t k = s; k < e; k++)
        if (!given_char(t->cp[k]) || (common && !deid_in(deid_given_common, t->cp[k]))) return false;
    return true;
}

/* g given-name characters after a surname of sl characters at i; with two, the second must not
 * start a word that follows names (周勇送入院 is 周勇). */
static bool given_ok(const deid_text *t, int64_t i, int64_t sl, int g, bool common) {
    if (!given_run(t, i + sl, i + sl + g, common)) return false;
    return g < 2 || !deid_word_at(&deid_name_after_words, t, i + sl + 1);
}

/* A name standing alone as a table cell or line: after a line start (spaces allowed), two
 * spaces, a tab or '|' ... */
static bool cell_start(const deid_text *t, int64_t i) {
    int64_t k = i;
    int gap = 0;
    while (k > 0 && deid_is_space(t->cp[k - 1])) gap += t->cp[k - 1] == ' ' ? 1 : 2, k--;
    const char32_t c = deid_at(t, k - 1);
    return k == 0 || c == '\n' || c == '\r' || c == '|' || c == 0xFF5C || gap >= 2;
}

/* ... and before whitespace, the end, '/' or '|'. */
static bool cell_end(const deid_text *t, int64_t e) {
    const char32_t c = deid_at(t, e);
    return c == 0 || c == '\n' || c == '\r' || deid_is_space(c) || c == '/' || c == 0xFF0F || c == '|' ||
           c == 0xFF5C;
}

/* A role or relation in parentheses at e: "（儿子）", "（护士）", "(男". */
static bool paren_role(const deid_text *t, int64_t e) {
    return (deid_at(t, e) == 0xFF08 || deid_at(t, e) == '(') && deid_word_at(&deid_name_paren_roles, t, e + 1);
}

/* A title after spaces at e ("胡明 主治医师", "王海燕  护士"). */
static bool spaced_title(const deid_text *t, int64_t e) {
    int64_t k = e;
    while (k - e < 4 && deid_is_space(deid_at(t, k))) k++;
    return k > e && deid_word_at(&deid_name_titles, t, k) > 0;
}

/* How strongly the text before i announces a name: 0 none, 1 weak (患者, 其子, 医生: a name may
 * follow), 2 strong (姓名：, 签名：, 联系人, a cue with a colon, "记录者：", "Name:"). */
static int cue_strength(const deid_text *t, int64_t i) {
    bool colon = false;
    const int64_t lb = deid_back_label_sep(t, i, &colon);
    if (deid_word_before(&deid_name_cues_strong, t, lb)) return 2;
    if (deid_word_before(&deid_name_cues_weak, t, lb)) return colon ? 2 : 1;
    if (colon && deid_is_cjk(deid_at(t, lb - 1)) && deid_in(U"者人师生士员长班交接", deid_at(t, lb - 1)))
        return 2; /* 麻醉者：, 编码员：, 护士长：, 白班：, 交： */
    if (!colon && lb < i && deid_digit(deid_at(t, lb - 2)) >= 0 && deid_at(t, lb - 1) == U'床')
        return 1; /* 3床 曹桂芳 */
    if (!colon && lb < i && deid_in(U"科室组", deid_at(t, lb - 1)))
        return 1; /* 麻醉科 夏明 */
    if (deid_word_before_spaced(&deid_name_cues_strong, t, lb)) return 2; /* 姓    名： */
    const char32_t b = deid_at(t, lb - 1), o = deid_at(t, i - 1);
    if (colon && (b == ')' || b == 0xFF09)) { /* 委托人（患者）： */
        for (int64_t q = lb - 2; q >= 0 && q >= lb - 10; q--) {
            if (t->cp[q] != '(' && t->cp[q] != 0xFF08) continue;
            if (deid_word_before(&deid_name_cues_strong, t, q) ||
                deid_word_before(&deid_name_cues_weak, t, q))
                return 2;
            break;
        }
    }
    if (o == ')' || o == 0xFF09) { /* 家属（儿子）张伟 */
        for (int64_t q = i - 2; q >= 0 && q >= i - 10; q--) {
            if (t->cp[q] != '(' && t->cp[q] != 0xFF08) continue;
            if (deid_word_before(&deid_name_cues_strong, t, q)) return 2;
            if (deid_word_before(&deid_name_cues_weak, t, q)) return 1;
            break;
        }
    }
    if ((o == '(' || o == 0xFF08) && (deid_word_before(&deid_name_cues_strong, t, i - 1) ||
                                      deid_word_before(&deid_name_cues_weak, t, i - 1)))
        return 2; /* 值班医师（孙晓东） */
    return 0;
}

/* Whether i continues a list of names ending at prev_name_end: "张明、李华", "郦雪 戚文",
 * "仲夏 / 景红". *spaced: only spaces stand between. */
static bool continues_list(const deid_text *t, int64_t i, int64_t prev_name_end, bool *spaced) {
    if (prev_name_end < 0 || prev_name_end >= i) return false;
    int64_t q = i;
    while (q > prev_name_end && i - q < 4 && deid_is_space(deid_at(t, q - 1))) q--;
    *spaced = true;
    if (q > prev_name_end && deid_in(U"、，,和与及/／", deid_at(t, q - 1))) {
        q--, *spaced = false;
        while (q > prev_name_end && i - q < 8 && deid_is_space(deid_at(t, q - 1))) q--;
    }
    return q == prev_name_end;
}

/* A name without a known surname after a strong label ("姓名：阿依古丽·买买提", "检验：支文慧"):
 * 2 or 3 characters (up to 12 with a middle dot) standing alone; its end, or -1. */
static int64_t unknown_surname_name(const deid_text *t, int64_t i) {
    if (!given_char(t->cp[i])) return -1;
    int64_t e = i;
    bool dot = false;
    while (e < t->n && e - i < 12 &&
           (deid_is_cjk(t->cp[e]) || (e > i && (t->cp[e] == 0xB7 || t->cp[e] == 0x30FB || t->cp[e] == 0x2022))))
        dot |= !deid_is_cjk(t->cp[e]), e++;
    if (!(cell_end(t, e) || deid_in(U"，,。；;（(、", deid_at(t, e)))) return -1;
    if (dot) return e - i >= 4 && deid_is_cjk(t->cp[e - 1]) ? e : -1;
    if (e - i < 2 || e - i > 3 || !given_run(t, i + 1, e, true)) return -1;
    if (deid_word_at(&deid_name_stop_words, t, i)) return -1;
    return e;
}

/* A table cell under a name header: 2 to 4 characters of a name (up to 12 with a middle dot). */
static bool name_cell(const deid_text *t, int64_t s, int64_t e) {
    const int64_t sl = surname_at(t, s);
    if (sl && e - s >= sl + 1 && e - s <= sl + 2 && given_run(t, s + sl, e, false))
        return !deid_word_at(&deid_name_stop_words, t, s);
    return unknown_surname_name(t, s) == e;
}

/* A name with no cue at a clause start: after punctuation, a line start, 后 or a joining word
 * (由 经 请 与 和 及 向), followed by a verb a note uses of a person ("张伟诉…", "，王芳表示同意",
 * "与李强沟通", "梅胜于3小时前"). Two-character names need a common surname and a common
 * given-name character; a surname that is also a frequent word (于 任 常) needs two common ones.
 * Its end, or -1. */
static int64_t clause_name(const deid_text *t, int64_t i, int64_t sl, bool strong_surname) {
    const char32_t p = deid_at(t, i - 1);
    if (!(i == 0 || deid_in(U"\n\r，,。；;：:！!？?、 \t\u3000后由经请与和及向", p))) return -1;
    if (t->cp[i] == U'于' || deid_word_at(&deid_name_stop_words, t, i) > sl) return -1;
    for (int g = 2; g >= 1; g--) {
        const int64_t e = i + sl + g;
        const bool common = sl == 1 && (g == 1 || !strong_surname);
        if (sl == 1 && g == 1 && !strong_surname) continue;
        if (!given_ok(t, i, sl, g, common)) continue;
        if (g == 2 && deid_word_at(&deid_name_stop_words, t, i + sl + 1)) continue;
        if (deid_word_at(&deid_name_clause_verbs, t, e) ||
            (t->cp[e] == U'于' && (deid_digit(deid_at(t, e + 1)) >= 0 || deid_in(U"今昨近当本次前", deid_at(t, e + 1)))))
            return e;
    }
    return -1;
}

/* The end of a name starting at i, or -1. prev_name_end: where the last name ended (lists). */
static int64_t name_at(const deid_text *t, int64_t i, int64_t prev_name_end) {
    /* the surname character must not end a role word (医师刘主任: not 师刘) */
    if (deid_word_before(&deid_name_titles, t, i + 1) > 1 || deid_word_before(&deid_name_cues_weak, t, i + 1) > 1)
        return -1;
    int strength = cue_strength(t, i);
    const int64_t sl = surname_at(t, i);
    if (!sl) return strength == 2 ? unknown_surname_name(t, i) : -1;
    bool listed = false, spaced_list = false; /* 张三、李四 */
    if (!strength && continues_list(t, i, prev_name_end, &spaced_list)) strength = 2, listed = true;
    if (strength == 1 && t->cp[i] == U'于') strength = 0; /* 患者于… */
    const bool strong_surname = sl == 2 || deid_in(deid_surnames_strong, t->cp[i]);
    const int64_t ps = pseudonym(t, i, sl);
    if (ps > 0 && (strong_surname || strength)) return ps;
    const bool stop = deid_word_at(&deid_name_stop_words, t, i) > sl;
    if (stop && listed) return -1;
    /* a title or relation after the name */
    for (int g = 2; g >= 0; g--) {
        const int64_t e = i + sl + g;
        if (!given_ok(t, i, sl, g, false)) continue;
        if (g == 0) {
            if (sl == 1 && !strong_surname) continue;
            if (deid_word_at(&deid_name_titles, t, e) && left_ok(t, i) && !stop) return e;
            if (strength == 2 && !listed && !stop && cell_end(t, e) && !deid_is_cjk(deid_at(t, i - 1)))
                return e; /* "医生：卢  护士：陈" */
            continue;
        }
        if (!stop && (paren_role(t, e) || (spaced_title(t, e) && (strength || !deid_is_cjk(deid_at(t, i - 1))))))
            return e; /* 张伟（儿子）, 胡明 主治医师 */
        const int64_t a = deid_word_at(&deid_name_cues_after, t, e);
        if (!a || (stop && strength < 2)) continue;
        const bool sex_cue = t->cp[e] == U'，' || t->cp[e] == ',' || t->cp[e] == ' ' ||
                             t->cp[e] == U'（' || t->cp[e] == '(';
        if (sex_cue && !strength && deid_is_cjk(deid_at(t, i - 1)) && !deid_in(U"：:", deid_at(t, i - 1)))
            continue; /* "，男" only right after a line start or punctuation */
        return e;
    }
    if (stop && strength < 2) return -1;
    if (!strength) {
        const int64_t c = clause_name(t, i, sl, strong_surname);
        if (c > 0) return c;
        /* a name alone in a table cell or on its own line, of frequent given-name characters */
        if (!cell_start(t, i)) return -1;
        for (int g = 2; g >= 1; g--) /* two characters need a common surname, three any */
            if ((strong_surname || sl + g >= 3) && given_ok(t, i, sl, g, true) &&
                cell_end(t, i + sl + g))
                return i + sl + g;
        return -1;
    }
    for (int g = 2; g >= 1; g--) {
        const int64_t e = i + sl + g;
        if (!given_ok(t, i, sl, g, false)) continue;
        if (listed && spaced_list && !given_ok(t, i, sl, g, true)) continue;
        if (strength == 2 || follower_ok(t, e)) return e;
    }
    /* a weak cue and no follower: frequent given-name characters still make a name (其妻宁桂芝发现) */
    for (int g = 2; g >= 1 && strong_surname; g--) {
        const int64_t e = i + sl + g;
        if (given_ok(t, i, sl, g, true) && !given_char(deid_at(t, e))) return e;
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
    /* a list whose last name was found: "肖鹏、邵琳医师" gives 肖鹏 too */
    for (size_t k = first, n = out->n; k < n && !out->oom; k++) {
        int64_t s = out->v[k].start;
        while (deid_at(t, s - 1) == U'、') {
            int64_t b = -1;
            for (int64_t l = 3; l >= 2 && b < 0; l--) {
                const int64_t q = s - 1 - l, sl = q >= 0 ? surname_at(t, q) : 0;
                if (sl && sl < l && (sl == 2 || deid_in(deid_surnames_strong, t->cp[q])) &&
                    given_run(t, q + sl, s - 1, true) && !deid_word_at(&deid_name_stop_words, t, q) &&
                    (!deid_is_cjk(deid_at(t, q - 1)) || cue_strength(t, q) > 0 || deid_at(t, q - 1) == U'经'))
                    b = q;
            }
            if (b < 0) break;
            deid_cand_add(out, b, s - 1, DEID_NAME);
            s = b;
        }
    }
    deid_table_columns(t, &deid_name_table_labels, name_cell, DEID_NAME, out);
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
