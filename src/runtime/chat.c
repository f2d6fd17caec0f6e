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

#include <cjson/cJSON.h>

#include "base/error.h"
#include "models/model.h"
#include "runtime/pyjson.h"

/* ROLE_TOOL (a tool's result) only reaches templates with tool syntax, whose renderers handle
 * it; turn formats have markers for the first three. */
enum { ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT, ROLE_COUNT, ROLE_TOOL = ROLE_COUNT };

static const char *const role_names[ROLE_COUNT + 1] = {"system", "user", "assistant", "tool"};

static int role_of(const char *role) {
    for (int i = 0; i <= ROLE_TOOL; i++)
        if (strcmp(role, role_names[i]) == 0) return i;
    return -1;
}

/* A message's content; NULL (an assistant's tool calls without text) reads as empty. */
static const char *text_of(const ward_chat_message *m) { return m->content ? m->content : ""; }

/* ---------------------------------------------------------------------------------------------
 * Renderer: appends spans, or only counts them
 * ------------------------------------------------------------------------------------------- */

typedef struct renderer {
    ward_text_span *spans; /* (n_spans) NULL while counting */
    char *text;            /* the block's text area; NULL while counting */
    size_t n_spans;
    size_t n_bytes;        /* text bytes emitted so far */
    bool overflow;         /* n_bytes would not fit a size_t */
    bool oom;              /* a JSON text could not be written */
    const cJSON *tools;    /* the tools array, or NULL */
    ward_error *err;       /* where a renderer's refusal goes (may be NULL) */
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

/* A JSON value as the template's tojson writes it (pyjson.h), as message text. */
static void content_json(renderer *r, const cJSON *v, int indent) {
    char *s = pyjson_dump(v, indent);
    if (!s) r->oom = true;
    else content(r, s);
    ward_free(s);
}

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
            return WARD_FAIL(r->err, WARD_EINVAL, "llama2: roles must alternate user/assistant");
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
            return WARD_FAIL(r->err, WARD_EINVAL, "roles must alternate user/assistant");
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

/* Qwen/Qwen2.5-7B-Instruct's tokenizer_config.json chat_template. */
static const turn_format fmt_chatml = {
    .open = {"<|im_start|>system\n", "<|im_start|>user\n", "<|im_start|>assistant\n"},
    .close = "<|im_end|>\n",
    .gen = "<|im_start|>assistant\n",
    .default_system = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
};

static const ward_chat_tool_syntax chatml_tools = {
    .open = "<tool_call>\n{\"name\": \"",
    .name_close = "\", \"arguments\": ",
    .close = "}\n</tool_call>",
    .sep = "\n",
};

/* The system turn, with the tool signatures after its text when there are tools. */
static void chatml_system(renderer *r, const turn_format *f, const char *text) {
    if (!r->tools) return turn(r, f, ROLE_SYSTEM, text);
    mark(r, f->open[ROLE_SYSTEM]);
    content(r, text);
    mark(r, "\n\n# Tools\n\nYou may call one or more functions to assist with the user query."
            "\n\nYou are provided with function signatures within <tools></tools> XML tags:"
            "\n<tools>");
    for (const cJSON *tool = r->tools->child; tool; tool = tool->next) {
        mark(r, "\n");
        content_json(r, tool, -1);
    }
    mark(r, "\n</tools>\n\nFor each function call, return a json object with function name and "
            "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": "
            "<function-name>, \"arguments\": <args-json-object>}\n</tool_call>");
    mark(r, f->close);
}

/* An assistant turn with tool calls: "<|im_start|>assistant", "\n" + text if any, then each
 * call as "\n" + open + name + name_close + arguments (tojson of the parsed object) + close. */
static void chatml_calls(renderer *r, const turn_format *f, const ward_chat_message *m) {
    mark(r, "<|im_start|>assistant");
    if (text_of(m)[0]) {
        mark(r, "\n");
        content(r, m->content);
    }
    for (size_t k = 0; k < m->n_tool_calls; k++) {
        cJSON *args = cJSON_Parse(m->tool_calls[k].arguments); /* checked before rendering */
        mark(r, "\n");
        mark(r, chatml_tools.open);
        content(r, m->tool_calls[k].name);
        mark(r, chatml_tools.name_close);
        if (args) content_json(r, args, -1);
        else r->oom = true;
        mark(r, chatml_tools.close);
        cJSON_Delete(args);
    }
    mark(r, f->close);
}

/* Qwen2.5's template: a leading system message (or the default) opens, with the tools; tool
 * results are user turns of "<tool_response>" blocks, consecutive ones in one turn. */
static ward_status render_chatml(renderer *r, const void *fmt, const ward_chat_message *msgs,
                                 size_t n, bool add_assistant) {
    const turn_format *f = fmt;
    const bool has_system = n > 0 && role_of(msgs[0].role) == ROLE_SYSTEM;
    chatml_system(r, f, has_system ? msgs[0].content : f->default_system);
    for (size_t i = has_system; i < n; i++) {
        const int role = role_of(msgs[i].role);
        if (role == ROLE_TOOL) {
            if (i == 0 || role_of(msgs[i - 1].role) != ROLE_TOOL) mark(r, "<|im_start|>user");
            mark(r, "\n<tool_response>\n");
            content(r, msgs[i].content);
            mark(r, "\n</tool_response>");
            if (i + 1 == n || role_of(msgs[i + 1].role) != ROLE_TOOL) mark(r, f->close);
        } else if (msgs[i].n_tool_calls) {
            chatml_calls(r, f, &msgs[i]);
        } else {
            turn(r, f, role, msgs[i].content);
        }
    }
    if (add_assistant) mark(r, f->gen);
    return WARD_OK;
}

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

/* THUDM/glm-4-9b-chat: "[gMASK]<sop>" always, then "<|role|>" + metadata (undefined: empty)
 * + "\n" + content for messages whose content is not empty. */
static const turn_format fmt_glm4 = {
    .first = "[gMASK]<sop>",
    .first_always = true,
    .open = {"<|system|>\n", "<|user|>\n", "<|assistant|>\n"},
    .close = "",
    .gen = "<|assistant|>",
    .skip_empty = true,
};

/* A GLM-4 tool call is an assistant item whose metadata is the function's name and whose
 * content is the arguments: "<|assistant|>" + name + "\n" + arguments. */
static const ward_chat_tool_syntax glm4_tools = {.open = "", .name_close = "\n", .close = ""};

/* The tools item GLM-4's own API server puts first: the template's fixed system text, then per
 * function "\n## name\n\n" + tojson(function, indent=4) + "\n" + the instruction to answer in
 * JSON (the template has "\n\n## ", but HuggingFace renders with trim_blocks, which drops the
 * newline after the block tag before it). Its "python", "simple_browser" and "cogview" tool
 * types are not OpenAI tools. */
static void glm4_tools_item(renderer *r) {
    mark(r, "<|system|>\n");
    mark(r, "你是一个名为 ChatGLM 的人工智能助手。你是基于智谱AI训练的语言模型 GLM-4 模型开发的，"
            "你的任务是针对用户的问题和要求提供适当的答复和支持。\n\n# 可用工具");
    for (const cJSON *tool = r->tools->child; tool; tool = tool->next) {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tool, "function");
        mark(r, "\n## ");
        content(r, cJSON_GetObjectItemCaseSensitive(fn, "name")->valuestring);
        mark(r, "\n\n");
        content_json(r, fn, 4);
        mark(r, "\n在调用上述函数时，请使用 Json 格式表示调用的参数。");
    }
}

