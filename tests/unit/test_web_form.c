/* Unit tests of request parsing: urlencoded forms (app/form.c), the
 * streaming multipart parser (app/mp.c), and upload file names
 * (app/upload.c). Hostile inputs have rows of their own. */
#include <stdlib.h>
#include <string.h>

#include "../th.h"
#include "form.h"
#include "mp.h"
#include "upload.h"
#include "wb.h"

/* Collects parts as "name|filename|data;" for comparison. */
struct collect {
	struct wbuf out;
	int abort_on_data; /* stop when a part's data reaches this many bytes */
	size_t part_bytes;
};

static int
c_begin(void *ud, const char *name, const char *filename)
{
	struct collect *c = ud;
	c->part_bytes = 0;
	return wb_printf(&c->out, "%s|%s|", name, filename ? filename : "-");
}

static int
c_data(void *ud, const char *p, size_t n)
{
	struct collect *c = ud;
	c->part_bytes += n;
	if (c->abort_on_data && c->part_bytes >= (size_t)c->abort_on_data)
		return 1;
	return wb_add(&c->out, p, n);
}

static int
c_end(void *ud)
{
	struct collect *c = ud;
	return wb_adds(&c->out, ";");
}

static const struct mp_callbacks ccb = {c_begin, c_data, c_end};

/* Feeds body in pieces of `chunk` bytes (0: all at once). */
static enum mp_err
parse_mp(const char *boundary, const char *body, size_t len, size_t chunk,
         struct collect *c)
{
	struct mp *m = mp_new(boundary, &ccb, c);
	enum mp_err e = MP_OK;
	size_t off = 0;

	if (!chunk)
		chunk = len ? len : 1;
	while (off < len && e == MP_OK) {
		size_t n = len - off < chunk ? len - off : chunk;
		e = mp_feed(m, body + off, n);
		off += n;
	}
	if (e == MP_OK)
		e = mp_finish(m);
	mp_free(m);
	return e;
}

