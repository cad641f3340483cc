/*
 * split.h — the seeded, stratified train/validation split.
 *
 * Per class, its images (in the order given) are shuffled with a PRNG
 * seeded from (seed, class) and the first round(n * val_fraction) go to
 * validation — at least one when the class has two or more images and
 * val_fraction > 0, and never all of them. The train set is then shuffled
 * as a whole with the seed, the validation set kept grouped by class.
 * The same inputs always give the same split, on any machine.
 */
#ifndef TY_SPLIT_H
#define TY_SPLIT_H

#include <stddef.h>
#include <stdint.h>

/* A small deterministic PRNG (splitmix64). */
uint64_t split_rand(uint64_t *state);

/*
 * labels[n] (each < nclasses). Fills train[] and val[] with indices into
 * labels and sets *ntrain, *nval (train and val need room for n).
 */
void split_stratified(const uint16_t *labels, size_t n, unsigned nclasses,
                      double val_fraction, uint64_t seed, uint32_t *train,
                      size_t *ntrain, uint32_t *val, size_t *nval);

#endif
