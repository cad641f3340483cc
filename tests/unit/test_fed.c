/*
 * test_fed.c — federated averaging without HTTP peers: the weighted mean
 * (table), the weights body and its refusals (checksum, shape, length,
 * magic, version), the round request, stratified shards, peer lists, and
 * fed_run with every shard in process: it learns, is bit-identical for a
 * seed and N, and resumes from its round checkpoint to the same bytes.
 */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "../th.h"
#include "model.h"
#include "tensor.h"
#include "../../workers/train/fed.h"

static char root[] = "/tmp/ty-fed-XXXXXX";
static char *data_dir, *models_dir;

/* As test_train.c: 0 a horizontal bar, 1 a vertical bar, 2 a blob. */
static void
make_set(const char *name, int ntr, int nva)
{
	enum { S = 12 };
	char err[256];
	char *dir = xasprintf("%s/%s", data_dir, name);
	if (util_mkdirs(dir, 0755))
		abort();
	struct nn_rng r;
	nn_rng_seed(&r, 42);
	for (int split = 0; split < 2; split++) {
		int n = split ? nva : ntr;
		uint16_t *lab = xmalloc(sizeof(uint16_t) * n);
		uint8_t *px = xmalloc((size_t)n * S * S);
		for (int i = 0; i < n; i++) {
			int c = (int)nn_rng_below(&r, 3);
			uint8_t *im = px + (size_t)i * S * S;
			for (int j = 0; j < S * S; j++)
				im[j] = (uint8_t)nn_rng_below(&r, 60);
			int a = 1 + (int)nn_rng_below(&r, S - 4);
			int b = 1 + (int)nn_rng_below(&r, S - 4);
			for (int k = 0; k < S; k++) {
				if (c == 0)
					im[a * S + k] = 250;
				else if (c == 1)
					im[k * S + a] = 250;
			}
			if (c == 2)
				for (int y = 0; y < 3; y++)
					for (int x = 0; x < 3; x++)
						im[(a + y) * S + b + x] = 250;
			lab[i] = (uint16_t)c;
		}
		char *p = xasprintf("%s/%s.tyd", dir, split ? "val" : "train");
		if (tensor_write(p, (uint32_t)n, S, S, 1, 3, lab, px, err,
		                 sizeof(err)))
			fprintf(stderr, "%s\n", err), abort();
		free(p);
		free(lab);
		free(px);
	}
	char *m = xasprintf("%s/meta.json", dir);
	const char *js = "{\"classes\":[\"h\",\"v\",\"blob\"],"
	                 "\"mean\":[0.2],\"std\":[0.3]}";
	if (util_write_atomic(m, js, strlen(js)))
		abort();
	free(m);
	free(dir);
}

static nn_net *
dense_net(int in, int hid, enum nn_kind act, int out)
{
	struct nn_spec s[] = {
	    {.kind = NN_DENSE, .out = hid},
	    {.kind = act},
	    {.kind = NN_DENSE, .out = out},
	};
	char err[128];
	nn_net *n = nn_new(1, 1, in, s, 3, NN_LOSS_XENT, err, sizeof(err));
	if (!n)
		abort();
	nn_init(n, 7);
	return n;
}

static void
test_average(void)
{
	static const struct {
		const char *name;
		int k;
		double n[3];
		float w[3][2];
		float want[2];
		int rc;
	} rows[] = {
	    {"one replica", 1, {5}, {{1, -2}}, {1, -2}, 0},
	    {"equal weights", 2, {3, 3}, {{0, 4}, {2, 8}}, {1, 6}, 0},
	    {"by samples", 2, {1, 3}, {{0, 4}, {4, 0}}, {3, 1}, 0},
	    {"zero-sample replica left out",
	     3,
	     {2, 0, 2},
	     {{1, 1}, {100, 100}, {3, 5}},
	     {2, 3},
	     0},
	    {"three uneven", 3, {1, 2, 1}, {{4, 0}, {0, 0}, {0, 8}}, {1, 2}, 0},
	    {"nobody trained", 2, {0, 0}, {{1, 1}, {2, 2}}, {9, 9}, -1},
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST(rows[i].name)
		{
			const float *w[3];
			for (int k = 0; k < rows[i].k; k++)
				w[k] = rows[i].w[k];
			float out[2] = {9, 9};
			CHECK(fed_average(w, rows[i].n, rows[i].k, 2, out) ==
			      rows[i].rc);
			for (int j = 0; j < 2; j++)
				CHECK(fabsf(out[j] - rows[i].want[j]) < 1e-6f);
		}
	}
}

