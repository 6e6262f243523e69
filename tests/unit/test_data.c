/* test_data.c: the dataset readers on the fixtures of tools/make_data_fixtures.py (tests/fixtures/data):
 * every field of every record against the values written in the fixture files, the skip counts of the
 * lenient mode, the filters, and errors naming file, record and problem. The bad-input corpus is run
 * through the CLI by tests/cli/data_corpus.sh. */
#include "data/dataset.h"
#include "tests/test.h"

#define FIX "tests/fixtures/data"

static bool has(const char *msg, const char *part) { return strstr(msg, part) != NULL; }

static void test_llava_strict_refuses_text_only(fc_test *t) {
    fc_dataset d;
    fc_data_opts o = {.images_dir = FIX "/images"};
    fc_err e = fc_dataset_read(FIX "/llava.json", &o, &d);
    FC_CHECK(t, e == FC_EFORMAT, "e=%d", e);
    FC_CHECK(t, has(fc_errmsg(), FIX "/llava.json: record 3 (id 'text-only-4'): no image (a text-only record)"), "%s",
             fc_errmsg());
    FC_CHECK(t, d.n == 0 && d.recs == NULL, "a failed read leaves the dataset empty");
    fc_dataset_free(&d);
}

static void test_llava_fields(fc_test *t) {
    fc_dataset d;
    fc_data_opts o = {.images_dir = FIX "/images", .allow_text_only = true};
    fc_err e = fc_dataset_read(FIX "/llava.json", &o, &d);
    FC_CHECK(t, !e, "%s", fc_errmsg());
    FC_CHECK(t, d.format == FC_DATA_LLAVA && d.n == 5 && d.n_seen == 5, "format %d n %d", d.format, d.n);
    const fc_data_record *r = d.recs;
    FC_CHECK(t, !strcmp(r[0].id, "single-1") && r[0].index == 0 && r[0].n_images == 1, "rec 0");
    FC_CHECK(t, !strcmp(r[0].images[0], FIX "/images/gqa/images/1.png"), "%s", r[0].images[0]);
    FC_CHECK(t, !strcmp(r[0].question, "What color is the sky?") && !strcmp(r[0].answer, "Blue."), "'%s' '%s'",
             r[0].question, r[0].answer);
    FC_CHECK(t, r[0].n_turns == 2 && !strcmp(r[0].turns[0].text, "<image>\nWhat color is the sky?"), "raw turn kept");
    FC_CHECK(t, r[0].answer_choice == -1 && r[0].n_choices == 0 && !r[0].task, "not multiple choice");
    /* multi-turn: every turn kept, the first pair cleaned; the marker may come after the text */
    FC_CHECK(t, r[1].n_turns == 4 && r[1].turns[2].role == FC_DATA_HUMAN && r[1].turns[3].role == FC_DATA_GPT, "turns");
    FC_CHECK(t, !strcmp(r[1].turns[3].text, "Yes, both are."), "%s", r[1].turns[3].text);
    FC_CHECK(t, !strcmp(r[1].question, "How many cats are there?") && !strcmp(r[1].answer, "Two"), "'%s'", r[1].question);
    /* "assistant" is the answer role; answers are trimmed */
    FC_CHECK(t, !strcmp(r[2].question, "Is there a table?") && !strcmp(r[2].answer, "no"), "'%s' '%s'", r[2].question,
             r[2].answer);
    FC_CHECK(t, r[3].n_images == 0 && !strcmp(r[3].id, "text-only-4") && !strcmp(r[3].question, "Say hi."), "text only");
    FC_CHECK(t, r[4].n_images == 2 && !strcmp(r[4].images[1], FIX "/images/coco/images/4.png"), "multi-image");
    FC_CHECK(t, !strcmp(r[4].question, "Which image is brighter?"), "'%s'", r[4].question);
    for (int k = 0; k < FC_DATA_SKIP_COUNT; k++) FC_CHECK(t, d.skipped[k] == 0, "skipped[%d]", k);
    fc_dataset_free(&d);
    fc_dataset_free(&d); /* a freed dataset is empty */
    fc_dataset_free(NULL);
}

static void test_llava_lenient_counts_skips(fc_test *t) {
    fc_dataset d;
    fc_data_opts o = {.images_dir = FIX "/images", .lenient = true};
    FC_CHECK(t, !fc_dataset_read(FIX "/llava.json", &o, &d), "%s", fc_errmsg());
    FC_CHECK(t, d.n == 4 && d.n_seen == 5 && d.skipped[FC_DATA_SKIP_NO_IMAGE] == 1, "n %d no-image %d", d.n,
             d.skipped[FC_DATA_SKIP_NO_IMAGE]);
    FC_CHECK(t, d.first_skip && has(d.first_skip, "record 3 (id 'text-only-4')"), "%s", d.first_skip);
    FC_CHECK(t, d.recs[3].index == 4 && !strcmp(d.recs[3].id, "multi-image-5"), "index kept from the file");
    fc_dataset_free(&d);
    /* every image missing: each record a counted skip of its own reason */
    o.images_dir = FIX "/no-such-folder";
    FC_CHECK(t, !fc_dataset_read(FIX "/llava.json", &o, &d), "%s", fc_errmsg());
    FC_CHECK(t, d.n == 0 && d.skipped[FC_DATA_SKIP_IMAGE_MISSING] == 4 && d.skipped[FC_DATA_SKIP_NO_IMAGE] == 1,
             "n %d missing %d", d.n, d.skipped[FC_DATA_SKIP_IMAGE_MISSING]);
    fc_dataset_free(&d);
}

