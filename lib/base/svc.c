/*
 * svc.c — the worker process: configuration, volumes, CivetWeb, routing
 * with an access log and request metrics, and graceful shutdown.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <civetweb.h>

#include "auth.h"
#include "metrics.h"
#include "connfd.h"
#include "pace.h"
#include "stack.h"
#include "svc.h"
#include "uri.h"

/* GET /metrics: far more than a worker's few hundred series take. */
#define SVC_METRICS_MAX (4u << 20)

static struct {
	const struct svc_def *def;
	char name[64];
	char *data_dir, *models_dir;
	int port, threads;
	size_t max_body;
	double body_min_rate, body_window_s;
	char *metrics_token;
	double started;
	volatile sig_atomic_t stopping;
} S;

const char *
svc_data_dir(void)
{
	return S.data_dir;
}
const char *
svc_models_dir(void)
{
	return S.models_dir;
}
int
svc_threads(void)
{
	return S.threads;
}
size_t
svc_max_body(void)
{
	return S.max_body;
}
int
svc_stopping(void)
{
	return S.stopping;
}

char *
svc_volume_path(const char *volume, const char *rel, char *err, size_t errlen)
{
	const char *p;

	if (!rel || !*rel) {
		snprintf(err, errlen, "empty path");
		return NULL;
	}
	if (rel[0] == '/') {
		snprintf(err, errlen,
		         "path \"%s\" must be relative to the "
		         "volume",
		         rel);
		return NULL;
	}
	if (strlen(rel) > 1024) {
		snprintf(err, errlen, "path too long");
		return NULL;
	}
	for (p = rel; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\') {
			snprintf(err, errlen,
			         "path contains a control "
			         "character or backslash");
			return NULL;
		}
	}
	/* Every component: not "..", not "." and not empty. */
	for (p = rel; *p;) {
		size_t n = strcspn(p, "/");

		if ((n == 2 && !strncmp(p, "..", 2)) || (n == 1 && *p == '.') ||
		    n == 0) {
			snprintf(err, errlen,
			         "path \"%s\" may not contain "
			         "\".\", \"..\" or empty components",
			         rel);
			return NULL;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return xasprintf("%s/%s", volume, rel);
}

int
svc_reply(struct mg_connection *c, int status, const char *ctype,
          const void *body, size_t len)
{
	char hdr[512];
	int n;

	/*
	 * Not mg_printf: it formats through an 8 KB stack buffer, and
	 * CivetWeb's threads have only about 20 KB of stack left when a
	 * handler runs (an ASan build overflowed here).
	 */
	n = snprintf(hdr, sizeof hdr,
	             "HTTP/1.1 %d %s\r\n"
	             "Content-Type: %.100s\r\n"
	             "Content-Length: %zu\r\n"
	             "Cache-Control: no-store\r\n"
	             "Connection: close\r\n\r\n",
	             status, mg_get_response_code_text(c, status), ctype, len);
	if (n > 0)
		mg_write(c, hdr,
		         (size_t)n < sizeof hdr ? (size_t)n : sizeof hdr - 1);
	if (len)
		mg_write(c, body, len);
	return status;
}

int
svc_reply_json(struct mg_connection *c, int status, const cJSON *body)
{
	char *s = cJSON_PrintUnformatted(body);

	if (!s)
		abort(); /* cJSON only fails on out-of-memory */
	svc_reply(c, status, "application/json", s, strlen(s));
	cJSON_free(s);
	return status;
}

int
svc_reply_error(struct mg_connection *c, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	cJSON *o;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", msg);
	svc_reply_json(c, status, o);
	cJSON_Delete(o);
	return status;
}

int
svc_read_body(struct mg_connection *c, size_t max, char **out, size_t *outlen,
              char *err, size_t errlen)
{
	const struct mg_request_info *ri = mg_get_request_info(c);
	size_t len = 0, cap;
	struct pace pace;
	char *buf;
	int n, st = 0;

	*out = NULL;
	*outlen = 0;
	if (!max)
		max = S.max_body;
	if (ri->content_length > (long long)max) {
		snprintf(err, errlen,
		         "request body over the limit of %zu "
		         "bytes",
		         max);
		return 413;
	}
	cap = ri->content_length >= 0 ? (size_t)ri->content_length + 1 : 4096;
	buf = xmalloc(cap);
	pace_start(&pace, S.body_min_rate, S.body_window_s, connfd_find(c));
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > max + 1) {
				st = 413;
				break;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		n = mg_read(c, buf + len, pace_chunk(&pace, cap - 1 - len));
		if ((n > 0 && pace_add(&pace, (size_t)n) < 0) ||
		    (n <= 0 && pace_cut(&pace))) {
			st = 408;
			break;
		}
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len > max) {
			st = 413;
			break;
		}
	}
	pace_stop(&pace);
	if (st) {
		free(buf);
		if (st == 408)
			snprintf(err, errlen,
			         "request body slower than %.0f "
			         "bytes/s: cut",
			         S.body_min_rate);
		else
			snprintf(err, errlen,
			         "request body over the limit of "
			         "%zu bytes",
			         max);
		return st;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/*
 * cJSON recurses once per nesting level (up to 1000), and CivetWeb's
 * threads have about 20 KB of stack left: 990 brackets crashed a worker.
 * So the depth is checked first, with a scan that skips strings.
 */
#define SVC_JSON_MAX_DEPTH 64

static int
json_depth_ok(const char *p, size_t len, int max)
{
	int depth = 0, in_str = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = p[i];

		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = 0;
		} else if (ch == '"') {
			in_str = 1;
		} else if (ch == '[' || ch == '{') {
			if (++depth > max)
				return 0;
		} else if (ch == ']' || ch == '}') {
			depth--;
		}
	}
	return 1;
}