static void
test_wire(void)
{
	nn_net *a = dense_net(4, 3, NN_RELU, 2);
	nn_net *b = dense_net(4, 3, NN_RELU, 2);
	nn_net *other = dense_net(4, 5, NN_RELU, 2);
	nn_net *same_n = dense_net(4, 3, NN_SIGMOID, 2);
	size_t np = nn_nparams(a);
	struct fed_stats st = {123, 45, 6.5}, got;
	uint8_t *buf;
	size_t len;
	fed_wire_encode(a, &st, &buf, &len);
	TH_TEST("wire: round trip")
	{
		float *dst = xcalloc(np, sizeof(float));
		CHECK(len == FED_WIRE_HEADER + np * 4 + FED_WIRE_SUMLEN);
		CHECK(fed_wire_decode(buf, len, b, dst, &got) == FED_OK);
		CHECK(memcmp(dst, nn_params(a), np * 4) == 0);
		CHECK(got.samples == 123 && got.correct == 45 &&
		      got.loss == 6.5);
		free(dst);
	}
	static const struct {
		const char *name;
		long off; /* byte to flip; -1 none */
		long cut; /* bytes to drop from the end */
		int net;  /* 0 b, 1 other, 2 same_n */
		enum fed_err want;
	} rows[] = {
	    {"wire: flipped weight byte", FED_WIRE_HEADER + 3, 0, 0,
	     FED_ECHECKSUM},
	    {"wire: flipped checksum byte", -2, 0, 0, FED_ECHECKSUM},
	    {"wire: flipped samples", 25, 0, 0, FED_ECHECKSUM},
	    {"wire: magic", 0, 0, 0, FED_EMAGIC},
	    {"wire: version", 4, 0, 0, FED_EVERSION},
	    {"wire: nparams", 8, 0, 0, FED_ETRUNC},
	    {"wire: truncated", -1, 4, 0, FED_ETRUNC},
	    {"wire: header only", -1, -3, 0, FED_ETRUNC},
	    {"wire: other shape", -1, 0, 1, FED_ESHAPE},
	    {"wire: same count, other layers", -1, 0, 2, FED_ESHAPE},
	};
	nn_net *nets[] = {b, other, same_n};
	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST(rows[i].name)
		{
			uint8_t *c = xmalloc(len);
			memcpy(c, buf, len);
			long off =
			    rows[i].off == -2 ? (long)len - 1 : rows[i].off;
			if (off >= 0)
				c[off] ^= 0x40;
			nn_net *n = nets[rows[i].net];
			float *dst = xcalloc(nn_nparams(n), sizeof(float));
			/* -3: only the header and checksum are left */
			size_t cut = rows[i].cut == -3 ? np * 4 + 10
			                               : (size_t)rows[i].cut;
			CHECK(fed_wire_decode(c, len - cut, n, dst, NULL) ==
			      rows[i].want);
			/* nothing copied on a refusal */
			for (size_t j = 0; j < nn_nparams(n); j++)
				CHECK(dst[j] == 0);
			free(dst);
			free(c);
		}
	}
	TH_TEST("wire: refusals have messages")
	{
		for (int e = 0; e < FED_ERR__MAX; e++)
			CHECK(strlen(fed_strerror(e)) > 1);
		CHECK(strcmp(fed_strerror(FED_ERR__MAX), "unknown error") == 0);
	}
	TH_TEST("request: round trip and refusals")
	{
		cJSON *j = cJSON_Parse("{\"task\":{\"shard\":1}}"), *got2;
		uint8_t *r;
		size_t rl;
		const uint8_t *w;
		size_t wl;
		fed_request_encode(j, buf, len, &r, &rl);
		CHECK(fed_request_split(r, rl, &got2, &w, &wl) == FED_OK);
		CHECK(cJSON_Compare(j, got2, 1));
		CHECK(wl == len && memcmp(w, buf, len) == 0);
		cJSON_Delete(got2);
		CHECK(fed_request_split(r, 7, &got2, &w, &wl) == FED_ETRUNC);
		CHECK(got2 == NULL);
		r[6] = 0x7f; /* json length beyond the body */
		CHECK(fed_request_split(r, rl, &got2, &w, &wl) == FED_ETRUNC);
		r[6] = 0;
		r[8] = '[';
		CHECK(fed_request_split(r, rl, &got2, &w, &wl) == FED_EJSON);
		r[0] = 'X';
		CHECK(fed_request_split(r, rl, &got2, &w, &wl) == FED_EMAGIC);
		free(r);
		cJSON_Delete(j);
	}
	free(buf);
	nn_free(a);
	nn_free(b);
	nn_free(other);
	nn_free(same_n);
}

