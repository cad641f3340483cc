/*
 * Unit tests of the run-parameter table (lib/engine/params.c) and of the
 * small lib/base pieces of issue 12: the table is consistent row by row
 * (unique names, defaults in range or chosen later, form bounds inside
 * the workers'), its walkers round-trip and refuse hostile JSON, the
 * arch table names its lists exactly, uri_match and the metrics table.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../th.h"
#include "metrics.h"
#include "params.h"
#include "uri.h"
#include "wb.h"

static cJSON *
parse(const char *s)
{
	cJSON *j = cJSON_Parse(s);

	if (!j)
		abort();
	return j;
}

int
main(void)
{
	char err[256];

	for (int i = 0; i < PARAM__MAX; i++) {
		const struct param *r = &params_table[i];
		char name[96];

		snprintf(name, sizeof(name), "row %s", r->name);
		TH_TEST(name)
		{
			for (int k = 0; k < i; k++)
				CHECK(strcmp(params_table[k].name, r->name) ||
				      params_table[k].group != r->group);
			CHECK(r->label && *r->label && r->help && *r->help);
			/* a default in range, or -1: chosen from other rows */
			if (r->type != PARAM_ARCH && r->type != PARAM_OPT &&
			    r->type != PARAM_SCHED && r->type != PARAM_WIDTHS)
				CHECK(r->def == -1 ||
				      (r->def >= r->min && r->def <= r->max));
			CHECK(r->form_max == 0 ||
			      (r->form_max >= r->min && r->form_max <= r->max));
			CHECK(r->flags & (F_FORM | F_PREP | F_TRAIN));
		}
	}
	TH_TEST("every WIDTHS row is read by some architecture, and only "
	        "WIDTHS rows are named")
	{
		for (int i = 0; i < PARAM__MAX; i++) {
			const struct param *r = &params_table[i];
			int readers = 0;
			for (int a = 0; a < ARCH__MAX; a++)
				readers += params_arch_reads((enum arch_kind)a,
				                             r->name);
			CHECK(r->type == PARAM_WIDTHS ? readers > 0
			                              : readers == 0);
		}
		/* no prefix confusion: "conv" is not "convolution" */
		CHECK(!params_arch_reads(ARCH_CNN, "con"));
		CHECK(!params_arch_reads(ARCH_LINEAR, "hidden"));
		CHECK(params_arch_reads(ARCH_RESNET, "blocks"));
	}
	TH_TEST("defaults echo and read back unchanged")
	{
		struct params a, b;
		cJSON *j = cJSON_CreateObject();
		params_defaults(&a);
		a.arch = ARCH_CNN;
		a.conv[0] = 8, a.nconv = 1;
		a.lr = 0.05;
		a.lr_schedule = SCHED_COSINE;
		params_to_json(&a, F_TRAIN, j);
		params_defaults(&b);
		CHECK(params_from_json(j, F_TRAIN, 0, &b, err, sizeof(err)) ==
		      0);
		CHECK(b.arch == ARCH_CNN && b.nconv == 1 && b.conv[0] == 8);
		CHECK(b.lr == 0.05 && b.lr_schedule == SCHED_COSINE);
		CHECK(b.epochs == a.epochs && b.seed == a.seed);
		/* the prep rows were not asked for */
		CHECK(!cJSON_GetObjectItemCaseSensitive(j, "image"));
		cJSON_Delete(j);
	}
	static const struct {
		const char *json;
		const char *want; /* in the message */
	} bad[] = {
	    {"[]", "object"},
	    {"{\"epochs\": 0}", "epochs"},
	    {"{\"epochs\": 2.5}", "epochs"},
	    {"{\"epochs\": \"3\"}", "epochs"},
	    {"{\"epochs\": 1e308}", "epochs"},
	    {"{\"lr\": -1}", "lr"},
	    {"{\"model\": []}", "model"},
	    {"{\"model\": {\"arch\": \"CNN\"}}", "model.arch"},
	    {"{\"model\": {\"hidden\": [1,2,3,4,5,6,7,8,9]}}", "model.hidden"},
	    {"{\"model\": {\"hidden\": \"12,x\"}}", "model.hidden"},
	    {"{\"model\": {\"conv\": [0]}}", "model.conv"},
	    {"{\"optimizer\": \"rmsprop\"}", "optimizer"},
	    {"{\"lr_schedule\": \"step\"}", "lr_schedule"},
	    {"{\"class_weights\": 1}", "class_weights"},
	    {"{\"seed\": -1}", "seed"},
	};
	static const struct {
		const char *json;
		int want; /* the policy, or -1: refused naming image.fit */
	} fits[] = {
	    {"{\"image\": {\"fit\": \"letterbox\"}}", IMG_FIT_LETTERBOX},
	    {"{\"image\": {\"fit\": \"crop\"}}", IMG_FIT_CROP},
	    {"{\"image\": {}}", IMG_FIT_STRETCH},
	    {"{\"image\": {\"fit\": \"Crop\"}}", -1},
	    {"{\"image\": {\"fit\": 1}}", -1},
	    {"{\"image\": {\"fit\": true}}", -1},
	    {"{\"image\": {\"fit\": [\"crop\"]}}", -1},
	    {"{\"image\": {\"fit\": \"\"}}", -1},
	    /* cJSON ends a string at an escaped NUL: what is kept and
	     * echoed is the plain name */
	    {"{\"image\": {\"fit\": \"letterbox\\u0000x\"}}",
	     IMG_FIT_LETTERBOX},
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(fits); i++) {
		TH_TEST(fits[i].json)
		{
			struct params p;
			cJSON *j = parse(fits[i].json);
			params_defaults(&p);
			err[0] = '\0';
			int rc = params_from_json(j, F_PREP, 0, &p, err,
			                          sizeof(err));
			CHECK(fits[i].want < 0 ? rc < 0 : rc == 0);
			if (fits[i].want < 0)
				CHECK(strstr(err, "image.fit must be stretch, "
				                  "letterbox or crop") != NULL);
			else
				CHECK((int)p.fit == fits[i].want);
			cJSON_Delete(j);
		}
	}
	for (size_t i = 0; i < TY_ARRAY_LEN(bad); i++) {
		TH_TEST(bad[i].json)
		{
			struct params p;
			cJSON *j = parse(bad[i].json);
			params_defaults(&p);
			err[0] = '\0';
			CHECK(params_from_json(j, F_TRAIN, 0, &p, err,
			                       sizeof(err)) < 0);
			CHECK(strstr(err, bad[i].want) != NULL);
			cJSON_Delete(j);
		}
	}
	TH_TEST("the form's bounds are tighter than the workers'")
	{
		struct params p;
		cJSON *j = parse("{\"epochs\": 500}");
		params_defaults(&p);
		CHECK(params_from_json(j, F_TRAIN, 0, &p, err, sizeof(err)) ==
		      0);
		CHECK(p.epochs == 500);
		CHECK(params_from_json(j, F_FORM, 1, &p, err, sizeof(err)) < 0);
		cJSON_Delete(j);
		const struct param *e = &params_table[PARAM_ID_epochs];
		CHECK(params_from_text(e, "200", &p, err, sizeof(err)) == 0);
		CHECK(p.epochs == 200);
		CHECK(params_from_text(e, "201", &p, err, sizeof(err)) < 0);
		CHECK(strstr(err, "Epochs") != NULL);
	}
	TH_TEST("uri_match: holes, prefix star, bounds")
	{
		long long ids[2];
		size_t n;
		CHECK(uri_match("/jobs/*", "/jobs/x", ids, 0, &n) == 1);
		CHECK(uri_match("/jobs/*", "/jobs/", ids, 0, &n) == 0);
		CHECK(uri_match("/a/{x}/b/{y}", "/a/3/b/4", ids, 2, &n) == 1);
		CHECK(n == 2 && ids[0] == 3 && ids[1] == 4);
		CHECK(uri_match("/a/{x}/b/{y}", "/a/3/b/4", ids, 1, &n) == 0);
		CHECK(uri_match("/a/{x}", "/a/0", ids, 2, &n) == 0);
	}
	TH_TEST("metrics: more series than the old table, one TYPE each")
	{
		struct wbuf b;
		char name[64];
		for (int i = 0; i < 600; i++) {
			snprintf(name, sizeof(name), "t_total{i=\"%d\"}", i);
			metrics_counter_add(name, 1);
			metrics_counter_add(name, 1);
		}
		metrics_http("/x", "GET", 200, 0.002);
		wb_init(&b, 1 << 20);
		CHECK(metrics_render(&b, 1) == 0);
		CHECK(strstr(b.data, "t_total{i=\"599\"} 2\n") != NULL);
		CHECK(strstr(b.data, "# TYPE t_total counter") ==
		      strstr(b.data, "# TYPE t_total"));
		const char *t = strstr(b.data, "# TYPE t_total counter");
		CHECK(t && !strstr(t + 1, "# TYPE t_total "));
		CHECK(strstr(b.data,
		             "trainyard_http_requests_total{route=\"/x\","
		             "method=\"GET\",status=\"200\"} 1\n"));
		CHECK(strstr(b.data, "trainyard_http_request_duration_seconds_"
		                     "bucket{route=\"/x\",le=\"0.005\"} 1\n"));
		wb_free(&b);
	}
	return th_done();
}
