/* Unit tests of the route matcher (app/route.c) and the metrics text
 * (lib/base/metrics.c): table-driven, hostile paths included. */
#include <string.h>

#include "../th.h"
#include "metrics.h"
#include "route.h"
#include "uri.h"
#include "wb.h"

/* What route_handle records for an answered request. */
static void
observe(int route, int status, double seconds)
{
	metrics_http(route_label(route), NULL, status, seconds);
}

int
main(void)
{
	static const struct {
		const char *pat, *path;
		int match;
		size_t nids;
		long long id0, id1;
	} rows[] = {
	    {"/projects", "/projects", 1, 0, 0, 0},
	    {"/projects", "/projects/", 0, 0, 0, 0},
	    {"/projects", "/project", 0, 0, 0, 0},
	    {"/projects", "/projectsX", 0, 0, 0, 0},
	    {"/projects/{id}", "/projects/42", 1, 1, 42, 0},
	    {"/projects/{id}", "/projects/0", 0, 0, 0, 0},
	    {"/projects/{id}", "/projects/-1", 0, 0, 0, 0},
	    {"/projects/{id}", "/projects/1a", 0, 0, 0, 0},
	    {"/projects/{id}", "/projects/", 0, 0, 0, 0},
	    {"/projects/{id}", "/projects/007", 1, 1, 7, 0},
	    {"/projects/{id}", "/projects/999999999999999", 1, 1,
	     999999999999999LL, 0},
	    {"/projects/{id}", "/projects/9999999999999999", 0, 0, 0, 0},
	    {"/projects/{id}", "/projects/99999999999999999999999", 0, 0, 0, 0},
	    {"/projects/{id}/runs/{rid}", "/projects/3/runs/8", 1, 2, 3, 8},
	    {"/projects/{id}/runs/{rid}", "/projects/3/runs/8/", 0, 0, 0, 0},
	    {"/static/*", "/static/app.css", 1, 0, 0, 0},
	    {"/static/*", "/static/", 0, 0, 0, 0},
	    {"/static/*", "/static", 0, 0, 0, 0},
	    {"/", "/", 1, 0, 0, 0},
	    {"/", "", 0, 0, 0, 0},
	    {"/", "//", 0, 0, 0, 0},
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST(rows[i].path)
		{
			long long ids[WEB_IDS_MAX] = {0};
			size_t n = 99;
			int m = uri_match(rows[i].pat, rows[i].path, ids,
			                  WEB_IDS_MAX, &n);
			CHECK(m == rows[i].match);
			if (m) {
				CHECK(n == rows[i].nids);
				if (n > 0)
					CHECK(ids[0] == rows[i].id0);
				if (n > 1)
					CHECK(ids[1] == rows[i].id1);
			}
		}
	}
	TH_TEST("more {ids} than WEB_IDS_MAX do not match")
	{
		long long ids[WEB_IDS_MAX];
		size_t n;
		CHECK(uri_match("/{a}/{b}/{c}/{d}/{e}", "/1/2/3/4/5", ids,
		                WEB_IDS_MAX, &n) == 0);
		CHECK(uri_match("/{a}/{b}/{c}/{d}", "/1/2/3/4", ids,
		                WEB_IDS_MAX, &n) == 1);
		CHECK(n == 4 && ids[3] == 4);
	}
	TH_TEST("every route has a label; unknown is 'unmatched'")
	{
		for (int i = 0; i < ROUTE__MAX; i++)
			CHECK(route_label(i) && strchr(route_label(i), ' '));
		CHECK_STR(route_label(ROUTE_UNMATCHED), "unmatched");
		CHECK_STR(route_label(-5), "unmatched");
	}
	TH_TEST("metrics: counters, cumulative buckets, uptime")
	{
		struct wbuf b;
		observe(ROUTE_LOGIN_FORM, 200, 0.003);
		observe(ROUTE_LOGIN_FORM, 200, 0.2);
		observe(ROUTE_LOGIN_FORM, 429, 30.0);
		observe(12345, 404, 0.001); /* out of range: unmatched */
		wb_init(&b, 1 << 20);
		CHECK(metrics_render(&b, 12.5) == 0);
		CHECK(strstr(b.data,
		             "trainyard_http_requests_total{route=\"GET "
		             "/login\",status=\"200\"} 2\n") != NULL);
		CHECK(strstr(b.data,
		             "{route=\"GET /login\",status=\"429\"} 1\n"));
		CHECK(
		    strstr(b.data, "{route=\"unmatched\",status=\"404\"} 1\n"));
		CHECK(strstr(b.data, "seconds_bucket{route=\"GET /login\","
		                     "le=\"0.005\"} 1\n"));
		CHECK(strstr(b.data, "seconds_bucket{route=\"GET /login\","
		                     "le=\"0.25\"} 2\n"));
		CHECK(strstr(b.data, "seconds_bucket{route=\"GET /login\","
		                     "le=\"10\"} 2\n"));
		CHECK(strstr(b.data, "seconds_bucket{route=\"GET /login\","
		                     "le=\"+Inf\"} 3\n"));
		CHECK(strstr(b.data, "trainyard_uptime_seconds 12.500\n"));
		wb_free(&b);
		wb_init(&b, 64);
		CHECK(metrics_render(&b, 1) < 0); /* too small: says so */
		wb_free(&b);
	}
	return th_done();
}
