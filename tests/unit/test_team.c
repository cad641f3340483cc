/*
 * test_team.c — nn_team (an all-dense net trained by T threads, each
 * weight matrix split by rows) against the one-thread path: after a few
 * steps of SGD with momentum and decay, and of Adam, the weights agree
 * with nn_forward + nn_loss_backward + nn_opt_step to float rounding, for
 * widths that do and do not split evenly, batches smaller than T and
 * nets that end in a sigmoid. Also which nets fit, and that a team with
 * dropout gives the same bytes twice.
 */
#include <math.h>
#include <stdlib.h>

#include "../th.h"
#include "nn.h"
#include "nn_pool.h"

struct job {
	nn_team *team;
	struct nn_opt *opt;
	const uint16_t *lab;
	const float *tgt;
	int n;
	struct nn_rng rng[NN_MAX_THREADS];
	double loss[NN_MAX_THREADS];
	int correct[NN_MAX_THREADS];
};

static void
team_job(void *arg, int tid, int T)
{
	struct job *j = arg;
	(void)T;
	j->loss[tid] = nn_team_step(j->team, tid, j->opt, j->lab, j->tgt, j->n,
	                            &j->rng[tid], &j->correct[tid]);
}

static nn_net *
mlp(int in, const int *hidden, int nh, int out, int sigmoid, float drop)
{
	struct nn_spec s[16];
	int k = 0;
	char err[128];
	s[k++] = (struct nn_spec){.kind = NN_FLATTEN};
	for (int i = 0; i < nh; i++) {
		s[k++] = (struct nn_spec){.kind = NN_DENSE, .out = hidden[i]};
		s[k++] = (struct nn_spec){.kind = NN_RELU};
		if (drop > 0)
			s[k++] =
			    (struct nn_spec){.kind = NN_DROPOUT, .p = drop};
	}
	s[k++] = (struct nn_spec){.kind = NN_DENSE, .out = out};
	if (sigmoid)
		s[k++] = (struct nn_spec){.kind = NN_SIGMOID};
	nn_net *net =
	    nn_new(1, 1, in, s, k, sigmoid ? NN_LOSS_MSE : NN_LOSS_XENT, err,
	           sizeof(err));
	if (!net)
		fprintf(stderr, "nn_new: %s\n", err);
	return net;
}

/* Largest |a - b| relative to max(1, |b|) over n floats. */
static double
maxdiff(const float *a, const float *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - b[i]) /
		           (fabs((double)b[i]) > 1 ? fabs((double)b[i]) : 1);
		if (d > m)
			m = d;
	}
	return m;
}

/*
 * steps steps on one fixed batch of n rows, by a T-thread team and by
 * the one-thread path, from the same init; returns the largest weight
 * difference, and fails the test if losses or counts differ.
 */
static double
compare(int in, const int *hidden, int nh, int out, int sigmoid, int T, int n,
        enum nn_opt_kind kind, int steps)
{
	nn_net *a = mlp(in, hidden, nh, out, sigmoid, 0);
	nn_net *b = mlp(in, hidden, nh, out, sigmoid, 0);
	if (!a || !b)
		return 1e9;
	nn_init(a, 7);
	nn_init(b, 7);
	float *x = malloc(sizeof(float) * (size_t)n * in);
	float *tgt = malloc(sizeof(float) * (size_t)n * out);
	uint16_t *lab = malloc(sizeof(uint16_t) * (size_t)n);
	struct nn_rng r;
	nn_rng_seed(&r, 99);
	for (int i = 0; i < n * in; i++)
		x[i] = nn_rng_normal(&r);
	for (int i = 0; i < n; i++)
		lab[i] = (uint16_t)nn_rng_below(&r, (uint32_t)out);
	for (int i = 0; i < n * out; i++)
		tgt[i] = (float)nn_rng_below(&r, 2);
	float lr = kind == NN_OPT_SGD ? 0.1f : 0.01f;
	struct nn_opt oa, ob;
	nn_opt_init(&oa, kind, a, lr, 0.9f, 1e-3f);
	nn_opt_init(&ob, kind, b, lr, 0.9f, 1e-3f);

	nn_team *team = nn_team_new(a, T, n);
	nn_pool *pool = nn_pool_new(T);
	nn_ctx *c = nn_ctx_new(b, n, 1);
	struct job j = {.team = team,
	                .opt = &oa,
	                .lab = lab,
	                .tgt = sigmoid ? tgt : NULL,
	                .n = n};
	for (int s = 0; s < steps; s++) {
		memcpy(nn_team_input(team), x, sizeof(float) * (size_t)n * in);
		nn_opt_begin(&oa);
		nn_pool_run(pool, team_job, &j);
		double la = 0;
		int ca = 0, cb;
		for (int t = 0; t < T; t++)
			la += j.loss[t], ca += j.correct[t];
		nn_forward(c, x, n, 1, NULL);
		double lb = (double)nn_loss_backward(
		                c, lab, sigmoid ? tgt : NULL, n, &cb) *
		            n;
		nn_opt_step(&ob, b, nn_ctx_grads(c));
		CHECK(fabs(la - lb) <= 1e-4 * (fabs(lb) > 1 ? fabs(lb) : 1));
		CHECK(ca == cb);
	}
	double d = maxdiff(nn_params(a), nn_params(b), nn_nparams(a));
	nn_ctx_free(c);
	nn_pool_free(pool);
	nn_team_free(team);
	nn_opt_free(&oa);
	nn_opt_free(&ob);
	nn_free(a);
	nn_free(b);
	free(x);
	free(tgt);
	free(lab);
	return d;
}

