/* chat.c: the built-in chat templates: choosing one for a model and rendering a conversation as
 * text spans (see ward.h, "Chat templates").
 *
 * One row of templates[] per template: name, the substrings that identify it in a GGUF
 * tokenizer.chat_template (all must occur, as in llama.cpp's llm_chat_detect_template), the
 * architectures that default to it, and its renderer. Turn formats are data (turn_format:
 * text before the first message, a marker opening each role, one closing each message, the
 * generation prompt, a default system message, trimming, skipping empty messages) rendered by
 * render_turns(); Llama 2 folds the system message into the first user turn, so it has its own
 * function. Each format follows the model's published template with bos_token as text, so
 * callers tokenize without WARD_TOKENIZE_ADD_BOS. Markers are spans with allow_special;
 * contents (and default system messages) are spans without.
 * Memory: ward_chat_render() renders twice, first counting spans and bytes, then writing one
 * block: the span array followed by a copy of all text. Trimming (Python's str.strip, which
 * jinja's trim is) only shortens spans, so the counts are upper bounds.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "models/model.h"

enum { ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT, ROLE_COUNT };

static const char *const role_names[ROLE_COUNT] = {"system", "user", "assistant"};

static int role_of(const char *role) {
    for (int i = 0; i < ROLE_COUNT; i++)
        if (strcmp(role, role_names[i]) == 0) return i;
    return -1;
}

/* ---------------------------------------------------------------------------------------------
 * Renderer: appends spans, or only counts them
 * ------------------------------------------------------------------------------------------- */

typedef struct renderer {
    ward_text_span *spans; /* (n_spans) NULL while counting */
    char *text;            /* the block's text area; NULL while counting */
    size_t n_spans;
    size_t n_bytes;        /* text bytes emitted so far */
    bool overflow;         /* n_bytes would not fit a size_t */
} renderer;

static void emit(renderer *r, const char *s, size_t len, bool allow_special) {
    if (len == 0) return;
    if (r->spans) {
        memcpy(r->text + r->n_bytes, s, len);
        r->spans[r->n_spans] = (ward_text_span){r->text + r->n_bytes, len, allow_special};
    }
    if (len >= SIZE_MAX - r->n_bytes) r->overflow = true; /* n_bytes stays < SIZE_MAX */
    else r->n_bytes += len;
    r->n_spans++;
}

/* Template text: may hold control-token text. */
static void mark(renderer *r, const char *s) { emit(r, s, strlen(s), true); }
/* Message text: never parsed for control tokens. */
static void content(renderer *r, const char *s) { emit(r, s, strlen(s), false); }

/* Python's str.isspace() (str.strip() and jinja's trim remove these). */
static bool is_py_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Length of the UTF-8 character of at most 3 bytes (every space is one) at s[0..len) that is
 * a space, else 0. Invalid or longer sequences are not spaces. */
static size_t space_at(const unsigned char *s, size_t len) {
    uint32_t c;
    size_t n;
    if (s[0] < 0x80) c = s[0], n = 1;
    else if ((s[0] & 0xE0) == 0xC0) c = s[0] & 0x1Fu, n = 2;
    else if ((s[0] & 0xF0) == 0xE0) c = s[0] & 0x0Fu, n = 3;
    else return 0;
    if (n > len) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = c << 6 | (s[i] & 0x3Fu);
    }
    return is_py_space(c) ? n : 0;
}

/* Length of the space character ending s[0..len), else 0. */
static size_t space_before(const unsigned char *s, size_t len) {
    for (size_t n = 1; n <= 3 && n <= len; n++)
        if ((s[len - n] & 0xC0) != 0x80) return space_at(s + len - n, n) == n ? n : 0;
    return 0;
}

/* Strip leading and trailing spaces from the text of spans [first, n_spans), as if they were
 * one string, and drop spans left empty. No-op while counting. */
static void trim_spans(renderer *r, size_t first) {
    if (!r->spans) return;
    for (size_t i = first; i < r->n_spans; i++) {
        ward_text_span *sp = &r->spans[i];
        size_t k;
        while (sp->len && (k = space_at((const unsigned char *)sp->text, sp->len)))
            sp->text += k, sp->len -= k;
        if (sp->len) break;
    }
    for (size_t i = r->n_spans; i-- > first;) {
        ward_text_span *sp = &r->spans[i];
        size_t k;
        while (sp->len && (k = space_before((const unsigned char *)sp->text, sp->len)))
            sp->len -= k;
        if (sp->len) break;
    }
    size_t kept = first;
    for (size_t i = first; i < r->n_spans; i++)
        if (r->spans[i].len) r->spans[kept++] = r->spans[i];
    r->n_spans = kept;
}

