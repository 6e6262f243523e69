/* answer_score.c: answer normalisation and matching (answer_score.h). */
#include "data/answer_score.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"

static bool is_punct(char c) { return c && strchr(";/[]\"{}()=+\\_-><@`,?!:", c) != NULL; }

/* Replaces whole words in place: number words by digits, articles by nothing; collapses spaces. */
static void map_words(char *s) {
    static const char *const numbers[] = {"zero", "one", "two", "three", "four", "five",
                                          "six",  "seven", "eight", "nine", "ten"};
    char *out = s;
    const char *p = s;
    bool first = true;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *w = p;
        while (*p && *p != ' ') p++;
        size_t n = (size_t)(p - w);
        if ((n == 1 && w[0] == 'a') || (n == 2 && !strncmp(w, "an", 2)) || (n == 3 && !strncmp(w, "the", 3))) continue;
        char num[4];
        const char *rep = w;
        for (int k = 0; k <= 10; k++)
            if (strlen(numbers[k]) == n && !strncmp(w, numbers[k], n)) {
                n = (size_t)snprintf(num, sizeof num, "%d", k);
                rep = num;
                break;
            }
        if (n == 4 && !strncmp(w, "none", 4)) rep = "0", n = 1; /* VQA's manualMap: "none" is "0" */
        if (!first) *out++ = ' ';
        memmove(out, rep, n);
        out += n;
        first = false;
    }
    *out = 0;
}

char *fc_answer_normalize(const char *s) {
    size_t n = strlen(s);
    char *r = fc_malloc(n + 1, "answer text");
    if (!r) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool prev_digit = i > 0 && isdigit((unsigned char)s[i - 1]), next_digit = isdigit((unsigned char)s[i + 1]);
        if (c == ',' && prev_digit && next_digit) continue; /* 1,000 */
        if (c == '.' && !next_digit) continue;              /* dropped as VQA's periodStrip does ("u.s." -> "us"); 3.5 stays */
        else if (c == '\n' || c == '\t' || c == '\r' || is_punct(c)) c = ' ';
        r[k++] = (char)tolower((unsigned char)c);
    }
    r[k] = 0;
    /* quotes around the whole answer */
    char *b = r;
    while (*b == ' ' || *b == '\'') b++;
    size_t m = strlen(b);
    while (m > 0 && (b[m - 1] == ' ' || b[m - 1] == '\'')) b[--m] = 0;
    memmove(r, b, m + 1);
    map_words(r);
    return r;
}

/* Position of needle in hay as whole words (both normalised), or -1. */
static long find_words(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    if (!n) return -1;
    for (const char *p = hay; (p = strstr(p, needle)); p++) {
        bool start = p == hay || p[-1] == ' ', end = p[n] == 0 || p[n] == ' ';
        if (start && end) return (long)(p - hay);
    }
    return -1;
}

int fc_answer_choice(const char *prediction, const char *const *choices, int n) {
    const char *p = prediction;
    while (isspace((unsigned char)*p)) p++;
    /* a leading letter: "B", "B.", "B)", "(B)", "B: x", "B, x"; "B x" only when x does not start with a
     * lower-case letter and no option's text is named: "A cat sits there" is the article, not option A */
    const char *q = p + (*p == '(');
    int weak = -1;
    if (*q >= 'A' && *q < 'A' + n) {
        char after = q[1];
        if (after == 0 || after == '.' || after == ')' || after == ':' || after == ',') return *q - 'A';
        if (isspace((unsigned char)after)) {
            const char *w = q + 1;
            while (isspace((unsigned char)*w)) w++;
            if (!islower((unsigned char)*w)) weak = *q - 'A';
        }
    }
    char *np = fc_answer_normalize(prediction);
    if (!np) return -1;
    int best = -1;
    long best_pos = -1;
    size_t best_len = 0;
    for (int i = 0; i < n; i++) {
        char *nc = fc_answer_normalize(choices[i]);
        if (!nc) break;
        long pos = find_words(np, nc);
        size_t len = strlen(nc);
        if (pos >= 0 && (best < 0 || pos < best_pos || (pos == best_pos && len > best_len)))
            best = i, best_pos = pos, best_len = len;
        free(nc);
    }
    free(np);
    if (best >= 0) return best;
    if (weak >= 0) return weak;
    /* "the answer is B", "option B" */
    static const char *const cues[] = {"answer is ", "Answer is ", "answer: ", "Answer: ", "option ", "Option "};
    for (size_t c = 0; c < sizeof cues / sizeof cues[0]; c++) {
        const char *h = strstr(prediction, cues[c]);
        if (!h) continue;
        h += strlen(cues[c]);
        h += *h == '(';
        if (*h >= 'A' && *h < 'A' + n && !isalpha((unsigned char)h[1])) return *h - 'A';
    }
    return -1;
}

fc_err fc_answer_score_text(const char *prediction, const char *answer, const char *const *choices, int n_choices,
                            int answer_choice, fc_answer_score *out) {
    *out = (fc_answer_score){.choice = -1};
    char *np = fc_answer_normalize(prediction), *na = fc_answer_normalize(answer);
    if (!np || !na) {
        free(np), free(na);
        return FC_ENOMEM;
    }
    if (n_choices > 0 && answer_choice >= 0) {
        out->choice = fc_answer_choice(prediction, choices, n_choices);
        out->exact = out->choice == answer_choice;
        out->contains = out->exact || find_words(np, na) >= 0;
    } else {
        out->exact = !strcmp(np, na);
        out->contains = find_words(np, na) >= 0;
    }
    free(np), free(na);
    return FC_OK;
}
