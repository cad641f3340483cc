/*
 * main.c — trainyard-infer: POST /predict (DESIGN.md) on the service
 * shell, with a model cache and configurable limits.
 *
 * Configuration (flag or environment, besides svc.h's):
 *	TRAINYARD_INFER_MAX_IMAGES   images per request (1024)
 *	TRAINYARD_INFER_MAX_BODY_MB  request body (TRAINYARD_MAX_BODY_MB, 64)
 *	TRAINYARD_INFER_MAX_PIXELS   width*height of one image (26214400)
 *	TRAINYARD_INFER_MAX_BATCH_MB network input per request (1024)
 *	TRAINYARD_INFER_CACHE        models kept loaded (4)
 *	TRAINYARD_INFER_CONCURRENCY  small requests computing at once
 *	                             (threads)
 *	TRAINYARD_INFER_LARGE_CONCURRENCY  large ones (threads - 1, >= 1)
 *	TRAINYARD_INFER_REQUEST_MPX  million pixels of all images of one
 *	                             request, from their headers (64)
 *	TRAINYARD_INFER_SMALL_MPX    a request up to this is "small" (2)
 */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <civetweb.h>
#include <sodium.h>

#include "blas.h"
#include "cache.h"
#include "infer.h"
#include "lane.h"
#include "req.h"
#include "metrics.h"
#include "confine.h"
#include "svc.h"

static struct infer_limits limits;
/*
 * Decoding threads of one large request, and large requests at once:
 * one core fewer than the machine's, so a small request always finds
 * one (beside two large requests a 1-image predict's p99 was 58 ms with
 * every core decoding, even at nice 10).
 */
static int large_threads = 1;

struct call {
	char *body;
	size_t len;
	double t0;
	int status;
	char *reply; /* JSON text, cJSON_free */
	struct mg_connection *c;
	char err[768];
};

/* Status logged for a request whose client left (nginx's number). */
#define CLIENT_GONE 499
/*
 * A body declared this large is read and parsed on a low-priority
 * thread: a 280 MB body took a core for a second at full priority, and a
 * 1-image request beside two of them waited up to 45 ms instead of 20.
 */
#define BIG_BODY (1u << 20)

