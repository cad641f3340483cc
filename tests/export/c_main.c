/*
 * Drives an exported model.c for the tests: reads images from stdin, each
 * as "w h channels\n" followed by w*h*channels bytes, and prints one line
 * per image: the class trainyard_predict returns, then the probabilities;
 * then each class name in hex.
 * Built with the export: cc -O2 -std=c99 -Wall -Werror model.c c_main.c -lm
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int trainyard_predict(const uint8_t *pixels, int w, int h, int channels,
                      float *probs);
extern const char *const trainyard_classes[];

int
main(int argc, char **argv)
{
	int w, h, c, k = argc > 1 ? atoi(argv[1]) : 0;
	float probs[256];
	if (k < 1 || k > 256) {
		fprintf(stderr, "usage: %s NCLASSES <images\n", argv[0]);
		return 2;
	}
	while (scanf("%d %d %d", &w, &h, &c) == 3) {
		size_t n = (size_t)w * h * c;
		uint8_t *px = malloc(n ? n : 1);
		if (!px || getchar() != '\n' || fread(px, 1, n, stdin) != n)
			return 1;
		int best = trainyard_predict(px, w, h, c, probs);
		printf("%d", best);
		for (int i = 0; best >= 0 && i < k; i++)
			printf(" %.9g", probs[i]);
		printf("\n");
		free(px);
	}
	/* the names as hex: any byte survives the trip */
	for (int i = 0; i < k; i++) {
		printf("class %d ", i);
		for (const char *p = trainyard_classes[i]; *p; p++)
			printf("%02x", (unsigned char)*p);
		printf("\n");
	}
	return 0;
}
