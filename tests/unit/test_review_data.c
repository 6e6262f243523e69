/* test_review_data.c: regression tests for defects a review of the dataset readers found (data/dataset.h),
 * each named after its defect. Inputs are written into a fresh temporary folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/answer_score.h"
#include "data/dataset.h"
#include "tests/test.h"

static char dir[64];

static bool write_file(fc_test *t, const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return fc_test_fail(t, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
    return true;
}

static fc_err read_in_dir(const char *name, fc_data_format fmt, bool check_images, fc_dataset *d) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fc_data_opts o = {.format = fmt, .images_dir = dir, .no_image_check = !check_images};
    return fc_dataset_read(path, &o, d);
}

/* An id with a newline (or other control bytes) was quoted raw: the error became two lines, the second
 * looking like an error of its own. Now the id is escaped onto the one line. */
static void test_review_data_id_with_newline_gives_one_error_line(fc_test *t) {
    if (!write_file(t, "odd.json", "[{\"id\": \"a\\nfc-eval: error: fake\\u0001\", \"image\": \"missing.png\", "
                                   "\"conversations\": [{\"from\": \"human\", \"value\": \"<image>\\nQ\"}, "
                                   "{\"from\": \"gpt\", \"value\": \"A\"}]}]"))
        return;
    fc_dataset d;
    fc_err e = read_in_dir("odd.json", FC_DATA_LLAVA, true, &d);
    FC_CHECK(t, e == FC_ENOTFOUND, "error %d: %s", (int)e, fc_errmsg());
    FC_CHECK(t, !strchr(fc_errmsg(), '\n') && !strchr(fc_errmsg(), '\001'), "not one line: %s", fc_errmsg());
    FC_CHECK(t, strstr(fc_errmsg(), "(id 'a\\nfc-eval: error: fake\\x01')"), "id not escaped: %s", fc_errmsg());
    char buf[16];
    FC_CHECK(t, !strcmp(fc_data_id_for_message("0123456789abcdefghij", buf, sizeof buf), "0123456789ab..."),
             "long id: '%s'", buf);
    fc_dataset_free(&d);
}

/* A number too large for a long long (question id 1e300, imageId -9.3e18, MileBench sample_id 1e300 and
 * response 1e19) was cast to one: undefined behaviour, and the id came out as "no question id". Now such
 * numbers are printed as they are ("%.17g"), integers as integers. */
static void test_review_data_huge_numbers_no_overflowing_cast(fc_test *t) {
    if (!write_file(t, "gqa.json", "[{\"question_id\": 1e300, \"imageId\": -9.3e18, \"question\": \"q\", \"answer\": \"a\"},"
                                   " {\"question_id\": 12, \"imageId\": 3, \"question\": \"q\", \"answer\": \"a\"},"
                                   " {\"question_id\": 1.5, \"imageId\": 1e400, \"question\": \"q\", \"answer\": \"a\"}]"))
        return;
    fc_dataset d;
    fc_err e = read_in_dir("gqa.json", FC_DATA_GQA, false, &d);
    FC_CHECK(t, e == FC_OK && d.n == 3, "error %d (%s), %d records", (int)e, e ? fc_errmsg() : "", d.n);
    char want[160];
    snprintf(want, sizeof want, "%.17g", 1e300);
    FC_CHECK(t, !strcmp(d.recs[0].id, want), "id '%s', want '%s'", d.recs[0].id, want);
    snprintf(want, sizeof want, "%s/%.17g.jpg", dir, -9.3e18);
    FC_CHECK(t, !strcmp(d.recs[0].images[0], want), "image '%s', want '%s'", d.recs[0].images[0], want);
    FC_CHECK(t, !strcmp(d.recs[1].id, "12") && strstr(d.recs[1].images[0], "/3.jpg"), "integers: '%s' '%s'",
             d.recs[1].id, d.recs[1].images[0]);
    FC_CHECK(t, !strcmp(d.recs[2].id, "1.5") && strstr(d.recs[2].images[0], "/inf.jpg"), "'%s' '%s'", d.recs[2].id,
             d.recs[2].images[0]);
    fc_dataset_free(&d);
    /* MileBench: task folder T with T/T.json and T/images/ */
    char sub[128];
    snprintf(sub, sizeof sub, "%s/T", dir);
    FC_CHECK(t, mkdir(sub, 0700) == 0, "mkdir %s", sub);
    snprintf(sub, sizeof sub, "%s/T/images", dir);
    FC_CHECK(t, mkdir(sub, 0700) == 0, "mkdir %s", sub);
    if (!write_file(t, "T/T.json", "{\"meta_data\": {\"task_instruction\": [\"I\"], \"question_type\": \"open-ended\"}, "
                                   "\"data\": [{\"sample_id\": 1e300, \"task_instruction_id\": 0, \"task_instance\": "
                                   "{\"context\": \"{image#1} c\", \"images_path\": [\"a.jpg\"]}, \"response\": 1e19}]}"))
        return;
    e = read_in_dir("T", FC_DATA_MILEBENCH, false, &d);
    FC_CHECK(t, e == FC_OK && d.n == 1, "error %d (%s)", (int)e, e ? fc_errmsg() : "");
    snprintf(want, sizeof want, "T/%.17g", 1e300);
    FC_CHECK(t, !strcmp(d.recs[0].id, want), "id '%s', want '%s'", d.recs[0].id, want);
    snprintf(want, sizeof want, "%.17g", 1e19);
    FC_CHECK(t, !strcmp(d.recs[0].answer, want), "answer '%s', want '%s'", d.recs[0].answer, want);
    fc_dataset_free(&d);
}