static char *
error_json(const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(o, "error", msg);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* Loads the model and answers r (holding a lane slot). */
static int
compute(struct call *k, struct infer_req *r, int threads, char *err,
        size_t errlen)
{
	struct infer_model *im = NULL;
	struct infer_tally t;
	const struct model_meta *mm;
	cJSON *res;
	char why[300], *path;
	int st;

	path = svc_volume_path(svc_models_dir(), r->model, why, sizeof why);
	if (path)
		im = infer_cache_get(path, &st, why, sizeof why);
	free(path);
	if (!im) {
		if (st == 404)
			snprintf(err, errlen,
			         "model \"%.200s\" not found on "
			         "the models volume",
			         r->model);
		else
			snprintf(err, errlen,
			         "model \"%.200s\" cannot be "
			         "used: %s",
			         r->model, why);
		return st;
	}
	mm = model_meta(infer_model_get(im));
	if ((st = infer_batch_check(&limits, r->nimages, mm->width, mm->height,
	                            mm->channels, err, errlen))) {
		infer_cache_release(im);
		return st;
	}
	res = infer_predict(r, infer_model_get(im), &limits, threads, &t);
	infer_cache_release(im);
	if (t.gone) {
		cJSON_Delete(res);
		snprintf(err, errlen, "the client left");
		return CLIENT_GONE;
	}
	metrics_counter_add(
	    "trainyard_infer_images_total{result=\"predicted\"}",
	    (double)t.predicted);
	metrics_counter_add("trainyard_infer_images_total{result=\"error\"}",
	                    (double)t.failed);
	cJSON_AddNumberToObject(res, "ms",
	                        round((util_now() - k->t0) * 1e6) / 1e3);
	k->reply = cJSON_PrintUnformatted(res);
	cJSON_Delete(res);
	return 200;
}

struct turn {
	struct call *k;
	struct infer_req *r;
	int threads;
	char *err;
	size_t errlen;
	int status;
};

static void
turn(void *arg)
{
	struct turn *t = arg;

	t->status = compute(t->k, t->r, t->threads, t->err, t->errlen);
}

static int
answer(struct call *k, char *err, size_t errlen)
{
	struct infer_req r;
	struct turn tk;
	enum infer_lane lane;
	cJSON *body;
	int st;

	if (k->len == 0) {
		snprintf(err, errlen, "empty body: a JSON object is required");
		return 400;
	}
	body = cJSON_ParseWithLength(k->body, k->len);
	if (!body) {
		snprintf(err, errlen, "body is not valid JSON");
		return 400;
	}
	if ((st = infer_req_parse(body, &limits, &r, err, errlen))) {
		cJSON_Delete(body);
		return st;
	}
	/* Models are runs/<run>/model.tym only (confine.h). */
	if (confine_path(CONFINE_MODEL, NULL, r.model, err, errlen)) {
		snprintf(err, errlen,
		         "\"model\" must have the form "
		         "runs/<run>/model.tym");
		infer_req_free(&r);
		cJSON_Delete(body);
		return 400;
	}
	/* The budget is checked before any waiting or decoding. */
	if ((st = infer_req_pixels(&r, &limits, err, errlen))) {
		infer_req_free(&r);
		cJSON_Delete(body);
		return st;
	}
	lane = r.pixels > limits.small_pixels ? INFER_LANE_LARGE
	                                      : INFER_LANE_SMALL;
	if (lane == INFER_LANE_LARGE)
		r.peer_fd = infer_peer_fd(k->c);
	tk = (struct turn){
	    k,
	    &r,
	    lane == INFER_LANE_LARGE ? large_threads : svc_threads(),
	    err,
	    errlen,
	    0};
	if (infer_lane_run(lane, r.user, r.peer_fd, turn, &tk)) {
		snprintf(err, errlen, "the client left while waiting");
		tk.status = CLIENT_GONE;
	}
	st = tk.status;
	infer_req_free(&r);
	cJSON_Delete(body);
	return st;
}

/* Reads the body and answers it, on the caller's thread or a
 * low-priority one (BIG_BODY). */
static void
answer_call(void *arg)
{
	struct call *k = arg;

	if ((k->status = svc_read_body(k->c, limits.max_body, &k->body, &k->len,
	                               k->err, sizeof k->err)))
		return;
	k->status = answer(k, k->err, sizeof k->err);
}

/* svc calls this on a thread with a roomy stack (stack.h): decoders,
 * BLAS and cJSON fit there. */
static int
predict(struct mg_connection *c, void *arg)
{
	struct call k = {.t0 = util_now(), .c = c};
	long long declared = mg_get_request_info(c)->content_length;

	if (declared > (long long)BIG_BODY)
		infer_background(answer_call, &k);
	else
		answer_call(&k);
	free(k.body);
	if (k.status == CLIENT_GONE)
		return k.status; /* nobody to answer */
	if (k.status != 200)
		k.reply = error_json(k.err);
	if (!k.reply)
		abort(); /* cJSON fails only when out of memory */
	svc_reply(c, k.status, "application/json", k.reply, strlen(k.reply));
	cJSON_free(k.reply);
	return k.status;
}

static const struct svc_route routes[] = {
    {"POST", "/predict", predict, NULL, SVC_TOKEN},
};

static int
init(int argc, char **argv)
{
	long v;
	int slots, large_slots;

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
	v = cfg_long(argc, argv, "TRAINYARD_INFER_MAX_BATCH_MB", 0);
	if (v > 0)
		limits.max_batch = (uint64_t)v << 20;
	v = cfg_long(argc, argv, "TRAINYARD_INFER_REQUEST_MPX", 0);
	if (v > 0 && v < 1000000)
		limits.max_request_pixels = (uint64_t)v * 1000000;
	v = cfg_long(argc, argv, "TRAINYARD_INFER_SMALL_MPX", 0);
	if (v > 0 && v < 1000000)
		limits.small_pixels = (uint64_t)v * 1000000;
	v = cfg_long(argc, argv, "TRAINYARD_INFER_CONCURRENCY", svc_threads());
	slots = v > 0 && v <= 1024 ? (int)v : svc_threads();
	infer_lane_init(INFER_LANE_SMALL, slots);
	large_threads = svc_threads() > 1 ? svc_threads() - 1 : 1;
	v = cfg_long(argc, argv, "TRAINYARD_INFER_LARGE_CONCURRENCY",
	             slots > 1 ? slots - 1 : 1);
	large_slots = v > 0 && v <= 1024 ? (int)v : 1;
	infer_lane_init(INFER_LANE_LARGE, large_slots);
	v = cfg_long(argc, argv, "TRAINYARD_INFER_CACHE", 4);
	infer_cache_init(v > 0 ? (size_t)v : 4);
	/*
	 * Requests run on CivetWeb's threads; a batch is split across up to
	 * TRAINYARD_THREADS threads by infer.c, each calling BLAS
	 * single-threaded: on these small products OpenBLAS's own threads
	 * spent more time yielding than multiplying (a 256-image request
	 * took 62 ms of CPU, half of it sched_yield and the kernel).
	 */
	openblas_set_num_threads(1);
	/*
	 * A request's buffers (a context is up to a few MB) come from
	 * the heap and are reused, not mmapped fresh and faulted in page
	 * by page every time: page faults in im2col were 5% of a 256-image
	 * request. RSS keeps what the busiest moment needed.
	 */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	ty_log("limits: %zu images, %zu bytes, %llu pixels per image, "
	       "%llu per request; %d small requests at once (up to %llu "
	       "pixels), %d large on %d threads each",
	       limits.max_images, limits.max_body,
	       (unsigned long long)limits.max_pixels,
	       (unsigned long long)limits.max_request_pixels, slots,
	       (unsigned long long)limits.small_pixels, large_slots,
	       large_threads);
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
