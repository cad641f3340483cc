/*
 * train.h — the training job: params, architectures, the epoch loop with
 * checkpoints, and the metrics written at the end. main.c wires it to the
 * job API; the loop itself knows nothing about HTTP, so the bench and the
 * tests run it directly ("trainyard-train --run params.json").
 */
#ifndef TY_TRAIN_H
#define TY_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "model.h"
#include "nn.h"
#include "params.h"
#include "nn_batch.h"
#include "tensor.h"
#include "util.h"

#define TRAIN_MAX_LAYERS 256
#define TRAIN_MAX_WIDTHS PARAMS_MAX_WIDTHS

/*
 * A train job's params: the rows of the one parameter table (params.h;
 * p->epochs here, p->run for the table walkers), the paths, and what
 * still has its own shape (augment, early_stopping).
 */
struct train_params {
	char data[512], output[512]; /* relative to the volumes */
	union {
		struct params run;
		struct {
#define PARAM PARAM_AS_FIELD
#include "params_list.h"
#undef PARAM
		};
	};
	int hflip, shift; /* augmentation; shift in pixels, 0 = none */
	/* colour augmentation (augment.c), 0 = off: smallest crop scale,
	 * rotation in degrees, jitter strength, cutout side */
	float crop, rotate, jitter, cutout;
	int patience; /* early stopping; 0 = off */
};

/* Early stopping's patience for a run of `epochs` when the job leaves it
 * to the worker: ceil(epochs / TRAIN_PATIENCE_SHARE), at least
 * TRAIN_PATIENCE_MIN (params.c says why). */
#define TRAIN_PATIENCE_MIN 3
#define TRAIN_PATIENCE_SHARE 4
int train_patience(int epochs);

/*
 * Parses and checks params (DESIGN.md "Train params"); 0, or -1 with a
 * message for the caller in err.
 */
int train_params_parse(const cJSON *j, struct train_params *p, char *err,
                       size_t errlen) TY_WUR;
/* The canonical form of p, stored in models and compared on resume. */
cJSON *train_params_json(const struct train_params *p);

/* Layer list for p on an input with `classes` outputs; count or -1. */
int train_arch_specs(const struct train_params *p, int classes,
                     struct nn_spec *specs, int max, char *err,
                     size_t errlen) TY_WUR;

/* What the loop reports; every hook may be NULL. */
struct train_hooks {
	void *arg;
	/* ~twice a second: fraction done, epoch (1-based), batch. */
	void (*progress)(void *arg, double fraction, int epoch, int epochs,
	                 int batch, int batches, double images_per_s,
	                 double eta_s);
	/* After each epoch (also for epochs restored from a checkpoint,
	 * with resumed=1): the epoch entry (borrowed). */
	void (*epoch)(void *arg, const cJSON *entry, int resumed);
	/* Non-zero to stop at the next batch. */
	int (*cancelled)(void *arg);
};

/*
 * A run's prepared data (data.c): <data_dir>/<rel>/{train,val}.tyd mapped,
 * meta.json's classes, input shape and mean/std, and lut[c][v], the input
 * float of pixel value v in channel c — model_normalize_u8's very floats,
 * so training sees what inference will. The single-worker loop and every
 * federated replica load data only through this.
 */
struct train_data {
	struct tensor tr, va;
	int have_tr, have_va;
	struct model_meta mm;
	float lut[MODEL_MAX_CHANNELS][256];
	float sc[MODEL_MAX_CHANNELS], off[MODEL_MAX_CHANNELS]; /* p*sc+off */
	int affine; /* 1: p*sc+off is lut's float for every p (checked) */
};

/* 0, or -1 with err set (and nothing left open). */
int train_data_open(struct train_data *d, const char *data_dir, const char *rel,
                    char *err, size_t errlen) TY_WUR;
/* Safe on a closed or zeroed struct. */
void train_data_close(struct train_data *d);
/* ---- augmentation (augment.c) ---- */

/* p's augment fields from the request's "augment" (absent, a bool, the
 * preset "colour", or an object); 0, or -1 with err. */
int train_augment_parse(const cJSON *au, struct train_params *p, char *err,
                        size_t errlen) TY_WUR;
/* p's "augment" object into j (the canonical params). */
void train_augment_json(const struct train_params *p, cJSON *j);
/* Non-zero when p asks for any of crop, rotate, jitter, cutout. */
int train_augment_colour(const struct train_params *p);

/* Augmentation drawn for one image. */
struct train_aug {
	int8_t dx, dy, flip;
	int8_t colour; /* 1: the fields below, train_aug_row */
	float m[6]; /* source (x, y) = (m0 x + m1 y + m2, m3 x + m4 y + m5) */
	float bright, contrast, sat;
	int16_t cut[4]; /* cutout x0, y0, x1, y1 (empty: none) */
};
/* The augmentation of n images of W x H, drawn from rng in a fixed order
 * (the same draws wherever the batch is computed). */
void train_aug_draw(const struct train_params *p, struct nn_rng *rng,
                    struct train_aug *aug, int n, int W, int H);
