/*
 * predict.h — what the predict page and the JSON API share: finding a
 * project's model, calling the infer worker, storing one predictions
 * row per batch (never the image bytes), and the recent-predictions list
 * of the project page.
 */
#ifndef TY_PREDICT_H
#define TY_PREDICT_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "util.h"
#include "web.h"

#define PREDICT_IMAGES_MAX 64 /* images in one batch */
#define PREDICT_TOPK_MAX 20
#define PREDICT_TOPK_DEFAULT 3
#define PREDICT_THUMB_PAGE 96 /* thumbnail edge on the results page */
#define PREDICT_HISTORY_ROWS 10

struct predict_model {
	long long id, run_id, run_number;
	char *arch, *classes_json, *path;
	double val_acc;
	int has_acc;
};

/* Model mid of project pid: 1 found (free with predict_model_free), 0 not. */
int predict_model_get(struct db *db, long long pid, long long mid,
                      struct predict_model *m) TY_WUR;
void predict_model_free(struct predict_model *m);
/* {"id", "run_id", "arch", "val_acc", "classes"}: for the API answer. */
cJSON *predict_model_json(const struct predict_model *m);

/*
 * Sends {model, top_k, thumbnail, user, images} to the infer worker (uid:
 * the user it computes for, so it can take turns; tta: average with
 * the mirror image, docs/infer.md); images is
 * an array of {name, data} and is taken (freed) either way. Returns 0
 * when the worker answered: *status is its HTTP status and *answer its
 * parsed JSON body (NULL if not JSON; caller deletes). Returns -1 when
 * it could not be asked, with a message naming the service in err.
 */
int predict_call(struct web *w, long long uid, const char *model_path,
                 int top_k, int thumbnail, int tta, cJSON *images, long *status,
                 cJSON **answer, char *err, size_t errlen) TY_WUR;

/*
 * Stores the batch (source "page" or "api") and drops the project's rows
 * beyond the newest w->predictions_keep; the new id or < 0.
 */
long long predict_record(struct web *w, long long pid, long long mid,
                         long long uid, const char *source, const cJSON *answer,
                         int nimages);

/*
 * Adds the project's recent predictions to d as rows "predictions"
 * (when, model, images, source, summary); and "has_predictions".
 */
void predict_history(struct db *db, long long pid, struct td *d);

#endif
