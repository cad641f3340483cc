/* clientip: the client address behind trusted proxies only. */
#include "../th.h"
#include "clientip.h"

static const struct {
	const char *trusted, *peer, *xff, *want;
} rows[] = {
    /* no trusted proxy: the header is never believed */
    {"", "10.0.0.5", "203.0.113.9", "10.0.0.5"},
    {NULL, "10.0.0.5", NULL, "10.0.0.5"},
    /* the peer is trusted: the rightmost entry that is not a proxy */
    {"10.0.0.0/8", "10.0.0.5", "203.0.113.9", "203.0.113.9"},
    {"10.0.0.0/8", "10.0.0.5", " 203.0.113.9 ", "203.0.113.9"},
    {"10.0.0.0/8", "10.0.0.5", "1.2.3.4, 203.0.113.9", "203.0.113.9"},
    {"10.0.0.0/8", "10.0.0.5", "203.0.113.9, 10.1.2.3", "203.0.113.9"},
    {"10.0.0.0/8", "10.0.0.5", "10.1.1.1, 10.1.2.3", "10.0.0.5"},
    {"10.0.0.0/8", "10.0.0.5", "", "10.0.0.5"},
    {"10.0.0.0/8", "10.0.0.5", "not-an-address", "10.0.0.5"},
    {"10.0.0.0/8", "10.0.0.5", "203.0.113.9, junk", "10.0.0.5"},
    {"10.0.0.0/8", "10.0.0.5", "203.0.113.9,", "10.0.0.5"},
    {"10.0.0.0/8", "10.0.0.5", "203.0.113.9:1234", "10.0.0.5"},
    /* a peer outside the blocks: its header is ignored */
    {"10.0.0.0/8", "11.0.0.5", "203.0.113.9", "11.0.0.5"},
    {"10.0.0.1", "10.0.0.2", "203.0.113.9", "10.0.0.2"},
    {"10.0.0.1", "10.0.0.1", "203.0.113.9", "203.0.113.9"},
    {"10.0.0.0/31", "10.0.0.1", "203.0.113.9", "203.0.113.9"},
    {"10.0.0.0/31", "10.0.0.2", "203.0.113.9", "10.0.0.2"},
    /* every entry a proxy: nothing to believe but the peer */
    {"0.0.0.0/0", "192.0.2.1", "203.0.113.9", "192.0.2.1"},
    /* IPv6, canonical form out */
    {"::1, fd00::/8", "::1", "2001:db8:0:0::1", "2001:db8::1"},
    {"fd00::/8", "fd12::1", "2001:db8::7, fd00::9", "2001:db8::7"},
    {"fd00::/8", "fe80::1", "2001:db8::7", "fe80::1"},
};

int
main(void)
{
	struct clientip_nets n;
	char out[CLIENTIP_LEN], err[128];

	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST(rows[i].want)
		{
			CHECK(clientip_parse(rows[i].trusted, &n, err,
			                     sizeof err) == 0);
			clientip_of(&n, rows[i].peer, rows[i].xff, out,
			            sizeof out);
			CHECK_STR(out, rows[i].want);
		}
	}
	TH_TEST("bad TRAINYARD_TRUSTED_PROXIES are refused with a reason")
	{
		static const char *const bad[] = {
		    "10.0.0.0/33", "x",  "10.0.0.1/", "10.0.0.1/a",
		    "::1/129",     ",,", "10.0.0.1,,"};
		for (size_t i = 0; i < TY_ARRAY_LEN(bad); i++) {
			err[0] = '\0';
			CHECK(clientip_parse(bad[i], &n, err, sizeof err) ==
			      -1);
			CHECK(err[0] != '\0');
		}
	}
	TH_TEST("trusted")
	{
		CHECK(clientip_parse("127.0.0.1, ::1", &n, err, sizeof err) ==
		      0);
		CHECK(n.n == 2);
		CHECK(clientip_trusted(&n, "127.0.0.1"));
		CHECK(clientip_trusted(&n, "::1"));
		CHECK(!clientip_trusted(&n, "127.0.0.2"));
		CHECK(!clientip_trusted(&n, NULL));
		CHECK(!clientip_trusted(&n, ""));
	}
	return th_done();
}
