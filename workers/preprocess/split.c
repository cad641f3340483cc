/*
 * split.c — stratified split with a portable PRNG (no rand(): its
 * sequence differs between C libraries).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "split.h"
#include "util.h"

uint64_t
split_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n) without modulo bias worth caring about (n < 2^32). */
static uint32_t
below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((split_rand(s) >> 32) * (uint64_t)n) >> 32);
}

static void
shuffle(uint32_t *v, size_t n, uint64_t *s)
{
	for (size_t i = n; i > 1; i--) {
		uint32_t k = below(s, (uint32_t)i);
		uint32_t t = v[i - 1];

		v[i - 1] = v[k];
		v[k] = t;
	}
}

void
split_stratified(const uint16_t *labels, size_t n, unsigned nclasses,
                 double val_fraction, uint64_t seed, uint32_t *train,
                 size_t *ntrain, uint32_t *val, size_t *nval)
{
	uint32_t *bucket = xmalloc((n ? n : 1) * sizeof *bucket);
	size_t *start = xcalloc(nclasses + 1, sizeof *start);
	size_t *fill;

	*ntrain = *nval = 0;
	/* Counting sort: indices grouped by class, in input order. */
	for (size_t i = 0; i < n; i++)
		start[labels[i] + 1]++;
	for (unsigned c = 0; c < nclasses; c++)
		start[c + 1] += start[c];
	fill = xmalloc((nclasses + 1) * sizeof *fill);
	memcpy(fill, start, (nclasses + 1) * sizeof *fill);
	for (size_t i = 0; i < n; i++)
		bucket[fill[labels[i]]++] = (uint32_t)i;
	free(fill);

	for (unsigned c = 0; c < nclasses; c++) {
		size_t m = start[c + 1] - start[c], nv;
		uint64_t s = seed * 0x100000001b3ull + c + 1;

		shuffle(bucket + start[c], m, &s);
		nv = (size_t)llround((double)m * val_fraction);
		if (val_fraction > 0 && nv == 0 && m >= 2)
			nv = 1;
		if (nv >= m)
			nv = m ? m - 1 : 0;
		memcpy(val + *nval, bucket + start[c], nv * sizeof *val);
		*nval += nv;
		memcpy(train + *ntrain, bucket + start[c] + nv,
		       (m - nv) * sizeof *train);
		*ntrain += m - nv;
	}
	{
		uint64_t s = seed ^ 0x5eed5eed5eed5eedull;

		shuffle(train, *ntrain, &s);
	}
	free(bucket);
	free(start);
}