static void
test_shards(void)
{
	enum { N = 1003, K = 4 };
	uint16_t lab[N];
	struct nn_rng r;
	nn_rng_seed(&r, 5);
	for (int i = 0; i < N; i++)
		lab[i] = (uint16_t)(i < 40 ? 3 : nn_rng_below(&r, 3));
	for (int n = 1; n <= 5; n++) {
		char name[64];
		snprintf(name, sizeof(name),
		         "shards: %d, disjoint, "
		         "stratified, balanced",
		         n);
		TH_TEST(name)
		{
			int seen[N] = {0};
			uint32_t total = 0, mn = N, mx = 0;
			for (int s = 0; s < n; s++) {
				uint32_t m, per[K] = {0};
				uint32_t *sh = fed_shard(lab, N, 9, n, s, &m);
				for (uint32_t i = 0; i < m; i++) {
					CHECK(sh[i] < N);
					seen[sh[i]]++;
					per[lab[sh[i]]]++;
					if (i)
						CHECK(sh[i] > sh[i - 1]);
				}
				/* every class within one of its fair share */
				uint32_t all[K] = {0};
				for (int i = 0; i < N; i++)
					all[lab[i]]++;
				for (int c = 0; c < K; c++)
					CHECK(fabs((double)per[c] -
					           (double)all[c] / n) <= 1.0);
				/* size as fed_shard_batches assumes */
				CHECK(m == (N - (uint32_t)s + n - 1) / n);
				total += m;
				mn = m < mn ? m : mn;
				mx = m > mx ? m : mx;
				free(sh);
			}
			CHECK(total == N && mx - mn <= 1);
			for (int i = 0; i < N; i++)
				CHECK(seen[i] == 1);
		}
	}
	TH_TEST("shards: seeded")
	{
		uint32_t m1, m2, m3;
		uint32_t *a = fed_shard(lab, N, 9, 3, 1, &m1);
		uint32_t *b = fed_shard(lab, N, 9, 3, 1, &m2);
		uint32_t *c = fed_shard(lab, N, 10, 3, 1, &m3);
		CHECK(m1 == m2 && memcmp(a, b, m1 * 4) == 0);
		CHECK(m1 != m3 || memcmp(a, c, m1 * 4) != 0);
		free(a);
		free(b);
		free(c);
	}
}

static void
test_peers(void)
{
	static const struct {
		const char *spec;
		int n;
		const char *first, *err;
	} rows[] = {
	    {"", 0, NULL, NULL},
	    {"http://a:1, http://b:2/ ,,http://a:1", 2, "http://a:1", NULL},
	    {"http://only:8082", 1, "http://only:8082", NULL},
	    {"localhost:9000", -1, NULL, NULL}, /* 1 or 2 (::1) */
	    {"ftp://x:1", 0, NULL, "not an http"},
	    {"http://a b:1,http://c:2", 0, NULL, "not an http"},
	    {"bad host!", 0, NULL, "bad host"},
	    {"host:99999", 0, NULL, "bad port"},
	    {"no-such-host.invalid", 0, NULL, "cannot resolve"},
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		char name[128], err[256] = "";
		snprintf(name, sizeof(name), "peers: \"%s\"", rows[i].spec);
		TH_TEST(name)
		{
			char **u;
			int n;
			int rc = peer_list(rows[i].spec, 8082, &u, &n, err,
			                   sizeof(err));
			if (rows[i].err) {
				CHECK(rc == -1 && strstr(err, rows[i].err));
				CHECK(n == 0 && u == NULL);
			} else if (rows[i].n < 0) {
				CHECK(rc == 0 && n >= 1);
				for (int k = 0; k < n; k++)
					CHECK(strstr(u[k], ":9000") &&
					      strncmp(u[k], "http://", 7) == 0);
			} else {
				CHECK(rc == 0 && n == rows[i].n);
				if (rows[i].first && n > 0)
					CHECK(strcmp(u[0], rows[i].first) == 0);
			}
			peer_list_free(u, n);
		}
	}
	TH_TEST("peers: instance id")
	{
		CHECK(strlen(peer_instance()) == 32);
		CHECK(strcmp(peer_instance(), peer_instance()) == 0);
	}
}

static int cancel_after, calls;

static int
cancel_hook(void *arg)
{
	(void)arg;
	return ++calls > cancel_after;
}

static enum train_status
fed(const char *js, cJSON **res, const struct train_hooks *h)
{
	struct train_params p;
	char err[512];
	cJSON *j = cJSON_Parse(js);
	int rc = train_params_parse(j, &p, err, sizeof(err));
	cJSON_Delete(j);
	if (rc) {
		fprintf(stderr, "params: %s\n", err);
		return TRAIN_FAILED;
	}
	enum train_status st = fed_run(&p, data_dir, models_dir, 1, h, NULL,
	                               res, err, sizeof(err));
	if (st == TRAIN_FAILED)
		fprintf(stderr, "fed: %s\n", err);
	return st;
}

