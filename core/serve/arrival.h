/* arrival.h: when the requests of a load run arrive, as offsets in seconds from the start of the run.
 *
 * Two processes (reference/fastcache-eval-spec.md §2.2):
 *   poisson   independent exponential gaps of mean 1/rate (a Poisson process of the given rate), drawn from
 *             our xoshiro256** generator (core/model/generate.h) seeded with `seed`, so the same seed gives the
 *             same times on every machine and thread count;
 *   constant  a gap of exactly 1/rate, as the original FastCache collector (which has no Poisson process).
 * Request i arrives after i + 1 gaps in both, as in the original (its collector sleeps before each request).
 */
#ifndef FC_SERVE_ARRIVAL_H
#define FC_SERVE_ARRIVAL_H

#include <stdint.h>

#include "core/base/err.h"

typedef enum { FC_SERVE_POISSON = 0, FC_SERVE_CONSTANT, FC_SERVE_ARRIVAL_COUNT } fc_serve_arrival;

extern const char *const fc_serve_arrival_names[]; /* "poisson", "constant", NULL */

/* Parses "poisson" / "constant"; FC_EINVAL naming the valid ones otherwise. */
fc_err fc_serve_arrival_parse(const char *name, fc_serve_arrival *out);

/* Writes n arrival offsets (seconds, non-decreasing) into t. Errors (FC_EINVAL): n < 1, a rate that is not
 * a finite number > 0 ("a rate of 0 requests/s never sends a request"). */
fc_err fc_serve_arrival_times(fc_serve_arrival process, double rate, int n, uint64_t seed, double *t);

#endif
