/* test_prompts.c: the --prompts file reader (core/io/prompts): both line forms, default ids, and each
 * error with its "file:line:" message. Expected values are what the text says. */
#include <stdio.h>
#include <string.h>

#include "core/io/prompts.h"
#include "tests/test.h"

static fc_err parse(fc_prompt_list *l, const char *text) { return fc_prompts_parse(l, "p.jsonl", text, strlen(text)); }

static void test_prompts_both_forms(fc_test *t) {
    fc_prompt_list l;
    const char *text = "What is this?\r\n"
                       "\n   \t\n"
                       "  {\"id\": \"q-1.a\", \"text\": \"Is it red?\", \"images\": [\"a.jpg\", \"b.png\"]}\n"
                       "{\"ids\": [1, 450, 0], \"id\": 42}\n"
                       "{\"text\": \"x\"}  \n"
                       "  plain with spaces  ";
    fc_err e = parse(&l, text);
    FC_CHECK(t, e == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, l.n == 5, "n %d", l.n);
    FC_CHECK(t, !strcmp(l.items[0].id, "1") && !strcmp(l.items[0].text, "What is this?") && l.items[0].line == 1,
             "first: '%s' '%s'", l.items[0].id, l.items[0].text);
    FC_CHECK(t, !strcmp(l.items[1].id, "q-1.a") && l.items[1].n_images == 2 && !strcmp(l.items[1].images[1], "b.png") &&
                    l.items[1].line == 4, "second");
    FC_CHECK(t, !strcmp(l.items[2].id, "42") && l.items[2].n_ids == 3 && l.items[2].ids[1] == 450 && !l.items[2].text,
             "third");
    FC_CHECK(t, !strcmp(l.items[3].id, "6"), "default id is the line: %s", l.items[3].id);
    FC_CHECK(t, !strcmp(l.items[4].text, "  plain with spaces  ") && !strcmp(l.items[4].id, "7"), "plain line kept as is");
    fc_prompts_free(&l);
}

static void test_prompts_errors(fc_test *t) {
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"", "p.jsonl: no prompts"},
        {"\n\n  \n", "p.jsonl: no prompts"},
        {"a\n{\"txt\": \"x\"}\n", "p.jsonl:2: unknown key 'txt' (expected id, text, ids, images)"},
        {"{\"text\": \"x\", \"ids\": [1]}", "p.jsonl:1: give exactly one of \"text\" and \"ids\""},
        {"{\"id\": \"a\"}", "p.jsonl:1: give exactly one of"},
        {"{\"text\": \"\"}", "p.jsonl:1: text: expected a non-empty string"},
        {"{\"text\": \"x\",}", "p.jsonl:1:"},
        {"{\"text\": \"x\"} y", "p.jsonl:1:15: text after the JSON object"},
        {"{\"id\": \"../x\", \"text\": \"x\"}", "id '../x': use 1 to 100 letters"},
        {"{\"id\": \".hidden\", \"text\": \"x\"}", "id '.hidden'"},
        {"{\"id\": -1, \"text\": \"x\"}", "id: expected a string or a non-negative integer"},
        {"{\"ids\": [1, 2.5]}", "p.jsonl:1: ids[1]: expected a token id"},
        {"{\"ids\": []}", "ids: expected a non-empty list"},
        {"{\"text\": \"x\", \"images\": \"a.jpg\"}", "images: expected a list"},
        {"{\"text\": \"x\", \"images\": [\"\"]}", "images[0]: expected a file name"},
        {"{\"text\": \"x\", \"text\": \"y\"}", "duplicate key 'text'"},
        {"[1, 2]", "p.jsonl:1: not valid JSON"}, /* a plain line starting with '[' is text: this one is fine */
        {"{\"id\": \"a\", \"text\": \"x\"}\nb\n{\"id\": \"a\", \"text\": \"y\"}\n{\"id\": \"a\", \"text\": \"z\"}",
         "p.jsonl:3: id 'a' is also on line 1"},
        {"{\"id\": 2, \"text\": \"x\"}\nsecond line, default id 2", "p.jsonl:2: id '2' is also on line 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fc_prompt_list l;
        fc_err e = parse(&l, bad[i].text);
        if (i == 16) { /* "[1, 2]" is a plain text prompt */
            FC_CHECK(t, e == FC_OK && l.n == 1 && !strcmp(l.items[0].text, "[1, 2]"), "plain '[': %s", fc_errmsg());
            fc_prompts_free(&l);
            continue;
        }
        FC_CHECK(t, e == FC_EFORMAT && strstr(fc_errmsg(), bad[i].msg), "case %zu: got '%s', want '%s'", i, fc_errmsg(),
                 bad[i].msg);
        FC_CHECK(t, l.n == 0 && l.items == NULL, "case %zu: list left set", i);
    }
}

static void test_prompts_missing_file(fc_test *t) {
    fc_prompt_list l;
    FC_CHECK(t, fc_prompts_load(&l, "no/such/prompts.txt") == FC_ENOTFOUND && strstr(fc_errmsg(), "no/such/prompts.txt"),
             "%s", fc_errmsg());
}

/* tests/corpus/prompts (the fuzzer's seeds): each file's message, as its README lists them. */
static void test_prompts_corpus(fc_test *t) {
    static const struct {
        const char *file, *msg;
    } c[] = {
        {"duplicate_id", ":2: id 'a' is also on line 1"},
        {"unknown_key", ":1: unknown key 'txt' (expected id, text, ids, images)"},
        {"text_and_ids", ":1: give exactly one of \"text\" and \"ids\""},
        {"bad_id", ":1: id '../x': use 1 to 100 letters, digits, '.', '_' or '-'"},
        {"bad_json", ":1:"},
    };
    char path[128];
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        snprintf(path, sizeof path, "tests/corpus/prompts/%s.jsonl", c[i].file);
        fc_prompt_list l;
        fc_err e = fc_prompts_load(&l, path);
        FC_CHECK(t, e == FC_EFORMAT && strstr(fc_errmsg(), path) && strstr(fc_errmsg(), c[i].msg), "%s: %s", path,
                 fc_errmsg());
    }
    fc_prompt_list l;
    FC_CHECK(t, fc_prompts_load(&l, "tests/corpus/prompts/mixed.jsonl") == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, l.n == 3 && !strcmp(l.items[0].id, "1") && !strcmp(l.items[1].id, "q1") && !strcmp(l.items[2].id, "7"),
             "mixed: %d prompts", l.n);
    fc_prompts_free(&l);
}

static const fc_test_case cases[] = {FC_CASE(test_prompts_both_forms), FC_CASE(test_prompts_errors),
                                     FC_CASE(test_prompts_missing_file), FC_CASE(test_prompts_corpus)};
int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
