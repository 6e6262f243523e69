/* arrival.c: arrival offsets of a load run. See arrival.h. */
#include "core/serve/arrival.h"

#include <math.h>
#include <string.h>

#include "core/model/generate.h"

const char *const fc_serve_arrival_names[] = {"poisson", "constant", NULL};
_Static_assert(sizeof fc_serve_arrival_names / sizeof fc_serve_arrival_names[0] == FC_SERVE_ARRIVAL_COUNT + 1,
               "fc_serve_arrival_names out of sync with fc_serve_arrival");

fc_err fc_serve_arrival_parse(const char *name, fc_serve_arrival *out) {
    for (int i = 0; fc_serve_arrival_names[i]; i++)
        if (!strcmp(name, fc_serve_arrival_names[i])) {
            *out = (fc_serve_arrival)i;
            return FC_OK;
        }
    return fc_err_set(FC_EINVAL, "--arrival '%s': expected poisson or constant", name);
}

fc_err fc_serve_arrival_times(fc_serve_arrival process, double rate, int n, uint64_t seed, double *t) {
    if (n < 1) return fc_err_set(FC_EINVAL, "arrivals: %d requests (want at least 1)", n);
    if (!(rate > 0) || !isfinite(rate))
        return fc_err_set(FC_EINVAL, "request rate %g per second: want a number > 0 (a rate of 0 never sends a request)",
                          rate);
    if ((unsigned)process >= FC_SERVE_ARRIVAL_COUNT) return fc_err_set(FC_EINVAL, "arrivals: unknown process %d", (int)process);
    fc_rng rng;
    fc_rng_seed(&rng, seed, 0x617272ULL); /* a stream of its own: request sampling uses (seed, request id) */
    double at = 0;
    for (int i = 0; i < n; i++) {
        /* inverse CDF of Exp(rate); 1 - u is in (0, 1] so the log is finite */
        double gap = process == FC_SERVE_POISSON ? -log(1.0 - fc_rng_uniform(&rng)) / rate : 1.0 / rate;
        at += gap;
        t[i] = at;
    }
    return FC_OK;
}