int
main(void)
{
	/* ---- urlencoded ---- */
	static const struct {
		const char *body;
		enum form_err err;
		const char *key, *want; /* form_get(key) == want */
		size_t n;
	} forms[] = {
	    {"a=1&b=2", FORM_OK, "b", "2", 2},
	    {"name=Ada+Lovelace", FORM_OK, "name", "Ada Lovelace", 1},
	    {"x=%3Cscript%3E%26%22", FORM_OK, "x", "<script>&\"", 1},
	    {"x=%c3%a9", FORM_OK, "x", "\xc3\xa9", 1},
	    {"a=1&&b=2&", FORM_OK, "a", "1", 2},
	    {"flag", FORM_OK, "flag", "", 1},
	    {"a=&b", FORM_OK, "a", "", 2},
	    {"a=1&a=2", FORM_OK, "a", "1", 2},
	    {"k%3D=v%26", FORM_OK, "k=", "v&", 1},
	    {"=v", FORM_OK, "", "v", 1},
	    {"", FORM_OK, "a", NULL, 0},
	    {"a=%zz", FORM_BAD_ESCAPE, "a", NULL, 0},
	    {"a=%4", FORM_BAD_ESCAPE, "a", NULL, 0},
	    {"a=%", FORM_BAD_ESCAPE, "a", NULL, 0},
	    {"a=%00", FORM_BAD_ESCAPE, "a", NULL, 0},
	    {"%zz=1", FORM_BAD_ESCAPE, "a", NULL, 0},
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(forms); i++) {
		TH_TEST(forms[i].body)
		{
			struct form f;
			enum form_err e = form_parse(&f, forms[i].body,
			                             strlen(forms[i].body));
			CHECK(e == forms[i].err);
			if (e == FORM_OK) {
				CHECK(f.n == forms[i].n);
				const char *v = form_get(&f, forms[i].key);
				if (forms[i].want)
					CHECK_STR(v, forms[i].want);
				else
					CHECK(v == NULL);
				form_free(&f);
			}
		}
	}
	TH_TEST("form: a NUL byte in the raw body is refused")
	{
		struct form f;
		CHECK(form_parse(&f, "a=b\0c", 5) == FORM_BAD_ESCAPE);
	}
	TH_TEST("form: more than FORM_FIELDS_MAX fields")
	{
		struct wbuf b;
		struct form f;
		wb_init(&b, 1 << 16);
		for (int i = 0; i <= FORM_FIELDS_MAX; i++)
			CHECK(wb_printf(&b, "f%d=%d&", i, i) == 0);
		CHECK(form_parse(&f, b.data, b.len) == FORM_TOO_MANY);
		CHECK(f.n == 0);
		wb_free(&b);
	}
	TH_TEST("form_check: required, optional, messages")
	{
		static const struct form_rule rules[] = {
		    {"name", form_valid_utf8_line, 0},
		    {"opt", form_valid_utf8_line, 1},
		};
		struct form f;
		const char *bad = NULL;
		CHECK(form_parse(&f, "opt=x", 5) == FORM_OK);
		const char *m = form_check(&f, rules, 2, &bad);
		CHECK(m && strstr(m, "name is required"));
		CHECK_STR(bad, "name");
		form_free(&f);
		CHECK(form_parse(&f, "name=ok", 7) == FORM_OK);
		CHECK(form_check(&f, rules, 2, NULL) == NULL);
		form_free(&f);
		CHECK(form_parse(&f, "name=a%09b", 10) == FORM_OK);
		CHECK(form_check(&f, rules, 2, NULL) != NULL);
		form_free(&f);
	}
	static const struct {
		const char *s;
		int ok;
	} utf8[] = {
	    {"plain", 1},
	    {"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", 1},
	    {"tab\there", 0},
	    {"del\x7f", 0},
	    {"\xc3", 0},             /* truncated */
	    {"\xc0\xaf", 0},         /* overlong '/' */
	    {"\xed\xa0\x80", 0},     /* surrogate */
	    {"\xf4\x90\x80\x80", 0}, /* > U+10FFFF */
	    {"\xc2\x85", 0},         /* C1 control */
	    {"\xff", 0},
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(utf8); i++) {
		TH_TEST("utf8 line")
		{
			CHECK((form_valid_utf8_line(utf8[i].s) == NULL) ==
			      utf8[i].ok);
		}
	}

	/* ---- multipart boundary ---- */
	static const struct {
		const char *ct, *want;
	} bounds[] = {
	    {"multipart/form-data; boundary=abc", "abc"},
	    {"Multipart/Form-Data;boundary=\"a b:c\"", "a b:c"},
	    {"multipart/form-data; charset=x; boundary=q; x=y", "q"},
	    {"multipart/form-data", NULL},
	    {"multipart/form-data; boundary=", NULL},
	    {"multipart/form-data; boundary=\"unterminated", NULL},
	    {"multipart/form-data; boundary=bad<char", NULL},
	    {"text/plain; boundary=abc", NULL},
	    {"multipart/form-data;", NULL}, /* found by fuzz_multipart */
	    {"multipart/form-data; ", NULL},
	    {"multipart/form-data;;x", NULL},
	    {"multipart/form-data; boundary=0123456789012345678901234567"
	     "890123456789012345678901234567890123456789X",
	     NULL},
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(bounds); i++) {
		TH_TEST(bounds[i].ct)
		{
			char b[MP_BOUNDARY_MAX + 1];
			int rc = mp_boundary(bounds[i].ct, b, sizeof(b));
			if (bounds[i].want) {
				CHECK(rc == 0);
				CHECK_STR(b, bounds[i].want);
			} else {
				CHECK(rc < 0);
			}
		}
	}
	TH_TEST("mp_boundary(NULL)")
	{
		char b[8];
		CHECK(mp_boundary(NULL, b, sizeof(b)) < 0);
	}

	/* ---- multipart bodies, each fed whole, in 1-byte and 7-byte pieces */
	static const struct {
		const char *name, *body;
		enum mp_err err;
		const char *want;
	} mps[] = {
	    {"two parts",
	     "--XX\r\nContent-Disposition: form-data; name=\"csrf\"\r\n"
	     "\r\ntok\r\n--XX\r\nContent-Disposition: form-data; "
	     "name=\"file\"; filename=\"a.zip\"\r\nContent-Type: x/y\r\n"
	     "\r\nPK\r\n--X\r\n-\r\n--XX--\r\n",
	     MP_OK, "csrf|-|tok;file|a.zip|PK\r\n--X\r\n-;"},
	    {"preamble and epilogue",
	     "junk\r\n--XX\r\ncontent-disposition: form-data; name=a\r\n"
	     "\r\n1\r\n--XX--\r\nepilogue",
	     MP_OK, "a|-|1;"},
	    {"empty value, padding after boundary",
	     "--XX  \r\nContent-Disposition: form-data; name=\"e\"\r\n"
	     "\r\n\r\n--XX--",
	     MP_OK, "e|-|;"},
	    {"escaped quote in name",
	     "--XX\r\nContent-Disposition: form-data; name=\"a\\\"b\"; "
	     "filename=\"../../x\"\r\n\r\nv\r\n--XX--",
	     MP_OK, "a\"b|../../x|v;"},
	    {"no closing boundary",
	     "--XX\r\nContent-Disposition: "
	     "form-data; name=\"a\"\r\n\r\nabc",
	     MP_TRUNCATED, NULL},
	    {"empty body", "", MP_TRUNCATED, NULL},
	    {"no disposition",
	     "--XX\r\nContent-Type: a/b\r\n\r\nx\r\n"
	     "--XX--",
	     MP_BAD_DISPOSITION, NULL},
	    {"disposition without name",
	     "--XX\r\nContent-Disposition: "
	     "form-data; filename=\"x\"\r\n\r\nx\r\n--XX--",
	     MP_BAD_DISPOSITION, NULL},
	    {"not form-data",
	     "--XX\r\nContent-Disposition: attachment; "
	     "name=\"x\"\r\n\r\nx\r\n--XX--",
	     MP_BAD_DISPOSITION, NULL},
	    {"two dispositions",
	     "--XX\r\nContent-Disposition: form-data; "
	     "name=a\r\nContent-Disposition: form-data; name=b\r\n\r\n"
	     "x\r\n--XX--",
	     MP_BAD_DISPOSITION, NULL},
	    {"unterminated quote",
	     "--XX\r\nContent-Disposition: "
	     "form-data; name=\"abc\r\n\r\nx\r\n--XX--",
	     MP_BAD_DISPOSITION, NULL},
	    {"junk after boundary",
	     "--XX junk\r\nContent-Disposition: "
	     "form-data; name=a\r\n\r\nx\r\n--XX--",
	     MP_BAD_FRAMING, NULL},
	};
	static const size_t chunks[] = {0, 1, 7};
	for (size_t i = 0; i < TY_ARRAY_LEN(mps); i++) {
		for (size_t k = 0; k < TY_ARRAY_LEN(chunks); k++) {
			TH_TEST(mps[i].name)
			{
				struct collect c = {.abort_on_data = 0};
				wb_init(&c.out, 1 << 16);
				enum mp_err e = parse_mp("XX", mps[i].body,
				                         strlen(mps[i].body),
				                         chunks[k], &c);
				CHECK(e == mps[i].err);
				if (e != mps[i].err)
					fprintf(stderr, "  chunk %zu: got %s\n",
					        chunks[k], mp_strerror(e));
				if (mps[i].want)
					CHECK_STR(c.out.data ? c.out.data : "",
					          mps[i].want);
				wb_free(&c.out);
			}
		}
	}
	TH_TEST("multipart: a large part streams through a fixed buffer")
	{
		size_t big = 3 * 1024 * 1024 + 17, len;
		struct wbuf b;
		struct collect c = {.abort_on_data = 0};
		wb_init(&b, big + 4096);
		wb_init(&c.out, big + 4096);
		CHECK(wb_adds(&b,
		              "--XX\r\nContent-Disposition: form-data; "
		              "name=\"file\"; filename=\"f\"\r\n\r\n") == 0);
		for (size_t j = 0; j < big; j++) {
			char ch = (char)("\r\n-X"[j % 4]);
			CHECK(wb_add(&b, &ch, 1) == 0);
		}
		CHECK(wb_adds(&b, "\r\n--XX--\r\n") == 0);
		len = b.len;
		CHECK(parse_mp("XX", b.data, len, 65536 + 3, &c) == MP_OK);
		CHECK(c.out.len == strlen("file|f|;") + big);
		wb_free(&b);
		wb_free(&c.out);
	}
	TH_TEST("multipart: a callback can stop the parse")
	{
		const char *body =
		    "--XX\r\nContent-Disposition: form-data; "
		    "name=\"file\"; filename=\"f\"\r\n\r\n0123456789\r\n--XX--";
		struct collect c = {.abort_on_data = 4};
		wb_init(&c.out, 1024);
		CHECK(parse_mp("XX", body, strlen(body), 1, &c) == MP_ABORTED);
		wb_free(&c.out);
	}
	TH_TEST("multipart: headers over 16 KiB")
	{
		struct wbuf b;
		struct collect c = {.abort_on_data = 0};
		wb_init(&b, 1 << 20);
		wb_init(&c.out, 1024);
		CHECK(wb_adds(&b, "--XX\r\nX-Pad: ") == 0);
		for (int j = 0; j < 20000; j++)
			CHECK(wb_add(&b, "a", 1) == 0);
		CHECK(parse_mp("XX", b.data, b.len, 0, &c) ==
		      MP_HEADERS_TOO_BIG);
		wb_free(&b);
		wb_free(&c.out);
	}
	TH_TEST("multipart: too many parts")
	{
		struct wbuf b;
		struct collect c = {.abort_on_data = 0};
		wb_init(&b, 1 << 20);
		wb_init(&c.out, 1 << 20);
		for (int j = 0; j <= MP_PARTS_MAX; j++)
			CHECK(wb_adds(&b,
			              "--XX\r\nContent-Disposition: "
			              "form-data; name=a\r\n\r\nv\r\n") == 0);
		CHECK(wb_adds(&b, "--XX--") == 0);
		CHECK(parse_mp("XX", b.data, b.len, 0, &c) ==
		      MP_TOO_MANY_PARTS);
		wb_free(&b);
		wb_free(&c.out);
	}
	TH_TEST("multipart: bad boundary given to mp_new")
	{
		struct collect c = {.abort_on_data = 0};
		wb_init(&c.out, 64);
		CHECK(parse_mp("", "--\r\n", 4, 0, &c) == MP_BAD_BOUNDARY);
		wb_free(&c.out);
	}

	/* ---- upload file names ---- */
	static const struct {
		const char *in, *want;
	} names[] = {
	    {"data.zip", "data.zip"},
	    {"my data (1).tar.gz", "my_data_1_.tar.gz"},
	    {"../../etc/passwd", "passwd"},
	    {"C:\\Users\\me\\cats.zip", "cats.zip"},
	    {"..", "upload"},
	    {".hidden.zip", "hidden.zip"},
	    {"", "upload"},
	    {"/", "upload"},
	    {"___", "upload"},
	    {"<script>.zip", "script_.zip"},
	    {"caf\xc3\xa9.zip", "caf_.zip"},
	    {"a\r\nb.zip", "a_b.zip"},
	    {"x%2F..%2Fy.zip", "x_2F.._2Fy.zip"},
	    {"name.", "name"},
	    {"nul\x01"
	     "byte",
	     "nul_byte"},
	};
	for (size_t i = 0; i < TY_ARRAY_LEN(names); i++) {
		TH_TEST(names[i].in)
		{
			char out[UPLOAD_NAME_MAX + 1];
			upload_safe_name(names[i].in, out);
			CHECK_STR(out, names[i].want);
		}
	}
	TH_TEST("upload name: long names keep .tar.gz")
	{
		char in[400], out[UPLOAD_NAME_MAX + 1];
		memset(in, 'a', 300);
		strcpy(in + 300, ".tar.gz");
		upload_safe_name(in, out);
		CHECK(strlen(out) == UPLOAD_NAME_MAX);
		CHECK(strcmp(out + UPLOAD_NAME_MAX - 7, ".tar.gz") == 0);
		memset(in, 'b', 399);
		in[399] = '\0';
		upload_safe_name(in, out);
		CHECK(strlen(out) == UPLOAD_NAME_MAX);
	}
	return th_done();
}
