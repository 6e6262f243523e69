/* request.h: one request of a load run (what it asks, and the timestamps of what happened to it), and the
 * workload interface that turns record r of a data set into a prompt ready to prefill.
 *
 * Timestamps are seconds since the start of the run on the monotonic clock (core/base/timer.h), -1 until
 * they happen. For a finished request they are ordered:
 *   arrival <= admit <= prefill_end <= compress_start <= compress_end <= first_token <= finish.
 * `admit` is when the scheduler took it off the queue with its KV blocks available (its prefill began);
 * first_token is when the decode step that produced its first generated token returned (with the
 * FastCache convention the prompt's last token is held back and fed as the first decode input, so the
 * first token always comes from a decode step that reads the compressed cache).
 */
#ifndef FC_SERVE_REQUEST_H
#define FC_SERVE_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/model/vlm.h"

typedef struct {
    int id;                   /* 0-based, in arrival order */
    int record;               /* the workload record it asks */
    /* timestamps (s since the run started), -1 = not yet */
    double t_arrival, t_admit, t_prefill_end, t_compress_start, t_compress_end, t_first_token, t_finish;
    int n_prompt;             /* prompt tokens, image rows included */
    int n_cached;             /* prefilled into the cache: n_prompt - 1 (the last one is the first decode input) */
    int n_kept;               /* entries per layer after compression (longest layer); n_cached without one */
    size_t kv_bytes_prefill;  /* KV bytes the sequence held after its prefill */
    size_t kv_bytes_kept;     /* ... after compression */
    size_t kv_bytes_final;    /* ... when it finished (prompt + generated tokens) */
    int n_out;                /* tokens generated (a stop token is not counted) */
    int32_t *out;             /* (max_new_tokens) the generated ids; owned by the run (fc_serve_reqs_free) */
    bool hit_eos;
    int preemptions;          /* times it was swapped out to host memory to let older sequences grow */
} fc_serve_req;

/* Where prompts come from. `length` must be cheap (no vision tower): the scheduler asks it for every
 * record before the run to refuse a request the whole pool cannot hold. `build` does the real work of a
 * prefill's input (image decoding, vision tower, prompt): the scheduler calls it inside the prefill stage,
 * so that time counts in the request's TTFT. */
typedef struct {
    int n_records;
    void *ctx;
    /* prompt tokens of record r (image rows included) */
    fc_err (*length)(void *ctx, int r, int *n_tokens);
    /* the prompt of record r: ids, image spans, embedding rows (fc_vlm_request; free with fc_vlm_request_free) */
    fc_err (*build)(void *ctx, int r, fc_vlm_request *out);
    /* one line saying what the records are, for summaries ("synthetic: 702-token prompts ..."); may be NULL */
    const char *description;
} fc_serve_workload;

/* Synthetic prompts for throughput runs on decoders without a vision tower or a tokenizer (the
 * original's bench matrix has such workloads, reference/fastcache-eval-spec.md §4.8): `prompt` tokens
 * of seeded random ids in [3, vocab), with positions [image_start, image_start + image_len) declared as
 * one image span so the image/text rules of the compressors (ccm, scope=image) see the layout of a
 * LLaVA-1.5 request (702 tokens, 576 image rows from position 5 in the original's padded prompt). */
typedef struct {
    int prompt, image_start, image_len, vocab;
    uint64_t seed;
    int n_records;
    char description[160];
} fc_serve_synthetic;

/* Checks the sizes and fills w (borrowing s, which must outlive it). FC_EINVAL names the bad value. */
fc_err fc_serve_synthetic_workload(fc_serve_synthetic *s, fc_serve_workload *w);

/* Parses "synthetic:prompt=N[,image=K][,image_start=S][,records=R][,seed=X]" (image defaults to 0, image_start
 * to 5 when image > 0, records to 64). FC_EINVAL names the bad key or value. */
fc_err fc_serve_synthetic_parse(const char *spec, int vocab, fc_serve_synthetic *s);

void fc_serve_reqs_free(fc_serve_req *reqs, int n); /* frees each out; accepts NULL */

#endif