/* One image px through a colour augmentation into elements [e0, e1) of
 * the row x (train_make_rows calls it for aug->colour). */
void train_aug_row(const struct train_data *d, const struct tensor *t,
                   const uint8_t *px, const struct train_aug *a, float *x,
                   size_t e0, size_t e1);
/*
 * Images idx[0..n) of t into rows of x (image_bytes floats apart), their
 * labels into lab (may be NULL): normalised through d's table, shifted
 * (uncovered pixels become black) and flipped as aug[b] says (NULL: as
 * stored). Only elements [e0, e1) of each row (HWC order) are written.
 */
void train_make_rows(const struct train_data *d, const struct tensor *t,
                     const uint32_t *idx, int n, const struct train_aug *aug,
                     float *x, uint16_t *lab, size_t e0, size_t e1);
/*
 * A batch for nn_batch (nn_batch.h): images idx[0..n) of t, augmented as
 * aug says (NULL: as stored); next[0..next_n) is the batch after it, to
 * prefetch. train_batch_init points src at these fields.
 */
struct train_batch {
	const struct train_data *d;
	const struct tensor *t;
	const uint32_t *idx;
	const struct train_aug *aug;
	const uint32_t *next;
	int next_n;
	struct nn_batch_src src;
};
void train_batch_init(struct train_batch *b, const struct train_data *d);
/* The most probable classes of one image, most probable first: a row
 * of predictions.json (preds.c). min(k, TRAIN_TOP) of them are set. */
#define TRAIN_TOP 3
struct train_top {
	float p[TRAIN_TOP];
	uint16_t cls[TRAIN_TOP];
};
/* The top classes of n rows of k class probabilities into top[0..n). */
void train_top_rows(const float *p, int n, int k, struct train_top *top);
/* Loss, accuracy and cm[true][pred] (nclasses^2) of split t, in batches
 * of at most batch images through nb; unless NULL, every image's top
 * classes into top[0..t->count) from the same pass. */
void train_evaluate(nn_batch *nb, const struct train_data *d,
                    const struct tensor *t, int batch, uint32_t *cm,
                    double *loss, double *acc, struct train_top *top);
/* The net of p for d's images and classes (not initialised). */
nn_net *train_net_new(const struct train_params *p, const struct train_data *d,
                      char *err, size_t errlen) TY_WUR;
/*
 * The run's output directory on the models volume, created, and its
 * checkpoint path in *ckpt (both for the caller to free); NULL with err
 * set when output leaves the volume or cannot be created.
 */
char *train_output_dir(const char *models_dir, const char *output, char **ckpt,
                       char *err, size_t errlen) TY_WUR;

enum train_status { TRAIN_DONE, TRAIN_CANCELLED, TRAIN_FAILED };

/*
 * Runs (or resumes from <output>/checkpoint.tym) the job. On TRAIN_DONE
 * *result gets the result object (caller frees): epochs, confusion,
 * per_class, model, images_per_second, seconds, ... On TRAIN_FAILED err
 * says why. threads is the OpenBLAS thread count.
 */
enum train_status train_run(const struct train_params *p, const char *data_dir,
                            const char *models_dir, int threads,
                            const struct train_hooks *hooks, cJSON **result,
                            char *err, size_t errlen);

/*
 * Validation metrics from a confusion matrix cm[true][pred] of k classes:
 * {"confusion": [[..]], "per_class": [{class, precision, recall, f1,
 * support}], "accuracy"}.
 */
cJSON *train_metrics_json(const uint32_t *cm, int k, char **names);

/* How a run ended, single-worker or federated (train_write_result). */
struct train_summary {
	const struct train_params *p;
	const cJSON *params_json; /* stored in the model header */
	const cJSON *history;     /* the epochs entries */
	const struct train_data *d;
	const nn_net *net;  /* final weights (the best epoch's) */
	const uint32_t *cm; /* validation confusion matrix */
	/* the top classes of every image of the split cm counts, from the
	 * pass that made cm; NULL: predictions.json makes its own pass */
	const struct train_top *top;
	double val_loss, val_acc;
	int epochs_trained, early_stopped, best_epoch; /* best_epoch<0: none */
	double seconds, images; /* training wall time, images seen */
};

/*
 * The end of every run: <dir>/model.tym, <dir>/metrics.json holding the
 * common fields plus those of `more` (taken; may be NULL), and the job
 * result (caller frees) naming both files; NULL with err set on failure.
 */
cJSON *train_write_result(const char *dir, const struct train_summary *s,
                          cJSON *more, char *err, size_t errlen);
/* <dir>/predictions.json: per image of the validation split (the train
 * split when there is none) its true, predicted and top classes (preds.c);
 * 0, or -1 with err set. */
int train_write_predictions(const char *dir, const struct train_summary *s,
                            char *err, size_t errlen) TY_WUR;

/* Sets OPENBLAS_CORETYPE for this CPU and re-executes itself once, so
 * OpenBLAS (initialised before main) picks its best kernel; see blas.h. */

#endif
