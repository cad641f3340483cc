/*
 * fed.h — parallel training across train replicas by federated averaging
 * (docs/parallel.md).
 *
 * The worker that receives a job with workers = N > 1 is the coordinator.
 * It splits the training split into N stratified, seeded shards; each
 * round it sends the global weights to N replicas (its own shard runs in
 * process), each trains on its shard and answers with its weights and
 * sample count, and the coordinator averages them weighted by samples.
 * After every epoch's last round the averaged model is validated and the
 * epoch reported as train_run reports epochs.
 *
 * Modules:
 *	fed_wire.c   the weights body (TYW1, BLAKE2b) and the round request
 *	fed_local.c  shards, one replica's local training (nn_batch)
 *	fed.c        the coordinator: rounds and faults, a runner of fit.c
 *	fed_http.c   GET /fed/hello, POST /fed/round on every train worker
 *	peer.c       TRAINYARD_TRAIN_PEERS and the HTTP client to peers
 */
#ifndef TY_FED_H
#define TY_FED_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "model.h"
#include "nn.h"
#include "tensor.h"
#include "train.h"
#include "util.h"

/* ---- wire (fed_wire.c) ----
 *
 * Weights, little-endian:
 *	0   "TYW1"
 *	4   u32 version (1)
 *	8   u64 nparams
 *	16  u64 fingerprint of the net's structure (fed_fingerprint)
 *	24  u64 samples this replica trained on (0 in a request)
 *	32  f64 summed training loss over those samples
 *	40  u64 correctly classified training samples
 *	48  u64 reserved (0)
 *	56  f32 params[nparams]
 *	    32-byte BLAKE2b of everything above
 * Round request: "TYFQ", u32 json_len, JSON (the job's params and the
 * task), then a weights body.
 */
#define FED_WIRE_MAGIC "TYW1"
#define FED_REQ_MAGIC "TYFQ"
#define FED_WIRE_HEADER 56
#define FED_WIRE_SUMLEN 32
#define FED_MAX_JSON ((size_t)1 << 20)

enum fed_err {
	FED_OK,
	FED_ETRUNC,    /* length does not match the header */
	FED_EMAGIC,    /* not a weights / round body */
	FED_EVERSION,  /* unknown version */
	FED_ECHECKSUM, /* corrupted in transit */
	FED_ESHAPE,    /* weights for another net */
	FED_EJSON,     /* the request's JSON part */
	FED_ERR__MAX
};

const char *fed_strerror(enum fed_err e);

struct fed_stats {
	uint64_t samples, correct;
	double loss; /* summed over samples */
};

/* A weights body for net's params; *out is the caller's to free. */
void fed_wire_encode(const nn_net *net, const struct fed_stats *st,
                     uint8_t **out, size_t *outlen);
/* Checks buf against net (length, magic, version, checksum, nparams,
 * fingerprint), then copies the weights into dst (nparams floats) and
 * the stats into st. dst is untouched on failure. */
enum fed_err fed_wire_decode(const void *buf, size_t len, const nn_net *net,
                             float *dst, struct fed_stats *st) TY_WUR;
/* Splits a round request into its JSON (parsed, caller frees) and the
 * weights body that follows (pointing into buf). */
enum fed_err fed_request_split(const void *buf, size_t len, cJSON **json,
                               const uint8_t **wbuf, size_t *wlen) TY_WUR;
/* "TYFQ" + json + weights; *out is the caller's to free. */
void fed_request_encode(const cJSON *json, const uint8_t *w, size_t wlen,
                        uint8_t **out, size_t *outlen);

/*
 * out[i] = sum_k w[k][i] * n[k] / sum_k n[k], summed in k order in double
 * (the result depends on the order of the replicas' answers only through
 * k, never on timing). Replicas with n[k] == 0 are left out; returns -1
 * (out untouched) when every n[k] is 0.
 */
int fed_average(const float *const *w, const double *n, int k, size_t np,
                float *out) TY_WUR;

/* ---- data and local training (fed_local.c) ---- */

/*
 * Shard s of n of the labels: every class's indices shuffled with seed
 * and dealt round-robin, continuing the deal across classes so shard
 * sizes differ by at most one. Sorted ascending; *count entries.
 */
uint32_t *fed_shard(const uint16_t *labels, uint32_t count, uint64_t seed,
                    int n, int s, uint32_t *outcount);

/* Images per forward pass of a replica's single thread: ~512 KiB of
 * activations, so a conv batch stays in the cache. */
#define FED_CHUNK_BYTES (1u << 19)

/* One replica's work in a round. */
struct fed_task {
	int shard, nshards;
	int epoch;            /* 0-based */
	int step_lo, step_hi; /* batches of the shard's epoch order */
};

/* Batches in one epoch of shard s (same for every replica). */
int fed_shard_batches(const struct train_params *p, const struct train_data *d,
                      int nshards, int s);

/*
 * Trains net in place on task's shard and batches, with a fresh optimiser
 * and an RNG seeded from (seed, epoch, shard), so the result depends only
 * on the task. Returns 0, 1 when cancelled (cancelled may be NULL).
 */
int fed_local_train(const struct train_params *p, const struct train_data *d,
                    nn_net *net, const struct fed_task *t,
                    int (*cancelled)(void *), void *arg, struct fed_stats *st);

/* ---- peers (peer.c) ---- */

/*
 * The peers of spec (TRAINYARD_TRAIN_PEERS): "http://a:8082,http://b:8082"
 * or a DNS name[:port] whose every address is a peer (port default
 * default_port). *urls (n strings, caller frees with peer_list_free) may
 * include this worker itself. 0 or -1 with err.
 */
int peer_list(const char *spec, int default_port, char ***urls, int *n,
              char *err, size_t errlen) TY_WUR;
void peer_list_free(char **urls, int n);

/* This process's random instance id (32 hex digits). */
const char *peer_instance(void);

/* GET url/fed/hello; fills instance (33 bytes). 0 or -1 with err. */
int peer_hello(const char *url, double timeout_s, char *instance, char *err,
               size_t errlen) TY_WUR;

/*
 * POST url/fed/round with body; on 200, *resp (caller frees) gets the
 * answer. Gives up after timeout_s or when cancelled(arg) turns non-zero.
 * 0 or -1 with err.
 */
int peer_round(const char *url, const uint8_t *body, size_t len,
               double timeout_s, int (*cancelled)(void *), void *arg,
               uint8_t **resp, size_t *resplen, char *err,
               size_t errlen) TY_WUR;

/* ---- the coordinator (fed.c) ---- */

/*
 * train_run for p->workers > 1: same result object (plus "workers",
 * "rounds", "bytes_per_round", "messages"), same files. note (may be
 * NULL) gets every fault message as it happens, with hooks->arg.
 */
enum train_status fed_run(const struct train_params *p, const char *data_dir,
                          const char *models_dir, int threads,
                          const struct train_hooks *hooks,
                          void (*note)(void *arg, const char *msg),
                          cJSON **result, char *err, size_t errlen);

/* ---- routes (fed_http.c) ---- */

struct mg_connection;
int fed_http_hello(struct mg_connection *c, void *arg);
int fed_http_round(struct mg_connection *c, void *arg);
/* A note hook for fed_run that appends to a job's result.messages. */
void fed_job_note(void *job, const char *msg);

#endif
