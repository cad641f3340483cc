/*
 * main.c — trainyard-infer: POST /predict (DESIGN.md) on the service
 * shell, with a model cache and configurable limits.
 *
 * Configuration (flag or environment, besides svc.h's):
 *	TRAINYARD_INFER_MAX_IMAGES   images per request (1024)
 *	TRAINYARD_INFER_MAX_BODY_MB  request body (TRAINYARD_MAX_BODY_MB, 64)
 *	TRAINYARD_INFER_MAX_PIXELS   width*height of one image (26214400)
 *	TRAINYARD_INFER_CACHE        models kept loaded (4)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <cblas.h>
#include <sodium.h>

#include "blas.h"
#include "cache.h"
#include "predict.h"
#include "req.h"
#include "svc.h"

static struct infer_limits limits;

static int
predict(struct mg_connection *c, void *arg)
{
	double t0 = util_now();
	struct infer_req r;
	struct infer_model *im = NULL;
	struct infer_tally t;
	cJSON *body = NULL, *res;
	char err[768], why[300], *path;
	int st;

	if ((st = svc_read_json(c, limits.max_body, &body, err, sizeof err)))
		return svc_reply_error(c, st, "%s", err);
	if ((st = infer_req_parse(body, &limits, &r, err, sizeof err))) {
		cJSON_Delete(body);
		return svc_reply_error(c, st, "%s", err);
	}
	path = svc_volume_path(svc_models_dir(), r.model, why, sizeof why);
	if (path)
		im = infer_cache_get(path, &st, why, sizeof why);
	free(path);
	if (!im) {
		if (st == 404)
			snprintf(err, sizeof err, "model \"%.200s\" not found "
			    "on the models volume", r.model);
		else
			snprintf(err, sizeof err, "model \"%.200s\" cannot be "
			    "used: %s", r.model, why);
		infer_req_free(&r);
		cJSON_Delete(body);
		return svc_reply_error(c, st ? st : 400, "%s", err);
	}
	res = infer_predict(&r, infer_model_get(im), &limits, svc_threads(),
	    &t);
	infer_cache_release(im);
	infer_req_free(&r);
	cJSON_Delete(body);
	svc_counter_add("trainyard_infer_images_total{result=\"predicted\"}",
	    (double)t.predicted);
	svc_counter_add("trainyard_infer_images_total{result=\"error\"}",
	    (double)t.failed);
	cJSON_AddNumberToObject(res, "ms",
	    round((util_now() - t0) * 1e6) / 1e3);
	st = svc_reply_json(c, 200, res);
	cJSON_Delete(res);
	return st;
}

static const struct svc_route routes[] = {
	{"POST", "/predict", predict, NULL},
};

static int
init(int argc, char **argv)
{
	long v;

	if (sodium_init() < 0) {
		ty_log("libsodium cannot start");
		return 1;
	}
	infer_limits_default(&limits);
	limits.max_body = svc_max_body();
	v = cfg_long(argc, argv, "TRAINYARD_INFER_MAX_BODY_MB", 0);
	if (v > 0)
		limits.max_body = (size_t)v << 20;
	v = cfg_long(argc, argv, "TRAINYARD_INFER_MAX_IMAGES",
	    (long)limits.max_images);
	limits.max_images = v > 0 ? (size_t)v : limits.max_images;
	v = cfg_long(argc, argv, "TRAINYARD_INFER_MAX_PIXELS",
	    (long)limits.max_pixels);
	limits.max_pixels = v > 0 ? (uint64_t)v : limits.max_pixels;
	v = cfg_long(argc, argv, "TRAINYARD_INFER_CACHE", 4);
	infer_cache_init(v > 0 ? (size_t)v : 4);
	/*
	 * Requests run on CivetWeb's threads; each batch may use the
	 * configured compute threads inside OpenBLAS.
	 */
	openblas_set_num_threads(svc_threads());
	ty_log("limits: %zu images, %zu bytes, %llu pixels per image",
	    limits.max_images, limits.max_body,
	    (unsigned long long)limits.max_pixels);
	return 0;
}

static void
fini(void)
{
	infer_cache_shutdown();
}

static const struct svc_def def = {
	.name = "infer",
	.default_port = 8083,
	.routes = routes,
	.nroutes = TY_ARRAY_LEN(routes),
	.init = init,
	.fini = fini,
};

int
main(int argc, char **argv)
{
	blas_select_core(argv);
	return svc_main(argc, argv, &def);
}
