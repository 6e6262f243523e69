/* threadpool.c: pthread workers woken per loop by a generation counter. */
#include "core/base/threadpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/base/mem.h"

struct fc_pool {
    int n_threads; /* including the caller */
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    unsigned long generation; /* bumped per loop; workers wait for a change */
    int pending;              /* workers still running the current loop */
    int quit;
    /* the current loop */
    size_t n;
    fc_pool_fn fn;
    void *ctx;
};

typedef struct {
    fc_pool *pool;
    int index;
} worker_arg;

static void run_share(fc_pool *p, int index) {
    size_t chunk = (p->n + (size_t)p->n_threads - 1) / (size_t)p->n_threads;
    size_t begin = (size_t)index * chunk;
    size_t end = begin + chunk < p->n ? begin + chunk : p->n;
    if (begin < end) p->fn(p->ctx, begin, end, index);
}

static void *worker_main(void *arg) {
    worker_arg *wa = arg;
    fc_pool *p = wa->pool;
    int index = wa->index;
    free(wa);
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->generation == seen) pthread_cond_wait(&p->wake, &p->mu);
        if (p->quit) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_share(p, index);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

fc_err fc_pool_create(fc_pool **out, int n_threads) {
    *out = NULL;
    if (n_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n > 0 ? (int)n : 1;
    }
    fc_pool *p = fc_calloc(1, sizeof *p, "thread pool");
    if (!p) return FC_ENOMEM;
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->threads = fc_calloc((size_t)n_threads, sizeof(pthread_t), "thread pool");
    if (!p->threads) {
        fc_pool_free(p);
        return FC_ENOMEM;
    }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa) {
            p->n_threads = i;
            fc_pool_free(p);
            return fc_err_set(FC_ENOMEM, "thread pool: out of memory");
        }
        wa->pool = p;
        wa->index = i;
        if (pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
            free(wa);
            p->n_threads = i;
            fc_pool_free(p);
            return fc_err_set(FC_ENOMEM, "thread pool: cannot start thread %d", i);
        }
    }
    *out = p;
    return FC_OK;
}

void fc_pool_free(fc_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    if (p->threads)
        for (int i = 1; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->threads);
    free(p);
}

int fc_pool_size(const fc_pool *p) { return p->n_threads; }

void fc_pool_run(fc_pool *p, size_t n, fc_pool_fn fn, void *ctx) {
    if (n == 0) return;
    if (p->n_threads == 1) {
        fn(ctx, 0, n, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->n = n;
    p->fn = fn;
    p->ctx = ctx;
    p->pending = p->n_threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_share(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
