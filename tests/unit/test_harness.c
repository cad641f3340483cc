/* The harness itself: a failing CHECK must be counted as a failure. */
#include "../th.h"

int
main(void)
{
	int inner_failed;

	TH_TEST("a passing check passes")
	{
		CHECK(1 + 1 == 2);
		CHECK_STR("abc", "abc");
	}
	TH_TEST("a failing check is counted")
	{
		int before = th_failed, before_p = th_passed;
		/* Run a failing test by hand, then undo its counts. */
		th_begin("inner");
		fprintf(stderr, "(the next FAIL line is expected)\n");
		CHECK(0);
		th_end_test();
		inner_failed = th_failed - before;
		th_failed = before;
		th_passed = before_p;
		th_begin("a failing check is counted");
		CHECK(inner_failed == 1);
	}
	return th_done();
}
