/*
 * th.h — the unit-test harness (after Redis' testhelp.h).
 *
 *	TH_TEST("name") { ... CHECK(x == 1); ... }
 *	return th_done();
 *
 * A test is one TH_TEST block (or one row of a table: put TH_TEST inside the
 * loop). A CHECK that fails prints file:line and the expression and marks
 * the current test failed; the program ends with "N passed, N failed".
 */
#ifndef TH_H
#define TH_H

#include <stdio.h>
#include <string.h>

static int th_passed, th_failed, th_cur_failed, th_in_test;
static const char *th_cur_name;

static void
th_end_test(void)
{
	if (!th_in_test)
		return;
	if (th_cur_failed)
		th_failed++;
	else
		th_passed++;
	th_in_test = 0;
}

static int
th_begin(const char *name)
{
	th_end_test();
	th_cur_name = name;
	th_cur_failed = 0;
	th_in_test = 1;
	return 1;
}

/* TH_TEST runs its block once; the for-loop trick closes the test after. */
#define TH_TEST(name)                                                          \
	for (int th_once_ = th_begin(name); th_once_;                          \
	     th_once_ = 0, th_end_test())

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			th_cur_failed = 1;                                     \
			fprintf(stderr, "FAIL %s: %s:%d: %s\n",                \
			        th_cur_name ? th_cur_name : "?", __FILE__,     \
			        __LINE__, #cond);                              \
		}                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *th_a_ = (a), *th_b_ = (b);                         \
		if (!th_a_ || !th_b_ || strcmp(th_a_, th_b_) != 0) {           \
			th_cur_failed = 1;                                     \
			fprintf(stderr,                                        \
			        "FAIL %s: %s:%d: %s == %s\n  got  \"%s\"\n"    \
			        "  want \"%s\"\n",                             \
			        th_cur_name ? th_cur_name : "?", __FILE__,     \
			        __LINE__, #a, #b, th_a_ ? th_a_ : "(null)",    \
			        th_b_ ? th_b_ : "(null)");                     \
		}                                                              \
	} while (0)

static int
th_done(void)
{
	th_end_test();
	printf("%d passed, %d failed\n", th_passed, th_failed);
	return th_failed ? 1 : 0;
}

#endif