int
main(void)
{
	static const struct {
		const char *name;
		int in, hidden[3], nh, out, sigmoid, T, n;
	} rows[] = {
	    {"784-128-10, 2 threads, batch 64", 784, {128}, 1, 10, 0, 2, 64},
	    {"784-128-10, 2 threads, last batch of 32",
	     784,
	     {128},
	     1,
	     10,
	     0,
	     2,
	     32},
	    {"uneven 25-37-19-7, 3 threads", 25, {37, 19}, 2, 7, 0, 3, 16},
	    {"batch of 2 on 3 threads", 25, {37}, 1, 7, 0, 3, 2},
	    {"softmax regression 50-10, 2 threads", 50, {0}, 0, 10, 0, 2, 20},
	    {"ends in a sigmoid (MSE), 2 threads", 3, {8}, 1, 1, 1, 2, 8},
	    {"more threads than units", 4, {3}, 1, 2, 0, 5, 6},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		for (int k = 0; k < 2; k++) {
			char name[160];
			snprintf(name, sizeof(name),
			         "team matches one thread: %s, %s",
			         rows[i].name, k ? "adam" : "sgd");
			TH_TEST(name)
			{
				double d = compare(
				    rows[i].in, rows[i].hidden, rows[i].nh,
				    rows[i].out, rows[i].sigmoid, rows[i].T,
				    rows[i].n, k ? NN_OPT_ADAM : NN_OPT_SGD, 4);
				/* Adam divides by sqrt(v): for a weight whose
				 * gradient is ~0 a rounding difference moves
				 * it by up to a share of lr (0.01) */
				double tol = k ? 1e-3 : 1e-4;
				if (d > tol)
					fprintf(stderr, "  max diff %g\n", d);
				CHECK(d <= tol);
			}
		}
	}

	TH_TEST("which nets fit a team")
	{
		const int h[] = {16};
		nn_net *m = mlp(10, h, 1, 3, 0, 0.5f);
		CHECK(m && nn_team_fits(m));
		nn_free(m);
		char err[128];
		const struct nn_spec cnn[] = {
		    {.kind = NN_CONV, .out = 4, .k = 3, .stride = 1, .pad = 1},
		    {.kind = NN_RELU},
		    {.kind = NN_FLATTEN},
		    {.kind = NN_DENSE, .out = 3},
		};
		nn_net *cn =
		    nn_new(6, 6, 1, cnn, 4, NN_LOSS_XENT, err, sizeof(err));
		CHECK(cn && !nn_team_fits(cn));
		CHECK(cn && nn_team_new(cn, 2, 8) == NULL);
		nn_free(cn);
		const struct nn_spec relu_first[] = {
		    {.kind = NN_RELU},
		    {.kind = NN_DENSE, .out = 3},
		};
		nn_net *rf = nn_new(1, 1, 4, relu_first, 2, NN_LOSS_XENT, err,
		                    sizeof(err));
		CHECK(rf && !nn_team_fits(rf));
		nn_free(rf);
	}

	TH_TEST("a team with dropout: same seeds, same bytes")
	{
		const int h[] = {40, 24};
		float *w[2];
		size_t np = 0;
		for (int run = 0; run < 2; run++) {
			nn_net *net = mlp(30, h, 2, 5, 0, 0.3f);
			nn_init(net, 3);
			np = nn_nparams(net);
			struct nn_opt o;
			nn_opt_init(&o, NN_OPT_ADAM, net, 0.01f, 0, 0);
			nn_team *team = nn_team_new(net, 2, 12);
			nn_pool *pool = nn_pool_new(2);
			uint16_t lab[12];
			struct nn_rng r;
			nn_rng_seed(&r, 5);
			for (int i = 0; i < 12; i++)
				lab[i] = (uint16_t)nn_rng_below(&r, 5);
			struct job j = {
			    .team = team, .opt = &o, .lab = lab, .n = 12};
			nn_rng_seed(&j.rng[0], 11);
			nn_rng_seed(&j.rng[1], 12);
			for (int s = 0; s < 5; s++) {
				float *x = nn_team_input(team);
				for (int i = 0; i < 12 * 30; i++)
					x[i] = nn_rng_normal(&r);
				nn_opt_begin(&o);
				nn_pool_run(pool, team_job, &j);
			}
			w[run] = malloc(sizeof(float) * np);
			memcpy(w[run], nn_params(net), sizeof(float) * np);
			nn_pool_free(pool);
			nn_team_free(team);
			nn_opt_free(&o);
			nn_free(net);
		}
		CHECK(memcmp(w[0], w[1], sizeof(float) * np) == 0);
		free(w[0]);
		free(w[1]);
	}
	return th_done();
}
