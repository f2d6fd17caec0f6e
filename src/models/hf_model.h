/* hf_model.h: HuggingFace checkpoints (config.json + safetensors + tokenizer files) as GGUF,
 * written to a file (ward_convert) or built in memory and opened as a model.
 *
 * One conversion plan serves both: hf_convert() fills any gguf_writer (a file, or a memory sink
 * whose buffer the model then owns), tensor by tensor, so neither path holds more than the
 * output plus one tensor's worth of scratch.
 */
#ifndef WARD_MODELS_HF_MODEL_H
#define WARD_MODELS_HF_MODEL_H

#include <stdbool.h>

#include "formats/gguf.h"
#include "ward.h"

/* True when path is a directory (ward_model_open treats it as a HuggingFace checkpoint). */
bool hf_is_dir(const char *path);

/* Convert the checkpoint in dir into w, a fresh writer: metadata, tensor table, header and
 * every tensor's data. The caller then finishes (or closes) w. Messages name the file or
 * tensor concerned. */
ward_status hf_convert(const char *dir, gguf_writer *w, const ward_convert_params *p,
                       ward_error *err);

/* Open the checkpoint in dir as a model: converted (and quantized if p->ftype says so) into
 * one buffer of the GGUF file's size, which the model owns; repack as in model_open_gguf. */
ward_status hf_model_open(const char *dir, const ward_convert_params *p, bool repack,
                          ward_model **out, ward_error *err);

#endif
