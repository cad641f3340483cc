/*
 * fit.c — the epoch loop every run goes through (fit.h): the history,
 * early stopping, checkpoints and resume, and the result.
 *
 * A checkpoint is a model file whose header holds the canonical params
 * ("train") and an object of the runner (ops->key) with the loop's
 * bookkeeping and the runner's own fields; its state holds the runner's
 * per-weight arrays (f->state[]) and then the best weights. A resumed
 * run makes exactly the same steps as an uninterrupted one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fit.h"
#include "metrics.h"
#include "svc.h"

int
fit_open(struct fit *f, const struct train_params *p,
         const struct train_hooks *h, const char *data_dir,
         const char *models_dir, uint32_t min_train, char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	f->p = p;
	f->h = h;
	f->history = cJSON_CreateArray();
	if (train_data_open(&f->d, data_dir, p->data, err, errlen))
		return -1;
	f->have_data = 1;
	if (f->d.tr.count < min_train) {
		snprintf(err, errlen,
		         "%u training images cannot be split "
		         "across %u workers",
		         f->d.tr.count, min_train);
		return -1;
	}
	f->dir = train_output_dir(models_dir, p->output, &f->ckpt, err, errlen);
	if (!f->dir || !(f->net = train_net_new(p, &f->d, err, errlen)))
		return -1;
	nn_init(f->net, p->seed);
	f->np = nn_nparams(f->net);
	f->cm = xcalloc((size_t)f->d.mm.nclasses * f->d.mm.nclasses,
	                sizeof(uint32_t));
	f->top = xmalloc(sizeof(*f->top) * (fit_val_split(f)->count + 1));
	if (p->patience)
		f->best = xcalloc(f->np, sizeof(float));
	f->params_json = train_params_json(p);
	return 0;
}

void
fit_close(struct fit *f)
{
	nn_free(f->net);
	if (f->have_data)
		train_data_close(&f->d);
	free(f->cm);
	free(f->top);
	free(f->dir);
	free(f->ckpt);
	free(f->best);
	cJSON_Delete(f->history);
	cJSON_Delete(f->params_json);
	memset(f, 0, sizeof(*f));
}

const struct tensor *
fit_val_split(const struct fit *f)
{
	return f->d.va.count ? &f->d.va : &f->d.tr;
}

/* ---- checkpoints ---- */

/* The state arrays in checkpoint order: the runner's, then the best. */
static int
state_arrays(struct fit *f, float **a)
{
	int n = 0;
	for (int i = 0; i < FIT_MAX_STATE; i++)
		if (f->state[i])
			a[n++] = f->state[i];
	if (f->best)
		a[n++] = f->best;
	return n;
}

static int
save(struct fit *f, const struct fit_ops *ops, void *arg, char *err,
     size_t errlen)
{
	cJSON *extra = cJSON_CreateObject();
	cJSON_AddItemToObject(extra, "train",
	                      cJSON_Duplicate(f->params_json, 1));
	cJSON *ck = cJSON_AddObjectToObject(extra, ops->key);
	static const char *const keys[] = {"epoch",         "best_val",
	                                   "best_epoch",    "bad_epochs",
	                                   "train_seconds", "images"};
	double vals[] = {f->epoch,      f->best_val,   f->best_epoch,
	                 f->bad_epochs, f->train_secs, f->images};
	for (size_t i = 0; i < TY_ARRAY_LEN(keys); i++)
		cJSON_AddNumberToObject(ck, keys[i], vals[i]);
	cJSON_AddBoolToObject(ck, "stopped", f->stopped);
	cJSON_AddItemToObject(ck, "history", cJSON_Duplicate(f->history, 1));
	ops->save(f, arg, ck);
	float *a[FIT_MAX_STATE + 1];
	int na = state_arrays(f, a);
	float *st = xmalloc(sizeof(float) * (f->np * (size_t)na + 1));
	for (int i = 0; i < na; i++)
		memcpy(st + f->np * (size_t)i, a[i], f->np * sizeof(float));
	enum model_err e = model_save(f->ckpt, f->net, &f->d.mm, extra, st,
	                              f->np * (size_t)na, err, errlen);
	free(st);
	cJSON_Delete(extra);
	return e == MODEL_OK ? 0 : -1;
}

static double
num(const cJSON *o, const char *k)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

