/*
 * infer_speed.c — the infer worker's network path in-process, for the
 * ONNX benchmark (bench/bench_onnx.sh): model_predict_u8 on uint8 pixels
 * already decoded and resized, batch 1 on one thread, and a batch split
 * into contiguous parts over threads as workers/infer/infer.c does
 * (single-threaded OpenBLAS each).
 *
 *	bin/infer_speed MODEL.tym PIXELS.u8 N [threads] [seconds]
 * prints one JSON line: images per second and per CPU-second at batch 1
 * and batch N, and the probabilities of the first image (to check both
 * runtimes agree).
 */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "blas.h"
#include "model.h"
#include "util.h"

struct part {
	const model *m;
	const uint8_t *px;
	int n;
	float *probs;
};

static void *
part_run(void *arg)
{
	struct part *p = arg;
	model_predict_u8(p->m, p->px, p->n, p->probs);
	return NULL;
}

static double
clock_s(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void
batch(const model *m, const uint8_t *px, size_t isz, int n, int k, int T,
      float *probs)
{
	struct part p[16] = {0};
	pthread_t tid[16];
	int lo = 0;
	for (int t = 0; t < T; t++) {
		int cnt = n * (t + 1) / T - n * t / T;
		p[t] = (struct part){m, px + (size_t)lo * isz, cnt,
		                     probs + (size_t)lo * k};
		lo += cnt;
		if (t + 1 < T)
			pthread_create(&tid[t], NULL, part_run, &p[t]);
	}
	part_run(&p[T - 1]);
	for (int t = 0; t + 1 < T; t++)
		pthread_join(tid[t], NULL);
}

/* Images per second of wall time and per CPU-second (robust on a busy
 * machine): the best of 5 runs of about `secs`/5 seconds each. */
static void
rate(const model *m, const uint8_t *px, size_t isz, int n, int k, int T,
     float *probs, double secs, double *wall, double *cpu)
{
	*wall = *cpu = 0;
	for (int r = 0; r < 5; r++) {
		long done = 0;
		double t0 = clock_s(CLOCK_MONOTONIC), t,
		       c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		do {
			batch(m, px, isz, n, k, T, probs);
			done += n;
		} while ((t = clock_s(CLOCK_MONOTONIC) - t0) < secs / 5);
		double c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
		if (done / t > *wall)
			*wall = done / t;
		if (c > 0 && done / c > *cpu)
			*cpu = done / c;
	}
}

int
main(int argc, char **argv)
{
	char err[256];
	blas_select_core(argv);
	openblas_set_num_threads(1);
	if (argc < 4) {
		fprintf(stderr, "usage: %s MODEL PIXELS N [threads] [secs]\n",
		        argv[0]);
		return 2;
	}
	model *m = model_load(argv[1], NULL, err, sizeof(err));
	if (!m) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	const struct model_meta *mm = model_meta(m);
	size_t isz = (size_t)mm->width * mm->height * mm->channels, len;
	int n = atoi(argv[3]), T = argc > 4 ? atoi(argv[4]) : 2,
	    k = mm->nclasses;
	double secs = argc > 5 ? atof(argv[5]) : 3;
	uint8_t *px = (uint8_t *)util_read_file(argv[2], 1 << 30, &len);
	if (!px || n < 1 || len < (size_t)n * isz || T < 1 || T > 16) {
		fprintf(stderr, "bad pixels file or arguments\n");
		return 1;
	}
	float *probs = xmalloc((size_t)n * k * sizeof(float));
	double r1, c1, rn, cn;
	rate(m, px, isz, 1, k, 1, probs, secs, &r1, &c1);
	rate(m, px, isz, n, k, T, probs, secs, &rn, &cn);
	batch(m, px, isz, 1, k, 1, probs);
	printf("{\"batch1\": %.1f, \"batchN\": %.1f, \"batch1_cpu\": %.1f, "
	       "\"batchN_cpu\": %.1f, \"n\": %d, \"threads\": %d, "
	       "\"first\": [",
	       r1, rn, c1, cn, n, T);
	for (int i = 0; i < k; i++)
		printf("%s%.9g", i ? ", " : "", (double)probs[i]);
	printf("]}\n");
	free(probs);
	free(px);
	model_free(m);
	return 0;
}
