/* test_train_sample.c: what fc-train makes of a conversation record: the prompt is the model's request for
 * the first question (image spans as the compressor's segments), and the continuation lays the rest of the
 * conversation out in each model's own format with every answer (and its end token) supervised and the later
 * user turns plain. The expected ids are the tokenizer's encodings of the format's pieces, so a change of
 * the layout (a dropped end token, a user turn marked as target, a turn out of order) fails here. */
#include <stdlib.h>
#include <string.h>

#include "core/model/vlm.h"
#include "data/dataset.h"
#include "tests/test.h"
#include "train/sample.h"
#include "train/split.h"

#define FIX "tests/fixtures/vlm"
#define DATA "tests/fixtures/train/conv.json"
#define IMAGES "tests/fixtures/train/images"

/* appends encode(text) to want/mask with the given mask value */
static int push(const fc_vlm *m, const char *text, uint8_t sup, int32_t *want, uint8_t *mask, int n) {
    int32_t *ids;
    int k;
    if (fc_tokenizer_encode(m->tok, text, strlen(text), false, &ids, &k)) return -1;
    memcpy(want + n, ids, (size_t)k * sizeof *ids);
    memset(mask + n, sup, (size_t)k);
    free(ids);
    return n + k;
}

static void check_record(fc_test *t, const char *model, const char *tok, bool llava) {
    fc_vlm *m = NULL;
    FC_CHECK(t, fc_vlm_load(&m, model, tok) == FC_OK, "%s", fc_errmsg());
    fc_dataset d;
    fc_data_opts o = {.format = FC_DATA_LLAVA, .images_dir = IMAGES};
    FC_CHECK(t, fc_dataset_read(DATA, &o, &d) == FC_OK, "%s", fc_errmsg());
    const fc_data_record *r = &d.recs[2]; /* t02: two question/answer pairs */
    FC_CHECK(t, !strcmp(r->id, "t02") && r->n_turns == 4, "fixture changed: %s has %d turns", r->id, r->n_turns);
    fc_train_sample s;
    fc_err e = fc_train_sample_prompt(m, r, DATA, &s);
    if (!e) e = fc_train_sample_answers(m, r, DATA, &s);
    if (e) {
        fc_test_fail(t, "%s", fc_errmsg());
        goto out;
    }
    /* the prompt is the request the model builds for the first question */
    fc_vlm_request want_req;
    fc_image img;
    FC_CHECK(t, fc_image_load(&img, r->images[0]) == FC_OK, "%s", fc_errmsg());
    e = fc_vlm_request_build(m, &img, 1, "What colour dominates the image?", &want_req);
    fc_image_free(&img);
    FC_CHECK(t, e == FC_OK, "%s", fc_errmsg());
    bool same = want_req.n_ids == s.req.n_ids && !memcmp(want_req.ids, s.req.ids, (size_t)s.req.n_ids * sizeof(int32_t));
    bool spans = s.req.n_spans >= 1;
    for (int k = 0; spans && k < s.req.n_spans; k++)
        spans = s.spans[k].start == s.req.spans[k].start && s.spans[k].end == s.req.spans[k].start + s.req.spans[k].len;
    fc_vlm_request_free(&want_req);
    FC_CHECK(t, same, "prompt ids differ from the model's request");
    FC_CHECK(t, spans, "image spans not carried over as [start, end)");
    int32_t want[512];
    uint8_t mask[512];
    int n = 0;
    if (llava) {
        /* Vicuna v1: answer </s> USER: q ASSISTANT: answer </s> */
        n = push(m, "Some boats on calm water.", 1, want, mask, n);
        want[n] = m->eos[0], mask[n++] = 1;
        n = push(m, "USER: And anything else? ASSISTANT:", 0, want, mask, n);
        n = push(m, "It is daytime, the sky is bright.", 1, want, mask, n);
        want[n] = m->eos[0], mask[n++] = 1;
    } else {
        /* ChatML: answer<|im_end|> \n<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n answer<|im_end|> */
        n = push(m, "Some boats on calm water.<|im_end|>", 1, want, mask, n);
        n = push(m, "\n<|im_start|>user\nAnd anything else?<|im_end|>\n<|im_start|>assistant\n", 0, want, mask, n);
        n = push(m, "It is daytime, the sky is bright.<|im_end|>", 1, want, mask, n);
    }
    FC_CHECK(t, n == s.n_cont, "continuation: %d tokens, want %d", s.n_cont, n);
    int sup = 0;
    for (int i = 0; i < n; i++) {
        FC_CHECK(t, s.cont[i] == want[i] && s.sup[i] == mask[i], "token %d: id %d sup %d, want id %d sup %d", i, s.cont[i],
                 s.sup[i], want[i], mask[i]);
        sup += mask[i];
    }
    FC_CHECK(t, s.n_sup == sup && sup > 0 && sup < n, "supervised count %d (want %d)", s.n_sup, sup);
    if (!llava) FC_CHECK(t, s.cont[n - 1] == fc_tokenizer_token_id(m->tok, "<|im_end|>"), "answer ends with <|im_end|>");
    fc_distill_sample v = fc_train_sample_view(&s);
    FC_CHECK(t, v.n_prompt == s.req.n_ids && v.n_cont == n && v.supervised == s.sup && v.n_spans == s.req.n_spans,
             "distill view");
out:
    fc_train_sample_free(&s);
    fc_train_sample_free(&s);
    fc_dataset_free(&d);
    fc_vlm_free(m);
}

