/*
 * page_export.c — a run's model as ONNX or one C file, made on request
 * from its .tym (lib/export/export.h): exports are small and quick to
 * make, and a stored copy could go stale when the exporter improves.
 */
#include <stdio.h>
#include <stdlib.h>

#include "export.h"
#include "model.h"
#include "pages.h"

void
page_export_send(struct req *r, const char *relpath, const char *format,
                 const char *arch, double val_acc, const char *base)
{
	const struct export_format *f = export_format_find(format);
	char err[256], name[160], hdr[320];
	enum model_err why;

	if (!f) {
		web_error(r, 404, "Unknown export format.");
		return;
	}
	char *path = xasprintf("%s/%s", r->w->models_dir, relpath);
	model *m = model_load(path, &why, err, sizeof(err));
	free(path);
	if (!m) {
		ty_log("export %s: %s", relpath, err);
		web_error(r, why == MODEL_EIO ? 410 : 422,
		          why == MODEL_EIO ? "The model file is missing from "
		                             "the models volume."
		                           : "The model file cannot be read.");
		return;
	}
	snprintf(name, sizeof(name), "%s", base);
	struct export_info info = {
	    .name = name, .accuracy = val_acc, .arch = arch};
	uint8_t *out = NULL;
	size_t len = 0;
	int rc = f->fn(m, &info, &out, &len, err, sizeof(err));
	model_free(m);
	if (rc != 0) {
		ty_log("export %s as %s: %s", relpath, f->name, err);
		web_error(r, 422, err);
		return;
	}
	snprintf(hdr, sizeof(hdr),
	         "Content-Disposition: attachment; filename=\"%s%s\"\r\n"
	         "Cache-Control: no-store\r\n",
	         base, f->ext);
	web_send(r, 200, f->mime, hdr, out, len);
	free(out);
}

static void
run_export(struct req *r, const char *format)
{
	char base[64], arch[32] = "";
	char *rel = NULL;
	double acc = -1;
	sqlite3_stmt *st = db_stmt(r->w->db, DB_RUN_MODEL_EXPORT, "ii",
	                           r->ids[1], r->project.id);
	if (db_step(r->w->db, st) == SQLITE_ROW) {
		rel = xstrdup(db_col_text(st, 0));
		snprintf(arch, sizeof(arch), "%s", db_col_text(st, 1));
		acc = sqlite3_column_double(st, 2);
	}
	db_done(r->w->db, st);
	if (!rel) {
		web_error(r, 404, "This run has no model (yet).");
		return;
	}
	snprintf(base, sizeof(base), "trainyard-p%lld-run%lld", r->project.id,
	         r->ids[1]);
	page_export_send(r, rel, format, arch, acc, base);
	free(rel);
}

void
page_run_model_onnx(struct req *r)
{
	run_export(r, "onnx");
}

void
page_run_model_c(struct req *r)
{
	run_export(r, "c");
}
