/* compress_notes.c: budgets and warnings in words (compress_notes.h). */
#include "core/compress/compress_notes.h"

#include <stdio.h>
#include <string.h>

/* A numeric option of m as its full spec spells it ("beta=20"); def when absent. */
static double spec_number(const fc_compress_method *m, const char *key, double def) {
    char pat[32];
    snprintf(pat, sizeof pat, "%s=", key);
    const char *s = fc_compress_spec(m), *p = strstr(s, pat);
    double v;
    return p && (p == s || p[-1] == ':' || p[-1] == ',') && sscanf(p + strlen(pat), "%lf", &v) == 1 ? v : def;
}

void fc_compress_note_make(const fc_compress_method *m, int S, int n_layers, int *budgets, fc_compress_note *note) {
    memset(note, 0, sizeof *note);
    note->S = S;
    note->budget_min = note->budget_max = -1;
    const char *name = fc_compress_name(m);
    bool windowed = !strcmp(name, "snapkv") || !strcmp(name, "pyramidkv");
    note->window = windowed ? fc_compress_window(m) : 0;
    for (int l = 0; l < n_layers; l++) {
        int b = fc_compress_layer_budget(m, S, l, n_layers);
        if (budgets) budgets[l] = b;
        if (b < 0) return;
        if (l == 0 || b < note->budget_min) note->budget_min = b;
        if (l == 0 || b > note->budget_max) note->budget_max = b;
    }
    note->below_window = windowed && note->budget_min >= 0 && note->budget_min < note->window;
    note->uniform_fallback = !strcmp(name, "pyramidkv") && note->budget_min == note->budget_max;
}

void fc_compress_note_text(const fc_compress_method *m, const fc_compress_note *n, const int *budgets, int n_layers,
                           char *buf, size_t cap) {
    buf[0] = 0;
    const char *name = fc_compress_name(m);
    size_t k = 0;
#define PUT(...) (k += (size_t)snprintf(buf + k, k < cap ? cap - k : 0, __VA_ARGS__), k = k < cap ? k : cap)
    if (!strcmp(name, "pyramidkv")) {
        double cr = fc_compress_kvpress_ratio(m), beta = spec_number(m, "beta", 20);
        if (n->uniform_fallback)
            PUT("pyramidkv: %d tokens: uniform fallback (S*(1-cr)/beta = %.4g < window %d), every layer keeps %d",
                n->S, n->S * (1 - cr) / beta, n->window, n->budget_min);
        else if (budgets) {
            PUT("pyramidkv: %d tokens: per-layer budgets", n->S);
            for (int l = 0; l < n_layers; l++) PUT(" %d", budgets[l]);
        } else
            PUT("pyramidkv: %d tokens: per-layer budgets %d..%d", n->S, n->budget_min, n->budget_max);
    }
    if (n->below_window)
        PUT("%s%s: a budget of %d entr%s on %d tokens is below the window of %d: only %d of the %d window positions "
            "are kept, chosen among equal scores (kvpress: torch.topk's order; here the earliest)",
            k ? "; " : "", name, n->budget_min, n->budget_min == 1 ? "y" : "ies", n->S, n->window, n->budget_min,
            n->window);
#undef PUT
}