static uint8_t *
slurp(const char *out, size_t *len)
{
	char *p = xasprintf("%s/%s/model.tym", models_dir, out);
	uint8_t *b = (uint8_t *)util_read_file(p, 1 << 26, len);
	free(p);
	return b;
}

#define RUN(out, extra)                                                        \
	"{\"data\":\"syn\",\"output\":\"" out "\",\"model\":{\"arch\":"        \
	"\"mlp\",\"hidden\":[24]},\"epochs\":6,\"batch_size\":16,"             \
	"\"lr\":0.003,\"seed\":4,\"workers\":3" extra "}"

static void
test_run(void)
{
	make_set("syn", 600, 150);
	unsetenv("TRAINYARD_TRAIN_PEERS");
	cJSON *r1 = NULL, *r2 = NULL, *r3 = NULL;
	TH_TEST("fed_run: 3 shards in process learn the set")
	{
		CHECK(fed(RUN("a", ""), &r1, NULL) == TRAIN_DONE);
		if (r1) {
			double acc =
			    cJSON_GetObjectItem(r1, "val_acc")->valuedouble;
			CHECK(acc > 0.9);
			CHECK(cJSON_GetArraySize(
			          cJSON_GetObjectItem(r1, "epochs")) == 6);
			CHECK(cJSON_GetObjectItem(r1, "rounds")->valueint == 6);
			CHECK(cJSON_GetObjectItem(r1, "workers")->valueint ==
			      3);
			/* the run says its shards did not leave this worker */
			cJSON *m = cJSON_GetObjectItem(r1, "messages");
			CHECK(cJSON_GetArraySize(m) == 1 &&
			      strstr(m->child->valuestring, "no other train"));
		}
	}
	TH_TEST("fed_run: identical bytes for the same seed and N")
	{
		CHECK(fed(RUN("b", ""), &r2, NULL) == TRAIN_DONE);
		size_t l1 = 0, l2 = 0;
		uint8_t *a = slurp("a", &l1), *b = slurp("b", &l2);
		CHECK(a && b && l1 == l2 && memcmp(a, b, l1) == 0);
		free(a);
		free(b);
	}
	TH_TEST("fed_run: local_steps gives rounds within epochs")
	{
		/* shard 0: 200 images = 13 batches -> 3 rounds of 5 */
		CHECK(fed("{\"data\":\"syn\",\"output\":\"c\",\"epochs\":2,"
		          "\"batch_size\":16,\"workers\":3,"
		          "\"local_steps\":5}",
		          &r3, NULL) == TRAIN_DONE);
		if (r3) {
			CHECK(cJSON_GetObjectItem(r3, "rounds")->valueint == 6);
			CHECK(cJSON_GetArraySize(
			          cJSON_GetObjectItem(r3, "epochs")) == 2);
		}
	}
	TH_TEST("fed_run: resume after cancel gives the same model")
	{
		cJSON *r = NULL;
		struct train_hooks h = {NULL, NULL, NULL, cancel_hook};
		/* cancelled somewhere in round 3 */
		cancel_after = 100, calls = 0;
		CHECK(fed(RUN("d", ""), &r, &h) == TRAIN_CANCELLED);
		CHECK(r == NULL);
		char *ck = xasprintf("%s/d/checkpoint.tym", models_dir);
		CHECK(access(ck, F_OK) == 0);
		free(ck);
		CHECK(fed(RUN("d", ""), &r, NULL) == TRAIN_DONE);
		/* the restored messages, without the same one twice */
		CHECK(r && cJSON_GetArraySize(
		               cJSON_GetObjectItem(r, "messages")) == 1);
		size_t l1 = 0, l2 = 0;
		uint8_t *a = slurp("a", &l1), *b = slurp("d", &l2);
		CHECK(a && b && l1 == l2 && memcmp(a, b, l1) == 0);
		free(a);
		free(b);
		cJSON_Delete(r);
	}
	TH_TEST("fed_run: more workers than images fails with a reason")
	{
		make_set("tiny", 2, 2);
		cJSON *r = NULL;
		CHECK(fed("{\"data\":\"tiny\",\"output\":\"t\",\"workers\":3}",
		          &r, NULL) == TRAIN_FAILED);
		CHECK(r == NULL);
	}
	cJSON_Delete(r1);
	cJSON_Delete(r2);
	cJSON_Delete(r3);
}

int
main(void)
{
	if (!mkdtemp(root))
		return 1;
	data_dir = xasprintf("%s/data", root);
	models_dir = xasprintf("%s/models", root);
	if (util_mkdirs(data_dir, 0755) || util_mkdirs(models_dir, 0755))
		return 1;
	test_average();
	test_wire();
	test_shards();
	test_peers();
	test_run();
	if (util_rmtree(root))
		fprintf(stderr, "cannot remove %s\n", root);
	free(data_dir);
	free(models_dir);
	return th_done();
}