static void test_minicpm_chatml_turns(fc_test *t) { check_record(t, FIX "/minicpmv-tiny", NULL, false); }

static void test_llava_vicuna_turns(fc_test *t) {
    char tok[1024];
    snprintf(tok, sizeof tok, "%s/data/models/llava-1.5-7b-hf", fc_test_shared());
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/tokenizer.json", tok);
    FILE *f = fopen(probe, "rb");
    if (!f) {
        fc_test_skip(t, "the LLaVA tokenizer is not in the shared folder");
        return;
    }
    fclose(f);
    check_record(t, FIX "/llava-tiny", tok, true);
}

static void test_empty_answer_refused(fc_test *t) {
    fc_vlm *m = NULL;
    FC_CHECK(t, fc_vlm_load(&m, FIX "/minicpmv-tiny", NULL) == FC_OK, "%s", fc_errmsg());
    fc_data_turn turns[2] = {{FC_DATA_HUMAN, "<image>\nq"}, {FC_DATA_GPT, "  \n "}};
    fc_data_record r = {.id = "e1", .turns = turns, .n_turns = 2, .question = "q", .answer = ""};
    fc_train_sample s = {0};
    fc_err e = fc_train_sample_answers(m, &r, "x.json", &s);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "x.json: sample 'e1': turn 2: the answer is empty"), "%s",
             fc_errmsg());
    FC_CHECK(t, s.n_cont == 0 && !s.cont, "a failed continuation leaves none");
    fc_data_record q = {.id = "e2", .turns = turns, .n_turns = 1, .question = "q", .answer = ""};
    e = fc_train_sample_answers(m, &q, "x.json", &s);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "no answer to learn from"), "%s", fc_errmsg());
    fc_vlm_free(m);
}

/* an id from the data file with a newline in it must not split the one-line error (the readers quote ids
 * through fc_data_id_for_message; the trainer printed them raw) */
static void test_sample_id_quoted_on_one_line(fc_test *t) {
    fc_vlm *m = NULL;
    FC_CHECK(t, fc_vlm_load(&m, FIX "/minicpmv-tiny", NULL) == FC_OK, "%s", fc_errmsg());
    fc_data_turn turns[2] = {{FC_DATA_HUMAN, "<image>\nq"}, {FC_DATA_GPT, " "}};
    fc_data_record r = {.id = "a\nb\x01", .turns = turns, .n_turns = 2, .question = "q", .answer = ""};
    fc_train_sample s = {0};
    fc_err e = fc_train_sample_answers(m, &r, "x.json", &s);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "sample 'a\\nb\\x01': turn 2") && !strchr(fc_errmsg(), '\n'),
             "%s", fc_errmsg());
    fc_vlm_free(m);
    const char *dup[] = {"x\ny", "x\ny"};
    bool v[2];
    e = fc_train_split(dup, 2, 0.5, NULL, 0, 48, "d.json", v);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "id 'x\\ny' appears") && !strchr(fc_errmsg(), '\n'), "%s",
             fc_errmsg());
}

static const fc_test_case cases[] = {FC_CASE(test_minicpm_chatml_turns), FC_CASE(test_llava_vicuna_turns),
                                     FC_CASE(test_empty_answer_refused), FC_CASE(test_sample_id_quoted_on_one_line)};
int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
