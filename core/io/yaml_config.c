/* yaml_config.c: schema-driven binding of a YAML document (libyaml's document API) to C structs.
 *
 * The document is loaded whole (libyaml resolves anchors/aliases to node ids, nothing is expanded), then
 * walked only where the schema leads, so the walk is as deep as the schema and no deeper whatever the
 * file holds. Every message carries "<file>:<line>:" of the node at fault and the dotted key path.
 */
#include "core/io/yaml_config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/base/mem.h"
#include "core/base/file.h"

#define MAX_FIELDS 64              /* per section: the duplicate check keeps one bit per row */
#define PATH_CAP 256

typedef struct {
    const char *file;
    yaml_document_t *doc;
} ctx;

/* ---- messages ---- */

static size_t line_of(const yaml_node_t *n) { return n->start_mark.line + 1; }

static fc_err node_err(const ctx *c, const yaml_node_t *n, const char *path, fc_err code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static fc_err node_err(const ctx *c, const yaml_node_t *n, const char *path, fc_err code, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (path && *path) return fc_err_set(code, "%s:%zu: %s: %s", c->file, line_of(n), path, what);
    return fc_err_set(code, "%s:%zu: %s", c->file, line_of(n), what);
}

/* "a section", "a list" or the scalar's text, for "got ..." */
static void describe(const yaml_node_t *n, char *buf, size_t cap) {
    if (n->type == YAML_MAPPING_NODE) snprintf(buf, cap, "a section");
    else if (n->type == YAML_SEQUENCE_NODE) snprintf(buf, cap, "a list");
    else snprintf(buf, cap, "'%.60s'", (const char *)n->data.scalar.value);
}

static bool is_null(const yaml_node_t *n) {
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    const char *s = (const char *)n->data.scalar.value;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static const char *const type_names[] = {
    [FC_YAML_INT] = "integer",  [FC_YAML_DOUBLE] = "number",   [FC_YAML_BOOL] = "true or false",
    [FC_YAML_STRING] = "string", [FC_YAML_ENUM] = "choice",    [FC_YAML_RATIO] = "ratio like '5x'",
    [FC_YAML_SECTION] = "section", [FC_YAML_STRINGS] = "list of strings", [FC_YAML_SECTIONS] = "list of sections",
};
_Static_assert(sizeof(type_names) / sizeof(type_names[0]) == FC_YAML_TYPE_COUNT, "type_names out of sync");

/* ---- scalars: shared by defaults and the file ---- */

static bool parse_long(const char *s, long *out) {
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (!*p) return false;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') return false;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

/* Decimal numbers only: no hex floats, inf or nan, which strtod would take. */
static bool parse_number(const char *s, double *out) {
    if (!*s) return false;
    for (const char *q = s; *q; q++)
        if (!strchr("0123456789+-.eE", *q)) return false;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (*end || !isfinite(v)) return false;
    *out = v;
    return true;
}

/* Parses `text` (len bytes, `plain` when unquoted) into the field at dst. On failure writes the reason
 * ("expected a number, got 'fast'") into why and returns the code. */
static fc_err parse_scalar(const fc_yaml_field *f, const char *text, size_t len, bool plain, void *dst, char *why,
                           size_t cap) {
    if (strlen(text) != len) {
        snprintf(why, cap, "contains a NUL character");
        return FC_EFORMAT;
    }
    const char *quoted = plain ? "" : "the quoted string ";
    switch (f->type) {
    case FC_YAML_INT: {
        long v;
        if (!plain || !parse_long(text, &v)) {
            snprintf(why, cap, "expected an integer, got %s'%.60s'", quoted, text);
            return FC_EFORMAT;
        }
        if ((double)v < f->min || (double)v > f->max) {
            snprintf(why, cap, "%ld is out of range [%.0f, %.0f]", v, f->min, f->max);
            return FC_EINVAL;
        }
        *(long *)dst = v;
        return FC_OK;
    }
    case FC_YAML_DOUBLE: {
        double v;
        if (!plain || !parse_number(text, &v)) {
            snprintf(why, cap, "expected a number, got %s'%.60s'", quoted, text);
            return FC_EFORMAT;
        }
        if (!(v >= f->min && v <= f->max)) {
            snprintf(why, cap, "%.60s is out of range [%g, %g]", text, f->min, f->max);
            return FC_EINVAL;
        }
        *(double *)dst = v;
        return FC_OK;
    }
    case FC_YAML_BOOL:
        /* YAML 1.2 core spellings only: YAML 1.1's yes/no/on/off are a classic trap ("NO" the country) */
        if (plain && (!strcmp(text, "true") || !strcmp(text, "True") || !strcmp(text, "TRUE"))) {
            *(bool *)dst = true;
            return FC_OK;
        }
        if (plain && (!strcmp(text, "false") || !strcmp(text, "False") || !strcmp(text, "FALSE"))) {
            *(bool *)dst = false;
            return FC_OK;
        }
        snprintf(why, cap, "expected true or false, got %s'%.60s'", quoted, text);
        return FC_EFORMAT;
    case FC_YAML_STRING: {
        char *s = fc_strdup(text);
        if (!s) return FC_ENOMEM;
        free(*(char **)dst);
        *(char **)dst = s;
        return FC_OK;
    }
    case FC_YAML_ENUM: {
        for (int i = 0; f->names[i]; i++)
            if (!strcmp(text, f->names[i])) {
                *(int *)dst = i;
                return FC_OK;
            }
        size_t k = (size_t)snprintf(why, cap, "expected one of ");
        for (int i = 0; f->names[i] && k < cap; i++)
            k += (size_t)snprintf(why + k, cap - k, "%s%s", i ? ", " : "", f->names[i]);
        if (k < cap) snprintf(why + k, cap - k, "; got '%.60s'", text);
        return FC_EINVAL;
    }
    case FC_YAML_RATIO: {
        /* "5x": keep 1/5. A bare number is refused: kvpress writes 0.8 for the same thing. */
        char num[64];
        double v;
        if (len < 2 || len >= sizeof num || (text[len - 1] != 'x' && text[len - 1] != 'X')) goto bad_ratio;
        memcpy(num, text, len - 1);
        num[len - 1] = '\0';
        if (!parse_number(num, &v)) goto bad_ratio;
        if (!(v >= f->min && v <= f->max)) {
            snprintf(why, cap, "%.60s is out of range [%gx, %gx]", text, f->min, f->max);
            return FC_EINVAL;
        }
        *(double *)dst = v;
        return FC_OK;
    bad_ratio:
        snprintf(why, cap, "expected a ratio like '5x' (keep 1/5 of the entries), got %s'%.60s'", quoted, text);
        return FC_EFORMAT;
    }
    default:
        break;
    }
    snprintf(why, cap, "internal: %s is not a scalar type", type_names[f->type]);
    return FC_EINVAL;
}

/* ---- defaults and release ---- */

/* Key paths are for messages only: a deep path is cut at PATH_CAP, never overflowed. */
static void join_path(char *out, const char *path, const char *key) {
    if (snprintf(out, PATH_CAP, "%s%s%s", path, *path ? "." : "", key) >= PATH_CAP) out[PATH_CAP - 1] = '\0';
}

static void index_path(char *out, const char *path, size_t i) {
    if (snprintf(out, PATH_CAP, "%s[%zu]", path, i) >= PATH_CAP) out[PATH_CAP - 1] = '\0';
}

static fc_err set_defaults(const fc_yaml_field *schema, char *base, const char *path) {
    for (const fc_yaml_field *f = schema; f->key; f++) {
        void *dst = base + f->offset;
        char sub[PATH_CAP];
        join_path(sub, path, f->key);
        switch (f->type) {
        case FC_YAML_INT: *(long *)dst = 0; break;
        case FC_YAML_DOUBLE:
        case FC_YAML_RATIO: *(double *)dst = 0; break;
        case FC_YAML_BOOL: *(bool *)dst = false; break;
        case FC_YAML_STRING: *(char **)dst = NULL; break;
        case FC_YAML_ENUM: *(int *)dst = 0; break;
        case FC_YAML_SECTION: FC_TRY(set_defaults(f->fields, dst, sub)); continue;
        case FC_YAML_STRINGS: *(fc_yaml_strings *)dst = (fc_yaml_strings){0}; continue;
        case FC_YAML_SECTIONS: *(fc_yaml_sections *)dst = (fc_yaml_sections){0}; continue;
        default: return fc_err_set(FC_EINVAL, "schema: %s: unknown type %d", sub, (int)f->type);
        }
        if (f->def) {
            char why[256];
            fc_err e = parse_scalar(f, f->def, strlen(f->def), true, dst, why, sizeof why);
            if (e == FC_ENOMEM) return fc_err_prefix(e, "schema default of %s", sub);
            if (e) return fc_err_set(e, "schema default of %s: %s", sub, why);
        }
    }
    return FC_OK;
}

fc_err fc_yaml_defaults(const fc_yaml_field *schema, void *obj) { return set_defaults(schema, obj, ""); }

void fc_yaml_free(const fc_yaml_field *schema, void *obj) {
    char *base = obj;
    for (const fc_yaml_field *f = schema; f->key; f++) {
        void *dst = base + f->offset;
        if (f->type == FC_YAML_STRING) {
            free(*(char **)dst);
            *(char **)dst = NULL;
        } else if (f->type == FC_YAML_SECTION) {
            fc_yaml_free(f->fields, dst);
        } else if (f->type == FC_YAML_STRINGS) {
            fc_yaml_strings *l = dst;
            for (size_t i = 0; i < l->n; i++) free(l->items[i]);
            free(l->items);
            *l = (fc_yaml_strings){0};
        } else if (f->type == FC_YAML_SECTIONS) {
            fc_yaml_sections *l = dst;
            for (size_t i = 0; i < l->n; i++) fc_yaml_free(f->fields, (char *)l->items + i * f->elem_size);
            free(l->items);
            *l = (fc_yaml_sections){0};
        }
    }
}

/* ---- binding the document ---- */

static fc_err bind_section(const ctx *c, const fc_yaml_field *schema, char *base, const yaml_node_t *map,
                           const char *path);

static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static fc_err unknown_key(const ctx *c, const yaml_node_t *keynode, const fc_yaml_field *schema, const char *key,
                          const char *path) {
    const char *best = NULL;
    size_t bestd = 3; /* suggest only close spellings */
    for (const fc_yaml_field *f = schema; f->key; f++) {
        size_t d = edit_distance(key, f->key);
        if (d < bestd) bestd = d, best = f->key;
    }
    char where[PATH_CAP + 32], hint[128] = "";
    if (*path) snprintf(where, sizeof where, "in section '%s'", path);
    else snprintf(where, sizeof where, "at top level");
    if (best) snprintf(hint, sizeof hint, " (did you mean '%s'?)", best);
    return node_err(c, keynode, NULL, FC_EINVAL, "unknown key '%.60s' %s%s", key, where, hint);
}

static fc_err bind_strings(const ctx *c, const fc_yaml_field *f, fc_yaml_strings *l, const yaml_node_t *seq,
                           const char *path) {
    size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if ((double)n < f->min || (f->max > 0 && (double)n > f->max))
        return node_err(c, seq, path, FC_EINVAL, "has %zu items, expected %.0f to %.0f", n, f->min, f->max);
    if (n == 0) return FC_OK;
    l->items = fc_calloc(n, sizeof *l->items, "yaml string list");
    if (!l->items) return FC_ENOMEM;
    l->n = n;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *it = yaml_document_get_node(c->doc, seq->data.sequence.items.start[i]);
        char sub[PATH_CAP], got[80];
        index_path(sub, path, i);
        if (it->type != YAML_SCALAR_NODE || is_null(it)) {
            describe(it, got, sizeof got);
            return node_err(c, it, sub, FC_EFORMAT, "expected a string, got %s", is_null(it) ? "nothing" : got);
        }
        if (strlen((const char *)it->data.scalar.value) != it->data.scalar.length)
            return node_err(c, it, sub, FC_EFORMAT, "contains a NUL character");
        char why[256];
        if (f->check && !f->check((const char *)it->data.scalar.value, why, sizeof why))
            return node_err(c, it, sub, FC_EINVAL, "%s", why);
        l->items[i] = fc_strdup((const char *)it->data.scalar.value);
        if (!l->items[i]) return FC_ENOMEM;
    }
    return FC_OK;
}

static fc_err bind_sections(const ctx *c, const fc_yaml_field *f, fc_yaml_sections *l, const yaml_node_t *seq,
                            const char *path) {
    size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if ((double)n < f->min || (f->max > 0 && (double)n > f->max))
        return node_err(c, seq, path, FC_EINVAL, "has %zu items, expected %.0f to %.0f", n, f->min, f->max);
    if (n == 0) return FC_OK;
    l->items = fc_calloc(n, f->elem_size, "yaml section list");
    if (!l->items) return FC_ENOMEM;
    l->n = n;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *it = yaml_document_get_node(c->doc, seq->data.sequence.items.start[i]);
        char *elem = (char *)l->items + i * f->elem_size;
        char sub[PATH_CAP], got[80];
        index_path(sub, path, i);
        FC_TRY(set_defaults(f->fields, elem, sub));
        if (it->type != YAML_MAPPING_NODE) {
            describe(it, got, sizeof got);
            return node_err(c, it, sub, FC_EFORMAT, "expected a section (indented key: value lines), got %s", got);
        }
        FC_TRY(bind_section(c, f->fields, elem, it, sub));
    }
    return FC_OK;
}

static fc_err bind_value(const ctx *c, const fc_yaml_field *f, void *dst, const yaml_node_t *v, const char *path) {
    char got[80];
    describe(v, got, sizeof got);
    switch (f->type) {
    case FC_YAML_SECTION:
        if (is_null(v)) return FC_OK; /* "compressor:" with everything commented out: the defaults stand */
        if (v->type != YAML_MAPPING_NODE)
            return node_err(c, v, path, FC_EFORMAT, "expected a section (indented key: value lines), got %s", got);
        return bind_section(c, f->fields, dst, v, path);
    case FC_YAML_STRINGS:
    case FC_YAML_SECTIONS:
        if (is_null(v)) return FC_OK;
        if (v->type != YAML_SEQUENCE_NODE)
            return node_err(c, v, path, FC_EFORMAT, "expected a list ('- item' lines or [a, b]), got %s", got);
        return f->type == FC_YAML_STRINGS ? bind_strings(c, f, dst, v, path) : bind_sections(c, f, dst, v, path);
    default:
        break;
    }
    if (v->type != YAML_SCALAR_NODE)
        return node_err(c, v, path, FC_EFORMAT, "expected %s%s, got %s", f->type == FC_YAML_INT ? "an " : "a ",
                        type_names[f->type], got);
    if (is_null(v)) return node_err(c, v, path, FC_EFORMAT, "has no value (write one or remove the key)");
    char why[512];
    if (f->check && !f->check((const char *)v->data.scalar.value, why, sizeof why))
        return node_err(c, v, path, FC_EINVAL, "%s", why);
    fc_err e = parse_scalar(f, (const char *)v->data.scalar.value, v->data.scalar.length,
                            v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE, dst, why, sizeof why);
    if (e == FC_ENOMEM) return fc_err_prefix(e, "%s:%zu: %s", c->file, line_of(v), path);
    return e ? node_err(c, v, path, e, "%s", why) : FC_OK;
}

static fc_err bind_section(const ctx *c, const fc_yaml_field *schema, char *base, const yaml_node_t *map,
                           const char *path) {
    size_t nf = 0;
    while (schema[nf].key) nf++;
    FC_ASSERT(nf <= MAX_FIELDS);
    uint64_t seen = 0;
    size_t seen_line[MAX_FIELDS] = {0};
    for (const yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        if (k->type != YAML_SCALAR_NODE) {
            char got[80];
            describe(k, got, sizeof got);
            return node_err(c, k, path, FC_EFORMAT, "a key must be plain text, got %s", got);
        }
        const char *key = (const char *)k->data.scalar.value;
        size_t i = 0;
        while (i < nf && strcmp(schema[i].key, key)) i++;
        if (i == nf) return unknown_key(c, k, schema, key, path);
        char sub[PATH_CAP];
        join_path(sub, path, key);
        if (seen >> i & 1)
            return node_err(c, k, NULL, FC_EINVAL, "duplicate key '%s' %s%s%s (first set at line %zu)", key,
                            *path ? "in section '" : "at top level", path, *path ? "'" : "", seen_line[i]);
        seen |= (uint64_t)1 << i;
        seen_line[i] = line_of(k);
        FC_TRY(bind_value(c, &schema[i], base + schema[i].offset, v, sub));
    }
    for (size_t i = 0; i < nf; i++)
        if (schema[i].required && !(seen >> i & 1))
            return node_err(c, map, NULL, FC_ENOTFOUND, "missing required key '%s' %s%s%s", schema[i].key,
                            *path ? "in section '" : "at top level", path, *path ? "'" : "");
    return FC_OK;
}

/* ---- document loading ---- */

static size_t line_at(const char *buf, size_t len, size_t off) {
    size_t line = 1;
    for (size_t i = 0; i < off && i < len; i++) line += buf[i] == '\n';
    return line;
}

static fc_err parser_error(const yaml_parser_t *p, const char *name, const char *buf, size_t len) {
    if (p->error == YAML_MEMORY_ERROR) return fc_err_set(FC_ENOMEM, "%s: out of memory while reading YAML", name);
    if (p->error == YAML_READER_ERROR) /* encoding: libyaml checks UTF-8 and control characters */
        return fc_err_set(FC_EFORMAT, "%s:%zu: invalid text at byte offset %zu: %s", name,
                          line_at(buf, len, p->problem_offset), p->problem_offset,
                          p->problem ? p->problem : "unreadable");
    const yaml_mark_t *m = &p->problem_mark;
    if (p->context)
        return fc_err_set(FC_EFORMAT, "%s:%zu:%zu: YAML syntax error: %s (%s that starts at line %zu)", name,
                          m->line + 1, m->column + 1, p->problem ? p->problem : "unknown problem", p->context,
                          p->context_mark.line + 1);
    return fc_err_set(FC_EFORMAT, "%s:%zu:%zu: YAML syntax error: %s", name, m->line + 1, m->column + 1,
                      p->problem ? p->problem : "unknown problem");
}

/* Walks buf as libyaml events, without building nodes, and stops at the first collection that opens past
 * FC_YAML_MAX_DEPTH levels, or at a syntax error. The scanner's cost per token grows with the flow depth
 * reached so far, so stopping at the bound keeps a hostile file linear in its size. */
static fc_err check_depth(const char *name, const char *buf, size_t len) {
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return fc_err_set(FC_ENOMEM, "%s: cannot start the YAML parser", name);
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    fc_err e = FC_OK;
    int depth = 0;
    for (bool done = false; !done && !e;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            e = parser_error(&p, name, buf, len);
            break;
        }
        if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
            if (++depth > FC_YAML_MAX_DEPTH)
                e = fc_err_set(FC_EFORMAT, "%s:%zu:%zu: nesting depth %d is over the limit of %d (a config nests a "
                                           "few levels)",
                               name, ev.start_mark.line + 1, ev.start_mark.column + 1, depth, FC_YAML_MAX_DEPTH);
        } else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return e;
}