/* Tool results are "observation" items; the text of an assistant message with calls is an
 * item of its own before them. */
static ward_status render_glm4(renderer *r, const void *fmt, const ward_chat_message *msgs,
                               size_t n, bool add_assistant) {
    const turn_format *f = fmt;
    mark(r, f->first);
    if (r->tools) glm4_tools_item(r);
    for (size_t i = 0; i < n; i++) {
        const int role = role_of(msgs[i].role);
        if (!text_of(&msgs[i])[0] && msgs[i].n_tool_calls == 0) continue;
        if (role == ROLE_TOOL) {
            mark(r, "<|observation|>\n");
            content(r, msgs[i].content);
            continue;
        }
        if (text_of(&msgs[i])[0]) turn(r, f, role, msgs[i].content);
        for (size_t k = 0; k < msgs[i].n_tool_calls; k++) {
            mark(r, "<|assistant|>");
            content(r, msgs[i].tool_calls[k].name);
            mark(r, glm4_tools.name_close);
            content(r, msgs[i].tool_calls[k].arguments);
        }
    }
    if (add_assistant) mark(r, f->gen);
    return WARD_OK;
}

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
    const ward_chat_tool_syntax *tools; /* NULL: the template has no tool calls */
};

/* In detection order, as llama.cpp tests them (llm_chat_detect_template at c392e50: "[gMASK]sop"
 * is ChatGLM3's, "[gMASK]<sop>" GLM-4's). Arch defaults: rows with vocab_has first. llama.cpp's
 * "chatglm" architecture holds ChatGLM2/3 and GLM-4: a GLM-4 vocabulary has <|begin_of_image|>.
 * No GGUF template text names ChatGLM-6B, ChatGLM2 or InternLM (none ships jinja): by name
 * only, or InternLM by architecture. */
