/*
 * tensor.h — the .tyd file of prepared images (DESIGN.md).
 *
 * Little-endian, exactly:
 *	0   "TYD1"
 *	4   u32 version (1)
 *	8   u32 count
 *	12  u32 height
 *	16  u32 width
 *	20  u32 channels
 *	24  u32 classes
 *	28  u32 reserved (0)
 *	32  u16 labels[count]
 *	    zero padding up to tensor_pixel_offset(count)
 *	    = 32 + round_up(2 * count, 64)
 *	    u8 pixels[count][height][width][channels]   (NHWC, row-major)
 * The file is exactly pixel_offset + count*H*W*C bytes long.
 */
#ifndef TY_TENSOR_H
#define TY_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define TENSOR_MAGIC "TYD1"
#define TENSOR_VERSION 1
#define TENSOR_HEADER_SIZE 32
/* Refused above these: no real dataset is near them. */
#define TENSOR_MAX_SIDE 8192
#define TENSOR_MAX_CHANNELS 4
#define TENSOR_MAX_CLASSES 65535

struct tensor {
	uint32_t count, height, width, channels, classes;
	const uint16_t *labels; /* count entries, each < classes */
	const uint8_t *pixels;  /* count * image_bytes */
	size_t image_bytes;     /* height * width * channels */
	/* private */
	void *map;
	size_t map_len;
};

/* Byte offset of the pixels for count images. */
size_t tensor_pixel_offset(uint32_t count);

/*
 * Memory-maps path read-only and validates it (magic, version, sizes
 * against the file length, every label < classes). Returns 0, or -1 with
 * a message in err; on success tensor_close() must be called.
 */
int tensor_open(const char *path, struct tensor *t, char *err,
                size_t errlen) TY_WUR;
/* The same validation over a buffer the caller keeps alive (no copy). */
int tensor_parse(const void *buf, size_t len, struct tensor *t, char *err,
                 size_t errlen) TY_WUR;
void tensor_close(struct tensor *t);

/*
 * Streaming writer: header and labels first, then pixels in as many
 * calls as wanted; commit checks that exactly count images were written,
 * fsyncs and renames the temporary file over path. Any error leaves no
 * file at path (an older file there stays untouched).
 */
struct tensor_writer;
struct tensor_writer *tensor_create(const char *path, uint32_t count,
                                    uint32_t height, uint32_t width,
                                    uint32_t channels, uint32_t classes,
                                    const uint16_t *labels, char *err,
                                    size_t errlen) TY_WUR;
int tensor_write_pixels(struct tensor_writer *w, const uint8_t *px,
                        size_t nbytes) TY_WUR;
/* Commits and frees w; 0 or -1 with err. */
int tensor_commit(struct tensor_writer *w, char *err, size_t errlen) TY_WUR;
/* Removes the temporary file and frees w. */
void tensor_abort(struct tensor_writer *w);

/* The whole file in one call. */
int tensor_write(const char *path, uint32_t count, uint32_t height,
                 uint32_t width, uint32_t channels, uint32_t classes,
                 const uint16_t *labels, const uint8_t *pixels, char *err,
                 size_t errlen) TY_WUR;

#endif