/* An image path naming a folder was reported as "not found", which sends users looking for a missing
 * file; the message now says it is a folder. */
static void test_review_data_image_that_is_a_folder(fc_test *t) {
    char sub[128];
    snprintf(sub, sizeof sub, "%s/pic.png", dir);
    FC_CHECK(t, mkdir(sub, 0700) == 0, "mkdir %s", sub);
    if (!write_file(t, "folder.json", "[{\"id\": \"f\", \"image\": \"pic.png\", \"conversations\": [{\"from\": "
                                      "\"human\", \"value\": \"<image>\\nQ\"}, {\"from\": \"gpt\", \"value\": \"A\"}]}]"))
        return;
    fc_dataset d;
    fc_err e = read_in_dir("folder.json", FC_DATA_AUTO, true, &d);
    FC_CHECK(t, e == FC_ENOTFOUND && strstr(fc_errmsg(), "record 0 (id 'f'): image 'pic.png' in '") &&
                    strstr(fc_errmsg(), "is a folder, not an image file"),
             "error %d: %s", (int)e, fc_errmsg());
    fc_dataset_free(&d);
}

/* A multiple-choice prediction that starts with the article "A" ("A cat is on the sofa") was read as
 * option A whatever it said, because a leading capital letter followed by a space counted as a letter
 * answer. Now a letter followed by a lower-case word is read only from the options' text. */
