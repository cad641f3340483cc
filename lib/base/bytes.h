/*
 * bytes.h — fixed-width integers at a byte pointer, in a stated byte
 * order, whatever the host's. The file formats (.tyd, .tym, the federated
 * weights body) are little-endian; IDX and some image headers big-endian.
 */
#ifndef TY_BYTES_H
#define TY_BYTES_H

#include <stdint.h>

static inline uint16_t
byte_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t
byte_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t
byte_get_le64(const uint8_t *p)
{
	return (uint64_t)byte_get_le32(p) | (uint64_t)byte_get_le32(p + 4)
	                                        << 32;
}

static inline uint32_t
byte_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void
byte_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void
byte_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

#endif
