/*
 * idx.h — MNIST-style IDX files: big-endian header (0, 0, type 0x08 for
 * unsigned bytes, number of dimensions), the sizes as u32, then the data.
 * Images are idx3 (count, rows, cols), labels idx1 (count).
 */
#ifndef TY_IDX_H
#define TY_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct idx {
	int ndims;           /* 1 or 3 */
	uint32_t dims[3];    /* count, rows, cols (unused ones 0) */
	const uint8_t *data; /* into the caller's buffer */
};

/*
 * Parses an uncompressed IDX file of unsigned bytes with 1 or 3
 * dimensions; the data length must match the sizes exactly. Returns 0 or
 * -1 with a message in err.
 */
int idx_parse(const void *buf, size_t len, struct idx *out, char *err,
              size_t errlen) TY_WUR;

/* Which IDX role a file name has (after any ".gz"). */
enum idx_role { IDX_NONE, IDX_IMAGES, IDX_LABELS };
/*
 * "train-images-idx3-ubyte[.gz]" -> IDX_IMAGES with the stem "train"
 * written to stem (the part before "-images"/"-labels"); also the
 * "train-images.idx3-ubyte" spelling.
 */
enum idx_role idx_role_of(const char *basename, char *stem, size_t stemlen);

#endif
