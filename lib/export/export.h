/*
 * export.h — a trained .tym model as files that run outside trainyard.
 *
 *	ONNX    export_onnx: one ModelProto (opset EXPORT_ONNX_OPSET), built
 *	        with protobuf-c over Debian's onnx.proto (docs/export.md).
 *	        Input "image": float32 NHWC [N, H, W, C], the resized pixels
 *	        as 0..255 values; the training normalisation is the graph's
 *	        first two nodes. Output "probabilities" [N, classes]. Class
 *	        names (JSON array) in metadata_props "classes".
 *	C       export_c: one self-contained C99 source (weights as static
 *	        const float arrays, only libm) with
 *	        int trainyard_predict(const uint8_t *pixels, int w, int h,
 *	                              int channels, float *probs)
 *	        that converts, resizes and normalises like the infer worker.
 *
 * Both walk the net's layers through a table by layer kind (one row each
 * in export_onnx.c and export_c.c); a kind without a row is refused with
 * a message, never exported wrong.
 *
 * Use (web route, API):
 *	const struct export_format *f = export_format_find("onnx");
 *	uint8_t *out; size_t len; char err[256];
 *	if (f->fn(m, &info, &out, &len, err, sizeof err) != 0) ... err says why
 *	... send f->mime, f->ext ...; free(out);
 */
#ifndef TY_EXPORT_H
#define TY_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define EXPORT_ONNX_OPSET 13

/* What the exported file says about its model, beyond the .tym itself;
 * all optional (NULL / negative: not known). */
struct export_info {
	const char *name; /* e.g. "project 3, run 12" */
	double accuracy;  /* validation accuracy 0..1, < 0 unknown */
	const char *arch; /* "cnn", ... */
};

typedef int (*export_fn)(const model *m, const struct export_info *info,
                         uint8_t **out, size_t *len, char *err, size_t errlen);

struct export_format {
	const char *name; /* "onnx", "c" */
	const char *mime;
	const char *ext; /* file name suffix, with the dot */
	export_fn fn;
};

/* NULL when name is not a format this build exports. */
const struct export_format *export_format_find(const char *name);

/*
 * How the model's pictures are fitted to its size, in words, for the
 * input contract both files state ("letterbox (...)"); the policy's name
 * (img_fit_names) is in the ONNX metadata_props "fit".
 */
const char *export_fit_text(enum img_fit f);

/* 0, or -1 with a message in err; *out is the caller's to free. */
int export_onnx(const model *m, const struct export_info *info, uint8_t **out,
                size_t *len, char *err, size_t errlen);
int export_c(const model *m, const struct export_info *info, uint8_t **out,
             size_t *len, char *err, size_t errlen);

#endif
