/*
 * model.h — the .tym model file and inference on it.
 *
 * Layout, little-endian:
 *	0   "TYM1"
 *	4   u32 version (MODEL_VERSION)
 *	8   u32 reserved (0)
 *	12  u32 header_len            JSON, not NUL-terminated
 *	16  u64 nparams               float32 weights
 *	24  u64 nstate                float32 extra state (optimiser moments
 *	                              in a checkpoint; 0 in a model)
 *	32  header JSON
 *	    float32 params[nparams]
 *	    float32 state[nstate]
 *	    32-byte BLAKE2b (libsodium crypto_generichash) of all the above
 * The length must match exactly. The header holds "input" {width, height,
 * channels, fit (img_fit_names; absent: stretch, the files written before
 * it existed)}, "mean"/"std" (per channel, 0..1 scale), "classes" (names),
 * "loss", "layers" [{type, out, k, stride, pad, p, shape}], and whatever
 * the writer adds ("train" params, "checkpoint" state).
 *
 * For the inference service:
 *	char err[256];
 *	model *m = model_load(path, err, sizeof(err));   NULL: err says why
 *	const struct model_meta *mm = model_meta(m);     size, classes, norm
 *	float *p = xmalloc(n * mm->nclasses * sizeof(float));
 *	model_predict_u8(m, pixels, n, p);   n images of H*W*C uint8 (HWC)
 *	model_free(m);
 * model_predict_u8 only reads the model and allocates its own scratch, so
 * any number of threads may call it on one model at once. A service that
 * runs requests in parallel should call openblas_set_num_threads(1) once
 * (parallelism across requests; OpenBLAS's own threads would compete) and
 * blas_select_core(argv) first thing in main (blas.h).
 */
#ifndef TY_MODEL_H
#define TY_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "img.h"
#include "nn.h"
#include "util.h"

#define MODEL_MAGIC "TYM1"
#define MODEL_VERSION 1
#define MODEL_PREFIX 32
#define MODEL_SUMLEN 32
#define MODEL_MAX_BYTES ((size_t)1 << 30)
#define MODEL_MAX_HEADER ((size_t)1 << 24)
#define MODEL_MAX_CHANNELS 4

enum model_err {
	MODEL_OK,
	MODEL_EIO,       /* cannot read / write the file */
	MODEL_ETRUNC,    /* shorter or longer than its header says */
	MODEL_EMAGIC,    /* not a .tym file */
	MODEL_EVERSION,  /* a version this build does not read */
	MODEL_ECHECKSUM, /* corrupted */
	MODEL_EHEADER,   /* header JSON missing fields or inconsistent */
	MODEL_ETOOBIG,   /* above MODEL_MAX_BYTES */
	MODEL_ERR__MAX
};

const char *model_strerror(enum model_err e);

struct model_meta {
	int width, height, channels;
	enum img_fit fit; /* how a new picture becomes width x height */
	int nclasses;
	char **classes; /* nclasses names */
	float mean[MODEL_MAX_CHANNELS], std[MODEL_MAX_CHANNELS];
};

typedef struct model model;

/*
 * Writes net, meta, extra (an object whose members are added to the
 * header; may be NULL) and nstate floats of state atomically to path.
 */
enum model_err model_save(const char *path, const nn_net *net,
                          const struct model_meta *meta, const cJSON *extra,
                          const float *state, size_t nstate, char *err,
                          size_t errlen) TY_WUR;

/* The same bytes in memory; *out is the caller's to free. */
enum model_err model_serialize(const nn_net *net, const struct model_meta *meta,
                               const cJSON *extra, const float *state,
                               size_t nstate, uint8_t **out,
                               size_t *outlen) TY_WUR;

/*
 * Reads and verifies a whole file; NULL with a message in err (which
 * starts with model_strerror of the cause). *why gets the code when
 * why is not NULL.
 */
model *model_load(const char *path, enum model_err *why, char *err,
                  size_t errlen) TY_WUR;
model *model_parse(const void *buf, size_t len, enum model_err *why, char *err,
                   size_t errlen) TY_WUR;
void model_free(model *m);

const struct model_meta *model_meta(const model *m);
nn_net *model_net(model *m);
const nn_net *model_net_c(const model *m);
/* The parsed header (owned by m): e.g. "train", "checkpoint". */
const cJSON *model_header(const model *m);
const float *model_state(const model *m, size_t *n);

/* uint8 HWC pixels -> normalised float NHWC, as training saw them. */
void model_normalize_u8(const struct model_meta *mm, const uint8_t *px,
                        size_t nimages, float *out);

/*
 * Class probabilities (n x nclasses) for n images of height x width x
 * channels uint8 pixels. Thread-safe; returns 0.
 */
int model_predict_u8(const model *m, const uint8_t *px, int n, float *probs);

void model_meta_free(struct model_meta *mm);

#endif
