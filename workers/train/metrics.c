/*
 * metrics.c — confusion matrix to precision / recall / F1, and the end of
 * every run (model.tym, metrics.json, the job result), single or federated.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

cJSON *
train_metrics_json(const uint32_t *cm, int k, char **names)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *conf = cJSON_AddArrayToObject(o, "confusion");
	cJSON *pc = cJSON_AddArrayToObject(o, "per_class");
	uint64_t total = 0, right = 0;
	for (int t = 0; t < k; t++) {
		cJSON *row = cJSON_CreateArray();
		for (int p = 0; p < k; p++) {
			uint32_t v = cm[(size_t)t * k + p];
			cJSON_AddItemToArray(row, cJSON_CreateNumber(v));
			total += v;
			right += t == p ? v : 0;
		}
		cJSON_AddItemToArray(conf, row);
	}
	for (int c = 0; c < k; c++) {
		uint64_t tp = cm[(size_t)c * k + c], predicted = 0, actual = 0;
		for (int j = 0; j < k; j++) {
			predicted += cm[(size_t)j * k + c];
			actual += cm[(size_t)c * k + j];
		}
		/* 0 rather than NaN when a class is never predicted/present */
		double prec = predicted ? (double)tp / predicted : 0.0;
		double rec = actual ? (double)tp / actual : 0.0;
		double f1 =
		    prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0.0;
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "class", names ? names[c] : "");
		cJSON_AddNumberToObject(e, "precision", prec);
		cJSON_AddNumberToObject(e, "recall", rec);
		cJSON_AddNumberToObject(e, "f1", f1);
		cJSON_AddNumberToObject(e, "support", (double)actual);
		cJSON_AddItemToArray(pc, e);
	}
	cJSON_AddNumberToObject(o, "accuracy",
	                        total ? (double)right / total : 0.0);
	return o;
}

cJSON *
train_write_result(const char *dir, const struct train_summary *s, cJSON *more,
                   char *err, size_t errlen)
{
	char *mp = xasprintf("%s/model.tym", dir);
	char *jp = xasprintf("%s/metrics.json", dir);
	cJSON *res = NULL;
	cJSON *extra = cJSON_CreateObject();
	cJSON_AddItemToObject(extra, "train",
	                      cJSON_Duplicate(s->params_json, 1));
	cJSON_AddNumberToObject(extra, "epochs_trained", s->epochs_trained);
	enum model_err e =
	    model_save(mp, s->net, &s->d->mm, extra, NULL, 0, err, errlen);
	cJSON_Delete(extra);
	if (e != MODEL_OK)
		goto out;
	res = train_metrics_json(s->cm, s->d->mm.nclasses, s->d->mm.classes);
	cJSON_AddItemToObject(res, "epochs", cJSON_Duplicate(s->history, 1));
	cJSON_AddNumberToObject(res, "val_loss", s->val_loss);
	cJSON_AddNumberToObject(res, "val_acc", s->val_acc);
	cJSON_AddStringToObject(res, "split", s->d->va.count ? "val" : "train");
	cJSON_AddNumberToObject(res, "epochs_trained", s->epochs_trained);
	cJSON_AddBoolToObject(res, "early_stopped", s->early_stopped);
	if (s->best_epoch >= 0)
		cJSON_AddNumberToObject(res, "best_epoch", s->best_epoch);
	/* the patience the run stopped on (train_patience's when left out) */
	if (s->p->patience)
		cJSON_AddNumberToObject(res, "patience", s->p->patience);
	cJSON_AddNumberToObject(res, "seconds", s->seconds);
	cJSON_AddNumberToObject(res, "images_per_second",
	                        s->seconds > 0 ? s->images / s->seconds : 0);
	cJSON_AddNumberToObject(res, "params", (double)nn_nparams(s->net));
	cJSON_AddNumberToObject(res, "forward_flops_per_image",
	                        nn_flops_per_sample(s->net));
	cJSON_AddNumberToObject(res, "train_flops_per_image",
	                        nn_train_flops_per_sample(s->net));
	if (more) {
		cJSON *f;
		while ((f = more->child)) {
			cJSON_DetachItemViaPointer(more, f);
			cJSON_AddItemToObject(res, f->string, f);
		}
	}
	char *js = cJSON_Print(res);
	int rc = util_write_atomic(jp, js, strlen(js));
	free(js);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", jp, strerror(errno));
		cJSON_Delete(res);
		res = NULL;
		goto out;
	}
	char *rel = xasprintf("%s/model.tym", s->p->output);
	cJSON_AddStringToObject(res, "model", rel);
	free(rel);
	rel = xasprintf("%s/metrics.json", s->p->output);
	cJSON_AddStringToObject(res, "metrics", rel);
	free(rel);
	/* the gallery's data; a run without it still has its model */
	char perr[300];
	if (train_write_predictions(dir, s, perr, sizeof(perr)) == 0) {
		rel = xasprintf("%s/predictions.json", s->p->output);
		cJSON_AddStringToObject(res, "predictions", rel);
		free(rel);
	} else {
		ty_log("train: predictions not written: %s", perr);
	}
out:
	cJSON_Delete(more);
	free(mp);
	free(jp);
	return res;
}
