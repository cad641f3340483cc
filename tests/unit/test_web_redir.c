/* redir: only paths of this app pass as redirect targets (?next=). */
#include "../th.h"
#include "redir.h"
#include "util.h"

static const struct {
	const char *next;
	int ok;
} rows[] = {
    {"/projects", 1},
    {"/projects/3/runs/7", 1},
    {"/projects/3/predict?model_id=4&x=y", 1},
    {"/a-b_c.d~e", 1},
    {"/", 1},
    {"", 0},
    {"projects", 0},
    {"//evil.example/", 0},
    {"///evil.example/", 0},
    {"/\\evil.example/", 0},
    {"\\/evil.example/", 0},
    {"\\\\evil.example", 0},
    {"/\t/evil.example/", 0}, /* the issue's ?next=%09/evil.example/ */
    {"\t/evil.example/", 0},
    {"/\r\nSet-Cookie: x=1", 0},
    {"/\n/evil.example", 0},
    {"/\r/evil.example", 0},
    {"/%09/evil.example/", 0}, /* still encoded: a second decode */
    {"/%2F%2Fevil.example", 0},
    {"/%5Cevil.example", 0},
    {"/%0d%0aX: y", 0},
    {"/a//b", 0},
    {"/a/\\b", 0},
    {"/ /evil.example", 0},
    {"/\x7f", 0},
    {"/\xc2\xa0/evil.example", 0},     /* no-break space */
    {"/\xef\xbc\x8f/evil.example", 0}, /* fullwidth solidus */
    {"https://evil.example/", 0},
    {"javascript:alert(1)", 0},
    {"/javascript:alert(1)", 0}, /* ":" is not a path character here */
    {"/x#frag", 0},
    {"/x@evil.example", 0},
};

int
main(void)
{
	char longp[REDIR_MAX + 2];

	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST(rows[i].next)
		{
			CHECK(redir_local(rows[i].next) == rows[i].ok);
		}
	}
	TH_TEST("NULL is refused")
	{
		CHECK(redir_local(NULL) == 0);
	}
	TH_TEST("at most REDIR_MAX bytes")
	{
		memset(longp, 'a', sizeof longp);
		longp[0] = '/';
		longp[REDIR_MAX] = '\0';
		CHECK(redir_local(longp) == 1);
		longp[REDIR_MAX] = 'a';
		longp[REDIR_MAX + 1] = '\0';
		CHECK(redir_local(longp) == 0);
	}
	return th_done();
}