int
fit_resume(struct fit *f, const struct fit_ops *ops, void *arg)
{
	struct stat sb;
	if (stat(f->ckpt, &sb) != 0)
		return 0;
	char err[256];
	model *m = model_load(f->ckpt, NULL, err, sizeof(err));
	if (!m) {
		ty_log("checkpoint %s unusable, starting over: %s", f->ckpt,
		       err);
		return 0;
	}
	int ok = 0;
	const cJSON *h = model_header(m);
	const cJSON *ck = cJSON_GetObjectItemCaseSensitive(h, ops->key);
	const cJSON *hist = cJSON_GetObjectItemCaseSensitive(ck, "history");
	const cJSON *ep = cJSON_GetObjectItemCaseSensitive(ck, "epoch");
	float *a[FIT_MAX_STATE + 1];
	int na = state_arrays(f, a);
	size_t ns;
	const float *s = model_state(m, &ns);
	if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(h, "train"),
	                   f->params_json, 1) ||
	    nn_nparams(model_net(m)) != f->np || ns != f->np * (size_t)na ||
	    !cJSON_IsArray(hist) || !cJSON_IsNumber(ep) || ep->valueint < 0 ||
	    ops->load(f, arg, ck)) {
		ty_log("checkpoint %s is for other params, starting over",
		       f->ckpt);
		goto out;
	}
	memcpy(nn_params(f->net), nn_params(model_net(m)),
	       f->np * sizeof(float));
	for (int i = 0; i < na; i++)
		memcpy(a[i], s + f->np * (size_t)i, f->np * sizeof(float));
	f->epoch = ep->valueint;
	f->best_val = num(ck, "best_val");
	f->best_epoch = (int)num(ck, "best_epoch");
	f->bad_epochs = (int)num(ck, "bad_epochs");
	f->train_secs = num(ck, "train_seconds");
	f->images = num(ck, "images");
	f->stopped =
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ck, "stopped"));
	cJSON_Delete(f->history);
	f->history = cJSON_Duplicate(hist, 1);
	ok = 1;
	ty_log("resuming %s after epoch %d", f->ckpt, f->epoch);
	if (f->h && f->h->epoch)
		for (const cJSON *e = f->history->child; e; e = e->next)
			f->h->epoch(f->h->arg, e, 1);
out:
	model_free(m);
	return ok;
}

/* ---- the loop ---- */

static cJSON *
epoch_entry(int epoch, double tl, double ta, double vl, double va, double secs)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "epoch", epoch);
	cJSON_AddNumberToObject(e, "train_loss", tl);
	cJSON_AddNumberToObject(e, "train_acc", ta);
	cJSON_AddNumberToObject(e, "val_loss", vl);
	cJSON_AddNumberToObject(e, "val_acc", va);
	cJSON_AddNumberToObject(e, "seconds", secs);
	return e;
}

/* Validation, the history entry, and early stopping on the val loss. */
static void
end_epoch(struct fit *f, const struct fit_ops *ops, void *arg,
          const struct fit_epoch *ep)
{
	double t0 = util_now(), vl, va;
	ops->evaluate(f, arg, fit_val_split(f), &vl, &va);
	f->evaluated = 1, f->last_vl = vl, f->last_va = va;
	f->epoch++;
	double ns = ep->samples > 0 ? ep->samples : 1;
	cJSON *e = epoch_entry(f->epoch, ep->loss / ns, ep->correct / ns, vl,
	                       va, ep->secs + util_now() - t0);
	cJSON_AddItemToArray(f->history, e);
	if (f->h && f->h->epoch)
		f->h->epoch(f->h->arg, e, 0);
	if (!f->p->patience)
		return;
	if (f->best_epoch == 0 || vl < f->best_val) {
		f->best_val = vl;
		f->best_epoch = f->epoch;
		f->bad_epochs = 0;
		memcpy(f->best, nn_params(f->net), f->np * sizeof(float));
	} else if (++f->bad_epochs >= f->p->patience) {
		f->stopped = 1;
	}
}

static cJSON *
finish(struct fit *f, const struct fit_ops *ops, void *arg, char *err,
       size_t errlen)
{
	/* early stopping keeps the weights of the best epoch */
	if (f->best && f->best_epoch > 0 && f->best_epoch != f->epoch) {
		memcpy(nn_params(f->net), f->best, f->np * sizeof(float));
		f->evaluated = 0;
	}
	struct train_summary s = {
	    .p = f->p,
	    .params_json = f->params_json,
	    .history = f->history,
	    .d = &f->d,
	    .net = f->net,
	    .cm = f->cm,
	    .top = f->top,
	    .epochs_trained = f->epoch,
	    .early_stopped = f->stopped,
	    .best_epoch = f->best ? f->best_epoch : -1,
	    .seconds = f->train_secs,
	    .images = f->images,
	};
	/* the last epoch's pass measured these very weights (and filled cm):
	 * a second pass over the split would give the same figures */
	if (f->evaluated)
		s.val_loss = f->last_vl, s.val_acc = f->last_va;
	else
		ops->evaluate(f, arg, fit_val_split(f), &s.val_loss,
		              &s.val_acc);
	return train_write_result(f->dir, &s, ops->more(f, arg), err, errlen);
}

/* For the dashboards: images trained (rate() gives images/s) and the
 * speed of the last step. */
static void
count_images(const struct fit_epoch *ep)
{
	if (ep->samples <= 0)
		return;
	metrics_counter_add("trainyard_train_images_total", ep->samples);
	if (ep->secs > 0)
		metrics_gauge_set("trainyard_train_images_per_second",
		                  ep->samples / ep->secs);
}

enum train_status
fit_loop(struct fit *f, const struct fit_ops *ops, void *arg, cJSON **result,
         char *err, size_t errlen)
{
	*result = NULL;
	while (f->epoch < f->p->epochs && !f->stopped) {
		struct fit_epoch ep = {0};
		f->evaluated = 0;
		if (ops->step(f, arg, &ep))
			return TRAIN_CANCELLED;
		count_images(&ep);
		if (ep.done)
			end_epoch(f, ops, arg, &ep);
		if (ops->after)
			ops->after(f, arg);
		if (save(f, ops, arg, err, errlen))
			return TRAIN_FAILED;
	}
	*result = finish(f, ops, arg, err, errlen);
	return *result ? TRAIN_DONE : TRAIN_FAILED;
}