static void test_review_choice_article_a_is_not_option_a(fc_test *t) {
    const char *ch[] = {"dog", "cat", "bird"};
    static const struct {
        const char *pred;
        int want;
    } cases[] = {
        {"A cat is on the sofa", 1}, /* the text names option B */
        {"A small animal", -1},      /* nothing named: no letter either */
        {"A", 0}, {"A.", 0}, {"(A) dog", 0}, {"A: dog", 0}, {"B The second one", 1}, {"C", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = fc_answer_choice(cases[i].pred, ch, 3);
        FC_CHECK(t, got == cases[i].want, "'%s': option %d, want %d", cases[i].pred, got, cases[i].want);
    }
}

/* A record whose answer is empty (or only spaces) was read as a record to score: fc-eval quality compared
 * predictions with "" (never a match, so a 0 that looks like a result) and teacher-forced the stop token
 * alone. It is now a malformed record (a counted skip with --lenient), in all three formats. */
static void test_review_data_empty_answer_is_malformed(fc_test *t) {
    if (!write_file(t, "empty_llava.json", "[{\"id\": \"e\", \"image\": \"x.png\", \"conversations\": [{\"from\": "
                                           "\"human\", \"value\": \"<image>\\nQ\"}, {\"from\": \"gpt\", \"value\": \"  \"}]}]") ||
        !write_file(t, "empty_gqa.json", "{\"7\": {\"imageId\": \"n1\", \"question\": \"q\", \"answer\": \"\"}}"))
        return;
    fc_dataset d;
    fc_err e = read_in_dir("empty_llava.json", FC_DATA_LLAVA, false, &d);
    FC_CHECK(t, e == FC_EFORMAT && strstr(fc_errmsg(), "record 0 (id 'e'): conversations[1]: the answer is empty"),
             "llava: %d %s", (int)e, fc_errmsg());
    e = read_in_dir("empty_gqa.json", FC_DATA_GQA, false, &d);
    FC_CHECK(t, e == FC_EFORMAT && strstr(fc_errmsg(), "record 0 (id '7'): the answer is empty"), "gqa: %d %s", (int)e,
             fc_errmsg());
    char path[256];
    snprintf(path, sizeof path, "%s/empty_gqa.json", dir);
    fc_data_opts o = {.format = FC_DATA_GQA, .images_dir = dir, .no_image_check = true, .lenient = true};
    e = fc_dataset_read(path, &o, &d);
    FC_CHECK(t, e == FC_OK && d.n == 0 && d.skipped[FC_DATA_SKIP_MALFORMED] == 1, "lenient: %d, %d records", (int)e, d.n);
    fc_dataset_free(&d);
}

/* answer_score.h says a period not followed by a digit is dropped (VQA's periodStrip), but the code wrote a
 * space: "U.S." normalised to "u s", not "us", so it never matched an answer written "US". VQA's manualMap
 * also reads "none" as "0" (counting questions); that map lacked it. */
static void test_review_normalize_period_dropped_and_none(fc_test *t) {
    static const char *const cases[][2] = {{"U.S.", "us"}, {"Yes.", "yes"}, {"3.5 m", "3.5 m"}, {"None", "0"},
                                           {"none of them", "0 of them"}, {"e.g. a cat", "eg cat"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *n = fc_answer_normalize(cases[i][0]);
        bool ok = n && !strcmp(n, cases[i][1]);
        FC_CHECK(t, ok, "normalize('%s') = '%s', want '%s'", cases[i][0], n ? n : "(null)", cases[i][1]);
        free(n);
    }
    fc_answer_score s;
    FC_CHECK(t, !fc_answer_score_text("There are none.", "0", NULL, 0, -1, &s) && s.contains, "none counts as 0");
}

/* MileBench's {image#k} markers were read with sscanf's %d, which overflows (undefined) on a long number.
 * A marker with any number of digits is now read saturating, and one past the sample's images is refused. */
static void test_review_milebench_marker_long_number(fc_test *t) {
    char sub[128];
    snprintf(sub, sizeof sub, "%s/M", dir);
    FC_CHECK(t, mkdir(sub, 0700) == 0, "mkdir %s", sub);
    snprintf(sub, sizeof sub, "%s/M/images", dir);
    FC_CHECK(t, mkdir(sub, 0700) == 0, "mkdir %s", sub);
    if (!write_file(t, "M/M.json", "{\"meta_data\": {\"task_instruction\": [\"I\"]}, \"data\": [{\"sample_id\": 1, "
                                   "\"task_instruction_id\": 0, \"task_instance\": {\"context\": \"{image#1} and "
                                   "{image#99999999999999999999}\", \"images_path\": [\"a.jpg\"]}, \"response\": \"x\"}]}"))
        return;
    fc_dataset d;
    fc_err e = read_in_dir("M", FC_DATA_MILEBENCH, false, &d);
    FC_CHECK(t, e == FC_EFORMAT && strstr(fc_errmsg(), "context marker '{image#99999999999999999999}' but the sample has "
                                                       "1 image"),
             "error %d: %s", (int)e, fc_errmsg());
    fc_dataset_free(&d);
}

/* The LLaVA reader refused a record whose "id" is a JSON number ("no string 'id'"), in strict mode the whole
 * file, while the GQA reader takes numeric ids; a number is now its decimal text there too. */
static void test_review_llava_numeric_id(fc_test *t) {
    if (!write_file(t, "num_id.json", "[{\"id\": 1234, \"image\": \"x.png\", \"conversations\": [{\"from\": "
                                      "\"human\", \"value\": \"<image>\\nQ\"}, {\"from\": \"gpt\", \"value\": \"A\"}]}]"))
        return;
    fc_dataset d;
    fc_err e = read_in_dir("num_id.json", FC_DATA_AUTO, false, &d);
    FC_CHECK(t, e == FC_OK && d.n == 1 && !strcmp(d.recs[0].id, "1234"), "error %d (%s)", (int)e, e ? fc_errmsg() : "");
    fc_dataset_free(&d);
}

static const fc_test_case cases[] = {
    FC_CASE(test_review_llava_numeric_id),
    FC_CASE(test_review_milebench_marker_long_number),
    FC_CASE(test_review_normalize_period_dropped_and_none),
    FC_CASE(test_review_data_empty_answer_is_malformed),
    FC_CASE(test_review_choice_article_a_is_not_option_a),
    FC_CASE(test_review_data_id_with_newline_gives_one_error_line),
    FC_CASE(test_review_data_huge_numbers_no_overflowing_cast),
    FC_CASE(test_review_data_image_that_is_a_folder),
};

int main(int argc, char **argv) {
    snprintf(dir, sizeof dir, "/tmp/fc_review_data_XXXXXX");
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    int rc = fc_test_main(argc, argv, cases, FC_NCASES(cases));
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return rc;
}
