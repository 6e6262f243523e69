/* test.h: the unit-test harness. Each tests/unit/test_<x>.c is one binary: a table of cases run in
 * order (or those whose name contains argv[1]), each reported as ok / FAIL / skip, and a closing line
 * "test_<x>: N passed, N failed, N skipped". The exit code is non-zero when anything failed, so a test
 * binary that crashes or fails is never counted as passed by tests/run.sh.
 *
 *   static void test_dtype_roundtrip(fc_test *t) { FC_CHECK(t, x == y, "x=%d", x); }
 *   static const fc_test_case cases[] = {FC_CASE(test_dtype_roundtrip)};
 *   int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
 */
#ifndef FC_TEST_H
#define FC_TEST_H

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    bool failed;
    bool skipped;
    int checks;
} fc_test;

typedef struct {
    const char *name;
    void (*fn)(fc_test *t);
} fc_test_case;

#define FC_CASE(fn) {#fn, fn}
#define FC_NCASES(arr) ((int)(sizeof(arr) / sizeof((arr)[0])))

/* Records a failure with a message; returns false so callers can `return fc_test_fail(...)`-style bail. */
static inline bool fc_test_fail(fc_test *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline bool fc_test_fail(fc_test *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "  FAIL %s: ", t->name);
    vfprintf(stdout, fmt, ap);
    fprintf(stdout, "\n");
    va_end(ap);
    t->failed = true;
    return false;
}

/* Marks the case skipped (e.g. no GPU); it then counts as skipped unless it also failed. */
static inline void fc_test_skip(fc_test *t, const char *why) {
    fprintf(stdout, "  skip %s: %s\n", t->name, why);
    t->skipped = true;
}

/* A check that reports the expression and a formatted detail, then returns from the test on failure. */
#define FC_CHECK(t, cond, ...)                                                                             \
    do {                                                                                                   \
        (t)->checks++;                                                                                     \
        if (!(cond)) {                                                                                     \
            fc_test_fail((t), "%s:%d: check '%s' failed", __FILE__, __LINE__, #cond);                      \
            fprintf(stdout, "       ");                                                                    \
            fprintf(stdout, __VA_ARGS__);                                                                  \
            fprintf(stdout, "\n");                                                                         \
            return;                                                                                        \
        }                                                                                                  \
    } while (0)

/* Compares n floats with |got-want| <= atol + rtol*|want|, written so that NaN fails. Prints up to 5
 * mismatches and the max abs difference. Returns true when all match. */
static inline bool fc_test_close(fc_test *t, const char *what, const float *got, const float *want, size_t n,
                                 double atol, double rtol) {
    t->checks++;
    size_t bad = 0;
    double maxdiff = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        double tol = atol + rtol * fabs((double)want[i]);
        if (d > maxdiff || d != d) maxdiff = d;
        if (!(d <= tol)) {
            if (bad < 5)
                fc_test_fail(t, "%s[%zu]: got %.8g want %.8g (diff %.3g, tol %.3g)", what, i, (double)got[i],
                             (double)want[i], d, tol);
            bad++;
        }
    }
    if (bad) fc_test_fail(t, "%s: %zu of %zu values outside tolerance, max abs diff %.3g", what, bad, n, maxdiff);
    return bad == 0;
}

static inline int fc_test_main(int argc, char **argv, const fc_test_case *cases, int n) {
    const char *prog = strrchr(argv[0], '/');
    prog = prog ? prog + 1 : argv[0];
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < n; i++) {
        if (filter && !strstr(cases[i].name, filter)) continue;
        fc_test t = {.name = cases[i].name};
        cases[i].fn(&t);
        if (t.failed) {
            failed++;
        } else if (t.skipped) {
            skipped++;
        } else if (t.checks == 0) {
            /* a test that checked nothing cannot fail: count it as a failure so it gets fixed */
            fc_test_fail(&t, "made no checks");
            failed++;
        } else {
            passed++;
            fprintf(stdout, "  ok   %s (%d checks)\n", t.name, t.checks);
        }
        fflush(stdout);
    }
    printf("%s: %d passed, %d failed, %d skipped\n", prog, passed, failed, skipped);
    return failed ? 1 : 0;
}

/* Path of the shared data folder (../shared from the repo root unless FC_SHARED says otherwise). */
static inline const char *fc_test_shared(void) {
    const char *s = getenv("FC_SHARED");
    return s ? s : "../shared";
}

#endif
