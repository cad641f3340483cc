/*
 * page_run.h — what page_run.c shares with the events stream: the run's
 * live status as one JSON object (the same words the page shows).
 */
#ifndef TY_PAGE_RUN_H
#define TY_PAGE_RUN_H

#include "runrow.h"
#include "wb.h"
#include "web.h"

void page_run_status_json(struct req *r, const struct runrow *run,
                          struct wbuf *out);

/* Removes data/prepared/<id> and models/runs/<id> (the row is gone). */
void page_run_remove_files(struct web *w, long long id);
/* The ids of a project's runs (the caller frees), *n of them. */
long long *page_run_ids_of_project(struct db *db, long long project_id,
                                   size_t *n);

#endif
