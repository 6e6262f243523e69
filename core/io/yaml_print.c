/* yaml_print.c: the effective config back out as YAML (fc_yaml_print) and the schema as a key list
 * (fc_yaml_print_help). The printed YAML loads back to the same values: numbers are printed with the
 * fewest digits that round-trip, strings double-quoted with escapes. */
#include <stdlib.h>
#include <string.h>

#include "core/io/yaml_config.h"

/* Shortest %g form that strtod reads back to v. */
static void fmt_double(char *buf, size_t cap, double v) {
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

static void print_quoted(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\t') fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f) fprintf(f, "\\x%02x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

static void print_section(const fc_yaml_field *schema, const char *base, FILE *f, int indent, bool dash);

static void print_value(const fc_yaml_field *fl, const void *p, FILE *f, int indent) {
    char num[64];
    switch (fl->type) {
    case FC_YAML_INT: fprintf(f, " %ld\n", *(const long *)p); break;
    case FC_YAML_DOUBLE:
        fmt_double(num, sizeof num, *(const double *)p);
        fprintf(f, " %s\n", num);
        break;
    case FC_YAML_RATIO:
        fmt_double(num, sizeof num, *(const double *)p);
        fprintf(f, " %sx\n", num);
        break;
    case FC_YAML_BOOL: fprintf(f, " %s\n", *(const bool *)p ? "true" : "false"); break;
    case FC_YAML_STRING:
        fputc(' ', f);
        print_quoted(f, *(char *const *)p);
        fputc('\n', f);
        break;
    case FC_YAML_ENUM: {
        int i = *(const int *)p, n = 0;
        while (fl->names[n]) n++;
        fprintf(f, " %s\n", i >= 0 && i < n ? fl->names[i] : "?");
        break;
    }
    case FC_YAML_SECTION:
        fputc('\n', f);
        print_section(fl->fields, p, f, indent + 2, false);
        break;
    case FC_YAML_STRINGS: {
        const fc_yaml_strings *l = p;
        if (!l->n) {
            fputs(" []\n", f);
            break;
        }
        fputc('\n', f);
        for (size_t i = 0; i < l->n; i++) {
            fprintf(f, "%*s- ", indent + 2, "");
            print_quoted(f, l->items[i]);
            fputc('\n', f);
        }
        break;
    }
    case FC_YAML_SECTIONS: {
        const fc_yaml_sections *l = p;
        if (!l->n) {
            fputs(" []\n", f);
            break;
        }
        fputc('\n', f);
        for (size_t i = 0; i < l->n; i++)
            print_section(fl->fields, (const char *)l->items + i * fl->elem_size, f, indent + 4, true);
        break;
    }
    default: fputs(" ?\n", f); break;
    }
}

/* dash: the first line of the section opens a list item ("- key: value" at indent - 2). */
static void print_section(const fc_yaml_field *schema, const char *base, FILE *f, int indent, bool dash) {
    bool first = true;
    for (const fc_yaml_field *fl = schema; fl->key; fl++) {
        const void *p = base + fl->offset;
        if (fl->type == FC_YAML_STRING && !*(char *const *)p) { /* unset: a comment keeps the output loadable */
            if (dash && first) fprintf(f, "%*s-\n", indent - 2, "");
            fprintf(f, "%*s# %s: (unset)\n", indent, "", fl->key);
            first = false;
            continue;
        }
        if (dash && first) fprintf(f, "%*s- %s:", indent - 2, "", fl->key);
        else fprintf(f, "%*s%s:", indent, "", fl->key);
        first = false;
        print_value(fl, p, f, indent);
    }
}

void fc_yaml_print(const fc_yaml_field *schema, const void *obj, FILE *f) { print_section(schema, obj, f, 0, false); }

static void print_help_rows(const fc_yaml_field *schema, const char *path, FILE *f) {
    static const char *const kinds[] = {"integer", "number", "bool", "string", "choice", "ratio", "section",
                                        "list of strings", "list of sections"};
    for (const fc_yaml_field *fl = schema; fl->key; fl++) {
        char sub[256];
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", fl->key);
        if (fl->type == FC_YAML_SECTION) {
            fprintf(f, "  %-32s %s\n", sub, fl->help ? fl->help : "");
            print_help_rows(fl->fields, sub, f);
            continue;
        }
        char what[160];
        if (fl->type == FC_YAML_ENUM) {
            size_t k = 0;
            what[0] = '\0';
            for (int i = 0; fl->names[i] && k < sizeof what; i++)
                k += (size_t)snprintf(what + k, sizeof what - k, "%s%s", i ? "|" : "", fl->names[i]);
        } else if (fl->type == FC_YAML_INT) {
            snprintf(what, sizeof what, "integer in [%.0f, %.0f]", fl->min, fl->max);
        } else if (fl->type == FC_YAML_DOUBLE) {
            snprintf(what, sizeof what, "number in [%g, %g]", fl->min, fl->max);
        } else if (fl->type == FC_YAML_RATIO) {
            snprintf(what, sizeof what, "ratio in [%gx, %gx]", fl->min, fl->max);
        } else {
            snprintf(what, sizeof what, "%s", (unsigned)fl->type < sizeof kinds / sizeof kinds[0] ? kinds[fl->type] : "?");
        }
        fprintf(f, "  %-32s %s%s%s%s. %s\n", sub, what, fl->required ? ", required" : "", fl->def ? ", default " : "",
                fl->def ? fl->def : "", fl->help ? fl->help : "");
        if (fl->type == FC_YAML_SECTIONS) {
            char item[256 + 8];
            snprintf(item, sizeof item, "%s[]", sub);
            print_help_rows(fl->fields, item, f);
        }
    }
}

void fc_yaml_print_help(const fc_yaml_field *schema, FILE *f) { print_help_rows(schema, "", f); }
