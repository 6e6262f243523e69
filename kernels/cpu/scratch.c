/* scratch.c: per-thread scratch buffers for the CPU kernels (converted weight blocks, attention scores).
 *
 * Ops must not allocate per call (decode loops call them thousands of times), yet some need temporary
 * memory whose size depends on the shapes. Each thread (the caller's and each OpenMP worker) keeps a few
 * grow-only buffers; a pthread key destructor frees them when the thread exits, so nothing leaks.
 */
#include "kernels/cpu/cpu.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/base/mem.h"

typedef struct {
    float *buf[FC_CPU_SCRATCH_SLOTS];
    size_t cap[FC_CPU_SCRATCH_SLOTS]; /* floats */
} scratch_set;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static _Thread_local scratch_set *scratch_tls;

static void scratch_destroy(void *p) {
    scratch_set *s = p;
    for (int i = 0; i < FC_CPU_SCRATCH_SLOTS; i++) free(s->buf[i]);
    free(s);
}

static void scratch_key_init(void) { (void)pthread_key_create(&scratch_key, scratch_destroy); }

float *fc_cpu_scratch(int slot, size_t n) {
    FC_ASSERT(slot >= 0 && slot < FC_CPU_SCRATCH_SLOTS);
    scratch_set *s = scratch_tls;
    if (!s) {
        pthread_once(&scratch_once, scratch_key_init);
        s = fc_calloc(1, sizeof *s, "kernel scratch");
        if (!s) return NULL;
        scratch_tls = s;
        (void)pthread_setspecific(scratch_key, s); /* registers the destructor for this thread */
    }
    if (s->cap[slot] < n) {
        size_t bytes;
        if (!fc_mul_size(n, sizeof(float), &bytes)) {
            fc_err_set(FC_ENOMEM, "kernel scratch: %zu floats overflow size_t", n);
            return NULL;
        }
        /* 64-byte aligned for vector loads; grow by 1.5x so a slowly rising T does not realloc every call */
        size_t want = n + n / 2;
        if (!fc_mul_size(want, sizeof(float), &bytes)) want = n, bytes = n * sizeof(float);
        bytes = (bytes + 63) & ~(size_t)63;
        float *p = aligned_alloc(64, bytes);
        if (!p) {
            fc_err_set(FC_ENOMEM, "kernel scratch: out of memory allocating %zu bytes", bytes);
            return NULL;
        }
        free(s->buf[slot]);
        s->buf[slot] = p;
        s->cap[slot] = want;
    }
    return s->buf[slot];
}
