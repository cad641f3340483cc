/*
 * test_webdata.c — the parsers of the dataset-health / predict / API side
 * of the web app: Authorization headers, the preprocess worker's job
 * answers, the inspection report, the API's predict body, and the worker
 * client's error for a service that is down.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../th.h"
#include "api.h"
#include "inspect.h"
#include "jobs.h"
#include "pages.h"
#include "predict.h"
#include "tmpl.h"
#include "tok.h"
#include "wk.h"

#define TOK43 "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE"

static void
test_bearer(void)
{
	static const struct {
		const char *hdr;
		enum tok_err want;
	} rows[] = {
	    {NULL, TOK_MISSING},
	    {"", TOK_MISSING},
	    {"   ", TOK_MISSING},
	    {"Bearer ty_" TOK43, TOK_OK},
	    {"bearer ty_" TOK43, TOK_OK},
	    {"  BEARER \tty_" TOK43 "  ", TOK_OK},
	    {"Bearer ty_" TOK43 "x", TOK_MALFORMED},  /* too long */
	    {"Bearer ty_" TOK43 " x", TOK_MALFORMED}, /* junk after */
	    {"Bearer ty_AbCd", TOK_MALFORMED},        /* too short */
	    {"Bearer xy_" TOK43, TOK_MALFORMED},      /* prefix */
	    {"Bearer ty_"
	     "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/AbCdE",
	     TOK_MALFORMED}, /* not url-safe */
	    {"Bearerty_" TOK43, TOK_MALFORMED},
	    {"Basic dXNlcjpwYXNz", TOK_MALFORMED},
	    {"Bearer", TOK_MALFORMED},
	    {"Bearer ", TOK_MALFORMED},
	    {"ty_" TOK43, TOK_MALFORMED},
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST(rows[i].hdr ? rows[i].hdr : "(null header)")
		{
			const char *tok = NULL;
			enum tok_err e = tok_parse_bearer(rows[i].hdr, &tok);
			CHECK(e == rows[i].want);
			if (e == TOK_OK)
				CHECK(tok &&
				      strncmp(tok, "ty_" TOK43, TOK_LEN) == 0);
			else
				CHECK(tok == NULL);
			CHECK(strlen(tok_strerror(e)) > 0);
		}
	}
}

static void
test_judge(void)
{
	static const struct {
		long status;
		const char *body;
		enum inspect_next want;
		const char *reason_has; /* NULL: no check */
		int has_report;
	} rows[] = {
	    {202, "{\"status\":\"queued\",\"progress\":0}", INSPECT_WAIT, NULL,
	     0},
	    {200,
	     "{\"status\":\"running\",\"progress\":0.5,"
	     "\"message\":\"reading\"}",
	     INSPECT_WAIT, NULL, 0},
	    {200,
	     "{\"status\":\"succeeded\",\"result\":{\"usable\":true,"
	     "\"classes\":[]}}",
	     INSPECT_READY, NULL, 1},
	    {200,
	     "{\"status\":\"succeeded\",\"result\":{\"usable\":false,"
	     "\"unusable_reason\":\"only one class\"}}",
	     INSPECT_UNUSABLE, "only one class", 1},
	    {200, "{\"status\":\"succeeded\",\"result\":{}}", INSPECT_UNUSABLE,
	     "cannot be used", 1},
	    {200, "{\"status\":\"succeeded\",\"result\":[1]}", INSPECT_UNUSABLE,
	     "without a report", 0},
	    {200, "{\"status\":\"succeeded\"}", INSPECT_UNUSABLE,
	     "without a report", 0},
	    {200, "{\"status\":\"failed\",\"error\":\"disk on fire\"}",
	     INSPECT_UNUSABLE, "disk on fire", 0},
	    {200, "{\"status\":\"failed\"}", INSPECT_UNUSABLE,
	     "no reason given", 0},
	    {200, "{\"status\":\"cancelled\"}", INSPECT_UNUSABLE, "cancelled",
	     0},
	    {200, "{\"status\":\"exploded\"}", INSPECT_RETRY, "unknown", 0},
	    {200, "{\"status\":7}", INSPECT_RETRY, "without a job status", 0},
	    {200, "not json", INSPECT_RETRY, "not a JSON object", 0},
	    {200, "", INSPECT_RETRY, "not a JSON object", 0},
	    {200, "[]", INSPECT_RETRY, "not a JSON object", 0},
	    {400, "{\"error\":\"dataset \\\"x\\\" not found\"}",
	     INSPECT_UNUSABLE, "not found", 0},
	    {404, "nothing", INSPECT_UNUSABLE, "HTTP 404", 0},
	    {429, "{}", INSPECT_RETRY, "HTTP 429", 0},
	    {500, "{\"error\":\"oops\"}", INSPECT_RETRY, "oops", 0},
	    {503, "{\"error\":\"shutting down\"}", INSPECT_RETRY,
	     "shutting down", 0},
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST(rows[i].body)
		{
			struct inspect_result r;
			inspect_judge(rows[i].status, rows[i].body,
			              strlen(rows[i].body), &r);
			CHECK(r.next == rows[i].want);
			if (rows[i].reason_has)
				CHECK(strstr(r.reason, rows[i].reason_has));
			CHECK(!!r.report_json == rows[i].has_report);
			free(r.report_json);
		}
	}
	TH_TEST("judge: progress and message kept, bounds enforced")
	{
		struct inspect_result r;
		const char *b = "{\"status\":\"running\",\"progress\":0.25,"
		                "\"message\":\"decoding\"}";
		inspect_judge(200, b, strlen(b), &r);
		CHECK(r.progress == 0.25);
		CHECK_STR(r.message, "decoding");
		b = "{\"status\":\"running\",\"progress\":7}";
		inspect_judge(200, b, strlen(b), &r);
		CHECK(r.progress == 0);
	}
	TH_TEST("judge: the body need not be NUL-terminated")
	{
		struct inspect_result r;
		const char b[] = "{\"status\":\"queued\"}GARBAGE";
		inspect_judge(200, b, 19, &r);
		CHECK(r.next == INSPECT_WAIT);
	}
	TH_TEST("job id from the dataset id")
	{
		char id[64];
		jobs_inspect_id(42, 0, id, sizeof(id));
		CHECK_STR(id, "ds-42-inspect");
		jobs_inspect_id(42, 3, id, sizeof(id));
		CHECK_STR(id, "ds-42-inspect-3");
	}
}

