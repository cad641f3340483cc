/*
 * store.h — the pixel store of a prepare: slot i holds image i's pixels,
 * resized, between decoding and writing the splits.
 *
 * The first TRAINYARD_PREP_RAM_MB (64) live in memory, in 2 MB pages;
 * the rest in a file on the data volume (opened with O_TMPFILE in the
 * output's parent directory: nothing to clean up after a crash), mapped
 * so decoders write it in place. Once the reader knows every slot below
 * some index is written (store_written_below), their pages leave this
 * process's memory; the kernel writes them back. Reading goes through
 * pread for the file part. So memory stays bounded by the RAM part plus
 * the batches in flight, whatever the dataset: 200k images at 256x256x3
 * (39 GB of output) took 2.6 GB when the store was all in memory.
 */
#ifndef TY_PREP_STORE_H
#define TY_PREP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct store;

/*
 * A store of images of image_bytes each, for at most max_bytes in all;
 * ram_bytes of them in memory, the rest in a file under dir (NULL: all
 * in memory). Never NULL.
 */
struct store *store_new(size_t image_bytes, uint64_t max_bytes,
                        uint64_t ram_bytes, const char *dir);
/*
 * Makes slot (the next one, in order) writable; 0, or -1 with a message
 * in err (the file could not grow: disk full).
 */
int store_reserve(struct store *st, uint32_t slot, char *err,
                  size_t errlen) TY_WUR;
/* Where slot's pixels go (reserved slots; any thread). */
uint8_t *store_at(const struct store *st, uint32_t slot);
/* Every slot below end is written: their file pages may leave memory. */
void store_written_below(struct store *st, uint32_t end);
/* Copies slot's pixels to out; 0, or -1 (an I/O error, errno set). */
int store_read(const struct store *st, uint32_t slot, uint8_t *out) TY_WUR;
/* Bytes of slots in the file so far (for tests and logs). */
uint64_t store_file_bytes(const struct store *st);
void store_free(struct store *st);

#endif