/* Loads the single document of buf into *doc (the caller deletes it). Empty or multi-document input is
 * an error, and so are a file over FC_YAML_MAX_BYTES and nesting past FC_YAML_MAX_DEPTH. */
static fc_err load_document(yaml_document_t *doc, const char *name, const char *buf, size_t len) {
    if (len > FC_YAML_MAX_BYTES)
        return fc_err_set(FC_EFORMAT, "%s: %zu bytes is too large for a config (limit %u)", name, len, FC_YAML_MAX_BYTES);
    FC_TRY(check_depth(name, buf, len));
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return fc_err_set(FC_ENOMEM, "%s: cannot start the YAML parser", name);
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    fc_err e = FC_OK;
    if (!yaml_parser_load(&p, doc)) {
        e = parser_error(&p, name, buf, len);
        yaml_parser_delete(&p);
        return e;
    }
    if (!yaml_document_get_root_node(doc)) {
        e = fc_err_set(FC_EFORMAT, "%s: file is empty (no YAML document)", name);
    } else {
        /* read on: a syntax error after the first document is still an error in this file */
        yaml_document_t next;
        if (!yaml_parser_load(&p, &next)) {
            e = parser_error(&p, name, buf, len);
        } else {
            yaml_node_t *r = yaml_document_get_root_node(&next);
            if (r) e = fc_err_set(FC_EFORMAT, "%s:%zu: a second YAML document; a config is one document", name,
                                  r->start_mark.line + 1);
            yaml_document_delete(&next);
        }
    }
    yaml_parser_delete(&p);
    if (e) yaml_document_delete(doc);
    return e;
}

