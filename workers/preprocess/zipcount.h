/*
 * zipcount.h — the images a zip archive holds, counted from its central
 * directory (the end record, zip64 included, then one pass over the
 * directory's names) without reading any entry: a prepare checks the
 * output it would write against TRAINYARD_MAX_OUTPUT_MB before decoding
 * anything. Entries whose path is an image in a class folder
 * (prep_path_classify) count; directories and hidden files do not. A tar
 * has no directory: it is checked image by image as it is read.
 */
#ifndef TY_PREP_ZIPCOUNT_H
#define TY_PREP_ZIPCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "prep.h"

struct zipcount_dir {
	uint64_t entries, size, off; /* of the central directory */
	int zip64;                   /* the real record is at eocd64_off */
	uint64_t eocd64_off;
};

/*
 * The parts, exposed for the fuzzer: the end record in the last len
 * bytes of a file; the zip64 end record; the images among the directory's
 * entries (*files: entries that are not directories). 0 / -1 when not found.
 */
int zipcount_end(const uint8_t *tail, size_t len,
                 struct zipcount_dir *d) TY_WUR;
int zipcount_end64(const uint8_t *rec, size_t len,
                   struct zipcount_dir *d) TY_WUR;
uint64_t zipcount_walk(const uint8_t *cd, size_t len, uint64_t *files);

/* 0 and the count, or -1 (not a zip, or a directory it cannot read). */
int zipcount_images(const char *path, uint64_t *images) TY_WUR;

#endif