static int
rendered(const char *report, const char *tmpl_src, const char *want)
{
	struct td *d = td_new();
	char err[128];
	struct tmpl *t =
	    tmpl_parse(tmpl_src, strlen(tmpl_src), err, sizeof(err));
	struct wbuf b;
	int ok;

	page_dataset_health_report(d, report);
	wb_init(&b, 1 << 16);
	ok = t && tmpl_render(t, d, &b) == 0 &&
	     strcmp(b.data ? b.data : "", want) == 0;
	if (!ok)
		fprintf(stderr, "  got [%s] want [%s]\n", b.data ? b.data : "",
		        want);
	wb_free(&b);
	tmpl_free(t);
	td_free(d);
	return ok;
}

static void
test_report(void)
{
	static const struct {
		const char *name, *report, *tmpl, *want;
	} rows[] = {
	    {"bars relative to the largest class",
	     "{\"classes\":[{\"name\":\"a\",\"count\":10},"
	     "{\"name\":\"b\",\"count\":5},{\"name\":\"c\",\"count\":0}]}",
	     "{{#classes}}{{name}}={{count}}:{{pct}};{{/classes}}",
	     "a=10:100.0;b=5:50.0;c=0:0.0;"},
	    {"a tiny class still gets a sliver",
	     "{\"classes\":[{\"name\":\"a\",\"count\":1000},"
	     "{\"name\":\"b\",\"count\":1}]}",
	     "{{#classes}}{{pct}};{{/classes}}", "100.0;1.0;"},
	    {"names are escaped when rendered",
	     "{\"classes\":[{\"name\":\"<i>\",\"count\":1}]}",
	     "{{#classes}}{{name}}{{/classes}}", "&lt;i&gt;"},
	    {"channels named", "{\"channels\":{\"1\":3,\"4\":2,\"9\":1}}",
	     "{{#channels}}{{name}}:{{count}};{{/channels}}",
	     "gray:3;RGBA:2;9:1;"},
	    {"skipped: listed, total, the rest counted",
	     "{\"skipped\":[{\"name\":\"a.txt\",\"reason\":\"not an "
	     "image\"},{\"reason\":\"nameless\"}],\"skipped_total\":5}",
	     "{{#skipped}}{{name}}({{reason}}){{/skipped}} "
	     "{{skipped_total}} {{skipped_more}}",
	     "a.txt(not an image) 5 4"},
	    {"a total below the list is raised",
	     "{\"skipped\":[{\"name\":\"a\",\"reason\":\"r\"}],"
	     "\"skipped_total\":0}",
	     "{{skipped_total}}", "1"},
	    {"sizes and warnings",
	     "{\"min_size\":[4,3],\"max_size\":[640,480],\"warnings\":"
	     "[\"few\",7,\"skipped\"]}",
	     "{{min_size}} {{max_size}} {{#warnings}}{{text}};"
	     "{{/warnings}}",
	     "4×3 640×480 few;skipped;"},
	    {"wrong types are ignored",
	     "{\"classes\":{\"a\":1},\"images\":\"many\",\"min_size\":"
	     "[1],\"formats\":[1,2],\"skipped\":\"x\"}",
	     "{{images}}|{{#classes}}x{{/classes}}|{{min_size}}|"
	     "{{#formats}}f{{/formats}}|{{skipped_total}}",
	     "0||||0"},
	    {"not an object: nothing", "[1,2,3]", "{{report}}{{images}}", ""},
	    {"not JSON: nothing", "{\"classes\":", "{{report}}", ""},
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++)
		TH_TEST(rows[i].name)
	CHECK(rendered(rows[i].report, rows[i].tmpl, rows[i].want));
}