static fc_err bind_buffer(const fc_yaml_field *schema, void *obj, const char *name, const char *buf, size_t len) {
    if (len == 0) return fc_err_set(FC_EFORMAT, "%s: file is empty", name);
    yaml_document_t doc;
    FC_TRY(load_document(&doc, name, buf, len));
    ctx c = {.file = name, .doc = &doc};
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    fc_err e;
    if (root->type != YAML_MAPPING_NODE) {
        char got[80];
        describe(root, got, sizeof got);
        e = node_err(&c, root, NULL, FC_EFORMAT, "expected key: value lines at top level, got %s", got);
    } else {
        e = bind_section(&c, schema, obj, root, "");
    }
    yaml_document_delete(&doc);
    return e;
}

fc_err fc_yaml_parse(const fc_yaml_field *schema, void *obj, const char *name, const char *buf, size_t len) {
    fc_err e = fc_yaml_defaults(schema, obj);
    if (!e) e = bind_buffer(schema, obj, name, buf, len);
    if (e) fc_yaml_free(schema, obj); /* the contract: nothing left to free after a failure */
    return e;
}

fc_err fc_yaml_load(const fc_yaml_field *schema, void *obj, const char *path) {
    char *buf = NULL;
    size_t len = 0;
    fc_err e = fc_file_read(path, FC_YAML_MAX_BYTES, "a config", &buf, &len);
    if (e) {
        if (fc_yaml_defaults(schema, obj) == FC_OK) fc_yaml_free(schema, obj); /* pointers zeroed: free is safe */
        return e;
    }
    e = fc_yaml_parse(schema, obj, path, buf, len);
    free(buf);
    return e;
}

fc_err fc_yaml_peek_scalar(const char *path, const char *key, char **out, size_t *line) {
    *out = NULL;
    if (line) *line = 0;
    char *buf = NULL;
    size_t len = 0;
    FC_TRY(fc_file_read(path, FC_YAML_MAX_BYTES, "a config", &buf, &len));
    yaml_document_t doc;
    fc_err e = len ? load_document(&doc, path, buf, len) : fc_err_set(FC_EFORMAT, "%s: file is empty", path);
    free(buf);
    if (e) return e;
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root->type == YAML_MAPPING_NODE) {
        for (const yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
            const yaml_node_t *k = yaml_document_get_node(&doc, p->key);
            const yaml_node_t *v = yaml_document_get_node(&doc, p->value);
            if (k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key) &&
                v->type == YAML_SCALAR_NODE) {
                *out = fc_strdup((const char *)v->data.scalar.value);
                if (!*out) e = FC_ENOMEM;
                if (line) *line = line_of(v);
                break;
            }
        }
    }
    yaml_document_delete(&doc);
    return e;
}