/* ---------------------------------------------------------------------------------------------
 * Formats
 * ------------------------------------------------------------------------------------------- */

/* A turn format: [first] [default system turn] { open[role] content close } [gen] */
typedef struct turn_format {
    const char *first;          /* before the first message; NULL = nothing */
    bool first_always;          /* emit first even when there are no messages */
    const char *open[ROLE_COUNT];
    const char *close;          /* after every message */
    const char *gen;            /* the opening of the assistant's reply */
    const char *default_system; /* a system turn with this content when messages[0] is not
                                 * a system message; NULL = none */
    bool trim;                  /* contents are stripped of surrounding spaces */
    bool skip_empty;            /* messages with empty content are left out */
} turn_format;

typedef ward_status (*render_fn)(renderer *r, const void *fmt, const ward_chat_message *msgs,
                                 size_t n, bool add_assistant);

static void turn(renderer *r, const turn_format *f, int role, const char *text) {
    mark(r, f->open[role]);
    const size_t at = r->n_spans;
    content(r, text);
    if (f->trim) trim_spans(r, at);
    mark(r, f->close);
}

static ward_status render_turns(renderer *r, const void *fmt, const ward_chat_message *msgs,
                                size_t n, bool add_assistant) {
    const turn_format *f = fmt;
    if (f->first && (n > 0 || f->first_always)) mark(r, f->first);
    if (f->default_system && (n == 0 || role_of(msgs[0].role) != ROLE_SYSTEM))
        turn(r, f, ROLE_SYSTEM, f->default_system);
    for (size_t i = 0; i < n; i++)
        if (!f->skip_empty || msgs[i].content[0])
            turn(r, f, role_of(msgs[i].role), msgs[i].content);
    if (add_assistant) mark(r, f->gen);
    return WARD_OK;
}

/* meta-llama/Llama-2-7b-chat-hf: an optional leading system message goes inside the first user
 * turn as "<<SYS>>\n...\n<</SYS>>\n\n"; then user and assistant alternate, each stripped:
 * "<s>[INST] " + user + " [/INST]", " " + assistant + " </s>". There is no generation prompt
 * (the reply follows " [/INST]"). Where the template would raise (roles not alternating) or
 * silently drop a later system message, this returns WARD_EINVAL. */
static ward_status render_llama2(renderer *r, const void *f, const ward_chat_message *msgs,
                                 size_t n, bool add_assistant) {
    (void)f;
    (void)add_assistant;
    const char *sys = NULL;
    if (n > 0 && role_of(msgs[0].role) == ROLE_SYSTEM) sys = msgs[0].content, msgs++, n--;
    for (size_t i = 0; i < n; i++) {
        const int role = role_of(msgs[i].role);
        if (role != (i % 2 == 0 ? ROLE_USER : ROLE_ASSISTANT))
            return WARD_FAIL(NULL, WARD_EINVAL, "llama2: roles must alternate user/assistant");
        mark(r, role == ROLE_USER ? "<s>[INST] " : " ");
        const size_t at = r->n_spans;
        if (i == 0 && sys) {
            mark(r, "<<SYS>>\n");
            content(r, sys);
            mark(r, "\n<</SYS>>\n\n");
        }
        content(r, msgs[i].content);
        trim_spans(r, at);
        mark(r, role == ROLE_USER ? " [/INST]" : " </s>");
    }
    return WARD_OK;
}

/* Round-numbered formats whose models ship no jinja, only Python that builds the prompt from
 * (query, response) pairs: system messages have no place in them and are left out (as
 * chatglm.cpp does), user and assistant must alternate starting with the user (else
 * WARD_EINVAL, as for llama2). Each round: round_open (with the round number for "%d"), the
 * query, user_close, and, when the round has one, the response and asst_close. */
typedef struct round_format {
    const char *prefix;      /* before the first round (the tokenizer's prefix tokens), or NULL */
    const char *round_open;  /* "%d" = the round number, first_round for the first */
    int first_round;
    const char *user_close;
    const char *asst_close;
    const char *gen_suffix;  /* after everything when add_assistant, or NULL */
    bool lone_query_plain;   /* a lone user message renders as its content alone */
} round_format;

