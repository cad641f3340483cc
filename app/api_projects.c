/*
 * api_projects.c — the API's projects and datasets: GET/POST
 * /api/v1/projects, GET /api/v1/projects/{id}, GET .../datasets and
 * GET .../datasets/{did} (the health report as the preprocess worker
 * wrote it). The upload is page_dataset.c's, shared with the page.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "api.h"
#include "dsrow.h"
#include "projrow.h"
#include "pages.h"

static cJSON *
project_json(long long id, const char *name, const char *desc,
             long long created)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "id", (double)id);
	cJSON_AddStringToObject(j, "name", name);
	cJSON_AddStringToObject(j, "description", desc);
	cJSON_AddNumberToObject(j, "created_at", (double)created);
	return j;
}

static cJSON *
project_row(struct req *r, sqlite3_stmt *st)
{
	struct projrow row;
	cJSON *p;

	(void)r;
	projrow_read(st, &row);
	p = project_json(row.id, row.name, row.description, row.created_at);
	cJSON_AddNumberToObject(p, "datasets", (double)row.datasets);
	projrow_free(&row);
	return p;
}

void
api_projects(struct req *r)
{
	api_reply_rows(r, "projects", DB_PROJECT_LIST, r->user_id, project_row);
}

void
api_project_create(struct req *r)
{
	struct form f;
	const char *msg;
	long long id;

	if (api_read_form(r, &f) < 0)
		return;
	id = page_project_add(r, &f, &msg);
	if (id <= 0) {
		web_error(r, id == 0 ? 400 : 500, msg);
	} else {
		const char *d = form_get(&f, "description");
		api_reply_as(r, 201, "project",
		             project_json(id, form_get(&f, "name"), d ? d : "",
		                          (long long)util_wall()));
	}
	form_free(&f);
}

void
api_project(struct req *r)
{
	api_reply_as(r, 200, "project",
	             project_json(r->project.id, r->project.name,
	                          r->project.description,
	                          r->project.created_at));
}

/* The columns every dataset answer has (DATASET_LIST and DATASET_GET
 * share their first six). */
static cJSON *
dataset_json(const struct dsrow *d)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "id", (double)d->id);
	cJSON_AddStringToObject(j, "filename", d->filename);
	cJSON_AddNumberToObject(j, "bytes", (double)d->bytes);
	cJSON_AddStringToObject(j, "sha256", d->sha256);
	cJSON_AddStringToObject(j, "status", d->status);
	cJSON_AddNumberToObject(j, "created_at", (double)d->created_at);
	if (*d->error)
		cJSON_AddStringToObject(j, "error", d->error);
	else
		cJSON_AddNullToObject(j, "error");
	return j;
}

static cJSON *
dataset_row(struct req *r, sqlite3_stmt *st)
{
	struct dsrow d;
	cJSON *j;

	(void)r;
	dsrow_read(st, &d);
	j = dataset_json(&d);
	dsrow_free(&d);
	return j;
}

void
api_datasets(struct req *r)
{
	api_reply_rows(r, "datasets", DB_DATASET_LIST, r->project.id,
	               dataset_row);
}

void
api_dataset_reply(struct req *r, int status, long long did)
{
	struct db *db = r->w->db;
	sqlite3_stmt *st =
	    db_stmt(db, DB_DATASET_GET, "ii", did, r->project.id);
	struct dsrow d;
	cJSON *ds;

	if (db_step(db, st) != SQLITE_ROW) {
		db_done(db, st);
		web_error(r, 404, "no such dataset in this project");
		return;
	}
	dsrow_read(st, &d);
	db_done(db, st);
	ds = dataset_json(&d);
	/* the worker's report, as it wrote it (null until inspected) */
	cJSON *rep = cJSON_Parse(d.report_json);
	cJSON_AddItemToObject(ds, "report", rep ? rep : cJSON_CreateNull());
	dsrow_free(&d);
	api_reply_as(r, status, "dataset", ds);
}

void
api_dataset(struct req *r)
{
	api_dataset_reply(r, 200, r->ids[1]);
}