static void test_llava_missing_image_names_record(fc_test *t) {
    fc_dataset d;
    fc_data_opts o = {.images_dir = FIX "/no-such-folder"};
    FC_CHECK(t, fc_dataset_read(FIX "/llava.json", &o, &d) == FC_ENOTFOUND, "want not found");
    FC_CHECK(t, has(fc_errmsg(), "llava.json: record 0 (id 'single-1'): image 'gqa/images/1.png' not found in '"
                                 FIX "/no-such-folder'"), "%s", fc_errmsg());
    o.no_image_check = true, o.allow_text_only = true;
    FC_CHECK(t, !fc_dataset_read(FIX "/llava.json", &o, &d) && d.n == 5, "no_image_check reads all");
    fc_dataset_free(&d);
}

static void test_llava_prefix_and_limit(fc_test *t) {
    fc_dataset d;
    fc_data_opts o = {.images_dir = FIX "/images", .image_prefix = "gqa"};
    /* the text-only record has no image under gqa/: filtered (a skip even in strict mode) */
    FC_CHECK(t, !fc_dataset_read(FIX "/llava.json", &o, &d), "%s", fc_errmsg());
    FC_CHECK(t, d.n == 4 && d.skipped[FC_DATA_SKIP_FILTERED] == 1, "n %d filtered %d", d.n, d.skipped[FC_DATA_SKIP_FILTERED]);
    fc_dataset_free(&d);
    o.image_prefix = "coco";
    FC_CHECK(t, !fc_dataset_read(FIX "/llava.json", &o, &d), "%s", fc_errmsg());
    FC_CHECK(t, d.n == 0 && d.skipped[FC_DATA_SKIP_FILTERED] == 5, "n %d", d.n);
    fc_dataset_free(&d);
    o = (fc_data_opts){.images_dir = FIX "/images", .limit = 2, .max_images = 1, .lenient = true};
    FC_CHECK(t, !fc_dataset_read(FIX "/llava.json", &o, &d), "%s", fc_errmsg());
    FC_CHECK(t, d.n == 2 && d.n_seen == 2 && !strcmp(d.recs[1].id, "multi-turn-2"), "limit");
    fc_dataset_free(&d);
    o.limit = 0;
    FC_CHECK(t, !fc_dataset_read(FIX "/llava.json", &o, &d), "%s", fc_errmsg());
    FC_CHECK(t, d.n == 3 && d.skipped[FC_DATA_SKIP_TOO_MANY_IMAGES] == 1, "max_images: n %d", d.n);
    fc_dataset_free(&d);
}

static void test_gqa_dict_and_list(fc_test *t) {
    fc_dataset d;
    fc_data_opts o = {.images_dir = FIX "/gqa_images"};
    FC_CHECK(t, !fc_dataset_read(FIX "/gqa_dict.json", &o, &d), "%s", fc_errmsg());
    FC_CHECK(t, d.format == FC_DATA_GQA && d.n == 3, "n %d", d.n);
    FC_CHECK(t, !strcmp(d.recs[0].id, "201307251") && !strcmp(d.recs[0].question, "Is the sky blue?") &&
                    !strcmp(d.recs[0].answer, "yes") && !strcmp(d.recs[0].images[0], FIX "/gqa_images/n1.png"),
             "rec 0: %s %s", d.recs[0].id, d.recs[0].images[0]);
    FC_CHECK(t, !strcmp(d.recs[2].id, "201640615") && !strcmp(d.recs[2].answer, "left") && d.recs[2].n_turns == 2,
             "rec 2");
    fc_dataset_free(&d);
    FC_CHECK(t, !fc_dataset_read(FIX "/gqa_list.json", &o, &d), "%s", fc_errmsg());
    FC_CHECK(t, d.format == FC_DATA_GQA && d.n == 2, "n %d", d.n);
    FC_CHECK(t, !strcmp(d.recs[0].id, "7") && !strcmp(d.recs[1].id, "q8"), "ids %s %s", d.recs[0].id, d.recs[1].id);
    FC_CHECK(t, !strcmp(d.recs[1].images[0], FIX "/gqa_images/n2.png") && !strcmp(d.recs[1].answer, "apple"), "rec 1");
    fc_dataset_free(&d);
}