int
svc_read_json(struct mg_connection *c, size_t max, cJSON **out, char *err,
              size_t errlen)
{
	size_t len;
	char *buf;
	int st;

	*out = NULL;
	if ((st = svc_read_body(c, max, &buf, &len, err, errlen)))
		return st;
	if (len == 0) {
		free(buf);
		snprintf(err, errlen, "empty body: a JSON object is required");
		return 400;
	}
	if (!json_depth_ok(buf, len, SVC_JSON_MAX_DEPTH)) {
		free(buf);
		snprintf(err, errlen, "JSON nested deeper than %d levels",
		         SVC_JSON_MAX_DEPTH);
		return 400;
	}
	*out = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (!*out || !cJSON_IsObject(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		snprintf(err, errlen, "body is not a JSON object");
		return 400;
	}
	return 0;
}

const char *
svc_path_tail(struct mg_connection *c, const char *prefix)
{
	const char *uri = mg_get_request_info(c)->local_uri;
	size_t n = strlen(prefix);

	if (n && prefix[n - 1] == '*')
		n--;
	if (!uri || strlen(uri) < n)
		return "";
	return uri + n;
}

static int
h_healthz(struct mg_connection *c, void *arg)
{
	return svc_reply(c, 200, "text/plain", "ok\n", 3);
}

/* Writes and removes a file: the only honest test of "writable". */
static int
probe_dir(const char *dir)
{
	char *p = xasprintf("%s/.readyz-probe", dir);
	int rc = util_write_atomic(p, "ok", 2);

	if (rc == 0)
		unlink(p);
	free(p);
	return rc;
}

static int
h_readyz(struct mg_connection *c, void *arg)
{
	const char *vols[] = {S.data_dir, S.models_dir};

	for (size_t i = 0; i < TY_ARRAY_LEN(vols); i++)
		if (probe_dir(vols[i]))
			return svc_reply_error(c, 503,
			                       "volume %s is not "
			                       "writable: %s",
			                       vols[i], strerror(errno));
	if (S.stopping)
		return svc_reply_error(c, 503, "shutting down");
	return svc_reply(c, 200, "text/plain", "ready\n", 6);
}

static int
h_metrics(struct mg_connection *c, void *arg)
{
	static const char *const vol_names[] = {"data", "models"};
	const char *vols[] = {S.data_dir, S.models_dir};
	const struct svc_mount *m = S.def->mount;
	struct wbuf b;

	metrics_sys_update(vol_names, vols, TY_ARRAY_LEN(vols));
	if (m && m->metrics)
		m->metrics(m->arg);
	wb_init(&b, SVC_METRICS_MAX);
	if (metrics_render(&b, util_now() - S.started) < 0) {
		wb_free(&b);
		return svc_reply_error(c, 500, "metrics too large");
	}
	svc_reply(c, 200, "text/plain; version=0.0.4", b.data, b.len);
	wb_free(&b);
	return 200;
}

static const struct svc_route builtin_routes[] = {
    {"GET", "/healthz", h_healthz, NULL, SVC_OPEN},
    {"GET", "/readyz", h_readyz, NULL, SVC_OPEN},
    {"GET", "/metrics", h_metrics, NULL, SVC_METRICS},
};

static int
h_404(struct mg_connection *c, void *arg)
{
	return svc_reply_error(c, 404, "no such resource");
}

static int
h_405(struct mg_connection *c, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(c);

	return svc_reply_error(c, 405, "method %.20s not allowed on %.200s",
	                       ri->request_method,
	                       ri->local_uri ? ri->local_uri : "");
}

/* Not in any table: what dispatch answers when nothing matched. */
static const struct svc_route route_404 = {"", "", h_404, NULL, SVC_TOKEN};
static const struct svc_route route_405 = {"", "", h_405, NULL, SVC_TOKEN};

/* The route for a request; *path_ok says some route had that path. */
static const struct svc_route *
route_find(const char *method, const char *uri, int *path_ok)
{
	const struct {
		const struct svc_route *r;
		size_t n;
	} tabs[] = {
	    {builtin_routes, TY_ARRAY_LEN(builtin_routes)},
	    {S.def->mount ? S.def->mount->routes : NULL,
	     S.def->mount ? S.def->mount->nroutes : 0},
	    {S.def->routes, S.def->nroutes},
	};

	*path_ok = 0;
	for (size_t t = 0; t < TY_ARRAY_LEN(tabs); t++) {
		for (size_t i = 0; i < tabs[t].n; i++) {
			const struct svc_route *r = &tabs[t].r[i];

			long long ids[1];
			size_t nids;

			if (!uri_match(r->uri, uri, ids, 0, &nids))
				continue;
			*path_ok = 1;
			if (!strcmp(r->method, method))
				return r;
		}
	}
	return NULL;
}

/*
 * CivetWeb's threads get at least this much stack (stack.h says why), so
 * handlers run on them directly: decoders, BLAS and deep cJSON fit.
 */
#define HANDLER_STACK (4u << 20)

/*
 * " id=<X-Request-Id>" for the access log (the web app sends
 * run-<id>-prep|train), or "". Only [A-Za-z0-9._:-], at most 64 bytes:
 * a header must not be able to forge log lines.
 */
static const char *
request_id(struct mg_connection *c, char *buf, size_t len)
{
	const char *h = mg_get_header(c, "X-Request-Id");
	size_t n = 0;

	if (!h || !*h || len < 8)
		return "";
	n = (size_t)snprintf(buf, len, " id=");
	for (; *h && n + 1 < len && n < 4 + 64; h++)
		buf[n++] =
		    isalnum((unsigned char)*h) || strchr("._:-", *h) ? *h : '_';
	buf[n] = '\0';
	return buf;
}

static int
h_401(struct mg_connection *c, void *arg)
{
	return svc_reply_error(
	    c, 401,
	    "this service needs "
	    "\"Authorization: Bearer <TRAINYARD_SERVICE_TOKEN>\"");
}

static const struct svc_route route_401 = {"", "", h_401, NULL, SVC_OPEN};

/*
 * Whether the caller may use route r (NULL: no route matched, which
 * needs the token too, so probing for routes says nothing). Without a
 * service token (TRAINYARD_INSECURE_NO_TOKEN=1) everything is open.
 */
static int
allowed(struct mg_connection *c, const struct svc_route *r)
{
	const char *h = mg_get_header(c, "Authorization");
	enum svc_access a = r ? r->access : SVC_TOKEN;

	if (a == SVC_OPEN || !auth_service_token())
		return 1;
	if (auth_bearer_ok(h, auth_service_token()))
		return 1;
	return a == SVC_METRICS && auth_bearer_ok(h, S.metrics_token);
}

static int
dispatch(struct mg_connection *c)
{
	const struct mg_request_info *ri = mg_get_request_info(c);
	const char *uri = ri->local_uri ? ri->local_uri : "";
	const struct svc_route *r, *h;
	double t0 = util_now(), dt;
	char rid[80];
	int status, path_ok;

	r = route_find(ri->request_method, uri, &path_ok);
	h = r ? r : path_ok ? &route_405 : &route_404;
	if (!allowed(c, r))
		h = &route_401;
	status = h->fn(c, h->arg);
	dt = util_now() - t0;
	/* The route pattern, not the path: ids would explode the series. */
	metrics_http(r ? r->uri : "other", r ? r->method : "other", status, dt);
	ty_log("%s \"%s %.200s\" %d %.1fms%s", ri->remote_addr,
	       ri->request_method, uri, status, dt * 1e3,
	       request_id(c, rid, sizeof rid));
	return status;
}

static int
log_message(const struct mg_connection *c, const char *msg)
{
	ty_log("civetweb: %s", msg);
	return 1;
}

/*
 * CivetWeb's master thread notices mg_stop() only when its poll() times
 * out (2 s) or a connection arrives; knocking on our own port while
 * mg_stop() waits cuts a stop from 2 s to milliseconds.
 */
struct knock {
	const char *addr;
	volatile int done;
};

static void *
knock_thread(void *p)
{
	struct knock *k = p;
	struct sockaddr_in sa = {.sin_family = AF_INET};

	sa.sin_port = htons((uint16_t)S.port);
	if (inet_pton(AF_INET,
	              strcmp(k->addr, "0.0.0.0") ? k->addr : "127.0.0.1",
	              &sa.sin_addr) != 1)
		return NULL;
	for (int i = 0; i < 100 && !k->done; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		usleep(20000);
		if (fd < 0)
			return NULL;
		(void)connect(fd, (struct sockaddr *)&sa, sizeof sa);
		close(fd);
	}
	return NULL;
}

static void
stop_server(struct mg_context *ctx, const char *addr)
{
	struct knock k = {addr, 0};
	pthread_t t;
	int started = pthread_create(&t, NULL, knock_thread, &k) == 0;

	mg_stop(ctx);
	k.done = 1;
	if (started)
		pthread_join(t, NULL);
}

/*
 * The service token is mandatory: a worker that anyone on the network
 * can drive writes into every user's volumes. Running without one takes
 * an explicit TRAINYARD_INSECURE_NO_TOKEN=1, and the log says so.
 */
static int
read_tokens(int argc, char **argv)
{
	const char *tok = cfg_str(argc, argv, "TRAINYARD_SERVICE_TOKEN", NULL);
	const char *mt = cfg_str(argc, argv, "TRAINYARD_METRICS_TOKEN", NULL);

	S.metrics_token = mt && *mt ? xstrdup(mt) : NULL;
	if (tok && *tok) {
		if (strlen(tok) < AUTH_TOKEN_MIN) {
			ty_log("TRAINYARD_SERVICE_TOKEN is too short: at "
			       "least %d characters",
			       AUTH_TOKEN_MIN);
			return -1;
		}
		auth_set_service_token(tok);
		return 0;
	}
	if (cfg_long(argc, argv, "TRAINYARD_INSECURE_NO_TOKEN", 0) == 1) {
		ty_log("WARNING: no TRAINYARD_SERVICE_TOKEN and "
		       "TRAINYARD_INSECURE_NO_TOKEN=1: every route is open to "
		       "anyone who can reach this port");
		return 0;
	}
	ty_log("refusing to start: TRAINYARD_SERVICE_TOKEN is not set (set "
	       "TRAINYARD_INSECURE_NO_TOKEN=1 to run without one on purpose)");
	return -1;
}

int
svc_main(int argc, char **argv, const struct svc_def *def)
{
	struct mg_callbacks cb = {0};
	struct mg_context *ctx;
	char port[80], listen_addr[64], threads[24], timeout[24];
	const char *opts[16];
	sigset_t set;
	int sig, n = 0, rc = 0;

	memset(&S, 0, sizeof S);
	S.def = def;
	snprintf(S.name, sizeof S.name, "trainyard-%s", def->name);
	ty_set_progname(S.name);
	S.started = util_now();
	S.port = (int)cfg_long(argc, argv, "TRAINYARD_PORT", def->default_port);
	S.data_dir =
	    xstrdup(cfg_str(argc, argv, "TRAINYARD_DATA_DIR", "./var/data"));
	S.models_dir = xstrdup(
	    cfg_str(argc, argv, "TRAINYARD_MODELS_DIR", "./var/models"));
	S.threads = (int)cfg_long(argc, argv, "TRAINYARD_THREADS", util_ncpu());
	if (S.threads < 1 || S.threads > 256)
		S.threads = util_ncpu();
	S.max_body = (size_t)cfg_long(argc, argv, "TRAINYARD_MAX_BODY_MB", 64) *
	             1024 * 1024;
	if (S.port <= 0 || S.port > 65535) {
		ty_log("bad port %d", S.port);
		return 1;
	}
	if (read_tokens(argc, argv))
		return 1;
	if (util_mkdirs(S.data_dir, 0755) || util_mkdirs(S.models_dir, 0755)) {
		ty_log("cannot create volume directories %s, %s: %s",
		       S.data_dir, S.models_dir, strerror(errno));
		return 1;
	}

	/*
	 * Block the stop signals in every thread (threads inherit the
	 * mask); main waits for them with sigwait below.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (def->init && def->init(argc, argv)) {
		ty_log("init failed");
		return 1;
	}
	if (def->mount && def->mount->start &&
	    def->mount->start(def->mount->arg, argc, argv))
		return 1;

	snprintf(listen_addr, sizeof listen_addr, "%s",
	         cfg_str(argc, argv, "TRAINYARD_LISTEN", "0.0.0.0"));
	snprintf(port, sizeof port, "%s:%d", listen_addr, S.port);
	opts[n++] = "listening_ports";
	opts[n++] = port;
	/*
	 * Slow clients (docs/jobs.md): headers must arrive within the
	 * request timeout in all, each body read within it too, and
	 * svc_read_body() cuts a body slower than the minimum rate; 64
	 * threads leave the probes room while some connections dawdle.
	 */
	snprintf(threads, sizeof threads, "%ld",
	         cfg_long(argc, argv, "TRAINYARD_HTTP_THREADS", 64));
	snprintf(timeout, sizeof timeout, "%ld",
	         cfg_long(argc, argv, "TRAINYARD_REQUEST_TIMEOUT_MS", 20000));
	pace_config(argc, argv, &S.body_min_rate, &S.body_window_s);
	opts[n++] = "num_threads";
	opts[n++] = threads;
	opts[n++] = "request_timeout_ms";
	opts[n++] = timeout;
	opts[n] = NULL;
	cb.begin_request = dispatch;
	cb.log_message = log_message;
	stack_floor_set(HANDLER_STACK);
	mg_init_library(0);
	ctx = mg_start(&cb, NULL, opts);
	if (!ctx) {
		ty_log("cannot listen on %s", port);
		rc = 1;
		goto out;
	}
	ty_log("listening on %s (data %s, models %s, threads %d)", port,
	       S.data_dir, S.models_dir, S.threads);

	while (sigwait(&set, &sig) != 0)
		;
	S.stopping = 1;
	ty_log("signal %d: stopping", sig);
	stop_server(ctx, listen_addr);
out:
	if (def->mount && def->mount->stop)
		def->mount->stop(def->mount->arg);
	if (def->fini)
		def->fini();
	mg_exit_library();
	ty_log("stopped");
	free(S.data_dir);
	free(S.models_dir);
	free(S.metrics_token);
	auth_set_service_token(NULL);
	return rc;
}
