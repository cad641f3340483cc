/*
 * fuzz_archive.c — libFuzzer harness over the bytes a user uploads: the
 * whole archive path (libarchive, names, IDX, decode, convert, resize,
 * report) and, selected by the first byte, the image decoder ('I'), a
 * decoded image fitted under every square-input policy ('F'), the IDX
 * parser, the .tyd parser and the zip directory count on their own.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../workers/preprocess/idx.h"
#include "../../workers/preprocess/prep.h"
#include "../../workers/preprocess/zipcount.h"
#include "img.h"
#include "tensor.h"

static void
fuzz_archive(const uint8_t *data, size_t size)
{
	static const struct prep_limits lim = {
	    .max_entries = 2000,
	    .max_total = 16 << 20,
	    .max_entry = 4 << 20,
	    .max_pixels = 1 << 20,
	    .max_output = 16 << 20,
	    .max_ratio = 100,
	};
	struct prep_opts o = {
	    .mode = PREP_PREPARE,
	    .width = 5,
	    .height = 4,
	    .channels = 3,
	    .threads = 2,
	    .lim = &lim,
	};
	char path[64];
	struct prep_scan *s;
	cJSON *r;
	int fd = memfd_create("fuzz", 0);

	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	o.archive = path;
	s = prep_scan_run(&o);
	for (uint32_t i = 0; i < s->count; i++) {
		uint8_t px[5 * 4 * 3];
		volatile uint8_t sink;

		if (prep_scan_copy(s, i, px))
			abort();
		sink = px[0] ^ px[sizeof px - 1];
		(void)sink;
		if (s->labels[i] >= s->nclasses)
			abort();
	}
	r = prep_report(s);
	free(cJSON_PrintUnformatted(r));
	cJSON_Delete(r);
	prep_scan_free(s);
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct img_limits ilim = {.max_pixels = 1 << 20};
	uint8_t out[7 * 6 * 3];
	struct img_info info;
	struct tensor t;
	struct idx x;
	char err[256];

	if (size < 1)
		return 0;
	switch (data[0]) {
	case 'I':
		if (img_load(data + 1, size - 1, &ilim, 7, 6,
		             1 + (size & 1) * 2, out, &info, err,
		             sizeof err) == IMG_OK &&
		    info.width <= 0)
			abort();
		break;
	case 'F': {
		/* a decoded picture fitted under each policy (img_fit_as):
		 * the letterbox bars and crop rects stay inside */
		uint8_t *px;
		if (img_decode(data + 1, size - 1, &ilim, &info, &px, err,
		               sizeof err) != IMG_OK)
			break;
		for (int f = 0; f < IMG_FIT__MAX; f++)
			if (img_fit_as(px, info.width, info.height,
			               info.channels, 7, 6, 1 + (size & 1) * 2,
			               (enum img_fit)f, out, err,
			               sizeof err) != IMG_OK)
				abort();
		img_free(px);
		break;
	}
	case 'X':
		if (idx_parse(data + 1, size - 1, &x, err, sizeof err) == 0 &&
		    x.data > data + size)
			abort();
		break;
	case 'T':
		if (tensor_parse(data + 1, size - 1, &t, err, sizeof err) ==
		        0 &&
		    t.count && t.labels[t.count - 1] >= t.classes)
			abort();
		break;
	case 'Z': {
		struct zipcount_dir d;
		uint64_t files, images;

		/* the end records and the central directory walk */
		if (zipcount_end(data + 1, size - 1, &d) == 0 && d.zip64 &&
		    zipcount_end64(data + 1, size - 1, &d) < -1)
			abort();
		images = zipcount_walk(data + 1, size - 1, &files);
		if (images > files || files > size / 46)
			abort();
		break;
	}
	default:
		fuzz_archive(data, size);
		break;
	}
	return 0;
}
