/* st_open.c: one timed "open a safetensors file and touch one tensor" with our reader, for bench/st_open.sh.
 *   st_open make PATH         write the bench file: 256 F16 [1024,4096] tensors (2 GiB) + "small.bias" F32 [16]
 *   st_open read PATH NAME    open PATH, find NAME, sum its values, close; prints "<seconds> <sum>"
 * The peer doing the same with the Python library is bench/st_open.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/io/safetensors.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int make(const char *path) {
    static const int64_t big[2] = {1024, 4096};
    size_t n = (size_t)big[0] * (size_t)big[1];
    uint16_t *zeros = calloc(n, sizeof *zeros); /* one buffer lent to every big tensor */
    float bias[16];
    for (int i = 0; i < 16; i++) bias[i] = 0.5f * (float)i;
    fc_st_writer *w;
    fc_err e = zeros ? fc_st_writer_create(&w) : FC_ENOMEM;
    for (int i = 0; i < 256 && e == FC_OK; i++) {
        char name[64];
        snprintf(name, sizeof name, "model.layers.%d.weight", i);
        e = fc_st_writer_add(w, name, FC_DTYPE_F16, 2, big, zeros);
    }
    if (e == FC_OK) e = fc_st_writer_add(w, "small.bias", FC_DTYPE_F32, 1, (int64_t[]){16}, bias);
    if (e == FC_OK) e = fc_st_writer_write(w, path);
    if (zeros) fc_st_writer_free(w);
    free(zeros);
    if (e != FC_OK) fprintf(stderr, "st_open: %s\n", fc_errmsg());
    return e == FC_OK ? 0 : 1;
}

static int readone(const char *path, const char *name) {
    double t0 = now();
    fc_st_file f;
    fc_err e = fc_st_open(&f, path);
    if (e != FC_OK) {
        fprintf(stderr, "st_open: %s\n", fc_errmsg());
        return 1;
    }
    const fc_st_entry *en = fc_st_find(&f, name);
    fc_tensor t;
    if (!en || fc_st_tensor(en, &t) != FC_OK || t.dtype != FC_DTYPE_F32) {
        fprintf(stderr, "st_open: %s: no F32 tensor '%s'\n", path, name);
        fc_st_close(&f);
        return 1;
    }
    double sum = 0;
    for (int64_t i = 0; i < fc_tensor_numel(&t); i++) sum += ((const float *)t.data)[i];
    fc_st_close(&f);
    double dt = now() - t0;
    printf("%.9f %g\n", dt, sum);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "make")) return make(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "read")) return readone(argv[2], argv[3]);
    fprintf(stderr, "usage: st_open make PATH | st_open read PATH NAME\n");
    return 2;
}
