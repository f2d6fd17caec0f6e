/* pb_writer.h: a minimal protobuf writer for tests that build SentencePiece tokenizer.model
 * files (header-only: each test is one .c file). Enough wire format for ModelProto: varints,
 * length-delimited fields, 32-bit floats. */
#ifndef WARD_TESTS_PB_WRITER_H
#define WARD_TESTS_PB_WRITER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct pb_buf {
    uint8_t *data;
    size_t len, cap;
} pb_buf;

static inline void pb_byte(pb_buf *b, uint8_t c) {
    if (b->len == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 256;
        b->data = realloc(b->data, b->cap);
    }
    b->data[b->len++] = c;
}

static inline void pb_varint(pb_buf *b, uint64_t v) {
    while (v >= 0x80) pb_byte(b, (uint8_t)(v | 0x80)), v >>= 7;
    pb_byte(b, (uint8_t)v);
}

static inline void pb_bytes(pb_buf *b, uint32_t field, const void *p, size_t n) {
    pb_varint(b, field << 3 | 2);
    pb_varint(b, n);
    for (size_t i = 0; i < n; i++) pb_byte(b, ((const uint8_t *)p)[i]);
}

static inline void pb_uint(pb_buf *b, uint32_t field, uint64_t v) {
    pb_varint(b, field << 3);
    pb_varint(b, v);
}

static inline void pb_piece(pb_buf *b, const char *text, float score, int type) {
    pb_buf p = {0};
    pb_bytes(&p, 1, text, strlen(text));
    uint32_t bits;
    memcpy(&bits, &score, 4);
    pb_varint(&p, 2 << 3 | 5);
    for (int i = 0; i < 4; i++) pb_byte(&p, (uint8_t)(bits >> (8 * i)));
    if (type != 1) pb_uint(&p, 3, (uint64_t)type);
    pb_bytes(b, 1, p.data, p.len);
    free(p.data);
}

#endif