static ward_status render_rounds(renderer *r, const void *fmt, const ward_chat_message *msgs,
                                 size_t n, bool add_assistant) {
    const round_format *f = fmt;
    size_t n_turns = 0;
    for (size_t i = 0; i < n; i++) {
        const int role = role_of(msgs[i].role);
        if (role == ROLE_SYSTEM) continue;
        if (role != (n_turns % 2 == 0 ? ROLE_USER : ROLE_ASSISTANT))
            return WARD_FAIL(NULL, WARD_EINVAL, "roles must alternate user/assistant");
        n_turns++;
    }
    if (n_turns > 0 && f->prefix) mark(r, f->prefix);
    size_t turn_no = 0;
    for (size_t i = 0; i < n; i++) {
        const int role = role_of(msgs[i].role);
        if (role == ROLE_SYSTEM) continue;
        if (f->lone_query_plain && n_turns == 1) {
            content(r, msgs[i].content);
        } else if (role == ROLE_USER) {
            char open[64];
            snprintf(open, sizeof open, f->round_open, (int)(turn_no / 2) + f->first_round);
            mark(r, open);
            content(r, msgs[i].content);
            mark(r, f->user_close);
        } else {
            content(r, msgs[i].content);
            mark(r, f->asst_close);
        }
        turn_no++;
    }
    if (add_assistant && f->gen_suffix) mark(r, f->gen_suffix);
    return WARD_OK;
}

/* THUDM/chatglm-6b, modeling_chatglm.py chat(): one query alone is the prompt as is; otherwise
 * "[Round {i}]\n问：{query}\n答：{response}\n" per past round, counting from 0, then
 * "[Round {n}]\n问：{query}\n答：". The tokenizer (build_inputs_with_special_tokens) appends
 * [gMASK] <sop> at the END of the prompt, not the start: ward renders them as the generation
 * prompt (a control span after the last "答："), so the ids equal the reference's. */
static const round_format fmt_chatglm = {
    .round_open = "[Round %d]\n问：",
    .user_close = "\n答：",
    .asst_close = "\n",
    .gen_suffix = "[gMASK]<sop>",
    .lone_query_plain = true,
};

/* THUDM/chatglm2-6b, modeling_chatglm.py build_prompt(): rounds counted from 1,
 * "[Round {i}]\n\n问：{query}\n\n答：{response}\n\n"; the tokenizer puts the prefix tokens
 * [gMASK] sop first. */
static const round_format fmt_chatglm2 = {
    .prefix = "[gMASK]sop",
    .round_open = "[Round %d]\n\n问：",
    .first_round = 1,
    .user_close = "\n\n答：",
    .asst_close = "\n\n",
};

/* internlm/internlm-chat-7b, modeling_internlm.py build_inputs() (v1.1):
 * "<s><|User|>:{query}<eoh>\n<|Bot|>:{response}<eoa>\n" per past round, then
 * "<s><|User|>:{query}<eoh>\n<|Bot|>:" (a lone query gets the one "<s>" too). */
static const round_format fmt_internlm = {
    .round_open = "<s><|User|>:",
    .user_close = "<eoh>\n<|Bot|>:",
    .asst_close = "<eoa>\n",
};

/* Qwen/Qwen2.5-7B-Instruct's tokenizer_config.json chat_template (without tools). */
static const turn_format fmt_chatml = {
    .open = {"<|im_start|>system\n", "<|im_start|>user\n", "<|im_start|>assistant\n"},
    .close = "<|im_end|>\n",
    .gen = "<|im_start|>assistant\n",
    .default_system = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
};

/* meta-llama/Meta-Llama-3-8B-Instruct: bos_token before the first message, contents | trim. */
static const turn_format fmt_llama3 = {
    .first = "<|begin_of_text|>",
    .open = {"<|start_header_id|>system<|end_header_id|>\n\n",
             "<|start_header_id|>user<|end_header_id|>\n\n",
             "<|start_header_id|>assistant<|end_header_id|>\n\n"},
    .close = "<|eot_id|>",
    .gen = "<|start_header_id|>assistant<|end_header_id|>\n\n",
    .trim = true,
};