static void
test_api_body(void)
{
	static const struct {
		const char *body;
		int ok;
		const char *err_has;
	} rows[] = {
	    {"{\"model_id\":3,\"images\":[{\"name\":\"a\",\"data\":\"AA==\"}]}",
	     1, NULL},
	    {"{\"model_id\":3,\"top_k\":20,\"thumbnail\":0,\"images\":"
	     "[{\"data\":\"AA==\",\"extra\":1}]}",
	     1, NULL},
	    {"", 0, "not valid JSON"},
	    {"{", 0, "not valid JSON"},
	    {"null", 0, "JSON object"},
	    {"{\"images\":[{\"data\":\"\"}]}", 0, "model_id"},
	    {"{\"model_id\":0,\"images\":[{\"data\":\"\"}]}", 0, "model_id"},
	    {"{\"model_id\":-1,\"images\":[{\"data\":\"\"}]}", 0, "model_id"},
	    {"{\"model_id\":1e300,\"images\":[{\"data\":\"\"}]}", 0,
	     "model_id"},
	    {"{\"model_id\":2.5,\"images\":[{\"data\":\"\"}]}", 0, "model_id"},
	    {"{\"model_id\":true,\"images\":[{\"data\":\"\"}]}", 0, "model_id"},
	    {"{\"model_id\":1,\"top_k\":21,\"images\":[{\"data\":\"\"}]}", 0,
	     "top_k"},
	    {"{\"model_id\":1,\"top_k\":null,\"images\":[{\"data\":\"\"}]}", 0,
	     "top_k"},
	    {"{\"model_id\":1,\"thumbnail\":-1,\"images\":[{\"data\":\"\"}]}",
	     0, "thumbnail"},
	    {"{\"model_id\":1}", 0, "images"},
	    {"{\"model_id\":1,\"images\":[]}", 0, "images"},
	    {"{\"model_id\":1,\"images\":{}}", 0, "images"},
	    {"{\"model_id\":1,\"images\":[1]}", 0, "images[0]"},
	    {"{\"model_id\":1,\"images\":[{\"data\":\"\"},{\"name\":\"a\"}]}",
	     0, "images[1]"},
	    {"{\"model_id\":1,\"images\":[{\"name\":3,\"data\":\"\"}]}", 0,
	     "images[0]"},
	    {"{\"model_id\":\"latest\",\"images\":[{\"data\":\"\"}]}", 1, NULL},
	    {"{\"model_id\":\"best\",\"images\":[{\"data\":\"\"}]}", 1, NULL},
	    {"{\"model_id\":\"Latest\",\"images\":[{\"data\":\"\"}]}", 0,
	     "\"latest\" or \"best\""},
	    {"{\"model_id\":\"3\",\"images\":[{\"data\":\"\"}]}", 0,
	     "model_id"},
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST(rows[i].body)
		{
			struct api_predict p;
			char err[200] = "";
			int rc = api_parse_predict(rows[i].body,
			                           strlen(rows[i].body), &p,
			                           err, sizeof(err));
			CHECK((rc == 0) == rows[i].ok);
			if (rows[i].err_has)
				CHECK(strstr(err, rows[i].err_has));
			if (rc == 0) {
				CHECK(p.nimages ==
				      cJSON_GetArraySize(p.images));
				CHECK(p.top_k >= 1 && p.top_k <= 20);
			} else {
				CHECK(p.images == NULL);
			}
			api_predict_free(&p);
		}
	}
	TH_TEST("api body: defaults, names and only the known keys")
	{
		const char *b =
		    "{\"model_id\":7,\"images\":[{\"data\":\"QQ==\","
		    "\"x\":1},{\"name\":\"n.png\",\"data\":\"Qg==\"}]}";
		struct api_predict p;
		char err[200], *out;
		CHECK(api_parse_predict(b, strlen(b), &p, err, sizeof(err)) ==
		      0);
		CHECK(p.model_id == 7 && p.top_k == PREDICT_TOPK_DEFAULT &&
		      p.thumbnail == 0 && p.nimages == 2);
		out = cJSON_PrintUnformatted(p.images);
		CHECK_STR(out, "[{\"name\":\"image-1\",\"data\":\"QQ==\"},"
		               "{\"name\":\"n.png\",\"data\":\"Qg==\"}]");
		free(out);
		api_predict_free(&p);
	}
	TH_TEST("api body: too many images")
	{
		char *b = xmalloc(API_IMAGES_MAX * 20 + 200), *p2;
		struct api_predict p;
		char err[200] = "";
		strcpy(b, "{\"model_id\":1,\"images\":[");
		p2 = b + strlen(b);
		for (int i = 0; i <= API_IMAGES_MAX; i++)
			p2 += sprintf(p2, "%s{\"data\":\"\"}", i ? "," : "");
		strcpy(p2, "]}");
		CHECK(api_parse_predict(b, strlen(b), &p, err, sizeof(err)) <
		      0);
		CHECK(strstr(err, "too many images"));
		free(b);
	}
}

