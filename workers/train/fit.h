/*
 * fit.h — "train a net over epochs": the history, early stopping on the
 * validation loss, a checkpoint after every step and resuming from it,
 * and the result at the end. The single-worker loop (train.c) and the
 * federated coordinator (fed.c) are two runners of this one loop; they
 * differ only in how a step is computed (an epoch of threaded batches,
 * or a round of replicas) and in what else their checkpoint holds.
 *
 *	struct fit f;
 *	fit_open(&f, p, hooks, data_dir, models_dir, err, errlen);
 *	(the runner's set-up; f.state[] for its per-weight state)
 *	fit_resume(&f, &ops, arg);
 *	st = fit_loop(&f, &ops, arg, &result, err, errlen);
 *	fit_close(&f);
 */
#ifndef TY_FIT_H
#define TY_FIT_H

#include "train.h"

#define FIT_MAX_STATE 2

struct fit {
	const struct train_params *p;
	const struct train_hooks *h;
	struct train_data d;
	int have_data;
	nn_net *net;
	size_t np;
	uint32_t *cm; /* validation confusion matrix, nclasses^2 */
	/* every val image's top classes from the pass that made cm, for
	 * predictions.json without another pass */
	struct train_top *top;
	char *dir, *ckpt;
	float *best; /* the best epoch's weights (early stopping), or NULL */
	/* per-weight arrays of np floats the runner checkpoints (NULL: none) */
	float *state[FIT_MAX_STATE];
	cJSON *history, *params_json;
	int epoch; /* epochs finished */
	int best_epoch, bad_epochs, stopped;
	double best_val, train_secs, images;
	/* 1 while the weights are the ones the last end of epoch measured:
	 * the result reuses val_loss/val_acc and cm instead of another pass */
	int evaluated;
	double last_vl, last_va;
};

/* What a step says when it finished an epoch's training. */
struct fit_epoch {
	int done;                      /* 0: the epoch goes on */
	double loss, correct, samples; /* summed over the epoch */
	double secs;                   /* training wall time */
};

struct fit_ops {
	const char *key; /* the checkpoint header's object of this runner */
	/* One step between checkpoints; 0, or 1 when cancelled. */
	int (*step)(struct fit *f, void *arg, struct fit_epoch *ep);
	/* Loss and accuracy over split t, f->cm filled. */
	void (*evaluate)(struct fit *f, void *arg, const struct tensor *t,
	                 double *loss, double *acc);
	/* The runner's own checkpoint fields into ck / back from it: load
	 * checks them all before it changes anything (0, or -1). */
	void (*save)(struct fit *f, void *arg, cJSON *ck);
	int (*load)(struct fit *f, void *arg, const cJSON *ck);
	/* May be NULL: after every step, before its checkpoint. */
	void (*after)(struct fit *f, void *arg);
	/* The result's runner-specific fields (an object, taken). */
	cJSON *(*more)(struct fit *f, void *arg);
};

/*
 * The data, the output directory, the net (initialised from p->seed),
 * history and early-stopping buffers; at least min_train training images.
 * 0, or -1 with err (call fit_close either way).
 */
int fit_open(struct fit *f, const struct train_params *p,
             const struct train_hooks *h, const char *data_dir,
             const char *models_dir, uint32_t min_train, char *err,
             size_t errlen) TY_WUR;
/* Restores from f->ckpt when it belongs to these params (the hooks hear
 * the restored epochs again); 1 when resumed, else 0. */
int fit_resume(struct fit *f, const struct fit_ops *ops, void *arg);
/* Steps until the epochs are done or early stopping, then the result. */
enum train_status fit_loop(struct fit *f, const struct fit_ops *ops, void *arg,
                           cJSON **result, char *err, size_t errlen);
/* The split validation uses: val, or train when val is empty. */
const struct tensor *fit_val_split(const struct fit *f);
void fit_close(struct fit *f);

#endif