static const ward_chat_template templates[] = {
    {"chatml", {"<|im_start|>"}, {"qwen", "qwen2"}, NULL, render_chatml, &fmt_chatml,
     &chatml_tools},
    {"llama2", {"[INST]"}, {"llama"}, NULL, render_llama2, NULL, NULL},
    {"llama3", {"<|start_header_id|>", "<|end_header_id|>"}, {NULL}, NULL, render_turns,
     &fmt_llama3, NULL},
    {"chatglm3", {"[gMASK]sop"}, {"chatglm"}, NULL, render_turns, &fmt_chatglm3, NULL},
    {"glm4", {"[gMASK]<sop>"}, {"chatglm"}, "<|begin_of_image|>", render_glm4, &fmt_glm4,
     &glm4_tools},
    {"baichuan2", {"<reserved_106>"}, {"baichuan"}, NULL, render_turns, &fmt_baichuan2, NULL},
    {"chatglm", {NULL}, {NULL}, NULL, render_rounds, &fmt_chatglm, NULL},
    {"chatglm2", {NULL}, {NULL}, NULL, render_rounds, &fmt_chatglm2, NULL},
    {"internlm", {"<|User|>", "<eoh>"}, {"internlm"}, NULL, render_rounds, &fmt_internlm, NULL},
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

const ward_chat_tool_syntax *ward_chat_tool_syntax_of(const ward_chat_template *t) {
    return t->tools;
}

/* Roles known, contents set (NULL only beside tool calls), tool calls named with JSON-object
 * arguments, and tools, calls and results only where the template has tool syntax. */
static ward_status check_messages(const ward_chat_template *t, const ward_chat_message *msgs,
                                  size_t n, ward_error *err) {
    for (size_t i = 0; i < n; i++) {
        const ward_chat_message *m = &msgs[i];
        const int role = m->role ? role_of(m->role) : -1;
        if (role < 0 || (!m->content && m->n_tool_calls == 0))
            return WARD_FAIL(err, WARD_EINVAL, "message %zu: role must be system, user, "
                             "assistant or tool, and content set", i);
        if ((role == ROLE_TOOL || m->n_tool_calls) && !t->tools)
            return WARD_FAIL(err, WARD_EUNSUPPORTED, "message %zu: chat template '%s' has no "
                             "tool calls (chatml and glm4 have)", i, t->name);
        if (m->n_tool_calls && role != ROLE_ASSISTANT)
            return WARD_FAIL(err, WARD_EINVAL, "message %zu: only assistant messages make "
                             "tool calls", i);
        for (size_t k = 0; k < m->n_tool_calls; k++) {
            const ward_chat_tool_call *c = &m->tool_calls[k];
            cJSON *args = c->arguments ? cJSON_Parse(c->arguments) : NULL;
            const bool ok = c->name && c->name[0] && cJSON_IsObject(args);
            cJSON_Delete(args);
            if (!ok)
                return WARD_FAIL(err, WARD_EINVAL, "message %zu, tool call %zu: a name and "
                                 "arguments that are a JSON object are needed", i, k);
        }
    }
    return WARD_OK;
}

/* OpenAI's tools array: objects of type "function" whose function has a name. */
static ward_status parse_tools(const ward_chat_template *t, const char *json, cJSON **out,
                               ward_error *err) {
    *out = NULL;
    if (!json) return WARD_OK;
    if (!t->tools)
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "chat template '%s' has no tool calls "
                         "(chatml and glm4 have)", t->name);
    cJSON *tools = cJSON_Parse(json);
    if (!cJSON_IsArray(tools)) goto bad;
    for (const cJSON *tool = tools->child; tool; tool = tool->next) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(tool, "type");
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tool, "function");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "function") != 0 ||
            !cJSON_IsString(name) || !name->valuestring[0])
            goto bad;
    }
    *out = tools;
    return WARD_OK;