static void test_milebench_folders(fc_test *t) {
    fc_dataset d;
    FC_CHECK(t, !fc_dataset_read(FIX "/milebench", NULL, &d), "%s", fc_errmsg());
    FC_CHECK(t, d.format == FC_DATA_MILEBENCH && d.n == 3, "n %d", d.n);
    const fc_data_record *r = d.recs; /* tasks in name order: ActionOrder, CaptionQA */
    FC_CHECK(t, !strcmp(r[0].id, "ActionOrder/0") && !strcmp(r[0].task, "ActionOrder") && r[0].n_images == 2, "rec 0");
    FC_CHECK(t, !strcmp(r[0].images[1], FIX "/milebench/ActionOrder/images/a2.png"), "%s", r[0].images[1]);
    /* instruction 1, markers written "<Image k> ", MileBench's choice list; the question is trimmed */
    const char *q0 = "Pick the next step.\nSteps: <Image 1> <Image 2>  What comes next?\nChoice list: \nA. open\n"
                     "B. close\nC. wait\nYour answer is:";
    FC_CHECK(t, !strcmp(r[0].question, q0), "'%s'", r[0].question);
    FC_CHECK(t, !strcmp(r[0].turns[0].text, "Pick the next step.\nSteps: <Image 1> <Image 2>  What comes next?\nChoice "
                                            "list: \nA. open\nB. close\nC. wait\nYour answer is: "), "raw turn");
    FC_CHECK(t, !strcmp(r[0].answer, "close") && r[0].answer_choice == 1 && r[0].n_choices == 3, "answer");
    FC_CHECK(t, !strcmp(r[1].question, "Order the actions.\n<Image 1>  then <Image 2>  then <Image 3> \nChoice list: "
                                       "\nA. 1-2-3\nB. 3-2-1\nYour answer is:"), "'%s'", r[1].question);
    FC_CHECK(t, r[1].answer_choice == 1 && r[1].n_images == 3, "rec 1");
    /* open-ended, string sample id, numeric response as str() writes it */
    FC_CHECK(t, !strcmp(r[2].id, "CaptionQA/s0") && !strcmp(r[2].answer, "42") && r[2].answer_choice == -1 &&
                    r[2].n_choices == 0, "rec 2: %s %s", r[2].id, r[2].answer);
    fc_dataset_free(&d);
    /* one task folder given directly (a trailing slash is fine) */
    FC_CHECK(t, !fc_dataset_read(FIX "/milebench/CaptionQA/", NULL, &d), "%s", fc_errmsg());
    FC_CHECK(t, d.n == 1 && !strcmp(d.recs[0].id, "CaptionQA/s0"), "n %d", d.n);
    fc_dataset_free(&d);
}

static void test_auto_format_and_errors(fc_test *t) {
    fc_dataset d;
    fc_data_format f;
    FC_CHECK(t, !fc_data_format_parse("milebench", &f) && f == FC_DATA_MILEBENCH, "parse");
    FC_CHECK(t, fc_data_format_parse("coco", &f) == FC_EINVAL && has(fc_errmsg(), "unknown data format 'coco'"), "bad");
    FC_CHECK(t, fc_dataset_read(FIX "/nope.json", NULL, &d) == FC_ENOTFOUND && has(fc_errmsg(), "nope.json: cannot open"),
             "%s", fc_errmsg());
    fc_data_opts o = {.format = FC_DATA_MILEBENCH};
    FC_CHECK(t, fc_dataset_read(FIX "/llava.json", &o, &d) == FC_ENOTFOUND && has(fc_errmsg(), "not a folder"), "%s",
             fc_errmsg());
    o = (fc_data_opts){.format = FC_DATA_GQA, .images_dir = FIX "/images"};
    /* a LLaVA file forced as GQA: records lack 'question' */
    FC_CHECK(t, fc_dataset_read(FIX "/llava.json", &o, &d) == FC_EFORMAT, "llava as gqa");
    FC_CHECK(t, has(fc_errmsg(), "record 0 (id 'single-1'): no string 'question'"), "%s", fc_errmsg());
}

static void test_image_markers(fc_test *t) {
    const char *in[] = {"<image>\nQ?", "Q?\n<image>", "<image> <image>\nboth?", "  no marker  ", "<image>"};
    const char *want[] = {"Q?", "Q?", "both?", "no marker", ""};
    const int count[] = {1, 1, 2, 0, 1};
    for (int i = 0; i < 5; i++) {
        char *s = fc_data_strip_image_markers(in[i]);
        bool ok = s && !strcmp(s, want[i]);
        FC_CHECK(t, ok, "strip '%s' -> '%s' (want '%s')", in[i], s ? s : "(null)", want[i]);
        free(s);
        FC_CHECK(t, fc_data_count_image_markers(in[i]) == count[i], "count '%s'", in[i]);
    }
}

static const fc_test_case cases[] = {
    FC_CASE(test_llava_strict_refuses_text_only), FC_CASE(test_llava_fields), FC_CASE(test_llava_lenient_counts_skips),
    FC_CASE(test_llava_missing_image_names_record), FC_CASE(test_llava_prefix_and_limit), FC_CASE(test_gqa_dict_and_list),
    FC_CASE(test_milebench_folders), FC_CASE(test_auto_format_and_errors), FC_CASE(test_image_markers),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
