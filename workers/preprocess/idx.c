/*
 * idx.c — IDX parsing and file-name roles.
 */
#include <stdio.h>
#include <string.h>

#include "idx.h"
#include "bytes.h"

int
idx_parse(const void *buf, size_t len, struct idx *out, char *err,
          size_t errlen)
{
	const uint8_t *p = buf;
	uint64_t n = 1;
	size_t hdr;

	memset(out, 0, sizeof *out);
	if (len < 4 || p[0] != 0 || p[1] != 0) {
		snprintf(err, errlen, "not an IDX file (bad magic)");
		return -1;
	}
	if (p[2] != 0x08) {
		snprintf(err, errlen,
		         "IDX data type 0x%02x is not supported "
		         "(only unsigned bytes, 0x08)",
		         p[2]);
		return -1;
	}
	if (p[3] != 1 && p[3] != 3) {
		snprintf(err, errlen,
		         "IDX with %d dimensions is not "
		         "supported (want 1 for labels, 3 for images)",
		         p[3]);
		return -1;
	}
	out->ndims = p[3];
	hdr = 4 + 4 * (size_t)out->ndims;
	if (len < hdr) {
		snprintf(err, errlen, "IDX header truncated");
		return -1;
	}
	for (int i = 0; i < out->ndims; i++) {
		out->dims[i] = byte_get_be32(p + 4 + 4 * i);
		/* Three u32 sizes can overflow 64 bits: saturate. */
		if (__builtin_mul_overflow(n, out->dims[i], &n))
			n = UINT64_MAX;
	}
	if (out->ndims == 3 && (out->dims[1] == 0 || out->dims[2] == 0 ||
	                        out->dims[1] > 4096 || out->dims[2] > 4096)) {
		snprintf(err, errlen, "IDX image size %ux%u out of range",
		         out->dims[2], out->dims[1]);
		return -1;
	}
	if (n != len - hdr) {
		snprintf(err, errlen,
		         "IDX data is %zu bytes but the header "
		         "says %llu (truncated or corrupt)",
		         len - hdr, (unsigned long long)n);
		return -1;
	}
	out->data = p + hdr;
	return 0;
}

static const struct {
	const char *mark; /* between the stem and the idx suffix */
	const char *suffix;
	enum idx_role role;
} idx_names[] = {
    {"-images", "-idx3-ubyte", IDX_IMAGES},
    {"-images", ".idx3-ubyte", IDX_IMAGES},
    {"-labels", "-idx1-ubyte", IDX_LABELS},
    {"-labels", ".idx1-ubyte", IDX_LABELS},
};

enum idx_role
idx_role_of(const char *name, char *stem, size_t stemlen)
{
	size_t n = strlen(name);

	if (n > 3 && !strcmp(name + n - 3, ".gz"))
		n -= 3;
	for (size_t i = 0; i < TY_ARRAY_LEN(idx_names); i++) {
		size_t ml = strlen(idx_names[i].mark);
		size_t sl = strlen(idx_names[i].suffix);

		if (n < ml + sl ||
		    strncmp(name + n - sl, idx_names[i].suffix, sl) ||
		    strncmp(name + n - sl - ml, idx_names[i].mark, ml))
			continue;
		snprintf(stem, stemlen, "%.*s", (int)(n - sl - ml), name);
		return idx_names[i].role;
	}
	return IDX_NONE;
}
