/* scheduler.h: the staged serving loop of `fc-eval load`: requests arrive in real time, wait in one
 * first-come first-served queue, are admitted when the KV pool has blocks for them, prefilled in batches,
 * compressed in batches, and decoded with continuous batching, all with real model compute and timings
 * from the monotonic clock (core/base/timer.h). Nothing is simulated: when nothing can run, the loop sleeps
 * until the next arrival.
 *
 * One iteration of the loop, on one thread (the model runs one forward at a time):
 *   1. arrivals: every request whose arrival time has passed joins the tail of the queue;
 *   2. compress: up to C prefilled sequences (oldest first) are compressed with the method; their surplus
 *      blocks return to the pool at once, before the next admission;
 *   3. admit + prefill: from the head of the queue, while fewer than P are taken, fewer than D requests
 *      are in flight, and the pool's free blocks hold the head's prompt plus one spare block per layer for
 *      every sequence in flight (so the decode steps just after can grow without evicting it), requests are
 *      admitted in order (never skipped: strict FCFS), their prompts built (images through the vision
 *      tower) and prefilled together in one batched forward. The prompt's last token is held back
 *      (FastCache's convention): it is the first decode input. Without a method, a prefilled sequence goes
 *      straight to decode;
 *   4. decode: one step for every sequence ready to decode (continuous batching: sequences join as soon as
 *      they are compressed and leave as soon as they stop, at every step). If the step needs more blocks
 *      than are free, the most recently admitted sequences of the step are preempted (swapped out to host
 *      memory with fc_kv_seq_swap_out, keeping their tokens and times) until it fits; swapped sequences
 *      come back (swap_in, at the top of the next iterations, oldest first) before anything new is admitted.
 * A request never fails for lack of memory: it waits. One that the whole pool could never hold is refused
 * before the run starts, with the sizes in the message.
 *
 * Answers do not depend on timing beyond rounding: request i samples with its own generator seeded by
 * (seed, i), whatever batch it lands in. Which requests share a step does change how the GEMMs chunk their
 * rows, so logits can differ in the last bits (about 1e-6 on the tiny models) between runs whose timing
 * batched them differently; a greedy or sampled choice sitting on such a near-tie could flip. The tests
 * check exact token equality across batchings on the tiny models (test_serve_load).
 */
#ifndef FC_SERVE_SCHEDULER_H
#define FC_SERVE_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/compress/compress.h"
#include "core/kv/kv_pool.h"
#include "core/model/generate.h"
#include "core/model/llm.h"
#include "core/serve/request.h"

typedef struct {
    int prefill_batch;    /* P: requests prefilled in one forward */
    int compress_batch;   /* C: sequences compressed in one stage */
    int decode_batch;     /* D: requests in flight (admitted, not finished) at most, so at most D decode at once */
    const fc_compress_method *method; /* NULL: the full cache */
    fc_gen_params gen;    /* max_new_tokens, sampling, seed, stop tokens (n_eos 0 with ignore_eos) */
    bool progress;        /* a progress bar on stderr */
} fc_serve_config;

/* One sample of the pool and the queues, taken after every stage. */
typedef struct {
    double t;             /* s since the start */
    size_t kv_bytes;      /* bytes of the pool's blocks in use */
    int decoding;         /* sequences in the last decode step */
    int in_flight;        /* admitted, not finished */
    int waiting;          /* arrived, not admitted */
} fc_serve_sample;

/* What the run did, beyond the per-request records. */
typedef struct {
    double t_end;                        /* s from the start to the last finish */
    double s_prefill, s_compress, s_decode, s_idle; /* wall time in each stage (idle: sleeping for arrivals) */
    long n_prefill_batches, n_compress_batches, n_decode_steps;
    long tokens_decoded;                 /* decode-step rows, recomputed ones included */
    int max_decoding;                    /* most sequences in one decode step */
    int preemptions;
    fc_serve_sample *samples;            /* (n_samples) owned; fc_serve_trace_free */
    int n_samples, cap_samples;
} fc_serve_trace;

void fc_serve_trace_free(fc_serve_trace *t); /* frees samples; accepts NULL */

/* Checks that every request fits the pool on its own: its prefill (n_prompt - 1 entries plus one spare
 * block per layer) and, without a method, its whole life (n_prompt - 1 + max_new_tokens). FC_EINVAL names the
 * request, its tokens, the blocks it needs and the pool's, so "--kv-budget" can be raised. */
fc_err fc_serve_check_fits(const fc_kv_pool *kv, const fc_serve_req *reqs, int n, const fc_serve_config *cfg);

/* Runs n requests (reqs[i].id, record, t_arrival and n_prompt set; everything else is filled) through the
 * model on an empty pool. The pool, model and workload must outlive the call; the pool is empty again on
 * return. Errors: the workload's, the model's, fc_serve_check_fits's, and a sequence that cannot grow even
 * alone in the pool after compression; on error the pool is emptied and the trace holds what ran. */
fc_err fc_serve_run(fc_llm *llm, fc_kv_pool *kv, const fc_serve_workload *w, const fc_serve_config *cfg,
                    fc_serve_req *reqs, int n, fc_serve_trace *trace);

#endif
