/*
 * test_idx.c — IDX parsing (valid and hostile headers) and the file-name
 * roles that pair images with labels.
 */
#include <stdlib.h>
#include <string.h>

#include "../th.h"
#include "../../workers/preprocess/idx.h"

static void
test_parse(void)
{
	static const struct {
		const char *name;
		const char *bytes;
		size_t len;
		int ok;
		int ndims;
		uint32_t d0, d1, d2;
	} rows[] = {
	    {"labels, 3 items", "\0\0\x08\x01\0\0\0\x03\x01\x02\x03", 11, 1, 1,
	     3, 0, 0},
	    {"images, 2 of 1x2",
	     "\0\0\x08\x03\0\0\0\x02\0\0\0\x01\0\0\0\x02"
	     "abcd",
	     20, 1, 3, 2, 1, 2},
	    {"empty labels", "\0\0\x08\x01\0\0\0\0", 8, 1, 1, 0, 0, 0},
	    {"bad magic", "\1\0\x08\x01\0\0\0\x01\x05", 9, 0, 0, 0, 0, 0},
	    {"float type refused", "\0\0\x0d\x01\0\0\0\x01\0\0\0\0", 12, 0, 0,
	     0, 0, 0},
	    {"2 dims refused", "\0\0\x08\x02\0\0\0\x01\0\0\0\x01\x05", 13, 0, 0,
	     0, 0, 0},
	    {"short header", "\0\0\x08\x03\0\0\0\x01", 8, 0, 0, 0, 0, 0},
	    {"too little data", "\0\0\x08\x01\0\0\0\x05\x01", 9, 0, 0, 0, 0, 0},
	    {"too much data", "\0\0\x08\x01\0\0\0\x01\x01\x02", 10, 0, 0, 0, 0,
	     0},
	    {"sizes overflow 64 bits",
	     "\0\0\x08\x03\xff\xff\xff\xff\0\0\x10\0\0\0\x10\0", 16, 0, 0, 0, 0,
	     0},
	    {"zero rows", "\0\0\x08\x03\0\0\0\x01\0\0\0\0\0\0\0\x01", 16, 0, 0,
	     0, 0, 0},
	    {"empty input", "", 0, 0, 0, 0, 0, 0},
	};

	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST(rows[i].name)
		{
			struct idx x;
			char err[200] = "";
			int rc = idx_parse(rows[i].bytes, rows[i].len, &x, err,
			                   sizeof err);

			CHECK((rc == 0) == rows[i].ok);
			if (rows[i].ok) {
				CHECK(x.ndims == rows[i].ndims);
				CHECK(x.dims[0] == rows[i].d0);
				CHECK(x.dims[1] == rows[i].d1);
				CHECK(x.dims[2] == rows[i].d2);
				CHECK(x.data == (const uint8_t *)rows[i].bytes +
				                    4 + 4 * x.ndims);
			} else {
				CHECK(err[0] != '\0');
			}
		}
	}
}

static void
test_roles(void)
{
	static const struct {
		const char *name;
		enum idx_role role;
		const char *stem;
	} rows[] = {
	    {"train-images-idx3-ubyte", IDX_IMAGES, "train"},
	    {"train-images-idx3-ubyte.gz", IDX_IMAGES, "train"},
	    {"t10k-labels-idx1-ubyte.gz", IDX_LABELS, "t10k"},
	    {"train-images.idx3-ubyte", IDX_IMAGES, "train"},
	    {"-labels-idx1-ubyte", IDX_LABELS, ""},
	    {"images-idx3-ubyte", IDX_NONE, ""},
	    {"train-images-idx3-ubyte.zip", IDX_NONE, ""},
	    {"cat.png", IDX_NONE, ""},
	    {".gz", IDX_NONE, ""},
	};

	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		TH_TEST(rows[i].name)
		{
			char stem[64] = "";
			enum idx_role r =
			    idx_role_of(rows[i].name, stem, sizeof stem);

			CHECK(r == rows[i].role);
			if (r != IDX_NONE)
				CHECK_STR(stem, rows[i].stem);
		}
	}
}

int
main(void)
{
	test_parse();
	test_roles();
	return th_done();
}
