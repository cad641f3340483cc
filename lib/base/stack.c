/* stack.c — the thread-stack floor; see stack.h for why. */
#include "stack.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

static _Atomic size_t floor_bytes;
static int (*real_setstacksize)(pthread_attr_t *, size_t);

void
stack_floor_set(size_t bytes)
{
	atomic_store(&floor_bytes, bytes);
}

int
pthread_attr_setstacksize(pthread_attr_t *attr, size_t size)
{
	size_t min = atomic_load(&floor_bytes);

	if (!real_setstacksize)
		real_setstacksize = (int (*)(pthread_attr_t *, size_t))dlsym(
		    RTLD_NEXT, "pthread_attr_setstacksize");
	if (!real_setstacksize)
		return ENOSYS;
	return real_setstacksize(attr, size < min ? min : size);
}