bad:
    cJSON_Delete(tools);
    return WARD_FAIL(err, WARD_EINVAL, "tools must be an array of {\"type\": \"function\", "
                     "\"function\": {\"name\": ...}}");
}

ward_status ward_chat_render_tools(const ward_chat_template *t, const ward_chat_message *msgs,
                                   size_t n_msgs, const char *tools_json, bool add_assistant,
                                   ward_text_span **spans, size_t *n_spans, ward_error *err) {
    assert(t && spans && n_spans && (msgs || n_msgs == 0));
    *spans = NULL;
    *n_spans = 0;
    ward_error_clear(err);
    cJSON *tools = NULL;
    ward_status st = check_messages(t, msgs, n_msgs, err);
    if (st || (st = parse_tools(t, tools_json, &tools, err))) return st;
    renderer count = {.tools = tools, .err = err};
    st = t->render(&count, t->fmt, msgs, n_msgs, add_assistant);
    if (st) {
        cJSON_Delete(tools);
        return st;
    }
    char *block = NULL;
    const size_t head = count.n_spans * sizeof **spans;
    if (!count.oom && !count.overflow &&
        count.n_spans <= (SIZE_MAX - count.n_bytes - 1) / sizeof **spans)
        block = ward_malloc(head + count.n_bytes + 1); /* + 1: never a 0-byte request */
    if (!block) {
        cJSON_Delete(tools);
        return WARD_FAIL(err, WARD_ENOMEM, "out of memory rendering a conversation");
    }
    renderer w = {.spans = (ward_text_span *)(void *)block, .text = block + head, .tools = tools};
    st = t->render(&w, t->fmt, msgs, n_msgs, add_assistant);
    cJSON_Delete(tools);
    if (w.oom) { /* the second pass's JSON copies failed where the first pass's did not */
        ward_free(block);
        return WARD_FAIL(err, WARD_ENOMEM, "out of memory rendering a conversation");
    }
    assert(st == WARD_OK && w.n_spans <= count.n_spans && w.n_bytes == count.n_bytes);
    *spans = w.spans;
    *n_spans = w.n_spans;
    return WARD_OK;
}

ward_status ward_chat_render(const ward_chat_template *t, const ward_chat_message *msgs,
                             size_t n_msgs, bool add_assistant, ward_text_span **spans,
                             size_t *n_spans) {
    return ward_chat_render_tools(t, msgs, n_msgs, NULL, add_assistant, spans, n_spans, NULL);
}

void ward_chat_spans_free(ward_text_span *spans) { ward_free(spans); }
