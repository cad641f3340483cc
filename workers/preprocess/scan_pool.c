/*
 * scan_pool.c — the decoder pool of the archive reader (scan.c): the
 * reader fills one batch while the decoder threads decode the other,
 * each image into the pixel-store slot it was given when read; the
 * reader collects a decoded batch's results in archive order, so the
 * result does not depend on the number of threads.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dups.h"
#include "samples.h"
#include "scan_int.h"

/* Decoder thread body for one item. */
static void
decode_item(struct scan_ctx *c, struct batch *b, struct item *it)
{
	const struct prep_opts *o = c->o;
	const uint8_t *data = b->arena + it->off;
	uint8_t *src = NULL;

	/* img_load's two halves, so copies are found on the source */
	it->status = (int8_t)img_decode(data, it->len, &c->ilim, &it->info,
	                                &src, it->err, sizeof it->err);
	if (it->status != IMG_OK)
		return;
	dups_hash(src, it->info.width, it->info.height, it->info.channels,
	          &it->hash, &it->dhash);
	if (it->want_sample)
		it->thumb = samples_thumb(src, it->info.width, it->info.height,
		                          it->info.channels);
	if (o->mode == PREP_PREPARE) {
		uint8_t *px = scan_slot_pixels(c->s, it->slot);

		it->status = (int8_t)img_fit_as(
		    src, it->info.width, it->info.height, it->info.channels,
		    o->width, o->height, o->channels, o->fit, px, it->err,
		    sizeof it->err);
		if (it->status == IMG_OK)
			scan_pixel_sums(c->s, px, it->sum, it->sq);
	}
	img_free(src);
}

/* Decoders poll for cancellation too: one batch can take long. */
static int
poll_cancel(struct scan_ctx *c, double *last)
{
	double now;

	if (atomic_load(&c->stop))
		return 1;
	now = util_now();
	if (now - *last < 0.2)
		return 0;
	*last = now;
	if (c->o->cancelled && c->o->cancelled(c->o->ctx))
		atomic_store(&c->stop, 1);
	return atomic_load(&c->stop);
}

void *
scan_decoder(void *arg)
{
	struct scan_ctx *c = arg;
	unsigned seen = 0;
	double last = util_now();

	pthread_mutex_lock(&c->mu);
	for (;;) {
		struct batch *b;

		while (!c->quit && (c->gen == seen || !c->cur))
			pthread_cond_wait(&c->go, &c->mu);
		if (c->quit)
			break;
		seen = c->gen;
		b = c->cur;
		/* Woken after others decoded all of it: the reader may be
		 * collecting or refilling it already. */
		if (b->finished)
			continue;
		b->inside++;
		pthread_mutex_unlock(&c->mu);
		for (;;) {
			size_t i = atomic_fetch_add(&b->next, 1);

			if (i >= b->n)
				break;
			if (poll_cancel(c, &last)) {
				b->items[i].status = IMG_ERR_ARG;
				snprintf(b->items[i].err,
				         sizeof b->items[i].err, "cancelled");
			} else {
				decode_item(c, b, &b->items[i]);
			}
			if (atomic_fetch_sub(&b->remaining, 1) == 1) {
				pthread_mutex_lock(&c->mu);
				b->finished = 1;
				pthread_cond_broadcast(&c->done);
				pthread_mutex_unlock(&c->mu);
			}
		}
		pthread_mutex_lock(&c->mu);
		b->inside--;
		pthread_cond_broadcast(&c->done);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* Waits until b is decoded and no decoder still holds it. */
static void
batch_wait(struct scan_ctx *c, struct batch *b)
{
	pthread_mutex_lock(&c->mu);
	while (!b->finished || b->inside)
		pthread_cond_wait(&c->done, &c->mu);
	pthread_mutex_unlock(&c->mu);
}

static void
batch_submit(struct scan_ctx *c, struct batch *b)
{
	pthread_mutex_lock(&c->mu);
	atomic_store(&b->next, 0);
	atomic_store(&b->remaining, b->n);
	b->finished = b->n == 0;
	c->cur = b;
	c->gen++;
	pthread_cond_broadcast(&c->go);
	pthread_mutex_unlock(&c->mu);
}

/* The reader's half: results of a decoded batch, in archive order. */
static void
batch_collect(struct scan_ctx *c, struct batch *b)
{
	struct prep_scan *s = c->s;

	for (size_t i = 0; i < b->n; i++) {
		struct item *it = &b->items[i];
		const char *name = (const char *)b->arena + it->name_off;

		if (it->status != IMG_OK) {
			free(it->thumb);
			scan_add_skip(s, name, "%s", it->err);
			continue;
		}
		if (it->thumb) { /* the class's sample, in archive order */
			struct prep_class *k = &c->cls[it->cls];
			k->samples = xrealloc(
			    k->samples, (k->nsamples + 1) * sizeof *k->samples);
			k->samples[k->nsamples++] = it->thumb;
			it->thumb = NULL;
		}
		c->slot_ok[it->slot] = 1;
		c->slot_hash[it->slot] = it->hash;
		c->slot_dhash[it->slot] = it->dhash;
		if (s->store_ch) {
			memcpy(s->px_sum + (size_t)it->slot * s->store_ch,
			       it->sum, (size_t)s->store_ch * sizeof *it->sum);
			memcpy(s->px_sq + (size_t)it->slot * s->store_ch,
			       it->sq, (size_t)s->store_ch * sizeof *it->sq);
		}
		c->cls[it->cls].count++;
		s->formats[it->info.format]++;
		if (it->info.channels >= 1 && it->info.channels <= 4)
			s->channels[it->info.channels]++;
		scan_size_stat(s, it->info.width, it->info.height);
	}
	/* Slots are given in reading order: all below this one are done. */
	if (s->store && b->n)
		store_written_below(s->store, b->items[b->n - 1].slot + 1);
	b->n = 0;
	b->used = 0;
}

/* Hands the filling batch to the decoders and switches to the other. */
struct batch *
scan_batch_flip(struct scan_ctx *c, struct batch *b)
{
	struct batch *other = b == &c->b[0] ? &c->b[1] : &c->b[0];

	batch_wait(c, other);
	batch_collect(c, other);
	batch_submit(c, b);
	return other;
}

/* The end of the archive: decodes what is left and collects both
 * batches in archive order. */
void
scan_batch_drain(struct scan_ctx *c, struct batch *b)
{
	b = scan_batch_flip(c, b);
	batch_wait(c, b == &c->b[0] ? &c->b[1] : &c->b[0]);
	batch_collect(c, b == &c->b[0] ? &c->b[1] : &c->b[0]);
}