/* THUDM/chatglm3-6b: "[gMASK]sop" before the first message, "<|role|>\n " + content. */
static const turn_format fmt_chatglm3 = {
    .first = "[gMASK]sop",
    .open = {"<|system|>\n ", "<|user|>\n ", "<|assistant|>\n "},
    .close = "",
    .gen = "<|assistant|>",
};

/* THUDM/glm-4-9b-chat (without tools): "[gMASK]<sop>" always, then "<|role|>" + metadata
 * (undefined: empty) + "\n" + content for messages whose content is not empty. */
static const turn_format fmt_glm4 = {
    .first = "[gMASK]<sop>",
    .first_always = true,
    .open = {"<|system|>\n", "<|user|>\n", "<|assistant|>\n"},
    .close = "",
    .gen = "<|assistant|>",
    .skip_empty = true,
};

/* baichuan-inc/Baichuan2-7B-Chat, generation_utils.build_chat_input (it ships no jinja): the
 * system text as is, then user_token_id (195, "<reserved_106>") or assistant_token_id (196,
 * "<reserved_107>") before each content, and assistant_token_id to open the reply. The
 * reference only allows the system message first; here one anywhere is rendered as is. */
static const turn_format fmt_baichuan2 = {
    .open = {"", "<reserved_106>", "<reserved_107>"},
    .close = "",
    .gen = "<reserved_107>",
};

struct ward_chat_template {
    const char *name;
    const char *detect[2]; /* substrings that all occur in such a tokenizer.chat_template */
    const char *archs[2];  /* general.architecture values that default to this template */
    const char *vocab_has; /* the arch default needs this token text in the vocabulary, or NULL */
    render_fn render;
    const void *fmt;
};

/* In detection order, as llama.cpp tests them (llm_chat_detect_template at c392e50: "[gMASK]sop"
 * is ChatGLM3's, "[gMASK]<sop>" GLM-4's). Arch defaults: rows with vocab_has first. llama.cpp's
 * "chatglm" architecture holds ChatGLM2/3 and GLM-4: a GLM-4 vocabulary has <|begin_of_image|>.
 * No GGUF template text names ChatGLM-6B, ChatGLM2 or InternLM (none ships jinja): by name
 * only, or InternLM by architecture. */
static const ward_chat_template templates[] = {
    {"chatml", {"<|im_start|>"}, {"qwen", "qwen2"}, NULL, render_turns, &fmt_chatml},
    {"llama2", {"[INST]"}, {"llama"}, NULL, render_llama2, NULL},
    {"llama3", {"<|start_header_id|>", "<|end_header_id|>"}, {NULL}, NULL, render_turns,
     &fmt_llama3},
    {"chatglm3", {"[gMASK]sop"}, {"chatglm"}, NULL, render_turns, &fmt_chatglm3},
    {"glm4", {"[gMASK]<sop>"}, {"chatglm"}, "<|begin_of_image|>", render_turns, &fmt_glm4},
    {"baichuan2", {"<reserved_106>"}, {"baichuan"}, NULL, render_turns, &fmt_baichuan2},
    {"chatglm", {NULL}, {NULL}, NULL, render_rounds, &fmt_chatglm},
    {"chatglm2", {NULL}, {NULL}, NULL, render_rounds, &fmt_chatglm2},
    {"internlm", {"<|User|>", "<eoh>"}, {"internlm"}, NULL, render_rounds, &fmt_internlm},
};
#define N_TEMPLATES (sizeof templates / sizeof templates[0])

static const char *const template_names[] = {"chatml", "llama2", "llama3", "chatglm3", "glm4",
                                             "baichuan2", "chatglm", "chatglm2", "internlm",
                                             NULL};
_Static_assert(sizeof template_names / sizeof template_names[0] == N_TEMPLATES + 1,
               "one name per template row, in row order");

/* ---------------------------------------------------------------------------------------------
 * Choosing a template
 * ------------------------------------------------------------------------------------------- */

const char *const *ward_chat_template_names(void) { return template_names; }

const char *ward_chat_template_name(const ward_chat_template *t) { return t->name; }

static bool contains(gguf_str hay, const char *needle) {
    return memmem(hay.ptr, (size_t)hay.len, needle, strlen(needle)) != NULL;
}