static void
test_form_from_json(void)
{
	static const struct {
		const char *body;
		const char *want; /* "name=value&..." or NULL: refused */
		const char *err_has;
	} rows[] = {
	    {"{}", "", NULL},
	    {"{\"name\":\"a b\",\"epochs\":3,\"lr\":0.002}",
	     "name=a b&epochs=3&lr=0.002", NULL},
	    {"{\"augment\":true,\"early_stopping\":false}",
	     "augment=1&early_stopping=0", NULL},
	    {"{\"conv\":[16,32],\"hidden\":[]}", "conv=16,32&hidden=", NULL},
	    {"{\"seed\":-7,\"x\":null,\"big\":1e20}", "seed=-7&big=1e+20",
	     NULL},
	    {"{\"lr\":0.1}", "lr=0.10000000000000001", NULL},
	    {"[]", NULL, "JSON object"},
	    {"{\"a\":", NULL, "not valid JSON"},
	    {"{\"epochs\":{\"n\":3}}", NULL, "epochs must be"},
	    {"{\"conv\":[1,\"2\"]}", NULL, "conv must be"},
	    {"{\"conv\":[[1]]}", NULL, "conv must be"},
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST(rows[i].body)
		{
			struct form f;
			char err[200] = "", got[512] = "";
			int rc = api_form_from_json(rows[i].body,
			                            strlen(rows[i].body), &f,
			                            err, sizeof(err));
			CHECK((rc == 0) == (rows[i].want != NULL));
			for (size_t k = 0; rc == 0 && k < f.n; k++)
				snprintf(got + strlen(got),
				         sizeof(got) - strlen(got), "%s%s=%s",
				         k ? "&" : "", f.f[k].name,
				         f.f[k].value);
			if (rc == 0)
				CHECK_STR(got, rows[i].want);
			else
				CHECK(f.n == 0 && strstr(err, rows[i].err_has));
			form_free(&f);
		}
	}
	TH_TEST("a string too long for a form value is refused")
	{
		char *b = xmalloc(4000);
		struct form f;
		char err[200];
		strcpy(b, "{\"name\":\"");
		memset(b + 9, 'x', 3000);
		strcpy(b + 3009, "\"}");
		CHECK(api_form_from_json(b, strlen(b), &f, err, sizeof(err)) <
		      0);
		CHECK(strstr(err, "name must be"));
		free(b);
	}
}

static void
test_workers_down(void)
{
	TH_TEST("a service that is down is named with its URL")
	{
		struct sockaddr_in a;
		socklen_t len = sizeof(a);
		int s = socket(AF_INET, SOCK_STREAM, 0);
		char url[64];
		struct wk_resp r;
		enum wk_err e;

		/* a port that was free a moment ago */
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		CHECK(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0);
		CHECK(getsockname(s, (struct sockaddr *)&a, &len) == 0);
		close(s);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d",
		         ntohs(a.sin_port));
		e = wk_request("preprocess", url, "GET", "/healthz", NULL, 0,
		               2000, 1024, &r);
		CHECK(e == WK_UNREACHABLE);
		CHECK(r.status == 0);
		CHECK(strstr(r.err, "preprocess service unreachable at"));
		CHECK(strstr(r.err, url));
		CHECK(r.body && r.len == 0);
		wk_resp_free(&r);
		CHECK(strcmp(wk_strerror(WK_TIMEOUT), "timed out") == 0);
	}
	TH_TEST("a bad URL is an error, not a crash")
	{
		struct wk_resp r;
		CHECK(wk_request("infer", "nope://x", "GET", "/", NULL, 0, 500,
		                 10, &r) != WK_OK);
		CHECK(strstr(r.err, "infer"));
		wk_resp_free(&r);
	}
}

int
main(void)
{
	test_bearer();
	test_judge();
	test_report();
	test_api_body();
	test_form_from_json();
	test_workers_down();
	return th_done();
}
