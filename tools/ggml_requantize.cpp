// Re-quantizes every 2-D weight of a GGUF file to one ggml type with ggml's own quantizer
// (ggml_quantize_chunk, the function llama-quantize calls), keeping the metadata and every other
// tensor as they are. Where llama.cpp's llama-quantize (whose mixes pick a type per tensor) is not at
// hand, this writes real single-type files for the dequantization test (GGMLQuantTypesTests, with
// SPQR_GGUF_QUANTS). Weights whose rows are not a multiple of the type's block (SmolLM2's 576 columns for
// the 256-weight types) are kept as they are, so each file holds the target type and the source's. Types
// whose quantizer needs an importance matrix get one of ones (every column weighted equally).
//
// Build against the llama.cpp sources (only ggml-base is needed):
//   cmake -S LLAMA_CPP -B /tmp/b -DBUILD_SHARED_LIBS=OFF && cmake --build /tmp/b --target ggml-base
//   c++ -O2 -std=c++17 tools/ggml_requantize.cpp -I LLAMA_CPP/ggml/include /tmp/b/ggml/src/libggml-base.a \
//       -lpthread -lm -o /tmp/ggml-requantize
// Usage: ggml-requantize IN.gguf OUT.gguf TYPE     (TYPE as ggml names it: q2_K, iq2_xxs, tq1_0, mxfp4 …)

#include "ggml.h"
#include "gguf.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char ** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s IN.gguf OUT.gguf TYPE\n", argv[0]);
        return 2;
    }
    ggml_type target = GGML_TYPE_COUNT;
    for (int t = 0; t < GGML_TYPE_COUNT; t++) {
        const char * name = ggml_type_name((ggml_type) t);
        if (name && strcasecmp(name, argv[3]) == 0 && ggml_get_type_traits((ggml_type) t)->blck_size > 0) target = (ggml_type) t;
    }
    if (target == GGML_TYPE_COUNT) {
        fprintf(stderr, "unknown type %s\n", argv[3]);
        return 2;
    }
    ggml_context * in_ctx = nullptr;
    gguf_init_params params = {false, &in_ctx};
    gguf_context * in = gguf_init_from_file(argv[1], params);
    if (!in) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    const int64_t n = gguf_get_n_tensors(in);
    size_t bytes = 0;
    for (int64_t i = 0; i < n; i++) {
        ggml_tensor * t = ggml_get_tensor(in_ctx, gguf_get_tensor_name(in, i));
        bytes += ggml_nelements(t) * sizeof(float) + ggml_tensor_overhead() + 64;
    }
    ggml_init_params ip = {bytes + (1 << 20), nullptr, false};
    ggml_context * out_ctx = ggml_init(ip);
    gguf_context * out = gguf_init_empty();
    gguf_set_kv(out, in);
    std::vector<float> f, ones;
    for (int64_t i = 0; i < n; i++) {
        const char * name = gguf_get_tensor_name(in, i);
        ggml_tensor * src = ggml_get_tensor(in_ctx, name);
        const int64_t per_row = src->ne[0], rows = ggml_nrows(src);
        const ggml_type type = target;
        if (ggml_n_dims(src) != 2 || per_row % ggml_blck_size(type) != 0) {
            ggml_tensor * copy = ggml_dup_tensor(out_ctx, src);
            memcpy(copy->data, src->data, ggml_nbytes(src));
            ggml_set_name(copy, name);
            gguf_add_tensor(out, copy);
            continue;
        }
        f.resize(ggml_nelements(src));
        const ggml_type_traits * tr = ggml_get_type_traits(src->type);
        if (src->type == GGML_TYPE_F32) {
            memcpy(f.data(), src->data, f.size() * sizeof(float));
        } else {
            tr->to_float(src->data, f.data(), (int64_t) f.size());
        }
        const float * imatrix = nullptr;
        if (ggml_quantize_requires_imatrix(type) || type == GGML_TYPE_IQ1_M || type == GGML_TYPE_IQ2_S) {
            ones.assign(per_row, 1.0f);
            imatrix = ones.data();
        }
        ggml_tensor * dst = ggml_new_tensor_2d(out_ctx, type, per_row, rows);
        ggml_set_name(dst, name);
        const size_t written = ggml_quantize_chunk(type, f.data(), dst->data, 0, rows, per_row, imatrix);
        if (written != ggml_nbytes(dst)) {
            fprintf(stderr, "%s: wrote %zu bytes, expected %zu\n", name, written, ggml_nbytes(dst));
            return 1;
        }
        gguf_add_tensor(out, dst);
        fprintf(stderr, "%-32s %-8s -> %s\n", name, ggml_type_name(src->type), ggml_type_name(type));
    }
    const std::string tmp = std::string(argv[2]) + ".tmp";
    if (!gguf_write_to_file(out, tmp.c_str(), false) || rename(tmp.c_str(), argv[2]) != 0) {
        fprintf(stderr, "cannot write %s\n", argv[2]);
        return 1;
    }
    gguf_free(out);
    gguf_free(in);
    ggml_free(out_ctx);
    ggml_free(in_ctx);
    ggml_quantize_free();
    return 0;
}