static bool detects(const ward_chat_template *t, gguf_str text) {
    if (!t->detect[0]) return false; /* chosen by name only */
    for (size_t i = 0; i < sizeof t->detect / sizeof t->detect[0]; i++)
        if (t->detect[i] && !contains(text, t->detect[i])) return false;
    return true;
}

/* Does t default for arch, given the model's vocabulary (NULL: none known)? */
static bool defaults_for(const ward_chat_template *t, const char *arch, const tok_vocab *v) {
    if (t->vocab_has && !(v && tok_find(v, t->vocab_has, strlen(t->vocab_has)) >= 0))
        return false;
    for (size_t i = 0; i < sizeof t->archs / sizeof t->archs[0]; i++)
        if (t->archs[i] && strcmp(t->archs[i], arch) == 0) return true;
    return false;
}

/* "chatml, llama2, ..." */
static const char *name_list(char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < N_TEMPLATES && n < cap; i++) {
        int w = snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", templates[i].name);
        if (w < 0) break;
        n += (size_t)w;
    }
    return buf;
}

ward_status ward_chat_template_for_model(const ward_model *model, const char *name,
                                         const ward_chat_template **out, ward_error *err) {
    assert(model && out);
    char names[256];
    *out = NULL;
    ward_error_clear(err);
    if (name) {
        for (size_t i = 0; i < N_TEMPLATES; i++)
            if (strcmp(templates[i].name, name) == 0) return *out = &templates[i], WARD_OK;
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "unknown chat template '%s' (built in: %s)",
                         name, name_list(names, sizeof names));
    }
    gguf_str text = {NULL, 0};
    if (model->gguf) {
        ward_status st = gguf_get_str(model->gguf, "tokenizer.chat_template", false, &text, err);
        if (st) return st;
    }
    if (text.ptr) {
        for (size_t i = 0; i < N_TEMPLATES; i++)
            if (detects(&templates[i], text)) return *out = &templates[i], WARD_OK;
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "the model's chat template (tokenizer."
                         "chat_template) is none ward knows; choose one of: %s",
                         name_list(names, sizeof names));
    }
    for (int pass = 0; pass < 2; pass++) /* rows that need a vocabulary token first */
        for (size_t i = 0; i < N_TEMPLATES; i++)
            if ((templates[i].vocab_has != NULL) == (pass == 0) &&
                defaults_for(&templates[i], model->arch_name, model->vocab))
                return *out = &templates[i], WARD_OK;
    return WARD_FAIL(err, WARD_EUNSUPPORTED, "the model has no chat template and architecture "
                     "'%s' has no default; choose one of: %s", model->arch_name,
                     name_list(names, sizeof names));
}

/* ---------------------------------------------------------------------------------------------
 * Rendering
 * ------------------------------------------------------------------------------------------- */

ward_status ward_chat_render(const ward_chat_template *t, const ward_chat_message *msgs,
                             size_t n_msgs, bool add_assistant, ward_text_span **spans,
                             size_t *n_spans) {
    assert(t && spans && n_spans && (msgs || n_msgs == 0));
    *spans = NULL;
    *n_spans = 0;
    for (size_t i = 0; i < n_msgs; i++)
        if (!msgs[i].role || !msgs[i].content || role_of(msgs[i].role) < 0)
            return WARD_FAIL(NULL, WARD_EINVAL, "message %zu: role must be system, user or "
                             "assistant, and content set", i);
    renderer count = {0};
    ward_status st = t->render(&count, t->fmt, msgs, n_msgs, add_assistant);
    if (st) return st;
    if (count.overflow || count.n_spans > (SIZE_MAX - count.n_bytes - 1) / sizeof **spans)
        return WARD_FAIL(NULL, WARD_ENOMEM, "conversation too large");
    const size_t head = count.n_spans * sizeof **spans;
    char *block = ward_malloc(head + count.n_bytes + 1); /* + 1: never a 0-byte request */
    if (!block) return WARD_FAIL(NULL, WARD_ENOMEM, "out of memory rendering a conversation");
    renderer w = {.spans = (ward_text_span *)(void *)block, .text = block + head};
    st = t->render(&w, t->fmt, msgs, n_msgs, add_assistant);
    assert(st == WARD_OK && w.n_spans <= count.n_spans && w.n_bytes == count.n_bytes);
    *spans = w.spans;
    *n_spans = w.n_spans;
    return WARD_OK;
}

void ward_chat_spans_free(ward_text_span *spans) { ward_free(spans); }
