/* runqueue.c — turns between users for queued runs; see runqueue.h. */
#include "runqueue.h"

#include <stdlib.h>

#include "util.h"

struct owner {
	long long id, active, last_start;
	size_t next; /* its next queued run, an index into the queue */
};

struct queued {
	long long run, owner;
};

/* The owner's slot in o (added when new). */
static struct owner *
owner_of(struct owner *o, size_t *n, long long id)
{
	for (size_t i = 0; i < *n; i++)
		if (o[i].id == id)
			return &o[i];
	o[*n] = (struct owner){id, 0, 0, 0};
	return &o[(*n)++];
}

/* o is ahead of b: fewer active, older last start, older next run. */
static int
ahead(const struct owner *a, const struct owner *b, const struct queued *q)
{
	if (a->active != b->active)
		return a->active < b->active;
	if (a->last_start != b->last_start)
		return a->last_start < b->last_start;
	return q[a->next].run < q[b->next].run;
}

size_t
runqueue_order(struct db *db, long long **ids)
{
	sqlite3_stmt *st = db_stmt(db, DB_RUN_QUEUE, "");
	struct queued *q = NULL;
	struct owner *o;
	size_t n = 0, cap = 0, no = 0;
	long long clock;

	*ids = NULL;
	while (db_step(db, st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			q = xrealloc(q, cap * sizeof(*q));
		}
		q[n].run = sqlite3_column_int64(st, 0);
		q[n++].owner = sqlite3_column_int64(st, 1);
	}
	db_done(db, st);
	if (!n)
		return 0;
	o = xcalloc(n, sizeof(*o));
	for (size_t i = 0; i < n; i++)
		owner_of(o, &no, q[i].owner);
	st = db_stmt(db, DB_RUN_OWNER_LOAD, "");
	clock = 0;
	while (db_step(db, st) == SQLITE_ROW) {
		struct owner *w = NULL;

		for (size_t i = 0; i < no && !w; i++)
			if (o[i].id == sqlite3_column_int64(st, 0))
				w = &o[i];
		if (!w)
			continue;
		w->active = sqlite3_column_int64(st, 1);
		w->last_start = sqlite3_column_int64(st, 2);
		if (w->last_start > clock)
			clock = w->last_start;
	}
	db_done(db, st);
	/* each owner's next run is its oldest (the queue is by id) */
	for (size_t i = 0; i < no; i++)
		for (o[i].next = 0; q[o[i].next].owner != o[i].id;)
			o[i].next++;
	*ids = xmalloc(n * sizeof(**ids));
	for (size_t k = 0; k < n; k++) {
		struct owner *best = NULL;

		for (size_t i = 0; i < no; i++)
			if (o[i].next < n && (!best || ahead(&o[i], best, q)))
				best = &o[i];
		(*ids)[k] = q[best->next].run;
		/* as if it started now: it is active, its turn is newest */
		best->active++;
		best->last_start = ++clock;
		do
			best->next++;
		while (best->next < n && q[best->next].owner != best->id);
	}
	free(o);
	free(q);
	return n;
}

size_t
runqueue_position(struct db *db, long long id)
{
	long long *ids;
	size_t n = runqueue_order(db, &ids), pos = 0;

	for (size_t i = 0; i < n && !pos; i++)
		if (ids[i] == id)
			pos = i + 1;
	free(ids);
	return pos;
}
