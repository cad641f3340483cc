/*
 * infer.h — answering one validated request: every image decoded
 * through img.h's path (in parallel), the good ones run through the
 * network as one batch, then labels, top-k and thumbnails.
 */
#ifndef TY_INFER_H
#define TY_INFER_H

#include <cjson/cJSON.h>

#include "model.h"
#include "req.h"

/* What one request did, for /metrics. */
struct infer_tally {
	size_t predicted; /* images answered with a label */
	size_t failed;    /* images answered with an error */
	int gone;         /* the client left: the answer is not worth sending */
};

/*
 * The response object {"predictions": [...]} for r on m (the caller adds
 * "ms"). Decoding uses up to threads threads. Never fails: an image that
 * cannot be used gets its own "error". When r->peer_fd shows the client
 * has left, the remaining images are not decoded, the network is not
 * run, and t->gone is set.
 */
cJSON *infer_predict(const struct infer_req *r, const model *m,
                     const struct infer_limits *lim, int threads,
                     struct infer_tally *t);

/*
 * Whether n images fit the batch limit for a network input of w x h x c;
 * 0, or 413 with a message in err.
 */
int infer_batch_check(const struct infer_limits *lim, size_t n, int w, int h,
                      int c, char *err, size_t errlen) TY_WUR;

/*
 * The n best of probs[0..k) in order, ties to the lower index; n <= k.
 * Exposed for tests.
 */
void infer_top_k(const float *probs, int k, int n, int *idx);

#endif
