/* gqa_questions.c: the GQA question-file reader, dict and list layouts (see dataset.h). */
#include <stdio.h>
#include <string.h>

#include "core/base/mem.h"
#include "data/dataset_internal.h"

/* The first of the keys that is present, as a string (numbers are printed): *s, or NULL if none.
 * buf holds the printed integer. */
static const char *str_or_int(const cJSON *obj, const char *const *keys, int n_keys, char *buf, size_t cap) {
    for (int i = 0; i < n_keys; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, keys[i]);
        if (cJSON_IsString(v)) return v->valuestring;
        if (cJSON_IsNumber(v)) return fc_data_number_text(v->valuedouble, buf, cap);
    }
    return NULL;
}

static bool has_image_ext(const char *s) {
    size_t n = strlen(s);
    static const char *const ext[] = {".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG"};
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t m = strlen(ext[i]);
        if (n > m && !strcmp(s + n - m, ext[i])) return true;
    }
    return false;
}

static fc_err parse_question(const cJSON *q, const char *dir, const fc_data_opts *o, fc_data_record *r,
                             fc_data_skip *why) {
    static const char *const img_keys[] = {"imageId", "image_id", "image"};
    char num[32], name[600];
    *why = FC_DATA_SKIP_MALFORMED;
    if (!cJSON_IsObject(q)) return fc_err_set(FC_EFORMAT, "not a JSON object");
    const char *question = fc_data_str(q, "question"), *answer = fc_data_str(q, "answer");
    const char *image = str_or_int(q, img_keys, 3, num, sizeof num);
    if (!question) return fc_err_set(FC_EFORMAT, "no string 'question'");
    if (!answer) return fc_err_set(FC_EFORMAT, "no string 'answer' (a test-split file without answers cannot be scored)");
    if (!image) {
        *why = FC_DATA_SKIP_NO_IMAGE;
        return fc_err_set(FC_EFORMAT, "no image: none of 'imageId', 'image_id', 'image'");
    }
    if (fc_data_count_image_markers(question))
        return fc_err_set(FC_EFORMAT, "the question holds an <image> marker");
    if (o && o->image_prefix && (strncmp(image, o->image_prefix, strlen(o->image_prefix)) ||
                                 image[strlen(o->image_prefix)] != '/')) {
        *why = FC_DATA_SKIP_FILTERED;
        return fc_err_set(FC_EINVAL, "image not under '%s/'", o->image_prefix);
    }
    if (strlen(image) > 500) return fc_err_set(FC_EFORMAT, "image id of %zu bytes", strlen(image));
    snprintf(name, sizeof name, has_image_ext(image) ? "%s" : "%s.jpg", image);
    FC_TRY(fc_data_add_image(r, dir, name, o, why));
    *why = FC_DATA_SKIP_MALFORMED;
    return fc_data_set_qa(r, question, answer);
}

fc_err fc_data_read_gqa(const char *path, const fc_data_opts *o, fc_dataset *out) {
    static const char *const id_keys[] = {"question_id", "questionId", "id"};
    cJSON *root;
    FC_TRY(fc_data_load_json(path, &root));
    char *own_dir = NULL;
    const char *dir = o && o->images_dir ? o->images_dir : (own_dir = fc_data_dirname(path));
    fc_err e = dir ? FC_OK : FC_ENOMEM;
    bool dict = cJSON_IsObject(root);
    if (!e && !dict && !cJSON_IsArray(root))
        e = fc_err_set(FC_EFORMAT, "%s: neither an object of questions by id nor a list of questions", path);
    int idx = 0;
    const cJSON *item;
    if (!e) cJSON_ArrayForEach(item, root) { /* cJSON walks an object's members in file order too */
        if (o && o->limit > 0 && out->n >= o->limit) break;
        out->n_seen++;
        char num[32];
        const char *id = dict ? item->string : cJSON_IsObject(item) ? str_or_int(item, id_keys, 3, num, sizeof num) : NULL;
        fc_data_record *r;
        if ((e = fc_data_push(out, idx, &r))) break;
        fc_data_skip why = FC_DATA_SKIP_MALFORMED;
        if (!id) e = cJSON_IsObject(item) ? fc_err_set(FC_EFORMAT, "no question id: none of 'question_id', 'questionId', 'id'")
                                          : fc_err_set(FC_EFORMAT, "not a JSON object");
        else if (!(r->id = fc_strdup(id))) e = FC_ENOMEM;
        else e = parse_question(item, dir, o, r, &why);
        if (e) {
            fc_data_pop(out);
            if ((e = fc_data_settle(out, o, path, idx, id, e, why))) break;
        }
        idx++;
    }
    free(own_dir);
    cJSON_Delete(root);
    return e;
}
